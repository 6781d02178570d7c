"""A service that scans a directory every few seconds and submits what it
finds, with a bounded number of submissions in flight.

Shared by the maildrop pickup (:mod:`gateway.bus.maildrop`) and the X.400
file channel (:mod:`gateway.x400.filechannel`): the scan loop, its clock,
and a stop that waits for pending submissions to settle.  Subclasses
implement :meth:`scan` (one pass; never raises) and may override
:meth:`prepare` (work done once before the first scan).
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

__all__ = ["PollingService"]


class PollingService(Service):
    """Calls :meth:`scan` at start and every ``interval`` seconds on
    ``clock``; ``_in_flight`` maps a file name to its pending submission."""

    log = Logger()
    #: named in the log if the loop ever stops on an error
    what = "directory scan"

    def __init__(self, clock: IReactorTime, interval: float, max_in_flight: int) -> None:
        self.clock = clock
        self.interval = interval
        self.max_in_flight = max_in_flight
        self._in_flight: dict[str, defer.Deferred[Any]] = {}
        self._loop: task.LoopingCall | None = None

    def prepare(self) -> None:
        """Once, before the first scan (nothing by default)."""

    def scan(self) -> None:
        raise NotImplementedError

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self.prepare()
        self._loop = task.LoopingCall(self.scan)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True).addErrback(
            lambda f: self.log.failure("{what} loop stopped", f, what=self.what)
        )

    def stopService(self) -> defer.Deferred[object]:
        """Stop scanning; fires once the pending submissions have settled."""
        super().stopService()  # type: ignore[no-untyped-call]
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        pending = list(self._in_flight.values())
        return defer.DeferredList(pending).addCallback(lambda _: None)
