from __future__ import annotations

import io
import sys
import warnings
from typing import Any

from twisted.logger import LogBeginner, Logger, LogLevel, LogPublisher

from gateway.logsetup import apply_log_level


def test_level_applies_to_the_observers_twistd_installs() -> None:
    publisher = LogPublisher()
    beginner = LogBeginner(publisher, io.StringIO(), sys, warnings)
    seen: list[dict[str, Any]] = []
    apply_log_level("warn", beginner)
    beginner.beginLoggingTo([seen.append], redirectStandardIO=False)
    log = Logger(observer=publisher)
    log.info("quiet")
    log.warn("loud")
    log.error("louder")
    assert [e["log_level"] for e in seen] == [LogLevel.warn, LogLevel.error]
