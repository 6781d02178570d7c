"""Delivery status notifications: RFC 3464 reports and RFC 3461 policy.

Pure functions: values in, bytes out; no clock (the caller passes ``now``),
no I/O. The bus turns delivery outcomes into :class:`RecipientReport` values,
asks :func:`should_notify` / :func:`never_for` whether a report is due, and
submits what :func:`build_report` returns with the envelope from
:func:`dsn_envelope`.

The report is ``multipart/report; report-type=delivery-status`` (RFC 6522,
RFC 3464 2.1) with three parts: a short text for people, the
``message/delivery-status`` part, and the original message or its header
(RFC 3461 4.3 RET). Where an address is not ASCII the machine-readable part is
``message/global-delivery-status`` (RFC 6533 6.1) and the report type
``global-delivery-status``.
"""

from __future__ import annotations

import enum
import hashlib
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from gateway.bus.agents import Outcome, Result
from gateway.dsn import fields as F
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.message import (
    crlf,
    fold_header_field,
    get_header,
    header_block,
    is_binary,
    multipart_body,
    multipart_report_fields,
    unique_boundary,
)
from gateway.smtp.parser import xtext_encode


class Kind(enum.StrEnum):
    """Which report this is; decides the Subject and, with RFC 3461 NOTIFY,
    whether it is sent at all."""

    FAILURE = "failure"
    DELAY = "delay"
    SUCCESS = "success"
    RELAY = "relay"


class Action(enum.StrEnum):
    """RFC 3464 2.3.3 Action values."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


SUBJECTS: dict[Kind, str] = {
    Kind.FAILURE: "Undelivered Mail Returned to Sender",
    Kind.DELAY: "Delayed Mail (still being retried)",
    Kind.SUCCESS: "Successful Mail Delivery Report",
    Kind.RELAY: "Relayed Mail Delivery Report",
}

# RFC 3461 4.1: which NOTIFY keyword asks for which report. "relayed" and
# "expanded" DSNs are positive reports, issued only for NOTIFY=SUCCESS
# (RFC 3461 6.2.7.1, 6.2.7.4).
_NOTIFY_KEYWORD: dict[Kind, str] = {
    Kind.FAILURE: "FAILURE",
    Kind.DELAY: "DELAY",
    Kind.SUCCESS: "SUCCESS",
    Kind.RELAY: "SUCCESS",
}
# RFC 3461 4.1: without NOTIFY the MTA behaves as for NOTIFY=FAILURE or
# NOTIFY=FAILURE,DELAY; we choose the latter.
DEFAULT_NOTIFY = frozenset({"FAILURE", "DELAY"})

_ACTION_FOR_RESULT: dict[Result, Action] = {
    Result.DELIVERED: Action.DELIVERED,
    Result.RELAYED: Action.RELAYED,
    Result.DEFERRED: Action.DELAYED,
    Result.FAILED: Action.FAILED,
}

# RFC 3463 2: class "." subject "." detail, 1-3 digits each.
_STATUS = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$")
# What may not appear inside a field or text line we write.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]+")
_MAX_VALUE = 900  # longest field value we copy from elsewhere (a diagnostic)
DEFAULT_RETURN_LIMIT = 10 * 1024 * 1024  # larger originals come back as header only


@dataclass(frozen=True, slots=True)
class RecipientReport:
    """One per-recipient group of the report (RFC 3464 2.3).

    ``original_recipient`` is the decoded ORCPT ``(addr-type, address)``
    (RFC 3461 4.2), reported only when the client gave one (RFC 3461 6.3 d).
    ``diagnostic`` is the SMTP reply as text (``550 5.1.1 No such user``);
    it is written as ``Diagnostic-Code: smtp; ...`` (RFC 3464 2.3.6).
    Times are seconds since the epoch.
    """

    final_recipient: Address
    action: Action
    status: str
    original_recipient: tuple[str, str] | None = None
    remote_mta: str | None = None
    diagnostic: str | None = None
    last_attempt: float | None = None
    will_retry_until: float | None = None

    def __post_init__(self) -> None:
        if not _STATUS.match(self.status):
            raise ValueError(f"bad RFC 3463 status code: {self.status!r}")

    @classmethod
    def from_outcome(
        cls,
        recipient: Recipient,
        outcome: Outcome,
        *,
        remote_mta: str | None = None,
        last_attempt: float | None = None,
        will_retry_until: float | None = None,
    ) -> RecipientReport:
        """The group for a delivery agent's outcome for ``recipient``."""
        return cls(
            final_recipient=outcome.target.address,
            action=_ACTION_FOR_RESULT[outcome.result],
            status=outcome.status,
            original_recipient=recipient.orcpt,
            remote_mta=remote_mta,
            diagnostic=f"{outcome.code} {outcome.status} {outcome.text}",
            last_attempt=last_attempt,
            will_retry_until=will_retry_until,
        )


# --- policy (RFC 3461) ------------------------------------------------------


def kind_for(action: Action) -> Kind:
    """The report kind that carries a recipient with this action."""
    if action is Action.FAILED:
        return Kind.FAILURE
    if action is Action.DELAYED:
        return Kind.DELAY
    if action is Action.RELAYED:
        return Kind.RELAY
    return Kind.SUCCESS


def should_notify(kind: Kind, notify: frozenset[str] | None) -> bool:
    """RFC 3461 4.1: is a ``kind`` report wanted for a recipient whose NOTIFY
    was ``notify`` (``None``: no NOTIFY given; empty: ``NOTIFY=NEVER``)?"""
    wanted = DEFAULT_NOTIFY if notify is None else notify
    return _NOTIFY_KEYWORD[kind] in wanted


def is_delivery_report(content: bytes) -> bool:
    """Whether ``content`` is itself a DSN: ``multipart/report`` with
    ``report-type=delivery-status`` (RFC 3464 2.1) or
    ``global-delivery-status`` (RFC 6533 6.3)."""
    ctype = get_header(content, "Content-Type")
    if ctype is None:
        return False
    main, _, params = ctype.partition(";")
    if main.strip().lower() != "multipart/report":
        return False
    match = re.search(r'(?i)(?:^|;)\s*report-type\s*=\s*"?([A-Za-z0-9.\-]+)"?', params)
    return match is not None and match.group(1).lower() in F.REPORT_TYPES


def never_for(sender: Address | None, content: bytes = b"") -> bool:
    """True when no notification may be sent about this message at all.

    RFC 3461 6.2 / RFC 5321 4.5.5: never to a null reverse-path (which is
    also how every DSN, ours included, is sent). A message that is itself a
    delivery report is never reported on either, whatever its reverse-path,
    so that two systems cannot bounce reports at each other.
    """
    return sender is None or is_delivery_report(content)


def returns_full(kind: Kind, ret: str | None) -> bool:
    """RFC 3461 4.3: the whole message for RET=FULL, the header for RET=HDRS.
    Without RET the choice is ours: the whole message with a failure, the
    header with any other report."""
    if ret == "FULL":
        return True
    if ret == "HDRS":
        return False
    return kind is Kind.FAILURE


# --- the report -------------------------------------------------------------


def _date(when: float) -> str:
    """RFC 5322 3.3 date-time, in UTC with a numeric zone."""
    return format_datetime(datetime.fromtimestamp(when, UTC))


def _clean(text: str, limit: int = _MAX_VALUE) -> str:
    """One line of text: controls and line breaks become spaces."""
    return " ".join(_CONTROLS.sub(" ", text).split())[:limit]


def _host(name: str) -> str:
    """An MTA name for ``dns;`` fields and the From domain."""
    cleaned = re.sub(r"[\s\x00-\x1f\x7f;()<>\[\]\\\",@]", "", name)
    if not cleaned.isascii():  # RFC 5890: the A-label form, else drop what is left
        try:
            cleaned = cleaned.encode("idna").decode("ascii")
        except UnicodeError:
            cleaned = cleaned.encode("ascii", "ignore").decode("ascii")
    return cleaned[:255] or "localhost"


def _address_text(value: str, *, utf8: bool) -> str:
    """A generic-address (RFC 3464 2.3.1): as given when it is printable (and
    ASCII unless the part is message/global-delivery-status, RFC 6533 3),
    else xtext-encoded so the field stays one clean line."""
    if _CONTROLS.search(value) or " " in value.strip() or (not utf8 and not value.isascii()):
        return xtext_encode(value)
    return value.strip() or xtext_encode(value)


def _typed_recipient(address: Address, *, utf8: bool) -> str:
    """Final-Recipient value: ``rfc822; addr``, or ``utf-8; addr`` for an
    internationalised address (RFC 6533 3, in a global DSN only)."""
    if address.utf8 and utf8:
        return f"utf-8; {_address_text(str(address), utf8=True)}"
    return f"rfc822; {_address_text(str(address), utf8=utf8)}"


@dataclass(frozen=True, slots=True)
class _Returned:
    """The third part of the report (RFC 3464 2.1 / RFC 6522 3)."""

    content_type: str
    encoding: str
    body: bytes
    note: str | None  # said in the human part when the full message was wanted


def _returned(kind: Kind, ret: str | None, content: bytes, return_limit: int) -> _Returned | None:
    """Choose the returned content and its label.

    message/rfc822 may only be 7bit, 8bit or binary (RFC 2046 5.2.1); 8-bit
    data is labelled 8bit. A header that is UTF-8 but not ASCII makes it
    message/global (RFC 6532 3.7); for the header alone,
    text/rfc822-headers (RFC 6522 5) or message/global-headers (RFC 6533 6.4).
    """
    content = crlf(content)
    header = crlf(header_block(content)) if content else b""
    note: str | None = None
    if returns_full(kind, ret) and content:
        if len(content) > return_limit:
            note = f"The message is larger than {return_limit} bytes; only its header is returned."
        elif is_binary(content):
            # could only go as "binary", which would make the report depend
            # on BINARYMIME (RFC 3030): we return the header instead
            note = "The message is binary data; only its header is returned."
        else:
            utf8_header = _is_utf8_not_ascii(header)
            ctype = "message/global" if utf8_header else "message/rfc822"
            return _Returned(ctype, "7bit" if content.isascii() else "8bit", content, None)
    if not header.strip() or is_binary(header):
        return None
    if _is_utf8_not_ascii(header):
        return _Returned("message/global-headers", "8bit", header, note)
    return _Returned("text/rfc822-headers", "7bit" if header.isascii() else "8bit", header, note)


def _is_utf8_not_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _human_text(
    kind: Kind,
    reporting_mta: str,
    recipients: Sequence[RecipientReport],
    note: str | None,
) -> str:
    """The first part (RFC 3464 2.1 / RFC 6522 3): what happened, for people."""
    intro = {
        Kind.FAILURE: "Your message could not be delivered to one or more recipients. "
        "The delivery errors are listed below.",
        Kind.DELAY: "Your message has not yet been delivered to one or more recipients. "
        "The mail system will keep trying; no action is needed on your part. "
        "You will be notified if delivery finally fails.",
        Kind.SUCCESS: "Your message was successfully delivered to the recipients listed below.",
        Kind.RELAY: "Your message was relayed to a mail system that does not send delivery "
        "notifications, so no further reports may follow for the recipients listed below.",
    }[kind]
    paragraphs = [f"This is the mail system at host {reporting_mta}.", intro]
    if kind is Kind.FAILURE:
        paragraphs.append(
            "For further assistance, please contact your postmaster, and include "
            "this report with the returned message."
        )
    for r in recipients:
        line = f"<{_clean(str(r.final_recipient))}>: {r.action} ({r.status})"
        if r.remote_mta:
            line += f"; host {_host(r.remote_mta)} said:"
        line += f" {_clean(r.diagnostic or '')}".rstrip()
        if r.action is Action.DELAYED and r.will_retry_until is not None:
            line += f". Delivery will be retried until {_date(r.will_retry_until)}"
        paragraphs.append(line)
    if note:
        paragraphs.append(note)
    wrapped = [
        textwrap.fill(p, width=76, break_long_words=True, break_on_hyphens=False)
        for p in paragraphs
    ]
    return "\r\n\r\n".join(w.replace("\n", "\r\n") for w in wrapped) + "\r\n"


def _status_part(
    *,
    reporting_mta: str,
    envelope: Envelope,
    arrival_date: float,
    recipients: Sequence[RecipientReport],
    queue_id: str | None,
    utf8: bool,
) -> str:
    """The message/delivery-status body (RFC 3464 2.1.1): per-message fields,
    then one group per recipient, groups separated by an empty line."""
    out = [fold_header_field(F.REPORTING_MTA, f"dns; {reporting_mta}")]  # RFC 3464 2.2.2
    if queue_id:  # RFC 3464 2.1.2 extension field, like Postfix's X-Postfix-Queue-ID
        out.append(fold_header_field("X-Mailgateway-Queue-ID", _clean(queue_id, 100)))
    if envelope.envid is not None:  # RFC 3464 2.2.1, RFC 3461 6.3 a: the ENVID, decoded
        out.append(
            fold_header_field(F.ORIGINAL_ENVELOPE_ID, _address_text(envelope.envid, utf8=False))
        )
    out.append(fold_header_field(F.ARRIVAL_DATE, _date(arrival_date)))  # RFC 3464 2.2.5
    for r in recipients:
        out.append("\r\n")
        if r.original_recipient is not None:  # RFC 3464 2.3.1, RFC 3461 6.3 d
            addr_type, address = r.original_recipient
            addr_type = re.sub(r"[^A-Za-z0-9.\-_]", "", addr_type) or "unknown"
            out.append(
                fold_header_field(
                    F.ORIGINAL_RECIPIENT, f"{addr_type};{_address_text(address, utf8=utf8)}"
                )
            )
        out.append(
            fold_header_field(F.FINAL_RECIPIENT, _typed_recipient(r.final_recipient, utf8=utf8))
        )
        out.append(fold_header_field(F.ACTION, str(r.action)))  # RFC 3464 2.3.3
        out.append(fold_header_field(F.STATUS, r.status))  # RFC 3464 2.3.4
        if r.remote_mta:  # RFC 3464 2.3.5
            out.append(fold_header_field(F.REMOTE_MTA, f"dns; {_host(r.remote_mta)}"))
        diagnostic = _clean(r.diagnostic or "")
        if diagnostic:  # RFC 3464 2.3.6
            out.append(fold_header_field(F.DIAGNOSTIC_CODE, f"smtp; {diagnostic}"))
        if r.last_attempt is not None:  # RFC 3464 2.3.7
            out.append(fold_header_field(F.LAST_ATTEMPT_DATE, _date(r.last_attempt)))
        # RFC 3464 2.3.9: only meaningful for "delayed".
        if r.will_retry_until is not None and r.action is Action.DELAYED:
            out.append(fold_header_field(F.WILL_RETRY_UNTIL, _date(r.will_retry_until)))
    return "".join(out)


def _digest(*items: bytes) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(len(item).to_bytes(8, "big"))
        h.update(item)
    return h.hexdigest()


def build_report(
    *,
    reporting_mta: str,
    envelope: Envelope,
    arrival_date: float,
    content: bytes,
    recipients: Sequence[RecipientReport],
    kind: Kind,
    now: float,
    message_id: str | None = None,
    queue_id: str | None = None,
    return_limit: int = DEFAULT_RETURN_LIMIT,
) -> bytes:
    """The complete RFC 3464 report about ``envelope``/``content``, as bytes
    with CRLF line ends, addressed to the original sender.

    ``reporting_mta`` is our host name; ``arrival_date`` when we accepted the
    original; ``now`` the report's Date. ``message_id`` defaults to one
    derived from the inputs (so equal inputs give equal bytes). ``queue_id``,
    when given, is written as an ``X-Mailgateway-Queue-ID`` field.
    Raises ValueError for a null reverse-path (check :func:`never_for`) or an
    empty recipient list.
    """
    if envelope.sender is None:
        raise ValueError("no report may be sent to a null reverse-path (RFC 3461 6.2)")
    if not recipients:
        raise ValueError("a report needs at least one recipient (RFC 3464 2.1)")
    host = _host(reporting_mta)
    sender = envelope.sender
    # RFC 6533: a non-ASCII address needs the global forms.
    utf8 = (
        sender.utf8
        or any(r.final_recipient.utf8 for r in recipients)
        or any(r.original_recipient and not r.original_recipient[1].isascii() for r in recipients)
    )
    status = _status_part(
        reporting_mta=host,
        envelope=envelope,
        arrival_date=arrival_date,
        recipients=recipients,
        queue_id=queue_id,
        utf8=utf8,
    ).encode("utf-8")
    returned = _returned(kind, envelope.ret, content, return_limit)
    human = _human_text(kind, host, recipients, returned.note if returned else None).encode()

    seed = _digest(
        host.encode(),
        repr(now).encode(),
        (envelope.envid or "").encode(),
        str(sender).encode(),
        status,
        hashlib.sha256(content).digest(),
    )
    if message_id is None:
        message_id = f"<{int(now)}.{seed[:20]}@{host}>"
    # RFC 2046 5.1.1: the boundary may not occur in any encapsulated part.
    bodies = human + status + (returned.body if returned else b"")
    boundary = unique_boundary(f"=_dsn_{seed[20:40]}", bodies)

    report_type = F.GLOBAL_REPORT_TYPE if utf8 else F.REPORT_TYPE
    status_type = F.GLOBAL_STATUS_TYPE if utf8 else F.STATUS_TYPE
    eight_bit = not bodies.isascii()

    head = [
        fold_header_field("From", f"Mail Delivery System <MAILER-DAEMON@{host}>"),
        fold_header_field("To", f"<{sender}>"),
        fold_header_field("Subject", SUBJECTS[kind]),
        fold_header_field("Date", _date(now)),
        fold_header_field("Message-ID", _clean(message_id, 250)),
        "MIME-Version: 1.0\r\n",
        "Auto-Submitted: auto-replied\r\n",  # RFC 3834 5, RFC 3464 2.1 note
        # RFC 6522 3 / RFC 3464 2.1: multipart/report naming the second part.
        *multipart_report_fields(report_type, boundary, eight_bit=eight_bit),
        "\r\n",
        "This is a MIME-encapsulated message.\r\n",
        "\r\n",
    ]
    charset = "us-ascii" if human.isascii() else "utf-8"
    parts: list[tuple[str, bytes]] = [
        (
            "Content-Description: Notification\r\n"
            f"Content-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {'7bit' if human.isascii() else '8bit'}\r\n",
            human,
        ),
        (
            "Content-Description: Delivery report\r\n"
            f"Content-Type: {status_type}\r\n"
            f"Content-Transfer-Encoding: {'7bit' if status.isascii() else '8bit'}\r\n",
            status,
        ),
    ]
    if returned is not None:
        if returned.content_type in ("message/rfc822", "message/global"):
            description = "Undelivered Message" if kind is Kind.FAILURE else "Message"
        else:
            description = "Message Headers"
        parts.append(
            (
                f"Content-Description: {description}\r\n"
                f"Content-Type: {returned.content_type}\r\n"
                f"Content-Transfer-Encoding: {returned.encoding}\r\n",
                returned.body,
            )
        )
    return "".join(head).encode("utf-8") + multipart_body(boundary, parts)


def dsn_envelope(original: Envelope, report: bytes) -> Envelope:
    """The envelope to submit ``report`` with: null reverse-path (RFC 3461
    6.2, RFC 5321 4.5.5), to the original sender with NOTIFY=NEVER, BODY=8BITMIME
    if the report has 8-bit data (RFC 6152), SMTPUTF8 if its header is not
    ASCII (RFC 6531)."""
    if original.sender is None:
        raise ValueError("no report may be sent to a null reverse-path (RFC 3461 6.2)")
    return Envelope(
        sender=None,
        recipients=(Recipient(original.sender, notify=frozenset()),),
        origin=Origin("bus"),
        body="7BIT" if report.isascii() else "8BITMIME",
        smtputf8=not header_block(report).isascii(),
    )
