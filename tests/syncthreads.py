"""A thread pool and reactor that run 'threaded' work at once, for synchronous tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.python.failure import Failure


class SyncPool:
    def callInThreadWithCallback(
        self, onResult: Callable[[bool, object], None], f: Callable[..., object], *a: Any
    ) -> None:
        try:
            result = f(*a)
        except BaseException:
            onResult(False, Failure())
        else:
            onResult(True, result)


class SyncReactor:
    def callFromThread(self, f: Callable[..., object], *a: Any) -> None:
        f(*a)
