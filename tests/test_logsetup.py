from __future__ import annotations

import io
import sys
import time
import warnings
from typing import Any

from twisted.internet.testing import MemoryReactor, MemoryReactorClock
from twisted.logger import LogBeginner, Logger, LogLevel, LogPublisher, textFileLogObserver

from gateway.logsetup import STARTUP_GRACE, BufferedTextObserver, apply_log_level, cheap


def test_level_applies_to_the_observers_twistd_installs() -> None:
    publisher = LogPublisher()
    beginner = LogBeginner(publisher, io.StringIO(), sys, warnings)
    seen: list[dict[str, Any]] = []
    apply_log_level("warn", beginner, MemoryReactor())
    beginner.beginLoggingTo([seen.append], redirectStandardIO=False)
    log = Logger(observer=publisher)
    log.info("quiet")
    log.warn("loud")
    log.error("louder")
    assert [e["log_level"] for e in seen] == [LogLevel.warn, LogLevel.error]


def _classic(event: dict[str, Any]) -> str | None:
    from twisted.logger import formatEventAsClassicLogText

    return formatEventAsClassicLogText(event)


def twistd_logging() -> tuple[io.StringIO, LogPublisher, MemoryReactorClock, Logger]:
    """Logging as twistd begins it, with our level applied: the file, the
    publisher, the reactor and a logger."""
    out = io.StringIO()
    publisher = LogPublisher()
    beginner = LogBeginner(publisher, io.StringIO(), sys, warnings)
    reactor = MemoryReactorClock()
    apply_log_level("info", beginner, reactor)
    beginner.beginLoggingTo([textFileLogObserver(out)], redirectStandardIO=False)
    return out, publisher, reactor, Logger(observer=publisher, namespace="gateway.x")


def test_twistds_text_observer_is_replaced_by_the_buffered_one_writing_the_same_lines() -> None:
    out, publisher, reactor, log = twistd_logging()
    events: list[dict[str, Any]] = []
    publisher.addObserver(events.append)
    log.info("started")
    assert out.getvalue().endswith(" started\n")  # startup: written at once
    reactor.run()
    reactor.advance(STARTUP_GRACE)  # startup over: batching from now on
    log.info("{qid}: accepted\nsecond line", qid="Q1")
    assert "Q1" not in out.getvalue()  # batched, not written per line
    log.warn("loud")  # a warning writes everything pending at once
    assert out.getvalue() == "".join(_classic(e) or "" for e in events)
    assert "[gateway.x#info] Q1: accepted\n\tsecond line\n" in out.getvalue()
    # once the reactor begins to shut down, every line is written at once
    (trigger,) = reactor.triggers["before"]["shutdown"]
    trigger[0]()
    log.info("Server Shut Down.")
    assert out.getvalue().endswith(" Server Shut Down.\n")


def test_a_stop_within_the_startup_grace_keeps_writing_every_line() -> None:
    """Stopped in its first seconds, with the stop outlasting the grace (a
    delivery still running): the end of startup must not turn batching back
    on, or the last lines (twistd ends by re-raising SIGTERM, so no exit
    handler flushes) are lost."""
    out, _publisher, reactor, log = twistd_logging()
    reactor.run()
    reactor.advance(STARTUP_GRACE / 2)
    (trigger,) = reactor.triggers["before"]["shutdown"]
    trigger[0]()  # SIGTERM
    reactor.advance(STARTUP_GRACE)  # the grace ends while the stop goes on
    log.info("Main loop terminated.")
    assert out.getvalue().endswith(" Main loop terminated.\n")


def test_buffered_lines_reach_the_file_within_the_interval() -> None:
    out = io.StringIO()
    observer = BufferedTextObserver(out, interval=0.01)
    Logger(observer=observer).info("hello {who}", who="world")
    for _ in range(500):
        if out.getvalue():
            break
        time.sleep(0.01)
    assert out.getvalue().endswith(" hello world\n")


def test_failures_keep_their_traceback() -> None:
    out = io.StringIO()
    observer = BufferedTextObserver(out)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        Logger(observer=observer).failure("boom")
    observer.flush()
    assert "boom" in out.getvalue() and "ZeroDivisionError" in out.getvalue()


def test_other_observers_are_kept() -> None:
    seen: list[dict[str, Any]] = []
    observer = seen.append
    assert cheap(observer) is observer  # type: ignore[arg-type]


def test_binary_files_get_utf8() -> None:
    out = io.BytesIO()
    observer = BufferedTextObserver(out)
    Logger(observer=observer).info("caf\u00e9")
    observer.close()
    assert out.getvalue().endswith(" caf\u00e9\n".encode())
