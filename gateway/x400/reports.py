"""X.400 delivery reports <-> Internet delivery status notifications.

:func:`report_to_dsn` maps an X.400 Report to an RFC 3464 DSN as RFC 2156
5.3.8 says (``multipart/report; report-type=delivery-status`` with the
MIXER ``X400-*`` fields); :func:`dsn_to_reports` maps a DSN that reaches the
gateway for an X.400 user back to an X.400 Report (RFC 2156 5.1.8).  Pure
functions: the clock reading is ``Gateway.now``; no I/O.

Decisions (each one a place where the RFC leaves a choice or contradicts
itself):

- Subject: ``Delivery Report (failure) for <mailbox>``, the spelling of the
  5.3.8.4 examples and of ``Message-Type: Delivery Report``, not the
  ``Delivery-Report`` of the 5.3.8.1 EBNF (MIXER.md 10.4).  The
  ``for`` part names the mailbox when one address is reported, and ``MTA
  <name>`` for several when the trace names the reporting MTA.
- Diagnostic-Code type: ``X-400``.  RFC 3464 2.3.6 wants a registered
  diagnostic-type; IANA registers only ``smtp``, and ``x400`` only as an
  address type and an MTA-name type (RFC 2156 5.3.8.1 defines those two).
  The 5.3.8.4 examples write ``x400;``, which is read as well.
- Action: ``failed`` (RFC 3464 2.3.3); the examples' ``failure`` is read as
  ``failed``.
- Original-Recipient / Final-Recipient as 5.3.8.1 says, even though RFC
  3464 2.3.1 keeps Original-Recipient for an ORCPT: without redirection
  ``Original-Recipient: rfc822;<mailbox>`` and ``Final-Recipient:
  x400;<std-or>`` of the actual recipient; with an originally intended
  recipient ``Original-Recipient: x400;`` / ``Final-Recipient: rfc822;`` of
  that one, and ``X400-Redirect-Recipient`` / ``X400-Mapped-Redirect-Recipient``
  for the actual recipient.
- Original-Envelope-Id holds the subject identifier as a bare
  ``mts-msg-id`` (5.3.8.1 and its examples).  When a ``SMTP/NOTARY ENVID:``
  content correlator takes that place, the subject identifier is kept in
  ``X400-Subject-Submission-Identifier`` (the EBNF's field, spelt right), so
  it is not lost.
- The report identifier becomes the Message-ID ``<"local*/global-id/"@MHS>``
  (the RFC 2156 4.7.3.2 form with the local identifier ps-encoded, unique
  and readable back), and :func:`dsn_to_reports` reads it back: 5.1.8.3
  derives the report identifier from the Message-Id, and for our own this
  gives the original.
- X400-Redirection-History uses the 5.3.6 ``redirection-history-item``
  syntax (``intended recipient <mailbox> redirected to <reason> on
  <date-time>``), the one 5.3.8.1 names; a DSN gets no ``Received:`` of its
  own here (the submitting MTA adds it), only the report's X400-Received.
- Dates: ``Date:`` from the oldest element of the report trace (5.3.8.3
  "first element"), ``Arrival-Date`` from the first recipient's last trace,
  the ``of <date>`` of the text from the oldest subject intermediate trace
  element (the submission end), else from that arrival time.

The way back (:func:`dsn_to_reports`) follows 5.1.8.3, and reads the MIXER
fields of a DSN that came from X.400 (5.1.8.5, optional) so that a report
keeps its recipients' numbers, the exact reason and diagnostic codes (from
``Diagnostic-Code: X-400;`` when it agrees with ``Status``; else
:func:`gateway.x400.codes.x400_for` of the status), the supplementary
information, the redirection and the content fields.  What the model cannot
carry is left out: the ``dsn-field-list`` extensions of 5.1.8.3 (the DSN
itself still travels as the returned content, which the caller maps as an
IPM and sets with :func:`dataclasses.replace`).
"""

from __future__ import annotations

import dataclasses
import email
import email.message
import hashlib
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.utils import format_datetime
from typing import Literal

from gateway.dsn import fields as F
from gateway.dsn.parse import ParsedReport, parse_dsn, split_typed
from gateway.message import (
    crlf,
    fold_header_field,
    header_block,
    header_fields,
    is_binary,
    multipart_body,
    multipart_report_fields,
    unique_boundary,
)
from gateway.smtp.parser import xtext_decode, xtext_encode
from gateway.x400 import codes
from gateway.x400.asn1 import upper_bounds as ub
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import (
    Delivered,
    GlobalDomainId,
    IPMIdentifier,
    MessageEnvelope,
    MTSIdentifier,
    NonDelivered,
    ORName,
    Redirection,
    Report,
    ReportedRecipient,
    ReportRequest,
    TraceElement,
    TransferRecipient,
)
from gateway.x400.msgid import (
    format_mts_id,
    generated_mts_id,
    ipm_id_to_msgid,
    msgid_to_ipm_id,
    mts_id_from_msgid,
    parse_mts_id,
)
from gateway.x400.orname import (
    ORAddress,
    ORAddressError,
    format_std_or,
    parse_std_or,
    ps_decode,
    ps_encode,
)
from gateway.x400.timefmt import format_x400_time, parse_rfc5322_date, parse_x400_time
from gateway.x400.trace import (
    format_content_type,
    format_eits,
    format_labelled_integer,
    format_oid,
    format_x400_received,
    merged_trace,
    parse_content_type,
    parse_eits,
    parse_labelled_integer,
    parse_x400_received,
    trace_from_internet,
)

__all__ = [
    "DIAGNOSTIC_TYPE",
    "MESSAGE_TYPE",
    "X400_TYPE",
    "InternetReport",
    "dsn_to_reports",
    "report_message_id",
    "report_to_dsn",
]

# RFC 2156 5.3.8.1 / MIXER.md 7.
MESSAGE_TYPE = "Delivery Report"
# RFC 3464 2.3.6 diagnostic-type for dr-diagnostic (see the module docstring).
DIAGNOSTIC_TYPE = "X-400"
_DIAGNOSTIC_TYPES_READ = frozenset({"x-400", "x400"})
# RFC 2156 5.3.8.1: the address and MTA-name type MIXER defines.
X400_TYPE = "x400"
# RFC 2156 App. A 3.1 / 3.2 and 5.3.8.1.
ENVID_PREFIX = "SMTP/NOTARY ENVID: "
MTS_ID_PREFIX = "X400-MTS-Identifier: "

# MIXER per-message DSN fields (RFC 2156 5.3.8.1 dr-per-message-fields).
CONVERSION_DATE = "X400-Conversion-Date"
SUBJECT_SUBMISSION_ID = "X400-Subject-Submission-Identifier"
CONTENT_IDENTIFIER = "X400-Content-Identifier"
CONTENT_TYPE = "X400-Content-Type"
ORIGINAL_EITS = "X400-Original-Encoded-Information-Types"
CONTENT_CORRELATOR = "X400-Content-Correlator"
SUBJECT_TRACE = "X400-Subject-Intermediate-Trace-Information"
DISCARDED_EXTENSIONS = "X400-Discarded-DR-Extensions"
# MIXER per-recipient DSN fields (dr-per-recipient-fields).
REDIRECT_RECIPIENT = "X400-Redirect-Recipient"
MAPPED_REDIRECT_RECIPIENT = "X400-Mapped-Redirect-Recipient"
CONVERTED_EITS = "X400-Converted-EITs"
DELIVERY_TIME = "X400-Delivery-Time"
TYPE_OF_MTS_USER = "X400-Type-of-MTS-User"
LAST_TRACE = "X400-Last-Trace"
SUPPLEMENTARY_INFO = "X400-Supplementary-Info"
REDIRECTION_HISTORY = "X400-Redirection-History"
RECIPIENT_NUMBER = "X400-Originally-Specified-Recipient-Number"

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class InternetReport:
    """A DSN ready for SMTP: the null reverse-path (``mail_from == ""``,
    RFC 3461 6.2), the one recipient (5.3.8.3: the report destination) with
    NOTIFY=NEVER (``notify``, the empty set), and the message bytes (CRLF)."""

    mail_from: str
    rcpt_to: tuple[str, ...]
    content: bytes
    notify: frozenset[str] = field(default_factory=frozenset)


# --- small value formats ---------------------------------------------------------

# X.411 TypeOfMTSUser.
_MTS_USER_TYPES = {
    0: "public",
    1: "private",
    2: "ms",
    3: "dl",
    4: "pdau",
    5: "physical-recipient",
    6: "other",
}

_RedirectionReason = Literal[
    "recipient-assigned-alternate-recipient",
    "originator-requested-alternate-recipient",
    "recipient-MD-assigned-alternate-recipient",
    "directory-look-up",
    "alias",
]
# X.411 RedirectionReason -> the words of the RFC 2156 5.3.6 redirect-comment.
_REDIRECTION_TEXT: dict[_RedirectionReason, str] = {
    "recipient-assigned-alternate-recipient": "Recipient Assigned Alternate Recipient",
    "originator-requested-alternate-recipient": "Originator Requested Alternate Recipient",
    "recipient-MD-assigned-alternate-recipient": "Recipient MD Assigned Alternate Recipient",
    "directory-look-up": "Directory Look Up",
    "alias": "Alias",
}


def _one_line(text: str) -> str:
    return " ".join(_CONTROLS.sub(" ", text).split(" ")).strip()


def _fold(name: str, value: str) -> str:
    """``name: value`` ending in CRLF, controls as spaces, folded so that
    unfolding gives the value back exactly."""
    return fold_header_field(name, _CONTROLS.sub(" ", value), keep_spaces=True)


def _quoted_word(text: str) -> str:
    """An RFC 822 ``word``: an atom as it is, else a quoted-string."""
    if text and re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mailbox(name: ORName | ORAddress, gw: Gateway) -> str:
    """The RFC 822 form of an O/R name (RFC 2156 4.3.5); an address whose
    RFC-822 attribute cannot be decoded is written as std-or at the gateway."""
    address = name.address if isinstance(name, ORName) else name
    try:
        return gw.to_rfc822(address)
    except (MappingError, ORAddressError):
        text = format_std_or(address).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"@{gw.domain}'


def _x400_address(name: ORName) -> str:
    """``x400;`` address value: std-or, the directory name as a trailing
    comment (5.3.8.1)."""
    text = format_std_or(name.address)
    if name.directory_name:
        comment = re.sub(r"([()\\])", r"\\\1", _one_line(name.directory_name))
        text += f" ({comment})"
    return text


def _date(raw: str | None, gw: Gateway) -> str:
    """RFC 5322 date-time of an X.400 time; the conversion time if unreadable."""
    when = parse_x400_time(raw) if raw else None
    return format_datetime(when if when is not None else gw.now)


# --- X.400 report -> DSN (RFC 2156 5.3.8) ----------------------------------------


def _report_point(report: Report, gw: Gateway) -> str:
    """5.3.8.1 ``report-point = ["mta" mta-name "in"] global-id`` of the first
    (oldest) trace element; the MTA name from internal trace in the same
    domain."""
    if report.trace:
        domain = report.trace[0].domain
    elif report.internal_trace:
        domain = report.internal_trace[0].domain
    else:
        domain = gw.global_domain
    gid = format_std_or(domain.as_or())
    mta = _reporting_mta_name(report)
    return f"mta {_quoted_word(mta)} in {gid}" if mta else gid


def _reporting_mta_name(report: Report) -> str | None:
    domain = report.trace[0].domain if report.trace else None
    for element in report.internal_trace:
        if element.mta and (domain is None or element.domain == domain):
            return element.mta
    return None


def _originally_specified(r: ReportedRecipient) -> ORName:
    return r.originally_intended if r.originally_intended is not None else r.actual


def _failure_text(r: ReportedRecipient, outcome: NonDelivered) -> list[str]:
    reason = codes.REASONS.get(outcome.reason, f"reason {outcome.reason}")
    text = reason.replace("-", " ").capitalize()
    if outcome.diagnostic is not None:
        diagnostic = codes.DIAGNOSTICS.get(outcome.diagnostic, f"diagnostic {outcome.diagnostic}")
        text += ": " + diagnostic.replace("-", " ")
    text += f" ({codes.status_for(outcome.reason, outcome.diagnostic)})"
    lines = [text]
    if r.supplementary_info:
        lines.append(_one_line(r.supplementary_info))
    return lines


def _wrapped(text: str) -> list[str]:
    """Free text (a correlator line, the reason) as tab-indented lines of at
    most about 76 columns; a word is never split."""
    return textwrap.wrap(
        _one_line(text),
        width=70,
        initial_indent="\t",
        subsequent_indent="\t",
        break_long_words=False,
        break_on_hyphens=False,
    ) or ["\t"]


def _human_text(report: Report, gw: Gateway, *, returned: bool) -> str:
    """The first part, RFC 2156 5.3.8.1 ``dr-user-info``.  Mailboxes stay
    on one line whatever their length, so they can be copied."""
    if report.content_correlator is not None:
        correlator = report.content_correlator
    elif report.content_identifier is not None:
        correlator = report.content_identifier
    else:
        correlator = format_mts_id(report.subject)
    if report.subject_intermediate_trace:
        of = _date(report.subject_intermediate_trace[0].arrival, gw)
    else:
        of = _date(report.recipients[0].arrival if report.recipients else None, gw)
    out = ["This report relates to your message:", ""]
    for line in correlator.splitlines():
        if line.strip():
            out += _wrapped(line)
    out += ["", f"\tof {of}", ""]
    for r in report.recipients:
        mailbox = _one_line(_mailbox(_originally_specified(r), gw))
        if isinstance(r.outcome, Delivered):
            out += [
                "Your message was successfully delivered to:",
                f"\t{mailbox} at {_date(r.outcome.time, gw)}",
            ]
        else:
            out += ["Your message was not delivered to:", f"\t{mailbox}"]
            out += ["\tfor the following reason:"]
            for line in _failure_text(r, r.outcome):
                out += _wrapped(line)
        out.append("")
    out.append(
        "The Original Message follows:" if returned else "The Original Message is not available"
    )
    return "\r\n".join(out) + "\r\n"


def _subject(report: Report, gw: Gateway) -> str:
    """5.3.8.1 ``subject-line``, in the examples' spelling (module docstring)."""
    kinds = {isinstance(r.outcome, Delivered) for r in report.recipients}
    status = (
        "success and failures" if len(kinds) > 1 else ("success" if True in kinds else "failure")
    )
    subject = f"{MESSAGE_TYPE} ({status})"
    mailboxes = {_mailbox(_originally_specified(r), gw) for r in report.recipients}
    if len(mailboxes) == 1:
        subject += f" for {mailboxes.pop()}"
    else:
        mta = _reporting_mta_name(report)
        if mta:
            subject += f" for MTA {_quoted_word(mta)}"
    return subject


def _per_message_fields(report: Report, gw: Gateway) -> list[tuple[str, str]]:
    """RFC 3464 2.2 (in its order), then the MIXER fields of 5.3.8.1."""
    out: list[tuple[str, str]] = []
    correlator = report.content_correlator
    envid: str | None = None
    if correlator is not None and correlator.startswith(ENVID_PREFIX):
        envid = correlator[len(ENVID_PREFIX) :]
        correlator = None
    subject_id = format_mts_id(report.subject)
    # an ENVID goes back as it came, xtext (RFC 3464 2.2.1, RFC 3461 4.4);
    # the MTS identifier in RFC 2156 5.3.8.1's own mts-msg-id form
    out.append((F.ORIGINAL_ENVELOPE_ID, xtext_encode(envid) if envid is not None else subject_id))
    out.append((F.REPORTING_MTA, f"{X400_TYPE}; {_report_point(report, gw)}"))
    out.append((F.DSN_GATEWAY, f"dns; {gw.domain}"))
    if report.recipients:
        out.append((F.ARRIVAL_DATE, _date(report.recipients[0].arrival, gw)))
    out.append((CONVERSION_DATE, format_datetime(gw.now)))
    if envid is not None:
        out.append((SUBJECT_SUBMISSION_ID, subject_id))
    if report.content_identifier is not None:
        out.append((CONTENT_IDENTIFIER, report.content_identifier))
    if report.content_type is not None:
        out.append((CONTENT_TYPE, format_content_type(report.content_type)))
    if report.original_eits:
        out.append((ORIGINAL_EITS, format_eits(report.original_eits)))
    if correlator is not None:
        out.append((CONTENT_CORRELATOR, " ".join(correlator.split())))
    # Most recent first (5.3.8.3), the model holds them oldest first.
    for element in reversed(report.subject_intermediate_trace):
        out.append((SUBJECT_TRACE, format_x400_received(element)))
    if report.extensions:
        out.append((DISCARDED_EXTENSIONS, _extension_list(e.type for e in report.extensions)))
    return out


def _extension_list(types: Iterable[int | str]) -> str:
    """``1#(object-identifier / labelled-integer)``."""
    return ", ".join(f"({t})" if isinstance(t, int) else format_oid(t) for t in types)


def _redirection_item(item: Redirection, gw: Gateway) -> str:
    """One ``X400-Redirection-History`` value, RFC 2156 5.3.6
    ``redirection-history-item``: ``intended recipient <mailbox> redirected
    to <reason> on <date-time>``."""
    reason = _REDIRECTION_TEXT.get(item.reason, item.reason)
    return (
        f"intended recipient {_mailbox(item.intended, gw)} redirected to {reason} "
        f"on {_date(item.time, gw)}"
    )


def _per_recipient_fields(r: ReportedRecipient, gw: Gateway) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if r.originally_intended is None:
        out.append((F.ORIGINAL_RECIPIENT, f"rfc822;{_mailbox(r.actual, gw)}"))
        out.append((F.FINAL_RECIPIENT, f"{X400_TYPE};{_x400_address(r.actual)}"))
    else:
        intended = r.originally_intended
        out.append((F.ORIGINAL_RECIPIENT, f"{X400_TYPE};{_x400_address(intended)}"))
        out.append((F.FINAL_RECIPIENT, f"rfc822;{_mailbox(intended, gw)}"))
    if isinstance(r.outcome, Delivered):
        out.append((F.ACTION, "delivered"))
        out.append((F.STATUS, "2.0.0"))
    else:
        out.append((F.ACTION, "failed"))
        out.append((F.STATUS, codes.status_for(r.outcome.reason, r.outcome.diagnostic)))
        text = codes.diagnostic_code_text(r.outcome.reason, r.outcome.diagnostic)
        out.append((F.DIAGNOSTIC_CODE, f"{DIAGNOSTIC_TYPE}; {text}"))
    if r.originally_intended is not None:
        out.append((REDIRECT_RECIPIENT, f"{X400_TYPE};{_x400_address(r.actual)}"))
        out.append((MAPPED_REDIRECT_RECIPIENT, f"rfc822;{_mailbox(r.actual, gw)}"))
    if r.converted_eits:
        out.append((CONVERTED_EITS, format_eits(r.converted_eits) + ";"))
    if isinstance(r.outcome, Delivered):
        out.append((DELIVERY_TIME, _date(r.outcome.time, gw)))
        out.append(
            (TYPE_OF_MTS_USER, format_labelled_integer(r.outcome.type_of_user, _MTS_USER_TYPES))
        )
    eits = f"({format_eits(r.converted_eits)}) " if r.converted_eits else ""
    out.append((LAST_TRACE, eits + _date(r.arrival, gw)))
    if r.supplementary_info is not None:
        out.append((SUPPLEMENTARY_INFO, f'"{_one_line(r.supplementary_info)}";'))
    for item in r.redirection_history:  # earliest first (5.3.8.1)
        out.append((REDIRECTION_HISTORY, _redirection_item(item, gw)))
    out.append((RECIPIENT_NUMBER, str(r.number)))
    if r.extensions:
        out.append((DISCARDED_EXTENSIONS, _extension_list(e.type for e in r.extensions)))
    return out


def _status_part(report: Report, gw: Gateway) -> str:
    """The message/delivery-status body (RFC 3464 2.1): the per-message
    group, then one group per recipient, separated by empty lines."""
    groups = [_per_message_fields(report, gw)]
    groups += [_per_recipient_fields(r, gw) for r in report.recipients]
    return "\r\n".join("".join(_fold(n, v) for n, v in g) for g in groups)


def _returned_part(returned: bytes, *, whole: bool) -> tuple[str, str, bytes] | None:
    """(content type, transfer encoding, body) of the third part: the message
    as message/rfc822 for a report with failures, its header as
    text/rfc822-headers for successes only (5.3.8.1; RFC 6522 5).  Data that
    is not valid 7bit/8bit MIME (NUL, lines over 998) is reduced to the
    header."""
    content = crlf(returned)
    if whole and content and not is_binary(content):
        return "message/rfc822", "7bit" if content.isascii() else "8bit", content
    header = crlf(header_block(content)) if content else b""
    if not header.strip() or b"\x00" in header:
        return None
    return "text/rfc822-headers", "7bit" if header.isascii() else "8bit", header


def report_message_id(identifier: MTSIdentifier) -> str:
    """The Message-ID of the DSN for a report: ``<"local*/global-id/"@MHS>``
    (RFC 2156 5.3.8.3 "may also be used to derive a Message-Id", in the
    4.7.3.2 form), the local identifier ps-encoded (3.4) as the
    printablestring that form needs."""
    local = ps_encode(identifier.local)  # IA5 -> PrintableString (3.4): "*", "@", "<"...
    return ipm_id_to_msgid(IPMIdentifier(user=identifier.domain.as_or(), local=local))


# Header fields report_to_dsn writes itself: not copied from rfc822_headers.
_OWN_FIELDS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "message-type",
        "x400-mts-identifier",
        "x400-content-identifier",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "auto-submitted",
        "received",
        "x400-received",
    }
)


def report_to_dsn(report: Report, gw: Gateway, *, returned: bytes | None = None) -> InternetReport:
    """The DSN for an X.400 report (RFC 2156 5.3.8), addressed to the report
    destination.  ``returned`` is the returned content already translated to
    an Internet message (bytes), when the report carried it.

    The header holds the trace (5.3.7, newest first), From the gateway
    administrator (5.3.2), To the report destination, Subject, Message-Type,
    Date from the report's trace, Message-ID and X400-MTS-Identifier from the
    report identifier (5.3.8.3), any dsn-header-list fields the report came
    with (5.1.8.3, when a DSN was mapped to it), and the MIME fields."""
    destination = _mailbox(report.destination, gw)
    failures = any(isinstance(r.outcome, NonDelivered) for r in report.recipients)
    third = _returned_part(returned, whole=failures) if returned is not None else None
    human = _human_text(report, gw, returned=third is not None).encode("ascii", "replace")
    status = _status_part(report, gw).encode("ascii", "replace")

    seed = hashlib.sha256()
    for item in (human, status, third[2] if third else b""):
        seed.update(len(item).to_bytes(8, "big") + item)
    digest = seed.hexdigest()
    bodies = human + status + (third[2] if third else b"")
    boundary = unique_boundary(f"=_mixer_{digest[:24]}", bodies)

    head: list[str] = []
    for element in merged_trace(report.trace, report.internal_trace):
        head.append(_fold("X400-Received", format_x400_received(element)))
    oldest = report.trace[0].arrival if report.trace else None
    head += [
        _fold("From", gw.admin),
        _fold("To", destination),
        _fold("Subject", _subject(report, gw)),
        _fold("Message-Type", MESSAGE_TYPE),
        _fold("Date", _date(oldest, gw)),
        f"Message-ID: {report_message_id(report.identifier)}\r\n",  # never folded
        _fold("X400-MTS-Identifier", format_mts_id(report.identifier)),
    ]
    if report.content_identifier is not None:
        head.append(_fold("X400-Content-Identifier", report.content_identifier))
    for line in report.rfc822_headers:
        name, sep, value = line.partition(":")
        if sep and name.strip() and name.strip().lower() not in _OWN_FIELDS:
            head.append(_fold(name.strip(), value.strip()))
    eight_bit = not bodies.isascii()
    head += [
        "MIME-Version: 1.0\r\n",
        "Auto-Submitted: auto-replied\r\n",  # RFC 3834 5
        *multipart_report_fields(F.REPORT_TYPE, boundary, eight_bit=eight_bit),
        "\r\n",
    ]
    parts = [
        ("Content-Type: text/plain; charset=us-ascii\r\n", human),
        (f"Content-Type: {F.STATUS_TYPE}\r\n", status),
    ]
    if third is not None:
        ctype, encoding, body = third
        parts.append((f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: {encoding}\r\n", body))
    content = "".join(head).encode("ascii", "replace") + multipart_body(boundary, parts)
    return InternetReport(mail_from="", rcpt_to=(destination,), content=content)


# --- DSN -> X.400 report (RFC 2156 5.1.8) ----------------------------------------

_TRACE_FIELDS = frozenset({"received", "x400-received"})
_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient", "action"})

Group = list[tuple[str, str]]


def _first(group: Group, name: str) -> str | None:
    """The first value of a field (names compared without case)."""
    wanted = name.lower()
    return next((v for n, v in group if n.lower() == wanted), None)


def _every(group: Group, name: str) -> list[str]:
    wanted = name.lower()
    return [v for n, v in group if n.lower() == wanted]


def _status_groups(content: bytes, parsed: ParsedReport) -> tuple[Group, list[Group]]:
    """The per-message group and the recipient groups, every field kept
    (repeated ones too: X400-Subject-Intermediate-Trace-Information,
    X400-Redirection-History).  parse_dsn keeps only the first of each, so
    the message/delivery-status part is read again here through the email
    package, which splits it into one block per group; when that gives
    nothing (message/global-delivery-status), parse_dsn's groups are used."""
    msg = email.message_from_bytes(content, policy=policy.compat32)
    for part in msg.walk():
        if part.get_content_type() != F.STATUS_TYPE:
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            break
        groups = [
            [(n, _unfold(str(v))) for n, v in b.items()]
            for b in blocks
            if isinstance(b, email.message.Message)
        ]
        recipients = [g for g in groups[1:] if {n.lower() for n, _ in g} & _RECIPIENT_FIELDS]
        if groups and recipients:
            return groups[0], recipients
        break
    return list(parsed.per_message.items()), [list(g.items()) for g in parsed.recipients]


def _unfold(value: str) -> str:
    """RFC 5322 2.2.3 unfolding: the line breaks go, the spaces stay."""
    return re.sub(r"\r?\n", "", value).strip()


def _same_address(typed: str | None, name: ORName, gw: Gateway) -> bool:
    """Whether a typed DSN address names ``name``: an ``rfc822`` one when it
    is ``name``'s mailbox (the 5.3.8.1 Original-Recipient of a recipient
    that was not redirected), an ``x400`` one when the O/R addresses match."""
    if typed is None:
        return False
    addr_type, address = split_typed(typed)
    if addr_type == X400_TYPE:
        other = _to_or_name(typed, gw)
        return other is not None and other.address == name.address
    return address.strip().strip("<>").lower() == _mailbox(name, gw).lower()


def _to_or_name(value: str | None, gw: Gateway) -> ORName | None:
    """The O/R name of a typed address: ``x400`` (std-or, 5.3.8.1) or
    ``rfc822`` (mapped by 4.3.4); None when there is none or it maps to
    nothing."""
    if value is None:
        return None
    addr_type, address = split_typed(value)
    if addr_type == X400_TYPE:
        text = address.partition(" (")[0]  # a directory name comment
        try:
            return ORName(parse_std_or(text.strip()))
        except ORAddressError:
            return None
    address = address.strip().strip("<>")
    if not address:
        return None
    try:
        return ORName(gw.to_or(address))
    except (MappingError, ORAddressError, UnicodeError):
        return None


def _envelope_id(value: str | None) -> str | None:
    """The ENVID of an Original-Envelope-Id field, which carries it as xtext
    (RFC 3464 2.2.1, RFC 3461 4); a value that is no xtext (5.3.8.1's bare
    ``mts-msg-id`` has spaces and ``=``) is taken as it stands."""
    if value is None:
        return None
    try:
        return xtext_decode(value)
    except ValueError:
        return value


def _subject_identifier(
    envid: str | None, per_message: Group, envelope: MessageEnvelope | None
) -> MTSIdentifier | None:
    """5.1.8.3: from ``Original-Envelope-Id: X400-MTS-Identifier: [..]``;
    also the bare ``mts-msg-id`` that 5.3.8.1 writes and the
    ``X400-Subject-Submission-Identifier`` field (5.1.8.5); else the subject
    envelope's identifier."""
    if envid is not None:
        text = envid[len(MTS_ID_PREFIX) :] if envid.startswith(MTS_ID_PREFIX) else envid
        ident = parse_mts_id(text)
        if ident is not None:
            return ident
    for name in (SUBJECT_SUBMISSION_ID, "X400-Subject-Submision-Identifier"):
        value = _first(per_message, name)
        if value is not None and (ident := parse_mts_id(value)) is not None:
            return ident
    return envelope.identifier if envelope is not None else None


def _report_identifier(message_id: str | None, content: bytes, gw: Gateway) -> MTSIdentifier:
    """5.1.8.3: from the DSN's Message-Id (our own ``@MHS`` form of
    :func:`report_message_id` gives the X.400 identifier back, any other
    one the 4.6.3 mapping), else generated."""
    if message_id is None:
        return generated_mts_id(gw, content)
    ipm = msgid_to_ipm_id(message_id)
    user = ipm.user
    if (
        user is not None
        and ipm.local is not None
        and user.country is not None
        and user == ORAddress(user.country, user.admd, user.prmd)
    ):
        try:
            local = ps_decode(ipm.local)
        except ORAddressError:
            local = ipm.local
        if local.isascii() and 0 < len(local) <= ub.ub_local_id_length:
            domain = GlobalDomainId(user.country, user.admd or " ", user.prmd)
            return MTSIdentifier(domain, local)
    return mts_id_from_msgid(message_id, gw)


def _last_trace(
    group: Group, arrival_date: str | None, date: datetime
) -> tuple[str, tuple[str, ...] | None]:
    """(arrival time, converted EITs) of last-trace-information:
    X400-Last-Trace (5.1.8.5), else Arrival-Date, else the DSN's Date
    (5.1.8.3).  The EITs from X400-Last-Trace or X400-Converted-EITs."""
    when: datetime | None = None
    eits_text: str | None = None
    last = _first(group, LAST_TRACE)
    if last is not None:
        match = re.match(r"\s*\(([^()]*)\)\s*(.*)$", last)
        if match:
            eits_text, last = match.group(1), match.group(2)
        when = parse_rfc5322_date(last.strip().rstrip(";"))
    if when is None and arrival_date is not None:
        when = parse_rfc5322_date(arrival_date)
    if eits_text is None:
        eits_text = _first(group, CONVERTED_EITS)
    eits: tuple[str, ...] | None = None
    if eits_text is not None and eits_text.strip().rstrip(";").strip():
        try:
            eits = parse_eits(eits_text.strip().rstrip(";"))
        except ValueError:
            eits = None
    return format_x400_time(when if when is not None else date), eits


def _printable(text: str, limit: int) -> str:
    """``text`` ps-encoded (RFC 2156 3.4) and cut to ``limit`` characters,
    not inside a ``(..)`` escape."""
    encoded = ps_encode("".join(c if c.isascii() and c.isprintable() else "?" for c in text))
    if len(encoded) > limit:
        encoded = encoded[:limit]
        opening = encoded.rfind("(")
        if opening != -1 and ")" not in encoded[opening:]:
            encoded = encoded[:opening]
    return encoded


def _supplementary(group: Group) -> str | None:
    """X400-Supplementary-Info (5.1.8.5); for an Internet DSN, the
    Diagnostic-Code (with the Remote-MTA that gave it) so that the X.400 user
    sees why, as a PrintableString (3.4 encoding) of at most
    ub-supplementary-info-length."""
    limit = ub.ub_supplementary_info_length
    value = _first(group, SUPPLEMENTARY_INFO)
    if value is not None:
        text = value.strip().rstrip(";").strip()
        if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
            text = text[1:-1]
        return text[:limit] or None
    diagnostic = _first(group, F.DIAGNOSTIC_CODE)
    if diagnostic is None:
        return None
    dtype, text = split_typed(diagnostic)
    if dtype in _DIAGNOSTIC_TYPES_READ:
        return None
    remote = _first(group, F.REMOTE_MTA)
    if remote:
        text = f"{split_typed(remote)[1]}: {text}"
    return _printable(text, limit) or None


def _non_delivery(group: Group) -> NonDelivered:
    """Reason and diagnostic: the exact pair of an ``X-400`` (or ``x400``)
    Diagnostic-Code when it gives the Status that is there (5.1.8.5: a DSN
    made from an X.400 report), else by the 5.1.8.4 table."""
    status = (_first(group, F.STATUS) or "").strip()
    diagnostic = _first(group, F.DIAGNOSTIC_CODE)
    if diagnostic is not None:
        dtype, text = split_typed(diagnostic)
        if dtype in _DIAGNOSTIC_TYPES_READ:
            pair = codes.parse_diagnostic_code_text(text)
            if pair is not None and codes.status_for(*pair) == status.split(" ")[0]:
                return NonDelivered(*pair)
    return NonDelivered(*codes.x400_for(status))


def _delivered(group: Group, arrival: str) -> Delivered:
    """5.1.8.3: type-of-MTS-user public, delivery time = arrival time; the
    MIXER fields instead when present (5.1.8.5)."""
    time = arrival
    value = _first(group, DELIVERY_TIME)
    if value is not None and (when := parse_rfc5322_date(value)) is not None:
        time = format_x400_time(when)
    user = _first(group, TYPE_OF_MTS_USER)
    kind = parse_labelled_integer(user) if user is not None else None
    return Delivered(time=time, type_of_user=kind if kind is not None else 0)


def _action(group: Group) -> str:
    action = (_first(group, F.ACTION) or "").strip().lower()
    return "failed" if action == "failure" else action  # the 5.3.8.4 examples


_REDIRECTION_REASONS = {text.lower(): reason for reason, text in _REDIRECTION_TEXT.items()}


_REDIRECTION_ITEM = re.compile(
    r"^\s*intended\s+recipient\s+(.+?)\s+redirected\s+to\s+(.+?)\s+on\s+(.+?)\s*$",
    re.IGNORECASE,
)


def _redirections(group: Group, gw: Gateway) -> tuple[Redirection, ...]:
    """X400-Redirection-History fields (``redirection-history-item``),
    earliest first; values that do not parse are skipped.  The intended
    recipient comes back through its RFC 822 mailbox (4.3.4)."""
    out: list[Redirection] = []
    for value in _every(group, REDIRECTION_HISTORY):
        match = _REDIRECTION_ITEM.match(value)
        if match is None:
            continue
        mailbox, reason_text, date_text = match.groups()
        reason = _REDIRECTION_REASONS.get(" ".join(reason_text.split()).lower())
        when = parse_rfc5322_date(date_text)
        intended = _to_or_name(f"rfc822;{mailbox}", gw)
        if reason is None or when is None or intended is None:
            continue
        out.append(Redirection(intended=intended, time=format_x400_time(when), reason=reason))
    return tuple(out)


def _envelope_recipient(
    envelope: MessageEnvelope | None, names: Sequence[ORName | None]
) -> TransferRecipient | None:
    if envelope is None:
        return None
    for wanted in names:
        if wanted is None:
            continue
        for r in envelope.recipients:
            if r.name.address == wanted.address:
                return r
    return None


def _recipient(
    group: Group,
    arrival_date: str | None,
    date: datetime,
    gw: Gateway,
    envelope: MessageEnvelope | None,
) -> ReportedRecipient | None:
    """PerRecipientReportTransferFields of one recipient group (5.1.8.3);
    None if the group names no address that maps to an O/R name."""
    final = _to_or_name(_first(group, F.FINAL_RECIPIENT), gw)
    original = _to_or_name(_first(group, F.ORIGINAL_RECIPIENT), gw)
    redirect = _to_or_name(_first(group, REDIRECT_RECIPIENT), gw)
    actual: ORName | None = final or original
    intended: ORName | None = original
    if redirect is not None:  # the 5.3.8.1 form of a redirected recipient
        actual, intended = redirect, original or final
    if actual is None:
        return None
    if intended is not None and (
        intended.address == actual.address
        or (redirect is None and _same_address(_first(group, F.ORIGINAL_RECIPIENT), actual, gw))
    ):
        intended = None
    arrival, converted = _last_trace(group, arrival_date, date)
    outcome: Delivered | NonDelivered
    request: ReportRequest
    if _action(group) == "delivered":
        outcome, request = _delivered(group, arrival), "report"
    else:
        outcome, request = _non_delivery(group), "non-delivery-report"
    number = 0
    value = _first(group, RECIPIENT_NUMBER)
    if value is not None and value.strip().isdigit():
        number = int(value.strip())
    sent = _envelope_recipient(envelope, (intended, actual))
    if sent is not None:
        number = number or sent.number
    return ReportedRecipient(
        actual=actual,
        number=number,
        outcome=outcome,
        arrival=arrival,
        converted_eits=converted,
        # 5.1.8.3: "bit one or two ... is set accordingly", unless the
        # subject envelope says what was asked.
        mta_report=sent.mta_report if sent is not None else request,
        originator_report=sent.originator_report if sent is not None else request,
        originally_intended=intended,
        supplementary_info=_supplementary(group),
        redirection_history=_redirections(group, gw),
    )


def _numbered(recipients: Sequence[ReportedRecipient]) -> tuple[ReportedRecipient, ...]:
    """5.1.8.3: numbers not known are assigned incrementally (1, 2, ...),
    skipping those already taken."""
    taken = {r.number for r in recipients if r.number > 0}
    out: list[ReportedRecipient] = []
    n = 0
    for r in recipients:
        if r.number <= 0:
            n += 1
            while n in taken:
                n += 1
            taken.add(n)
            r = dataclasses.replace(r, number=n)
        out.append(r)
    return tuple(out)


def _subject_trace(per_message: Group) -> tuple[TraceElement, ...]:
    """X400-Subject-Intermediate-Trace-Information: most recent first in
    the DSN, oldest first in the model; unreadable values are skipped."""
    out: list[TraceElement] = []
    for value in reversed(_every(per_message, SUBJECT_TRACE)):
        try:
            out.append(parse_x400_received(value))
        except ValueError:
            continue
    return tuple(out)


def _content_fields(
    per_message: Group, envid: str | None, envelope: MessageEnvelope | None
) -> tuple[int | str | None, str | None, tuple[str, ...] | None, str | None]:
    """(content type, content identifier, original EITs, content correlator)
    from the subject envelope when known, else from the MIXER fields
    (5.1.8.5); an ENVID that is not an X.400 identifier goes back into the
    correlator it came from (App. A 3.1, 5.3.8.1)."""
    if envelope is not None:
        return (
            envelope.content_type,
            envelope.content_identifier,
            envelope.original_eits,
            envelope.content_correlator,
        )
    content_type = None
    if (value := _first(per_message, CONTENT_TYPE)) is not None:
        content_type = parse_content_type(value)
    original_eits: tuple[str, ...] | None = None
    if (value := _first(per_message, ORIGINAL_EITS)) is not None:
        try:
            original_eits = parse_eits(value) or None
        except ValueError:
            original_eits = None
    correlator = _first(per_message, CONTENT_CORRELATOR)
    if (
        correlator is None
        and envid is not None
        and not envid.startswith(MTS_ID_PREFIX)
        and parse_mts_id(envid) is None
    ):
        correlator = ENVID_PREFIX + envid
    return content_type, _first(per_message, CONTENT_IDENTIFIER), original_eits, correlator


def dsn_to_reports(
    content: bytes,
    rcpt_to: str,
    gw: Gateway,
    *,
    subject_envelope: MessageEnvelope | None = None,
) -> tuple[Report | None, bytes | None]:
    """The X.400 report for a DSN addressed (SMTP RCPT) to ``rcpt_to``, and
    the DSN again when it must also go on as an ordinary message (RFC 2156
    5.1.8.3).

    Recipients with ``Action: failed`` become non-delivery and those with
    ``delivered`` delivery recipients of one Report.  When any recipient is
    ``delayed``, ``relayed`` or ``expanded`` (or has an unknown action, or an
    address that maps to nothing) the DSN bytes come back second, to be
    translated as an IPM: 5.1.8.3 generates both when the recipients differ.
    Content that is not a DSN gives ``(None, content)``.

    ``subject_envelope`` is the envelope of the reported message when the
    caller knows it: it gives the subject identifier when the DSN does not,
    the recipients' numbers and report requests, and the content fields.
    ``returned_content`` is left unset: the caller maps the whole DSN as an
    IPM (5.1.8.3) and sets it, with ``content_type``, by
    :func:`dataclasses.replace`."""
    parsed = parse_dsn(content)
    if parsed is None:
        return None, content
    per_message, groups = _status_groups(content, parsed)
    header = header_fields(content)
    # Read here, not from parsed.message_id: ours holds a std-or, spaces and all.
    message_id = next((v for n, v in header if n.lower() == "message-id"), None)
    date = next((parse_rfc5322_date(v) for n, v in header if n.lower() == "date"), None)
    when = date if date is not None else gw.now

    reported: list[ReportedRecipient] = []
    as_message = False
    for group in groups:
        recipient = None
        if _action(group) in ("failed", "delivered"):
            recipient = _recipient(group, parsed.arrival_date, when, gw, subject_envelope)
        if recipient is None:
            as_message = True
        else:
            reported.append(recipient)
    if not reported:
        return None, content

    received = [v for n, v in header if n.lower() == "received"]
    x400_received = [v for n, v in header if n.lower() == "x400-received"]
    external, internal = trace_from_internet(received, x400_received, when, gw)
    try:
        destination = ORName(gw.to_or(rcpt_to.strip().strip("<>")))
    except (MappingError, ORAddressError, UnicodeError):
        destination = ORName(gw.or_address)
    envid = _envelope_id(parsed.original_envelope_id)
    subject = _subject_identifier(envid, per_message, subject_envelope)
    if subject is None:
        subject = generated_mts_id(gw, b"subject-identifier\x00" + content)
    content_type, content_identifier, original_eits, correlator = _content_fields(
        per_message, envid, subject_envelope
    )
    report = Report(
        identifier=_report_identifier(message_id, content, gw),
        destination=destination,
        trace=external,
        subject=subject,
        recipients=_numbered(reported),
        internal_trace=internal,
        subject_intermediate_trace=_subject_trace(per_message),
        original_eits=original_eits,
        content_type=content_type,
        content_identifier=content_identifier,
        content_correlator=correlator,
        # 5.1.8.3: every header field but trace goes into dsn-header-list.
        rfc822_headers=tuple(f"{n}: {v}" for n, v in header if n.lower() not in _TRACE_FIELDS),
    )
    return report, (content if as_message else None)
