"""The Authentication-Results header field (gateway.authn.results, RFC 8601)."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.authn.results import (
    MAX_WIDTH,
    Method,
    authentication_results,
    authentication_results_header,
    parse_authserv_id,
    remove_forged,
)

OURS = "mx.example.net"


def normalised(value: str) -> str:
    """A field value without comments, unfolded, white space collapsed: how
    RFC 8601's examples compare with what we write."""
    value = re.sub(r"\([^()]*\)", " ", value)
    value = value.replace("\r\n", "").replace("\n", "")
    return re.sub(r"\s+", " ", value).strip()


def unfolded(value: str) -> str:
    return value.replace("\r\n", "")


# ---------------------------------------------------------------------------
# Formatting: RFC 8601 Appendix B


def test_appendix_b_2_no_authentication_done() -> None:
    assert authentication_results("example.org", [], version=1) == "example.org 1; none"
    assert authentication_results("example.org", []) == "example.org; none"


def test_appendix_b_3_spf() -> None:
    value = authentication_results(
        "example.com", [("spf", "pass", {"smtp.mailfrom": "example.net"}, None)]
    )
    assert value == "example.com;\r\n\tspf=pass smtp.mailfrom=example.net"
    assert normalised(value) == normalised(
        """example.com;
                  spf=pass smtp.mailfrom=example.net"""
    )


def test_appendix_b_4_smtp_auth_and_spf() -> None:
    value = authentication_results(
        "example.com",
        [
            ("auth", "pass", {"smtp.auth": "sender@example.net"}, None),
            ("spf", "pass", {"smtp.mailfrom": "example.net"}, None),
        ],
    )
    assert normalised(value) == normalised(
        """example.com;
                  auth=pass (cram-md5) smtp.auth=sender@example.net;
                  spf=pass smtp.mailfrom=example.net"""
    )


def test_appendix_b_6_multi_tiered_with_reasons() -> None:
    value = authentication_results(
        "example.com",
        [
            ("dkim", "pass", {"header.i": "@mail-router.example.net"}, "good signature"),
            ("dkim", "fail", {"header.i": "@newyork.example.com"}, "bad signature"),
        ],
    )
    assert value == (
        "example.com;\r\n"
        '\tdkim=pass reason="good signature" header.i=@mail-router.example.net;\r\n'
        '\tdkim=fail reason="bad signature" header.i=@newyork.example.com'
    )
    assert normalised(value) == normalised(
        """example.com;
              dkim=pass reason="good signature"
                header.i=@mail-router.example.net;
              dkim=fail reason="bad signature"
                header.i=@newyork.example.com"""
    )


def test_appendix_b_7_header_b_and_version() -> None:
    value = authentication_results(
        "mail-router.example.net",
        [("dkim/1", "pass", {"header.d": "newyork.example.com", "header.b": "oINEO8hg"}, None)],
        version=1,
    )
    assert normalised(value) == (
        "mail-router.example.net 1; dkim/1=pass header.d=newyork.example.com header.b=oINEO8hg"
    )


# ---------------------------------------------------------------------------
# Quoting


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("example.net", "example.net"),
        ("user@example.net", "user@example.net"),  # RFC 8601 2.2 pvalue address
        ("@example.net", "@example.net"),
        ("first.last+tag@example.net", "first.last+tag@example.net"),
        ("a=b@example.net", '"a=b@example.net"'),
        ('"quoted local"@example.net', '"\\"quoted local\\"@example.net"'),
        ("abc/DEF+g=", '"abc/DEF+g="'),  # a header.b prefix
        ("two words", '"two words"'),
        ("semi;colon", '"semi;colon"'),
        ("back\\slash", '"back\\\\slash"'),
        ("", '""'),
        ("bücher.example", '"bücher.example"'),
        ("user@bücher.example", "user@bücher.example"),
    ],
)
def test_property_values(value: str, written: str) -> None:
    out = authentication_results("example.com", [("spf", "pass", {"smtp.mailfrom": value}, None)])
    assert out == f"example.com;\r\n\tspf=pass smtp.mailfrom={written}"


def test_reason_is_always_quoted_and_escaped() -> None:
    out = authentication_results("a.example", [("spf", "fail", {}, 'said "no" \\ twice')])
    assert out == 'a.example;\r\n\tspf=fail reason="said \\"no\\" \\\\ twice"'


@pytest.mark.parametrize("evil", ["x\r\nX-Injected: yes", "x\nBcc: a@b", "nul\x00", "bell\x07"])
def test_no_control_characters_reach_the_header(evil: str) -> None:
    header = authentication_results_header(
        "a.example", [("dkim", "fail", {"header.d": evil}, evil)]
    )
    # Every line break is a CRLF followed by a TAB (folding) but the last.
    body = header[: -len(b"\r\n")]
    assert re.fullmatch(rb"[^\r\n]*(\r\n\t[^\r\n]*)*", body)
    assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", body.replace(b"\r\n\t", b""))


@pytest.mark.parametrize(
    "method",
    [
        ("sp f", "pass", {}, None),
        ("spf;", "pass", {}, None),
        ("spf", "pass fail", {}, None),
        ("spf", "", {}, None),
        ("spf", "pass", {"mailfrom": "x"}, None),
        ("spf", "pass", {"smtp.mail from": "x"}, None),
        ("spf", "pass", {"smtp.": "x"}, None),
        ("dkim/", "pass", {}, None),
    ],
)
def test_invalid_names_raise(method: Method) -> None:
    with pytest.raises(ValueError, match="RFC 8601"):
        authentication_results("example.com", [method])


@pytest.mark.parametrize("authserv_id", ["", "two words", "semi;colon", "x\r\ny"])
def test_invalid_authserv_id_raises(authserv_id: str) -> None:
    with pytest.raises(ValueError):
        authentication_results(authserv_id, [])


# ---------------------------------------------------------------------------
# Folding


def test_long_results_are_folded_between_words() -> None:
    props = {f"header.p{i}": f"value-number-{i}.example.com" for i in range(12)}
    value = authentication_results(
        "mx.example.net", [("dkim", "pass", props, "a reason"), ("spf", "none", {}, None)]
    )
    field = f"Authentication-Results: {value}"
    lines = field.split("\r\n")
    assert all(len(line) <= MAX_WIDTH for line in lines)
    assert all(line.startswith("\t") and line.strip() for line in lines[1:])
    assert not any(line.endswith((" ", "\t")) for line in lines)
    assert normalised(value) == (
        'mx.example.net; dkim=pass reason="a reason" '
        + " ".join(f"{k}={v}" for k, v in props.items())
        + "; spf=none"
    )


def test_a_word_longer_than_a_line_stays_whole() -> None:
    long = "x" * 120 + ".example.com"
    value = authentication_results("mx.example.net", [("dkim", "pass", {"header.d": long}, None)])
    assert value.split("\r\n") == ["mx.example.net;", "\tdkim=pass", f"\theader.d={long}"]


def test_whole_header_parses_back() -> None:
    methods: list[Method] = [
        ("spf", "pass", {"smtp.mailfrom": "bounce@example.org"}, None),
        ("dkim", "pass", {"header.d": "example.org", "header.s": "sel"}, "good"),
        ("dmarc", "pass", {"header.from": "example.org"}, None),
    ]
    header = authentication_results_header(OURS, methods)
    assert header.startswith(b"Authentication-Results: mx.example.net;\r\n\t")
    assert header.endswith(b"\r\n") and not header.endswith(b"\r\n\r\n")
    msg = email.message_from_bytes(
        header + b"Subject: x\r\n\r\nbody\r\n", policy=email.policy.default
    )
    value = str(msg["Authentication-Results"])
    assert normalised(value) == normalised(unfolded(authentication_results(OURS, methods)))
    assert parse_authserv_id(value) == OURS


@given(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,40}", fullmatch=True),
    st.lists(
        st.tuples(
            st.sampled_from(["spf", "dkim", "dmarc", "iprev", "auth", "arc"]),
            st.sampled_from(["pass", "fail", "none", "temperror", "permerror"]),
            st.dictionaries(
                st.sampled_from(["smtp.mailfrom", "header.d", "header.from", "policy.x"]),
                st.text(max_size=40),
                max_size=3,
            ),
            st.none() | st.text(max_size=40),
        ),
        max_size=5,
    ),
)
def test_formatting_round_trip_of_the_id_and_line_shape(
    authserv_id: str, methods: list[Method]
) -> None:
    value = authentication_results(authserv_id, methods)
    assert parse_authserv_id(value) == authserv_id
    assert (
        remove_forged(
            authentication_results_header(authserv_id, methods) + b"\r\nb", authserv_id.upper()
        )
        == b"\r\nb"
    )
    for line in value.split("\r\n")[1:]:
        assert line.startswith("\t")
    assert "\n" not in value.replace("\r\n\t", "")
    assert "\r" not in value.replace("\r\n\t", "")


# ---------------------------------------------------------------------------
# parse_authserv_id (RFC 8601 2.2)


@pytest.mark.parametrize(
    ("value", "authserv_id"),
    [
        ("example.com; spf=pass", "example.com"),
        ("example.com;spf=pass", "example.com"),
        (" example.org 1; none", "example.org"),
        ("example.org", "example.org"),
        ("(comment) example.com; none", "example.com"),
        ("(nested (comment \\) here) and) Example.COM; none", "Example.COM"),
        ("\r\n\t(folded)\r\n example.com\r\n\t; none", "example.com"),
        ('"quoted.example"; none', "quoted.example"),
        ('"quo\\"ted" ; none', 'quo"ted'),
        ("mx.example.net(no space); none", "mx.example.net"),
        ("bücher.example; none", "bücher.example"),
        # RFC 8601 B.7, the comment-heavy example
        (
            "foo.example.net (foobar) 1 (baz);\r\n"
            "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
            "      policy (A dot can go here) . (like that) expired\r\n"
            "      (this surprised me) = (as I wasn't expecting it) 1362471462",
            "foo.example.net",
        ),
    ],
)
def test_parse_authserv_id(value: str, authserv_id: str) -> None:
    assert parse_authserv_id(value) == authserv_id


@pytest.mark.parametrize("value", ["", "   ", "; none", "(unclosed comment example.com", '"open'])
def test_parse_authserv_id_none(value: str) -> None:
    assert parse_authserv_id(value) is None


@given(st.text())
def test_parse_authserv_id_never_raises(value: str) -> None:
    found = parse_authserv_id(value)
    assert found is None or isinstance(found, str)


# ---------------------------------------------------------------------------
# remove_forged (RFC 8601 5)

KEPT_BEFORE = (
    b"Return-Path: <a@example.org>\r\nReceived: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
)
KEPT_AFTER = b"From: a@example.org\r\nSubject: hello\r\n"
BODY = b"\r\nAuthentication-Results: mx.example.net; spf=pass\r\nbody text\r\n"


@pytest.mark.parametrize(
    "forged",
    [
        b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.org\r\n",
        b"authentication-results: MX.Example.NET; dkim=pass\r\n",
        b"AUTHENTICATION-RESULTS:mx.example.net;dmarc=pass\r\n",
        b"Authentication-Results : mx.example.net; none\r\n",  # obsolete WSP before ":"
        b"Authentication-Results: (a comment) mx.example.net; spf=pass\r\n",
        b"Authentication-Results: (nested (comment) mx.example.org) mx.example.net; none\r\n",
        b"Authentication-Results:\r\n\t(folded)\r\n mx.example.net\r\n\t; spf=pass\r\n",
        b'Authentication-Results: "mx.example.net"; spf=pass\r\n',
        b'Authentication-Results: "MX.EXAMPLE.NET" 1; none\r\n',
        b"Authentication-Results: mx.example.net 1; none\r\n",
        b"Authentication-Results: mx.example.net(c); none\r\n",
        b"Authentication-Results: mx.example.net\r\n",
        b'Authentication-Results: mx.example.net; dkim=pass reason="\xc3\xa9"\r\n',
        b"Authentication-Results: mx.example.net;\r\n\tspf=pass\r\n\tsmtp.mailfrom=x@y\r\n",
    ],
)
def test_our_fields_are_removed(forged: bytes) -> None:
    message = KEPT_BEFORE + forged + KEPT_AFTER + forged + BODY
    assert remove_forged(message, OURS) == KEPT_BEFORE + KEPT_AFTER + BODY
    assert remove_forged(message, "MX.EXAMPLE.NET") == KEPT_BEFORE + KEPT_AFTER + BODY


@pytest.mark.parametrize(
    "other",
    [
        b"Authentication-Results: mx.example.net.evil.example; spf=pass\r\n",
        b"Authentication-Results: xmx.example.net; spf=pass\r\n",
        b"Authentication-Results: mx.example; spf=pass\r\n",
        b"Authentication-Results: other.example; spf=pass smtp.mailfrom=mx.example.net\r\n",
        b"Authentication-Results: (mx.example.net) other.example; none\r\n",
        b'Authentication-Results: "mx.example.net " ; none\r\n',
        b"Authentication-Results: mx.example\r\n .net; none\r\n",  # FWS ends the token
        b"X-Authentication-Results: mx.example.net; spf=pass\r\n",
        b"ARC-Authentication-Results: i=1; mx.example.net; spf=pass\r\n",
        b"Authentication-Results-Copy: mx.example.net; none\r\n",
        b"Authentication-Results: ; none\r\n",
        b"Authentication-Results:   \r\n",
    ],
)
def test_other_fields_are_kept_byte_for_byte(other: bytes) -> None:
    message = KEPT_BEFORE + other + KEPT_AFTER + BODY
    assert remove_forged(message, OURS) is message


def test_mixed_fields_with_bare_lf_and_odd_bytes() -> None:
    theirs = b"Authentication-Results: other.example;\n  spf=fail \xff\n"
    ours = b"Authentication-Results: MX.example.net;\n\tspf=pass\n"
    head = b"From a@b Mon Jan  1 00:00:00 2024\n"  # an mbox line, no colon
    message = head + theirs + ours + b"X-Odd: \x00\xfe\n" + ours + b"\nbody\n"
    assert remove_forged(message, OURS) == head + theirs + b"X-Odd: \x00\xfe\n" + b"\nbody\n"


def test_only_the_header_section_is_looked_at() -> None:
    message = b"Subject: x\r\n\r\n" + b"Authentication-Results: mx.example.net; none\r\n"
    assert remove_forged(message, OURS) is message


def test_message_that_is_all_header() -> None:
    message = b"Subject: x\r\nAuthentication-Results: mx.example.net; none"
    assert remove_forged(message, OURS) == b"Subject: x\r\n"
    assert remove_forged(b"", OURS) == b""


# Property: a message that does not carry our id is never touched; a message
# with our fields added anywhere in its header comes back as it was.

_NAMES = st.sampled_from(
    [
        "Authentication-Results",
        "authentication-results",
        "ARC-Authentication-Results",
        "Received",
        "From",
        "Subject",
        "X-Spam",
        "DKIM-Signature",
    ]
)
_VALUE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"),
    max_size=60,
)
_FOLDED_VALUE = st.lists(_VALUE, min_size=1, max_size=3).map(lambda parts: "\r\n\t".join(parts))
_FIELD = st.builds(
    lambda name, sep, value, eol: f"{name}{sep}{value}".encode("utf-8", "surrogateescape") + eol,
    _NAMES,
    st.sampled_from([":", ": ", " : ", ":\t"]),
    _FOLDED_VALUE,
    st.sampled_from([b"\r\n", b"\n"]),
)
_HEADERS = st.lists(_FIELD, max_size=8)
_BODY = st.binary(max_size=200)
_OUR_FIELD = st.sampled_from(
    [
        b"Authentication-Results: mx.example.net; spf=pass\r\n",
        b"Authentication-Results: (c) MX.EXAMPLE.NET; none\n",
        b'authentication-results:\r\n\t"mx.example.net" 1;\r\n\tdkim=fail\r\n',
    ]
)


def _no_id(message: bytes) -> bool:
    return OURS.encode() not in message.lower()


@given(_HEADERS, st.sampled_from([b"\r\n", b"\n"]), _BODY)
def test_message_without_our_id_is_untouched(
    headers: list[bytes], eol: bytes, body: bytes
) -> None:
    message = b"".join(headers) + eol + body
    if _no_id(message):
        assert remove_forged(message, OURS) == message


@given(st.binary(max_size=500))
def test_any_bytes_without_our_id_are_untouched(message: bytes) -> None:
    if _no_id(message):
        assert remove_forged(message, OURS) == message


@given(_HEADERS, _BODY, st.lists(st.tuples(st.integers(0, 8), _OUR_FIELD), max_size=4))
def test_adding_our_fields_then_removing_them_is_the_identity(
    headers: list[bytes], body: bytes, ours: list[tuple[int, bytes]]
) -> None:
    original = b"".join(headers) + b"\r\n" + body
    if not _no_id(b"".join(headers)):
        return
    forged = list(headers)
    for index, field in ours:
        forged.insert(min(index, len(forged)), field)
    assert remove_forged(b"".join(forged) + b"\r\n" + body, OURS) == original


def test_a_bare_cr_ends_a_line_too() -> None:
    # A reader that takes a bare CR for a line end must not find our field.
    message = b"X-A: 1\rAuthentication-Results: mx.example.net; none\r\nSubject: s\r\n\r\nb"
    assert remove_forged(message, OURS) == b"X-A: 1\rSubject: s\r\n\r\nb"
    message = b"Subject: s\r\r\nAuthentication-Results: mx.example.net; none\r\n"
    assert remove_forged(message, OURS) is message  # "\r" then "\r\n": an empty line


def test_remove_forged_drops_our_own_fields() -> None:
    message = (
        b"X-Mailgateway-Junk: not really\r\n"
        b"x-mailgateway-junk:\r\n  folded\r\n"
        b"Subject: hi\r\n\r\nX-Mailgateway-Junk: in the body stays\r\n"
    )
    assert remove_forged(message, "mx.example.test") == (
        b"Subject: hi\r\n\r\nX-Mailgateway-Junk: in the body stays\r\n"
    )
