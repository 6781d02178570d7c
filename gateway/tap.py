"""The twistd plugin's options and service maker: one option, ``--config``."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.application.service import IService
from twisted.python import usage

from gateway.config import ConfigError, check_listeners, load

EX_CONFIG = 78  # sysexits(3)


class Options(usage.Options):
    optParameters = [
        ["config", "c", "conf/gateway.toml", "The TOML configuration file."],
    ]

    def postOptions(self) -> None:
        """Refuse to start on any configuration problem: one line naming the
        file and the key (not twistd's usage text), exit status EX_CONFIG."""
        try:
            self.settings = load(Path(self["config"]))
            problems = check_listeners(self.settings)
        except ConfigError as e:
            problems = [e]
        if problems:
            for problem in problems:
                print(f"mailgateway: {problem}", file=sys.stderr)
            raise SystemExit(EX_CONFIG)


def makeService(options: Options) -> IService:
    from gateway import service
    from gateway.logsetup import apply_log_level

    apply_log_level(options.settings.log_level)
    return service.build(options.settings)
