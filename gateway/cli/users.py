"""``mailgateway user add|passwd|set|del|list``: manage the users file.

Passwords are hashed with BLF-CRYPT (bcrypt) in Dovecot's ``{SCHEME}`` form
(:mod:`gateway.auth.passwords`). ``user set ADDRESS --junk inbox`` files
mail found suspect in INBOX with a tagged Subject (for POP3 users) instead
of the Junk folder (``--junk folder``, the default; ``--junk default``
removes the option). The running daemon picks changes up within a second,
without a restart.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

from gateway.auth.passwords import hash_password
from gateway.cli.control_client import notify_reload
from gateway.cli.errors import command, error, reported
from gateway.cli.main import EX_DATAERR, EX_NOUSER, EX_OK, EX_USAGE
from gateway.envelope import Address, AddressError
from gateway.store.maildir import maildir_path
from gateway.store.users import (
    JUNK_FIELD,
    JUNK_MODES,
    add_user,
    delete_user,
    read_users,
    set_junk_mode,
    set_password,
)

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["check_local", "error", "register"]


def _ascii_domain(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.lower()


def check_local(text: str, settings: Settings, what: str) -> Address | int:
    """Parse ``text`` as an address in a local domain, or print why not.

    Returns the Address, or the exit status (EX_DATAERR for a bad address,
    EX_USAGE for a domain that is not local).
    """
    try:
        address = Address.parse(text)
    except AddressError as e:
        error(f"{e}")
        return EX_DATAERR
    local = tuple(settings.local_domains)
    if _ascii_domain(address.domain) not in {_ascii_domain(d) for d in local}:
        error(
            f"{address}: {address.domain} is not a local domain; "
            f"{what} must be in one of: {', '.join(local)}"
        )
        return EX_USAGE
    return address


def register(subparsers: Any) -> None:
    """Add the ``user`` command and its subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "user", help="manage local users", description=__doc__
    )
    sub = parser.add_subparsers(dest="user_command", required=True, metavar="<subcommand>")

    add = sub.add_parser("add", help="add a user")
    add.add_argument("address", help="the user's address, e.g. alice@example.test")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from one stdin line"
    )
    add.set_defaults(func=user_add)

    passwd = sub.add_parser("passwd", help="change a user's password")
    passwd.add_argument("address")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from one stdin line"
    )
    passwd.set_defaults(func=user_passwd)

    options = sub.add_parser(
        "set",
        help="set a user's options",
        description=f"Set options of a user (extra fields of the users file, e.g. {JUNK_FIELD}).",
    )
    options.add_argument("address")
    options.add_argument(
        "--junk",
        choices=(*JUNK_MODES, "default"),
        help="where mail found suspect goes: the Junk folder (folder, the default), or "
        "INBOX with the Subject tagged by [delivery] junk_subject_tag (inbox, for POP3 "
        "users); default removes the option",
    )
    options.set_defaults(func=user_set)

    delete = sub.add_parser("del", help="delete a user (the Maildir is kept)")
    delete.add_argument("address")
    delete.set_defaults(func=user_del)

    lst = sub.add_parser("list", help="list the users")
    lst.set_defaults(func=user_list)


def _read_password(from_stdin: bool) -> str | None:
    """The new password, or None (after printing why) if there is none."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    else:
        try:
            password = getpass.getpass("New password: ")
            again = getpass.getpass("Retype new password: ")
        except (EOFError, KeyboardInterrupt):
            error("no password given")
            return None
        if password != again:
            error("passwords do not match")
            return None
    if not password:
        error("empty password refused")
        return None
    if "\x00" in password:
        error("a password cannot contain NUL")
        return None
    return password


@command
def user_add(args: argparse.Namespace, settings: Settings) -> int:
    """``user add ADDRESS [--password-stdin]``."""
    address = check_local(args.address, settings, "users")
    if isinstance(address, int):
        return address
    with reported(invalid=ValueError, prefix=f"{address}: "):
        maildir_path(settings.mail_dir, address)
    password = _read_password(args.password_stdin)
    if password is None:
        return EX_DATAERR
    with reported(settings.users_file):
        add_user(settings.users_file, address, hash_password(password))
    notify_reload(settings.control_socket)
    error(f"added user {address}")
    return EX_OK


@command
def user_passwd(args: argparse.Namespace, settings: Settings) -> int:
    """``user passwd ADDRESS [--password-stdin]``."""
    address = check_local(args.address, settings, "users")
    if isinstance(address, int):
        return address
    if not any(e.address.key() == address.key() for e in read_users(settings.users_file)[0]):
        error(f"{address}: no such user in {settings.users_file}")
        return EX_NOUSER
    password = _read_password(args.password_stdin)
    if password is None:
        return EX_DATAERR
    with reported(settings.users_file):
        set_password(settings.users_file, address, hash_password(password))
    notify_reload(settings.control_socket)
    error(f"changed the password of {address}")
    return EX_OK


_JUNK_DONE = {
    "folder": "mail found suspect goes to the Junk folder",
    "inbox": "mail found suspect goes to INBOX with a tagged Subject",
    "default": "mail found suspect goes to the Junk folder (the default)",
}


@command
def user_set(args: argparse.Namespace, settings: Settings) -> int:
    """``user set ADDRESS --junk folder|inbox|default``."""
    address = check_local(args.address, settings, "users")
    if isinstance(address, int):
        return address
    if args.junk is None:
        error("nothing to set: give an option such as --junk")
        return EX_USAGE
    with reported(settings.users_file):
        set_junk_mode(settings.users_file, address, None if args.junk == "default" else args.junk)
    notify_reload(settings.control_socket)
    error(f"{address}: {_JUNK_DONE[args.junk]}")
    return EX_OK


@command
def user_del(args: argparse.Namespace, settings: Settings) -> int:
    """``user del ADDRESS`` (any domain, so that leftovers can be removed)."""
    with reported(settings.users_file):
        address = Address.parse(args.address)
        delete_user(settings.users_file, address)
    notify_reload(settings.control_socket)
    error(f"deleted user {address} (the Maildir is kept)")
    return EX_OK


@command
def user_list(args: argparse.Namespace, settings: Settings) -> int:
    """``user list``: one address per line on stdout; bad lines on stderr."""
    with reported(settings.users_file, reading=True):
        users, problems = read_users(settings.users_file)
    for problem in problems:
        error(problem)
    for entry in users:
        print(entry.address)
    return EX_OK
