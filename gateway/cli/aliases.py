"""``mailgateway alias add|del|list``: manage the aliases file.

The running daemon picks changes up within a second, without a restart.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from gateway.cli.main import EX_CANTCREAT, EX_DATAERR, EX_IOERR, EX_NOUSER, EX_OK
from gateway.cli.users import check_local, error
from gateway.envelope import Address, AddressError
from gateway.store.aliases import (
    AliasExists,
    AliasFileError,
    NoSuchAlias,
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


def alias_add(args: argparse.Namespace, settings: Settings) -> int:
    """``alias add ALIAS TARGET...``."""
    alias = check_local(args.alias, settings, "aliases")
    if isinstance(alias, int):
        return alias
    targets: list[Address] = []
    for text in args.targets:
        try:
            targets.append(Address.parse(text))
        except AddressError as e:
            error(f"bad target: {e}")
            return EX_DATAERR
    try:
        all_targets = add_alias(settings.aliases_file, alias, targets)
    except AliasExists as e:
        error(str(e))
        return EX_OK
    except AliasFileError as e:
        error(str(e))
        return EX_DATAERR
    except OSError as e:
        error(f"cannot write {settings.aliases_file}: {e.strerror or e}")
        return EX_CANTCREAT
    if any(u.address.key() == alias.key() for u in read_users(settings.users_file)[0]):
        error(f"warning: {alias} is also a user in {settings.users_file}")
    error(f"alias {format_alias(alias, all_targets)}")
    return EX_OK


def alias_del(args: argparse.Namespace, settings: Settings) -> int:
    """``alias del ALIAS``."""
    try:
        alias = Address.parse(args.alias)
    except AddressError as e:
        error(str(e))
        return EX_DATAERR
    try:
        delete_alias(settings.aliases_file, alias)
    except NoSuchAlias as e:
        error(str(e))
        return EX_NOUSER
    except OSError as e:
        error(f"cannot write {settings.aliases_file}: {e.strerror or e}")
        return EX_CANTCREAT
    error(f"deleted alias {alias}")
    return EX_OK


def alias_list(args: argparse.Namespace, settings: Settings) -> int:
    """``alias list``: one alias per line on stdout; bad lines on stderr."""
    try:
        aliases, problems = read_aliases(settings.aliases_file)
    except OSError as e:
        error(f"cannot read {settings.aliases_file}: {e.strerror or e}")
        return EX_IOERR
    for problem in problems:
        error(problem)
    for entry in aliases:
        print(format_alias(entry.alias, entry.targets))
    return EX_OK
