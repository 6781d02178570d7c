"""What a queued Internet message becomes for an X.400 MTA: MTS-APDUs.

One conversion for both ways out, P1 (:mod:`gateway.x400.p1.channel`) and
the file channel (:mod:`gateway.x400.filechannel`):

- a DSN (null reverse-path, ``multipart/report; report-type=delivery-status``,
  RFC 3464 2) addressed to X.400 users becomes a report per target
  (:func:`gateway.x400.reports.dsn_to_reports`, RFC 2156 5.1.8), and goes as
  a message too to a target RFC 2156 5.1.8.3 says so for;
- anything else becomes one X.400 message for all targets
  (:func:`gateway.x400.translate.internet_to_message`; P2 body parts only
  for a 1984 peer, App. B).

Each :class:`Outgoing` carries the targets it is for and either the APDU or
the permanent (or, for an RFC 3463 4.x status, temporary) error that stops
it, so one target's unconvertible report does not stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from typing import Literal

from gateway.bus.agents import DeliveryJob, Target, recipient_for
from gateway.envelope import AddressError
from gateway.errors import GatewayError
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import Message
from gateway.x400.orname import ORAddressError
from gateway.x400.p1codec import encode_apdu
from gateway.x400.p22codec import encode_content
from gateway.x400.reports import dsn_to_reports
from gateway.x400.translate import TranslationError, internet_to_message

__all__ = ["Outgoing", "conversion_error", "is_dsn", "outgoing"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One MTS-APDU for some targets, or why they cannot have it."""

    targets: tuple[Target, ...]
    kind: Literal["message", "report"]
    apdu: bytes | None = None
    error: GatewayError | None = None


def is_dsn(content: bytes) -> bool:
    """multipart/report; report-type=delivery-status (RFC 3464 2)."""
    head = BytesParser().parsebytes(content, headersonly=True)
    return (
        head.get_content_type() == "multipart/report"
        and str(head.get_param("report-type", "")).lower() == "delivery-status"
    )


def conversion_error(error: Exception) -> GatewayError:
    """The delivery error for a message that cannot be converted (RFC 3463:
    the translator's own status, X.1.3 for an address with no X.400 form,
    X.6.5 "conversion failed" for anything that cannot be encoded)."""
    if isinstance(error, TranslationError):
        status = error.status
        if status.startswith("4"):
            code = 451
        elif status in ("5.4.6", "5.3.4") or status.startswith("5.6"):
            code = 554
        else:
            code = 550
        return GatewayError(code, status, error.message)
    if isinstance(error, MappingError | ORAddressError | AddressError):
        return GatewayError(550, "5.1.3", f"address does not map to X.400: {error}")
    return GatewayError(554, "5.6.5", f"cannot convert the message for X.400: {error}")


_CONVERSION_ERRORS = (TranslationError, MappingError, ORAddressError, ValueError, UnicodeError)


def outgoing(
    job: DeliveryJob, targets: list[Target], gw: Gateway, *, peer_1984: bool = False
) -> list[Outgoing]:
    """The APDUs that carry ``job`` to an X.400 MTA for ``targets`` (module
    docstring): reports first, then the message, if any."""
    items: list[Outgoing] = []
    as_message = list(targets)
    if job.envelope.sender is None and is_dsn(job.content):  # RFC 2156 5.1.8
        as_message = []
        for target in targets:
            try:
                report, rest = dsn_to_reports(job.content, str(target.address), gw)
            except _CONVERSION_ERRORS as e:
                items.append(Outgoing((target,), "report", error=conversion_error(e)))
                continue
            if report is not None:
                items.append(Outgoing((target,), "report", apdu=encode_apdu(report)))
            if report is None or rest is not None:
                as_message.append(target)
    if as_message:
        items.append(_message(job, tuple(as_message), gw, peer_1984))
    return items


def _message(
    job: DeliveryJob, targets: tuple[Target, ...], gw: Gateway, peer_1984: bool
) -> Outgoing:
    env = job.envelope
    recipients = [recipient_for(env, t) for t in targets]
    try:
        envelope, ipm = internet_to_message(
            job.content,
            "" if env.sender is None else str(env.sender),
            [str(t.address) for t in targets],
            gw,
            notify=[r.notify for r in recipients],
            envid=env.envid,
            ret=env.ret,
            peer_1984=peer_1984,
        )
        apdu = encode_apdu(Message(envelope, encode_content(ipm)))
    except _CONVERSION_ERRORS as e:
        return Outgoing(targets, "message", error=conversion_error(e))
    return Outgoing(targets, "message", apdu=apdu)
