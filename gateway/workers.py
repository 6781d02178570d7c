"""Worker processes that serve a protocol beside the main process.

The main process opens the listening sockets; each worker gets them as
inherited file descriptors and accepts on them too, so the kernel hands
every new connection to one of the processes and the protocol work spreads
over the CPUs. What must stay in one process (the mail store's indexes, the
queue) stays in the main one; a worker reaches it through a Unix socket
(for POP3: :mod:`gateway.store.remote`).

:class:`WorkerPool` starts the workers once the listeners are open, relays
what they log (Twisted log events as JSON on the worker's stdout, see
:func:`relay_events`) into the main log with the worker's name as the
system, starts a worker again when it dies (at once the first time, then
backing off while it keeps dying young), and stops them first when the
gateway stops. A worker watches its stdin, a pipe from the main process,
and exits when that closes: a main process that is killed does not leave
workers behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import IDelayedCall, IListeningPort
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger, eventFromJSON, globalLogPublisher
from twisted.python.failure import Failure

log = Logger()

#: JSON text sequences (RFC 7464), as twisted.logger.jsonFileLogObserver writes them.
RECORD_SEPARATOR = b"\x1e"
#: A worker that ran at least this long had a normal life; one that dies
#: sooner is started again after a growing delay (up to MAX_BACKOFF).
HEALTHY_AFTER = 10.0
MAX_BACKOFF = 60.0
#: The first inherited descriptor of a worker: listeners get 3, 4, ...
#: (after the ``pipes``, if any)
FIRST_FD = 3


def relay_events(buffer: bytes, system: str, emit: Callable[[dict[str, Any]], None]) -> bytes:
    """Emit every complete JSON log record in ``buffer``, its system the
    worker's name before namespace#level; return the incomplete rest."""
    *records, rest = buffer.split(RECORD_SEPARATOR)
    if rest.endswith(b"\n"):  # each record ends in a newline (JSON escapes those inside)
        records.append(rest)
        rest = b""
    for record in records:
        text = record.strip()
        if not text:
            continue
        try:
            event = eventFromJSON(text.decode("utf-8", "replace"))
        except ValueError:
            event = {"log_format": "{line}", "line": text.decode("utf-8", "replace")}
            event["log_level"] = None
        level = event.get("log_level")
        namespace = event.get("log_namespace", "-")
        event["log_system"] = f"{system} {namespace}#{level.name if level is not None else '-'}"
        emit(event)
    return rest


def log_to_parent(level: str) -> None:
    """In a worker: log events at ``level`` and above as JSON on stdout,
    which the main process relays into its own log (:func:`relay_events`)."""
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        jsonFileLogObserver,
    )

    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(jsonFileLogObserver(sys.stdout), [predicate])],
        redirectStandardIO=False,
    )


class _Worker(ProcessProtocol):
    def __init__(self, pool: WorkerPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.name = f"{pool.name}-{number}"
        self.started = pool.clock.seconds()
        self.ended: Deferred[None] = Deferred()
        self._out = b""

    def childDataReceived(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self._out = relay_events(self._out + data, self.name, self.pool.emit)
        elif fd == 2:
            self.errReceived(data)
        else:
            self.pool.received(self, fd, data)

    def errReceived(self, data: bytes) -> None:
        # a worker's own log goes to stdout; stderr is Python dying loudly
        for line in data.decode("utf-8", "replace").splitlines():
            if line.strip():
                log.error("{worker}: {line}", worker=self.name, line=line)

    def processEnded(self, reason: Failure) -> None:
        self.pool.worker_ended(self, reason)
        self.ended.callback(None)

    def stop(self) -> Deferred[None]:
        if self.transport is not None and self.transport.pid is not None:
            with contextlib.suppress(OSError, ProcessExitedAlready):
                self.transport.signalProcess("TERM")
        return self.ended


class WorkerPool(Service):
    """``count`` workers running ``module`` on the listening ``ports``."""

    def __init__(
        self,
        name: str,
        count: int,
        module: str,
        arguments: list[str],
        ports: Callable[[], dict[str, IListeningPort]],
        reactor: Any,
        emit: Callable[[dict[str, Any]], None] = globalLogPublisher,
        alive: Callable[[int], None] = lambda _: None,
        pipes: dict[int, str] | None = None,
        received: Callable[[Any, int, bytes], None] = lambda worker, fd, data: None,
        ended: Callable[[Any, Failure], None] = lambda worker, reason: None,
    ) -> None:
        """``arguments`` go to ``python -m module`` before the
        ``--listener NAME=FD`` options; ``ports()`` names the open listening
        ports once the listeners have started; ``alive(n)`` is told how many
        workers run whenever that changes (the main process serves the
        protocol itself only while none does). ``pipes`` are more pipes to
        each worker (child fd: "w" the worker reads it, "r" it writes it,
        written with ``worker.transport.writeToChild``), and ``received(worker,
        fd, data)`` gets what a worker writes on them; ``ended(worker,
        reason)`` is told when one ends, before it is started again."""
        self.name = name
        self.count = count
        self.module = module
        self.arguments = arguments
        self.ports = ports
        self.reactor = reactor
        self.clock = reactor
        self.emit = emit
        self.alive = alive
        self.pipes = pipes or {}
        self.received = received
        self.ended = ended
        self.workers: dict[int, _Worker] = {}
        self._backoff: dict[int, float] = {}
        self._restarts: dict[int, IDelayedCall] = {}

    def startService(self) -> None:
        Service.startService(self)
        for number in range(1, self.count + 1):
            self._spawn(number)

    def _spawn(self, number: int) -> None:
        self._restarts.pop(number, None)
        if not self.running:
            return
        child_fds: dict[int, int | str] = {0: "w", 1: "r", 2: "r", **self.pipes}
        listeners = []
        first = max(child_fds) + 1
        for fd, (name, port) in enumerate(sorted(self.ports().items()), first):
            child_fds[fd] = port.fileno()  # type: ignore[attr-defined]
            listeners += ["--listener", f"{name}={fd}"]
        worker = _Worker(self, number)
        argv = [sys.executable, "-m", self.module, *self.arguments, "--name", worker.name]
        self.reactor.spawnProcess(
            worker, sys.executable, [*argv, *listeners], env=dict(os.environ), childFDs=child_fds
        )
        self.workers[number] = worker
        self.alive(len(self.workers))
        log.info(
            "{worker}: started (pid {pid}){on}",
            worker=worker.name,
            pid=worker.transport.pid if worker.transport is not None else "?",
            on=f" on {', '.join(names)}" if (names := sorted(self.ports())) else "",
        )

    def worker_ended(self, worker: _Worker, reason: Failure) -> None:
        if self.workers.get(worker.number) is worker:
            del self.workers[worker.number]
            self.ended(worker, reason)
            if self.running:
                self.alive(len(self.workers))
        if not self.running:
            log.info("{worker}: stopped", worker=worker.name)
            return
        lived = self.clock.seconds() - worker.started
        if lived >= HEALTHY_AFTER:
            delay = 0.0
        else:
            delay = min(self._backoff.get(worker.number, 0.5) * 2, MAX_BACKOFF)
        self._backoff[worker.number] = max(delay, 0.5)
        log.error(
            "{worker}: exited ({why}) after {lived:.1f} s; starting it again in {delay:g} s",
            worker=worker.name,
            why=reason.value,
            lived=lived,
            delay=delay,
        )
        self._restarts[worker.number] = self.clock.callLater(delay, self._spawn, worker.number)

    def stopService(self) -> Deferred[Any]:
        Service.stopService(self)
        for call in self._restarts.values():
            if call.active():
                call.cancel()
        self._restarts.clear()
        if not self.workers:
            return succeed(None)
        return DeferredList([w.stop() for w in list(self.workers.values())])
