"""Drive POP3ServerProtocol over a StringTransport (not a test module).

The store is an in-memory IMaildropOpener / IMaildrop; logins go through
the real portal over a real users file, with verification run at once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from gateway.auth.passwords import hash_password
from gateway.interfaces import IMaildrop, IMaildropOpener, IMailUser, MaildropInUse
from gateway.pop3.server import POP3Config, POP3ServerProtocol
from gateway.store.pop3view import MaildropMessage
from gateway.store.users import UserFile
from tests import protocol_harness
from tests.protocol_harness import Connection, TLSStringTransport

ALICE = "alice@example.test"
BOB = "bob@example.test"

MESSAGES = [
    b"From: carol@example.test\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\nbye\r\n",
    b".leading: dot\r\n\r\n..two dots\r\n.\r\nend\r\n",
    b"Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\nl4\r\n",
]


@implementer(IMaildrop)
class MemoryMaildrop:
    """A snapshot of in-memory messages; records what the session did."""

    def __init__(self, opener: MemoryOpener, user: str, contents: list[bytes]) -> None:
        self.opener = opener
        self.user = user
        self.contents = contents
        self.messages = tuple(
            MaildropMessage(f"uid-{user.split('@')[0]}-{i}", len(c))
            for i, c in enumerate(contents)
        )
        self.commits: list[tuple[frozenset[int], frozenset[int]]] = []
        self.released = 0
        self.pending: list[tuple[Deferred[bytes], bytes]] = []

    def retrieve_nowait(self, index: int) -> bytes | None:
        """Inline, as the store does for a small message, unless the test
        wants the slow path (a failing or a later read)."""
        if self.opener.broken_retrieve or self.opener.async_retrieve:
            return None
        return self.contents[index]

    def retrieve(self, index: int) -> Deferred[bytes]:
        if self.opener.broken_retrieve:
            return fail(OSError("disk on fire"))
        if self.opener.async_retrieve:
            d: Deferred[bytes] = Deferred()
            self.pending.append((d, self.contents[index]))
            return d
        return succeed(self.contents[index])

    def deliver_pending(self) -> None:
        pending, self.pending = self.pending, []
        for d, content in pending:
            d.callback(content)

    def commit(self, deleted: frozenset[int], retrieved: frozenset[int]) -> Deferred[None]:
        self.commits.append((deleted, retrieved))
        self.release()
        if self.opener.broken_commit:
            return fail(OSError("cannot unlink"))
        self.opener.mailboxes[self.user] = [
            c for i, c in enumerate(self.contents) if i not in deleted
        ]
        return succeed(None)

    def release(self) -> None:
        self.released += 1
        self.opener.locked.discard(self.user)


@implementer(IMaildropOpener)
class MemoryOpener:
    def __init__(self, mailboxes: dict[str, list[bytes]]) -> None:
        self.mailboxes = mailboxes
        self.locked: set[str] = set()
        self.opened: list[MemoryMaildrop] = []
        self.broken_open = False
        self.broken_retrieve = False
        self.broken_commit = False
        self.async_retrieve = False

    def open_maildrop(self, user: object) -> Deferred[IMaildrop]:
        assert IMailUser.providedBy(user)
        key = str(user.address)  # type: ignore[attr-defined]
        if self.broken_open:
            return fail(OSError("cannot read maildir"))
        if key in self.locked:
            return fail(MaildropInUse(key))
        self.locked.add(key)
        drop = MemoryMaildrop(self, key, list(self.mailboxes.get(key, [])))
        self.opened.append(drop)
        return succeed(drop)

    @property
    def last(self) -> MemoryMaildrop:
        return self.opened[-1]


def write_users(tmp: Path) -> UserFile:
    (tmp / "users").write_text(
        f"{ALICE}:" + hash_password("wonderland", "SSHA256") + "\n"
        f"{BOB}:{{PLAIN}}builder\n"
        "dave@example.test:{CLEARTEXT.HEX}" + b"tr0ub4dor".hex() + "\n"
    )
    return UserFile(tmp / "users")


class Session(Connection):
    """One POP3 listener's config, and a connection to it.

    ``secure`` (the default) makes the listener pop3s (implicit TLS), so
    plaintext logins are allowed; tests of the plaintext rules pass False.
    """

    def __init__(
        self,
        tmp: Path,
        client_ip: str = "192.0.2.10",
        secure: bool = True,
        tls: Any = None,
        max_connections: int = 100,
        max_connections_per_ip: int = 10,
        **overrides: Any,
    ) -> None:
        users = write_users(tmp)
        self.portal = protocol_harness.portal(users, tmp)
        self.clock = protocol_harness.clock()
        self.opener = MemoryOpener({ALICE: list(MESSAGES), BOB: []})
        self.config = POP3Config(
            hostname="pop.example.test",
            portal=self.portal,
            opener=self.opener,
            **protocol_harness.listener_fields(
                self.clock, secure, tls, max_connections, max_connections_per_ip
            ),
            **overrides,
        )
        self.client_ip = client_ip
        self.protocol, self.transport = self.connect()
        self.greeting = self.lines()[0]

    def connect(self) -> tuple[POP3ServerProtocol, TLSStringTransport]:
        protocol = POP3ServerProtocol(self.config)
        return protocol, protocol_harness.connect(protocol, self.client_ip)

    def status(self, data: bytes) -> list[str]:
        """Only the status lines (+OK / -ERR / +) of the replies to ``data``."""
        return [
            line
            for line in self.send(data)
            if line.startswith(("+OK", "-ERR", "+ ")) or line == "+"
        ]

    def login(self, user: str = ALICE, password: str = "wonderland") -> None:
        replies = self.send(f"USER {user}\r\nPASS {password}\r\n".encode())
        assert replies[0].startswith("+OK"), replies
        assert replies[1].startswith("+OK Logged in"), replies


def captured_logs() -> AbstractContextManager[list[str]]:
    """The formatted pop3 log lines emitted inside the block."""
    return protocol_harness.captured_logs("pop3:")
