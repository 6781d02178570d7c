"""The worker pool: log relaying, restarts with back-off, stopping."""

from __future__ import annotations

import io
import sys
from typing import Any

from twisted.internet.error import ProcessTerminated
from twisted.logger import Logger, LogLevel, LogPublisher, jsonFileLogObserver
from twisted.python.failure import Failure

from gateway.workers import FIRST_FD, WorkerPool, relay_events
from tests.fakeprocess import FakePort, ProcessReactor


def json_records(*messages: str) -> bytes:
    out = io.StringIO()
    publisher = LogPublisher(jsonFileLogObserver(out))
    logger = Logger(namespace="gateway.pop3.server", observer=publisher)
    for message in messages:
        logger.warn("{what}", what=message)
    return out.getvalue().encode()


def test_complete_records_are_emitted_with_the_worker_as_system() -> None:
    data = json_records("one", "two")
    cut = data.rindex(b"\x1e") + 5  # the second record arrives in two reads
    events: list[dict[str, Any]] = []
    rest = relay_events(data[:cut], "pop3-worker-1", events.append)
    assert [e["what"] for e in events] == ["one"]
    rest = relay_events(rest + data[cut:], "pop3-worker-1", events.append)
    assert rest == b""
    assert [e["what"] for e in events] == ["one", "two"]
    assert events[0]["log_system"] == "pop3-worker-1 gateway.pop3.server#warn"
    assert events[0]["log_level"] is LogLevel.warn


def test_a_line_that_is_not_json_is_kept_as_text() -> None:
    events: list[dict[str, Any]] = []
    assert relay_events(b"\x1enot json at all\n\x1e", "w", events.append) == b""
    assert events[0]["line"] == "not json at all"


def died(protocol: Any) -> None:
    protocol.processEnded(Failure(ProcessTerminated(signal=9)))


def pool(reactor: ProcessReactor, count: int = 2, alive: list[int] | None = None) -> WorkerPool:
    ports = {"pop3s": FakePort(17), "pop3": FakePort(12)}
    told = alive if alive is not None else []
    return WorkerPool(
        "pop3-worker",
        count,
        "gateway.pop3.worker",
        ["--config", "g.toml"],
        lambda: ports,
        reactor,
        alive=told.append,
    )


def test_the_main_process_is_told_how_many_workers_run() -> None:
    reactor = ProcessReactor()
    alive: list[int] = []
    workers = pool(reactor, alive=alive)
    workers.startService()
    assert alive == [1, 2]
    died(reactor.spawned[0][0])
    assert alive == [1, 2, 1]
    reactor.advance(1)
    assert alive == [1, 2, 1, 2]
    workers.stopService()
    for protocol, _, _ in reactor.spawned[1:]:
        died(protocol)
    assert alive == [1, 2, 1, 2]  # stopping: the listeners stop too, nothing to take over


def test_workers_get_the_listening_sockets_and_their_names() -> None:
    reactor = ProcessReactor()
    workers = pool(reactor)
    workers.startService()
    assert len(reactor.spawned) == 2
    _protocol, args, fds = reactor.spawned[0]
    assert args[:3] == [sys.executable, "-m", "gateway.pop3.worker"]
    assert args[3:] == [
        "--config",
        "g.toml",
        "--name",
        "pop3-worker-1",
        "--listener",
        f"pop3={FIRST_FD}",
        "--listener",
        f"pop3s={FIRST_FD + 1}",
    ]
    assert fds == {0: "w", 1: "r", 2: "r", FIRST_FD: 12, FIRST_FD + 1: 17}


def test_a_dead_worker_comes_back_at_once_then_later_while_it_keeps_dying() -> None:
    reactor = ProcessReactor()
    workers = pool(reactor, count=1)
    workers.startService()
    reactor.advance(60)  # a normal life
    died(reactor.spawned[-1][0])
    reactor.advance(0)
    assert len(reactor.spawned) == 2  # again at once
    delays = []
    for _ in range(8):  # dies young, again and again
        died(reactor.spawned[-1][0])
        before = len(reactor.spawned)
        waited = 0.0
        while len(reactor.spawned) == before:
            reactor.advance(0.5)
            waited += 0.5
        delays.append(waited)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    reactor.advance(60)  # lived long enough: the back-off is forgotten
    died(reactor.spawned[-1][0])
    reactor.advance(0)
    assert len(reactor.spawned) == 11


def test_stopping_signals_every_worker_and_waits_for_them() -> None:
    reactor = ProcessReactor()
    workers = pool(reactor)
    workers.startService()
    stopped = workers.stopService()
    protocols = [p for p, _, _ in reactor.spawned]
    assert [p.transport.signals for p in protocols] == [["TERM"], ["TERM"]]
    done: list[object] = []
    stopped.addCallback(done.append)
    died(protocols[0])
    assert done == []
    died(protocols[1])
    assert len(done) == 1
    reactor.advance(120)
    assert len(reactor.spawned) == 2  # none started again


def test_a_restart_pending_at_stop_is_cancelled() -> None:
    reactor = ProcessReactor()
    workers = pool(reactor, count=1)
    workers.startService()
    died(reactor.spawned[0][0])  # young: waits before starting it again
    workers.stopService()
    reactor.advance(120)
    assert len(reactor.spawned) == 1
    assert reactor.getDelayedCalls() == []
