"""A synchronous client of the daemon's control socket, for the CLI."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any

from gateway.control import encode_request


class DaemonUnavailable(Exception):
    """The daemon is not running (or its control socket cannot be reached)."""


class ControlRequestFailed(Exception):
    def __init__(self, message: str, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("control socket closed by the daemon")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def request(
    path: Path, header: dict[str, Any], payload: bytes = b"", timeout: float = 60.0
) -> Any:
    """Send one request and return its result, or raise."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except OSError as e:
            raise DaemonUnavailable(f"{path}: {e.strerror}") from e
        frame = encode_request(header, payload)
        sock.sendall(struct.pack(">I", len(frame)) + frame)
        (length,) = struct.unpack(">I", _recv_exact(sock, 4))
        reply = json.loads(_recv_exact(sock, length))
    finally:
        sock.close()
    if not reply.get("ok"):
        raise ControlRequestFailed(str(reply.get("error")), bool(reply.get("temporary")))
    return reply.get("result")


def notify_reload(path: Path) -> bool:
    """Tell a running daemon that users or aliases changed, so the change
    applies at once (it would otherwise within a second). False when no
    daemon answers: it reads the files when it starts anyway."""
    try:
        request(path, {"op": "reload"}, timeout=10)
    except (DaemonUnavailable, ControlRequestFailed, OSError):
        return False
    return True
