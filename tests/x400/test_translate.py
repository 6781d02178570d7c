"""gateway.x400.translate: the MIXER top level (RFC 2156 4.6, 5.1, 5.3, App. B)."""

from __future__ import annotations

import dataclasses
import re
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.x400.bodies import ipm_1984_header_part, parse_1984_header_part
from gateway.x400.model import (
    IPM,
    BinaryPart,
    Extension,
    GlobalDomainId,
    Heading,
    IPMIdentifier,
    Message,
    MessageEnvelope,
    MessagePart,
    TextPart,
    TraceElement,
)
from gateway.x400.trace import EIT_MIXER, MIXER_RECEIVED_COMMENT
from gateway.x400.translate import (
    InternetMessage,
    TranslationError,
    forwarded_to_mime,
    internet_to_message,
    ipm_to_mime,
    message_to_internet,
)
from tests.x400.test_bodies import (
    GW,
    encode_node,
    leaves,
    mime_trees,
    parse,
)

SIMPLE = b"""\
Received: from client.example.org by mx.example.org; Fri, 2 Jan 2026 02:59:30 +0000
Date: Fri, 2 Jan 2026 02:59:00 +0000
From: Alice Example <alice@example.org>
To: bob@Widget.COM
Cc: carol@example.org
Subject: A useful message about X
Message-ID: <1803.665941698@example.org>
Keywords: x400, test
X-Mailer: tests
Content-Language: en
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bob.
""".replace(b"\n", b"\r\n")

PLAIN = b"""\
From: alice@example.org
To: bob@Widget.COM
Subject: plain
Message-ID: <plain.1@example.org>

Just text.
""".replace(b"\n", b"\r\n")


def to_x400(
    content: bytes, *, rcpt: tuple[str, ...] = ("bob@Widget.COM",), **kw: object
) -> tuple[MessageEnvelope, IPM]:
    return internet_to_message(content, "alice@example.org", list(rcpt), GW, **kw)  # type: ignore[arg-type]


def back(env: MessageEnvelope, ipm: IPM) -> InternetMessage:
    return message_to_internet(Message(envelope=env, content=b""), ipm, GW)


def header_lines(content: bytes) -> list[str]:
    """The header's fields, unfolded, as 'Name: value'."""
    head = content.split(b"\r\n\r\n", 1)[0].decode()
    return re.sub(r"\r\n(?=[ \t])", "", head).split("\r\n")


def names(content: bytes) -> list[str]:
    return [line.split(":", 1)[0] for line in header_lines(content)]


def mixer_received(n: int) -> bytes:
    line = f"Received: from gw{{}}.example by gw{{}}.example {MIXER_RECEIVED_COMMENT}; "
    line += "Fri, 2 Jan 2026 02:00:00 +0000\r\n"
    return b"".join(line.format(i, i).encode() for i in range(n))


# --- Internet -> X.400 -----------------------------------------------------------------


def test_internet_to_message() -> None:
    env, ipm = to_x400(SIMPLE)
    assert ipm.body == (TextPart("Hello Bob.\r\n"),)
    assert ipm.heading.subject == "A useful message about X"
    assert ipm.heading.languages == ("en",)
    assert "Keywords: x400, test" in ipm.heading.rfc822_fields
    assert env.content_type == 22  # heading extensions: 1988 (5.1.3)
    assert len(env.recipients) == 1
    own = env.trace[-1]
    assert own.domain == GW.global_domain
    assert own.converted_eits is not None
    assert "ia5-text" in own.converted_eits and EIT_MIXER in own.converted_eits
    assert env.original_eits is not None and EIT_MIXER in env.original_eits


def test_content_type_2_without_1988_features() -> None:
    env, ipm = to_x400(PLAIN)
    assert ipm.heading.rfc822_fields == ()
    assert env.content_type == 2
    general = PLAIN.replace(b"Subject", b"Content-Type: text/plain; charset=utf-8\r\nSubject")
    env, ipm = to_x400(general)
    assert ipm.body == (TextPart("Just text.\r\n", "general", (196,)),)
    assert env.content_type == 22  # GeneralText is an extended body part


def test_body_eits_reach_the_trace() -> None:
    content = PLAIN.replace(
        b"Subject: plain",
        b'Subject: plain\r\nContent-Type: multipart/mixed; boundary="b"',
    ).replace(
        b"Just text.\r\n",
        b"--b\r\n\r\none\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n"
        b"%PDF\r\n--b--\r\n",
    )
    env, ipm = to_x400(content)
    assert len(ipm.body) == 2
    own = env.trace[-1]
    assert own.converted_eits is not None
    assert own.converted_eits[:2] == ("ia5-text", "2.6.1.12.0")


@pytest.mark.parametrize("count", [0, 1, 5])
def test_up_to_five_mixer_conversions_pass(count: int) -> None:
    to_x400(mixer_received(count) + SIMPLE)


@pytest.mark.parametrize("count", [6, 9])
def test_more_than_five_mixer_conversions_are_a_loop(count: int) -> None:
    with pytest.raises(TranslationError) as caught:
        to_x400(mixer_received(count) + SIMPLE)
    assert caught.value.status == "5.4.6"
    assert caught.value.message.startswith("MIXER loop")


def test_1984_peer_gets_a_header_body_part() -> None:
    env, ipm = to_x400(SIMPLE, peer_1984=True)
    assert env.content_type == 2
    heading = ipm.heading
    assert heading.rfc822_fields == () and heading.languages == () and heading.extensions == ()
    assert heading.subject == "A useful message about X"  # a 1984 heading field
    parsed = parse_1984_header_part(ipm.body[0])
    assert parsed is not None
    fields, rest = parsed
    assert fields == ("Keywords: x400, test", "X-Mailer: tests", "Content-Language: en")
    assert rest == ""
    assert ipm.body[1:] == (TextPart("Hello Bob.\r\n"),)


def test_1984_peer_without_extension_fields_gets_no_header_part() -> None:
    env, ipm = to_x400(PLAIN, peer_1984=True)
    assert ipm.body == (TextPart("Just text.\r\n"),)
    assert env.content_type == 2


def test_top_level_content_id_and_description_are_kept() -> None:
    content = PLAIN.replace(
        b"Subject: plain",
        b"Subject: plain\r\nContent-ID: <part1@example.org>\r\n"
        b"Content-Description: the\r\n  description",
    )
    env, ipm = to_x400(content)
    assert "Content-ID: <part1@example.org>" in ipm.heading.rfc822_fields
    assert "Content-Description: the  description" in ipm.heading.rfc822_fields
    out = header_lines(back(env, ipm).content)
    assert "Content-ID: <part1@example.org>" in out
    assert "Content-Description: the  description" in out


# --- X.400 -> Internet -----------------------------------------------------------------


def test_message_to_internet_header_order() -> None:
    env, ipm = to_x400(SIMPLE)
    out = back(env, ipm)
    content = out.content
    assert b"\n" not in content.replace(b"\r\n", b"")  # CR LF only
    fields = names(content)
    # 5.3.7: trace first, the gateway's single Received on top, then X.400 trace
    assert fields[0] == "Received"
    assert fields.count("Received") == 1
    first = header_lines(content)[0]
    assert MIXER_RECEIVED_COMMENT in first and "by x400-gw.example.net" in first
    trace_count = len([n for n in fields if n == "X400-Received"])
    assert trace_count >= 2
    assert fields[1 : 1 + trace_count] == ["X400-Received"] * trace_count
    rest = fields[1 + trace_count :]
    # then the envelope fields, then the heading, then MIME
    assert rest[0] == "X400-MTS-Identifier"
    assert rest.index("X400-Originator") < rest.index("Date") < rest.index("Message-ID")
    assert rest.index("Message-ID") < rest.index("Subject") < rest.index("MIME-Version")
    assert rest[-2:] == ["MIME-Version", "Content-Type"] or rest[-3:-1] == [
        "MIME-Version",
        "Content-Type",
    ]
    assert content.endswith(b"\r\n\r\nHello Bob.\r\n")


def test_message_to_internet_folds_long_lines() -> None:
    long = SIMPLE.replace(b"Keywords: x400, test", b"Keywords: " + b"word, " * 40 + b"end")
    content = back(*to_x400(long)).content
    lines = content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert all(len(line) <= 78 or b" " not in line.strip() for line in lines)
    assert "Keywords: " + "word, " * 40 + "end" in header_lines(content)


def test_smtp_envelope() -> None:
    env, ipm = to_x400(
        SIMPLE,
        rcpt=("bob@Widget.COM", "carol@example.org"),
        notify=[frozenset({"SUCCESS", "FAILURE"}), frozenset({"NEVER"})],
    )
    out = back(env, ipm)
    assert out.mail_from == "alice@example.org"
    assert out.rcpt_to == ("bob@Widget.COM", "carol@example.org")
    assert out.notify == (frozenset({"SUCCESS", "FAILURE"}), frozenset())
    mts_id = next(v for v in header_lines(out.content) if v.startswith("X400-MTS-Identifier"))
    assert out.envid == mts_id
    assert out.envid.startswith("X400-MTS-Identifier: [")
    assert out.ret == "FULL"
    env, ipm = to_x400(SIMPLE, ret="HDRS")
    assert back(env, ipm).ret == "HDRS"


def test_only_responsible_recipients_become_smtp_recipients() -> None:
    env, ipm = to_x400(SIMPLE, rcpt=("bob@Widget.COM", "carol@example.org"))
    first, second = env.recipients
    env = dataclasses.replace(
        env, recipients=(dataclasses.replace(first, responsibility=False), second)
    )
    assert back(env, ipm).rcpt_to == ("carol@example.org",)
    env = dataclasses.replace(env, recipients=(dataclasses.replace(second, responsibility=False),))
    with pytest.raises(TranslationError) as caught:
        back(env, ipm)
    assert caught.value.status == "5.1.3"


def test_x400_trace_with_six_mixer_conversions_is_a_loop() -> None:
    env, ipm = to_x400(SIMPLE)
    trace = tuple(
        TraceElement(
            domain=GlobalDomainId("GB", " ", f"p{i}"),
            arrival="260102020000Z",
            converted_eits=("ia5-text", EIT_MIXER),
        )
        for i in range(6)
    )
    with pytest.raises(TranslationError) as caught:
        back(dataclasses.replace(env, trace=trace, internal_trace=()), ipm)
    assert caught.value.status == "5.4.6"
    back(dataclasses.replace(env, trace=trace[:5], internal_trace=()), ipm)


def test_critical_extension_that_cannot_be_mapped() -> None:
    env, ipm = to_x400(SIMPLE)
    ext = Extension(type="1.2.3.4", value=b"\x05\x00", criticality=frozenset({"delivery"}))
    with pytest.raises(TranslationError) as caught:
        back(dataclasses.replace(env, extensions=(ext,)), ipm)
    assert caught.value.status == "5.3.3"


def test_translation_is_a_pure_function() -> None:
    first = to_x400(FORWARD)
    assert to_x400(FORWARD) == first
    assert back(*first) == back(*first)


def test_5_3_2_defaults() -> None:
    env, _ = to_x400(SIMPLE)
    bare = IPM(Heading(this_ipm=IPMIdentifier(local="x1@example.org")), (TextPart("hi"),))
    out = header_lines(back(env, bare).content)
    assert "From: alice@example.org" in out
    assert "To: list:;" in out
    assert any(line.startswith("Date: ") for line in out)
    # without an envelope (a forwarded IPM) no defaults are invented
    inner = ipm_to_mime(bare, GW)
    assert inner["From"] is None and inner["To"] is None and inner["Date"] is None


def test_1984_header_part_is_read_back_into_the_header() -> None:
    ipm = IPM(
        Heading(this_ipm=IPMIdentifier(local="84@example.org"), subject="old"),
        (ipm_1984_header_part(["X-Old: 1984", "Comments: from a P2 peer"]), TextPart("body")),
    )
    msg = ipm_to_mime(ipm, GW)
    assert msg["X-Old"] == "1984"
    assert msg["Comments"] == "from a P2 peer"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "body"


def test_round_trip_through_x400_keeps_the_mapped_headers() -> None:
    env, ipm = to_x400(SIMPLE)
    again = parse(back(env, ipm).content)
    original = parse(SIMPLE)
    for name in ("From", "To", "Cc", "Subject", "Message-ID", "Keywords", "X-Mailer"):
        assert str(again[name]) == str(original[name]), name
    assert again["Content-Language"] == "en"
    assert again.get_content() == "Hello Bob.\r\n"


def test_round_trip_through_x400_in_1984_form() -> None:
    env, ipm = to_x400(SIMPLE, peer_1984=True)
    again = parse(back(env, ipm).content)
    for name in ("Subject", "Keywords", "X-Mailer", "Content-Language"):
        assert str(again[name]) == str(parse(SIMPLE)[name]), name
    assert again.get_content_type() == "text/plain"
    assert again.get_content() == "Hello Bob.\r\n"


# --- forwarded messages (RFC 2157 6.5) --------------------------------------------------

FORWARD = b"""\
From: alice@example.org
To: bob@Widget.COM
Subject: fwd
Message-ID: <fwd.1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

see below
--b
Content-Type: message/rfc822

From: Dave <dave@example.net>
To: alice@example.org
Date: Thu, 1 Jan 2026 12:00:00 +0100
Subject: the original
Message-ID: <orig.1@example.net>
X-Trace-Id: 42

original text
--b--
""".replace(b"\n", b"\r\n")


def test_forwarded_message_is_a_message_part() -> None:
    env, ipm = to_x400(FORWARD)
    assert ipm.body[0] == TextPart("see below")
    part = ipm.body[1]
    assert isinstance(part, MessagePart)
    assert part.delivery_time == "260101120000+0100"
    assert part.ipm.heading.subject == "the original"
    assert "X-Trace-Id: 42" in part.ipm.heading.rfc822_fields
    assert part.ipm.body == (TextPart("original text"),)
    again = parse(back(env, ipm).content)
    forwarded = list(again.iter_parts())[1]
    assert forwarded.get_content_type() == "message/rfc822"
    inner = forwarded.get_payload(0)
    outer = parse(FORWARD).get_payload(1)
    assert isinstance(inner, EmailMessage) and isinstance(outer, EmailMessage)
    original = outer.get_payload(0)
    assert isinstance(original, EmailMessage)
    for name in ("From", "To", "Date", "Subject", "Message-ID", "X-Trace-Id"):
        assert str(inner[name]) == str(original[name]), name
    assert leaves(again) == leaves(parse(FORWARD))


def test_forwarded_to_mime_writes_the_delivery_envelope() -> None:
    env, _ = to_x400(SIMPLE)
    part = MessagePart(
        IPM(Heading(this_ipm=IPMIdentifier(local="f@example.org")), (BinaryPart(b"\x00"),)),
        delivery_time="891020192511+0100",
        originator=env.originator,
    )
    inner = forwarded_to_mime(part, GW)
    assert inner["Date"] == "Fri, 20 Oct 1989 19:25:11 +0100"
    assert inner["X400-Originator"] == "alice@example.org"
    assert inner.get_content_type() == "application/octet-stream"


# --- property: MIME -> X.400 -> MIME ------------------------------------------------------

subjects = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mime_trees(with_messages=True), subjects)
def test_mime_through_x400_and_back(tree: object, subject: str) -> None:
    from email.header import Header

    head = (
        "From: Alice <alice@example.org>\r\n"
        "To: bob@Widget.COM, Carol <carol@example.org>\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\n"
        "Message-ID: <prop.1@example.org>\r\n"
        "X-Custom: kept\r\n"
        "MIME-Version: 1.0\r\n"
    )
    content = head.encode() + encode_node(tree)  # type: ignore[arg-type]
    original = parse(content)
    env, ipm = to_x400(content)
    again = parse(back(env, ipm).content)
    assert leaves(again) == leaves(original)
    for name in ("From", "To", "Message-ID", "X-Custom"):
        assert str(again[name]) == str(original[name]), name
    assert " ".join(str(again["Subject"]).split()) == " ".join(subject.split())


def test_1984_peer_gets_only_body_parts_p2_has() -> None:
    """X.420 (1984) has no extended body parts: ASCII general text becomes
    IA5, other text and files become bilaterally defined octets."""
    mixed = (
        b"From: alice@example.org\r\nTo: bob@Widget.COM\r\nSubject: parts\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nplain ascii\r\n"
        b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nK\xf6ln\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
        b' filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n'
        b"--b--\r\n"
    )
    env_88, ipm_88 = to_x400(mixed)
    assert env_88.content_type == 22
    assert {type(p).__name__ for p in ipm_88.body} >= {"TextPart", "FilePart"}
    env, ipm = to_x400(mixed, peer_1984=True)
    assert env.content_type == 2
    kinds = [(type(p).__name__, getattr(p, "kind", None)) for p in ipm.body]
    assert ("FilePart", None) not in kinds
    assert all(k != "general" for _, k in kinds)
    texts = [p for p in ipm.body if isinstance(p, TextPart)]
    assert texts[-1].text.startswith("plain ascii") and texts[-1].kind == "ia5"
    octets = [p.data for p in ipm.body if isinstance(p, BinaryPart)]
    assert octets == [b"K\xf6ln", b"%PDF-1.4\n"]  # the MIME part body, Latin-1
