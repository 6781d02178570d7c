"""What twistd logs, at which level, and how cheaply.

twistd builds its log observer (stdout with ``-n``, else ``twistd.log`` or
syslog, from its own options) right after ``makeService`` returns, through
``globalLogBeginner.beginLoggingTo``. We intercept the observers it hands
over:

- each is wrapped in a filter for ``[server].log_level``, so the destination
  stays twistd's choice and only the level is ours;
- a plain text-file observer (what twistd uses unless ``--syslog``) is
  replaced by :class:`BufferedTextObserver`, which writes the same lines to
  the same file but formats the time once per second and writes in batches
  instead of one ``write`` + ``flush`` per line. Measured under the SMTP
  ingest benchmark, twistd's observer took about a quarter of the reactor
  thread (two lines per message). Lines reach the file within
  ``FLUSH_INTERVAL`` seconds; warnings and errors are written at once, and
  so is every line during startup and from the start of the shutdown.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, cast

from twisted.internet.interfaces import IReactorCore, IReactorTime
from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogObserver,
    LogBeginner,
    LogEvent,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    formatEventAsClassicLogText,
    globalLogBeginner,
)
from twisted.python.compat import ioType
from zope.interface import implementer

FLUSH_INTERVAL = 0.25
# Lines are written at once for this long after the reactor started.
STARTUP_GRACE = 2.0
# A buffer this large is written without waiting for the interval.
FLUSH_BYTES = 64 * 1024
_URGENT = frozenset({LogLevel.warn, LogLevel.error, LogLevel.critical})


class _SecondClock:
    """RFC 3339 local time as twistd writes it, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = "-"

    def __call__(self, when: float | None) -> str:
        if when is None:
            return "-"
        second = int(when)
        if second != self._second:
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second))
            self._second = second
        return self._text


def _system(event: LogEvent) -> str:
    system = event.get("log_system")
    if system is not None:
        return str(system)
    level = event.get("log_level")
    return "{}#{}".format(
        event.get("log_namespace", "-"), level.name if level is not None else "-"
    )


@implementer(ILogObserver)
class BufferedTextObserver:
    """twistd's classic text lines, formatted cheaply and written in batches.

    Safe to call from any thread: lines are appended under a lock and
    written by whichever caller or the flusher thread takes the buffer.
    """

    def __init__(
        self,
        out: IO[Any],
        interval: float = FLUSH_INTERVAL,
        clock: Callable[[float | None], str] | None = None,
        immediate: bool = False,
    ) -> None:
        self._out = out
        self._binary = ioType(out) is not str
        self._interval = interval
        self._clock = clock or _SecondClock()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: list[str] = []
        self._size = 0
        self._wake = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None
        # While set, every line is written at once: during startup (until
        # :meth:`buffering`) and once stopping (twistd ends by re-raising
        # SIGTERM, so no exit handler runs).
        self.immediate = immediate
        self._stopping = False

    def __call__(self, event: LogEvent) -> None:
        line = self.format(event)
        if line is None:
            return
        with self._lock:
            self._pending.append(line)
            self._size += len(line)
            urgent = (
                self.immediate or self._size >= FLUSH_BYTES or event.get("log_level") in _URGENT
            )
            if self._flusher is None and not urgent:
                self._start_flusher()
        if urgent:
            self.flush()
        else:
            self._wake.set()

    def format(self, event: LogEvent) -> str | None:
        if "log_failure" in event:  # tracebacks: twistd's own layout
            return formatEventAsClassicLogText(event, formatTime=self._clock)
        text = formatEvent(event)
        if not text:
            return None
        return "{} [{}] {}\n".format(
            self._clock(event.get("log_time")), _system(event), text.replace("\n", "\n\t")
        )

    def flush(self) -> None:
        with self._write_lock:
            with self._lock:
                pending, self._pending, self._size = self._pending, [], 0
            if not pending:
                return
            text = "".join(pending)
            try:
                self._out.write(text.encode("utf-8") if self._binary else text)
                self._out.flush()
            except (OSError, ValueError):
                pass  # nowhere left to report it; the next batch tries again

    def buffering(self) -> None:
        """Startup is over: batch lines from now on, unless the stop has
        begun already (a daemon stopped within its first seconds would
        otherwise batch, and lose, its last lines)."""
        if not self._stopping:
            self.immediate = False

    def stopping(self) -> None:
        """Write what is pending, and from now on every line at once."""
        self._stopping = True
        self.immediate = True
        self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.flush()

    def _start_flusher(self) -> None:
        self._flusher = threading.Thread(target=self._run, name="log-flusher", daemon=True)
        self._flusher.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self._interval)  # let a batch gather
            self.flush()


def cheap(observer: ILogObserver, reactor: IReactorCore | None = None) -> ILogObserver:
    """A :class:`BufferedTextObserver` for a text-file observer, else itself.

    With ``reactor``, it writes every line at once until ``STARTUP_GRACE``
    seconds after the reactor started (what an administrator watches) and
    again from the start of the shutdown, so the last lines are never lost.
    """
    out = getattr(observer, "_outFile", None)
    if type(observer) is FileLogObserver and out is not None:
        buffered = BufferedTextObserver(out, immediate=reactor is not None)
        if reactor is not None:
            reactor.callWhenRunning(
                cast(IReactorTime, reactor).callLater, STARTUP_GRACE, buffered.buffering
            )
            reactor.addSystemEventTrigger("before", "shutdown", buffered.stopping)
        return buffered
    return observer


def filtered(
    observers: Iterable[ILogObserver], level: str, reactor: IReactorCore | None = None
) -> list[ILogObserver]:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))
    return [FilteringLogObserver(cheap(o, reactor), [predicate]) for o in observers]


def apply_log_level(
    level: str, beginner: LogBeginner = globalLogBeginner, reactor: IReactorCore | None = None
) -> None:
    """Make the next ``beginLoggingTo`` on ``beginner`` filter at ``level``.

    ``reactor`` defaults to the global one (twistd has installed it by then).
    """
    original = beginner.beginLoggingTo

    def begin(observers: Iterable[ILogObserver], *args: Any, **kwargs: Any) -> None:
        beginner.beginLoggingTo = original  # type: ignore[method-assign]
        core = reactor
        if core is None:
            from twisted.internet import reactor as installed

            core = installed
        original(filtered(observers, level, core), *args, **kwargs)

    beginner.beginLoggingTo = begin  # type: ignore[method-assign]
