"""gateway.imap.message: ENVELOPE, BODYSTRUCTURE, BODY[section], SEARCH helpers.

Expected strings are what Dovecot 2.3.19 sends for the same fixture
(test_message_vs_dovecot.py checks every fixture against a live Dovecot).
"""

from __future__ import annotations

import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.imap import message as m

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# ENVELOPE


def test_envelope_simple() -> None:
    assert m.envelope(fixture("simple.eml")) == (
        b'("Tue, 3 Mar 2026 10:00:00 +0100" {16}\r\nLunch on Friday? '
        b'(("Alice Example" NIL "alice" "example.org")) '
        b'(("Alice Example" NIL "alice" "example.org")) '
        b'(("Alice Example" NIL "alice" "example.org")) '
        b'(("Bob" NIL "bob" "example.test")(NIL NIL "carol" "example.test")) '
        b'(("Dave, Jr." NIL "dave" "example.test")) NIL '
        b'"<prev@example.test>" "<20260303100000.1234@example.org>")'
    )


def test_envelope_groups_routes_and_missing_parts() -> None:
    assert m.envelope(fixture("groups_and_odd_addresses.eml")) == (
        b'("Sat, 01 Feb 2007 01:02:03 +0200" {14}\r\nspaced subject '
        b'(("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) '
        b'((NIL "@route1,@route2" "user" "domain")) '
        b'((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)'
        b'(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL)) '
        b'((NIL NIL "noat" "MISSING_DOMAIN")(NIL NIL "quoted local" "h")'
        b'(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "empty" "name")) '
        b'(("Many Spaces" NIL "a" "b")({8}\r\nTab Name NIL "t" "x")) NIL "<odd@example>")'
    )


def test_envelope_encoded_words_stay_encoded_and_empty_group() -> None:
    env = m.envelope(fixture("alternative.eml"))
    assert env.startswith(
        b'("Wed, 4 Mar 2026 08:15:00 -0500" "=?utf-8?b?R3LDvMOfZQ==?= from the team" '
        b'(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "example.org"))'
    )
    assert b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)' in env


def test_envelope_8bit_headers_are_literals() -> None:
    env = m.envelope(fixture("eightbit_headers.eml"))
    assert env.startswith(
        b"(NIL {7}\r\nGr\xc3\xbc\xc3\x9fe (({13}\r\nJ\xc3\xb6rg M\xc3\xbcller NIL"
    )
    assert b'(("=?iso-8859-1?q?Andr=E9?=" NIL "andre" "example.fr"))' in env


def test_envelope_missing_headers() -> None:
    assert (
        m.envelope(fixture("missing_headers.eml")) == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    )


def test_envelope_group_in_to() -> None:
    env = m.envelope(fixture("mixed_attachment.eml"))
    assert (
        b'((NIL NIL "team" NIL)(NIL NIL "bob" "example.test")("Carol" NIL "carol" "example.test")'
        b'(NIL NIL NIL NIL)(NIL NIL "dave" "example.test"))'
    ) in env
    assert b'{20}\r\nReport "Q1" attached' in env  # quotes: a literal, as Dovecot


def test_quoting() -> None:
    assert m._nstring(None) == b"NIL"
    assert m._nstring(b'a "b" \\c') == b'"a \\"b\\" \\\\c"'
    assert m._nstring(b"a\r\nb") == b"{4}\r\na\r\nb"
    assert m._nstring(b"\xc3\xa9") == b"{2}\r\n\xc3\xa9"
    assert m._nstring(b'"""""') == b'{5}\r\n"""""'
    assert m._for_humans(b"plain") == b'"plain"'
    assert m._for_humans(b"  a\r\n\tb  ") == b"{3}\r\na b"
    assert m._for_humans(b"\r\n ") == b'""'


# BODYSTRUCTURE / BODY


def test_bodystructure_simple_text() -> None:
    assert m.bodystructure(fixture("simple.eml")) == (
        b'("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "8bit" 67 5'
        b" NIL NIL NIL NIL)"
    )


def test_bodystructure_default_type() -> None:
    msg = b"Subject: x\r\n\r\nhello\r\n"
    assert m.bodystructure(msg) == (
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL)'
    )
    assert m.bodystructure(msg, extensible=False) == (
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1)'
    )


def test_bodystructure_alternative() -> None:
    assert m.bodystructure(fixture("alternative.eml")) == (
        b'(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 20 0'
        b' NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "base64" 36 0'
        b' NIL NIL NIL NIL) "alternative" ("boundary" "=_alt_42") NIL NIL NIL)'
    )


def test_bodystructure_attachment_extension_data() -> None:
    assert m.bodystructure(fixture("mixed_attachment.eml")) == (
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 34 1 NIL NIL NIL NIL)'
        b'("application" "pdf" ("name" "report q1.pdf") "<att1@example.org>" '
        b'"Quarterly report" "base64" 154 "Q2hlY2sgSW50ZWdyaXR5IQ==" '
        b'("attachment" ("filename" "report q1.pdf" "size" "42")) ("en" "de") '
        b'"http://example.org/r.pdf") "mixed" ("boundary" "----=_Part_0_1") NIL NIL NIL)'
    )


def test_bodystructure_nested_message() -> None:
    bs = m.bodystructure(fixture("nested_rfc822.eml"), extensible=False)
    assert bs == (
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 28 1)'
        b'("message" "rfc822" NIL NIL "forwarded message" "7bit" 536 '
        b'("Mon, 2 Mar 2026 12:00:00 +0000" "original" '
        b'(("Original" NIL "orig" "example.net")) (("Original" NIL "orig" "example.net")) '
        b'(("Original" NIL "orig" "example.net")) (("Fwd" NIL "fwd" "example.org")) '
        b'NIL NIL NIL "<orig@example.net>") '
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 0)'
        b'(("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 17 0)'
        b'("image" "gif" NIL "<x>" NIL "base64" 20) "related") "alternative") 27) "mixed")'
    )


def test_bodystructure_digest_parts_are_messages() -> None:
    bs = m.bodystructure(fixture("digest.eml"), extensible=False)
    assert bs.count(b'("message" "rfc822"') == 2
    assert bs.endswith(b' "digest")')


def test_bodystructure_rfc2231() -> None:
    assert m.bodystructure(fixture("rfc2231.eml")) == (
        b'("application" "octet-stream" ("name*" "utf-8\'\'%E2%82%AC%20rates.txt") NIL NIL '
        b'"7bit" 6 NIL ("attachment" ("filename*" "utf-8\'\'%E2%82%AC%20rates.txt")) NIL NIL)'
    )


def test_bodystructure_prefix_boundaries_and_cut_header() -> None:
    assert m.bodystructure(fixture("prefix_boundaries.eml"), extensible=False) == (
        b'((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0)'
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "alternative")'
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)'
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "mixed")'
    )


def test_multipart_without_parts() -> None:
    msg = b"Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts\r\n"
    assert m.bodystructure(msg) == (
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'
        b' "mixed" ("boundary" "x") NIL NIL NIL)'
    )


def test_bare_lf_is_treated_as_crlf() -> None:
    lf = fixture("bare_lf.eml")
    crlf = lf.replace(b"\n", b"\r\n")
    assert b"\r" not in lf
    assert m.bodystructure(lf) == m.bodystructure(crlf)
    assert m.envelope(lf) == m.envelope(crlf)
    assert m.section(lf, (2,), None) == b"<b>two</b>"
    assert m.section(lf, (2,), "MIME") == b"Content-Type: text/html\r\n\r\n"


def test_depth_limit() -> None:
    depth = 500
    head = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    msg = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + head + b"leaf\r\n"
    bs = m.bodystructure(msg)
    assert bs.count(b"(") < 10 * m.MAX_DEPTH
    assert m.section(msg, (1,) * 50, "MIME").startswith(b"Content-Type: multipart/mixed")


# BODY[section]


def test_sections_of_nested_message() -> None:
    msg = fixture("nested_rfc822.eml")
    assert m.section(msg, (), None) == msg
    assert m.section(msg, (1,), None) == b"See the forwarded message.\r\n"
    assert m.section(msg, (1,), "MIME") == b"Content-Type: text/plain\r\n\r\n"
    assert m.section(msg, (2,), "MIME") == (
        b"Content-Type: message/rfc822\r\nContent-Description: forwarded message\r\n\r\n"
    )
    assert m.section(msg, (2,), "HEADER").startswith(b"From: Original <orig@example.net>\r\n")
    assert m.section(msg, (2,), "HEADER").endswith(b'boundary="inner"\r\n\r\n')
    assert m.section(msg, (2,), "HEADER.FIELDS", ("subject", "FROM")) == (
        b"From: Original <orig@example.net>\r\nSubject: original\r\n\r\n"
    )
    assert m.section(msg, (2, 1), None) == b"plain body"
    assert m.section(msg, (2, 2, 2), "MIME") == (
        b"Content-Type: image/gif\r\nContent-ID: <x>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    assert m.section(msg, (2, 2, 2), None) == b"R0lGODlhAQABAAAAACw="
    assert m.section(msg, (2, 2), None).endswith(b"--deep--\r\n")
    assert m.section(msg, (2, 1), "HEADER") == b""  # not a message/rfc822 part
    assert m.section(msg, (3,), None) == b""
    assert m.section(msg, (1, 1), None) == b"See the forwarded message.\r\n"
    assert m.section(msg, (1, 1, 1), None) == b""


def test_sections_of_single_part_message() -> None:
    msg = fixture("simple.eml")
    header, _, text = msg.partition(b"\r\n\r\n")
    assert m.section(msg, (), "HEADER") == header + b"\r\n\r\n"
    assert m.section(msg, (), "TEXT") == text
    assert m.section(msg, (1,), None) == text
    assert m.section(msg, (2,), None) == b""
    assert m.section(msg, (), "HEADER.FIELDS", ("Subject",)) == (
        b"Subject: Lunch\r\n on Friday?\r\n\r\n"
    )
    assert m.section(msg, (), "HEADER.FIELDS", ("X-None",)) == b"\r\n"
    not_fields = m.section(msg, (), "HEADER.FIELDS.NOT", ("received", "return-path"))
    assert not_fields.startswith(b"Date: ") and b"Received" not in not_fields


def test_sections_of_digest() -> None:
    msg = fixture("digest.eml")
    assert m.section(msg, (1,), None) == b"From: m1@example.com\r\nSubject: m1\r\n\r\nm1 body\r\n"
    assert m.section(msg, (1,), "MIME") == b"\r\n"
    assert m.section(msg, (2,), "MIME") == b"X-Mime: m2 header\r\n\r\n"
    assert m.section(msg, (2,), "TEXT") == b"m2 body\r\n"
    assert m.section(msg, (2, 1), None) == b"m2 body\r\n"


def test_header_without_body() -> None:
    msg = fixture("no_body.eml")
    assert m.section(msg, (), "HEADER") == msg
    assert m.section(msg, (), "TEXT") == b""
    # No blank line in the message, none added (as Dovecot).
    assert m.section(msg, (), "HEADER.FIELDS", ("from",)) == b"From: a@b"


# SEARCH helpers


def test_header_values() -> None:
    assert m.header_values(fixture("alternative.eml"), "subject") == ["Grüße from the team"]
    assert m.header_values(fixture("simple.eml"), "SUBJECT") == ["Lunch on Friday?"]
    assert m.header_values(fixture("simple.eml"), "x-none") == []


def test_body_text() -> None:
    text = m.body_text(fixture("alternative.eml"))
    assert "Grüße aus Köln" in text
    assert "<p>Grüße aus Köln</p>" in text
    nested = m.body_text(fixture("nested_rfc822.eml"))
    assert "plain body" in nested and "See the forwarded" in nested
    assert "R0lGOD" not in nested  # image/gif is not text
    assert "Café" in m.body_text(fixture("simple.eml"))


def test_sent_date() -> None:
    assert m.sent_date(fixture("simple.eml")) == 1772528400.0
    assert m.sent_date(fixture("missing_headers.eml")) is None
    assert m.sent_date(b"Date: not a date\r\n\r\n") is None


# Every fixture, every function: well-formed, no exception


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.eml")))
def test_fixtures_balanced(name: str) -> None:
    msg = fixture(name)
    for out in (m.envelope(msg), m.bodystructure(msg), m.bodystructure(msg, False)):
        assert_balanced(out)


def assert_balanced(data: bytes) -> None:
    """Parenthesised IMAP syntax: brackets balance outside strings/literals."""
    depth, i = 0, 0
    while i < len(data):
        c = data[i : i + 1]
        if c == b'"':
            i += 1
            while data[i : i + 1] != b'"':
                i += 2 if data[i : i + 1] == b"\\" else 1
                assert i < len(data)
        elif c == b"{":
            close = data.index(b"}", i)
            n = int(data[i + 1 : close])
            assert data[close + 1 : close + 3] == b"\r\n"
            i = close + 2 + n
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            assert depth >= 0
        i += 1
    assert depth == 0


def test_performance_one_megabyte() -> None:
    attachment = (
        b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n" * 14000
    )
    parts = b"".join(
        b"--sep\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment[: len(attachment) // 4]
        for _ in range(4)
    )
    msg = (
        b"From: a@b\r\nContent-Type: multipart/mixed; boundary=sep\r\n\r\n"
        b"--sep\r\n\r\nhello\r\n" + parts + b"--sep--\r\n"
    )
    assert len(msg) > 1_000_000
    start = time.perf_counter()
    for _ in range(10):
        m.bodystructure(msg)
    elapsed = (time.perf_counter() - start) / 10
    assert elapsed < 0.010, elapsed


# Hypothesis: trees built by the email package


@st.composite
def mime_trees(draw: st.DrawFn, depth: int = 0, message: bool = True) -> EmailMessage:
    kinds = ["text", "binary"]
    if depth < 3:
        kinds += ["multipart", "message"] if message else ["multipart"]
    kind = draw(st.sampled_from(kinds))
    msg = EmailMessage()
    if kind == "text":
        sub = draw(st.sampled_from(["plain", "html"]))
        body = draw(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)
        )
        cte = draw(st.sampled_from([None, "quoted-printable", "base64"]))
        msg.set_content(body + "\n", subtype=sub, cte=cte)
    elif kind == "binary":
        data = draw(st.binary(max_size=80))
        msg.set_content(
            data,
            maintype="application",
            subtype="octet-stream",
            filename=draw(st.sampled_from(["a.bin", "b c.dat"])),
        )
    elif kind == "multipart":
        sub = draw(st.sampled_from(["mixed", "alternative", "related"]))
        msg.make_mixed() if sub == "mixed" else None
        msg.set_type(f"multipart/{sub}")
        for child in draw(st.lists(mime_trees(depth + 1), min_size=1, max_size=3)):
            msg.attach(child)
    else:
        # (message/rfc822 directly inside message/rfc822 confuses the email
        # package's own parser, so the oracle would be wrong there.)
        inner = draw(mime_trees(depth + 1, message=False))
        inner["Subject"] = "inner"
        msg.set_content(inner)
    return msg


def email_parts(msg: email.message.Message) -> list[tuple[str, email.message.Message]]:
    """Leaves and multiparts in IMAP numbering order, with their section paths."""
    out: list[tuple[str, email.message.Message]] = []

    def children(part: email.message.Message, path: tuple[int, ...]) -> None:
        for i, child in enumerate(part.get_payload(), 1):
            visit(child, (*path, i))

    def visit(part: email.message.Message, path: tuple[int, ...]) -> None:
        out.append((".".join(map(str, path)), part))
        if part.get_content_maintype() == "multipart":
            children(part, path)
        elif part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            if inner.get_content_maintype() == "multipart":
                children(inner, path)
            else:
                visit(inner, (*path, 1))

    if msg.get_content_maintype() == "multipart":
        children(msg, ())
    else:  # part 1 of a single-part message is its body
        visit(msg, (1,))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_trees())
def test_generated_trees_match_email_package(tree: EmailMessage) -> None:
    tree["From"] = "a@example.org"
    tree["Subject"] = "generated"
    raw = tree.as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=email.policy.SMTP)
    bs = m.bodystructure(raw)
    assert_balanced(bs)
    n_leaves = sum(1 for p in parsed.walk() if not p.is_multipart())
    types = [p.get_content_type().split("/") for p in parsed.walk()]
    assert bs.count(b'"') >= 2 * n_leaves
    for maintype, subtype in types:
        if maintype != "multipart":
            assert b'"%s" "%s"' % (maintype.encode(), subtype.encode()) in bs
        else:
            assert b'"%s"' % subtype.encode() in bs
    for path, part in email_parts(parsed):
        nums = tuple(int(x) for x in path.split("."))
        if part.get_content_maintype() == "multipart":
            continue
        content = m.section(raw, nums, None)
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            again = email.message_from_bytes(content, policy=email.policy.SMTP)
            assert again["Subject"] == inner["Subject"]
            assert again.get_content_type() == inner.get_content_type()
        else:
            payload = part.get_payload(decode=False)
            assert content in (
                payload.encode("ascii", "surrogateescape")
                if payload.isascii() or "\udc80" <= max(payload) <= "\udcff"
                else payload.encode("utf-8"),
            )
        mime = m.section(raw, nums, "MIME")
        assert mime.endswith(b"\r\n\r\n") or mime == b"\r\n"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(0, 4), max_size=4))
def test_arbitrary_bytes_never_raise(data: bytes, path: list[int]) -> None:
    for msg in (data, b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n" + data):
        assert_balanced(m.envelope(msg))
        assert_balanced(m.bodystructure(msg))
        for text in (None, "HEADER", "TEXT", "MIME", "HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            assert isinstance(m.section(msg, tuple(path), text, ("from",)), bytes)
        m.header_values(msg, "from")
        m.body_text(msg)
        m.sent_date(msg)
