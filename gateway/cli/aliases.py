"""``mailgateway alias add|del|list``: manage the aliases file.

The running daemon picks changes up within a second, without a restart.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from gateway.cli.control_client import notify_reload
from gateway.cli.errors import command, error, reported
from gateway.cli.main import EX_OK
from gateway.cli.users import check_local
from gateway.envelope import Address
from gateway.store.aliases import (
    add_alias,
    delete_alias,
    format_alias,
    read_aliases,
)
from gateway.store.users import read_users

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``alias`` command and its subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "alias", help="manage aliases", description=__doc__
    )
    sub = parser.add_subparsers(dest="alias_command", required=True, metavar="<subcommand>")

    add = sub.add_parser("add", help="add targets to an alias (created if new)")
    add.add_argument("alias", help="the alias address, in a local domain")
    add.add_argument("targets", nargs="+", metavar="TARGET", help="local or remote addresses")
    add.set_defaults(func=alias_add)

    delete = sub.add_parser("del", help="delete an alias")
    delete.add_argument("alias")
    delete.set_defaults(func=alias_del)

    lst = sub.add_parser("list", help="list the aliases")
    lst.set_defaults(func=alias_list)


@command
def alias_add(args: argparse.Namespace, settings: Settings) -> int:
    """``alias add ALIAS TARGET...``."""
    alias = check_local(args.alias, settings, "aliases")
    if isinstance(alias, int):
        return alias
    with reported(prefix="bad target: "):
        targets = [Address.parse(text) for text in args.targets]
    with reported(settings.aliases_file):  # AliasExists: a message, and EX_OK
        all_targets = add_alias(settings.aliases_file, alias, targets)
    notify_reload(settings.control_socket)
    if any(u.address.key() == alias.key() for u in read_users(settings.users_file)[0]):
        error(f"warning: {alias} is also a user in {settings.users_file}")
    error(f"alias {format_alias(alias, all_targets)}")
    return EX_OK


@command
def alias_del(args: argparse.Namespace, settings: Settings) -> int:
    """``alias del ALIAS``."""
    with reported(settings.aliases_file):
        alias = Address.parse(args.alias)
        delete_alias(settings.aliases_file, alias)
    notify_reload(settings.control_socket)
    error(f"deleted alias {alias}")
    return EX_OK


@command
def alias_list(args: argparse.Namespace, settings: Settings) -> int:
    """``alias list``: one alias per line on stdout; bad lines on stderr."""
    with reported(settings.aliases_file, reading=True):
        aliases, problems = read_aliases(settings.aliases_file)
    for problem in problems:
        error(problem)
    for entry in aliases:
        print(format_alias(entry.alias, entry.targets))
    return EX_OK
