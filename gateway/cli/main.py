"""The ``mailgateway`` admin command.

``mailgateway [--config FILE] <command> ...``. Each command module exposes
``register(subparsers)``, which adds its sub-parser and sets ``func`` to a
handler ``(args, settings) -> int`` returning a sysexits(3) status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway import __version__
from gateway.config import ConfigError, Settings, load

DEFAULT_CONFIG = Path("conf/gateway.toml")
# lets cron and scripts call `mailgateway sendmail` from any directory
CONFIG_ENV = "MAILGATEWAY_CONFIG"

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOUSER = 67
EX_SOFTWARE = 70
EX_OSERR = 71
EX_CANTCREAT = 73
EX_IOERR = 74
EX_TEMPFAIL = 75
EX_CONFIG = 78


def build_parser() -> argparse.ArgumentParser:
    from gateway.cli import aliases, config_cmd, dkim, dns, queue, sendmail, track, users, x400

    parser = argparse.ArgumentParser(prog="mailgateway", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG)),
        help=f"configuration file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG})",
    )
    parser.add_argument("--version", action="version", version=f"mailgateway {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for module in (users, aliases, queue, track, sendmail, config_cmd, x400, dkim, dns):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        settings: Settings = load(args.config)
    except ConfigError as e:
        print(f"mailgateway: {e}", file=sys.stderr)
        return EX_CONFIG
    status: int = args.func(args, settings)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
