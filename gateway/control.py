"""The local control channel between the admin CLI and the running daemon.

A Unix socket (``run/control.sock``, mode 0600) carrying length-prefixed
frames (:class:`~twisted.protocols.basic.Int32StringReceiver`): each request
is a JSON header, a newline and an optional payload (the message content for
``submit``); each reply is a JSON object with ``ok`` and either a result or
an ``error``. The codec functions are pure; the protocol is a thin layer.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import Int32StringReceiver
from twisted.python.failure import Failure

from gateway.bus.bus import ADMIN_OPERATIONS, MessageBus, QueueIdError, summary
from gateway.envelope import Envelope
from gateway.errors import GatewayError

log = Logger()


class ControlError(ValueError):
    """A malformed control request."""


def encode_request(header: dict[str, Any], payload: bytes = b"") -> bytes:
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload


def decode_request(frame: bytes) -> tuple[dict[str, Any], bytes]:
    head, sep, payload = frame.partition(b"\n")
    if not sep:
        raise ControlError("request has no header line")
    try:
        header = json.loads(head)
    except ValueError as e:
        raise ControlError(f"request header is not JSON: {e}") from e
    if not isinstance(header, dict) or not isinstance(header.get("op"), str):
        raise ControlError("request header needs an 'op'")
    return header, payload


def encode_reply(ok: bool, **fields: Any) -> bytes:
    return json.dumps({"ok": ok, **fields}, separators=(",", ":")).encode()


class ControlProtocol(Int32StringReceiver):
    def __init__(self, bus: MessageBus, max_length: int) -> None:
        self.bus = bus
        self.MAX_LENGTH = max_length

    def stringReceived(self, string: bytes) -> None:
        d = maybeDeferred(self._dispatch, string)
        d.addCallbacks(self._reply, self._error)

    def lengthLimitExceeded(self, length: int) -> None:
        self.sendString(encode_reply(False, error=f"request of {length} bytes is too large"))
        if self.transport is not None:
            self.transport.loseConnection()

    def _reply(self, result: Any) -> None:
        self.sendString(encode_reply(True, result=result))

    def _error(self, failure: Failure) -> None:
        value = failure.value
        if isinstance(value, GatewayError):
            self.sendString(encode_reply(False, error=str(value), temporary=value.temporary))
        elif isinstance(value, QueueIdError):
            self.sendString(encode_reply(False, error=f"no message {value.args[0]} in the queue"))
        elif isinstance(value, (ControlError, ValueError, KeyError)):
            self.sendString(encode_reply(False, error=f"bad request: {value}"))
        else:
            log.failure("control request failed", failure)
            self.sendString(encode_reply(False, error="internal error, see the daemon log"))

    def _dispatch(self, frame: bytes) -> Any:
        header, payload = decode_request(frame)
        op = header["op"]
        if op == "ping":
            return "pong"
        if op == "reload":  # the CLI changed users or aliases
            self.bus.router.users.refresh()
            self.bus.router.aliases.refresh()
            return "reloaded"
        if op == "submit":
            envelope = Envelope.from_json(header["envelope"])
            return self.bus.submit(envelope, payload, header.get("qid"))
        if op == "list":
            return [summary(m) for m in sorted(self.bus.messages.values(), key=lambda m: m.qid)]
        if op == "show":
            return self.bus.get(str(header["qid"])).state.to_json()
        if op in ADMIN_OPERATIONS:
            d: Deferred[None] = self.bus.admin(str(header["qid"]), op)
            return d.addCallback(lambda _: op)
        raise ControlError(f"unknown operation {op!r}")


class ControlFactory(Factory):
    def __init__(self, bus: MessageBus, max_length: int) -> None:
        self.bus = bus
        self.max_length = max_length

    def buildProtocol(self, addr: object) -> ControlProtocol:
        return ControlProtocol(self.bus, self.max_length)
