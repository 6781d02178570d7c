"""Line-based tables on disk (the users and aliases files), for the daemon and the CLI.

The running daemon sees changes without a restart: :class:`WatchedFile`
re-reads the file when its ``(st_mtime_ns, st_size, st_ino)`` changed,
checked at most once per interval on lookup. A bad line is logged with
``file:line`` and skipped; the daemon keeps running. :class:`WatchedTable`
is the base of the daemon's view of each file.

The CLI rewrites a file under a lock with :func:`edit_lines`, keeping the
lines it does not touch byte for byte.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from twisted.logger import Logger

from gateway.envelope import Address
from gateway.fsutil import atomic_write, file_lock

__all__ = [
    "Parser",
    "WatchedFile",
    "WatchedTable",
    "edit_lines",
    "find_line",
    "has_surrogates",
    "is_skipped",
    "lock_path",
    "read_entries",
    "read_lines",
    "write_lines",
]

log = Logger()

T = TypeVar("T")
Parser = Callable[[str, str], tuple[T, list[str]]]
Signature = tuple[int, int, int]


class _Numbered(Protocol):
    @property
    def line(self) -> int: ...


E = TypeVar("E", bound=_Numbered)

# --- lines ------------------------------------------------------------------


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


@contextlib.contextmanager
def edit_lines(path: Path) -> Iterator[list[str]]:
    """Lock ``path``, give its lines to change in place, then rewrite it.

    The file is rewritten (:func:`write_lines`) only when the block ends
    without an exception; the lock is held throughout.
    """
    with file_lock(lock_path(path)):
        lines = read_lines(path)
        yield lines
        write_lines(path, lines)


def has_surrogates(text: str) -> bool:
    """True if ``text`` holds bytes that were not UTF-8 (see :func:`read_lines`)."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def is_skipped(line: str) -> bool:
    """True for a blank line or a ``#`` comment."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def find_line(
    lines: list[str], address: Address, address_of: Callable[[str], Address]
) -> int | None:
    """Index of the first line whose address (``address_of``, which raises
    ValueError on a bad line) matches ``address`` by :meth:`Address.key`."""
    key = address.key()
    for index, line in enumerate(lines):
        if is_skipped(line):
            continue
        try:
            found = address_of(line)
        except ValueError:
            continue
        if found.key() == key:
            return index
    return None


def read_entries(path: Path, parse: Parser[dict[str, E]]) -> tuple[list[E], list[str]]:
    """The entries of ``path`` in file order, and its parse errors."""
    entries, errors = parse("\n".join(read_lines(path)), str(path))
    return sorted(entries.values(), key=lambda e: e.line), errors


# --- the daemon's view ------------------------------------------------------


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

    def check(self) -> T:
        """The parsed contents, checking the file now (not waiting for the interval)."""
        self._checked = self._now()
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


class WatchedTable(Generic[E]):
    """A file of entries keyed by :meth:`Address.key`, reloaded on change.

    Subclasses give the parser (:meth:`_parse`) and the lookups.
    """

    def __init__(
        self,
        path: Path,
        now: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
    ) -> None:
        self._file: WatchedFile[dict[str, E]] = WatchedFile(path, self._parse, now, interval)

    def _parse(self, text: str, filename: str) -> tuple[dict[str, E], list[str]]:
        """Parse the file's text: the entries by key, and ``file:line: reason`` errors."""
        raise NotImplementedError

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

    def entry(self, address: Address) -> E | None:
        """The entry of ``address``, or None.

        The view may be up to ``interval`` old: the file is not stat'ed on
        every lookup, because in the reactor thread a ``stat`` costs far more
        than its syscall when the GIL must be won back from busy delivery
        threads. Call :meth:`refresh` before acting on a miss that matters.
        """
        return self._file.current().get(address.key())

    def refresh(self) -> None:
        """Check the file now (re-read only if it changed)."""
        self._file.check()

    def __iter__(self) -> Iterator[E]:
        return iter(list(self._file.current().values()))
