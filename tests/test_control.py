"""The control socket protocol, over a StringTransport."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.testing import StringTransport

from gateway.bus.bus import MessageBus
from gateway.bus.retry import RetrySchedule
from gateway.bus.router import Router
from gateway.bus.spool import Spool
from gateway.control import ControlError, ControlProtocol, decode_request, encode_request
from gateway.envelope import Address
from gateway.store.aliases import AliasFile
from gateway.store.users import UserFile


@given(st.binary(max_size=200))
def test_decode_only_raises_control_error(data: bytes) -> None:
    try:
        header, _ = decode_request(data)
    except ControlError:
        return
    assert isinstance(header["op"], str)


def test_round_trip() -> None:
    frame = encode_request({"op": "submit", "qid": "Q"}, b"line1\nline2")
    assert decode_request(frame) == ({"op": "submit", "qid": "Q"}, b"line1\nline2")


class Client:
    def __init__(self, tmp: Path) -> None:
        (tmp / "users").write_text("")
        self.users = UserFile(tmp / "users", now=lambda: 0.0, interval=3600)
        router = Router(("example.test",), self.users, AliasFile(tmp / "aliases"))
        clock = task.Clock()
        bus = MessageBus(Spool(tmp / "queue", 1 << 20), router, {}, clock, RetrySchedule())
        self.protocol = ControlProtocol(bus, max_length=1 << 16)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def ask(self, frame: bytes) -> dict[str, Any]:
        self.transport.clear()
        self.protocol.dataReceived(struct.pack(">I", len(frame)) + frame)
        data = self.transport.value()
        (length,) = struct.unpack(">I", data[:4])
        reply: dict[str, Any] = json.loads(data[4 : 4 + length])
        return reply


def test_operations(tmp_path: Path) -> None:
    client = Client(tmp_path)
    assert client.ask(encode_request({"op": "ping"})) == {"ok": True, "result": "pong"}
    assert client.ask(encode_request({"op": "list"})) == {"ok": True, "result": []}
    reply = client.ask(encode_request({"op": "show", "qid": "NOPE"}))
    assert reply == {"ok": False, "error": "no message NOPE in the queue"}
    reply = client.ask(encode_request({"op": "frobnicate"}))
    assert not reply["ok"] and "unknown operation 'frobnicate'" in reply["error"]
    reply = client.ask(b"not json\n")
    assert not reply["ok"] and reply["error"].startswith("bad request: request header is not JSON")


def test_reload_makes_a_new_user_visible_at_once(tmp_path: Path) -> None:
    client = Client(tmp_path)
    alice = Address.parse("alice@example.test")
    assert not client.users.exists(alice)
    (tmp_path / "users").write_text("alice@example.test:{PLAIN}x\n")
    assert not client.users.exists(alice)  # the interval has not passed
    assert client.ask(encode_request({"op": "reload"})) == {"ok": True, "result": "reloaded"}
    assert client.users.exists(alice)


def test_oversized_request_is_refused_and_closed(tmp_path: Path) -> None:
    client = Client(tmp_path)
    client.protocol.dataReceived(struct.pack(">I", 1 << 20) + b"x" * 10)
    data = client.transport.value()
    assert b"too large" in data
    assert client.transport.disconnecting
