"""IPM heading <-> RFC 822 header fields (RFC 2156 5.3.4, 5.1.3, 4.7).

:func:`heading_fields` writes the fields of an X.420 heading;
:func:`heading_from_fields` reads an Internet header into a heading, every
field without a heading home going to the ``rfc-822-field-list`` extension
(5.1.2: ``"Name: value"``, unfolded, no space before the colon).  Address
fields use the O/R descriptor mapping of 4.7 (:func:`ordescriptor_to_mailbox`,
:func:`mailbox_to_ordescriptor`).

Decisions on the RFC's own inconsistencies (MIXER.md section 10):

- Generated names are the RFC 2156 ones: ``Autoforwarded`` (the EBNF, not
  the ``Auto-Forwarded`` of 2.3.1.2), ``Supersedes``, ``Expires``,
  ``Content-Language``, ``Autosubmitted``; the RFC 1327 names
  ``Obsoletes``, ``Expiry-Date`` and ``Language`` are read as well.
- Values are read case-independently (``Importance: HIGH``); written as the
  EBNF spells them (``high``, ``Company-Confidential``, ``TRUE``).
- ``Content-Language``: the first two letters of each language go to the
  languages extension; if a value is longer or has a comment, the whole
  field is kept in the rfc-822-field-list too (5.1.3) and written back
  instead of the short form.
- The 5.3.2 defaults of a whole message (``From:`` = SMTP originator,
  ``Date:``, ``To: list:;`` when there is no recipient field) need the
  envelope and are the translator's; :data:`DEFAULT_TO` is the last.
- A descriptor without a formal name is written as a group
  ``Free Form Name:;``; an Internet group gives one descriptor with only
  the free-form name, followed by its members (4.7.1).
- Non-ASCII text (subjects, free-form names) is written as RFC 2047 UTF-8
  encoded words; encoded words are decoded on the way in (3.5).
- A field that does not parse (a ``To:`` that is not an address list, an
  ``Importance: urgent``) is kept in the rfc-822-field-list (5.1.3 "Other
  Fields").  MIXER fields that are never mapped back (5.1.7) are dropped.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.header import decode_header
from email.message import Message
from typing import Literal

from gateway.x400.asn1.ipms_upper_bounds import ub_free_form_name, ub_subject_field
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import Heading, IPMIdentifier, ORDescriptor, ORName, RecipientSpecifier
from gateway.x400.msgid import (
    ipm_id_to_msgid,
    ipm_id_to_phrase_or_msgid,
    msgid_to_ipm_id,
    parse_reference_list,
)
from gateway.x400.orname import ORAddressError
from gateway.x400.timefmt import (
    format_x400_time,
    parse_rfc5322_date,
    parse_x400_time,
    rfc5322_date,
)
from gateway.x400.trace import format_oid

__all__ = [
    "DEFAULT_TO",
    "DROPPED_FIELDS",
    "ENVELOPE_FIELDS",
    "MIME_FIELDS",
    "AddressListError",
    "header_fields",
    "heading_fields",
    "heading_from_fields",
    "mailbox_to_ordescriptor",
    "ordescriptor_to_mailbox",
    "parse_address_list",
]

#: 5.3.2: the recipient field of a message that has none.
DEFAULT_TO = ("To", "list:;")
#: RFC 2157 maps these (the body's business).
MIME_FIELDS = frozenset(
    {
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-id",
        "content-description",
    }
)
#: MIXER fields never mapped to X.400 (5.1.7).
DROPPED_FIELDS = frozenset(
    {
        "discarded-x400-mts-extensions",
        "message-type",
        "discarded-x400-ipms-extensions",
        "x400-content-type",
        "x400-originator",
        "x400-recipients",
        "x400-mts-identifier",
    }
)
#: Fields the envelope takes (5.1.6, 5.1.7, App. C), when they parse:
#: see :func:`gateway.x400.envelope_fields.envelope_from_internet`.
ENVELOPE_FIELDS = frozenset(
    {
        "received",
        "x400-received",
        "priority",
        "conversion",
        "conversion-with-loss",
        "dl-expansion-history",
        "deferred-delivery",
        "latest-delivery-time",
        "originator-return-address",
        "original-encoded-information-types",
        "x400-content-identifier",
        "content-identifier",
        "prevent-nondelivery-report",
        "generate-delivery-report",
        "alternate-recipient",
        "disclose-recipients",
        "x400-content-return",
    }
)

_SENSITIVITY = {
    "personal": "Personal",
    "private": "Private",
    "company-confidential": "Company-Confidential",
}
_AUTOSUBMITTED = ("not-auto-submitted", "auto-generated", "auto-replied")
# Fields that may occur once (RFC 5322 3.6): a copy in the rfc-822-field-list
# is not written when the heading gave the field itself.
_SINGLE = frozenset(
    {
        "date",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "message-id",
        "in-reply-to",
        "references",
        "subject",
    }
)
_ADDRESS_FIELDS = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc"})
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext


class AddressListError(ValueError):
    """A field value that is not an RFC 822 address list."""


# --- header text helpers ------------------------------------------------------------


def header_fields(msg: Message) -> list[tuple[str, str]]:
    """(name, unfolded value) of every header field of ``msg``, in order.

    Raw values are used (not the policy's decoded form); 8-bit octets are
    read as UTF-8.
    """
    out = []
    for name, value in msg.raw_items():
        text = str(value)
        if any("\udc80" <= c <= "\udcff" for c in text):
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        text = re.sub(r"\r?\n(?=[ \t])", "", text)
        out.append((name.strip(), " ".join(text.replace("\r", " ").replace("\n", " ").split())))
    return out


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _decode_word(word: str) -> str:
    try:
        parts = decode_header(word)
    except Exception:  # email.errors.HeaderParseError and binascii errors
        return word
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            try:
                out.append(chunk.decode(charset or "ascii", "replace"))
            except LookupError:
                out.append(chunk.decode("ascii", "replace"))
        else:
            out.append(chunk)
    return "".join(out)


def decode_text(text: str) -> str:
    """Unstructured text with RFC 2047 encoded words decoded (whitespace
    between two encoded words dropped, RFC 2047 6.2)."""
    tokens = re.split(r"(\s+)", text)
    out: list[str] = []
    last_encoded = False
    pending_space = ""
    for tok in tokens:
        if not tok:
            continue
        if tok.isspace():
            pending_space = tok
            continue
        encoded = bool(_ENCODED_WORD.fullmatch(tok))
        if out and not (encoded and last_encoded):
            out.append(pending_space)
        out.append(_decode_word(tok) if encoded else tok)
        pending_space = ""
        last_encoded = encoded
    return "".join(out)


def encode_text(text: str) -> str:
    """``text`` as ASCII: itself, or RFC 2047 UTF-8 "B" encoded words."""
    if text.isascii() and "=?" not in text:
        return text
    words: list[str] = []
    chunk = ""
    for c in text:
        if len((chunk + c).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += c
    if chunk:
        words.append(chunk)
    return " ".join("=?utf-8?b?" + base64.b64encode(w.encode()).decode() + "?=" for w in words)


# --- RFC 822 address lists -----------------------------------------------------------

_SPECIALS = '()<>@,;:\\".[]'


@dataclass
class _Token:
    kind: Literal["atom", "qstr", "comment", "dlit", "special"]
    text: str


def _tokens(value: str) -> list[_Token]:
    out: list[_Token] = []
    pos, n = 0, len(value)
    while pos < n:
        c = value[pos]
        if c in " \t":
            pos += 1
        elif c == '"':
            end, buf = pos + 1, []
            while end < n and value[end] != '"':
                if value[end] == "\\" and end + 1 < n:
                    end += 1
                buf.append(value[end])
                end += 1
            if end >= n:
                raise AddressListError("unterminated quoted string")
            out.append(_Token("qstr", "".join(buf)))
            pos = end + 1
        elif c == "(":
            depth, end = 0, pos
            while end < n:
                if value[end] == "\\":
                    end += 1
                elif value[end] == "(":
                    depth += 1
                elif value[end] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                end += 1
            if end >= n:
                raise AddressListError("unterminated comment")
            out.append(_Token("comment", value[pos : end + 1]))
            pos = end + 1
        elif c == "[":
            end = value.find("]", pos)
            if end == -1:
                raise AddressListError("unterminated domain literal")
            out.append(_Token("dlit", value[pos : end + 1]))
            pos = end + 1
        elif c in _SPECIALS:
            out.append(_Token("special", c))
            pos += 1
        else:
            end = pos
            while end < n and value[end] not in _SPECIALS and value[end] not in " \t":
                end += 1
            out.append(_Token("atom", value[pos:end]))
            pos = end
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _phrase_text(words: Sequence[_Token]) -> str:
    """The text of a phrase: words joined by one space, encoded words
    (atoms only) decoded."""
    out: list[str] = []
    last_encoded = False
    for tok in words:
        encoded = tok.kind == "atom" and bool(_ENCODED_WORD.fullmatch(tok.text))
        if out and not (encoded and last_encoded):
            out.append(" ")
        out.append(_decode_word(tok.text) if encoded else tok.text)
        last_encoded = encoded
    return "".join(out)


def _addr_spec(tokens: Sequence[_Token]) -> str:
    parts = []
    for tok in tokens:
        if tok.kind == "qstr":
            parts.append(_quote(tok.text))
        elif tok.kind == "special" and tok.text not in ".@":
            raise AddressListError(f"unexpected {tok.text!r} in an address")
        else:
            parts.append(tok.text)
    text = "".join(parts)
    if text.count("@") == 0 or text.startswith("@") or text.endswith("@"):
        raise AddressListError(f"{text!r} is not local-part@domain")
    return text


def _cut_free_form(text: str) -> str:
    """Free-form name cut to its upper bound without breaking a comment."""
    if len(text) <= ub_free_form_name:
        return text
    cut = text[:ub_free_form_name]
    depth, start = 0, -1
    for pos, c in enumerate(cut):
        if c == "(":
            if depth == 0:
                start = pos
            depth += 1
        elif c == ")" and depth:
            depth -= 1
    if depth:
        cut = cut[:start]
    return cut.rstrip()


def _free_form(phrase: str, comments: Sequence[str]) -> str | None:
    text = " ".join(p for p in (phrase, *(decode_text(c) for c in comments)) if p)
    return _cut_free_form(text) or None


def _mailbox(tokens: Sequence[_Token], gw: Gateway) -> ORDescriptor:
    comments = [t.text for t in tokens if t.kind == "comment"]
    rest = [t for t in tokens if t.kind != "comment"]
    if not rest:
        raise AddressListError("empty address")
    angle = next((i for i, t in enumerate(rest) if t.kind == "special" and t.text == "<"), None)
    if angle is not None:
        if rest[-1].kind != "special" or rest[-1].text != ">":
            raise AddressListError("'<' without '>'")
        phrase = _phrase_text(rest[:angle])
        inner = rest[angle + 1 : -1]
        colon = next(
            (i for i, t in enumerate(inner) if t.kind == "special" and t.text == ":"), None
        )
        if colon is not None:  # source route: dropped (4.7.1 step 1)
            inner = inner[colon + 1 :]
        address = _addr_spec(inner)
    else:
        phrase = ""
        address = _addr_spec(rest)
    try:
        formal = ORName(gw.to_or(address))
    except (MappingError, ORAddressError) as exc:
        raise AddressListError(str(exc)) from None
    return ORDescriptor(formal=formal, free_form=_free_form(phrase, comments))


def parse_address_list(value: str, gw: Gateway) -> list[ORDescriptor]:
    """O/R descriptors of an RFC 822 address list (4.7.1), groups included.

    Raises :class:`AddressListError` if ``value`` is not an address list.
    """
    tokens = _tokens(value)
    out: list[ORDescriptor] = []
    current: list[_Token] = []
    in_group = False
    angle = 0

    def finish() -> None:
        if any(t.kind != "comment" for t in current):
            out.append(_mailbox(current, gw))
        current.clear()

    for tok in tokens:
        if tok.kind == "special" and tok.text in "<>":
            angle += 1 if tok.text == "<" else -1
            current.append(tok)
        elif tok.kind == "special" and tok.text == ":" and angle == 0 and not in_group:
            comments = [t.text for t in current if t.kind == "comment"]
            words = [t for t in current if t.kind != "comment"]
            if not words or any(t.kind not in ("atom", "qstr") for t in words):
                raise AddressListError("bad group name")
            out.append(ORDescriptor(free_form=_free_form(_phrase_text(words), comments) or ""))
            current.clear()
            in_group = True
        elif tok.kind == "special" and tok.text == ";" and angle == 0 and in_group:
            finish()
            in_group = False
        elif tok.kind == "special" and tok.text == "," and angle == 0:
            finish()
        else:
            current.append(tok)
    if in_group or angle:
        raise AddressListError("unterminated group or route-addr")
    finish()
    return out


def mailbox_to_ordescriptor(text: str, gw: Gateway) -> ORDescriptor:
    """The ORDescriptor of one RFC 822 mailbox or group name (4.7.1)."""
    found = parse_address_list(text, gw)
    if len(found) != 1:
        raise AddressListError(f"{text!r} is not one mailbox")
    return found[0]


def _phrase(text: str) -> str:
    if not text.isascii() or "=?" in text:
        return encode_text(text)
    words = text.split(" ")
    if all(w and not any(c in _SPECIALS or not c.isprintable() for c in w) for w in words):
        return text
    return _quote(text)


def _comment(text: str) -> str:
    return "(" + re.sub(r"([()\\])", r"\\\1", text) + ")"


def ordescriptor_to_mailbox(d: ORDescriptor, gw: Gateway, *, reply_requested: bool = False) -> str:
    """RFC 822 mailbox (or ``Name:;`` group) of an ORDescriptor (4.7.2).

    Telephone number and directory name become comments, as does a reply
    request.  The receipt-notification comments of step 5 are not written
    (the RFC recommends against them).
    """
    if d.formal is not None:
        address = gw.to_rfc822(d.formal)
        text = f"{_phrase(d.free_form)} <{address}>" if d.free_form else address
    else:
        text = _phrase(d.free_form or "") if d.free_form else '""'
        text += ":;"
    comments = []
    if d.telephone:
        comments.append(_comment("Tel " + d.telephone))
    if d.formal is not None and d.formal.directory_name:
        comments.append(_comment(d.formal.directory_name))
    if reply_requested:
        comments.append("(Reply requested)")
    return " ".join([text, *comments])


# --- X.400 -> RFC 822 (5.3.4) --------------------------------------------------------


def _recipients(specs: Iterable[RecipientSpecifier], gw: Gateway) -> str:
    return ", ".join(
        ordescriptor_to_mailbox(s.recipient, gw, reply_requested=s.reply_requested) for s in specs
    )


def _unfold_subject(subject: str) -> str:
    # 5.3.4: CRLF in a subject are folding points; unfolded, they go.
    text = re.sub(r"\r?\n(?=[ \t])", "", subject)
    return re.sub(r"\r?\n", " ", text)


def heading_fields(heading: Heading, gw: Gateway) -> list[tuple[str, str]]:
    """The RFC 822 fields of an IPM heading (5.3.4), in output order."""
    out: list[tuple[str, str]] = [("Message-ID", ipm_id_to_msgid(heading.this_ipm))]
    if heading.authorizing_users:
        out.append(
            ("From", ", ".join(ordescriptor_to_mailbox(d, gw) for d in heading.authorizing_users))
        )
        if heading.originator is not None:
            out.append(("Sender", ordescriptor_to_mailbox(heading.originator, gw)))
    elif heading.originator is not None:
        out.append(("From", ordescriptor_to_mailbox(heading.originator, gw)))
    if heading.reply_recipients:
        out.append(
            (
                "Reply-To",
                ", ".join(ordescriptor_to_mailbox(d, gw) for d in heading.reply_recipients),
            )
        )
    if heading.primary:
        out.append(("To", _recipients(heading.primary, gw)))
    if heading.copy:
        out.append(("Cc", _recipients(heading.copy, gw)))
    if heading.blind_copy is not None:
        out.append(("Bcc", _recipients(heading.blind_copy, gw)))
    if heading.replied_to is not None:
        out.append(("In-Reply-To", ipm_id_to_phrase_or_msgid(heading.replied_to)))
    if heading.related:
        out.append(("References", " ".join(ipm_id_to_phrase_or_msgid(i) for i in heading.related)))
    if heading.obsoleted:
        out.append(("Supersedes", " ".join(ipm_id_to_msgid(i) for i in heading.obsoleted)))
    if heading.subject is not None:
        out.append(("Subject", encode_text(_unfold_subject(heading.subject))))
    for name, raw in (("Expires", heading.expiry_time), ("Reply-By", heading.reply_time)):
        if raw is not None:
            when = parse_x400_time(raw)
            if when is not None:  # an unreadable time cannot be written
                out.append((name, rfc5322_date(raw, when)))
    if heading.importance is not None:
        out.append(("Importance", heading.importance))
    if heading.sensitivity is not None:
        out.append(("Sensitivity", _SENSITIVITY[heading.sensitivity]))
    if heading.autoforwarded is not None:
        out.append(("Autoforwarded", "TRUE" if heading.autoforwarded else "FALSE"))
    if heading.incomplete_copy:
        out.append(("Incomplete-Copy", ""))
    kept = [_split_field(line) for line in heading.rfc822_fields]
    kept_names = {f[0].lower() for f in kept if f is not None}
    if heading.languages and "content-language" not in kept_names:
        out.append(("Content-Language", ", ".join(heading.languages)))
    if heading.auto_submitted is not None:
        out.append(("Autosubmitted", heading.auto_submitted))
    written = {name.lower() for name, _ in out}
    for field in kept:
        if field is not None and not (field[0].lower() in _SINGLE and field[0].lower() in written):
            out.append(field)
    if heading.extensions:
        out.append(
            (
                "Discarded-X400-IPMS-Extensions",
                ", ".join(
                    format_oid(e.type) if isinstance(e.type, str) else f"({e.type})"
                    for e in heading.extensions
                ),
            )
        )
    return out


def _split_field(line: str) -> tuple[str, str] | None:
    name, sep, value = line.partition(":")
    if not sep or not _FIELD_NAME.fullmatch(name):
        return None
    return name, value.strip()


# --- RFC 822 -> X.400 (5.1.3) -----------------------------------------------------------


def _default_ipm_id(fields: Sequence[tuple[str, str]], gw: Gateway) -> IPMIdentifier:
    seed = "\n".join(f"{n}: {v}" for n, v in fields).encode("utf-8", "replace")
    digest = hashlib.sha256(seed + gw.now.isoformat().encode()).hexdigest()[:20]
    return IPMIdentifier(user=gw.or_address, local=f"{gw.now:%y%m%d%H%M%S}.{digest}")


def _only_msgids(value: str) -> bool:
    text = re.sub(r"\([^()]*\)", " ", value)
    return bool(re.fullmatch(r"(\s*<[^<>]+>)+\s*", text))


def _one_msgid(value: str) -> IPMIdentifier | None:
    m = re.fullmatch(r"\s*(<[^<>]+>)\s*(\(.*\))?\s*", value)
    return msgid_to_ipm_id(m.group(1)) if m else None


def _languages(value: str) -> tuple[tuple[str, ...], bool] | None:
    """(2-letter codes, lossy?) of a Content-Language value, or None."""
    lossy = "(" in value
    text = re.sub(r"\([^()]*\)", " ", value)
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if len(item) < 2 or not item[:2].isalpha() or not item[:2].isascii():
            return None
        lossy = lossy or len(item) > 2
        out.append(item[:2])
    return (tuple(out), lossy) if out else None


def heading_from_fields(msg: Message, gw: Gateway) -> Heading:
    """The IPM heading of an Internet message's header (5.1.3).

    Fields without a heading home, and mapped fields that do not parse, go
    to ``rfc822_fields``; trace, MIME and the envelope fields of 5.1.7 and
    App. C are left to their own mappings (when they parse), and the MIXER
    fields of 5.1.7 that are never mapped back are dropped.
    """
    # envelope_fields imports this module: import at call time.
    from gateway.x400.envelope_fields import envelope_field_ok

    fields = header_fields(msg)
    extra: list[str] = []
    values: dict[str, list[str]] = {}
    for name, value in fields:
        values.setdefault(name.lower(), []).append(value)

    def keep(name: str, value: str) -> None:
        extra.append(f"{name}: {value}" if value else f"{name}:")

    found: dict[str, list[ORDescriptor]] = {}  # address fields, present ones only

    this_ipm: IPMIdentifier | None = None
    originator: ORDescriptor | None = None
    authorizing: tuple[ORDescriptor, ...] = ()
    subject: str | None = None
    expiry: str | None = None
    reply_time: str | None = None
    importance: Literal["low", "normal", "high"] | None = None
    sensitivity: Literal["personal", "private", "company-confidential"] | None = None
    autoforwarded: bool | None = None
    incomplete = False
    languages: list[str] = []
    auto_submitted: Literal["not-auto-submitted", "auto-generated", "auto-replied"] | None = None
    in_reply_to: list[IPMIdentifier] = []
    references: list[IPMIdentifier] = []
    obsoleted: list[IPMIdentifier] = []

    for name, value in fields:
        key = name.lower()
        if key in DROPPED_FIELDS or key in MIME_FIELDS:
            continue
        if key in _ADDRESS_FIELDS:
            found.setdefault(key, [])
            try:
                found[key].extend(parse_address_list(value, gw))
            except AddressListError:
                keep(name, value)
            continue
        if key in ENVELOPE_FIELDS:
            if not envelope_field_ok(key, value, gw):
                keep(name, value)
            continue
        if key == "date":
            if parse_rfc5322_date(value) is None:
                keep(name, value)
        elif key == "message-id" and this_ipm is None and (ident := _one_msgid(value)):
            this_ipm = ident
        elif key == "subject" and subject is None:
            subject = decode_text(value)[:ub_subject_field]
        elif key in ("in-reply-to", "references", "supersedes", "obsoletes"):
            refs = parse_reference_list(value)
            if key in ("supersedes", "obsoletes") and not _only_msgids(value):
                refs = []  # 1*msg-id: no phrase form here
            if not refs:
                keep(name, value)
            {"in-reply-to": in_reply_to, "references": references}.get(key, obsoleted).extend(refs)
        elif key in ("expires", "expiry-date", "reply-by"):
            when = parse_rfc5322_date(value)
            if when is None:
                keep(name, value)
            elif key == "reply-by":
                reply_time = format_x400_time(when)
            else:
                expiry = format_x400_time(when)
        elif key == "importance" and value.lower() in ("low", "normal", "high"):
            importance = value.lower()  # type: ignore[assignment]
        elif key == "sensitivity" and value.lower() in _SENSITIVITY:
            sensitivity = value.lower()  # type: ignore[assignment]
        elif key == "autoforwarded" and value.upper() in ("TRUE", "FALSE"):
            autoforwarded = value.upper() == "TRUE"
        elif key == "incomplete-copy":
            incomplete = True
        elif key in ("content-language", "language") and (langs := _languages(value)):
            languages.extend(langs[0])
            if langs[1]:
                keep(name, value)
        elif key == "autosubmitted" and value.lower() in _AUTOSUBMITTED:
            auto_submitted = value.lower()  # type: ignore[assignment]
        else:
            keep(name, value)

    froms, senders = found.get("from"), found.get("sender")
    if senders:
        originator = senders[0]
        authorizing = tuple(froms or ())
    elif froms:
        originator = froms[0]
        authorizing = tuple(froms) if len(froms) > 1 else ()

    replied_to: IPMIdentifier | None = None
    related = list(references)
    if len(in_reply_to) == 1:
        replied_to = in_reply_to[0]
    else:
        related.extend(i for i in in_reply_to if i not in related)
    bcc = found.get("bcc")
    return Heading(
        this_ipm=this_ipm or _default_ipm_id(fields, gw),
        originator=originator,
        authorizing_users=authorizing,
        primary=tuple(RecipientSpecifier(d) for d in found.get("to", ())),
        copy=tuple(RecipientSpecifier(d) for d in found.get("cc", ())),
        blind_copy=None if bcc is None else tuple(RecipientSpecifier(d) for d in bcc),
        replied_to=replied_to,
        obsoleted=tuple(obsoleted),
        related=tuple(related),
        subject=subject,
        expiry_time=expiry,
        reply_time=reply_time,
        reply_recipients=tuple(found.get("reply-to", ())),
        importance=importance,
        sensitivity=sensitivity,
        autoforwarded=autoforwarded,
        incomplete_copy=incomplete,
        languages=tuple(languages),
        auto_submitted=auto_submitted,
        rfc822_fields=tuple(extra),
    )
