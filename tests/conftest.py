"""Suite-wide fixtures."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from twisted.trial import unittest


@pytest.fixture(autouse=True, scope="session")
def _trial_temp_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """trial's ``mktemp()`` makes paths under the working directory; keep them
    under pytest's temporary directory instead so a test run leaves the
    checkout clean."""
    base = tmp_path_factory.mktemp("trial")
    original = unittest.TestCase.mktemp

    def mktemp(self: unittest.TestCase) -> str:
        return tempfile.mkdtemp(dir=base) + "/temp"

    unittest.TestCase.mktemp = mktemp  # type: ignore[method-assign]
    try:
        yield
    finally:
        unittest.TestCase.mktemp = original  # type: ignore[method-assign]
