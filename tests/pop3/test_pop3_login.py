"""USER/PASS and APOP (RFC 1939 7), the plaintext rules, [AUTH]/[IN-USE]/[SYS/TEMP]
(RFC 2449 8, RFC 3206), and the failed-login throttle."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

from pop3_harness import ALICE, BOB, MemoryMaildrop, Session, captured_logs
from twisted.internet.defer import Deferred

from gateway.auth.apop import apop_digest
from gateway.auth.realm import build_portal
from gateway.interfaces import IMaildrop
from gateway.pop3.server import State
from gateway.store.users import UserFile
from tests.syncthreads import SyncPool, SyncReactor


def test_user_pass(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"USER alice@example.test\r\n") == ["+OK Send PASS"]
    total = sum(len(m) for m in s.opener.mailboxes[ALICE])
    assert s.status(b"PASS wonderland\r\n") == [f"+OK Logged in, 3 messages ({total} octets)"]
    assert s.protocol.state is State.TRANSACTION
    assert s.opener.locked == {ALICE}


def test_user_does_not_tell_who_exists(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"USER nobody@example.test\r\n") == ["+OK Send PASS"]
    assert s.status(b"PASS whatever\r\n") == ["-ERR [AUTH] Authentication failed"]
    assert s.status(b"USER alice@example.test\r\n") == ["+OK Send PASS"]
    assert s.status(b"PASS wrong\r\n") == ["-ERR [AUTH] Authentication failed"]
    assert s.protocol.state is State.AUTHORIZATION


def test_password_with_spaces_is_one_argument(tmp_path: Path) -> None:
    """RFC 1939 7: the PASS argument is the rest of the line."""
    (tmp_path / "other").mkdir()
    s = Session(tmp_path / "other")
    users = UserFile(tmp_path / "users")
    (tmp_path / "users").write_text(f"{ALICE}:{{PLAIN}}correct horse  battery\n")
    s.config.portal = build_portal(users, tmp_path / "mail", SyncReactor(), SyncPool())  # type: ignore[arg-type]
    s.send(b"USER alice@example.test\r\n")
    assert s.status(b"PASS correct horse  battery\r\n")[0].startswith("+OK Logged in")


def test_pass_needs_user_and_a_password(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"PASS wonderland\r\n") == ["-ERR Send USER first"]
    s.send(b"USER alice@example.test\r\n")
    assert s.status(b"PASS\r\n") == ["-ERR PASS needs a password"]
    # the failed PASS used up the USER
    assert s.status(b"PASS wonderland\r\n") == ["-ERR Send USER first"]
    assert s.status(b"USER\r\n") == ["-ERR Usage: USER name"]
    assert s.status(b"USER a b\r\n") == ["-ERR Usage: USER name"]


def test_plaintext_login_refused_without_tls(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False)
    refusal = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections, use STLS"
    assert s.status(b"USER alice@example.test\r\n") == [refusal]
    assert s.status(b"PASS wonderland\r\n") == [refusal]
    assert s.protocol.state is State.AUTHORIZATION


def test_plaintext_login_allowed_from_trusted_networks(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False, trusted_networks=(ipaddress.ip_network("192.0.2.0/24"),))
    assert "USER" in s.send(b"CAPA\r\n")
    s.login()


def test_plaintext_login_allowed_by_the_flag(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False, plaintext_auth=True)
    s.login()


def test_apop(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False)  # APOP needs no TLS: no password on the wire
    timestamp = s.greeting.rsplit(" ", 1)[1].encode()
    digest = apop_digest(timestamp, b"builder")
    assert s.status(b"APOP bob@example.test " + digest + b"\r\n") == [
        "+OK Logged in, 0 messages (0 octets)"
    ]
    assert s.protocol.state is State.TRANSACTION


def test_apop_with_hex_encoded_cleartext_and_upper_case_digest(tmp_path: Path) -> None:
    s = Session(tmp_path)
    timestamp = s.greeting.rsplit(" ", 1)[1].encode()
    digest = apop_digest(timestamp, b"tr0ub4dor").upper()
    assert s.status(b"APOP dave@example.test " + digest + b"\r\n")[0].startswith("+OK Logged in")


def test_apop_failures_all_look_the_same(tmp_path: Path) -> None:
    s = Session(tmp_path, max_errors=100, auth_failures_before_delay=100)
    timestamp = s.greeting.rsplit(" ", 1)[1].encode()
    wrong = apop_digest(timestamp, b"wrong")
    old = apop_digest(b"<1.1.1@pop.example.test>", b"builder")  # a replayed digest
    hashed = apop_digest(timestamp, b"wonderland")  # alice's password is not cleartext
    unknown = apop_digest(timestamp, b"builder")
    for line in (
        b"APOP bob@example.test " + wrong,
        b"APOP bob@example.test " + old,
        b"APOP alice@example.test " + hashed,
        b"APOP nobody@example.test " + unknown,
    ):
        assert s.status(line + b"\r\n") == ["-ERR [AUTH] Authentication failed"], line


def test_apop_syntax(tmp_path: Path) -> None:
    s = Session(tmp_path)
    usage = ["-ERR Usage: APOP name digest (32 hex digits)"]
    assert s.status(b"APOP bob@example.test\r\n") == usage
    assert s.status(b"APOP bob@example.test xyz\r\n") == usage
    assert s.status(b"APOP bob@example.test " + b"g" * 32 + b"\r\n") == usage


def test_maildrop_in_use(tmp_path: Path) -> None:
    """RFC 2449 8.1.1: [IN-USE], and the session stays in AUTHORIZATION."""
    s = Session(tmp_path)
    s.login()
    other, transport = s.connect()
    transport.clear()
    other.dataReceived(b"USER alice@example.test\r\nPASS wonderland\r\n")
    assert transport.value().decode().split("\r\n")[1] == (
        "-ERR [IN-USE] Maildrop is locked by another POP3 session"
    )
    assert other.state is State.AUTHORIZATION
    # once the first session ends, the second may log in
    s.send(b"QUIT\r\n")
    transport.clear()
    other.dataReceived(b"USER alice@example.test\r\nPASS wonderland\r\n")
    assert b"+OK Logged in" in transport.value()


def test_store_failure_is_sys_temp(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.opener.broken_open = True
    s.send(b"USER alice@example.test\r\n")
    assert s.status(b"PASS wonderland\r\n") == [
        "-ERR [SYS/TEMP] Cannot open the maildrop, try again later"
    ]
    assert s.protocol.state is State.AUTHORIZATION
    s.opener.broken_open = False
    s.login()


def test_client_gone_while_the_maildrop_opens(tmp_path: Path) -> None:
    """A maildrop that opens after the client left is released at once."""
    s = Session(tmp_path)
    held: Deferred[IMaildrop] = Deferred()
    s.opener.open_maildrop = lambda user: held  # type: ignore[method-assign]
    s.send(b"USER alice@example.test\r\nPASS wonderland\r\n")
    s.lose()
    drop = MemoryMaildrop(s.opener, ALICE, [])
    held.callback(drop)
    assert drop.released == 1
    assert s.protocol.state is State.AUTHORIZATION


def test_login_lines_are_logged(tmp_path: Path) -> None:
    s = Session(tmp_path)
    with captured_logs() as logs:
        s.send(b"USER alice@example.test\r\nPASS nope\r\n")
        s.send(b"AUTH PLAIN " + base64.b64encode(b"\0bad\nname\0x") + b"\r\n")
        s.login(BOB, "builder")
    assert logs == [
        "pop3: 192.0.2.10: login failed for alice@example.test (USER; 1 recent failures)",
        "pop3: 192.0.2.10: login failed for bad?name (PLAIN; 2 recent failures)",
        f"pop3: 192.0.2.10: {BOB} logged in (USER; 0 messages, 0 octets)",
    ]


def test_failed_logins_are_delayed_then_cut_off(tmp_path: Path) -> None:
    s = Session(
        tmp_path,
        max_errors=100,
        auth_failures_before_delay=2,
        auth_failure_delay=5.0,
        max_auth_failures=4,
    )
    bad = b"USER alice@example.test\r\nPASS guess\r\n"
    assert s.status(bad) == ["+OK Send PASS", "-ERR [AUTH] Authentication failed"]  # at once
    assert s.status(bad) == ["+OK Send PASS"]  # 2nd: delayed
    assert s.status(b"NOOP\r\n") == []  # held behind the delayed reply
    s.transport.clear()
    s.clock.advance(5)
    assert s.lines()[0] == "-ERR [AUTH] Authentication failed"
    s.send(bad)
    s.clock.advance(5)  # 3rd, delayed too
    assert s.status(bad) == [
        "+OK Send PASS",
        "-ERR [AUTH] Authentication failed, too many failures; closing",
    ]
    assert s.closed
    # a new connection from the same address may not even try for a while
    other, transport = s.connect()
    transport.clear()
    other.dataReceived(b"USER alice@example.test\r\nPASS wonderland\r\n")
    assert transport.value().decode().split("\r\n")[1] == (
        "-ERR [SYS/TEMP] Too many failed logins from your address, try again later"
    )
    assert transport.disconnecting
    # ...which ends with the window
    s.clock.advance(901)
    third, t3 = s.connect()
    t3.clear()
    third.dataReceived(b"USER alice@example.test\r\nPASS wonderland\r\n")
    assert b"+OK Logged in" in t3.value()
