"""Maildrops for POP3 worker processes over a real Unix socket, on real Maildirs."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from gateway.auth.realm import MailUser
from gateway.envelope import Address
from gateway.interfaces import IMaildrop, IMaildropOpener, MaildropInUse
from gateway.store.maildir import deliver_blocking, ensure_maildir
from gateway.store.mailstore import MailStore
from gateway.store.remote import (
    MaildropServerFactory,
    RemoteMaildropOpener,
    StoreUnavailable,
    read_message,
)
from tests.syncthreads import SyncPool, SyncReactor

ALICE = Address.parse("alice@example.test")


def run_inline(function: Any, *args: Any) -> Deferred[Any]:
    return maybeDeferred(function, *args)


class Raw(Protocol):
    """A client speaking frames by hand: what a confused worker might send."""

    def __init__(self) -> None:
        self.data = b""
        self.closed: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: object = None) -> None:
        self.closed.callback(self.data)

    def send(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(struct.pack("!I", len(payload)) + payload)


class RemoteMaildropTests(TestCase):
    def setUp(self) -> None:
        self.mail_dir = Path(self.mktemp())
        self.maildir = self.mail_dir / "example.test" / "alice"
        ensure_maildir(self.maildir)
        self.store = MailStore(SyncReactor(), SyncPool())  # type: ignore[arg-type]
        self.socket = str(Path(self.mktemp()).with_suffix(".sock"))
        self.port: IListeningPort = reactor.listenUNIX(  # type: ignore[attr-defined]
            self.socket, MaildropServerFactory(self.store, self.mail_dir)
        )
        self.addCleanup(self.port.stopListening)
        self.opener = RemoteMaildropOpener(reactor, self.socket, run_inline)
        self.user = MailUser(ALICE, self.maildir)

    def deliver(self, *bodies: bytes) -> None:
        for n, body in enumerate(bodies):
            deliver_blocking(self.maildir, f"17000000{n:02}.M0Q{n}R0.host", [body])

    async def open_when_free(self) -> Any:
        """The server notices a closed connection a moment later."""
        for _ in range(100):
            try:
                return await self.opener.open_maildrop(self.user)
            except MaildropInUse:
                await task.deferLater(reactor, 0.02, lambda: None)
        raise AssertionError("the maildrop stayed locked")

    async def test_the_snapshot_is_the_store_s(self) -> None:
        self.deliver(b"Subject: one\n\nbody\n", b"x\n")
        verifyObject(IMaildropOpener, self.opener)
        drop = await self.opener.open_maildrop(self.user)
        verifyObject(IMaildrop, drop)
        with self.assertRaises(MaildropInUse):  # the worker's session holds the one lock
            await self.store.open_maildrop(MailUser(ALICE, self.maildir))
        folder = self.store.folder(self.maildir)
        uids = [r.uid for r in folder.messages()]
        assert [m.size for m in drop.messages] == [22, 3]
        assert [m.uidl for m in drop.messages] == [
            f"{uid:08x}{folder.header.uidvalidity:08x}" for uid in uids
        ]
        assert drop.retrieve_nowait(0) == b"Subject: one\r\n\r\nbody\r\n"
        assert await drop.retrieve(1) == b"x\r\n"
        drop.release()
        (await self.open_when_free()).release()

    async def test_commit_deletes_marks_seen_and_unlocks(self) -> None:
        self.deliver(b"one\n", b"two\n", b"three\n")
        drop = await self.opener.open_maildrop(self.user)
        kept = drop.messages[1].uidl
        await drop.commit(frozenset({0, 2}), frozenset({0, 1}))
        names = os.listdir(self.maildir / "cur")
        assert len(names) == 1 and names[0].endswith(":2,S")
        again = await self.open_when_free()
        assert [m.uidl for m in again.messages] == [kept]
        assert again.retrieve_nowait(0) == b"two\r\n"
        again.release()

    async def test_a_second_session_is_refused_until_the_first_goes(self) -> None:
        self.deliver(b"one\n")
        first = await self.opener.open_maildrop(self.user)
        with self.assertRaises(MaildropInUse):
            await self.opener.open_maildrop(self.user)
        first.release()
        (await self.open_when_free()).release()

    async def test_a_message_renamed_by_a_flag_change_is_still_read(self) -> None:
        self.deliver(b"one\n", b"two\n")
        drop = await self.opener.open_maildrop(self.user)
        folder = self.store.folder(self.maildir)
        first = folder.messages()[0].uid
        with folder.lock:
            folder.set_flags([first], lambda flags: flags | {"\\Flagged"})
        assert any(name.endswith(":2,F") for name in os.listdir(self.maildir / "cur"))
        assert drop.retrieve_nowait(0) == b"one\r\n"
        assert await drop.retrieve(0) == b"one\r\n"
        drop.release()

    async def test_a_message_expunged_meanwhile_cannot_be_read(self) -> None:
        self.deliver(b"one\n")
        drop = await self.opener.open_maildrop(self.user)
        folder = self.store.folder(self.maildir)
        with folder.lock:
            folder.expunge([folder.messages()[0].uid])
        assert drop.retrieve_nowait(0) is None
        with self.assertRaises(FileNotFoundError):
            await drop.retrieve(0)
        drop.release()

    async def test_no_store_is_an_os_error(self) -> None:
        opener = RemoteMaildropOpener(reactor, self.socket + ".absent", run_inline)
        with self.assertRaises(StoreUnavailable) as caught:
            await opener.open_maildrop(self.user)
        assert isinstance(caught.exception, OSError)

    async def refused(self, *frames: bytes) -> dict[str, Any]:
        raw = Raw()
        await connectProtocol(UNIXClientEndpoint(reactor, self.socket), raw)
        for frame in frames:
            raw.send(frame)
        data = await raw.closed  # the server hangs up after the error
        (length,) = struct.unpack("!I", data[:4])
        reply = json.loads(data[4 : 4 + length])
        assert isinstance(reply, dict)
        return reply

    async def test_bad_requests_get_an_error_and_the_door(self) -> None:
        early = await self.refused(b'{"op":"commit","deleted":[0]}\n')
        assert early == {
            "ok": False,
            "error": "bad request: 'commit' is not expected now (maildrop new)",
        }
        escape = await self.refused(b'{"op":"open","user":"a/b@example.test"}\n')
        assert escape["ok"] is False and "a/b" in escape["error"]
        garbage = await self.refused(b"\x00\xff not json\n")
        assert garbage["ok"] is False and "JSON" in garbage["error"]

    async def test_indexes_outside_the_snapshot_are_refused_and_nothing_changes(self) -> None:
        self.deliver(b"one\n")
        raw = Raw()
        await connectProtocol(UNIXClientEndpoint(reactor, self.socket), raw)
        raw.send(b'{"op":"open","user":"alice@example.test"}\n')
        raw.send(b'{"op":"commit","deleted":[5]}\n')
        data = await raw.closed
        replies = []
        while data:
            (length,) = struct.unpack("!I", data[:4])
            replies.append(json.loads(data[4 : 4 + length]))
            data = data[4 + length :]
        assert replies[0]["ok"] is True
        assert replies[1] == {
            "ok": False,
            "error": "bad request: expected message indexes below 1",
        }
        assert len(os.listdir(self.maildir / "cur")) == 1
        (await self.open_when_free()).release()  # and the lock went with the connection


def test_read_message_follows_a_rename(tmp_path: Path) -> None:
    (tmp_path / "cur").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "cur" / "1700.M1.host,S=3:2,FS").write_bytes(b"abc")
    assert read_message(str(tmp_path), "cur/1700.M1.host,S=3:2,") == b"abc"
    assert read_message(str(tmp_path), "cur/1700.M1.host,S=3:2,FS") == b"abc"
    try:
        read_message(str(tmp_path), "cur/1700.M2.host,S=3:2,")
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("a missing message was found")
