"""The read side of the store: folders shared by every session, POP3 maildrops.

:class:`MailStore` hands out one :class:`~gateway.store.folder.Folder` per
directory, so delivery, POP3 and IMAP sessions of a mailbox see one state,
and runs the blocking folder work in the thread pool. It implements
:class:`~gateway.interfaces.IMaildropOpener` for POP3.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from zope.interface import implementer

from gateway.errors import GatewayError
from gateway.interfaces import (
    IMailAccount,
    IMailAccountOpener,
    IMaildrop,
    IMaildropOpener,
    IMailUser,
    MaildropInUse,
)
from gateway.store.filenames import LETTER_FLAGS, to_crlf
from gateway.store.folder import Folder
from gateway.store.folders import folder_directory
from gateway.store.imapview import FolderError
from gateway.store.maildir import ensure_maildir
from gateway.store.pop3view import MaildropMessage

if TYPE_CHECKING:
    from collections.abc import Callable

    from twisted.internet.interfaces import IReactorThreads
    from twisted.python.threadpool import ThreadPool

    from gateway.store.quota import QuotaChecker

log = Logger()
T = TypeVar("T")
SEEN = LETTER_FLAGS["S"]
# Messages up to this size are read in the calling (reactor) thread: from
# the page cache that is a few microseconds, against a thread hand-off per
# RETR. Larger ones, and any that moved, are read in the pool.
INLINE_READ = 256 * 1024


def pop3_uidl(uid: int, uidvalidity: int) -> str:
    """RFC 1939 7 unique-id: Dovecot's default ``%08Xu%08Xv``.

    The same text as Dovecot 2.3 sends (lower-case hex, as observed on the
    wire), so mailboxes taken over with their ``dovecot-uidlist`` keep their
    UIDLs and POP3 clients that leave mail on the server do not fetch again.
    """
    return f"{uid:08x}{uidvalidity:08x}"


@implementer(IMaildropOpener, IMailAccountOpener)
class MailStore:
    """Folders of all users' Maildirs, one object per directory."""

    def __init__(
        self,
        reactor: IReactorThreads,
        pool: ThreadPool,
        removed: Callable[[Path], None] | None = None,
        quota: QuotaChecker | None = None,
    ) -> None:
        """``removed(maildir)`` is told when messages of a mailbox were
        deleted (the quota checker forgets its cached usage); ``quota``
        limits what IMAP APPEND and COPY may add."""
        self.removed = removed
        self.quota = quota
        self.reactor = reactor
        self._reactor = reactor
        self._pool = pool
        self._lock = threading.Lock()
        self._folders: dict[Path, Folder] = {}
        self._pop3_locked: set[Path] = set()

    def folder(self, maildir: Path, name: str = "INBOX") -> Folder:
        directory = folder_directory(maildir, name)
        with self._lock:
            folder = self._folders.get(directory)
            if folder is None:
                folder = self._folders[directory] = Folder(directory)
            return folder

    def run(self, work: Callable[..., T], *args: Any) -> Deferred[T]:
        """``work(*args)`` in the thread pool."""
        return deferToThreadPool(self._reactor, self._pool, work, *args)

    def forget(self, directory: Path) -> None:
        """Drop the Folder of ``directory`` (deleted or renamed away)."""
        with self._lock:
            folder = self._folders.pop(directory, None)
        if folder is not None:
            folder.close()

    def poll_watched(self) -> None:
        """Look for outside changes in every folder a session watches (IMAP
        IDLE, or a selected folder): run it in the pool every second or so."""
        with self._lock:
            folders = list(self._folders.values())
        for folder in folders:
            folder.poll()

    def delivered(self, directory: Path) -> None:
        """A delivery wrote into the folder in ``directory`` (a Maildir root
        for its INBOX, or a folder's dot-directory such as ``.Junk``): wake
        its watchers (IMAP IDLE, a session that has it selected) without
        waiting for a poll. Any thread."""
        with self._lock:
            folder = self._folders.get(directory)
        if folder is not None:
            folder.changed_outside()

    # -- quota for IMAP APPEND / COPY (blocking; call in the pool) -----------

    def check_quota(self, maildir: Path, size: int) -> None:
        if self.quota is None:
            return
        user = f"{maildir.name}@{maildir.parent.name}"
        try:
            self.quota.check(user, maildir, size)
        except GatewayError as e:
            raise FolderError(f"Quota exceeded: {e.text}", "OVERQUOTA") from None

    def quota_added(self, maildir: Path, size: int) -> None:
        if self.quota is not None:
            self.quota.added(maildir, size)

    def removed_from(self, maildir: Path) -> None:
        if self.removed is not None:
            self.removed(maildir)

    # -- IMAP (IMailAccountOpener) -------------------------------------------

    def open_account(self, user: IMailUser) -> IMailAccount:
        from gateway.store.account import Account

        return Account(self, user.maildir)

    def close(self) -> None:
        with self._lock:
            for folder in self._folders.values():
                folder.close()
            self._folders.clear()

    # -- POP3 (IMaildropOpener) --------------------------------------------

    def open_maildrop(self, user: IMailUser) -> Deferred[IMaildrop]:
        """RFC 1939 4: lock the INBOX for this POP3 session and snapshot it."""
        maildir: Path = user.maildir
        with self._lock:
            if maildir in self._pop3_locked:
                return fail(MaildropInUse(f"{user.address}: maildrop already locked"))
            self._pop3_locked.add(maildir)

        def snapshot() -> Maildrop:
            ensure_maildir(maildir)
            folder = self.folder(maildir)
            folder.sync(move_new=True)
            uidvalidity = folder.header.uidvalidity
            records = folder.messages()
            listing = tuple(
                MaildropMessage(pop3_uidl(r.uid, uidvalidity), r.vsize) for r in records
            )
            files = tuple(f"{r.subdir}/{r.name}" for r in records)
            return Maildrop(self, maildir, folder, [r.uid for r in records], listing, files)

        def failed(failure: Any) -> Any:
            self._unlock(maildir)
            return failure

        return self.run(snapshot).addErrback(failed)

    def _unlock(self, maildir: Path) -> None:
        with self._lock:
            self._pop3_locked.discard(maildir)


@implementer(IMaildrop)
class Maildrop:
    """One POP3 session's snapshot of an INBOX (see IMaildrop)."""

    def __init__(
        self,
        store: MailStore,
        maildir: Path,
        folder: Folder,
        uids: list[int],
        messages: tuple[MaildropMessage, ...],
        files: tuple[str, ...] = (),
    ) -> None:
        self._store = store
        self._maildir = maildir
        self._folder = folder
        self._uids = uids
        self.messages = messages
        # where each message's file was at the snapshot ("cur/<name>"),
        # for a worker process reading it (gateway.store.remote)
        self.files = files
        self._released = False

    def retrieve_nowait(self, index: int) -> bytes | None:
        if self.messages[index].size > INLINE_READ:
            return None
        data = self._folder.read_nowait(self._uids[index])
        return None if data is None else to_crlf(data)

    def retrieve(self, index: int) -> Deferred[bytes]:
        data = self.retrieve_nowait(index)
        if data is not None:
            return succeed(data)
        uid = self._uids[index]
        return self._store.run(lambda: to_crlf(self._folder.read(uid)))

    def commit(self, deleted: frozenset[int], retrieved: frozenset[int]) -> Deferred[None]:
        """RFC 1939 6: remove ``deleted`` and flag ``retrieved`` \\Seen, then unlock."""
        folder = self._folder
        gone = [self._uids[i] for i in sorted(deleted)]
        seen = [self._uids[i] for i in sorted(retrieved - deleted)]

        def update() -> None:
            with folder.lock:  # other sessions see all of it or none
                if seen:
                    folder.set_flags(seen, lambda flags: flags | {SEEN})
                if folder.expunge(gone):
                    self._store.removed_from(self._maildir)

        d = self._store.run(update)
        d.addBoth(self._release_passing)
        return d

    def _release_passing(self, result: T) -> T:
        self.release()
        return result

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._store._unlock(self._maildir)
