"""An in-memory IMailAccountOpener / IMailAccount / ISelectedFolder (not a test module).

Folders are shared by every session of a user, so several sessions (and
``deliver`` from a test) see each other's changes through ``changes()``
and ``watch``, as they would with the real store. Everything fires
synchronously unless ``hold`` is set on the store.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from gateway.interfaces import IMailAccount, IMailAccountOpener, IMailUser, ISelectedFolder
from gateway.store.imapview import (
    Changes,
    CopyResult,
    FolderError,
    FolderInfo,
    FolderStatus,
    MessageInfo,
)

_uidvalidity = itertools.count(1_700_000_000)


@dataclass
class StoredMessage:
    uid: int
    data: bytes
    flags: frozenset[str]
    internal_date: float
    modseq: int
    recent_for: object | None = None  # the view that has it as \Recent

    def info(self, view: object) -> MessageInfo:
        return MessageInfo(
            self.uid,
            self.flags,
            len(self.data),
            self.internal_date,
            self.modseq,
            self.recent_for is view,
        )


@dataclass
class FolderData:
    name: str
    uidvalidity: int = field(default_factory=lambda: next(_uidvalidity))
    uidnext: int = 1
    highest_modseq: int = 1
    messages: list[StoredMessage] = field(default_factory=list)
    keywords: set[str] = field(default_factory=set)
    subscribed: bool = False
    special_use: str | None = None
    selectable: bool = True
    views: list[FakeSelected] = field(default_factory=list)
    cache: dict[tuple[int, str], object] = field(default_factory=dict)

    def add(self, data: bytes, flags: frozenset[str], date: float) -> StoredMessage:
        self.highest_modseq += 1
        msg = StoredMessage(self.uidnext, data, flags, date, self.highest_modseq)
        self.uidnext += 1
        self.messages.append(msg)
        self.keywords.update(f for f in flags if not f.startswith("\\"))
        return msg

    def notify(self, source: object | None) -> None:
        for view in list(self.views):
            if view is not source and view.callback is not None:
                view.callback()


class FakeStore:
    """The store of every user: ``accounts[user][folder name]``."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, FolderData]] = {}
        self.reads: list[int] = []  # UIDs read, in order
        self.header_reads: list[int] = []  # UIDs whose header alone was read
        self.now = 1_800_000_000.0
        self.broken = False

    def folders(self, user: str) -> dict[str, FolderData]:
        if user not in self.accounts:
            inbox = FolderData("INBOX", subscribed=True)
            self.accounts[user] = {"INBOX": inbox}
            for name, use in (("Sent", "\\Sent"), ("Trash", "\\Trash")):
                self.accounts[user][name] = FolderData(name, subscribed=True, special_use=use)
        return self.accounts[user]

    def deliver(
        self, user: str, data: bytes, flags: frozenset[str] = frozenset(), folder: str = "INBOX"
    ) -> int:
        """A delivery by someone else (the delivery agent)."""
        f = self.folders(user)[folder]
        msg = f.add(data, flags, self.now)
        f.notify(None)
        return msg.uid


@implementer(IMailAccountOpener)
class FakeOpener:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.opened: list[FakeAccount] = []

    def open_account(self, user: object) -> IMailAccount:
        assert IMailUser.providedBy(user)
        account = FakeAccount(self.store, str(user.address))  # type: ignore[attr-defined]
        self.opened.append(account)
        return account


def _lookup(folders: dict[str, FolderData], name: str) -> FolderData:
    f = folders.get(name)
    if f is None or not f.selectable:
        raise FolderError(f"Mailbox doesn't exist: {name}", "NONEXISTENT")
    return f


@implementer(IMailAccount)
class FakeAccount:
    def __init__(self, store: FakeStore, user: str) -> None:
        self.store = store
        self.user = user

    @property
    def folders(self) -> dict[str, FolderData]:
        return self.store.folders(self.user)

    def _call(self, f: Callable[[], Any]) -> Deferred[Any]:
        if self.store.broken:
            return fail(OSError("disk on fire"))
        try:
            return succeed(f())
        except Exception as e:
            return fail(e)

    def list_folders(self) -> Deferred[list[object]]:
        def listing() -> list[object]:
            names = sorted(self.folders, key=lambda n: (n != "INBOX", n))
            return [
                FolderInfo(
                    n,
                    self.folders[n].selectable,
                    any(o.startswith(n + ".") for o in self.folders),
                    self.folders[n].subscribed,
                    self.folders[n].special_use,
                )
                for n in names
            ]

        return self._call(listing)

    def create(self, name: str) -> Deferred[None]:
        def create() -> None:
            existing = self.folders.get(name)
            if existing is not None and existing.selectable:
                raise FolderError("Mailbox already exists", "ALREADYEXISTS")
            parts = name.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                self.folders.setdefault(parent, FolderData(parent))
            if existing is not None:
                existing.selectable = True
            else:
                self.folders[name] = FolderData(name)

        return self._call(create)

    def delete(self, name: str) -> Deferred[None]:
        def delete() -> None:
            if name not in self.folders:
                raise FolderError(f"Mailbox doesn't exist: {name}", "NONEXISTENT")
            if any(o.startswith(name + ".") for o in self.folders):
                self.folders[name].selectable = False
                self.folders[name].messages.clear()
            else:
                del self.folders[name]

        return self._call(delete)

    def rename(self, old: str, new: str) -> Deferred[None]:
        def rename() -> None:
            if old not in self.folders:
                raise FolderError(f"Mailbox doesn't exist: {old}", "NONEXISTENT")
            if new in self.folders:
                raise FolderError("Target mailbox already exists", "ALREADYEXISTS")
            if old == "INBOX":
                inbox = self.folders["INBOX"]
                moved = FolderData(new, messages=inbox.messages, uidnext=inbox.uidnext)
                self.folders[new] = moved
                inbox.messages = []
                return
            for name in list(self.folders):
                if name == old or name.startswith(old + "."):
                    data = self.folders.pop(name)
                    data.name = new + name[len(old) :]
                    self.folders[data.name] = data

        return self._call(rename)

    def subscribe(self, name: str, subscribed: bool) -> Deferred[None]:
        def subscribe() -> None:
            _lookup(self.folders, name).subscribed = subscribed

        return self._call(subscribe)

    def status(self, name: str) -> Deferred[object]:
        def status() -> FolderStatus:
            f = _lookup(self.folders, name)
            return FolderStatus(
                messages=len(f.messages),
                recent=sum(1 for m in f.messages if m.recent_for is None),
                uidnext=f.uidnext,
                uidvalidity=f.uidvalidity,
                unseen=sum(1 for m in f.messages if "\\Seen" not in m.flags),
                highest_modseq=f.highest_modseq,
            )

        return self._call(status)

    def append(
        self, name: str, data: bytes, flags: frozenset[str], date: float | None
    ) -> Deferred[object]:
        def append() -> CopyResult:
            f = self.folders.get(name)
            if f is None:
                raise FolderError("Mailbox doesn't exist", "TRYCREATE")
            msg = f.add(data, flags, date if date is not None else self.store.now)
            f.notify(None)
            return CopyResult(f.uidvalidity, (), (msg.uid,))

        return self._call(append)

    def select(self, name: str, readonly: bool) -> Deferred[ISelectedFolder]:
        return self._call(lambda: FakeSelected(self, _lookup(self.folders, name), readonly))


@implementer(ISelectedFolder)
class FakeSelected:
    def __init__(self, account: FakeAccount, data: FolderData, readonly: bool) -> None:
        self.account = account
        self.data = data
        self.readonly = readonly
        self.callback: Callable[[], None] | None = None
        self.closed = False
        data.views.append(self)
        self._claim_recent()
        self.messages: list[MessageInfo] = [m.info(self) for m in data.messages]
        self.uidnext = data.uidnext
        self.change_calls = 0

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def uidvalidity(self) -> int:
        return self.data.uidvalidity

    @property
    def highest_modseq(self) -> int:
        return self.data.highest_modseq

    @property
    def keywords(self) -> list[str]:
        return sorted(self.data.keywords)

    def _claim_recent(self) -> None:
        if not self.readonly:
            for m in self.data.messages:
                if m.recent_for is None:
                    m.recent_for = self

    def changes(self) -> Deferred[object]:
        self.change_calls += 1
        self._claim_recent()
        current = {m.uid: m for m in self.data.messages}
        known = {m.uid: m for m in self.messages}
        expunged = tuple(uid for uid in known if uid not in current)
        last = max(known, default=0)
        added = tuple(m.info(self) for m in self.data.messages if m.uid > last)
        flags = tuple(
            m.info(self)
            for uid, m in current.items()
            if uid in known and (m.flags, m.modseq) != (known[uid].flags, known[uid].modseq)
        )
        self.messages = [m.info(self) for m in self.data.messages]
        self.uidnext = self.data.uidnext
        return succeed(Changes(expunged, added, flags))

    def watch(self, callback: object) -> None:
        self.callback = callback  # type: ignore[assignment]

    def read(self, uid: int) -> Deferred[bytes]:
        self.account.store.reads.append(uid)
        for m in self.data.messages:
            if m.uid == uid:
                return succeed(m.data)
        return fail(KeyError(uid))

    def read_header(self, uid: int) -> Deferred[bytes]:
        self.account.store.header_reads.append(uid)
        for m in self.data.messages:
            if m.uid == uid:
                end = m.data.find(b"\r\n\r\n")
                return succeed(m.data if end < 0 else m.data[: end + 4])
        return fail(KeyError(uid))

    def cached(self, uid: int, key: str) -> object:
        return self.data.cache.get((uid, key))

    def remember(self, uid: int, key: str, value: object) -> None:
        self.data.cache[(uid, key)] = value

    def store(
        self, uids: list[int], mode: str, flags: frozenset[str], unchanged_since: int | None
    ) -> Deferred[tuple[list[object], list[int]]]:
        if self.readonly:
            return fail(FolderError("Mailbox is read-only", "READ-ONLY"))
        wanted = set(uids)
        infos: list[object] = []
        refused: list[int] = []
        changed = False
        for m in self.data.messages:
            if m.uid not in wanted:
                continue
            if unchanged_since is not None and m.modseq > unchanged_since:
                refused.append(m.uid)
                continue
            new = m.flags | flags if mode == "+" else m.flags - flags if mode == "-" else flags
            if new != m.flags:
                self.data.highest_modseq += 1
                m.flags = frozenset(new)
                m.modseq = self.data.highest_modseq
                self.data.keywords.update(f for f in new if not f.startswith("\\"))
                changed = True
            info = m.info(self)
            infos.append(info)
            self._update(info)
        if changed:
            self.data.notify(self)
        return succeed((infos, refused))

    def _update(self, info: MessageInfo) -> None:
        for i, known in enumerate(self.messages):
            if known.uid == info.uid:
                self.messages[i] = replace(info, recent=known.recent)

    def copy(self, uids: list[int], dest: str, move: bool) -> Deferred[object]:
        target = self.account.folders.get(dest)
        if target is None:
            return fail(FolderError("Mailbox doesn't exist", "TRYCREATE"))
        wanted = set(uids)
        sources = [m for m in self.data.messages if m.uid in wanted]
        new = [target.add(m.data, m.flags, m.internal_date).uid for m in sources]
        if move:
            self.data.messages = [m for m in self.data.messages if m.uid not in wanted]
            self.data.highest_modseq += 1
            self.data.notify(self)
        target.notify(self)
        return succeed(CopyResult(target.uidvalidity, tuple(m.uid for m in sources), tuple(new)))

    def expunge(self, uids: list[int] | None) -> Deferred[list[int]]:
        if self.readonly:
            return fail(FolderError("Mailbox is read-only", "READ-ONLY"))
        gone = [
            m.uid
            for m in self.data.messages
            if "\\Deleted" in m.flags and (uids is None or m.uid in uids)
        ]
        if gone:
            self.data.messages = [m for m in self.data.messages if m.uid not in gone]
            self.data.highest_modseq += 1
            self.data.notify(self)
        return succeed(gone)

    def close(self) -> None:
        self.closed = True
        self.callback = None
        if self in self.data.views:
            self.data.views.remove(self)
