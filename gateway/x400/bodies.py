"""IPM body parts <-> MIME entities (RFC 2157, RFC 2156 5.1.4, 5.3.4.1, App. B).

The equivalences used (RFC 2157 section 6, RFC 1494 section 7):

============================  ===================================================
X.400 body part               MIME entity
============================  ===================================================
IA5Text (6.1)                 ``text/plain; charset=us-ascii``
GeneralText (6.2)             ``text/plain; charset=<ISO 8859-x or UTF-8>``
Teletex (6.7)                 ``text/plain`` (the codec has decoded the T.61 text;
                              written as us-ascii, ISO-8859-1 or UTF-8, the first
                              that holds it: nobody reads ``charset=TELETEX``)
BilaterallyDefined (6.3)      ``application/octet-stream``
FileTransfer (6.4)            an attachment with its file name (type from the
                              name's extension, else ``application/octet-stream``)
Message (6.5)                 ``message/rfc822`` (recursive, through
                              :mod:`gateway.x400.translate`); the inner
                              ``Date:`` <-> the part's delivery-time
Message with a bare heading   ``multipart/*`` nested in a multipart (6.6)
anything else                 ``application/x400-bp; bp-type=<kind>`` (RFC 1494
                              6.1): the body part's BER, for an X.400 reader
============================  ===================================================

Decisions (each one keeps MIME -> IPM -> MIME lossless for the content bytes):

- **Top level.**  A top-level ``multipart/mixed`` *is* the IPM body: each of
  its parts becomes one body part (RFC 2157 2.1).  A single non-multipart
  entity becomes a one-part body.  Any other top-level multipart
  (``alternative``, ``related``, ``report``...) becomes a single MessagePart
  holding the multipart, so its subtype survives; on the way back such a
  one-part body is unwrapped to the top level again (but for a
  ``multipart/mixed`` one, which stays nested: at the top it would be read
  back as the body itself).
- **Nested multiparts** (RFC 2157 6.6) become a MessagePart whose IPM has a
  bare heading: an empty this-IPM identifier and, in the rfc-822-field-list,
  only ``Content-Type: multipart/<subtype>; <params>`` (the boundary is not
  kept: it is not content).  That heading is what marks the MessagePart as a
  multipart rather than a forwarded message on the way back; a MessagePart
  whose heading is entirely empty is written as ``multipart/mixed`` too.
  Flattening was rejected: it loses ``alternative``/``related`` semantics.
- **Text.**  ``text/plain`` in US-ASCII (or without a charset, RFC 2045 5.2)
  -> IA5Text; in a charset of :data:`CHARSET_REGISTRATIONS` -> GeneralText
  with that charset's ISO-IR registrations, the MIME label kept even when the
  text happens to be ASCII.  Text keeps CR LF line ends (X.420 IA5 lines).
- **A charset not in the table**, or text whose bytes are not valid in the
  declared charset (ISO 8859 octets 0x80-0x9F included), becomes a
  **BinaryPart** holding the undecoded bytes (RFC 2157 6.3): nothing is
  lost but the label, because the model's BinaryPart has nowhere to keep it
  (a FilePart would need an invented name).  It comes back as ``application/octet-stream``.
- **Attachments.**  Any leaf with a file name (``Content-Disposition``
  ``filename`` or the ``Content-Type`` ``name`` parameter) becomes a
  FilePart keeping the name and the decoded bytes, whatever its type (text
  attachments included).  The model's FilePart has no content type, so on
  the way back the type is derived from the name's extension (Python's
  built-in table, not the host's ``mime.types``): ``report.pdf`` comes back
  ``application/pdf``, an unknown extension ``application/octet-stream``.
- **Other leaves** (``image/*``, ``text/html``, ``application/*`` without a
  name...) -> BinaryPart, back as ``application/octet-stream``;
  ``application/x400-bp`` with a ``bp-type`` -> the OpaquePart it encodes.
- Content-ID, Content-Description and per-part parameters other than the
  charset and the file name have no place in the model and are not kept.

The 1984 form (RFC 2156 Appendix B): :func:`ipm_1984_header_part` writes
the header fields that a 1988 gateway would put in heading extensions as a
first IA5 body part starting ``RFC-822-Headers:``;
:func:`parse_1984_header_part` reads one back (mandatory in both directions).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import mimetypes
import re
from collections.abc import Iterable
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.utils import collapse_rfc2231_value
from typing import TYPE_CHECKING

from gateway.x400.model import (
    IPM,
    BinaryPart,
    BodyPart,
    FilePart,
    Heading,
    IPMIdentifier,
    MessagePart,
    OpaquePart,
    TextPart,
)

if TYPE_CHECKING:
    from gateway.x400.context import Gateway

__all__ = [
    "CHARSET_REGISTRATIONS",
    "EIT_FILE_TRANSFER",
    "HEADER_PART_TAG",
    "body_eits",
    "body_to_mime",
    "charset_for_registrations",
    "fold_field",
    "ipm_1984_header_part",
    "is_multipart_wrapper",
    "mime_to_body",
    "parse_1984_header_part",
    "registrations_for_charset",
]

# Building entities: CR LF line ends, no refolding of what we wrote.
POLICY = email_policy.SMTP.clone(refold_source="none")

# --- GeneralText character sets (RFC 2157 6.2, X.420 GeneralTextParameters) ----
#
# ISO-IR registration numbers (the ISO International Register of Coded
# Character Sets), checked against James Clark's SP CharsetRegistry table
# (enum ISORegistrationNumber, which names ISO646_C0 = 1, ISO646_ASCII_G0 = 6,
# ISO6429 (C1) = 77 and the ISO 8859 right halves below) and, for 196, the
# XEmacs mule sources ("ISO-IR 196 UTF-8", designated by ESC % G):
#
#   1    C0 control set of ISO 646              6    ISO 646 IRV = ASCII (G0)
#   77   C1 control set of ISO 6429 (ignored when reading: it adds no letters)
#   100  ISO 8859-1 right half (Latin-1)        101  ISO 8859-2 (Latin-2)
#   109  ISO 8859-3 (Latin-3)                   110  ISO 8859-4 (Latin-4)
#   144  ISO 8859-5 (Cyrillic)                  127  ISO 8859-6 (Arabic)
#   126  ISO 8859-7 (Greek)                     138  ISO 8859-8 (Hebrew)
#   148  ISO 8859-9 (Latin-5)                   203  ISO 8859-15 (Latin-9)
#   196  UTF-8 (ISO 10646 without implementation level)
#
# An ISO 8859-x charset is C0 + ASCII G0 + its right half.  UTF-8 is a
# complete coding system on its own and is written as (196,) alone.
C0_SET = 1
ASCII_G0 = 6
C1_SET = 77
UTF8_SYSTEM = 196

CHARSET_REGISTRATIONS: dict[str, tuple[int, ...]] = {
    "us-ascii": (C0_SET, ASCII_G0),
    "iso-8859-1": (C0_SET, ASCII_G0, 100),
    "iso-8859-2": (C0_SET, ASCII_G0, 101),
    "iso-8859-3": (C0_SET, ASCII_G0, 109),
    "iso-8859-4": (C0_SET, ASCII_G0, 110),
    "iso-8859-5": (C0_SET, ASCII_G0, 144),
    "iso-8859-6": (C0_SET, ASCII_G0, 127),
    "iso-8859-7": (C0_SET, ASCII_G0, 126),
    "iso-8859-8": (C0_SET, ASCII_G0, 138),
    "iso-8859-9": (C0_SET, ASCII_G0, 148),
    "iso-8859-15": (C0_SET, ASCII_G0, 203),
    "utf-8": (UTF8_SYSTEM,),
}

# Python codec name -> MIME charset name of the table.
_BY_CODEC = {codecs.lookup(name).name: name for name in CHARSET_REGISTRATIONS}
# The graphic sets (control sets removed) -> MIME charset name.
_CONTROL_SETS = frozenset({C0_SET, C1_SET})
_BY_GRAPHIC_SETS = {
    frozenset(regs) - _CONTROL_SETS: name for name, regs in CHARSET_REGISTRATIONS.items()
}
# A right half alone (no ASCII G0 named) is read as the full ISO 8859 part.
_BY_GRAPHIC_SETS.update(
    {
        frozenset(regs) - _CONTROL_SETS - {ASCII_G0}: name
        for name, regs in CHARSET_REGISTRATIONS.items()
        if name.startswith("iso-8859-")
    }
)


def registrations_for_charset(charset: str) -> tuple[int, ...] | None:
    """The ISO-IR registrations of a MIME charset, or None if not mapped."""
    name = _table_charset(charset)
    return CHARSET_REGISTRATIONS[name] if name is not None else None


def charset_for_registrations(registrations: Iterable[int]) -> str | None:
    """The MIME charset of a GeneralText's registrations, or None."""
    return _BY_GRAPHIC_SETS.get(frozenset(registrations) - _CONTROL_SETS)


def _table_charset(charset: str) -> str | None:
    try:
        codec = codecs.lookup(charset.strip().strip('"')).name
    except LookupError:
        return None
    return _BY_CODEC.get(codec)


# --- Encoded information types of a body (RFC 2156 5.1.5) ---------------------

# X.420 (1999) IPMSObjectIdentifiers: id-eit-file-transfer {id-eit 0},
# id-eit = {id-ipms 12}; GeneralText EITs are {id-cs-eit-authority n} per
# registration, id-cs-eit-authority = {id-iso-cs 0} = {iso standard 10021
# ipms(7) cs(1) 0}.
EIT_FILE_TRANSFER = "2.6.1.12.0"
EIT_CS_AUTHORITY = "1.0.10021.7.1.0"


def body_eits(body: Iterable[BodyPart]) -> tuple[str, ...]:
    """The encoded information types of a body, enclosed messages included,
    in first-seen order (RFC 2156 5.1.5: trace EITs "shall reflect all body
    parts (including those in enclosed messages)")."""
    seen: dict[str, None] = {}
    for eit in _eits(body):
        seen.setdefault(eit, None)
    return tuple(seen)


def _eits(body: Iterable[BodyPart]) -> Iterable[str]:
    for part in body:
        if isinstance(part, TextPart):
            if part.kind == "ia5":
                yield "ia5-text"
            elif part.kind == "teletex":
                yield "teletex"
            else:
                yield from (f"{EIT_CS_AUTHORITY}.{n}" for n in sorted(part.charsets))
        elif isinstance(part, FilePart):
            yield EIT_FILE_TRANSFER
        elif isinstance(part, MessagePart):
            yield from _eits(part.ipm.body)
        elif isinstance(part, OpaquePart) and not _is_oid(part.kind):
            yield part.kind  # a basic body part: its EIT has the same name
        else:
            yield "undefined"


def _is_oid(text: str) -> bool:
    return re.fullmatch(r"[0-9]+(\.[0-9]+)+", text) is not None


# --- MIME -> IPM body (RFC 2157 2.1) ---------------------------------------------


def mime_to_body(entity: Message, gw: Gateway) -> tuple[BodyPart, ...]:
    """The IPM body for a whole message's MIME entity (module docstring)."""
    if _is_multipart(entity):
        if entity.get_content_type() == "multipart/mixed":
            return tuple(_entity_to_part(p, gw) for p in _subparts(entity))
        return (_multipart_to_part(entity, gw),)
    return (_entity_to_part(entity, gw),)


def _is_multipart(entity: Message) -> bool:
    # A multipart whose boundary is missing parses as a string payload: a leaf.
    return entity.get_content_maintype() == "multipart" and entity.is_multipart()


def _subparts(entity: Message) -> list[Message]:
    payload = entity.get_payload()
    assert isinstance(payload, list)
    return [p for p in payload if isinstance(p, Message)]


def _entity_to_part(entity: Message, gw: Gateway) -> BodyPart:
    if _is_multipart(entity):
        return _multipart_to_part(entity, gw)
    if entity.get_content_type() == "message/rfc822" and entity.is_multipart():
        return _forwarded_part(_subparts(entity)[0], gw)
    return _leaf_to_part(entity)


def _forwarded_part(inner: Message, gw: Gateway) -> MessagePart:
    """RFC 2157 6.5: message/rfc822 -> MessagePart.  The heading mapping
    has no home for the inner ``Date:`` (5.1.3: "handled at MTS level"); it
    goes to the MessageBodyPart's delivery-time, the one time stamp a
    forwarded message carries in X.420, and comes back as ``Date:``."""
    from gateway.x400.timefmt import format_x400_time, parse_rfc5322_date
    from gateway.x400.translate import mime_to_ipm  # import cycle: translate uses this module

    dates = inner.get_all("Date") or []
    when = parse_rfc5322_date(str(dates[0])) if dates else None
    time = format_x400_time(when) if when is not None else None
    return MessagePart(ipm=mime_to_ipm(inner, gw), delivery_time=time)


def _multipart_to_part(entity: Message, gw: Gateway) -> MessagePart:
    """RFC 2157 6.6: a multipart as a MessagePart with a bare heading."""
    heading = Heading(this_ipm=IPMIdentifier(), rfc822_fields=(_content_type_field(entity),))
    body = tuple(_entity_to_part(p, gw) for p in _subparts(entity))
    return MessagePart(ipm=IPM(heading=heading, body=body))


_TSPECIALS = re.compile(r'[\s()<>@,;:\\"/\[\]?=]')


def _content_type_field(entity: Message) -> str:
    """``Content-Type: type/subtype; params`` without the boundary, ASCII only
    (the rfc-822-field-list is IA5)."""
    text = f"Content-Type: {entity.get_content_type()}"
    for name, raw in (entity.get_params() or [])[1:]:
        value = collapse_rfc2231_value(raw)
        if name.lower() == "boundary" or not (name + value).isascii():
            continue
        if value == "" or _TSPECIALS.search(value):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        text += f"; {name}={value}"
    return text


def _decoded(entity: Message) -> bytes:
    data = entity.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _leaf_to_part(entity: Message) -> BodyPart:
    data = _decoded(entity)
    ctype = entity.get_content_type()
    if ctype == "application/x400-bp":
        kind = entity.get_param("bp-type")
        if isinstance(kind, str) and kind:
            return OpaquePart(kind=kind, data=data)
    name = _filename(entity)
    if name is not None:
        return FilePart(data=data, name=name)
    if ctype == "text/plain":
        text = _text_part(data, entity.get_content_charset("us-ascii") or "us-ascii")
        if text is not None:
            return text
    return BinaryPart(data=data)


def _filename(entity: Message) -> str | None:
    """The file name of a MIME part (Content-Disposition ``filename``, else
    Content-Type ``name``; RFC 2231 values decoded), as written.

    ``Message.get_filename`` would also take a name in angle brackets for
    a quoted one and drop them ("<>" becomes "")."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = entity.get_param(param, None, header=header, unquote=False)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
            return collapse_rfc2231_value(value).strip()
        text = str(value)
        if len(text) >= 2 and text[0] == text[-1] == '"':  # RFC 2045 quoted-string
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        return text.strip()
    return None


def _text_part(data: bytes, charset: str) -> TextPart | None:
    """IA5 for US-ASCII, GeneralText for the table; None if the charset is
    unknown or the bytes are not text in it (the caller keeps the bytes)."""
    name = _table_charset(charset)
    if name is None:
        return None
    try:
        text = _crlf(data.decode(name))
    except UnicodeDecodeError:
        return None
    if name.startswith("iso-8859-") and _C1.search(text):
        # Octets 0x80-0x9F have no meaning in ISO 8859 (RFC 2046 4.1.2) and
        # a GeneralText without the C1 set (77) cannot carry them: usually
        # windows-125x mislabelled.  Keep the bytes (BinaryPart).
        return None
    if name == "us-ascii":
        return TextPart(text=text, kind="ia5")
    return TextPart(text=text, kind="general", charsets=CHARSET_REGISTRATIONS[name])


_LINE_END = re.compile(r"\r\n|\r|\n")
_C1 = re.compile("[\x80-\x9f]")


def _crlf(text: str) -> str:
    """CR LF line ends: MIME text is canonical CR LF, so are X.420 IA5 lines."""
    return _LINE_END.sub("\r\n", text)


# --- IPM body -> MIME (RFC 2157 2.2) ---------------------------------------------


def body_to_mime(body: tuple[BodyPart, ...], gw: Gateway) -> EmailMessage:
    """The MIME entity (Content-* headers and payload, no MIME-Version) for a
    whole IPM body (module docstring)."""
    if len(body) == 1 and not _is_mixed_wrapper(body[0]):
        # A lone multipart/mixed wrapper stays nested: a top-level
        # multipart/mixed is read back as the body itself.
        return _part_entity(body[0], gw)
    if not body:
        return _text_entity(TextPart(text=""))
    return _multipart_entity("multipart/mixed", [], body, gw)


def is_multipart_wrapper(ipm: IPM) -> bool:
    """True if ``ipm`` is the bare-heading IPM of a MIME multipart (RFC 2157
    6.6, module docstring), not a forwarded message."""
    heading = ipm.heading
    if heading != Heading(this_ipm=IPMIdentifier(), rfc822_fields=heading.rfc822_fields):
        return False
    if not heading.rfc822_fields:
        return True
    return len(heading.rfc822_fields) == 1 and _wrapper_type(heading) is not None


def _is_mixed_wrapper(part: BodyPart) -> bool:
    if not isinstance(part, MessagePart) or not is_multipart_wrapper(part.ipm):
        return False
    wrapped = _wrapper_type(part.ipm.heading)
    return wrapped is not None and wrapped[0] == "multipart/mixed"


def _wrapper_type(heading: Heading) -> tuple[str, list[tuple[str, str]]] | None:
    """(multipart/<subtype>, params) of a wrapper heading's Content-Type."""
    if not heading.rfc822_fields:
        return "multipart/mixed", []
    name, _, value = heading.rfc822_fields[0].partition(":")
    if name.strip().lower() != "content-type":
        return None
    probe = Message()
    probe["Content-Type"] = value.strip()
    if probe.get_content_maintype() != "multipart":
        return None
    params = [(k, collapse_rfc2231_value(v)) for k, v in (probe.get_params() or [])[1:]]
    return probe.get_content_type(), params


def _part_entity(part: BodyPart, gw: Gateway) -> EmailMessage:
    if isinstance(part, TextPart):
        return _text_entity(part)
    if isinstance(part, FilePart):
        return _file_entity(part)
    if isinstance(part, MessagePart):
        wrapped = _wrapper_type(part.ipm.heading) if is_multipart_wrapper(part.ipm) else None
        if wrapped is not None:
            return _multipart_entity(wrapped[0], wrapped[1], part.ipm.body, gw)
        return _message_entity(part, gw)
    if isinstance(part, OpaquePart):
        # RFC 1494 6.1: application/x400-bp, bp-type = the body part's
        # number/name or OID, the body part's encoding as the content.
        entity = _binary_entity("application/x400-bp", part.data)
        entity.set_param("bp-type", part.kind)
        return entity
    return _binary_entity("application/octet-stream", part.data)


def _multipart_entity(
    ctype: str, params: list[tuple[str, str]], body: tuple[BodyPart, ...], gw: Gateway
) -> EmailMessage:
    entity = EmailMessage(policy=POLICY)
    entity["Content-Type"] = ctype
    for name, value in params:
        entity.set_param(name, value)
    for part in body:
        entity.attach(_part_entity(part, gw))
    if not body:  # a multipart needs a part (RFC 2046 5.1.1)
        entity.attach(_text_entity(TextPart(text="")))
    entity.set_boundary(_boundary(entity))
    return entity


def _boundary(entity: EmailMessage) -> str:
    """A boundary derived from the parts (the generator's own is random: the
    translator must give the same bytes for the same IPM), checked against
    them (RFC 2046 5.1.1).  ``=_`` cannot occur in base64 or
    quoted-printable, so only 7bit text could ever force a second try."""
    parts = b"".join(p.as_bytes(policy=POLICY) for p in entity.iter_parts())
    digest = hashlib.sha256(parts).hexdigest()
    for attempt in range(len(digest) - 24):
        boundary = f"=_{digest[attempt : attempt + 24]}"
        if boundary.encode() not in parts:
            return boundary
    return f"=_{digest}"  # 41 distinct 24-hex windows all in the text: not plausible


def _message_entity(part: MessagePart, gw: Gateway) -> EmailMessage:
    from gateway.x400.translate import forwarded_to_mime  # import cycle: translate uses this

    inner = forwarded_to_mime(part, gw)
    entity = EmailMessage(policy=POLICY)
    entity["Content-Type"] = "message/rfc822"
    entity.set_payload([inner])
    return entity


def _text_entity(part: TextPart) -> EmailMessage:
    charset = _output_charset(part)
    data = _crlf(part.text).encode(charset)
    entity = EmailMessage(policy=POLICY)
    entity["Content-Type"] = f"text/plain; charset={charset}"
    cte, payload = _text_transfer_encoding(data)
    entity["Content-Transfer-Encoding"] = cte
    entity.set_payload(payload)
    return entity


def _output_charset(part: TextPart) -> str:
    """The MIME charset to write a text part in: the GeneralText's own when
    it maps and holds the text; else the smallest of us-ascii, iso-8859-1
    (teletex text mostly fits) and utf-8 that does."""
    candidates = ["us-ascii", "iso-8859-1", "utf-8"]
    if part.kind == "general":
        own = charset_for_registrations(part.charsets)
        if own is not None:
            candidates.insert(0, own)
    elif part.kind == "ia5":
        candidates.remove("iso-8859-1")
    for charset in candidates:
        try:
            part.text.encode(charset)
        except UnicodeEncodeError:
            continue
        return charset
    return "utf-8"  # unreachable: UTF-8 holds any str but lone surrogates


_LONG_LINE = re.compile(rb"[^\r\n]{999}")


def _text_transfer_encoding(data: bytes) -> tuple[str, str]:
    """7bit when ASCII in lines of at most 998 octets (RFC 5322 2.1.1), else
    quoted-printable, or base64 when most of the text is 8-bit."""
    if data.isascii() and not _LONG_LINE.search(data):
        return "7bit", data.decode("ascii")
    eight_bit = sum(1 for octet in data if octet > 127)
    if eight_bit * 3 > len(data):
        return "base64", base64.encodebytes(data).decode("ascii")
    return "quoted-printable", binascii.b2a_qp(data, istext=True).decode("ascii")


def _binary_entity(ctype: str, data: bytes) -> EmailMessage:
    entity = EmailMessage(policy=POLICY)
    entity["Content-Type"] = ctype
    entity["Content-Transfer-Encoding"] = "base64"
    entity.set_payload(base64.encodebytes(data).decode("ascii"))
    return entity


# Python's built-in extension table only: the host's mime.types must not
# change the output (the translator is a pure function).
_TYPES = mimetypes.MimeTypes(filenames=())


def _file_entity(part: FilePart) -> EmailMessage:
    ctype = "application/octet-stream"
    if part.name:
        guessed, encoding = _TYPES.guess_type(part.name, strict=False)
        if guessed is not None and encoding is None:
            ctype = guessed
    if ctype.startswith("text/"):
        if part.data.isascii():
            pass
        elif _is_utf8(part.data):
            ctype += "; charset=utf-8"
        else:  # text of an unknown charset: do not claim one
            ctype = "application/octet-stream"
    entity = _binary_entity(ctype, part.data)
    entity["Content-Disposition"] = "attachment"
    if part.name is not None:
        entity.set_param("filename", part.name, header="Content-Disposition")
    return entity


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- RFC 2156 Appendix B: header fields in a first IA5 body part ------------------

HEADER_PART_TAG = "RFC-822-Headers:"
# PP also accepts "RFC-822-HEADERS"; the tag is compared case-independently.


def ipm_1984_header_part(fields: Iterable[str | tuple[str, str]]) -> TextPart:
    """The first IA5 body part for an X.400(1984) peer (RFC 2156 App. B):
    ``RFC-822-Headers:`` and then the fields, one per line (folded at white
    space beyond 78 characters), CR LF line ends."""
    lines = [HEADER_PART_TAG]
    for item in fields:
        field = item if isinstance(item, str) else f"{item[0]}: {item[1]}"
        lines.append(fold_field(field))
    return TextPart(text="\r\n".join(lines) + "\r\n", kind="ia5")


def parse_1984_header_part(part: BodyPart) -> tuple[tuple[str, ...], str] | None:
    """The header fields (``"Name: value"``, unfolded) of an App. B header
    body part and any text after them (after a blank line, or from the first
    line that is not a field); None if ``part`` is not one."""
    if not isinstance(part, TextPart):
        return None
    lines = _LINE_END.split(part.text)
    if lines[0].strip().lower() != HEADER_PART_TAG.lower():
        return None
    fields: list[str] = []
    rest_at = len(lines)
    for index, line in enumerate(lines[1:], start=1):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += line  # RFC 5322 2.2.3 unfolding: drop the CR LF only
            continue
        name, colon, _ = line.partition(":")
        if not colon or not name or not _is_field_name(name):
            rest_at = index + 1 if line == "" else index
            break
        fields.append(line)
    rest = "\r\n".join(lines[rest_at:])
    return tuple(fields), rest


def _is_field_name(name: str) -> bool:
    # RFC 5322 3.6.8 ftext: printable ASCII but ":"; no spaces.
    return all(33 <= ord(c) <= 126 for c in name)


def fold_field(field: str, width: int = 78) -> str:
    """Fold a ``Name: value`` field at white space so that lines stay within
    ``width`` where possible (RFC 5322 2.2.3); CR LF between lines."""
    if len(field) <= width:
        return field
    out: list[str] = []
    tokens = re.split(r"(?=[ \t])", field)
    line = "".join(tokens[:2])  # never fold between the name and the value
    for token in tokens[2:]:
        if line and len(line) + len(token) > width and line.strip():
            out.append(line)
            line = token
        else:
            line += token
    out.append(line)
    return "\r\n".join(out)
