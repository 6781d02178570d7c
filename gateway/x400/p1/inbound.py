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
the message is durable.  A message that is read but cannot be converted --
content that is not interpersonal mail, a MIXER loop (5.4.6), an address
that does not map -- is taken all the same and non-delivered: an X.400
non-delivery report (reason and diagnostic from the RFC 3463 status by the
RFC 2156 5.1.8.4 table, the problem in the supplementary information, the
content returned when the originator asked for it) goes to the originator,
queued as the DSN it maps to, which the X.400 channel turns back into a
report (X.411: the MTA that accepted a message reports on it).  Only what
cannot be read at all (an APDU that does not decode), a report that cannot
be converted (no report on a report) and a spool that cannot take the
message (``4.3.1``, the peer tries again) fail the transfer
(:class:`~gateway.x400.p1.protocol.TransferRefused`).  A probe is answered
by nothing (not implemented: the delivery report answering a probe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from gateway.message import body_type, needs_smtputf8
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import (
    IPM,
    IPN,
    Delivered,
    Message,
    MessageEnvelope,
    NonDelivered,
    Probe,
    Report,
    TransferRecipient,
)
from gateway.x400.orname import ORAddressError
from gateway.x400.p1.protocol import TransferRefused

__all__ = ["InboundTransfers", "Submission", "non_delivery", "to_internet"]

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
        utf8 = any(r.address.utf8 for r in self.recipients)
        utf8 = utf8 or bool(self.sender and self.sender.utf8)
        return Envelope(
            self.sender,
            self.recipients,
            origin,
            envid=self.envid,
            ret=self.ret,
            body=body_type(self.content),
            smtputf8=needs_smtputf8(self.content, utf8),
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
    except ValueError as e:  # an unreadable field deeper down
        raise TransferRefused(f"554 5.6.0 cannot translate: {e}") from None


def non_delivery(message: Message, reason: str, gw: Gateway) -> Submission:
    """The non-delivery report on ``message`` for every recipient the
    gateway took responsibility for, as the DSN (to the originator) the bus
    queues; ``reason`` is the refusal ("550 5.1.3 why")."""
    env = message.envelope
    _, status, text = [*reason.split(" ", 2), "", ""][:3]
    outcome = _non_delivered(status, f"{status} {text}")
    returned = message.content if "content-return-request" in env.indicators else None
    return _report(
        env,
        [(r, *outcome) for r in env.recipients if r.responsibility],
        gw,
        b"non-delivery\x00",
        returned,
        "non-delivery report",
    )


#: Tells whether the gateway would take a message for an RFC 822 address:
#: None if so, else the refusal's RFC 3463 status and text.
Judge = Callable[[str], "tuple[str, str] | None"]


def probe_report(probe: Probe, gw: Gateway, judge: Judge, max_size: int | None) -> Submission:
    """The report that services ``probe`` (RFC 2156 5.3.9, X.411 12.2.1.2):
    per recipient the gateway is responsible for, a delivery report when it
    would take a message with the probe's values (the address maps and
    ``judge`` accepts it, the content length fits ``max_size``), else a
    non-delivery report with the reason; SupplementaryInformation says the
    gateway serviced the probe. Queued as the DSN to the originator, like
    :func:`non_delivery`, and converted back to an X.400 report on the way
    out (5.1.8)."""
    from gateway.x400.timefmt import format_x400_time

    env = probe.envelope
    serviced = f"probe serviced by the MIXER gateway {gw.mta_name}"
    outcomes: list[tuple[TransferRecipient, Delivered | NonDelivered, str]] = []
    for r in env.recipients:
        if not r.responsibility:
            continue
        refusal: tuple[str, str] | None
        if max_size is not None and (probe.content_length or 0) > max_size:
            refusal = ("5.3.4", f"content of {probe.content_length} octets exceeds {max_size}")
        else:
            try:
                refusal = judge(gw.to_rfc822(r.name))
            except (MappingError, ORAddressError, UnicodeError) as e:
                refusal = ("5.1.3", f"address does not map: {e}")
        if refusal is None:
            outcomes.append((r, Delivered(format_x400_time(gw.now)), serviced))
        else:
            outcomes.append((r, *_non_delivered(*refusal, serviced=serviced)))
    return _report(env, outcomes, gw, b"probe\x00", None, "probe report")


def _non_delivered(
    status: str, text: str, *, serviced: str | None = None
) -> tuple[NonDelivered, str]:
    """The X.400 reason and diagnostic of ``status`` (RFC 2156 5.1.8.4) and
    the SupplementaryInformation saying why (PrintableString, at most
    ub-supplementary-info-length 256)."""
    from gateway.x400 import codes
    from gateway.x400.orname import PS_CHARS

    code, diagnostic = codes.x400_for(status)
    words = text if serviced is None else f"{serviced}: {status} {text}"
    info = "".join(c if c in PS_CHARS else " " for c in words)[:256]
    return NonDelivered(code, diagnostic), info


def _report(
    env: MessageEnvelope,
    outcomes: Sequence[tuple[TransferRecipient, Delivered | NonDelivered, str]],
    gw: Gateway,
    seed: bytes,
    returned: bytes | None,
    kind: str,
) -> Submission:
    """The report on ``env`` with ``outcomes`` per recipient (and its
    SupplementaryInformation), as the DSN to the originator for the bus."""
    from gateway.x400.model import ReportedRecipient, TraceElement
    from gateway.x400.msgid import generated_mts_id
    from gateway.x400.reports import report_to_dsn
    from gateway.x400.timefmt import format_x400_time

    if not outcomes:
        raise TransferRefused("550 5.1.3 no recipient the gateway is responsible for")
    now = format_x400_time(gw.now)
    report = Report(
        identifier=generated_mts_id(gw, seed + env.identifier.local.encode()),
        destination=env.originator,
        trace=(TraceElement(gw.global_domain, now),),
        subject=env.identifier,
        recipients=tuple(
            ReportedRecipient(
                actual=r.name,
                number=r.number,
                outcome=outcome,
                arrival=now,
                mta_report=r.mta_report,
                originator_report=r.originator_report,
                supplementary_info=info,
            )
            for r, outcome, info in outcomes
        ),
        original_eits=env.original_eits,
        content_type=env.content_type,
        content_identifier=env.content_identifier,
        content_correlator=env.content_correlator,
        returned_content=returned,
    )
    try:
        dsn = report_to_dsn(report, gw)
    except (MappingError, ORAddressError, UnicodeError) as e:
        raise TransferRefused(f"550 5.1.3 originator does not map: {e}") from None
    rcpts = tuple(Recipient(_address(r, "originator"), dsn.notify) for r in dsn.rcpt_to)
    return Submission(None, rcpts, dsn.content, kind=kind)


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
        judge: Judge | None = None,
        max_size: int | None = None,
    ) -> None:
        """``judge``: whether the gateway would take a message for an
        address (probes are then answered with a report, RFC 2156 5.3.9;
        without it they are confirmed and nothing more); ``max_size``: the
        largest message taken, for a probe's content length."""
        self.bus = bus
        self.gateway = gateway
        self.clock = clock
        self.limits = dict(limits)
        self.convert = convert
        self.judge = judge
        self.max_size = max_size

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
            if not isinstance(value, Message) or not e.reason.startswith("5"):
                return _refuse(e.reason)
            try:
                submission = non_delivery(value, e.reason, gw)
            except TransferRefused as again:  # the originator does not map either
                return _refuse(f"{e.reason}; no report possible: {again.reason}")
        if submission is None and isinstance(value, Probe) and self.judge is not None:
            try:
                submission = probe_report(value, gw, self.judge, self.max_size)
            except TransferRefused as e:
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
