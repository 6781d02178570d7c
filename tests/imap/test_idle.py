"""IDLE (RFC 2177): immediate updates from other sessions and deliveries,
ends only on DONE; ENABLE (RFC 5161), ID (RFC 2971)."""

from __future__ import annotations

from pathlib import Path

from tests.imap.imap_harness import ALICE, Server


def test_idle_pushes_delivery_and_expunge_at_once(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c, other = server.connect(), server.connect()
    for s in (c, other):
        s.login()
        s.select()
    assert c.send(b"i IDLE\r\n") == ["+ idling"]
    server.store.deliver(ALICE, b"Subject: new\r\n\r\nhi\r\n")
    assert c.written() == ["* 4 EXISTS", "* 4 RECENT"]
    other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.written() == ["* 1 FETCH (FLAGS (\\Deleted \\Recent))"]
    other.ok("EXPUNGE")
    assert c.written() == ["* 1 EXPUNGE", "* 3 RECENT"]  # RFC 3501 7.3.2
    # anything but DONE leaves IDLE running
    assert c.send(b"j NOOP\r\n") == ["* BAD Expected DONE to end IDLE."]
    assert c.send(b"done\r\n") == ["i OK Idle completed."]
    assert c.protocol.uids == [2, 3, 4]
    assert c.ok("NOOP") == []


def test_idle_sends_pending_updates_first(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    c.select()
    server.store.deliver(ALICE, b"Subject: new\r\n\r\nhi\r\n")
    assert c.send(b"i IDLE\r\n") == ["+ idling", "* 4 EXISTS", "* 4 RECENT"]
    assert c.send(b"DONE\r\n") == ["i OK Idle completed."]


def test_idle_timeouts_and_keepalive(tmp_path: Path) -> None:
    server = Server(tmp_path, timeout=1800.0, idle_timeout=3600.0, idle_keepalive=120.0)
    c = server.connect()
    c.login()
    c.send(b"i IDLE\r\n")
    server.clock.advance(120)
    assert c.written() == ["* OK Still here"]
    server.clock.advance(1800)  # longer than the autologout, still IDLE
    assert not c.closed
    c.written()
    server.clock.advance(3600)
    assert c.closed
    assert "* BYE Autologout; idle for too long." in c.written()


def test_idle_in_authenticated_state(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    c.login()
    assert c.send(b"i IDLE\r\nDONE\r\n") == ["+ idling", "i OK Idle completed."]


def test_enable_and_id(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert c.ok('ID ("name" "test")') == ['* ID ("name" "mailgateway" "vendor" "mailgateway")']
    assert c.bad("ENABLE CONDSTORE").tagged == "BAD Command not valid before login."
    c.login()
    assert c.ok("ENABLE QRESYNC CONDSTORE X-FOO") == ["* ENABLED CONDSTORE"]
    assert c.ok("ENABLE X-FOO") == ["* ENABLED"]
    lines = c.select()
    assert any(line.startswith("* OK [HIGHESTMODSEQ ") for line in lines)
