"""The twistd plugin's options and service maker: one option, ``--config``."""

from __future__ import annotations

from pathlib import Path

from twisted.application.service import IService
from twisted.python import usage

from gateway.config import ConfigError, check_listeners, load


class Options(usage.Options):
    optParameters = [
        ["config", "c", "conf/gateway.toml", "The TOML configuration file."],
    ]

    def postOptions(self) -> None:
        try:
            self.settings = load(Path(self["config"]))
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None
        problems = check_listeners(self.settings)
        if problems:
            raise usage.UsageError("\n".join(str(p) for p in problems))


def makeService(options: Options) -> IService:
    from gateway import service
    from gateway.logsetup import apply_log_level

    apply_log_level(options.settings.log_level)
    return service.build(options.settings)
