"""``mailgateway config check``: validate the configuration and its listeners."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from gateway.cli import main as cli
from gateway.config import check_listeners

if TYPE_CHECKING:
    from gateway.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="configuration tools")
    sub = parser.add_subparsers(dest="config_command", required=True, metavar="<action>")
    check = sub.add_parser("check", help="validate the file and try to bind every listener")
    check.add_argument(
        "--no-bind", action="store_true", help="skip the port checks (daemon running)"
    )
    check.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    problems = [] if args.no_bind else check_listeners(settings)
    for problem in problems:
        print(f"mailgateway: {problem}", file=sys.stderr)
    if problems:
        return cli.EX_CONFIG
    print(f"{settings.source}: OK ({len(settings.listeners)} listener(s))")
    return cli.EX_OK
