"""gateway.x400.bodies: IPM body parts <-> MIME entities (RFC 2157, RFC 2156 App. B)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.x400.bodies import (
    CHARSET_REGISTRATIONS,
    EIT_FILE_TRANSFER,
    body_eits,
    body_to_mime,
    charset_for_registrations,
    fold_field,
    ipm_1984_header_part,
    is_multipart_wrapper,
    mime_to_body,
    parse_1984_header_part,
    registrations_for_charset,
)
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
from tests.x400 import gateways

GW = gateways.make_gateway(
    "x400-gw.example.net",
    "/O=gw/PRMD=lab/ADMD= /C=GB/",
    mta_name="gw.example.net",
    admin="postmaster@x400-gw.example.net",
    now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)


def parse(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.SMTP).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def mime(head: str, body: bytes = b"") -> EmailMessage:
    """A MIME entity from header lines (LF in the test source) and a body."""
    return parse(head.strip("\n").replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)


def to_mime_and_back(body: tuple[BodyPart, ...]) -> tuple[BodyPart, ...]:
    return mime_to_body(parse(body_to_mime(body, GW).as_bytes()), GW)


# --- the GeneralText charset table -------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "registrations"),
    [
        ("ISO-8859-1", (1, 6, 100)),
        ("latin1", (1, 6, 100)),
        ("iso-8859-2", (1, 6, 101)),
        ("iso-8859-3", (1, 6, 109)),
        ("iso-8859-4", (1, 6, 110)),
        ("iso-8859-5", (1, 6, 144)),
        ("iso-8859-6", (1, 6, 127)),
        ("iso-8859-7", (1, 6, 126)),
        ("iso-8859-8", (1, 6, 138)),
        ("iso-8859-9", (1, 6, 148)),
        ("ISO-8859-15", (1, 6, 203)),
        ("utf-8", (196,)),
        ("UTF8", (196,)),
        ("us-ascii", (1, 6)),
    ],
)
def test_charset_registrations(charset: str, registrations: tuple[int, ...]) -> None:
    assert registrations_for_charset(charset) == registrations
    assert charset_for_registrations(registrations) == CHARSET_REGISTRATIONS_NAME[registrations]


CHARSET_REGISTRATIONS_NAME = {regs: name for name, regs in CHARSET_REGISTRATIONS.items()}


def test_charset_registrations_read_leniently() -> None:
    # the C1 set (77) and the C0 set add no letters; a right half alone is
    # its ISO 8859 part; UTF-8 with C0 declared is still UTF-8
    assert charset_for_registrations((1, 6, 100, 77)) == "iso-8859-1"
    assert charset_for_registrations((100,)) == "iso-8859-1"
    assert charset_for_registrations((6,)) == "us-ascii"
    assert charset_for_registrations((1, 196)) == "utf-8"
    assert charset_for_registrations((1, 6, 999)) is None
    assert registrations_for_charset("windows-1252") is None
    assert registrations_for_charset("x-no-such-charset") is None


# --- MIME -> body ----------------------------------------------------------------------


def test_us_ascii_text_is_ia5_with_crlf_lines() -> None:
    entity = mime("Content-Type: text/plain; charset=us-ascii", b"Hello\nworld\r\n")
    assert mime_to_body(entity, GW) == (TextPart("Hello\r\nworld\r\n", kind="ia5"),)


def test_text_without_content_type_is_ia5() -> None:
    assert mime_to_body(mime("Subject: x"), GW) == (TextPart("", kind="ia5"),)
    assert mime_to_body(mime("Subject: x", b"hi\r\n"), GW) == (TextPart("hi\r\n"),)


def test_iso_8859_text_is_general_text() -> None:
    entity = mime(
        "Content-Type: text/plain; charset=ISO-8859-2\n"
        "Content-Transfer-Encoding: quoted-printable",
        b"Dobr=FD den=\r\n!\r\n",
    )
    assert mime_to_body(entity, GW) == (
        TextPart("Dobrý den!\r\n", kind="general", charsets=(1, 6, 101)),
    )


def test_ascii_text_labelled_latin1_keeps_its_label() -> None:
    entity = mime("Content-Type: text/plain; charset=iso-8859-1", b"plain\r\n")
    assert mime_to_body(entity, GW) == (TextPart("plain\r\n", "general", (1, 6, 100)),)


def test_utf8_text_is_general_text_196() -> None:
    data = "Привет, 世界\n".encode()
    entity = mime(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
        base64.encodebytes(data),
    )
    assert mime_to_body(entity, GW) == (TextPart("Привет, 世界\r\n", "general", (196,)),)


@pytest.mark.parametrize(
    ("charset", "data"),
    [
        ("windows-1252", b"caf\xe9 \x93quoted\x94\r\n"),  # not in the table
        ("us-ascii", b"caf\xe9\r\n"),  # 8-bit in ASCII
        ("utf-8", b"\xff\xfe broken\r\n"),  # not UTF-8
        ("iso-8859-1", b"smart \x93quotes\x94\r\n"),  # C1 octets: windows-1252 in disguise
        ("x-unknown", b"anything"),
    ],
)
def test_text_that_is_not_mappable_keeps_its_bytes(charset: str, data: bytes) -> None:
    entity = mime(
        f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit", data
    )
    assert mime_to_body(entity, GW) == (BinaryPart(data),)


def test_attachment_with_filename_is_file_part() -> None:
    data = b"%PDF-1.4\x00\xff"
    entity = mime(
        "Content-Type: application/pdf\n"
        'Content-Disposition: attachment; filename="report 2026.pdf"\n'
        "Content-Transfer-Encoding: base64",
        base64.encodebytes(data),
    )
    assert mime_to_body(entity, GW) == (FilePart(data, "report 2026.pdf"),)


def test_name_parameter_and_rfc2231_file_names() -> None:
    entity = mime("Content-Type: application/octet-stream; name=a.bin", b"xyz")
    assert mime_to_body(entity, GW) == (FilePart(b"xyz", "a.bin"),)
    entity = mime(
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt",
        b"text attachment\r\n",
    )
    assert mime_to_body(entity, GW) == (FilePart(b"text attachment\r\n", "résumé.txt"),)


def test_other_types_are_binary() -> None:
    entity = mime("Content-Type: image/png\nContent-Transfer-Encoding: base64", b"iVBORw0K\r\n")
    assert mime_to_body(entity, GW) == (BinaryPart(base64.b64decode(b"iVBORw0K")),)
    entity = mime("Content-Type: text/html; charset=utf-8", b"<p>hi</p>")
    assert mime_to_body(entity, GW) == (BinaryPart(b"<p>hi</p>"),)


def test_x400_bp_is_opaque_part() -> None:
    entity = mime(
        "Content-Type: application/x400-bp; bp-type=g3-facsimile\n"
        "Content-Transfer-Encoding: base64",
        base64.encodebytes(b"\x30\x03\x02\x01\x05"),
    )
    assert mime_to_body(entity, GW) == (OpaquePart("g3-facsimile", b"\x30\x03\x02\x01\x05"),)


MIXED = b"""\
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain

first
--outer
Content-Type: multipart/alternative; boundary=inner; x-note="a b"

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html

<b>html</b>
--inner--
--outer
Content-Type: application/zip; name="a.zip"
Content-Transfer-Encoding: base64

UEsDBA==
--outer--
epilogue
""".replace(b"\n", b"\r\n")


def alternative(*parts: BodyPart, extra: str = "") -> MessagePart:
    heading = Heading(
        this_ipm=IPMIdentifier(), rfc822_fields=(f"Content-Type: multipart/alternative{extra}",)
    )
    return MessagePart(IPM(heading=heading, body=parts))


def test_multipart_mixed_is_the_body_and_nested_multiparts_are_message_parts() -> None:
    body = mime_to_body(parse(MIXED), GW)
    assert body == (
        TextPart("first"),
        alternative(TextPart("plain"), BinaryPart(b"<b>html</b>"), extra='; x-note="a b"'),
        FilePart(b"PK\x03\x04", "a.zip"),
    )
    assert isinstance(body[1], MessagePart) and is_multipart_wrapper(body[1].ipm)


def test_top_level_alternative_is_one_wrapped_part() -> None:
    entity = mime(
        'Content-Type: multipart/alternative; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b--\r\n",
    )
    assert mime_to_body(entity, GW) == (alternative(TextPart("one")),)


def test_multipart_without_boundary_is_kept_as_bytes() -> None:
    entity = mime("Content-Type: multipart/mixed", b"no parts here\r\n")
    assert mime_to_body(entity, GW) == (BinaryPart(b"no parts here\r\n"),)


# --- body -> MIME ---------------------------------------------------------------------


def test_empty_body_is_empty_text() -> None:
    entity = body_to_mime((), GW)
    assert entity.get_content_type() == "text/plain"
    assert entity.get_payload(decode=True) == b""


def test_ia5_text_is_7bit_us_ascii() -> None:
    entity = body_to_mime((TextPart("Hi\r\nthere\n"),), GW)
    assert entity.get_content_type() == "text/plain"
    assert entity.get_content_charset() == "us-ascii"
    assert entity["Content-Transfer-Encoding"] == "7bit"
    assert entity.as_bytes().endswith(b"\r\n\r\nHi\r\nthere\r\n")


def test_long_lines_and_8bit_text_are_encoded() -> None:
    long = TextPart("x" * 2000)
    entity = body_to_mime((long,), GW)
    assert entity["Content-Transfer-Encoding"] == "quoted-printable"
    assert max(len(line) for line in entity.as_bytes().split(b"\r\n")) <= 78
    assert to_mime_and_back((long,)) == (long,)
    greek = TextPart("Καλημέρα κόσμε\r\n", "general", (1, 6, 126))
    entity = body_to_mime((greek,), GW)
    assert entity.get_content_charset() == "iso-8859-7"
    assert entity["Content-Transfer-Encoding"] == "base64"
    assert to_mime_and_back((greek,)) == (greek,)
    latin = TextPart("Grüße aus Köln\r\n", "general", (1, 6, 100))
    assert body_to_mime((latin,), GW)["Content-Transfer-Encoding"] == "quoted-printable"
    assert to_mime_and_back((latin,)) == (latin,)


@pytest.mark.parametrize(
    ("part", "charset"),
    [
        (TextPart("£5", "teletex"), "iso-8859-1"),
        (TextPart("plain", "teletex"), "us-ascii"),
        (TextPart("€ and Ж", "general", (1, 6, 999)), "utf-8"),  # unknown set: smallest that fits
        (TextPart("€uro", "general", (1, 6, 100)), "utf-8"),  # not in its own set
        (TextPart("€uro", "general", (1, 6, 203)), "iso-8859-15"),
        (TextPart("ascii", "general", (196,)), "utf-8"),  # keeps the declared set
    ],
)
def test_output_charset(part: TextPart, charset: str) -> None:
    entity = body_to_mime((part,), GW)
    assert entity.get_content_charset() == charset
    data = entity.get_payload(decode=True)
    assert isinstance(data, bytes) and data.decode(charset) == part.text


@pytest.mark.parametrize(
    ("part", "content_type"),
    [
        (FilePart(b"%PDF", "report.pdf"), "application/pdf"),
        (FilePart(b"plain", "notes.txt"), "text/plain"),
        (FilePart("déjà".encode(), "notes.txt"), 'text/plain; charset="utf-8"'),
        (FilePart(b"caf\xe9", "notes.txt"), "application/octet-stream"),  # unknown charset
        (FilePart(b"\x1f\x8b", "a.tar.gz"), "application/octet-stream"),  # compressed
        (FilePart(b"?", "no-extension"), "application/octet-stream"),
    ],
)
def test_file_part_type_from_name(part: FilePart, content_type: str) -> None:
    entity = body_to_mime((part,), GW)
    assert entity["Content-Type"] == content_type
    assert entity.get_content_disposition() == "attachment"
    assert entity.get_filename() == part.name
    assert entity.get_payload(decode=True) == part.data


def test_file_part_without_name_and_binary_part() -> None:
    entity = body_to_mime((FilePart(b"\x00\x01"),), GW)
    assert entity.get_content_type() == "application/octet-stream"
    assert entity.get_filename() is None
    entity = body_to_mime((BinaryPart(b"\x00\x01"),), GW)
    assert entity["Content-Type"] == "application/octet-stream"
    assert entity["Content-Transfer-Encoding"] == "base64"
    assert entity.get_payload(decode=True) == b"\x00\x01"
    assert entity.get_content_disposition() is None


def test_non_ascii_file_name_round_trips() -> None:
    part = FilePart(b"data", "Ångström — отчёт.xlsx")
    assert to_mime_and_back((part,)) == (part,)


def test_opaque_part_is_x400_bp() -> None:
    part = OpaquePart("2.6.1.4.17.1", b"\x04\x01\x00")
    entity = body_to_mime((part,), GW)
    assert entity.get_content_type() == "application/x400-bp"
    assert entity.get_param("bp-type") == "2.6.1.4.17.1"
    assert to_mime_and_back((part,)) == (part,)


def test_several_parts_are_multipart_mixed() -> None:
    body = (TextPart("one"), BinaryPart(b"\x00"), FilePart(b"x", "x.bin"))
    entity = body_to_mime(body, GW)
    assert entity.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in entity.iter_parts()] == [
        "text/plain",
        "application/octet-stream",
        "application/octet-stream",
    ]
    assert to_mime_and_back(body) == body


def test_wrapped_multiparts_come_back_as_multiparts() -> None:
    wrapped = alternative(TextPart("plain"), BinaryPart(b"<b>html</b>"), extra='; x-note="a b"')
    # alone: the top-level entity is the multipart itself
    entity = body_to_mime((wrapped,), GW)
    assert entity.get_content_type() == "multipart/alternative"
    assert entity.get_param("x-note") == "a b"
    assert to_mime_and_back((wrapped,)) == (wrapped,)
    # nested in a mixed body
    body = (TextPart("first"), wrapped)
    entity = body_to_mime(body, GW)
    assert [p.get_content_type() for p in entity.iter_parts()] == [
        "text/plain",
        "multipart/alternative",
    ]
    assert to_mime_and_back(body) == body
    # the MIXED sample: MIME -> IPM -> MIME -> IPM is stable
    first = mime_to_body(parse(MIXED), GW)
    assert to_mime_and_back(first) == first


def test_message_part_with_empty_heading_is_multipart_mixed() -> None:
    bare = MessagePart(IPM(Heading(this_ipm=IPMIdentifier()), (TextPart("a"), TextPart("b"))))
    assert is_multipart_wrapper(bare.ipm)
    entity = body_to_mime((TextPart("x"), bare), GW)
    inner = list(entity.iter_parts())[1]
    assert inner.get_content_type() == "multipart/mixed"
    assert len(list(inner.iter_parts())) == 2
    empty = MessagePart(IPM(Heading(this_ipm=IPMIdentifier())))
    inner = list(body_to_mime((TextPart("x"), empty), GW).iter_parts())[1]
    assert [p.get_content_type() for p in inner.iter_parts()] == ["text/plain"]


def test_forwarded_ipm_is_not_a_wrapper() -> None:
    heading = Heading(this_ipm=IPMIdentifier(local="1@x"), subject="fwd")
    assert not is_multipart_wrapper(IPM(heading))
    heading = Heading(this_ipm=IPMIdentifier(), rfc822_fields=("Keywords: x",))
    assert not is_multipart_wrapper(IPM(heading))


# --- RFC 2156 Appendix B ---------------------------------------------------------------


def test_1984_header_part_both_ways() -> None:
    fields = ("Keywords: x400, mime", ("X-Mailer", "test"), "Content-Language: en")
    part = ipm_1984_header_part(fields)
    assert part == TextPart(
        "RFC-822-Headers:\r\nKeywords: x400, mime\r\nX-Mailer: test\r\nContent-Language: en\r\n"
    )
    assert parse_1984_header_part(part) == (
        ("Keywords: x400, mime", "X-Mailer: test", "Content-Language: en"),
        "",
    )


def test_1984_header_part_folds_and_unfolds_long_fields() -> None:
    field = "Comments: " + " ".join(f"word{i}" for i in range(40))
    part = ipm_1984_header_part([field])
    assert isinstance(part, TextPart)
    assert max(len(line) for line in part.text.split("\r\n")) <= 78
    assert parse_1984_header_part(part) == ((field,), "")


def test_1984_header_part_read_leniently() -> None:
    text = "RFC-822-HEADERS:\nX-A: 1\n  continued\nX-B: 2\n\nSome text\nafter\n"
    assert parse_1984_header_part(TextPart(text)) == (
        ("X-A: 1  continued", "X-B: 2"),
        "Some text\r\nafter\r\n",
    )
    assert parse_1984_header_part(TextPart("Hello\r\nRFC-822-Headers:\r\n")) is None
    assert parse_1984_header_part(BinaryPart(b"RFC-822-Headers:\r\n")) is None
    assert parse_1984_header_part(TextPart("RFC-822-Headers:\r\nnot a field\r\n")) == (
        (),
        "not a field\r\n",
    )


def test_fold_field() -> None:
    assert fold_field("Subject: short") == "Subject: short"
    folded = fold_field("Subject: " + "a" * 100 + " b")
    assert folded == "Subject: " + "a" * 100 + "\r\n b"
    assert fold_field("X: " + "y" * 200) == "X: " + "y" * 200  # no white space to fold at


# --- encoded information types ----------------------------------------------------------


def test_body_eits() -> None:
    body = (
        TextPart("a"),
        TextPart("é", "general", (1, 6, 100)),
        FilePart(b"", "f"),
        BinaryPart(b""),
        OpaquePart("g3-facsimile", b""),
        MessagePart(IPM(Heading(this_ipm=IPMIdentifier()), (TextPart("b", "teletex"),))),
        TextPart("again"),
    )
    assert body_eits(body) == (
        "ia5-text",
        "1.0.10021.7.1.0.1",
        "1.0.10021.7.1.0.6",
        "1.0.10021.7.1.0.100",
        EIT_FILE_TRANSFER,
        "undefined",
        "g3-facsimile",
        "teletex",
    )


# --- properties: IPM -> MIME -> IPM ----------------------------------------------------

_LATIN = {
    name: "".join(
        ch
        for ch in bytes(range(0x20, 0x7F)).decode("ascii")
        + bytes(range(0xA0, 0x100)).decode(name, errors="ignore")
    )
    for name in CHARSET_REGISTRATIONS
    if name.startswith("iso-8859-")
}


def _lines(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    line = st.text(alphabet=alphabet, max_size=120)
    return st.lists(line, max_size=5).map("\r\n".join)


_CHARS_NO_EOL = st.characters(exclude_categories=["Cs"], exclude_characters="\r\n")
_ASCII_NO_EOL = st.characters(max_codepoint=127, exclude_characters="\r\n")


@st.composite
def text_parts(draw: st.DrawFn) -> TextPart:
    kind = draw(st.sampled_from(["ia5", "utf-8", *sorted(_LATIN)]))
    if kind == "ia5":
        return TextPart(draw(_lines(_ASCII_NO_EOL)))
    if kind == "utf-8":
        return TextPart(draw(_lines(_CHARS_NO_EOL)), "general", (196,))
    return TextPart(
        draw(_lines(st.sampled_from(_LATIN[kind]))), "general", CHARSET_REGISTRATIONS[kind]
    )


file_names = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda s: s.strip() == s and s != "")
leaf_parts: st.SearchStrategy[BodyPart] = st.one_of(
    text_parts(),
    st.builds(BinaryPart, st.binary(max_size=200)),
    st.builds(FilePart, st.binary(max_size=200), file_names),
    st.builds(OpaquePart, st.sampled_from(["g3-facsimile", "2.6.1.4.17.9"]), st.binary()),
)
SUBTYPES = ["mixed", "alternative", "related", "parallel"]


def _wrap(subtype: str, parts: list[BodyPart]) -> BodyPart:
    heading = Heading(IPMIdentifier(), rfc822_fields=(f"Content-Type: multipart/{subtype}",))
    return MessagePart(IPM(heading, tuple(parts)))


body_parts: st.SearchStrategy[BodyPart] = st.recursive(
    leaf_parts,
    lambda inner: st.builds(
        _wrap, st.sampled_from(SUBTYPES), st.lists(inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(body_parts, min_size=1, max_size=4))
def test_ipm_body_to_mime_and_back(parts: list[BodyPart]) -> None:
    body = tuple(parts)
    assume(body != (TextPart(""),))
    assert to_mime_and_back(body) == body


# --- properties: MIME -> IPM -> MIME (the requirement) -------------------------
#
# Generated MIME trees are written out by hand (any transfer encoding, LF or
# CR LF text), read, mapped to an IPM body and back, and the leaves compared:
# text (charset label and text after CR LF normalisation), attachments (file
# name and decoded bytes), nested multiparts (subtype).


@dataclass(frozen=True)
class Text:
    charset: str
    text: str
    cte: str


@dataclass(frozen=True)
class Attachment:
    ctype: str
    name: str
    data: bytes


@dataclass(frozen=True)
class Multi:
    subtype: str
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Forwarded:
    subject: str
    body: Node


Node = Text | Attachment | Multi | Forwarded
_counter = iter(range(10**9))


def encode_node(node: Node) -> bytes:
    """The entity's header lines (CR LF) and body."""
    if isinstance(node, Text):
        data = node.text.encode(node.charset)
        if node.cte == "quoted-printable":
            data = binascii.b2a_qp(data, istext=True)
        elif node.cte == "base64":
            data = base64.encodebytes(data)
        head = f"Content-Type: text/plain; charset={node.charset}\r\n"
        head += f"Content-Transfer-Encoding: {node.cte}\r\n"
        return head.encode() + b"\r\n" + data
    if isinstance(node, Attachment):
        probe = EmailMessage(policy=policy.SMTP)
        probe["Content-Type"] = node.ctype
        probe["Content-Disposition"] = "attachment"
        probe.set_param("filename", node.name, header="Content-Disposition")
        probe["Content-Transfer-Encoding"] = "base64"
        return probe.as_bytes() + base64.encodebytes(node.data)
    if isinstance(node, Forwarded):
        inner = encode_node(node.body)
        head = f"Subject: {node.subject}\r\nMessage-ID: <{next(_counter)}@example.org>\r\n"
        return b"Content-Type: message/rfc822\r\n\r\n" + head.encode() + inner
    boundary = f"=_b{next(_counter)}"
    out = f'Content-Type: multipart/{node.subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    for part in node.parts:
        out += f"--{boundary}\r\n".encode() + encode_node(part) + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def leaves(entity: Message) -> list[object]:
    """What MIME -> IPM -> MIME must keep, in order."""
    if entity.get_content_maintype() == "multipart":
        out: list[object] = []
        for part in entity.iter_parts() if isinstance(entity, EmailMessage) else []:
            out.extend(leaves(part))
        return out
    if entity.get_content_type() == "message/rfc822":
        inner = entity.get_payload(0)
        assert isinstance(inner, Message)
        return [("message", str(inner["Subject"]), leaves(inner))]
    data = entity.get_payload(decode=True)
    assert isinstance(data, bytes)
    name = entity.get_filename()
    if name is not None:
        return [("file", name, data)]
    charset = entity.get_content_charset("us-ascii")
    text = data.decode(charset).replace("\r\n", "\n").replace("\r", "\n")
    return [("text", charset, text)]


def mime_round_trip(data: bytes) -> tuple[EmailMessage, EmailMessage]:
    original = parse(data)
    again = parse(body_to_mime(mime_to_body(original, GW), GW).as_bytes())
    return original, again


@st.composite
def text_nodes(draw: st.DrawFn) -> Text:
    charset = draw(st.sampled_from(["us-ascii", "utf-8", *sorted(_LATIN)]))
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    if charset == "us-ascii":
        alphabet: st.SearchStrategy[str] = st.characters(min_codepoint=32, max_codepoint=126)
    elif charset == "utf-8":
        alphabet = st.characters(exclude_categories=("Cs", "Cc"))
    else:
        alphabet = st.sampled_from(_LATIN[charset])
    lines = draw(st.lists(st.text(alphabet, max_size=100), max_size=5))
    text = eol.join(lines)
    cte = draw(st.sampled_from(["quoted-printable", "base64", "8bit"]))
    if cte == "8bit":
        # a literal body: no line that could be read as a boundary, CR LF only
        assume("--" not in text)
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return Text(charset, text, cte)


attachments = st.builds(
    Attachment,
    st.sampled_from(["application/pdf", "application/zip", "application/octet-stream"]),
    file_names,
    st.binary(max_size=300),
)


def mime_trees(with_messages: bool) -> st.SearchStrategy[Node]:
    def extend(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        multi = st.builds(
            Multi, st.sampled_from(SUBTYPES), st.lists(inner, min_size=1, max_size=3).map(tuple)
        )
        if not with_messages:
            return multi
        subject = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=20)
        return multi | st.builds(Forwarded, subject.map(lambda s: "s" + s), inner)

    leaf: st.SearchStrategy[Node] = st.one_of(text_nodes(), attachments)
    return st.recursive(leaf, extend, max_leaves=6)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(mime_trees(with_messages=False))
def test_mime_to_ipm_and_back_keeps_every_byte(tree: Node) -> None:
    original, again = mime_round_trip(encode_node(tree))
    assert leaves(again) == leaves(original)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(mime_trees(with_messages=True))
def test_mime_to_ipm_and_back_with_forwarded_messages(tree: Node) -> None:
    original, again = mime_round_trip(encode_node(tree))
    assert leaves(again) == leaves(original)


@pytest.mark.parametrize("name", ["<>", "<a.pdf>", 'say "hi".txt', "r\u00e9sum\u00e9.pdf"])
def test_file_names_survive_mime_exactly(name: str) -> None:
    """The stdlib's get_filename would drop angle brackets ("<>" -> "")."""
    entity = body_to_mime((FilePart(b"x", name),), GW)
    assert mime_to_body(entity, GW) == (FilePart(b"x", name),)
