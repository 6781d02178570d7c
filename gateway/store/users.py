"""The ``users`` file: local users in Dovecot's passwd-file format.

Each line is ``user:password:uid:gid:gecos:home:shell:extra_fields``
(https://doc.dovecot.org/configuration_manual/authentication/passwd_file/);
only ``user`` and ``password`` are required. Users are full addresses
(``alice@example.test``), looked up case-insensitively on the local part
(:meth:`gateway.envelope.Address.key`). Lines starting with ``#`` and blank
lines are ignored. Every other field is kept as written when the CLI rewrites
the file, so an existing Dovecot user list can be shared as is.

The running daemon sees changes without a restart: :class:`WatchedFile`
re-reads the file when its ``(st_mtime_ns, st_size, st_ino)`` changed,
checked at most once per interval on lookup. A bad line is logged with
``file:line`` and skipped; the daemon keeps running.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from twisted.logger import Logger
from zope.interface import implementer

from gateway.envelope import Address, AddressError
from gateway.fsutil import atomic_write, file_lock
from gateway.interfaces import IUserDirectory

__all__ = [
    "NoSuchUser",
    "UserEntry",
    "UserExists",
    "UserFile",
    "UserFileError",
    "WatchedFile",
    "add_user",
    "delete_user",
    "list_users",
    "lock_path",
    "parse_users",
    "read_lines",
    "read_users",
    "set_password",
    "write_lines",
]

log = Logger()

T = TypeVar("T")
Parser = Callable[[str, str], tuple[T, list[str]]]
Signature = tuple[int, int, int]


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


# --- reading, shared with the aliases file ----------------------------------


def read_lines(path: Path) -> list[str]:
    """The lines of ``path`` without line ends; ``[]`` if it does not exist.

    Bytes that are not UTF-8 survive as surrogates (``surrogateescape``), so
    a rewrite keeps lines it does not touch byte for byte.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return data.decode("utf-8", "surrogateescape").splitlines()


def write_lines(path: Path, lines: list[str]) -> None:
    """Atomically and durably replace ``path`` with ``lines`` (mode 0600)."""
    text = "".join(line + "\n" for line in lines)
    atomic_write(path, text.encode("utf-8", "surrogateescape"), mode=0o600)


def lock_path(path: Path) -> Path:
    """The lock file that serialises rewrites of ``path``."""
    return path.with_name(path.name + ".lock")


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def _is_skipped(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class WatchedFile(Generic[T]):
    """A parsed file that is re-read when it changes on disk.

    :meth:`current` stats the file at most once per ``interval`` seconds of
    the injected ``now`` clock and re-parses it when ``(st_mtime_ns,
    st_size, st_ino)`` changed. A missing file parses as empty text. Parse
    errors are logged (and kept in :attr:`errors`); when the file cannot be
    read at all, the previous contents stay in use.
    """

    def __init__(
        self,
        path: Path,
        parse: Parser[T],
        now: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
    ) -> None:
        self.path = path
        self._parse = parse
        self._now = now
        self._interval = interval
        self._checked: float | None = None
        self._signature: Signature | None = None
        self._value, self.errors = parse("", str(path))

    def current(self) -> T:
        """The parsed contents, re-read first if the file changed."""
        t = self._now()
        if self._checked is None or t - self._checked >= self._interval:
            self._checked = t
            self._refresh(force=False)
        return self._value

    def reload(self) -> None:
        """Re-read the file now, whether or not it looks changed."""
        self._checked = self._now()
        self._refresh(force=True)

    def _refresh(self, force: bool) -> None:
        name = str(self.path)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if force or self._signature is not None:
                self._signature = None
                self._value, self.errors = self._parse("", name)
            return
        except OSError as e:
            log.error("{file}: cannot stat: {error}", file=name, error=e)
            return
        if not force and _signature(st) == self._signature:
            return
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())  # the signature of what we read
                data = f.read()
        except FileNotFoundError:
            self._signature = None
            self._value, self.errors = self._parse("", name)
            return
        except OSError as e:
            log.error("{file}: cannot read: {error}", file=name, error=e)
            return
        self._signature = _signature(st)
        self._value, self.errors = self._parse(data.decode("utf-8", "surrogateescape"), name)
        for error in self.errors:
            log.error("{error}", error=error)


def _signature(st: os.stat_result) -> Signature:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


# --- parsing ----------------------------------------------------------------


def _parse_line(line: str) -> tuple[Address, str, tuple[str, ...]]:
    """Split one passwd-file line; raises ValueError with the reason."""
    if _has_surrogates(line):
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
        if _is_skipped(line):
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


# --- the daemon's view ------------------------------------------------------


@implementer(IUserDirectory)
class UserFile:
    """The users file as an :class:`IUserDirectory`, reloaded on change."""

    def __init__(
        self,
        path: Path,
        now: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
    ) -> None:
        self._file: WatchedFile[dict[str, UserEntry]] = WatchedFile(
            path, parse_users, now, interval
        )

    @property
    def path(self) -> Path:
        return self._file.path

    @property
    def errors(self) -> list[str]:
        """The errors of the last parse (each ``file:line: reason``)."""
        return self._file.errors

    def reload(self) -> None:
        """Re-read the file now."""
        self._file.reload()

    def entry(self, address: Address) -> UserEntry | None:
        """The user's entry, or None."""
        return self._file.current().get(address.key())

    def __iter__(self) -> Iterator[UserEntry]:
        return iter(list(self._file.current().values()))

    def exists(self, address: Address) -> bool:
        return self.entry(address) is not None

    def canonical(self, address: Address) -> Address | None:
        entry = self.entry(address)
        return None if entry is None else entry.address

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


def _find(lines: list[str], address: Address) -> int | None:
    """Index of the (first) line of ``address`` in ``lines``, or None."""
    key = address.key()
    for index, line in enumerate(lines):
        if _is_skipped(line):
            continue
        try:
            found, _, _ = _parse_line(line)
        except ValueError:
            continue
        if found.key() == key:
            return index
    return None


def read_users(path: Path) -> tuple[list[UserEntry], list[str]]:
    """The users in file order and the file's parse errors."""
    users, errors = parse_users("\n".join(read_lines(path)), str(path))
    return sorted(users.values(), key=lambda e: e.line), errors


def list_users(path: Path) -> list[UserEntry]:
    """The users in file order (bad lines skipped; see :func:`read_users`)."""
    return read_users(path)[0]


def add_user(path: Path, address: Address, password_hash: str) -> None:
    """Append a user; :class:`UserExists` if the address is already there."""
    _check_storable(address, password_hash)
    with file_lock(lock_path(path)):
        lines = read_lines(path)
        index = _find(lines, address)
        if index is not None:
            raise UserExists(f"{address}: user already exists (line {index + 1} of {path})")
        lines.append(f"{address}:{password_hash}")
        write_lines(path, lines)


def set_password(path: Path, address: Address, password_hash: str) -> None:
    """Replace a user's password, keeping the other fields as written."""
    _check_storable(address, password_hash)
    with file_lock(lock_path(path)):
        lines = read_lines(path)
        index = _find(lines, address)
        if index is None:
            raise NoSuchUser(f"{address}: no such user in {path}")
        fields = lines[index].split(":")
        fields[1] = password_hash
        lines[index] = ":".join(fields)
        write_lines(path, lines)


def delete_user(path: Path, address: Address) -> None:
    """Remove a user's line; :class:`NoSuchUser` if it is not there."""
    with file_lock(lock_path(path)):
        lines = read_lines(path)
        index = _find(lines, address)
        if index is None:
            raise NoSuchUser(f"{address}: no such user in {path}")
        del lines[index]
        write_lines(path, lines)
