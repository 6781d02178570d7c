"""One Maildir folder with its index: what POP3 and IMAP read and change.

All methods block (file system and SQLite) and take the folder's own lock,
so run them in a thread pool; one folder's lock never blocks another
folder. Within the process there is one :class:`Folder` per directory
(:class:`gateway.store.mailstore.MailStore` hands them out), so every
session of a mailbox sees the same state.

**Sync** (:meth:`Folder.sync`) reconciles the index with the Maildir: files
that appeared in ``new/`` or ``cur/`` (our delivery, or any other program)
get the next UIDs in file-name order; files that are gone are expunged;
names whose flag letters changed update the flags and MODSEQ. It is skipped
when neither directory's mtime changed since the last sync (a change within
the last two seconds always rescans, since mtimes are coarse).

**Crash safety**: every change renames or unlinks the file first and then
records it in the index in one transaction. A crash in between leaves a
Maildir that the next sync reads back into the same state (the UID belongs
to the file's base name, which never changes). A missing or damaged index is
rebuilt from the Maildir, keeping Dovecot's UIDs when a ``dovecot-uidlist``
is there; only then does UIDVALIDITY change (RFC 9051 2.3.1.1).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from twisted.logger import Logger

from gateway.fsutil import atomic_write, durable_write, fsync_directory
from gateway.store.filenames import (
    BadName,
    MaildirName,
    crlf_size,
    flag_name,
    flags_to_letters,
    format_keywords,
    letters_to_flags,
    parse_keywords,
    parse_name,
)
from gateway.store.index import INDEX_FILE, FolderIndex, Header, IndexDamaged, Record
from gateway.store.uidlist import UIDLIST_FILE, parse_uidlist

log = Logger()

KEYWORDS_FILE = "dovecot-keywords"
# Directory mtimes younger than this are not trusted to mean "no change"
# (1 s timestamp granularity; a coarse-clock tick for nanosecond stamps).
_SETTLE_NS = 2_000_000_000
_FINE_SETTLE_NS = 50_000_000


def _settle_ns(stamp: int) -> int:
    """How old an mtime must be before "unchanged" can be trusted.

    Timestamps are set from a coarse clock (a few ms); one in a whole second
    may come from a file system with 1 s granularity, so wait 2 s then.
    """
    return _SETTLE_NS if stamp % 1_000_000_000 == 0 else _FINE_SETTLE_NS


def _header_end(data: bytes) -> int:
    """Offset just after the blank line ending the header, or -1."""
    lf = data.find(b"\n\n")
    crlf = data.find(b"\r\n\r\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf + 4
    return lf + 2 if lf >= 0 else -1


def _mtime_ns(path: Path) -> int:
    return os.stat(path).st_mtime_ns


class Folder:
    """A Maildir folder (``cur/ new/ tmp/``) and its index."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self._root = os.fspath(directory)
        self.lock = threading.RLock()
        self._clock = clock
        self._index: FolderIndex | None = None
        self.header = Header(0, 1, 1)
        self._by_uid: dict[int, Record] = {}
        self._by_base: dict[str, Record] = {}
        # mtime of new/ and cur/ when the index last matched them (None:
        # unknown, list the directory again)
        self._stamps: dict[str, int | None] = {"new": None, "cur": None}
        self._keywords: list[str] = []
        self._keywords_mtime: int | None = None
        self.recent: set[int] = set()  # UIDs no session has claimed yet (RFC 3501 2.3.2)
        self.claimed: set[int] = set()  # UIDs \Recent in a session still open
        self._imported: dict[str, int] = {}  # Dovecot's UIDs while rebuilding
        # Bumped on every change; watchers are told (from the changing thread).
        self.version = 0
        self._watchers: list[Callable[[], None]] = []
        self._polled: tuple[int, int] | None = None  # directory mtimes at the last poll
        # The watcher of the session making the current change (under the
        # lock): it is not woken for its own change.
        self.origin: Callable[[], None] | None = None
        # Parsed data per UID (e.g. IMAP ENVELOPE), kept in the index too.
        self._cache: dict[int, dict[str, Any]] = {}
        self._cache_dirty: set[int] = set()

    # -- opening and rebuilding -------------------------------------------

    def _open(self) -> None:
        if self._index is not None:
            return
        for sub in ("cur", "new", "tmp"):
            (self.directory / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / INDEX_FILE
        index: FolderIndex | None = None
        try:
            index = FolderIndex(path)
            header = index.header()
            records = index.records()
        except IndexDamaged as e:
            log.warn(
                "{folder}: index damaged ({error}); rebuilding from the Maildir",
                folder=str(self.directory),
                error=str(e),
            )
            if index is not None:
                index.close()
            self._set_aside(path)
            index = FolderIndex(path)
            header, records = None, []
        self._index = index
        if header is None:
            header = self._initial_header()
            with index.transaction() as w:
                w.set_header(header)
        if records:  # repair a header that lags its rows
            header.uidnext = max(header.uidnext, records[-1].uid + 1)
            header.highest_modseq = max(header.highest_modseq, max(r.modseq for r in records))
        self.header = header
        self._by_uid = {r.uid: r for r in records}
        self._by_base = {r.base: r for r in records}
        self._cache = index.caches()

    def _set_aside(self, path: Path) -> None:
        stamp = int(self._clock())
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{path}{suffix}")
            if old.exists():
                old.rename(Path(f"{path}{suffix}.damaged-{stamp}"))

    def _initial_header(self) -> Header:
        """A new index: Dovecot's UIDs if it left a uidlist, else fresh ones."""
        try:
            text = (self.directory / UIDLIST_FILE).read_text("utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        imported = parse_uidlist(text) if text else None
        if imported is not None:
            self._imported = dict(imported.uids)
            log.info(
                "{folder}: UIDs taken over from {file} (UIDVALIDITY {v})",
                folder=str(self.directory),
                file=UIDLIST_FILE,
                v=imported.uidvalidity,
            )
            return Header(imported.uidvalidity, imported.uidnext, 1)
        # A new UIDVALIDITY must differ from any earlier one of this folder:
        # seconds since the epoch, as Dovecot does, bumped past a set-aside index.
        return Header(int(self._clock()), 1, 1)

    # -- sync --------------------------------------------------------------

    def sync(self, move_new: bool = False) -> list[int]:
        """Bring the index up to date with the Maildir; return expunged UIDs.

        With ``move_new``, files in ``new/`` are moved to ``cur/`` (what a
        reader does once it has seen them; they become \\Recent for it).
        """
        with self.lock:
            self._open()
            self._load_keywords()
            self._flush_cache()
            dirty = {
                sub
                for sub in ("new", "cur")
                if self._stamps[sub] is None
                or self._stamps[sub] != _mtime_ns(self.directory / sub)
            }
            if not dirty and not (move_new and self._has_new()):
                return []
            return self._rescan(move_new, dirty or {"new"})

    def _has_new(self) -> bool:
        return any(r.subdir == "new" for r in self._by_uid.values())

    def _list(self, subs: set[str] | None = None) -> dict[str, tuple[str, MaildirName]]:
        found: dict[str, tuple[str, MaildirName]] = {}
        for sub in ("cur", "new"):  # cur first: it wins over a stale copy in new/
            if subs is not None and sub not in subs:
                continue
            with os.scandir(self.directory / sub) as entries:
                for entry in entries:
                    try:
                        parsed = parse_name(entry.name)
                    except BadName:
                        continue
                    found.setdefault(parsed.base, (sub, parsed))
        return found

    def _rescan(self, move_new: bool, dirty: set[str]) -> list[int]:
        """List the ``dirty`` directories (the others are as the index says)."""
        assert self._index is not None
        now_ns = time.time_ns()
        pre = {sub: _mtime_ns(self.directory / sub) for sub in ("new", "cur")}
        found = self._list(dirty)
        header = self.header
        gone: list[int] = []
        changed: list[Record] = []
        for record in list(self._by_uid.values()):
            if record.subdir not in dirty:
                found.pop(record.base, None)  # unchanged; another copy is stale
                continue
            entry = found.pop(record.base, None)
            if entry is None:
                gone.append(record.uid)
                continue
            sub, parsed = entry
            if parsed.name != record.name or sub != record.subdir:
                if parsed.letters != record.letters:
                    header.highest_modseq += 1
                    record.modseq = header.highest_modseq
                record.name, record.subdir, record.letters = parsed.name, sub, parsed.letters
                changed.append(record)
        added = self._new_records(found, header)
        for sub in dirty:  # what the listing shows is complete as of ``pre``
            settled = now_ns - pre[sub] > _settle_ns(pre[sub])
            self._stamps[sub] = pre[sub] if settled else None
        if move_new:
            before = self._before_change()
            changed.extend(self._move_new(added))
            self._after_change(before)
        with self._index.transaction() as w:
            if gone:
                w.remove(gone)
            for record in added:
                w.add(record)
            for record in changed:
                w.rename(record)
            w.set_header(header)
        for uid in gone:
            record = self._by_uid.pop(uid)
            self._by_base.pop(record.base, None)
            self.recent.discard(uid)
        for record in added:
            self._by_uid[record.uid] = record
            self._by_base[record.base] = record
            self.recent.add(record.uid)
        self._imported = {}
        if gone or added or changed:
            self._changed()
        return gone

    def _before_change(self) -> dict[str, int | None]:
        """The directory mtimes before one of our own changes (see _after_change)."""
        return {
            sub: _mtime_ns(self.directory / sub) if self._stamps[sub] is not None else None
            for sub in ("new", "cur")
        }

    def _after_change(self, before: dict[str, int | None]) -> None:
        """We renamed, linked or removed files ourselves: if the index matched
        ``cur/`` before, it matches it now (so the next sync need not list
        10,000 names again after a STORE). A change to ``cur/`` by another
        program in the same clock tick as ours would be missed until the
        next one; other programs deliver into ``new/``, which is not
        trusted this way."""
        stamp = before.get("cur")
        if stamp is not None and stamp == self._stamps["cur"]:
            self._stamps["cur"] = _mtime_ns(self.directory / "cur")
        # new/ is where other programs deliver: a delivery in the same clock
        # tick as our change would hide behind it, so new/ is listed again
        # (it is small) whenever its mtime moved.

    def _new_records(
        self, found: dict[str, tuple[str, MaildirName]], header: Header
    ) -> list[Record]:
        imported = self._imported
        taken = set(self._by_uid)
        # Dovecot's UIDs first (in UID order), then the rest in name order.
        order = sorted(found, key=lambda base: (imported.get(base, 1 << 62), base))
        added: list[Record] = []
        for base in order:
            sub, parsed = found[base]
            path = self.directory / sub / parsed.name
            try:
                st = os.stat(path)
                vsize = parsed.vsize
                if vsize is None or parsed.size != st.st_size:
                    vsize = crlf_size(path.read_bytes())
            except FileNotFoundError:
                continue  # renamed meanwhile: the next sync sees it
            uid = imported.get(base)
            if uid is None or uid in taken or uid < 1:
                uid = header.uidnext
            taken.add(uid)
            header.uidnext = max(header.uidnext, uid + 1)
            header.highest_modseq += 1
            added.append(
                Record(
                    uid,
                    base,
                    parsed.name,
                    sub,
                    st.st_size,
                    vsize,
                    parsed.letters,
                    header.highest_modseq,
                    st.st_mtime,
                )
            )
        added.sort(key=lambda r: r.uid)
        return added

    def _move_new(self, added: Iterable[Record]) -> list[Record]:
        """Rename ``new/X`` to ``cur/X:2,`` (Maildir: the reader saw it)."""
        moved: list[Record] = []
        candidates = [r for r in self._by_uid.values() if r.subdir == "new"]
        for record in [*candidates, *(r for r in added if r.subdir == "new")]:
            name = flag_name(record.base, record.letters)
            try:
                os.rename(self.directory / "new" / record.name, self.directory / "cur" / name)
            except FileNotFoundError:
                continue
            record.name, record.subdir = name, "cur"
            moved.append(record)
        return moved

    # -- reading -----------------------------------------------------------

    def messages(self) -> list[Record]:
        """The indexed messages in UID order (call :meth:`sync` first)."""
        with self.lock:
            return sorted(self._by_uid.values(), key=lambda r: r.uid)

    def record(self, uid: int) -> Record | None:
        """What the index knows of ``uid`` (no lock: a dict lookup)."""
        return self._by_uid.get(uid)

    def flags(self, record: Record) -> frozenset[str]:
        return letters_to_flags(record.letters, self._keywords)

    @property
    def keywords(self) -> list[str]:
        return list(self._keywords)

    def path(self, uid: int) -> Path:
        with self.lock:
            record = self._by_uid[uid]
            return self.directory / record.subdir / record.name

    def read(self, uid: int) -> bytes:
        """The message as stored. Raises KeyError once it is expunged."""
        for _attempt in range(3):
            try:
                return self.path(uid).read_bytes()
            except FileNotFoundError:  # renamed by a flag change: look again
                with self.lock:
                    self._stamps = {"new": None, "cur": None}
                self.sync()
        raise KeyError(uid)

    def read_nowait(self, uid: int) -> bytes | None:
        """The message, read without taking the folder lock; None if it is
        not where the index last saw it (then :meth:`read` in a thread).

        For the reactor thread: a dict lookup and one file read, never a
        wait behind a sync of this folder.
        """
        record = self._by_uid.get(uid)
        if record is None:
            return None
        try:
            # a str path and an unbuffered file: this runs once per POP3 RETR
            with open(f"{self._root}/{record.subdir}/{record.name}", "rb", buffering=0) as f:
                return f.readall()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def read_header_nowait(self, uid: int, chunk: int = 65536) -> bytes | None:
        """The header (up to and with its blank line), read without the lock,
        usually with one read of ``chunk`` bytes; None as read_nowait."""
        record = self._by_uid.get(uid)
        if record is None:
            return None
        try:
            with open(self.directory / record.subdir / record.name, "rb") as f:
                data = f.read(chunk)
                end = _header_end(data)
                while end < 0 and len(data) % chunk == 0 and data:
                    more = f.read(chunk)
                    if not more:
                        break
                    data += more
                    end = _header_end(data)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return data if end < 0 else data[:end]

    # -- changing ----------------------------------------------------------

    def set_flags(
        self, uids: Iterable[int], change: Callable[[frozenset[str]], frozenset[str]]
    ) -> dict[int, frozenset[str]]:
        """Apply ``change`` to the flags of ``uids``; return the new flags."""
        with self.lock:
            self._open()
            assert self._index is not None
            result: dict[int, frozenset[str]] = {}
            renamed: list[Record] = []
            keywords = list(self._keywords)
            before = self._before_change()
            for uid in uids:
                record = self._by_uid.get(uid)
                if record is None:
                    continue
                wanted = change(self.flags(record))
                letters = flags_to_letters(wanted, keywords, keep=record.letters)
                if letters != record.letters or record.subdir != "cur":
                    name = flag_name(record.base, letters)
                    try:
                        os.rename(
                            self.directory / record.subdir / record.name,
                            self.directory / "cur" / name,
                        )
                    except FileNotFoundError:
                        continue  # expunged by someone else: the next sync says so
                    self.header.highest_modseq += 1
                    record.name, record.subdir, record.letters = name, "cur", letters
                    record.modseq = self.header.highest_modseq
                    renamed.append(record)
                result[uid] = letters_to_flags(letters, keywords)
            self._after_change(before)
            if keywords != self._keywords:
                self._save_keywords(keywords)
            with self._index.transaction() as w:
                for record in renamed:
                    w.rename(record)
                w.set_header(self.header)
            if renamed:
                self._changed()
            return result

    def expunge(self, uids: Iterable[int]) -> list[int]:
        """Remove ``uids`` (files first, then the index); return those removed."""
        with self.lock:
            self._open()
            assert self._index is not None
            removed: list[int] = []
            before = self._before_change()
            for uid in uids:
                record = self._by_uid.get(uid)
                if record is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.directory / record.subdir / record.name)
                removed.append(uid)
            self._after_change(before)
            if removed:
                with self._index.transaction() as w:
                    w.remove(removed)
                    self.header.highest_modseq += 1
                    w.set_header(self.header)
                for uid in removed:
                    record = self._by_uid.pop(uid)
                    self._by_base.pop(record.base, None)
                    self.recent.discard(uid)
                    self.claimed.discard(uid)
                    self._cache.pop(uid, None)
                    self._cache_dirty.discard(uid)
                self._changed()
            return removed

    def append(self, data: bytes, flags: Iterable[str], idate: float, unique: str) -> int:
        """Store ``data`` (LF line ends) in ``cur/`` with ``flags``; its new UID.

        Written to ``tmp/``, fsynced and renamed into place (durable before
        the UID is returned, as IMAP APPEND needs).
        """
        with self.lock:
            self._open()
            assert self._index is not None
            keywords = list(self._keywords)
            letters = flags_to_letters(flags, keywords)
            if keywords != self._keywords:
                self._save_keywords(keywords)
            base = f"{unique},S={len(data)},W={crlf_size(data)}"
            name = flag_name(base, letters)
            target = self.directory / "cur" / name
            before = self._before_change()
            durable_write(self.directory / "tmp" / unique, target, [data], 0o600, replace=False)
            self._after_change(before)
            os.utime(target, (idate, idate))
            return self._add(base, name, len(data), crlf_size(data), letters, idate)

    def add_copy(
        self, source: Path, size: int, vsize: int, flags: Iterable[str], idate: float, unique: str
    ) -> int:
        """Put a hard link to ``source`` (another folder's message file) in
        ``cur/`` with ``flags`` (a copy when linking is not possible); its
        new UID. For IMAP COPY and MOVE: no message is read or rewritten."""
        with self.lock:
            self._open()
            keywords = list(self._keywords)
            letters = flags_to_letters(flags, keywords)
            if keywords != self._keywords:
                self._save_keywords(keywords)
            base = f"{unique},S={size},W={vsize}"
            name = flag_name(base, letters)
            tmp = self.directory / "tmp" / unique
            try:
                os.link(source, tmp)
            except OSError:  # another file system, or no hard links: copy
                durable_write(
                    self.directory / "tmp" / f"{unique}.copy", tmp, [source.read_bytes()], 0o600
                )
            before = self._before_change()
            os.rename(tmp, self.directory / "cur" / name)
            self._after_change(before)
            fsync_directory(self.directory / "cur")
            return self._add(base, name, size, vsize, letters, idate)

    def _add(self, base: str, name: str, size: int, vsize: int, letters: str, idate: float) -> int:
        assert self._index is not None
        header = self.header
        uid = header.uidnext
        header.uidnext += 1
        header.highest_modseq += 1
        record = Record(uid, base, name, "cur", size, vsize, letters, header.highest_modseq, idate)
        with self._index.transaction() as w:
            w.add(record)
            w.set_header(header)
        self._by_uid[uid] = record
        self._by_base[base] = record
        self.recent.add(uid)  # RFC 3501 2.3.2: new to every session (APPEND, COPY)
        self._changed()
        return uid

    # -- change notification and the per-message cache ------------------------

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change (from the changing thread)."""
        with self.lock:
            self._watchers.append(callback)
            if self._polled is None:
                # what the index last matched: mail dropped since then (even
                # before the first poll) wakes the watcher at the next poll
                self._polled = (self._stamps["new"] or 0, self._stamps["cur"] or 0)

    def unwatch(self, callback: Callable[[], None]) -> None:
        with self.lock, contextlib.suppress(ValueError):
            self._watchers.remove(callback)

    def in_step(self) -> bool:
        """True when a sync would find nothing: both directories as last
        seen and nothing in ``new/`` to move (two ``stat`` calls)."""
        if self._index is None or self._has_new():
            return False
        for sub in ("new", "cur"):
            stamp = self._stamps[sub]
            if stamp is None or stamp != _mtime_ns(self.directory / sub):
                return False
        return True

    def poll(self) -> None:
        """Wake the watchers if ``new/`` or ``cur/`` changed since the last
        poll (mail dropped by another program). Two ``stat`` calls; only
        for folders someone watches."""
        if not self._watchers:
            return
        try:
            stamps = (_mtime_ns(self.directory / "new"), _mtime_ns(self.directory / "cur"))
        except FileNotFoundError:
            return
        if stamps != self._polled:
            self._polled = stamps
            self.changed_outside()

    def changed_outside(self) -> None:
        """Something outside this object (a delivery) changed the Maildir."""
        with self.lock:
            self._stamps["new"] = None
            watchers = list(self._watchers)
        for callback in watchers:
            callback()

    def _changed(self) -> None:
        self.version += 1
        for callback in list(self._watchers):
            if callback is not self.origin:  # the session that made the change knows
                callback()

    def cached(self, uid: int, key: str) -> Any:
        entry = self._cache.get(uid)
        return None if entry is None else entry.get(key)

    def remember(self, uid: int, key: str, value: Any) -> None:
        """Keep ``value`` (JSON-serialisable) for ``uid``; written to the
        index at the next sync or close."""
        with self.lock:
            if uid in self._by_uid:
                self._cache.setdefault(uid, {})[key] = value
                self._cache_dirty.add(uid)

    def _flush_cache(self) -> None:
        if not self._cache_dirty or self._index is None:
            return
        dirty, self._cache_dirty = self._cache_dirty, set()
        with self._index.transaction() as w:
            for uid in dirty:
                if uid in self._cache:
                    w.store_cache(uid, self._cache[uid])

    # -- keywords (Dovecot's dovecot-keywords) -------------------------------

    def _load_keywords(self) -> None:
        path = self.directory / KEYWORDS_FILE
        try:
            mtime = _mtime_ns(path)
        except FileNotFoundError:
            self._keywords, self._keywords_mtime = [], None
            return
        if mtime != self._keywords_mtime:
            self._keywords = parse_keywords(path.read_text("utf-8", errors="replace"))
            self._keywords_mtime = mtime

    def _save_keywords(self, keywords: list[str]) -> None:
        path = self.directory / KEYWORDS_FILE
        atomic_write(path, format_keywords(keywords).encode("utf-8"), 0o600)
        self._keywords = list(keywords)
        self._keywords_mtime = _mtime_ns(path)

    def close(self) -> None:
        with self.lock:
            if self._index is not None:
                with contextlib.suppress(IndexDamaged, OSError):
                    self._flush_cache()
                self._index.close()
                self._index = None
