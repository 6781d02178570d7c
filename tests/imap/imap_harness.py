"""Drive IMAPServerProtocol over a StringTransport (not a test module).

``Client.command("FETCH 1 FLAGS")`` sends one tagged command and returns a
:class:`Reply` (the untagged lines and the tagged line); ``ok`` asserts the
tagged OK. The store is :mod:`tests.imap.fake_store`; logins go through the
real portal over a real users file, verified at once.
"""

from __future__ import annotations

import itertools
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.imap.server import IMAPConfig, IMAPServerProtocol
from gateway.store.users import UserFile
from tests import protocol_harness
from tests.imap.fake_store import FakeOpener, FakeStore
from tests.protocol_harness import Connection

ALICE = "alice@example.test"
BOB = "bob@example.test"

MESSAGES = [
    b"From: Carol <carol@example.test>\r\nTo: alice@example.test\r\nSubject: one\r\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello world\r\n",
    b"From: dave@example.test\r\nTo: alice@example.test\r\nSubject: two\r\n"
    b"Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n\r\nSecond body\r\n",
    b"From: erin@example.test\r\nTo: bob@example.test\r\nSubject: three\r\n"
    b"Date: Wed, 3 Jan 2024 10:00:00 +0000\r\n\r\nThird, longer body text here\r\n",
]


@dataclass
class Reply:
    untagged: list[str]
    tagged: str  # without the tag: "OK [CODE] text"

    @property
    def status(self) -> str:
        return self.tagged.split(" ", 1)[0]


def write_users(tmp: Path) -> UserFile:
    (tmp / "users").write_text(f"{ALICE}:{{PLAIN}}wonderland\n{BOB}:{{PLAIN}}builder\n")
    return UserFile(tmp / "users")


class Server:
    """One IMAP listener's config and the store behind it."""

    def __init__(
        self,
        tmp: Path,
        secure: bool = True,
        tls: Any = None,
        messages: list[bytes] | None = None,
        max_connections: int = 100,
        max_connections_per_ip: int = 10,
        **overrides: Any,
    ) -> None:
        users = write_users(tmp)
        self.portal = protocol_harness.portal(users, tmp)
        self.clock = protocol_harness.clock()
        self.store = FakeStore()
        for i, data in enumerate(MESSAGES if messages is None else messages):
            self.store.deliver(ALICE, data)
            self.store.folders(ALICE)["INBOX"].messages[-1].internal_date = (
                1_704_103_200 + i * 86400
            )
        self.opener = FakeOpener(self.store)
        self.config = IMAPConfig(
            hostname="imap.example.test",
            portal=self.portal,
            opener=self.opener,
            **protocol_harness.listener_fields(
                self.clock, secure, tls, max_connections, max_connections_per_ip
            ),
            **overrides,
        )

    def connect(self, client_ip: str = "192.0.2.10") -> Client:
        return Client(self, client_ip)


class Client(Connection):
    """One connection: send commands, read what the server wrote."""

    def __init__(self, server: Server, client_ip: str) -> None:
        self.server = server
        self.protocol = IMAPServerProtocol(server.config)
        self.transport = protocol_harness.connect(self.protocol, client_ip)
        self.greeting = self.lines()[0] if self.transport.value() else ""
        self.transport.clear()
        self._tags = itertools.count(1)

    def raw(self, data: bytes) -> bytes:
        """Feed ``data``; return everything written meanwhile (and forget it)."""
        value = super().raw(data)
        self.transport.clear()
        return value

    def written(self) -> list[str]:
        """What the server wrote since the last send (pushes, timers)."""
        lines = self.lines()
        self.transport.clear()
        return lines

    def command(self, text: str | bytes) -> Reply:
        tag = f"a{next(self._tags)}"
        data = text.encode() if isinstance(text, str) else text
        lines = self.send(tag.encode() + b" " + data + b"\r\n")
        tagged = [i for i, line in enumerate(lines) if line.startswith(tag + " ")]
        assert tagged, f"no tagged reply to {text!r}: {lines}"
        i = tagged[-1]
        return Reply(lines[:i], lines[i][len(tag) + 1 :])

    def ok(self, text: str | bytes) -> list[str]:
        """Send; assert the tagged OK; the untagged lines."""
        reply = self.command(text)
        assert reply.status == "OK", (text, reply)
        return reply.untagged

    def no(self, text: str | bytes) -> Reply:
        reply = self.command(text)
        assert reply.status == "NO", (text, reply)
        return reply

    def bad(self, text: str | bytes) -> Reply:
        reply = self.command(text)
        assert reply.status == "BAD", (text, reply)
        return reply

    def login(self, user: str = ALICE, password: str = "wonderland") -> None:
        self.ok(f'LOGIN {user} "{password}"')

    def select(self, mailbox: str = "INBOX", examine: bool = False) -> list[str]:
        return self.ok(f"{'EXAMINE' if examine else 'SELECT'} {mailbox}")


def captured_logs() -> AbstractContextManager[list[str]]:
    """The formatted imap log lines emitted inside the block."""
    return protocol_harness.captured_logs("imap:")
