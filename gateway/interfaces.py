"""The zope.interface contracts between the parts of the gateway.

This is a leaf module: it imports only value types, so every part can depend
on it without import cycles. Protocols (SMTP, POP3, IMAP, X.400 channels)
talk to the bus and the store only through these interfaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from gateway.envelope import Address, Envelope


class IMessageBus(Interface):
    """Where every ingress hands over a message."""

    def submit(envelope: Envelope, content: bytes, qid: str | None = None) -> Deferred[str]:
        """Queue a message durably.

        ``qid`` lets an ingress that may hand the same message over twice
        (after a crash) make submission idempotent: a queue id the bus
        already knows is not queued again.

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
        user: Address, content: bytes, prefix: bytes, unique: str, check_cur: bool = False
    ) -> Deferred[str]:
        """Deliver ``prefix + content`` into the INBOX of ``user``.

        ``unique`` is a deterministic name for this (message, recipient)
        pair: if a message of that name is already in the mailbox (a crash
        after the write, before the outcome was recorded) nothing is written
        again. ``new/`` is always checked; ``cur/`` (where a reader may have
        moved it) only when ``check_cur`` is set, which the bus does for
        messages recovered after a restart. Fires with the file's path once
        it is durable.
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

    def commit(deleted: frozenset[int], retrieved: frozenset[int]) -> Deferred[None]:
        """RFC 1939 6 UPDATE state: remove ``deleted`` (indexes) atomically,
        mark ``retrieved`` as seen, then release the lock. Fails with
        :class:`OSError` if the removal could not be done (nothing removed
        then; the lock is released all the same)."""

    def release() -> None:
        """Release the lock without changing anything (no QUIT, or QUIT
        before TRANSACTION). Idempotent."""
