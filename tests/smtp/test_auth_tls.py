"""STARTTLS (RFC 3207) and AUTH (RFC 4954), including the injection and brute-force cases."""

from __future__ import annotations

import base64
from pathlib import Path

from smtp_harness import Session, auth_plain


def test_auth_refused_before_tls(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    assert s.codes(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n") == [
        "538 5.7.11"
    ]


def test_starttls_discards_pipelined_commands(tmp_path: Path) -> None:
    """CVE-2011-0411: plaintext sent with STARTTLS must not run inside TLS."""
    s = Session(tmp_path)
    s.ehlo()
    replies = s.send(
        b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
    )
    assert replies == ["220 2.0.0 Ready to start TLS"]
    assert s.transport.tls_started
    # after the handshake the session starts over: no EHLO yet, no transaction
    assert s.codes(b"RCPT TO:<alice@example.test>\r\n") == ["503 5.5.1"]
    assert s.codes(b"MAIL FROM:<a@remote.test>\r\n") == ["503 5.5.1"]
    lines = s.ehlo()
    assert "250-STARTTLS" not in lines
    assert "250-AUTH PLAIN LOGIN" in lines
    assert s.codes(b"STARTTLS\r\n") == ["503 5.5.1"]


def test_auth_plain_and_session_reset_by_starttls(tmp_path: Path) -> None:
    s = Session(tmp_path, kind="submission")
    s.ehlo()
    s.send(b"STARTTLS\r\n")
    s.ehlo()
    assert s.codes(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n") == [
        "235 2.7.0"
    ]
    assert s.codes(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n") == [
        "503 5.5.1"
    ]
    assert s.codes(b"MAIL FROM:<alice@example.test>\r\n") == ["250 2.1.0"]


def test_auth_plain_without_initial_response(tmp_path: Path) -> None:
    s = Session(tmp_path, kind="submissions")
    s.ehlo()
    assert s.send(b"AUTH PLAIN\r\n") == ["334 "]
    assert s.codes(auth_plain("bob@example.test", "builder") + b"\r\n") == ["235 2.7.0"]


def test_auth_login(tmp_path: Path) -> None:
    s = Session(tmp_path, kind="submissions")
    s.ehlo()
    assert s.send(b"AUTH LOGIN\r\n") == ["334 VXNlcm5hbWU6"]
    assert s.send(base64.b64encode(b"alice@example.test") + b"\r\n") == ["334 UGFzc3dvcmQ6"]
    assert s.codes(base64.b64encode(b"wonderland") + b"\r\n") == ["235 2.7.0"]


def test_auth_login_initial_response_and_cancel(tmp_path: Path) -> None:
    s = Session(tmp_path, kind="submissions")
    s.ehlo()
    assert s.send(b"AUTH LOGIN " + base64.b64encode(b"alice@example.test") + b"\r\n") == [
        "334 UGFzc3dvcmQ6"
    ]
    assert s.codes(b"*\r\n")[0].startswith("501")
    assert s.codes(b"NOOP\r\n") == ["250 2.0.0"]


def test_bad_credentials_and_bad_base64(tmp_path: Path) -> None:
    s = Session(tmp_path, kind="submissions")
    s.ehlo()
    assert s.codes(b"AUTH PLAIN " + auth_plain("alice@example.test", "nope") + b"\r\n") == [
        "535 5.7.8"
    ]
    assert s.codes(b"AUTH PLAIN !!!notbase64\r\n")[0].startswith("501")
    assert s.codes(b"AUTH CRAM-MD5\r\n")[0].startswith("504")


def test_brute_force_is_slowed_then_cut_off(tmp_path: Path) -> None:
    s = Session(
        tmp_path,
        kind="submissions",
        max_errors=100,
        auth_failures_before_delay=2,
        auth_failure_delay=5.0,
        max_auth_failures=4,
    )
    s.ehlo()
    bad = b"AUTH PLAIN " + auth_plain("alice@example.test", "guess") + b"\r\n"
    assert s.codes(bad) == ["535 5.7.8"]  # 1st: at once
    assert s.codes(bad) == []  # 2nd: delayed
    s.transport.clear()
    s.clock.advance(5)
    assert s.lines()[0].startswith("535 5.7.8")
    s.codes(bad)
    s.clock.advance(5)  # 3rd, delayed too
    s.transport.clear()
    assert s.codes(bad)[0].startswith("421")  # 4th: cut off
    assert s.closed
    # a new connection from the same address may not even try for a while
    other, transport = s.connect()
    other.dataReceived(b"EHLO x\r\n")
    transport.clear()
    other.dataReceived(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n")
    assert transport.value().startswith(b"421")
    # ...which ends with the window
    s.clock.advance(901)
    third, t3 = s.connect()
    third.dataReceived(b"EHLO x\r\n")
    t3.clear()
    third.dataReceived(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n")
    assert t3.value().startswith(b"235")
