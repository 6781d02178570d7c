"""A thread pool and reactor that run 'threaded' work at once, for synchronous tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
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


class InlinePool(SyncPool):
    """Runs what is handed to the pool (callInThread too) at once, in the calling thread."""

    def callInThread(self, f: Callable[..., object], *a: Any) -> None:
        f(*a)


def result(d: Deferred[Any]) -> Any:
    """The result of a Deferred that has fired (its failure raised)."""
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred did not fire"
    if hasattr(out[0], "raiseException"):
        out[0].raiseException()
    return out[0]
