"""Inbound P1 transfers into the bus (RFC 2156 4.6.2, 5.3).

For every transferred MTS-APDU (:data:`~gateway.x400.p1.protocol.TransferHandler`):

- a **message** with P22/P2 content: an IPM is translated
  (:func:`~gateway.x400.translate.message_to_internet`), an IPN becomes an
  RFC 8098 MDN from ``<>`` (5.3.5); the result is submitted to the bus with
  origin ``x400-p1`` (the peer's name as ``helo``, its address as the
  client);
- a **report** becomes an RFC 3464 DSN for the report destination (5.3.8),
  returned content translated when the report carries it;
- a **probe** (X.411 12.2.1.2) is accepted and confirmed and nothing is
  delivered: a probe asks whether a message *could* be delivered, and the
  gateway would deliver such a message (RFC 2156 5.4: conversion of probes
  is a matter for the gateway; it does not return a delivery report for
  the probe -- not implemented, see below).

The transfer is confirmed only when the bus's ``submit`` Deferred fires:
the message is durable.  What cannot be read or converted fails the
transfer (:class:`~gateway.x400.p1.protocol.TransferRefused`) with the
reason and its RFC 3463 status: an APDU that does not decode, content that
is not interpersonal mail, a MIXER loop (5.4.6), an address that does not
map.  RFC 2156 would have the gateway accept such a message and return an
X.400 non-delivery report; this gateway refuses the transfer instead, so
the peer MTA keeps the message and reports on it itself (not yet: an NDR
generated here, and the delivery report answering a probe).  A spool that
cannot take the message refuses it with ``4.3.1``: the peer tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.config import X400Peer
from gateway.envelope import Address, AddressError, Envelope, Origin, Recipient
from gateway.errors import GatewayError
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import IPM, IPN, Message, Probe, Report
from gateway.x400.orname import ORAddressError
from gateway.x400.p1.protocol import TransferRefused

__all__ = ["InboundTransfers", "Submission", "to_internet"]

log = Logger()

ORIGIN = "x400-p1"


class Submitter(Protocol):
    def submit(self, envelope: Envelope, content: bytes, qid: str | None = None) -> Deferred[str]:
        """Queue durably (:meth:`gateway.bus.bus.MessageBus.submit`)."""


@dataclass(frozen=True)
class Submission:
    """What one APDU becomes for the bus: an SMTP envelope and content."""

    sender: Address | None
    recipients: tuple[Recipient, ...]
    content: bytes
    envid: str | None = None
    ret: str | None = None
    kind: str = "message"  # "message", "ipn", "report"

    def envelope(self, origin: Origin) -> Envelope:
        return Envelope(
            self.sender,
            self.recipients,
            origin,
            envid=self.envid,
            ret=self.ret,
            body="7BIT" if self.content.isascii() else "8BITMIME",
        )


def _address(text: str, what: str) -> Address:
    try:
        return Address.parse(text)
    except AddressError as e:
        raise TransferRefused(
            f"550 5.1.3 {what} {text!r} is no usable SMTP address: {e}"
        ) from None


def _sender(text: str) -> Address | None:
    return _address(text, "originator") if text.strip().strip("<>") else None


def to_internet(
    apdu: Message | Report | Probe, gw: Gateway, limits: dict[str, int]
) -> Submission | None:
    """The bus submission for a decoded APDU (module docstring); None for a
    probe.  Raises :class:`TransferRefused` with an RFC 3463 status."""
    from gateway.x400.notifications import ipn_to_internet
    from gateway.x400.p22codec import decode_content
    from gateway.x400.reports import report_to_dsn
    from gateway.x400.translate import (
        PARSE_POLICY,
        TranslationError,
        ipm_to_mime,
        message_to_internet,
    )

    if isinstance(apdu, Probe):
        return None
    try:
        if isinstance(apdu, Report):  # RFC 2156 5.3.8
            returned = None
            if apdu.returned_content is not None:
                try:
                    content = decode_content(apdu.returned_content, **limits)
                except ValueError:
                    content = None  # the report goes on without it
                if isinstance(content, IPM):
                    returned = ipm_to_mime(content, gw).as_bytes(policy=PARSE_POLICY)
            dsn = report_to_dsn(apdu, gw, returned=returned)
            rcpts = tuple(
                Recipient(_address(r, "report destination"), dsn.notify) for r in dsn.rcpt_to
            )
            return Submission(None, rcpts, dsn.content, kind="report")
        if apdu.envelope.content_type not in (2, 22):
            raise TransferRefused(
                f"554 5.6.1 content type {apdu.envelope.content_type} is not interpersonal mail"
            )
        try:
            content = decode_content(apdu.content, **limits)
        except ValueError as e:
            raise TransferRefused(f"554 5.6.0 P22 content: {e}") from None
        if isinstance(content, IPN):  # 5.3.5: an MDN from <> (RFC 8098 3)
            rcpt = [gw.to_rfc822(r.name) for r in apdu.envelope.recipients if r.responsibility]
            if not rcpt:
                raise TransferRefused("550 5.1.3 no recipient the gateway is responsible for")
            mdn = ipn_to_internet(content, gw, to=rcpt[0])
            rcpts = tuple(Recipient(_address(r, "recipient"), frozenset()) for r in rcpt)
            return Submission(None, rcpts, mdn, kind="ipn")
        msg = message_to_internet(apdu, content, gw)  # 4.6.2, 5.3
        rcpts = tuple(
            Recipient(_address(r, "recipient"), n)
            for r, n in zip(msg.rcpt_to, msg.notify, strict=True)
        )
        return Submission(_sender(msg.mail_from), rcpts, msg.content, msg.envid, msg.ret)
    except TranslationError as e:
        raise TransferRefused(f"{_code(e.status)} {e.status} {e.message}") from None
    except (MappingError, ORAddressError, UnicodeError) as e:
        raise TransferRefused(f"550 5.1.3 address does not map: {e}") from None


def _code(status: str) -> int:
    return 554 if status.startswith("5.4.6") else (550 if status.startswith("5") else 451)


class InboundTransfers:
    """The listener's transfer handler: decode, convert, submit; the
    Deferred fires once the bus holds the message (module docstring).

    ``gateway`` gives the MIXER context (its ``now`` is replaced by the
    clock's time of each conversion); ``limits`` are the BER limits."""

    def __init__(
        self,
        bus: Submitter,
        gateway: Gateway,
        clock: IReactorTime,
        limits: dict[str, int],
        convert: Callable[
            [Message | Report | Probe, Gateway, dict[str, int]], Submission | None
        ] = to_internet,
    ) -> None:
        self.bus = bus
        self.gateway = gateway
        self.clock = clock
        self.limits = dict(limits)
        self.convert = convert

    def __call__(self, peer: X400Peer, apdu: bytes, client: str) -> Deferred[None]:
        from gateway.x400.p1codec import decode_apdu

        try:
            value = decode_apdu(apdu, **self.limits)
        except ValueError as e:
            log.warn("x400: unreadable MTS-APDU from {peer}: {why}", peer=peer.name, why=str(e))
            return _refuse(f"554 5.6.0 unreadable MTS-APDU: {e}")
        now = datetime.fromtimestamp(self.clock.seconds(), UTC)
        gw = replace(self.gateway, now=now)
        try:
            submission = self.convert(value, gw, self.limits)
        except TransferRefused as e:
            log.info(
                "x400: transfer from {peer} not converted: {why}", peer=peer.name, why=e.reason
            )
            return _refuse(e.reason)
        if submission is None:
            log.info("x400: probe from {peer} accepted (nothing to deliver)", peer=peer.name)
            return _done()
        origin = Origin(
            ORIGIN, client_address=client.rpartition(":")[0] or client, helo=peer.mta_name
        )
        d = self.bus.submit(submission.envelope(origin), submission.content)

        def queued(qid: str) -> None:
            log.info(
                "x400: {kind} from {peer} queued as {qid}",
                kind=submission.kind,
                peer=peer.name,
                qid=qid,
            )

        def not_queued(failure: Failure) -> Failure:
            error = failure.value
            if isinstance(error, GatewayError):
                return Failure(TransferRefused(str(error)))
            return failure

        return d.addCallbacks(queued, not_queued)


def _refuse(reason: str) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    d.errback(TransferRefused(reason))
    return d


def _done() -> Deferred[None]:
    d: Deferred[None] = Deferred()
    d.callback(None)
    return d
