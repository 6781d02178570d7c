"""POP3 maildrops for worker processes, over a Unix socket to the main process.

With ``[pop3] workers``, POP3 sessions also run in worker processes
(:mod:`gateway.pop3.worker`), while the main process stays the only one that
writes the mail store's indexes: there is one
:class:`~gateway.store.folder.Folder` per directory in a process, and that is
what keeps UIDs and flags consistent. A worker's session opens its maildrop
here, one connection per POP3 session, and the RFC 1939 4 maildrop lock
lives exactly as long as that connection: a session or a worker that dies
releases it.

Frames are the control socket's (:mod:`gateway.control`: 32-bit length, a
JSON header, a newline). Requests and replies:

- ``{"op": "open", "user": "<address>"}`` → ``{"ok": true, "messages":
  [[uidl, size, "cur/<file name>"], ...]}``, or ``{"ok": false, "error":
  "...", "in_use": true}`` when another POP3 session holds it;
- ``{"op": "commit", "deleted": [index, ...], "retrieved": [index, ...]}``
  (RFC 1939 6 UPDATE) → ``{"ok": true}`` or ``{"ok": false, "error": ...}``;
  the lock is released either way.

The worker reads message files itself: a message file never changes once
written, a flag change only renames it, so a file not found under its
snapshot name is looked up again by its base name (:func:`read_message`).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.internet.error import ConnectError
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import Int32StringReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.auth.realm import MailUser
from gateway.control import ControlError, decode_request, encode_reply, encode_request
from gateway.envelope import Address, AddressError
from gateway.interfaces import IMaildrop, IMaildropOpener, IMailUser, MaildropInUse
from gateway.store.filenames import BadName, parse_name, to_crlf
from gateway.store.maildir import maildir_path
from gateway.store.mailstore import INLINE_READ, Maildrop, MailStore
from gateway.store.pop3view import MaildropMessage

log = Logger()

#: Largest frame either side accepts: an open reply lists every message of
#: the INBOX (about 100 bytes each).
MAX_FRAME = 64 * 1024 * 1024


class StoreUnavailable(OSError):
    """The main process's store could not be reached or answered an error."""


# -- the main process's side ---------------------------------------------------------


class MaildropServer(Int32StringReceiver):
    """One worker POP3 session's maildrop, held for this connection."""

    MAX_LENGTH = MAX_FRAME

    def __init__(self, store: MailStore, mail_dir: Path) -> None:
        self.store = store
        self.mail_dir = mail_dir
        self.maildrop: Maildrop | None = None
        self.state = "new"  # -> opening -> open -> done
        self.gone = False

    def stringReceived(self, frame: bytes) -> None:
        try:
            header, _payload = decode_request(frame)
            op = header["op"]
            if op == "open" and self.state == "new":
                self._open(header)
            elif op == "commit" and self.state == "open":
                self._commit(header)
            else:
                raise ControlError(f"{op!r} is not expected now (maildrop {self.state})")
        except (ControlError, AddressError, ValueError, TypeError, KeyError) as e:
            self._reply(False, error=f"bad request: {e}")
            if self.transport is not None:
                self.transport.loseConnection()

    def _open(self, header: dict[str, Any]) -> None:
        address = Address.parse(str(header["user"]))
        user = MailUser(address, maildir_path(self.mail_dir, address))
        self.state = "opening"
        d: Deferred[Any] = self.store.open_maildrop(user)
        d.addCallbacks(self._opened, self._not_opened)

    def _opened(self, maildrop: Any) -> None:
        assert isinstance(maildrop, Maildrop)
        if self.gone:  # the session ended while the store was opening
            maildrop.release()
            return
        self.maildrop = maildrop
        self.state = "open"
        messages = [
            [m.uidl, m.size, name]
            for m, name in zip(maildrop.messages, maildrop.files, strict=True)
        ]
        self._reply(True, messages=messages)

    def _not_opened(self, failure: Failure) -> None:
        self.state = "done"
        if failure.check(MaildropInUse):
            self._reply(False, error=str(failure.value), in_use=True)
        else:
            log.failure("pop3 worker: cannot open a maildrop", failure)
            self._reply(False, error=f"cannot open the maildrop: {failure.value}")

    def _commit(self, header: dict[str, Any]) -> None:
        assert self.maildrop is not None
        count = len(self.maildrop.messages)
        deleted = _indexes(header.get("deleted", []), count)
        retrieved = _indexes(header.get("retrieved", []), count)
        maildrop, self.maildrop = self.maildrop, None
        self.state = "done"
        d = maildrop.commit(deleted, retrieved)
        d.addCallbacks(
            lambda _: self._reply(True),
            lambda failure: self._reply(False, error=f"update failed: {failure.value}"),
        )

    def _reply(self, ok: bool, **fields: Any) -> None:
        if not self.gone:
            self.sendString(encode_reply(ok, **fields))  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.gone = True
        if self.maildrop is not None:  # no UPDATE: nothing changes (RFC 1939 6)
            self.maildrop.release()
            self.maildrop = None


def _indexes(value: object, count: int) -> frozenset[int]:
    if not isinstance(value, list) or not all(
        isinstance(i, int) and 0 <= i < count for i in value
    ):
        raise ValueError(f"expected message indexes below {count}")
    return frozenset(value)


class MaildropServerFactory(Factory):
    """Builds :class:`MaildropServer` protocols for the ``maildrop`` socket."""

    noisy = False

    def __init__(self, store: MailStore, mail_dir: Path) -> None:
        self.store = store
        self.mail_dir = mail_dir

    def buildProtocol(self, addr: object) -> MaildropServer:
        return MaildropServer(self.store, self.mail_dir)


# -- the worker's side ---------------------------------------------------------------


class MaildropClient(Int32StringReceiver):
    """Requests in order, each answered by one reply."""

    MAX_LENGTH = MAX_FRAME

    def __init__(self) -> None:
        self._waiting: deque[Deferred[dict[str, Any]]] = deque()
        self._lost = False

    def request(self, header: dict[str, Any]) -> Deferred[dict[str, Any]]:
        if self._lost:
            return fail(StoreUnavailable("connection to the store lost"))
        d: Deferred[dict[str, Any]] = Deferred()
        self._waiting.append(d)
        self.sendString(encode_request(header))  # type: ignore[no-untyped-call]
        return d

    def stringReceived(self, frame: bytes) -> None:
        if not self._waiting:
            log.error("pop3 worker: unexpected reply from the store")
            return
        d = self._waiting.popleft()
        try:
            reply = json.loads(frame)
            if not isinstance(reply, dict):
                raise ValueError("not an object")
        except ValueError as e:
            d.errback(StoreUnavailable(f"bad reply from the store: {e}"))
            return
        d.callback(reply)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._lost = True
        while self._waiting:
            self._waiting.popleft().errback(StoreUnavailable("connection to the store lost"))


#: ``run(function, *args)`` in a thread: a Deferred of its result.
Run = Callable[..., "Deferred[Any]"]


@implementer(IMaildropOpener)
class RemoteMaildropOpener:
    """Opens maildrops through the main process's ``maildrop`` socket."""

    def __init__(self, reactor: Any, socket_path: str, run: Run) -> None:
        self.reactor = reactor
        self.socket_path = socket_path
        self.run = run

    def open_maildrop(self, user: IMailUser) -> Deferred[IMaildrop]:
        endpoint = UNIXClientEndpoint(self.reactor, self.socket_path, timeout=30)
        connecting: Deferred[MaildropClient] = connectProtocol(endpoint, MaildropClient())

        def unreachable(failure: Failure) -> Failure:
            if failure.check(ConnectError, OSError):
                raise StoreUnavailable(f"store not reachable: {failure.value}")
            return failure

        async def open_it() -> IMaildrop:
            client = await connecting.addErrback(unreachable)
            try:
                reply = await client.request({"op": "open", "user": str(user.address)})
            except BaseException:
                client.close()
                raise
            if not reply.get("ok"):
                client.close()
                text = str(reply.get("error", "refused"))
                if reply.get("in_use"):
                    raise MaildropInUse(text)
                raise StoreUnavailable(text)
            try:
                messages = tuple(
                    (MaildropMessage(str(uidl), int(size)), str(name))
                    for uidl, size, name in reply["messages"]
                )
            except (KeyError, TypeError, ValueError) as e:
                client.close()
                raise StoreUnavailable(f"bad listing from the store: {e}") from None
            return RemoteMaildrop(client, os.fspath(user.maildir), messages, self.run)

        return Deferred.fromCoroutine(open_it())


@implementer(IMaildrop)
class RemoteMaildrop:
    """A worker session's snapshot; the lock is the connection."""

    def __init__(
        self,
        client: MaildropClient,
        maildir: str,
        messages: tuple[tuple[MaildropMessage, str], ...],
        run: Run,
    ) -> None:
        self._client = client
        self._maildir = maildir
        self.messages = tuple(m for m, _ in messages)
        self._files = tuple(name for _, name in messages)
        self._run = run
        self._released = False

    def retrieve_nowait(self, index: int) -> bytes | None:
        if self.messages[index].size > INLINE_READ:
            return None
        try:
            return to_crlf(read_message(self._maildir, self._files[index]))
        except FileNotFoundError:
            return None

    def retrieve(self, index: int) -> Deferred[bytes]:
        maildir, name = self._maildir, self._files[index]
        d: Deferred[bytes] = self._run(lambda: to_crlf(read_message(maildir, name)))
        return d

    def commit(self, deleted: frozenset[int], retrieved: frozenset[int]) -> Deferred[None]:
        if self._released:
            return succeed(None)
        self._released = True
        d = self._client.request(
            {"op": "commit", "deleted": sorted(deleted), "retrieved": sorted(retrieved)}
        )

        def done(reply: dict[str, Any]) -> None:
            self._client.close()
            if not reply.get("ok"):
                raise StoreUnavailable(str(reply.get("error", "update failed")))

        def lost(failure: Failure) -> Failure:
            self._client.close()
            return failure

        return d.addCallbacks(done, lost)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._client.close()


def read_message(maildir: str, name: str) -> bytes:
    """The file ``name`` ("cur/<file name>") of ``maildir``, or, renamed
    since by a flag change, the file in ``cur/`` with the same base name.
    :class:`FileNotFoundError` if it is gone (expunged)."""
    try:
        with open(f"{maildir}/{name}", "rb", buffering=0) as f:
            return f.readall()
    except FileNotFoundError:
        pass
    file_name = name.rpartition("/")[2]
    try:
        base = parse_name(file_name).base
    except BadName:
        raise FileNotFoundError(name) from None
    for sub in ("cur", "new"):
        with os.scandir(f"{maildir}/{sub}") as entries:
            for entry in entries:
                if entry.name == base or entry.name.startswith(base + ":"):
                    with open(entry.path, "rb", buffering=0) as f:
                        return f.readall()
    raise FileNotFoundError(name)
