"""The Received: trace header (RFC 5321 4.4, RFC 3848, RFC 6531 3.7.3)."""

from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.smtp.received import MAX_WIDTH, received_header, with_keyword

WHEN = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 +0000


def header(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "helo": "client.example.org",
        "client_ip": "192.0.2.10",
        "client_name": "mail.example.org",
        "by": "mx.example.test",
        "protocol": "ESMTP",
        "tls": None,
        "auth_user": None,
        "qid": "4Qabc123",
        "recipient": "bob@example.test",
        "when": WHEN,
    }
    kwargs.update(overrides)
    return received_header(**kwargs)  # type: ignore[arg-type]


def unfolded(raw: bytes) -> str:
    return raw.decode().replace("\r\n\t", " ").rstrip("\r\n")


def test_all_fields() -> None:
    raw = header(tls=("TLSv1.3", "TLS_AES_256_GCM_SHA384"), auth_user="alice")
    assert raw == (
        b"Received: from client.example.org (mail.example.org [192.0.2.10])\r\n"
        b"\tby mx.example.test (mailgateway) with ESMTPSA id 4Qabc123\r\n"
        b"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
        b"\t(authenticated as alice)\r\n"
        b"\tfor <bob@example.test>; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    )


def test_minimal() -> None:
    raw = header(client_name=None, recipient=None)
    assert raw == (
        b"Received: from client.example.org (unknown [192.0.2.10])\r\n"
        b"\tby mx.example.test (mailgateway) with ESMTP id 4Qabc123;\r\n"
        b"\tTue, 14 Nov 2023 22:13:20 +0000\r\n"
    )
    assert b"using" not in raw and b"authenticated" not in raw


@pytest.mark.parametrize(
    ("protocol", "tls", "auth", "keyword"),
    [
        ("ESMTP", False, False, "ESMTP"),
        ("ESMTP", True, False, "ESMTPS"),
        ("ESMTP", False, True, "ESMTPA"),
        ("ESMTP", True, True, "ESMTPSA"),
        ("UTF8SMTP", False, False, "UTF8SMTP"),
        ("UTF8SMTP", True, False, "UTF8SMTPS"),
        ("UTF8SMTP", False, True, "UTF8SMTPA"),
        ("UTF8SMTP", True, True, "UTF8SMTPSA"),
        ("SMTP", False, False, "SMTP"),
        ("SMTP", True, True, "SMTP"),  # RFC 3848 defines no SMTP variants
        ("esmtp", True, False, "ESMTPS"),
    ],
)
def test_keyword(protocol: str, tls: bool, auth: bool, keyword: str) -> None:
    assert with_keyword(protocol, tls=tls, auth=auth) == keyword
    raw = header(
        protocol=protocol,
        tls=("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384") if tls else None,
        auth_user="alice" if auth else None,
    )
    assert f" with {keyword} id " in unfolded(raw)


def test_unknown_protocol() -> None:
    with pytest.raises(ValueError):
        header(protocol="HTTP")


def test_ipv6_literal() -> None:
    assert "(mail.example.org [IPv6:2001:db8::1])" in unfolded(header(client_ip="2001:db8:0::1"))
    assert "[192.0.2.1])" in unfolded(header(client_ip="::ffff:192.0.2.1"))


HOSTILE = [
    "evil\r\nX-Injected: yes",
    "evil\nX-Injected: yes",
    "evil\rX-Injected: yes",
    "evil) (forged [10.0.0.1]",
    "a\\) b",
    "x; Mon, 1 Jan 2001 00:00:00 +0000",
    "<bob@example.test>",
    "\x00\x1b[31m",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_sanitised(hostile: str) -> None:
    raws = [
        header(helo=hostile),
        header(client_name=hostile),
        header(auth_user=hostile, tls=(hostile, hostile)),
        header(recipient=hostile),
        header(qid=hostile, by=hostile),
    ]
    for raw in raws:
        assert_well_formed(raw)


def assert_well_formed(raw: bytes) -> None:
    text = raw.decode()
    # RFC 5322 2.2.3: a long HELO may be folded onto the next line
    assert unfolded(raw).startswith("Received: from ")
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    # Every line after the first is a continuation: no new header field.
    assert all(line.startswith("\t") for line in lines[1:])
    for line in lines:
        assert "\r" not in line and "\n" not in line
        assert not any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in line)
    flat = unfolded(raw)
    assert flat.count("(") == flat.count(")")
    assert flat.count(";") == 1  # only the one before the date
    msg = email.message_from_bytes(raw + b"\r\nbody\r\n", policy=email.policy.default)
    assert list(msg.keys()) == ["Received"]


@given(
    st.text(max_size=300),
    st.text(max_size=100),
    st.text(max_size=100),
    st.one_of(st.none(), st.text(max_size=100)),
)
def test_any_input_gives_one_well_formed_header(
    helo: str, name: str, user: str, rcpt: str | None
) -> None:
    for protocol in ("ESMTP", "UTF8SMTP"):
        raw = header(
            helo=helo,
            client_name=name or None,
            auth_user=user,
            recipient=rcpt,
            tls=("TLSv1.3", user),
            protocol=protocol,
        )
        assert_well_formed(raw)
        text = raw.decode()
        assert protocol == "UTF8SMTP" or text.isascii()
        assert not any(c in text for c in "\x85\u2028\u2029")


def test_long_helo_folded() -> None:
    helo = "a" * 60 + ".example.org"
    raw = header(helo=helo, client_name="b" * 40 + ".example.org")
    lines = raw.decode().split("\r\n")[:-1]
    assert all(len(line) <= MAX_WIDTH for line in lines)
    assert helo in unfolded(raw)


def test_utf8_helo_kept_only_with_utf8smtp() -> None:
    assert "from bücher.example " in unfolded(header(helo="bücher.example", protocol="UTF8SMTP"))
    raw = header(helo="bücher.example")
    assert raw.isascii()
    assert "from b_cher.example " in unfolded(raw)
    assert header(auth_user="jörg", recipient="jörg@example.test", tls=("x", "y")).isascii()
