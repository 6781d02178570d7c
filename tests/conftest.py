"""Suite-wide fixtures."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import cast

import pytest
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial import unittest


@pytest.fixture
def logged() -> Iterator[list[LogEvent]]:
    """Every Twisted log event emitted during the test."""
    events: list[LogEvent] = []
    observer = cast(ILogObserver, events.append)
    globalLogPublisher.addObserver(observer)
    yield events
    globalLogPublisher.removeObserver(observer)


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
