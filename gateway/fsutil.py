"""Small durable-file helpers shared by the queue, the store and the CLI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def fsync_directory(path: Path | str) -> None:
    """fsync a directory so that entries created or renamed in it are durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_write(
    tmp: Path,
    final: Path,
    chunks: Iterable[bytes],
    mode: int = 0o600,
    *,
    exclusive: bool = False,
    replace: bool = True,
    sync_directory: Callable[[Path], None] | None = None,
) -> None:
    """Write ``chunks`` to ``tmp``, fsync it, rename it to ``final`` and fsync
    ``final``'s directory: a reader sees ``final`` complete or not at all
    (or as it was), and once this returns it survives a crash.

    ``tmp`` is created with ``mode``, truncated if it exists, or with
    ``exclusive`` refused (:class:`FileExistsError`) if it exists. If the
    write, the fsync or the rename fails, ``tmp`` is removed. If the
    directory fsync fails, a ``final`` that was a new name (``replace`` false)
    is removed again, so that a retry goes through the full cycle; one that
    replaced a file is left (the old contents are gone). Raises
    :class:`OSError`. ``sync_directory`` replaces the plain directory fsync
    (with a :class:`DirectorySyncer`'s, to share it between threads).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(tmp, flags, mode)
    try:
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        (sync_directory or fsync_directory)(final.parent)
    except BaseException:
        if not replace:
            with contextlib.suppress(OSError):
                os.unlink(final)
        raise


class DirectorySyncer:
    """Shares directory fsyncs between threads renaming into the same directory.

    A thread that has renamed a file into a directory calls :meth:`sync`,
    which returns once an fsync of that directory *started after the rename*
    has completed. While one fsync runs, the threads that renamed meanwhile
    wait and are then all covered by a single next fsync: under load, one
    directory fsync serves many deliveries (group commit), and none returns
    before its own entry is durable.
    """

    def __init__(self, fsync: Callable[[Path], None] = fsync_directory) -> None:
        self._fsync = fsync
        self._mutex = threading.Lock()
        self._dirs: dict[Path, _DirState] = {}

    def sync(self, directory: Path) -> None:
        with self._mutex:
            state = self._dirs.setdefault(directory, _DirState())
            state.requested += 1
            mine = state.requested
        with state.lock:
            if state.done >= mine:
                return  # an fsync that started after our rename has finished
            with self._mutex:
                target = state.requested  # every rename counted so far is covered
            self._fsync(directory)
            state.done = target


class _DirState:
    __slots__ = ("done", "lock", "requested")

    def __init__(self) -> None:
        self.requested = 0
        self.done = 0
        self.lock = threading.Lock()


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Writes a temporary file beside it, fsyncs it, renames it over ``path``
    and fsyncs the directory (:func:`durable_write`): a reader sees either
    the old or the new file, never a mix, and a crash leaves one of the two.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    durable_write(path.with_name(f".{path.name}.{os.getpid()}.tmp"), path, (data,), mode)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
