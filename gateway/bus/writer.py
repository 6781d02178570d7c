"""The group-commit writer thread.

Submissions and state changes from the reactor are queued to one thread,
which takes everything waiting, appends it with a single write and a single
fdatasync, and hands the results back to the reactor. Under load, many
messages share each fsync; none is acknowledged before its own batch is on
disk (DESIGN.md, "Performance rules").
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.bus.spool import Spool

log = Logger()


@dataclass(slots=True)
class _Write:
    records: list[bytes]
    lines: list[bytes]
    deferred: Deferred[list[tuple[int, int]]] = field(default_factory=Deferred)


@dataclass(slots=True)
class _Call:
    function: Callable[[], Any]
    deferred: Deferred[Any] = field(default_factory=Deferred)


_STOP = object()


class GroupCommitWriter:
    """Runs every spool write in one thread, batching fsyncs."""

    def __init__(
        self,
        spool: Spool,
        reactor: IReactorFromThreads,
        now: Callable[[], float],
        on_rotate: Callable[[int], None],
        max_batch_bytes: int = 8 << 20,
    ) -> None:
        self.spool = spool
        self.reactor = reactor
        self.now = now
        self.on_rotate = on_rotate
        self.max_batch_bytes = max_batch_bytes
        self.batches = 0
        self.writes = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopped: Deferred[None] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    def write(self, records: list[bytes], lines: list[bytes]) -> Deferred[list[tuple[int, int]]]:
        """Durably append; fires with ``(segment, offset)`` per record."""
        job = _Write(records, lines)
        self._queue.put(job)
        return job.deferred

    def call(self, function: Callable[[], Any]) -> Deferred[Any]:
        """Run ``function`` in the writer thread, in order with the writes."""
        job = _Call(function)
        self._queue.put(job)
        return job.deferred

    def stop(self) -> Deferred[None]:
        """Finish everything queued, then end the thread."""
        self._stopped = Deferred()
        self._queue.put(_STOP)
        return self._stopped

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            size = 0
            while size < self.max_batch_bytes:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                if isinstance(job, _Write):
                    size += sum(map(len, job.records))
            writes = [j for j in jobs if isinstance(j, _Write)]
            if writes:
                self._commit(writes)
            for job in jobs:
                if isinstance(job, _Call):
                    self._call(job)
            if any(job is _STOP for job in jobs):
                self.reactor.callFromThread(self._finish)
                return

    def _commit(self, writes: list[_Write]) -> None:
        records = [r for w in writes for r in w.records]
        lines = [line for w in writes for line in w.lines]
        try:
            places, history_error = self.spool.commit(records, lines, self.now())
            sealed = self.spool.journal.rotate_if_full()
        except Exception:
            failure = Failure()
            self.reactor.callFromThread(self._fail, writes, failure)
            return
        if history_error is not None:
            self.reactor.callFromThread(
                log.error,
                "history not written (track will miss events): {error}",
                error=history_error,
            )
        self.batches += 1
        self.writes += len(writes)
        results = []
        pos = 0
        for w in writes:
            results.append(places[pos : pos + len(w.records)])
            pos += len(w.records)
        self.reactor.callFromThread(self._succeed, writes, results, sealed)

    def _call(self, job: _Call) -> None:
        try:
            result = job.function()
        except Exception:
            self.reactor.callFromThread(job.deferred.errback, Failure())
        else:
            self.reactor.callFromThread(job.deferred.callback, result)

    def _succeed(
        self, writes: list[_Write], results: list[list[tuple[int, int]]], sealed: int | None
    ) -> None:
        for w, places in zip(writes, results, strict=True):
            w.deferred.callback(places)
        if sealed is not None:
            self.on_rotate(sealed)

    @staticmethod
    def _fail(writes: list[_Write], failure: Failure) -> None:
        log.failure("spool write failed", failure)
        for w in writes:
            w.deferred.errback(failure)

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._stopped is not None:
            self._stopped.callback(None)
