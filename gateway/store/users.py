"""The ``users`` file: local users in Dovecot's passwd-file format.

Each line is ``user:password:uid:gid:gecos:home:shell:extra_fields``
(https://doc.dovecot.org/configuration_manual/authentication/passwd_file/);
only ``user`` and ``password`` are required. Users are full addresses
(``alice@example.test``), looked up case-insensitively on the local part
(:meth:`gateway.envelope.Address.key`). Lines starting with ``#`` and blank
lines are ignored. Every other field is kept as written when the CLI rewrites
the file, so an existing Dovecot user list can be shared as is.

Per-user options live in the extra fields (space-separated ``key=value``
items in the 8th field, values may hold ``:``). Ours carry Dovecot's
``userdb_`` prefix, so Dovecot reading the same file takes them for userdb
fields, not passdb ones (which steer authentication and proxying), and a
``mailgateway_`` name that no Dovecot setting has: Dovecot 2.3 hands unknown
userdb fields to plugins as settings, which none reads. The quota rules
(:mod:`gateway.store.quota`) are read from there too::

    alice@example.org:{BLF-CRYPT}...::::::userdb_mailgateway_junk=inbox

``userdb_mailgateway_junk`` says where mail the gateway finds suspect goes:
``folder`` (the default) files it in the Junk folder; ``inbox`` (for POP3
users, who never see other folders) puts it in INBOX with a tagged Subject.

The running daemon sees changes without a restart
(:class:`gateway.store.watched.WatchedFile`): a bad line is logged with
``file:line`` and skipped; the daemon keeps running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from twisted.logger import Logger
from zope.interface import implementer

from gateway.envelope import Address, AddressError
from gateway.interfaces import IUserDirectory
from gateway.store.watched import (
    WatchedFile,
    WatchedTable,
    edit_lines,
    find_line,
    has_surrogates,
    is_skipped,
    lock_path,
    read_entries,
    read_lines,
    write_lines,
)

__all__ = [
    "DEFAULT_JUNK_MODE",
    "JUNK_FIELD",
    "JUNK_MODES",
    "JunkMode",
    "NoSuchUser",
    "UserEntry",
    "UserExists",
    "UserFile",
    "UserFileError",
    "WatchedFile",
    "add_user",
    "delete_user",
    "extra_fields",
    "junk_mode",
    "list_users",
    "lock_path",
    "parse_users",
    "read_lines",
    "read_users",
    "set_junk_mode",
    "set_password",
    "write_lines",
]

log = Logger()

#: The extra field choosing where a user's suspect mail goes.
JUNK_FIELD: Final = "userdb_mailgateway_junk"
JunkMode = Literal["folder", "inbox"]
#: ``folder``: the Junk folder; ``inbox``: INBOX with a tagged Subject.
JUNK_MODES: Final[tuple[JunkMode, ...]] = ("folder", "inbox")
DEFAULT_JUNK_MODE: Final[JunkMode] = "folder"


class UserFileError(Exception):
    """A users-file operation that cannot be done (message says why)."""


class NoSuchUser(UserFileError):
    """The user is not in the users file."""


class UserExists(UserFileError):
    """The user is already in the users file."""


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One user line: the address as written, its password, the rest."""

    address: Address
    password: str
    fields: tuple[str, ...]  # uid, gid, gecos, home, shell, extra_fields as written
    line: int


# --- parsing ----------------------------------------------------------------


def _parse_line(line: str) -> tuple[Address, str, tuple[str, ...]]:
    """Split one passwd-file line; raises ValueError with the reason."""
    if has_surrogates(line):
        raise ValueError("line is not valid UTF-8")
    fields = line.split(":")
    if len(fields) < 2:
        raise ValueError("need at least user:password")
    user = fields[0].strip()
    try:
        address = Address.parse(user)
    except AddressError as e:
        raise ValueError(f"bad user address: {e}") from None
    if user.startswith("<"):
        raise ValueError(f"bad user address: {user!r}")
    return address, fields[1], tuple(fields[2:])


def parse_users(text: str, filename: str) -> tuple[dict[str, UserEntry], list[str]]:
    """Parse a users file: entries keyed by :meth:`Address.key`, and errors.

    Each error reads ``filename:line: reason``; the line is skipped. When a
    user appears twice the first line wins, as in Dovecot.
    """
    users: dict[str, UserEntry] = {}
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if is_skipped(line):
            continue
        try:
            address, password, rest = _parse_line(line)
        except ValueError as e:
            errors.append(f"{filename}:{number}: {e}")
            continue
        key = address.key()
        if key in users:
            errors.append(
                f"{filename}:{number}: duplicate user {address} (first on line {users[key].line})"
            )
            continue
        users[key] = UserEntry(address, password, rest, number)
    return users, errors


def extra_fields(fields: tuple[str, ...]) -> list[str]:
    """The ``key=value`` items of the extra_fields column, in order.

    ``fields`` are :attr:`UserEntry.fields` (uid, gid, gecos, home, shell,
    extra_fields); the column may hold ``:`` (``userdb_quota_rule=*:…``),
    which the line split took for separators.
    """
    return ":".join(fields[5:]).split()


def junk_mode(fields: tuple[str, ...]) -> JunkMode | None:
    """The :data:`JUNK_FIELD` option of a user (:attr:`UserEntry.fields`),
    or None if it is not given. The last one wins, as with Dovecot's extra
    fields; a value other than ``folder`` or ``inbox`` raises ValueError."""
    mode: JunkMode | None = None
    for item in extra_fields(fields):
        key, _, value = item.partition("=")
        if key != JUNK_FIELD:
            continue
        value = value.lower()
        if value not in JUNK_MODES:
            choices = " or ".join(JUNK_MODES)
            raise ValueError(f"{JUNK_FIELD}={item.partition('=')[2]}: must be {choices}")
        mode = value
    return mode


# --- the daemon's view ------------------------------------------------------


@implementer(IUserDirectory)
class UserFile(WatchedTable[UserEntry]):
    """The users file as an :class:`IUserDirectory`, reloaded on change."""

    def _parse(self, text: str, filename: str) -> tuple[dict[str, UserEntry], list[str]]:
        return parse_users(text, filename)

    def exists(self, address: Address) -> bool:
        return self.entry(address) is not None

    def canonical(self, address: Address) -> Address | None:
        entry = self.entry(address)
        return None if entry is None else entry.address

    def junk_mode(self, address: Address) -> JunkMode:
        """Where suspect mail for ``address`` goes (:data:`JUNK_MODES`):
        its :data:`JUNK_FIELD`, else :data:`DEFAULT_JUNK_MODE` (also for an
        unknown user, and for a bad value, which is logged)."""
        entry = self.entry(address)
        if entry is None:
            return DEFAULT_JUNK_MODE
        try:
            mode = junk_mode(entry.fields)
        except ValueError as e:
            log.error("{file}:{line}: {error}", file=str(self.path), line=entry.line, error=e)
            return DEFAULT_JUNK_MODE
        return DEFAULT_JUNK_MODE if mode is None else mode

    def password_hash(self, username: str) -> str | None:
        try:
            address = Address.parse(username)
        except AddressError:
            return None
        entry = self.entry(address)
        return None if entry is None else entry.password


# --- mutations for the CLI --------------------------------------------------


def _check_storable(address: Address, password_hash: str) -> None:
    if ":" in str(address) or any(c in str(address) for c in "\r\n"):
        raise UserFileError(f"{address}: an address with ':' cannot be stored in a passwd-file")
    if any(c in password_hash for c in ":\r\n"):
        raise UserFileError("the password hash cannot contain ':' or line breaks")


def _address_of(line: str) -> Address:
    return _parse_line(line)[0]


def read_users(path: Path) -> tuple[list[UserEntry], list[str]]:
    """The users in file order and the file's parse errors."""
    return read_entries(path, parse_users)


def list_users(path: Path) -> list[UserEntry]:
    """The users in file order (bad lines skipped; see :func:`read_users`)."""
    return read_users(path)[0]


def add_user(path: Path, address: Address, password_hash: str) -> None:
    """Append a user; :class:`UserExists` if the address is already there."""
    _check_storable(address, password_hash)
    with edit_lines(path) as lines:
        index = find_line(lines, address, _address_of)
        if index is not None:
            raise UserExists(f"{address}: user already exists (line {index + 1} of {path})")
        lines.append(f"{address}:{password_hash}")


def set_password(path: Path, address: Address, password_hash: str) -> None:
    """Replace a user's password, keeping the other fields as written."""
    _check_storable(address, password_hash)
    with edit_lines(path) as lines:
        index = find_line(lines, address, _address_of)
        if index is None:
            raise NoSuchUser(f"{address}: no such user in {path}")
        fields = lines[index].split(":")
        fields[1] = password_hash
        lines[index] = ":".join(fields)


def delete_user(path: Path, address: Address) -> None:
    """Remove a user's line; :class:`NoSuchUser` if it is not there."""
    with edit_lines(path) as lines:
        index = find_line(lines, address, _address_of)
        if index is None:
            raise NoSuchUser(f"{address}: no such user in {path}")
        del lines[index]


def set_junk_mode(path: Path, address: Address, mode: JunkMode | None) -> None:
    """Set a user's :data:`JUNK_FIELD` to ``mode``, or remove it (None).

    The other fields and extra fields stay as written; empty fields are
    added to reach the extra_fields column (``user:password::::::extra``).
    When the column is left empty, empty fields at the end of the line go
    (they mean nothing), so setting and removing the option gives a line
    without them back as it was.
    """
    if mode is not None and mode not in JUNK_MODES:
        raise UserFileError(f"junk mode must be one of: {', '.join(JUNK_MODES)}")
    with edit_lines(path) as lines:
        index = find_line(lines, address, _address_of)
        if index is None:
            raise NoSuchUser(f"{address}: no such user in {path}")
        fields = lines[index].split(":")
        extra = extra_fields(tuple(fields[2:]))
        kept = [item for item in extra if item.partition("=")[0] != JUNK_FIELD]
        if mode is not None:
            setting = f"{JUNK_FIELD}={mode}"
            # in place of the first one there was, else at the end
            at = next(
                (i for i, item in enumerate(extra) if item.partition("=")[0] == JUNK_FIELD),
                len(extra),
            )
            kept.insert(at, setting)
        if kept == extra:
            return  # nothing to change (edit_lines rewrites the same lines)
        head = fields[:7] + [""] * (7 - len(fields[:7]))
        new = [*head, " ".join(kept)]
        if not kept:  # empty trailing fields say nothing: drop them
            while len(new) > 2 and new[-1] == "":
                new.pop()
        lines[index] = ":".join(new)
