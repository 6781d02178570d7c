"""The zope.interface contracts between the parts of the gateway.

This is a leaf module: it imports only value types, so every part can depend
on it without import cycles. Protocols (SMTP, POP3, IMAP, X.400 channels)
talk to the bus and the store only through these interfaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from twisted.internet.defer import Deferred

    from gateway.envelope import Address, Envelope
    from gateway.store.imapview import (
        Changes,
        CopyResult,
        FolderInfo,
        FolderStatus,
        MessageInfo,
    )


class IMessageBus(Interface):
    """Where every ingress hands over a message."""

    def submit(
        envelope: Envelope,
        content: bytes,
        qid: str | None = None,
        events: Sequence[Mapping[str, Any]] = (),
    ) -> Deferred[str]:
        """Queue a message durably.

        ``qid`` lets an ingress that may hand the same message over twice
        (after a crash) make submission idempotent: a queue id the bus
        already knows is not queued again. ``events`` are written into the
        message's history with it (what the ingress checked).

        The Deferred fires with the queue id only once content and envelope
        are on disk (file and directory fsynced). It fails with a temporary
        :class:`gateway.errors.GatewayError` (452 4.3.1) when the spool cannot
        take the message; the caller must then not acknowledge it.
        """


class IUserDirectory(Interface):
    """The local users (the ``users`` passwd-file)."""

    def exists(address: Address) -> bool:
        """True if ``address`` is a local user (case-insensitive local part)."""

    def canonical(address: Address) -> Address | None:
        """The user's address as written in the users file, or None."""

    def password_hash(username: str) -> str | None:
        """The stored ``{SCHEME}hash`` for ``username``, or None."""

    def refresh() -> None:
        """Check the backing store now; lookups may otherwise lag a moment."""


class IAliasTable(Interface):
    """The ``aliases`` file: one level of alias expansion."""

    def targets(address: Address) -> tuple[Address, ...] | None:
        """The direct targets of ``address``, or None if it is no alias."""

    def refresh() -> None:
        """Check the backing store now; lookups may otherwise lag a moment."""


class ILocalStore(Interface):
    """Writes delivered messages into users' Maildirs."""

    def deliver(
        user: Address,
        content: bytes,
        prefix: bytes,
        unique: str,
        check_cur: bool = False,
        folder: str = "INBOX",
    ) -> Deferred[str]:
        """Deliver ``prefix + content`` into ``folder`` of ``user``: the
        INBOX, or another folder by its Unicode IMAP name (``"Junk"`` for
        suspect mail), which is created (and subscribed) if it is missing.

        ``unique`` is a deterministic name for this (message, recipient)
        pair: if a message of that name is already in the folder (a crash
        after the write, before the outcome was recorded) nothing is written
        again. ``new/`` is always checked; ``cur/`` (where a reader may have
        moved it) only when ``check_cur`` is set, which the bus does for
        messages recovered after a restart. The quota counts the whole
        mailbox. Fires with the file's path once it is durable.
        """


class IMailUser(Interface):
    """The avatar of a logged-in local user (one cred realm for all)."""

    address = Attribute("The user's canonical Address.")
    maildir = Attribute("Path of the user's Maildir root.")


class IDeliveryAgent(Interface):
    """Delivers a message to some recipients and reports one outcome each."""

    name = Attribute("Short name used in routes and traces: 'local', 'smtp', 'x400'.")

    def deliver(job: object) -> Deferred[list[object]]:
        """Deliver ``job`` (a :class:`gateway.bus.agents.DeliveryJob`).

        Fires with one :class:`gateway.bus.agents.Outcome` per target, in
        order. Never errbacks for a recipient-level failure: that is an
        outcome. An errback means the agent itself broke; the bus then
        defers every target of the job.
        """


class MaildropInUse(Exception):
    """Another POP3 session holds this maildrop (RFC 1939 4, RFC 2449 [IN-USE])."""


class IMaildropOpener(Interface):
    """Opens a user's INBOX for one POP3 session (the store provides it)."""

    def open_maildrop(user: IMailUser) -> Deferred[IMaildrop]:
        """Lock and snapshot the INBOX of ``user`` (an :class:`IMailUser`).

        RFC 1939 4: the lock is exclusive among POP3 sessions only; IMAP and
        delivery carry on. Fails with :class:`MaildropInUse` when another
        POP3 session holds it, :class:`OSError` when the store cannot be
        read. The snapshot does not change during the session: mail
        delivered meanwhile shows up in the next one.
        """


class IMaildrop(Interface):
    """One POP3 session's locked snapshot of an INBOX."""

    messages = Attribute(
        "Tuple of gateway.store.pop3view.MaildropMessage (uidl, size), in "
        "message-number order (number = index + 1). size counts octets with "
        "CRLF line ends, as RFC 1939 LIST and STAT must."
    )

    def retrieve(index: int) -> Deferred[bytes]:
        """The message at ``index`` with CRLF line ends, not dot-stuffed."""

    def retrieve_nowait(index: int) -> bytes | None:
        """As :meth:`retrieve` when that is quick enough for the reactor
        thread (a small message, one read); None: use :meth:`retrieve`."""

    def commit(deleted: frozenset[int], retrieved: frozenset[int]) -> Deferred[None]:
        """RFC 1939 6 UPDATE state: remove ``deleted`` (indexes) atomically,
        mark ``retrieved`` as seen, then release the lock. Fails with
        :class:`OSError` if the removal could not be done (nothing removed
        then; the lock is released all the same)."""

    def release() -> None:
        """Release the lock without changing anything (no QUIT, or QUIT
        before TRANSACTION). Idempotent."""


class IMailAccount(Interface):
    """One IMAP session's view of a user's folders (the store provides it).

    Every method that touches the disk returns a Deferred (the work runs in
    a thread pool); errors a client caused fail with
    :class:`gateway.store.imapview.FolderError` (a NO with its response
    code), anything else with the original exception (NO [SERVERBUG] or
    [UNAVAILABLE]). Names are Unicode with ``.`` as hierarchy separator;
    ``INBOX`` is case-insensitive.
    """

    def list_folders() -> Deferred[list[FolderInfo]]:
        """Every folder as :class:`gateway.store.imapview.FolderInfo`,
        INBOX first (LIST/LSUB filter them by pattern)."""

    def create(name: str) -> Deferred[None]:
        """RFC 3501 6.3.3 (missing parents are created too)."""

    def delete(name: str) -> Deferred[None]:
        """RFC 3501 6.3.4 (INBOX cannot be deleted; a folder with children
        becomes \\Noselect)."""

    def rename(old: str, new: str) -> Deferred[None]:
        """RFC 3501 6.3.5, children move along; renaming INBOX moves its
        messages into a new folder and leaves INBOX empty."""

    def subscribe(name: str, subscribed: bool) -> Deferred[None]:
        """RFC 3501 6.3.6 / 6.3.7."""

    def status(name: str) -> Deferred[FolderStatus]:
        """:class:`gateway.store.imapview.FolderStatus` of ``name``."""

    def append(
        name: str, data: bytes, flags: frozenset[str], date: float | None
    ) -> Deferred[CopyResult]:
        """RFC 3501 6.3.11: store ``data`` (CRLF line ends as sent) in
        ``name``; :class:`gateway.store.imapview.CopyResult` with the new
        UID (RFC 4315 APPENDUID). FolderError code TRYCREATE if ``name``
        does not exist."""

    def select(name: str, readonly: bool) -> Deferred[ISelectedFolder]:
        """RFC 3501 6.3.1 / 6.3.2: open ``name`` for this session."""


class ISelectedFolder(Interface):
    """One session's open folder: its own message sequence numbers.

    ``messages`` is this session's snapshot (index + 1 = sequence number).
    It changes only when the session calls :meth:`changes` and applies the
    result, so sequence numbers stay in step with what the client was told
    (RFC 3501 5.5, 7.4.1).
    """

    name = Attribute("The folder's Unicode name.")
    readonly = Attribute("Selected with EXAMINE.")
    uidvalidity = Attribute("int")
    uidnext = Attribute("int (at the time of the last changes() call)")
    highest_modseq = Attribute("int (RFC 7162)")
    keywords = Attribute("list of keywords defined in the folder (FLAGS response)")
    messages = Attribute("list of gateway.store.imapview.MessageInfo in sequence order")

    def changes() -> Deferred[Changes]:
        """Look at the folder (sync) and return
        :class:`gateway.store.imapview.Changes` since the last call; the
        store has already applied them to :attr:`messages` when it fires.
        Cheap when nothing changed."""

    def watch(callback: object) -> None:
        """Call ``callback()`` (no arguments, in the reactor thread) soon
        after something changes in the folder: another session's change or
        a delivery. For IDLE and for deciding to poll. ``None`` stops it."""

    def read(uid: int) -> Deferred[bytes]:
        """The whole message with CRLF line ends. Fails with KeyError if it
        was expunged meanwhile."""

    def read_header(uid: int) -> Deferred[bytes]:
        """The message's header with its blank line, CRLF line ends (for a
        SEARCH that needs no more); the whole message if it has no body."""

    def cached(uid: int, key: str) -> object:
        """A value previously given to :meth:`remember` (e.g. a parsed
        BODYSTRUCTURE), or None. Synchronous."""

    def remember(uid: int, key: str, value: object) -> None:
        """Keep ``value`` for ``uid`` (JSON-serialisable) across sessions and
        restarts."""

    def store(
        uids: list[int], mode: str, flags: frozenset[str], unchanged_since: int | None
    ) -> Deferred[tuple[list[MessageInfo], list[int]]]:
        """RFC 3501 6.4.6 STORE: ``mode`` is "+", "-" or "" (replace).
        Returns (MessageInfo of every message changed or asked about, UIDs
        refused because their MODSEQ is above ``unchanged_since``, RFC 7162
        3.1.3). Applied to :attr:`messages` already. FolderError if
        read-only."""

    def copy(uids: list[int], dest: str, move: bool) -> Deferred[CopyResult]:
        """RFC 3501 6.4.7 COPY / RFC 6851 MOVE into folder ``dest``:
        :class:`gateway.store.imapview.CopyResult` (RFC 4315 COPYUID). With
        ``move`` the sources are expunged (the session reports them through
        :meth:`changes`). FolderError TRYCREATE if ``dest`` does not exist."""

    def expunge(uids: list[int] | None) -> Deferred[list[int]]:
        """Remove messages flagged \\Deleted (only those in ``uids`` when
        given: RFC 4315 UID EXPUNGE); returns the UIDs removed. They are
        reported through :meth:`changes`."""

    def close() -> None:
        """Stop watching; the session no longer has the folder selected."""


class IMailAccountOpener(Interface):
    """Gives an IMAP session the account of a logged-in user (the store)."""

    def open_account(user: IMailUser) -> IMailAccount:
        """The folders of ``user`` (an :class:`IMailUser` avatar)."""
