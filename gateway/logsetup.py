"""Apply ``[server].log_level`` to what twistd logs.

twistd builds its log observer (stdout with ``-n``, else ``twistd.log`` or
syslog, from its own options) right after ``makeService`` returns, through
``globalLogBeginner.beginLoggingTo``. We wrap the observers it hands over in
a level filter, so the destination stays twistd's choice and only the level
is ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogBeginner,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
)


def filtered(observers: Iterable[ILogObserver], level: str) -> list[ILogObserver]:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(level))
    return [FilteringLogObserver(o, [predicate]) for o in observers]


def apply_log_level(level: str, beginner: LogBeginner = globalLogBeginner) -> None:
    """Make the next ``beginLoggingTo`` on ``beginner`` filter at ``level``."""
    original = beginner.beginLoggingTo

    def begin(observers: Iterable[ILogObserver], *args: Any, **kwargs: Any) -> None:
        beginner.beginLoggingTo = original  # type: ignore[method-assign]
        original(filtered(observers, level), *args, **kwargs)

    beginner.beginLoggingTo = begin  # type: ignore[method-assign]
