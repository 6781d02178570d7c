"""X.420 interpersonal notifications <-> RFC 8098 message disposition
notifications.

:func:`ipn_to_internet` writes an IPN (receipt or non-receipt notification)
as an MDN, ``multipart/report; report-type=disposition-notification``
(RFC 8098 3.1, RFC 6522), whose header is the message of RFC 2156 5.3.5
(Subject ``X.400 Inter-Personal Notification``, ``Message-Type:
InterPersonal Notification``, References the subject IPM) and whose first
part is the 5.3.5 ``ipn-body-format`` text.  :func:`mdn_to_ipn` maps an MDN
back to an IPN.  Pure functions: the clock reading is ``Gateway.now``.

RFC 2156 predates MDNs and maps an IPN to a plain text message; writing an
MDN with the same header and text keeps everything 5.3.5 asks for and lets
Internet user agents recognise the notification.

Dispositions (RFC 8098 3.2.6):

======================================  ==================================================
X.420 IPN                               Disposition
======================================  ==================================================
receipt, acknowledgment-mode automatic  ``manual-action/MDN-sent-automatically; displayed``
receipt, acknowledgment-mode manual     ``manual-action/MDN-sent-manually; displayed``
non-receipt, discarded: ipm-expired,    ``automatic-action/MDN-sent-automatically; deleted``
ipm-obsoleted, user-subscription-
terminated, or no reason
non-receipt, discarded: not-used        ``manual-action/MDN-sent-automatically; deleted``
(ISO 10021 ipm-deleted: the user
deleted it unread)
non-receipt, auto-forwarded             ``automatic-action/MDN-sent-automatically;
                                        dispatched``
======================================  ==================================================

Decisions:

- A receipt is always ``manual-action``: the message was displayed to the
  user.  The X.420 acknowledgment-mode says how the notification was sent
  (X.420 7.3.x: by the user's explicit acknowledgment or automatically on
  receipt), which is RFC 8098's sending-mode; ``automatic-action`` would
  say the message was displayed without the user, which a receipt never
  means.
- ``dispatched`` is still an RFC 8098 disposition type (3.2.6.2; its
  section 4 timeline lists it for automatic processing), so an automatic
  forwarding is ``dispatched``.  What RFC 8098 dropped are the
  ``expired``, ``mailbox-terminated``, ``superseded`` and ``warning``
  modifiers (and the ``denied``/``failed`` types), so the discard reason
  travels only in the 5.3.5 text, where :func:`mdn_to_ipn` reads it back.
- An absent discard reason is written ``IPM Deleted`` (the 5.3.5 text needs
  one) and so comes back as ``not-used``.
- Back from the Internet: ``displayed`` -> receipt (acknowledgment-mode from
  the sending-mode, receipt time from the 5.3.5 text, else the MDN's
  ``Date:``), ``deleted`` -> non-receipt ``ipm-discarded`` (reason from the
  text, else ``not-used`` for a manual action), ``dispatched`` ->
  non-receipt ``ipm-auto-forwarded``; ``processed``, an ``error``
  modifier and the obsolete types have no X.420 equivalent: ``None``, and
  the MDN goes on as an ordinary message.
- The returned IPM of a non-receipt is passed in already translated
  (``returned``) and goes as the third, ``message/rfc822`` part (RFC 8098
  3.1; 5.3.5 asks for it "after the text body part").  It is not mapped
  back: the caller translates that part if it wants it.
"""

from __future__ import annotations

import email
import email.message
import hashlib
import re
from email import policy
from email.utils import format_datetime
from typing import Literal

from gateway.message import (
    crlf,
    fold_header_field,
    header_fields,
    multipart_body,
    multipart_report_fields,
    unique_boundary,
)
from gateway.x400.context import Gateway
from gateway.x400.heading import AddressListError, mailbox_to_ordescriptor, ordescriptor_to_mailbox
from gateway.x400.mapping import MappingError
from gateway.x400.model import IPN, IPMIdentifier, NonReceipt, ORDescriptor, ORName, Receipt
from gateway.x400.msgid import ipm_id_to_msgid, msgid_to_ipm_id, split_msg_id
from gateway.x400.orname import ORAddressError, parse_std_or
from gateway.x400.timefmt import format_x400_time, parse_rfc5322_date, parse_x400_time
from gateway.x400.trace import format_eits, parse_eits

__all__ = [
    "MESSAGE_TYPE",
    "REPORT_TYPE",
    "STATUS_TYPE",
    "SUBJECT",
    "SUBJECT_FAILURE",
    "disposition_for",
    "ipn_to_internet",
    "mdn_to_ipn",
]

# RFC 2156 5.3.5.
SUBJECT = "X.400 Inter-Personal Notification"
SUBJECT_FAILURE = SUBJECT + " (failure)"
MESSAGE_TYPE = "InterPersonal Notification"
# RFC 8098 3.1 / RFC 6533 6 (the internationalised form, read only).
REPORT_TYPE = "disposition-notification"
STATUS_TYPE = "message/disposition-notification"
_STATUS_TYPES = frozenset({STATUS_TYPE, "message/global-disposition-notification"})

DiscardReason = Literal["ipm-expired", "ipm-obsoleted", "user-subscription-terminated", "not-used"]

# RFC 2156 5.3.5 discard-reason words.
_DISCARD_WORDS: dict[DiscardReason, str] = {
    "ipm-expired": "Expired",
    "ipm-obsoleted": "Obsoleted",
    "user-subscription-terminated": "User Subscription Terminated",
    "not-used": "IPM Deleted",  # ISO 10021 ipm-deleted(3)
}
_DISCARD_REASONS: dict[str, DiscardReason] = {w.lower(): r for r, w in _DISCARD_WORDS.items()}

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def disposition_for(fields: Receipt | NonReceipt) -> str:
    """The RFC 8098 3.2.6 Disposition of an IPN (module docstring table)."""
    if isinstance(fields, Receipt):
        sending = "MDN-sent-automatically"
        if fields.acknowledgment_mode == "manual":
            sending = "MDN-sent-manually"
        return f"manual-action/{sending}; displayed"
    if fields.reason == "ipm-auto-forwarded":
        return "automatic-action/MDN-sent-automatically; dispatched"
    if fields.discard_reason == "not-used":
        return "manual-action/MDN-sent-automatically; deleted"
    return "automatic-action/MDN-sent-automatically; deleted"


# --- IPN -> MDN ---------------------------------------------------------------


def _one_line(text: str) -> str:
    return _CONTROLS.sub(" ", text).strip()


def _fold(name: str, value: str) -> str:
    """``name: value`` with CRLF, controls as spaces, folded so that
    unfolding gives the value back exactly."""
    return fold_header_field(name, _CONTROLS.sub(" ", value), keep_spaces=True)


def _mailbox(d: ORDescriptor | None, gw: Gateway) -> str | None:
    """The RFC 822 mailbox of an ORDescriptor (4.7.2), None if it has none
    or its address cannot be mapped."""
    if d is None:
        return None
    try:
        return ordescriptor_to_mailbox(d, gw)
    except (MappingError, ORAddressError):
        return None


def _addr_spec(d: ORDescriptor | None, gw: Gateway) -> str | None:
    """The addr-spec of an ORDescriptor's formal name, for the MDN's
    ``rfc822;`` address fields."""
    if d is None or d.formal is None:
        return None
    try:
        return gw.to_rfc822(d.formal)
    except (MappingError, ORAddressError):
        return None


def _time(raw: str, gw: Gateway) -> str:
    when = parse_x400_time(raw)
    return format_datetime(when if when is not None else gw.now)


def _ipn_text(ipn: IPN, gw: Gateway, *, returned: bool) -> str:
    """RFC 2156 5.3.5 ``ipn-body-format``, lines joined with CRLF."""
    preferred = ipn.intended_recipient or ipn.ipn_originator
    mailbox = _mailbox(preferred, gw) or "(unknown recipient)"
    out = [f"Your message to: {_one_line(mailbox)}"]
    fields = ipn.fields
    if isinstance(fields, Receipt):
        mode = "Manually" if fields.acknowledgment_mode == "manual" else "Automatically"
        out += [f"was received at {_time(fields.time, gw)}", ""]
        out.append(f"This notification was generated {mode}")
        if fields.supplementary_info is not None:
            out += ["The following extra information was given:"]
            out += [f"   {_one_line(fields.supplementary_info)}"]
    elif fields.reason == "ipm-discarded":
        word = _DISCARD_WORDS[fields.discard_reason or "not-used"]
        out.append(f"was discarded for the following reason: {word}")
    else:
        out.append("was automatically forwarded.")
        if fields.auto_forward_comment is not None:
            out += ["The following comment was made:"]
            out += [f"   {_one_line(fields.auto_forward_comment)}"]
    if ipn.conversion_eits:
        out += [
            "",
            f"The following information types were converted: {format_eits(ipn.conversion_eits)}",
        ]
    if isinstance(fields, NonReceipt):  # 5.3.5: always, and only, for a non-receipt
        out += [
            "",
            "The Original Message follows:"
            if returned
            else "The Original Message is not available",
        ]
    return "\r\n".join(out) + "\r\n"


def _status_fields(ipn: IPN, gw: Gateway) -> str:
    """The message/disposition-notification body (RFC 8098 3.2)."""
    out: list[str] = [_fold("MDN-Gateway", f"dns;{gw.domain}")]  # 3.2.2
    final = _addr_spec(ipn.ipn_originator, gw) or _addr_spec(ipn.intended_recipient, gw)
    original = _addr_spec(ipn.intended_recipient, gw)
    if original is not None and original != final:  # 3.2.3
        out.append(_fold("Original-Recipient", f"rfc822;{original}"))
    out.append(_fold("Final-Recipient", f"rfc822;{final or _admin_address(gw)}"))  # 3.2.4
    out.append(_fold("Original-Message-ID", ipm_id_to_msgid(ipn.subject_ipm)))  # 3.2.5
    out.append(_fold("Disposition", disposition_for(ipn.fields)))  # 3.2.6
    return "".join(out)


def _admin_address(gw: Gateway) -> str:
    """The addr-spec inside ``Gateway.admin`` (which may carry a phrase)."""
    match = re.search(r"<([^<>]+)>", gw.admin)
    return match.group(1) if match else gw.admin.strip()


def ipn_to_internet(ipn: IPN, gw: Gateway, *, to: str, returned: bytes | None = None) -> bytes:
    """The MDN for an IPN (RFC 2156 5.3.5, RFC 8098), CRLF line ends.

    ``to`` is the notification's recipient as an RFC 822 mailbox (5.3.5:
    from the submission envelope, the original address if it was
    redirected).  ``returned`` is the returned IPM of a non-receipt already
    translated to an Internet message.  The caller sends it with a null
    reverse-path (RFC 8098 3: MAIL FROM:<>)."""
    subject = SUBJECT if isinstance(ipn.fields, Receipt) else SUBJECT_FAILURE
    with_returned = returned is not None and isinstance(ipn.fields, NonReceipt)
    human = _ipn_text(ipn, gw, returned=with_returned).encode("ascii", "replace")
    status = _status_fields(ipn, gw).encode("ascii", "replace")
    third = crlf(returned) if with_returned and returned is not None else b""

    digest = hashlib.sha256(
        b"\x00".join((human, status, third, gw.now.isoformat().encode(), to.encode()))
    ).hexdigest()
    boundary = unique_boundary(f"=_ipn_{digest[:24]}", human + status + third)
    sender = _mailbox(ipn.ipn_originator, gw) or _mailbox(ipn.intended_recipient, gw) or gw.admin
    head = [
        _fold("From", _one_line(sender)),
        _fold("To", _one_line(to)),
        _fold("Subject", subject),
        _fold("Message-Type", MESSAGE_TYPE),
        _fold("References", ipm_id_to_msgid(ipn.subject_ipm)),
        _fold("Date", format_datetime(gw.now)),
        f"Message-ID: <{digest[24:48]}.{gw.now:%Y%m%d%H%M%S}@{gw.domain}>\r\n",
        "MIME-Version: 1.0\r\n",
    ]
    if "MDN-sent-automatically" in disposition_for(ipn.fields):
        head.append("Auto-Submitted: auto-replied\r\n")  # RFC 3834 5
    head += [
        *multipart_report_fields(REPORT_TYPE, boundary, eight_bit=not third.isascii()),
        "\r\n",
    ]
    parts = [
        ("Content-Type: text/plain; charset=us-ascii\r\n", human),
        (f"Content-Type: {STATUS_TYPE}\r\n", status),
    ]
    if third:
        encoding = "7bit" if third.isascii() else "8bit"
        parts.append(
            (f"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: {encoding}\r\n", third)
        )
    return "".join(head).encode("ascii", "replace") + multipart_body(boundary, parts)


# --- MDN -> IPN -----------------------------------------------------------------


def _text_of(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _mdn_parts(content: bytes) -> tuple[list[tuple[str, str]], str] | None:
    """(the disposition-notification fields, the human text) of an MDN."""
    msg = email.message_from_bytes(content, policy=policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if report_type and report_type not in (REPORT_TYPE, "global-disposition-notification"):
        return None
    parts = [p for p in msg.get_payload() if isinstance(p, email.message.Message)]
    fields: list[tuple[str, str]] | None = None
    text = ""
    for part in parts:
        ctype = part.get_content_type()
        if ctype in _STATUS_TYPES and fields is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                fields = [(n, _unfold(str(v))) for n, v in inner[0].items()]
            else:
                fields = header_fields(_text_of(part).encode("utf-8", "replace"))
        elif ctype == "text/plain" and not text and fields is None:
            text = _text_of(part)
    return (fields, text) if fields else None


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n", "", value).strip()


def _first(fields: list[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((v for n, v in fields if n.lower() == wanted), None)


_DISPOSITION = re.compile(
    r"^\s*(manual-action|automatic-action)\s*/\s*(MDN-sent-manually|MDN-sent-automatically)"
    r"\s*;\s*([A-Za-z-]+)\s*(?:/\s*(.*))?$",
    re.IGNORECASE,
)


def _descriptor(mailbox: str | None, gw: Gateway) -> ORDescriptor | None:
    if not mailbox:
        return None
    try:
        return mailbox_to_ordescriptor(mailbox, gw)
    except (AddressListError, MappingError, ORAddressError, UnicodeError):
        return None


def _typed_descriptor(value: str | None, gw: Gateway) -> ORDescriptor | None:
    """An ``rfc822;addr`` (or ``x400;std-or``) MDN address field."""
    if value is None:
        return None
    addr_type, _, address = value.partition(";")
    if addr_type.strip().lower() == "x400":
        try:
            return ORDescriptor(formal=ORName(parse_std_or(address.strip())))
        except ORAddressError:
            return None
    return _descriptor(address.strip(), gw)


def _subject_ipm(
    fields: list[tuple[str, str]], header: list[tuple[str, str]]
) -> IPMIdentifier | None:
    """RFC 8098 3.2.5 Original-Message-ID; else the last msg-id of the
    MDN's References: (5.3.5 writes the subject IPM there) or In-Reply-To:."""
    candidates = [_first(fields, "Original-Message-ID")]
    for name in ("References", "In-Reply-To"):
        value = _first(header, name)
        if value:
            ids = re.findall(r'<(?:"(?:[^"\\]|\\.)*"|[^<>"])*>', value)
            candidates.append(ids[-1] if ids else None)
    for candidate in candidates:
        if candidate and split_msg_id(candidate.strip()) is not None:
            return msgid_to_ipm_id(candidate.strip())
    return None


def _text_field(text: str, pattern: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.IGNORECASE | re.MULTILINE)


def mdn_to_ipn(content: bytes, gw: Gateway) -> IPN | None:
    """The IPN for an MDN (RFC 8098) that reaches the gateway for an X.400
    user, or None when ``content`` is not an MDN, names no subject message,
    or reports a disposition without an X.420 equivalent (module
    docstring); the caller then sends it on as an ordinary message."""
    try:
        found = _mdn_parts(content)
    except Exception:  # the email package on malformed input
        return None
    if found is None:
        return None
    fields, text = found
    header = header_fields(content)
    subject_ipm = _subject_ipm(fields, header)
    match = _DISPOSITION.match(_first(fields, "Disposition") or "")
    if subject_ipm is None or match is None:
        return None
    action_mode, sending_mode, kind = (g.lower() for g in match.group(1, 2, 3))
    modifiers = (match.group(4) or "").lower()
    if "error" in modifiers:
        return None

    final = _typed_descriptor(_first(fields, "Final-Recipient"), gw)
    originator = _descriptor(_first(header, "From"), gw) or final
    intended = _typed_descriptor(_first(fields, "Original-Recipient"), gw)
    told = _text_field(text, r"^\s*Your message to:\s*(.+?)\s*$")
    if told is not None:
        intended = _descriptor(told.group(1), gw) or intended
    if intended is not None and originator is not None and intended.formal == originator.formal:
        intended = None
    converted: tuple[str, ...] | None = None
    eits = _text_field(text, r"^\s*The following information types were converted:\s*(.+?)\s*$")
    if eits is not None:
        try:
            converted = parse_eits(eits.group(1)) or None
        except ValueError:
            converted = None

    ipn_fields: Receipt | NonReceipt
    if kind == "displayed":
        when = None
        at = _text_field(text, r"^\s*was received at\s+(.+?)\s*$")
        if at is not None:
            when = parse_rfc5322_date(at.group(1))
        if when is None and (date := _first(header, "Date")) is not None:
            when = parse_rfc5322_date(date)
        suppl = _text_field(text, r"The following extra information was given:\s*\n\s*(.+?)\s*$")
        ipn_fields = Receipt(
            time=format_x400_time(when if when is not None else gw.now),
            acknowledgment_mode="manual" if sending_mode == "mdn-sent-manually" else "automatic",
            supplementary_info=suppl.group(1) if suppl is not None else None,
        )
    elif kind == "deleted":
        reason: DiscardReason | None = "not-used" if action_mode == "manual-action" else None
        said = _text_field(text, r"was discarded for the following reason:\s*(.+?)\s*$")
        if said is not None:
            reason = _DISCARD_REASONS.get(said.group(1).lower(), reason)
        ipn_fields = NonReceipt(reason="ipm-discarded", discard_reason=reason)
    elif kind == "dispatched":
        comment = _text_field(text, r"The following comment was made:\s*\n?\s*(.+?)\s*$")
        ipn_fields = NonReceipt(
            reason="ipm-auto-forwarded",
            auto_forward_comment=comment.group(1) if comment is not None else None,
        )
    else:  # processed; the RFC 3798 denied/failed
        return None
    return IPN(
        subject_ipm=subject_ipm,
        fields=ipn_fields,
        ipn_originator=originator,
        intended_recipient=intended,
        conversion_eits=converted,
    )
