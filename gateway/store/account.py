"""The IMAP side of the store: a user's folders, and a session's open folder.

:class:`Account` implements :class:`~gateway.interfaces.IMailAccount` over
one user's Maildir++ (folders are ``.Name`` directories, subscriptions in
Dovecot's ``subscriptions`` file: version 2, names in modified UTF-7 with
TAB as hierarchy separator). :class:`Selected` implements
:class:`~gateway.interfaces.ISelectedFolder`: one session's snapshot with
its own sequence numbers, brought up to date only when the session asks
(RFC 3501 5.5, 7.4.1).

Folder layout follows Dovecot: creating ``A.B`` creates only ``.A.B``; the
parent ``A`` is listed as ``\\Noselect \\HasChildren`` until it is created
itself; a folder with children cannot be deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from gateway.fsutil import atomic_write, fsync_directory
from gateway.interfaces import IMailAccount, ISelectedFolder
from gateway.store.filenames import LETTER_FLAGS, to_crlf, to_lf
from gateway.store.folder import Folder
from gateway.store.folders import (
    INBOX,
    SEPARATOR,
    SPECIAL_USE,
    BadFolderName,
    folder_directory,
    folder_name,
    is_inbox,
)
from gateway.store.imapview import (
    Changes,
    CopyResult,
    FolderError,
    FolderInfo,
    FolderStatus,
    MessageInfo,
)
from gateway.store.index import Record
from gateway.store.maildir import ensure_maildir
from gateway.store.mailstore import INLINE_READ

if TYPE_CHECKING:
    from gateway.store.mailstore import MailStore
T = TypeVar("T")
SEEN = LETTER_FLAGS["S"]
DELETED = LETTER_FLAGS["T"]
SUBSCRIPTIONS = "subscriptions"
_SUBSCRIPTIONS_HEADER = "V\t2\n\n"
# Deleted folders are renamed to this prefix first: never listed (".." is
# not a folder name), removed right after.
_TRASHED = "..mailgateway-deleted-"


def _unique(clock: Callable[[], float] = time.time) -> str:
    """A Maildir unique name for a message we create (APPEND, COPY)."""
    now = clock()
    sec, usec = int(now), int((now % 1) * 1_000_000)
    return f"{sec}.M{usec}P{os.getpid()}Q{uuid.uuid4().hex[:12]}.mailgateway"


def _encoded(name: str) -> str:
    """``name`` in modified UTF-7 (the form on disk and in subscriptions)."""
    return name.encode("imap4-utf-7").decode("ascii")


@implementer(IMailAccount)
class Account:
    """One logged-in user's folders (blocking work runs in the store's pool)."""

    def __init__(self, store: MailStore, maildir: Path) -> None:
        self.store = store
        self.root = maildir
        self._lock = threading.Lock()  # folder tree changes of this account

    # -- helpers -------------------------------------------------------------

    def _run(self, work: Callable[..., T], *args: Any) -> Deferred[T]:
        return self.store.run(work, *args)

    def _directory(self, name: str) -> Path:
        try:
            return folder_directory(self.root, name)
        except BadFolderName as e:
            raise FolderError(str(e), "CANNOT") from None

    def _exists(self, name: str) -> bool:
        return is_inbox(name) or (self._directory(name) / "cur").is_dir()

    def _folder(self, name: str) -> Folder:
        if not self._exists(name):
            raise FolderError(f"Mailbox doesn't exist: {name}", "NONEXISTENT")
        return self.store.folder(self.root, INBOX if is_inbox(name) else name)

    def _names(self) -> list[str]:
        """Every existing folder but INBOX, Unicode, sorted."""
        names = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if not entry.name.startswith(".") or entry.name.startswith(".."):
                    continue
                if not entry.is_dir():
                    continue
                with contextlib.suppress(BadFolderName):
                    names.append(folder_name(entry.name))
        return sorted(names)

    def _subscriptions(self) -> list[str]:
        try:
            text = (self.root / SUBSCRIPTIONS).read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        lines = text.split("\n")
        if lines and lines[0].startswith("V\t"):
            lines = lines[2:]
        out = []
        for line in lines:
            if not line:
                continue
            encoded = line.replace("\t", SEPARATOR)
            with contextlib.suppress(UnicodeError, ValueError):
                out.append(encoded.encode("ascii").decode("imap4-utf-7"))
        return out

    def _write_subscriptions(self, names: list[str]) -> None:
        body = "".join(_encoded(n).replace(SEPARATOR, "\t") + "\n" for n in names)
        atomic_write(self.root / SUBSCRIPTIONS, (_SUBSCRIPTIONS_HEADER + body).encode())

    # -- IMailAccount ----------------------------------------------------------

    def list_folders(self) -> Deferred[list[FolderInfo]]:
        def work() -> list[FolderInfo]:
            ensure_maildir(self.root)
            names = self._names()
            subscribed = {n.upper() if is_inbox(n) else n for n in self._subscriptions()}
            existing = set(names)
            every = set(names)
            for name in names:  # parents that exist only through children
                parts = name.split(SEPARATOR)
                for i in range(1, len(parts)):
                    every.add(SEPARATOR.join(parts[:i]))
            children = {n.rsplit(SEPARATOR, 1)[0] for n in every if SEPARATOR in n}
            out = [
                FolderInfo(
                    INBOX,
                    has_children=INBOX in children,
                    subscribed=INBOX in subscribed,
                )
            ]
            for name in sorted(every):
                if is_inbox(name):
                    continue
                out.append(
                    FolderInfo(
                        name,
                        selectable=name in existing,
                        has_children=name in children,
                        subscribed=name in subscribed,
                        special_use=SPECIAL_USE.get(name),
                    )
                )
            return out

        return self._run(work)

    def create(self, name: str) -> Deferred[None]:
        def work() -> None:
            if is_inbox(name):
                raise FolderError("INBOX already exists", "ALREADYEXISTS")
            directory = self._directory(name)
            with self._lock:
                if (directory / "cur").is_dir():
                    raise FolderError(f"Mailbox already exists: {name}", "ALREADYEXISTS")
                ensure_maildir(self.root)
                directory.mkdir(mode=0o700, exist_ok=True)
                for sub in ("cur", "new", "tmp"):
                    (directory / sub).mkdir(mode=0o700, exist_ok=True)
                (directory / "maildirfolder").touch(mode=0o600)
                fsync_directory(directory)
                fsync_directory(self.root)

        return self._run(work)

    def delete(self, name: str) -> Deferred[None]:
        def work() -> None:
            if is_inbox(name):
                raise FolderError("INBOX can't be deleted", "CANNOT")
            directory = self._directory(name)
            with self._lock:
                prefix = directory.name + SEPARATOR
                if any(n.startswith(prefix) for n in os.listdir(self.root)):
                    raise FolderError(f"Mailbox has children, delete them first: {name}", "INUSE")
                if not directory.is_dir():
                    raise FolderError(f"Mailbox doesn't exist: {name}", "NONEXISTENT")
                self.store.forget(directory)
                trashed = self.root / f"{_TRASHED}{uuid.uuid4().hex}"
                os.rename(directory, trashed)
                fsync_directory(self.root)
                shutil.rmtree(trashed, ignore_errors=True)
                self._set_subscribed(name, False)

        return self._run(work)

    def rename(self, old: str, new: str) -> Deferred[None]:
        def work() -> None:
            if is_inbox(new):
                raise FolderError("Can't rename to INBOX", "ALREADYEXISTS")
            target = self._directory(new)
            with self._lock:
                if target.is_dir():
                    raise FolderError(f"Mailbox already exists: {new}", "ALREADYEXISTS")
                if is_inbox(old):
                    self._rename_inbox(new, target)
                    return
                source = self._directory(old)
                if not source.is_dir():
                    raise FolderError(f"Mailbox doesn't exist: {old}", "NONEXISTENT")
                prefix = source.name + SEPARATOR
                moves = [(source, target)] + [
                    (self.root / n, self.root / (target.name + n[len(source.name) :]))
                    for n in sorted(os.listdir(self.root))
                    if n.startswith(prefix)
                ]
                for src, _dst in moves:
                    self.store.forget(src)
                for src, dst in moves:  # children move along (RFC 3501 6.3.5)
                    os.rename(src, dst)
                fsync_directory(self.root)
                subscribed = self._subscriptions()
                renamed = [
                    new + s[len(old) :] if s == old or s.startswith(old + SEPARATOR) else s
                    for s in subscribed
                ]
                if renamed != subscribed:
                    self._write_subscriptions(renamed)

        return self._run(work)

    def _rename_inbox(self, new: str, target: Path) -> None:
        """RFC 3501 6.3.5: INBOX's messages move to a new folder; INBOX stays, empty."""
        inbox = self.store.folder(self.root, INBOX)
        for sub in ("cur", "new", "tmp"):
            (target / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        (target / "maildirfolder").touch(mode=0o600)
        with inbox.lock:
            inbox.sync()
            moved = []
            for record in inbox.messages():
                with contextlib.suppress(FileNotFoundError):
                    os.rename(
                        self.root / record.subdir / record.name,
                        target / record.subdir / record.name,
                    )
                    moved.append(record.uid)
            fsync_directory(target / "cur")
            fsync_directory(target / "new")
            inbox.sync()
        fsync_directory(self.root)

    def subscribe(self, name: str, subscribed: bool) -> Deferred[None]:
        def work() -> None:
            self._directory(name)  # a valid name
            with self._lock:
                self._set_subscribed(name, subscribed)

        return self._run(work)

    def _set_subscribed(self, name: str, subscribed: bool) -> None:
        name = INBOX if is_inbox(name) else name
        names = self._subscriptions()
        if subscribed and name not in names:
            self._write_subscriptions([*names, name])
        elif not subscribed and name in names:
            self._write_subscriptions([n for n in names if n != name])

    def status(self, name: str) -> Deferred[FolderStatus]:
        def work() -> FolderStatus:
            folder = self._folder(name)
            with folder.lock:
                folder.sync()
                records = folder.messages()
                unseen = sum(1 for r in records if SEEN not in folder.flags(r))
                # RFC 3501 6.3.10: \Recent in any session, or in none yet
                recent = sum(
                    1 for r in records if r.uid in folder.recent or r.uid in folder.claimed
                )
                h = folder.header
                return FolderStatus(
                    len(records), recent, h.uidnext, h.uidvalidity, unseen, h.highest_modseq
                )

        return self._run(work)

    def append(
        self, name: str, data: bytes, flags: frozenset[str], date: float | None
    ) -> Deferred[CopyResult]:
        def work() -> CopyResult:
            if not self._exists(name):
                raise FolderError(f"Mailbox doesn't exist: {name}", "TRYCREATE")
            folder = self._folder(name)
            content = to_lf(data)
            self.store.check_quota(self.root, len(content))
            uid = folder.append(
                content, flags, date if date is not None else time.time(), _unique()
            )
            self.store.quota_added(self.root, len(content))
            return CopyResult(folder.header.uidvalidity, (), (uid,))

        return self._run(work)

    def select(self, name: str, readonly: bool) -> Deferred[ISelectedFolder]:
        def work() -> Selected:
            ensure_maildir(self.root)
            folder = self._folder(name)
            display = INBOX if is_inbox(name) else name
            return Selected(self, folder, display, readonly)

        return self._run(work)


@implementer(ISelectedFolder)
class Selected:
    """One session's open folder (see ISelectedFolder)."""

    def __init__(self, account: Account, folder: Folder, name: str, readonly: bool) -> None:
        self.account = account
        self.folder = folder
        self.name = name
        self.readonly = readonly
        self._watcher: Callable[[], None] | None = None
        self._claimed: set[int] = set()  # the \Recent messages of this session
        self._notify: Callable[[], None] | None = None
        self.messages: list[MessageInfo] = []
        self._modseq: dict[int, int] = {}
        with folder.lock:
            folder.sync(move_new=not readonly)
            self._refresh_header()
            for record in folder.messages():
                info = self._info(record, claim=not readonly)
                self.messages.append(info)
                self._modseq[info.uid] = record.modseq

    # -- snapshot ------------------------------------------------------------

    def _refresh_header(self) -> None:
        h = self.folder.header
        self.uidvalidity = h.uidvalidity
        self.uidnext = h.uidnext
        self.highest_modseq = h.highest_modseq
        self.keywords = self.folder.keywords

    def _info(self, record: Record, claim: bool) -> MessageInfo:
        recent = False
        if claim and record.uid in self.folder.recent:
            self.folder.recent.discard(record.uid)  # \Recent for one session only
            self.folder.claimed.add(record.uid)
            self._claimed.add(record.uid)
            recent = True
        return MessageInfo(
            record.uid,
            self.folder.flags(record),
            record.vsize,
            record.idate,
            record.modseq,
            recent,
        )

    def changes(self) -> Deferred[Changes]:
        # In step (the usual case between commands): answer here, no thread.
        return self._here_or_pool(self._changes, cheap=self.folder.in_step)

    def _here_or_pool(
        self, work: Callable[[], T], cheap: Callable[[], bool] | None = None
    ) -> Deferred[T]:
        """Run ``work`` in the calling (reactor) thread when the folder's lock
        is free (and ``cheap()`` says it will not list a directory), else in
        the pool: a flag change or an in-step sync is a rename and a SQLite
        commit, far cheaper than a thread hand-off; a session never waits
        behind another folder's work."""
        folder = self.folder
        if folder.lock.acquire(blocking=False):
            try:
                if cheap is None or cheap():
                    try:
                        return succeed(work())
                    except Exception:
                        return fail()
            finally:
                folder.lock.release()
        return self.account.store.run(work)

    def _changes(self) -> Changes:
        folder = self.folder
        with folder.lock:
            folder.sync(move_new=not self.readonly)
            current = {r.uid: r for r in folder.messages()}
            known = {m.uid for m in self.messages}
            expunged = tuple(m.uid for m in self.messages if m.uid not in current)
            flags: list[MessageInfo] = []
            kept: list[MessageInfo] = []
            for message in self.messages:
                record = current.get(message.uid)
                if record is None:
                    continue
                if record.modseq != self._modseq.get(message.uid):
                    message = MessageInfo(
                        record.uid,
                        folder.flags(record),
                        record.vsize,
                        record.idate,
                        record.modseq,
                        message.recent,
                    )
                    self._modseq[record.uid] = record.modseq
                    flags.append(message)
                kept.append(message)
            added = [
                self._info(current[uid], claim=not self.readonly)
                for uid in sorted(current)
                if uid not in known
            ]
            for info in added:
                self._modseq[info.uid] = info.modseq
            for uid in expunged:
                self._modseq.pop(uid, None)
            self.messages = kept + added
            self._refresh_header()
            return Changes(expunged, tuple(added), tuple(flags))

    def watch(self, callback: object) -> None:
        reactor = self.account.store.reactor
        if self._watcher is not None:
            self.folder.unwatch(self._watcher)
            self._watcher = None
        if callback is None:
            return
        assert callable(callback)
        notify: Callable[[], None] = callback

        def from_any_thread() -> None:
            reactor.callFromThread(notify)

        self._watcher = from_any_thread
        self.folder.watch(from_any_thread)

    # -- reading -------------------------------------------------------------

    def read(self, uid: int) -> Deferred[bytes]:
        record = self.folder.record(uid)
        if record is not None and record.size <= INLINE_READ:
            data = self.folder.read_nowait(uid)
            if data is not None:
                return succeed(to_crlf(data))
        return self.account.store.run(lambda: to_crlf(self.folder.read(uid)))

    def read_header(self, uid: int) -> Deferred[bytes]:
        data = self.folder.read_header_nowait(uid)
        if data is not None:
            return succeed(to_crlf(data))
        return self.read(uid)

    def cached(self, uid: int, key: str) -> object:
        return self.folder.cached(uid, key)

    def remember(self, uid: int, key: str, value: object) -> None:
        self.folder.remember(uid, key, value)

    # -- changing ------------------------------------------------------------

    def _writable(self) -> None:
        if self.readonly:
            raise FolderError("Mailbox is read-only (EXAMINE)", "READ-ONLY")

    def store(
        self, uids: list[int], mode: str, flags: frozenset[str], unchanged_since: int | None
    ) -> Deferred[tuple[list[MessageInfo], list[int]]]:
        def work() -> tuple[list[MessageInfo], list[int]]:
            self._writable()
            folder = self.folder
            with folder.lock:
                folder.origin = self._watcher
                mine = {m.uid: i for i, m in enumerate(self.messages)}
                refused = []
                targets = []
                for uid in uids:
                    if uid not in mine:
                        continue
                    current = folder.record(uid)
                    if current is None:
                        continue
                    if unchanged_since is not None and current.modseq > unchanged_since:
                        refused.append(uid)  # RFC 7162 3.1.3: MODIFIED
                    else:
                        targets.append(uid)

                def change(old: frozenset[str]) -> frozenset[str]:
                    if mode == "+":
                        return old | flags
                    if mode == "-":
                        return old - flags
                    return flags

                try:
                    folder.set_flags(targets, change)
                except ValueError as e:
                    raise FolderError(str(e), "LIMIT") from None
                finally:
                    folder.origin = None
                out = []
                for uid in targets:
                    record = folder.record(uid)
                    if record is None:
                        continue
                    i = mine[uid]
                    old = self.messages[i]
                    info = MessageInfo(
                        uid,
                        folder.flags(record),
                        old.size,
                        old.internal_date,
                        record.modseq,
                        old.recent,
                    )
                    self.messages[i] = info
                    self._modseq[uid] = record.modseq
                    out.append(info)
                self._refresh_header()
                return out, refused

        return self._here_or_pool(work)

    def copy(self, uids: list[int], dest: str, move: bool) -> Deferred[CopyResult]:
        def work() -> CopyResult:
            if move:
                self._writable()
            account = self.account
            if not account._exists(dest):
                raise FolderError(f"Mailbox doesn't exist: {dest}", "TRYCREATE")
            target = account._folder(dest)
            source = self.folder
            pairs: list[tuple[int, int]] = []
            with source.lock:
                records = [r for u in sorted(uids) if (r := source.record(u)) is not None]
                size = sum(r.size for r in records)
                account.store.check_quota(account.root, size)
                for record in records:
                    path = source.directory / record.subdir / record.name
                    new_uid = target.add_copy(
                        path,
                        record.size,
                        record.vsize,
                        source.flags(record),
                        record.idate,
                        _unique(),
                    )
                    pairs.append((record.uid, new_uid))
                account.store.quota_added(account.root, size)
                if move:
                    source.expunge([u for u, _ in pairs])
            return CopyResult(
                target.header.uidvalidity, tuple(u for u, _ in pairs), tuple(n for _, n in pairs)
            )

        return self.account.store.run(work)

    def expunge(self, uids: list[int] | None) -> Deferred[list[int]]:
        def work() -> list[int]:
            self._writable()
            folder = self.folder
            with folder.lock:
                wanted = None if uids is None else set(uids)
                doomed = [
                    r.uid
                    for r in folder.messages()
                    if DELETED in folder.flags(r) and (wanted is None or r.uid in wanted)
                ]
                removed = folder.expunge(doomed)
            if removed:
                self.account.store.removed_from(self.account.root)
            return removed

        return self.account.store.run(work)

    def close(self) -> None:
        self.watch(None)
        with self.folder.lock:  # this session's \Recent messages are recent no more
            self.folder.claimed -= self._claimed
        self._claimed = set()
