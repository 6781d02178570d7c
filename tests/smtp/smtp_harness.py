"""Drive SMTPServerProtocol over a StringTransport (not a test module)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from gateway.auth.passwords import hash_password
from gateway.bus.router import Router
from gateway.config import SMTPSettings
from gateway.envelope import Envelope
from gateway.errors import GatewayError
from gateway.interfaces import IMessageBus
from gateway.smtp.server import AuthThrottle, ConnectionLimiter, SMTPConfig, SMTPServerProtocol
from gateway.store.aliases import AliasFile
from gateway.store.users import UserFile
from tests import protocol_harness
from tests.protocol_harness import Connection, TLSStringTransport


@implementer(IMessageBus)
class RecordingBus:
    """Accepts (or refuses) submissions at once and remembers them."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Envelope, bytes, str | None]] = []
        self.refuse: GatewayError | None = None
        self.hold: Deferred[str] | None = None
        self.counter = 0
        self.events: list[tuple[str | None, tuple[Any, ...]]] = []  # (qid, events) per submit
        self.refused: list[tuple[str, Envelope, str | None, dict[str, Any]]] = []

    def allocate_qid(self) -> str:
        self.counter += 1
        return f"Q{self.counter}"

    def submit(
        self, envelope: Envelope, content: bytes, qid: str | None = None, events: Any = ()
    ) -> Deferred[str]:
        if self.refuse is not None:
            return fail(self.refuse)
        self.submitted.append((envelope, content, qid))
        self.events.append((qid, tuple(events)))
        if self.hold is not None:
            return self.hold
        return succeed(qid or "Q")

    def record_refused(
        self, qid: str, envelope: Envelope, message_id: str | None, event: dict[str, Any]
    ) -> Deferred[None]:
        self.refused.append((qid, envelope, message_id, event))
        return succeed(None)


class Session(Connection):
    def __init__(
        self, tmp: Path, kind: str = "smtp", client_ip: str = "192.0.2.10", **overrides: Any
    ) -> None:
        (tmp / "users").write_text(
            "alice@example.test:" + hash_password("wonderland", "SSHA256") + "\n"
            "bob@example.test:" + hash_password("builder", "SSHA256") + "\n"
        )
        (tmp / "aliases").write_text(
            "sales@example.test alice@example.test\n"
            "postmaster@example.test alice@example.test\n"
            "loop1@example.test loop2@example.test\nloop2@example.test loop1@example.test\n"
        )
        users = UserFile(tmp / "users")
        self.router = Router(("example.test",), users, AliasFile(tmp / "aliases"))
        self.portal = protocol_harness.portal(users, tmp)
        self.bus = RecordingBus()
        self.clock = protocol_harness.clock()
        max_size = overrides.pop("max_message_size", 10_000)
        settings = SMTPSettings(**overrides)
        self.config = SMTPConfig(
            kind=kind,
            hostname="mail.example.test",
            settings=settings,
            max_message_size=max_size,
            bus=self.bus,  # type: ignore[arg-type]
            router=self.router,
            portal=self.portal,
            clock=self.clock,
            tls=object(),
            connections=ConnectionLimiter(
                settings.max_connections, settings.max_connections_per_ip
            ),
            auth_throttle=AuthThrottle(self.clock, settings.auth_failure_window),
            postmaster_domain="example.test",
            now=lambda: 1_800_000_000.0,
        )
        self.client_ip = client_ip
        self.protocol, self.transport = self.connect()

    def connect(self) -> tuple[SMTPServerProtocol, TLSStringTransport]:
        protocol = SMTPServerProtocol(self.config)
        return protocol, protocol_harness.connect(protocol, self.client_ip)

    @staticmethod
    def split(data: bytes) -> list[str]:
        """The non-empty reply lines."""
        return [line for line in data.decode("utf-8", "replace").split("\r\n") if line]

    def codes(self, data: bytes) -> list[str]:
        """The final line of each reply, as "250 2.1.0" prefixes."""
        out = []
        for line in self.send(data):
            if line[3:4] != " ":
                continue
            words = line.split(" ")
            status = (
                words[1] if len(words) > 1 and re.fullmatch(r"[245]\.\d+\.\d+", words[1]) else None
            )
            out.append(f"{words[0]} {status}" if status else words[0])
        return out

    def ehlo(self) -> list[str]:
        return self.send(b"EHLO client.example\r\n")


def auth_plain(user: str, password: str) -> bytes:
    import base64

    return base64.b64encode(f"\0{user}\0{password}".encode())
