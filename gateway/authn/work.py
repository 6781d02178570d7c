"""Where the CPU-heavy parts of sender authentication run.

Canonicalising and hashing a message body for DKIM or ARC takes about
0.07 s per MB in dkimpy (measured: 0.66 s to verify one signature of a
10 MB message). In the reactor thread that would stall every session for
as long, so the checks take a :data:`Runner`: the daemon passes one that
runs the work in a thread pool (the reactor keeps serving between the
GIL's switches); tests and tools use :func:`inline`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.defer import Deferred

T = TypeVar("T")

#: ``run(function, *args)``: a Deferred firing with ``function(*args)``.
Runner = Callable[..., "Deferred[Any]"]


def inline(function: Callable[..., T], *args: Any) -> Deferred[T]:
    """Run ``function`` now, in this thread."""
    return defer.maybeDeferred(function, *args)


def in_pool(reactor: Any, pool: Any) -> Runner:
    """A :data:`Runner` over Twisted's thread ``pool``."""
    from twisted.internet.threads import deferToThreadPool

    def run(function: Callable[..., T], *args: Any) -> Deferred[T]:
        return deferToThreadPool(reactor, pool, function, *args)

    return run
