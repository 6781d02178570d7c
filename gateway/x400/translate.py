"""The MIXER translator's top level: X.400 messages <-> Internet messages.

X.400 -> Internet (:func:`message_to_internet`, RFC 2156 4.6.2, 5.3): the
SMTP envelope from the MTA envelope (4.6.2.1: MAIL FROM from the originator,
one RCPT TO per recipient the gateway is responsible for; App. A: NOTIFY from
the originator report requests, ENVID ``X400-MTS-Identifier: <mts-id>``,
RET from content-return-request) and the content, whose header is, in this
order (5.3.7: "all trace fields ... shall be at the beginning of the header,
before any other fields", newest first):

1. the gateway's single ``Received:`` with the MIXER comment (it is the
   newest trace), then one ``X400-Received:`` per merged trace element;
2. the envelope fields (4.6.2.2, 5.3.6: X400-MTS-Identifier, X400-Originator,
   X400-Recipients, X400-Content-Type ...) and ``Date:``;
3. the heading fields (5.3.4);
4. ``MIME-Version: 1.0`` and the Content-* fields of the body (RFC 2157,
   :mod:`gateway.x400.bodies`).

Lines end in CR LF; fields longer than 78 characters are folded at white
space.  A first IA5 body part ``RFC-822-Headers:`` (RFC 2156 App. B, from a
1984 peer or a 1984-style 1988 one) is read back into header fields.

Internet -> X.400 (:func:`internet_to_message`, RFC 2156 5.1): the heading
(5.1.3), the body (5.1.4 = RFC 2157), the envelope (4.6.1, 5.1.5, 5.1.6) with
the trace EITs of every body part plus eit-mixer.  Content type 22 when a
1988 feature is used (heading extensions, GeneralText or file-transfer body
parts), else 2 (5.1.3).  For an X.400(1984) peer (``peer_1984``, App. B) the
fields that a 1988 heading extension would carry go into a first IA5 body
part ``RFC-822-Headers:`` instead, and the content type is 2.

Loops (5.1.5): a gateway counts MIXER conversions, and more than five in one
direction is a loop.  Internet -> X.400 counts the ``Received:`` fields with
the MIXER comment (:func:`gateway.x400.trace.mixer_conversions`); X.400 ->
Internet counts the trace elements whose converted EITs include eit-mixer
(the mark a MIXER gateway leaves in X.400 trace, 5.1.5).  Either raises
:class:`TranslationError` ``5.4.6`` (RFC 3463: routing loop detected).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime
from typing import TYPE_CHECKING

from gateway.x400.bodies import (
    POLICY as BODY_POLICY,
)
from gateway.x400.bodies import (
    body_eits,
    body_to_mime,
    fold_field,
    ipm_1984_header_part,
    mime_to_body,
    parse_1984_header_part,
)
from gateway.x400.codes import requests_to_notify
from gateway.x400.envelope_fields import (
    CriticalExtensionError,
    envelope_fields,
    envelope_from_internet,
)
from gateway.x400.generaltext import RIGHT_HALVES
from gateway.x400.heading import DEFAULT_TO, heading_fields, heading_from_fields
from gateway.x400.model import (
    IPM,
    BinaryPart,
    BodyPart,
    FilePart,
    Heading,
    MessageEnvelope,
    MessagePart,
    OpaquePart,
    TextPart,
)
from gateway.x400.model import (
    Message as X400Message,
)
from gateway.x400.msgid import format_mts_id
from gateway.x400.timefmt import rfc5322_date
from gateway.x400.trace import (
    EIT_MIXER,
    MIXER_RECEIVED_COMMENT,
    format_x400_received,
    is_looping,
    merged_trace,
    mixer_conversions,
    mixer_trace_conversions,
)

if TYPE_CHECKING:
    from gateway.x400.context import Gateway

__all__ = [
    "EIT_MIXER",
    "InternetMessage",
    "TranslationError",
    "forwarded_to_mime",
    "internet_to_message",
    "ipm_to_mime",
    "message_to_internet",
    "mime_to_ipm",
]

# Parsing Internet messages: keep the header text as received.
PARSE_POLICY = email_policy.SMTP.clone(refold_source="none")

# Heading fields a 1988 gateway would carry in heading extensions (5.1.3 and
# 5.3.4: languages, auto-submitted, incomplete-copy); App. B puts them, with
# the rfc-822-field-list, in the 1984 header body part.
_EXTENSION_FIELDS = frozenset({"content-language", "autosubmitted", "incomplete-copy"})
# Top-level MIME fields RFC 2157 maps that no body part of the model holds.
_ENTITY_FIELDS = frozenset({"content-id", "content-description"})


@dataclass(frozen=True)
class InternetMessage:
    """An X.400 message converted for SMTP: the envelope (RFC 3461 NOTIFY per
    recipient, ENVID and RET) and the content, CR LF line ends."""

    mail_from: str
    rcpt_to: tuple[str, ...]
    notify: tuple[frozenset[str] | None, ...]
    envid: str | None
    ret: str | None
    content: bytes


class TranslationError(Exception):
    """The message cannot be translated; ``status`` is the RFC 3463 enhanced
    status code the caller reports (e.g. ``5.4.6`` for a MIXER loop)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


# --- X.400 -> Internet ---------------------------------------------------------


def message_to_internet(msg: X400Message, ipm: IPM, gw: Gateway) -> InternetMessage:
    """The SMTP envelope and content of an IPM delivered to the gateway
    (module docstring; RFC 2156 4.6.2, 5.3).  Raises :class:`TranslationError`
    for a loop (5.4.6), no recipient of this gateway (5.1.3) or a critical
    extension that cannot be mapped (5.3.3, 5.3.6)."""
    env = msg.envelope
    trace = merged_trace(env.trace, env.internal_trace)
    conversions = mixer_trace_conversions(trace)
    if is_looping(conversions):
        raise TranslationError(
            "5.4.6", f"MIXER loop: the message was converted {conversions} times already"
        )
    recipients = [r for r in env.recipients if r.responsibility]
    if not recipients:
        raise TranslationError("5.1.3", "no recipient the gateway is responsible for")

    # RFC 2156 5.3.7: the gateway's own Received: (MIXER comment), the newest
    # trace, then the X.400 trace, newest first.
    received = f"by {gw.domain} {MIXER_RECEIVED_COMMENT}; {format_datetime(gw.now)}"
    head = [("Received", received)]
    head += [("X400-Received", format_x400_received(e, fallback=gw.now)) for e in trace]
    try:
        content = _header_block(head) + _ipm_bytes(ipm, gw, env)
    except CriticalExtensionError as exc:  # 5.3.6: non-delivered, 1/18
        raise TranslationError(exc.status, str(exc)) from exc

    content_return = "content-return-request" in env.indicators
    return InternetMessage(
        mail_from=gw.to_rfc822(env.originator),
        rcpt_to=tuple(gw.to_rfc822(r.name) for r in recipients),
        notify=tuple(requests_to_notify(r.originator_report) for r in recipients),
        # App. A: ENVID "X400-MTS-Identifier: " mts-msg-id; RET=HDRS when
        # content return was not requested.
        envid=f"X400-MTS-Identifier: {format_mts_id(env.identifier)}",
        ret="FULL" if content_return else "HDRS",
        content=content,
    )


def ipm_to_mime(ipm: IPM, gw: Gateway, envelope: MessageEnvelope | None = None) -> EmailMessage:
    """The Internet message of an IPM: envelope fields (if ``envelope``, its
    trace excepted), heading fields, MIME-Version and the body (RFC 2156
    5.3.4, 5.3.6; RFC 2157).  Also the message of a forwarded-IPM body part."""
    parsed = BytesParser(policy=PARSE_POLICY).parsebytes(_ipm_bytes(ipm, gw, envelope))
    assert isinstance(parsed, EmailMessage)
    return parsed


def forwarded_to_mime(part: MessagePart, gw: Gateway) -> EmailMessage:
    """The message of a forwarded-IPM body part (RFC 2157 6.5): its
    delivery-time as ``Date:`` (see :mod:`gateway.x400.bodies`) and the
    delivery envelope's originator as ``X400-Originator:`` (4.6.2.2)."""
    fields: list[tuple[str, str]] = []
    if part.delivery_time is not None:
        fields.append(("Date", rfc5322_date(part.delivery_time, gw.now)))
    if part.originator is not None:
        fields.append(("X400-Originator", gw.to_rfc822(part.originator)))
    data = _ipm_bytes(part.ipm, gw, None, fields)
    parsed = BytesParser(policy=PARSE_POLICY).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _ipm_bytes(
    ipm: IPM,
    gw: Gateway,
    envelope: MessageEnvelope | None,
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    heading, body = _read_1984_header_part(ipm.heading, ipm.body)
    fields: list[tuple[str, str]] = list(extra or [])
    written: list[tuple[str, str]] = heading_fields(heading, gw)
    names = {n.lower() for n, _ in written}
    if envelope is not None:
        count = sum(1 for r in envelope.recipients if r.responsibility)
        env_fields = envelope_fields(envelope, gw, recipient_count=count)
        fields += [(n, v) for n, v in env_fields if n.lower() != "x400-received"]
        # 5.3.2 defaults: Date: always (the first trace element records the
        # submission, whose time gives Date:, 5.3.6); From: the SMTP
        # originator; "To: list:;" when there is no recipient field.
        if "date" not in names:
            arrival = envelope.trace[0].arrival if envelope.trace else ""
            fields.append(("Date", rfc5322_date(arrival, gw.now)))
        if "from" not in names:
            written.insert(1, ("From", gw.to_rfc822(envelope.originator)))
        if not names & {"to", "cc", "bcc"}:
            written.append(DEFAULT_TO)
    entity = body_to_mime(body, gw)
    # A Content-* field the heading kept (e.g. Content-Disposition of a
    # one-part message) is the body's to write now.
    mime_names = {name.lower() for name in entity}
    fields += [(n, v) for n, v in written if n.lower() not in mime_names]
    fields.append(("MIME-Version", "1.0"))
    return _header_block(fields) + entity.as_bytes(policy=BODY_POLICY)


def _read_1984_header_part(
    heading: Heading, body: tuple[BodyPart, ...]
) -> tuple[Heading, tuple[BodyPart, ...]]:
    """RFC 2156 App. B: a first ``RFC-822-Headers:`` IA5 part is header
    fields (added to the rfc-822-field-list), not a body part."""
    parsed = parse_1984_header_part(body[0]) if body else None
    if parsed is None:
        return heading, body
    fields, rest = parsed
    heading = replace(heading, rfc822_fields=heading.rfc822_fields + fields)
    kept = (TextPart(text=rest, kind="ia5"),) if rest.strip() else ()
    return heading, kept + body[1:]


def _header_block(fields: list[tuple[str, str]]) -> bytes:
    """``Name: value`` lines, folded, CR LF.  Values are ASCII (RFC 2047
    words where needed, by the field mappers) but for 8-bit text kept from
    the Internet side in the rfc-822-field-list, written back as UTF-8."""
    lines = [fold_field(f"{name}: {value}") + "\r\n" for name, value in fields]
    return "".join(lines).encode("utf-8", "surrogateescape")


# --- Internet -> X.400 ---------------------------------------------------------


def internet_to_message(
    content: bytes,
    mail_from: str,
    rcpt_to: list[str],
    gw: Gateway,
    *,
    notify: list[frozenset[str] | None] | None = None,
    envid: str | None = None,
    ret: str | None = None,
    peer_1984: bool = False,
) -> tuple[MessageEnvelope, IPM]:
    """The MTA envelope and IPM of an Internet message for X.400 (module
    docstring; RFC 2156 4.6.1, 5.1).  Raises :class:`TranslationError`."""
    msg = BytesParser(policy=PARSE_POLICY).parsebytes(content)
    received = [str(v) for v in msg.get_all("Received", [])]
    conversions = mixer_conversions(received)
    if is_looping(conversions):
        raise TranslationError(
            "5.4.6", f"MIXER loop: the message was converted {conversions} times already"
        )
    ipm = mime_to_ipm(msg, gw)
    if peer_1984:
        ipm = _to_1984(ipm, msg)
    content_type = 2 if peer_1984 or not _uses_1988(ipm) else 22
    eits = body_eits(ipm.body)  # trace_from_internet adds eit-mixer (5.1.5)
    envelope = envelope_from_internet(
        msg,
        mail_from,
        rcpt_to,
        gw,
        notify=notify,
        envid=envid,
        ret=ret,
        content_type=content_type,
        eits=eits,
    )
    return envelope, ipm


def mime_to_ipm(msg: Message, gw: Gateway) -> IPM:
    """The IPM of an Internet message (heading 5.1.3, body RFC 2157); also
    the IPM of a message/rfc822 body part."""
    heading = heading_from_fields(msg, gw)
    # RFC 2157 leaves the top-level Content-ID and Content-Description to
    # the gateway; the body parts of the model cannot hold them, so they
    # are kept in the rfc-822-field-list (and written back from there).
    kept = tuple(
        f"{name}: {_unfold(str(value)).strip()}"
        for name, value in msg.raw_items()
        if name.lower() in _ENTITY_FIELDS
    )
    if kept:
        heading = replace(heading, rfc822_fields=heading.rfc822_fields + kept)
    return IPM(heading=heading, body=mime_to_body(msg, gw))


def _uses_1988(ipm: IPM) -> bool:
    """RFC 2156 5.1.3: content type 22 if a 1988 feature is used: heading
    extensions, or extended body parts (GeneralText, file transfer...)."""
    h = ipm.heading
    if h.rfc822_fields or h.languages or h.auto_submitted or h.incomplete_copy or h.extensions:
        return True
    return any(_part_uses_1988(p) for p in ipm.body)


def _part_uses_1988(part: BodyPart) -> bool:
    if isinstance(part, TextPart):
        return part.kind == "general"
    if isinstance(part, MessagePart):
        return _uses_1988(part.ipm)
    return isinstance(part, FilePart | OpaquePart)


def _to_1984(ipm: IPM, msg: Message) -> IPM:
    """RFC 2156 App. B: no heading extensions; the fields they would carry
    (the rfc-822-field-list and the fields mapped to extensions) go in a
    first IA5 body part ``RFC-822-Headers:``."""
    h = ipm.heading
    extension_fields = tuple(
        f"{name}: {_unfold(str(value))}"
        for name, value in msg.raw_items()
        if name.lower() in _EXTENSION_FIELDS
    )
    fields = h.rfc822_fields + extension_fields
    heading = replace(
        h,
        rfc822_fields=(),
        languages=(),
        auto_submitted=None,
        incomplete_copy=False,
        extensions=(),
    )
    body = tuple(_part_for_1984(part) for part in ipm.body)
    if fields:
        body = (ipm_1984_header_part(fields), *body)
    return IPM(heading=heading, body=body)


def _part_for_1984(part: BodyPart) -> BodyPart:
    """A body part a 1984 (P2) peer can read: X.420 (1984) has no extended
    body parts, so general text that is ASCII becomes IA5 text, and files,
    other text and unknown extended types become bilaterally defined octets
    (the file name and charset are not carried: 1984 has no place for them;
    RFC 1496 HARPOON encapsulation is not implemented)."""
    if isinstance(part, TextPart) and part.kind == "general":
        if part.text.isascii():
            return TextPart(part.text, "ia5")
        charset = _mime_charset(part.charsets)
        return BinaryPart(part.text.encode(charset))
    if isinstance(part, FilePart):
        return BinaryPart(part.data)
    if isinstance(part, MessagePart):
        return replace(part, ipm=IPM(part.ipm.heading, tuple(map(_part_for_1984, part.ipm.body))))
    return part


def _mime_charset(charsets: tuple[int, ...]) -> str:
    halves = [RIGHT_HALVES[c][1] for c in charsets if c in RIGHT_HALVES]
    return halves[0] if halves else "utf-8"


def _unfold(value: str) -> str:
    return value.replace("\r\n", "").replace("\n", "")
