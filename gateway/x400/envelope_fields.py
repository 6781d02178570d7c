"""The X.411 envelope <-> RFC 822 fields and SMTP parameters
(RFC 2156 4.6, 5.3.6, 5.3.7 / 5.1.5, 5.1.6, 5.1.7, App. A, App. C).

:func:`envelope_fields` writes the MIXER fields of a message transfer
envelope (``X400-Received:`` first: trace heads the header, 5.3.7);
:func:`envelope_from_internet` builds the envelope of an Internet message
from its SMTP envelope and header.

Decisions:

- Unknown extensions (a standard-extension number X.411 does not define,
  or a private OID) that are not critical are listed in
  ``Discarded-X400-MTS-Extensions:``; known ones MIXER has no field for
  (security elements) are dropped silently.  Any extension the gateway
  cannot map that is critical for transfer or delivery raises
  :class:`CriticalExtensionError`; the caller non-delivers the message
  with reason unable-to-transfer (1), diagnostic
  unsupported-critical-function (18) -- DSN status 5.3.3.
- ``X400-Recipients:`` lists all recipients when disclosure is allowed;
  when it is prohibited, only the recipients this gateway is responsible
  for if there is one SMTP recipient, and nothing at all if there are
  several (4.6.2.2).
- Without NOTIFY, the per-recipient originator report request keeps the
  X.411 default (non-delivery-report) unless App. C fields ask otherwise.
- A null SMTP reverse path becomes the gateway's own O/R address with no
  originator reports requested.
- Content return is requested (5.2) unless ``RET=HDRS`` or
  ``X400-Content-Return: Prohibited``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import Message
from email.utils import format_datetime

from gateway.x400.asn1 import upper_bounds as ub
from gateway.x400.codes import notify_to_requests
from gateway.x400.context import Gateway
from gateway.x400.heading import (
    AddressListError,
    decode_text,
    header_fields,
    mailbox_to_ordescriptor,
    ordescriptor_to_mailbox,
    parse_address_list,
)
from gateway.x400.model import (
    DLExpansion,
    Extension,
    MessageEnvelope,
    ORDescriptor,
    ORName,
    ReportRequest,
    TransferRecipient,
)
from gateway.x400.msgid import (
    format_mts_id,
    generated_mts_id,
    mts_id_from_msgid,
)
from gateway.x400.orname import ORAddress, is_printable, ps_encode
from gateway.x400.timefmt import format_x400_time, parse_rfc5322_date, parse_x400_time
from gateway.x400.trace import (
    EIT_MIXER,
    format_content_type,
    format_eits,
    format_oid,
    format_x400_received,
    merged_trace,
    parse_eits,
    parse_x400_received,
    trace_from_internet,
)

__all__ = [
    "STANDARD_EXTENSIONS",
    "CriticalExtensionError",
    "envelope_field_ok",
    "envelope_fields",
    "envelope_from_internet",
    "mailbox_to_ordescriptor",
    "ordescriptor_to_mailbox",
]

#: X.411 standard extensions by number (MTSAbstractService, MTAAbstractService).
STANDARD_EXTENSIONS = {
    1: "recipient-reassignment-prohibited",
    2: "originator-requested-alternate-recipient",
    3: "dl-expansion-prohibited",
    4: "conversion-with-loss-prohibited",
    5: "latest-delivery-time",
    6: "requested-delivery-method",
    7: "physical-forwarding-prohibited",
    8: "physical-forwarding-address-request",
    9: "physical-delivery-modes",
    10: "registered-mail-type",
    11: "recipient-number-for-advice",
    12: "physical-rendition-attributes",
    13: "originator-return-address",
    14: "physical-delivery-report-request",
    15: "originator-certificate",
    16: "message-token",
    17: "content-confidentiality-algorithm-identifier",
    18: "content-integrity-check",
    19: "message-origin-authentication-check",
    20: "message-security-label",
    21: "proof-of-submission-request",
    22: "proof-of-delivery-request",
    23: "content-correlator",
    24: "probe-origin-authentication-check",
    25: "redirection-history",
    26: "dl-expansion-history",
    27: "physical-forwarding-address",
    28: "recipient-certificate",
    29: "proof-of-delivery",
    30: "originator-and-DL-expansion-history",
    31: "reporting-DL-name",
    32: "reporting-MTA-certificate",
    33: "report-origin-authentication-check",
    34: "originating-MTA-certificate",
    35: "proof-of-submission",
    37: "trace-information",
    38: "internal-trace-information",
    39: "reporting-MTA-name",
    40: "multiple-originator-certificates",
    42: "dl-exempted-recipients",
    45: "certificate-selectors",
    46: "certificate-selectors-override",
}
# 4.6.2.2: per-recipient physical delivery services shown as comments, with
# the RFC's strings where it gives them.  Shown unless the value is the
# default (a BER INTEGER/ENUMERATED 0, or absent).
_RECIPIENT_COMMENTS = {
    6: "Requested Delivery Method",
    7: "Physical Forwarding Prohibited",
    8: "Physical Forwarding Address Requested",
    9: "Physical Delivery Modes",
    10: "Registered Mail Type",
    11: "Recipient Number For Advice",
    12: "Physical Rendition Attributes",
    14: "Physical Delivery Report Requested",
    22: "Proof of Delivery Requested",
}
_REASONS = {
    "recipient-assigned-alternate-recipient": "Recipient Assigned Alternate Recipient",
    "originator-requested-alternate-recipient": "Originator Requested Alternate Recipient",
    "recipient-MD-assigned-alternate-recipient": "Recipient MD Assigned Alternate Recipient",
    "directory-look-up": "Directory Look Up",
    "alias": "Alias",
}
_PRIORITIES = ("normal", "non-urgent", "urgent")


class CriticalExtensionError(ValueError):
    """An extension critical for transfer or delivery that the gateway
    cannot map (5.3.6): the message is to be non-delivered with
    ``reason``/``diagnostic`` (unable-to-transfer, unsupported-critical-
    function), DSN ``status`` 5.3.3."""

    reason = 1
    diagnostic = 18
    status = "5.3.3"

    def __init__(self, extension: Extension) -> None:
        self.extension = extension
        what = (
            f"standard extension {extension.type} "
            f"({STANDARD_EXTENSIONS.get(extension.type, 'unknown')})"
            if isinstance(extension.type, int)
            else f"private extension {extension.type}"
        )
        super().__init__(f"{what} is critical for transfer or delivery and cannot be mapped")


# --- X.400 -> RFC 822 ----------------------------------------------------------------


def _ber_int(value: bytes) -> int | None:
    """The value of a primitive BER INTEGER/ENUMERATED, if that is what it is."""
    if len(value) >= 3 and value[0] in (0x02, 0x0A) and value[1] == len(value) - 2:
        return int.from_bytes(value[2:], "big", signed=True)
    return None


def _critical(ext: Extension) -> bool:
    return bool(ext.criticality & {"transfer", "delivery"})


def _discarded(extensions: Iterable[Extension]) -> list[str]:
    """Labels of the unknown extensions to list; raises for critical ones."""
    out: list[str] = []
    for ext in extensions:
        known = isinstance(ext.type, int) and ext.type in STANDARD_EXTENSIONS
        if _critical(ext) and not (known and ext.type in _RECIPIENT_COMMENTS):
            raise CriticalExtensionError(ext)
        if not known:
            out.append(format_oid(ext.type) if isinstance(ext.type, str) else f"({ext.type})")
    return out


def _comment(text: str) -> str:
    return "(" + re.sub(r"([()\\])", r"\\\1", text) + ")"


def _mailbox(name: ORName, gw: Gateway) -> str:
    return ordescriptor_to_mailbox(ORDescriptor(formal=name), gw)


def _date(raw: str, gw: Gateway) -> str:
    when = parse_x400_time(raw)
    return format_datetime(when if when is not None else gw.now)


def _recipient(r: TransferRecipient, gw: Gateway) -> str:
    parts = [_mailbox(r.name, gw)]
    if r.redirection_history:
        words = []
        for n, red in enumerate(r.redirection_history):
            words.append(("Originally To: " if n == 0 else "") + _mailbox(red.intended, gw))
            words.append("Redirected Again on" if n else "Redirected on")
            words.append(f"{_date(red.time, gw)} To: {_REASONS[red.reason]}")
        parts.append(_comment(" ".join(words)))
    for ext in r.extensions:
        comment = _RECIPIENT_COMMENTS.get(ext.type) if isinstance(ext.type, int) else None
        if comment is not None and _ber_int(ext.value) != 0:
            parts.append(f"({comment})")
    return " ".join(parts)


def envelope_fields(
    env: MessageEnvelope, gw: Gateway, *, recipient_count: int
) -> list[tuple[str, str]]:
    """The MIXER fields of a message envelope (4.6.2, 5.3.6, 5.3.7).

    ``recipient_count`` is the number of SMTP recipients of this copy.
    Trace (``X400-Received:``, newest first) comes first.  Raises
    :class:`CriticalExtensionError` for an extension critical for transfer
    or delivery that cannot be mapped.
    """
    discarded = _discarded(env.extensions)
    for r in env.recipients:
        discarded.extend(_discarded(r.extensions))
    out: list[tuple[str, str]] = [
        ("X400-Received", format_x400_received(e, fallback=gw.now))
        for e in merged_trace(env.trace, env.internal_trace)
    ]
    out.append(("X400-MTS-Identifier", format_mts_id(env.identifier)))
    out.append(("X400-Originator", _mailbox(env.originator, gw)))
    disclose = "disclosure-of-other-recipients" in env.indicators
    shown = (
        env.recipients
        if disclose
        else tuple(r for r in env.recipients if r.responsibility)
        if recipient_count <= 1
        else ()
    )
    if shown:
        out.append(("X400-Recipients", ", ".join(_recipient(r, gw) for r in shown)))
    out.append(("X400-Content-Type", format_content_type(env.content_type)))
    if env.content_identifier is not None:
        out.append(("X400-Content-Identifier", env.content_identifier))
    if env.priority != "normal":
        out.append(("Priority", env.priority))
    if env.original_eits:
        out.append(("Original-Encoded-Information-Types", format_eits(env.original_eits)))
    for dl in reversed(env.dl_expansion_history):  # most recent first
        out.append(("DL-Expansion-History", f"{_mailbox(dl.name, gw)} ; {_date(dl.time, gw)} ;"))
    if "implicit-conversion-prohibited" in env.indicators:
        out.append(("Conversion", "Prohibited"))
    if env.conversion_with_loss_prohibited:
        out.append(("Conversion-With-Loss", "Prohibited"))
    if discarded:
        out.append(("Discarded-X400-MTS-Extensions", ", ".join(discarded)))
    if env.deferred_delivery is not None:
        out.append(("Deferred-Delivery", _date(env.deferred_delivery, gw)))
    if env.latest_delivery is not None:
        out.append(("Latest-Delivery-Time", _date(env.latest_delivery, gw)))
    if env.originator_return_address is not None:
        out.append(
            ("Originator-Return-Address", _mailbox(ORName(env.originator_return_address), gw))
        )
    return out


# --- RFC 822 -> X.400 ----------------------------------------------------------------


def _prohibition(value: str) -> bool | None:
    """True for Prohibited, False for Allowed, None otherwise."""
    return {"prohibited": True, "allowed": False}.get(value.strip().lower())


def _dl_expansion(value: str, gw: Gateway) -> DLExpansion | None:
    parts = [p.strip() for p in value.split(";")]
    if len(parts) < 2 or any(parts[2:]):
        return None
    try:
        found = parse_address_list(parts[0], gw)
    except AddressListError:
        return None
    when = parse_rfc5322_date(parts[1])
    if len(found) != 1 or found[0].formal is None or when is None:
        return None
    return DLExpansion(found[0].formal, format_x400_time(when))


def _content_identifier(value: str) -> str:
    text = decode_text(value)
    text = "".join(c if c.isascii() else "?" for c in text)
    return text if is_printable(text) else ps_encode(text)


def envelope_field_ok(key: str, value: str, gw: Gateway) -> bool:
    """Whether the envelope maps the field ``key`` (lower case) with this
    value; a field that does not parse is kept in the rfc-822-field-list."""
    if key == "received":
        return True
    if key == "x400-received":
        try:
            parse_x400_received(value)
        except ValueError:
            return False
        return True
    if key == "priority":
        return value.strip().lower() in _PRIORITIES
    if key in ("conversion", "conversion-with-loss", "alternate-recipient"):
        return _prohibition(value) is not None
    if key in ("disclose-recipients", "x400-content-return"):
        return _prohibition(value) is not None
    if key in ("prevent-nondelivery-report", "generate-delivery-report"):
        return True
    if key == "dl-expansion-history":
        return _dl_expansion(value, gw) is not None
    if key in ("deferred-delivery", "latest-delivery-time"):
        return parse_rfc5322_date(value) is not None
    if key == "originator-return-address":
        try:
            found = parse_address_list(value, gw)
        except AddressListError:
            return False
        return bool(found) and found[0].formal is not None
    if key == "original-encoded-information-types":
        try:
            parse_eits(value)
        except ValueError:
            return False
        return True
    if key in ("x400-content-identifier", "content-identifier"):
        return bool(value.strip())
    return False


def _correlator(fields: list[tuple[str, str]], envid: str | None) -> str | None:
    if envid is not None:  # App. A 3.1
        text = "SMTP/NOTARY ENVID: " + envid
    else:  # 5.1.5: Subject, Message-ID, Date, To, each as a line
        lines = []
        for wanted in ("Subject", "Message-ID", "Date", "To"):
            for name, value in fields:
                if name.lower() == wanted.lower():
                    lines.append(f"{wanted}: {value}")
                    break
        text = "\r\n".join(lines)
    text = "".join(c if c.isascii() else "?" for c in text)
    return text[: ub.ub_content_correlator_length] or None


def envelope_from_internet(
    msg: Message,
    mail_from: str,
    rcpt_to: list[str],
    gw: Gateway,
    *,
    notify: list[frozenset[str] | None] | None = None,
    envid: str | None = None,
    ret: str | None = None,
    content_type: int = 22,
    eits: tuple[str, ...] = ("ia5-text",),
) -> MessageEnvelope:
    """The X.411 envelope of an Internet message (4.6.1, 5.1.5-5.1.7, App. A, C).

    ``notify`` holds each recipient's NOTIFY words (``None``: not given);
    ``envid`` and ``ret`` are the NOTARY ENVID and RET.  ``eits`` are the
    EITs of the converted body (``eit-mixer`` is added).
    """
    fields = header_fields(msg)
    valid: dict[str, list[str]] = {}
    for name, value in fields:
        key = name.lower()
        if envelope_field_ok(key, value, gw):
            valid.setdefault(key, []).append(value)

    def first(key: str) -> str | None:
        return valid[key][0] if key in valid else None

    # identifiers (5.1.6: Message-ID only when there are no Resent- fields)
    resent = any(name.lower().startswith("resent-") for name, _ in fields)
    msgids = [v for n, v in fields if n.lower() == "message-id"]
    if msgids and not resent and re.fullmatch(r"\s*<[^<>]+>.*", msgids[0]):
        identifier = mts_id_from_msgid(msgids[0].split(">")[0] + ">", gw)
    else:
        identifier = generated_mts_id(gw, "\n".join(f"{n}: {v}" for n, v in fields).encode())

    # originator and recipients (4.6.1, App. A, App. C)
    sender = mail_from.strip().strip("<>")
    null_sender = not sender
    originator = ORName(gw.or_address if null_sender else gw.to_or(sender, return_address=True))
    default: ReportRequest = "non-delivery-report"
    if "generate-delivery-report" in valid:
        default = "report"
    if "prevent-nondelivery-report" in valid:
        default = "no-report"
    recipients = []
    for n, rcpt in enumerate(rcpt_to):
        words = notify[n] if notify is not None and n < len(notify) else None
        report = "no-report" if null_sender else notify_to_requests(words, default)
        recipients.append(
            TransferRecipient(
                name=ORName(gw.to_or(rcpt.strip().strip("<>"))),
                number=n + 1,
                originator_report=report,
            )
        )

    # per-message indicators (5.1.5, 5.2, App. A RET, App. C)
    indicators = {"alternate-recipient-allowed", "content-return-request"}
    if ret is not None and ret.upper() == "HDRS":
        indicators.discard("content-return-request")
    for key, flag in (
        ("alternate-recipient", "alternate-recipient-allowed"),
        ("disclose-recipients", "disclosure-of-other-recipients"),
        ("x400-content-return", "content-return-request"),
    ):
        setting = first(key)
        if setting is not None:
            if _prohibition(setting):
                indicators.discard(flag)
            else:
                indicators.add(flag)
    if (conversion := first("conversion")) is not None and _prohibition(conversion):
        indicators.add("implicit-conversion-prohibited")

    # trace (5.1.6, 5.1.7)
    dates = [v for n, v in fields if n.lower() == "resent-date"] or [
        v for n, v in fields if n.lower() == "date"
    ]
    date = parse_rfc5322_date(dates[0]) if dates else None  # the topmost is the latest
    external, internal = trace_from_internet(
        [v for n, v in fields if n.lower() == "received"],
        valid.get("x400-received", []),
        date or gw.now,
        gw,
        mail_from=None if null_sender else sender,
        eits=eits,
    )

    # EITs (5.1.5): the original EITs include those of the trace
    original: list[str] = []
    if (eit_text := first("original-encoded-information-types")) is not None:
        original.extend(parse_eits(eit_text))
    original.extend((*eits, EIT_MIXER))

    # content identifier and correlator (5.1.5, 5.1.7, App. A ENVID)
    content_identifier: str | None = None
    restored = first("x400-content-identifier") or first("content-identifier")
    subjects = [v for n, v in fields if n.lower() == "subject"]
    if restored is not None:
        content_identifier = _content_identifier(restored)[: ub.ub_content_id_length]
    elif subjects:
        text = _content_identifier(subjects[0])
        limit = ub.ub_content_id_length
        content_identifier = text if len(text) <= limit else text[:13] + "..."

    priority = (first("priority") or "normal").strip().lower()
    deferred = first("deferred-delivery")
    latest = first("latest-delivery-time")
    return_address = first("originator-return-address")
    conversion_loss = first("conversion-with-loss")
    dl_history = tuple(
        dl
        for dl in (_dl_expansion(v, gw) for v in reversed(valid.get("dl-expansion-history", [])))
        if dl is not None
    )
    return_or: ORAddress | None = None
    if return_address is not None:
        found = parse_address_list(return_address, gw)[0].formal
        return_or = found.address if found is not None else None
    return MessageEnvelope(
        identifier=identifier,
        originator=originator,
        recipients=tuple(recipients),
        trace=external,
        content_type=content_type,
        original_eits=tuple(dict.fromkeys(original)),
        content_identifier=content_identifier,
        priority=priority,  # type: ignore[arg-type]
        indicators=frozenset(indicators),
        deferred_delivery=_x400(deferred),
        internal_trace=internal,
        content_correlator=_correlator(fields, envid),
        latest_delivery=_x400(latest),
        originator_return_address=return_or,
        conversion_with_loss_prohibited=bool(conversion_loss and _prohibition(conversion_loss)),
        dl_expansion_history=dl_history,
    )


def _x400(value: str | None) -> str | None:
    when = parse_rfc5322_date(value) if value is not None else None
    return format_x400_time(when) if when is not None else None
