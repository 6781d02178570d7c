"""Local delivery in a process of its own (``[delivery] process = true``).

Writing a message into a Maildir is a handful of system calls and two
fsyncs. Done by threads of the main process, every one of those calls gives
the interpreter lock back and waits to take it again while the reactor
thread is busy with SMTP; measured in the SMTP ingest benchmark: 29
voluntary context switches and 0.69 ms of system time per message, against
10 and 0.46 ms when the same writes ran in the reactor thread (which must
not wait for fsyncs). In a process of its own the writes use another CPU and
the main process only hands each message over a pipe.

:class:`DeliveryProcess` is the main process's :class:`ILocalStore`; it runs
``python -m gateway.store.deliverer`` (one worker of a
:class:`~gateway.workers.WorkerPool`: restarted if it dies, its log relayed)
and talks to it over two pipes, the worker's fd 3 (requests) and fd 4
(replies), in control-socket frames (:mod:`gateway.control`: 32-bit
length, a JSON header, a newline, the payload):

- request ``{"op": "deliver", "id": N, "user": ADDRESS, "unique": NAME,
  "check_cur": BOOL, "folder": NAME, "split": LEN}`` + prefix + content
  (``split`` is the length of the prefix);
- ``{"op": "forget", "maildir": PATH}``: mail was removed there (the
  process's quota checker counts it again); no reply;
- reply ``{"ok": true, "id": N, "path": PATH}`` or ``{"ok": false, "id": N,
  "error": TEXT}``, with ``"gateway": {...}`` for a
  :class:`~gateway.errors.GatewayError` (over quota: 452 4.2.2).

The worker writes each batch of what has arrived with
:func:`gateway.store.maildir.write_batch`, as the threads do. A request in
flight when the worker dies is sent again to the next one (delivery is
idempotent by its unique name), once; a second death fails it (the queue
retries it later).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.control import decode_request, encode_reply, encode_request
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.interfaces import ILocalStore
from gateway.store.filenames import parse_name
from gateway.store.folders import INBOX
from gateway.store.maildir import maildir_path
from gateway.store.quota import QuotaChecker
from gateway.workers import WorkerPool, log_to_parent

log = Logger(namespace="gateway.store.deliverer")  # also when run as __main__

REQUESTS = 3  # the worker's fd it reads requests from
REPLIES = 4  # the worker's fd it writes replies to
_LENGTH = struct.Struct("!I")
#: Most requests written as one batch.
BATCH = 64


def frame(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


def split_frames(buffer: bytes, limit: int) -> tuple[list[bytes], bytes]:
    """The complete frames at the start of ``buffer`` and the rest. A frame
    longer than ``limit`` is a :class:`ValueError` (the peer is broken)."""
    frames = []
    offset = 0
    while len(buffer) - offset >= _LENGTH.size:
        (length,) = _LENGTH.unpack_from(buffer, offset)
        if length > limit:
            raise ValueError(f"frame of {length} bytes (limit {limit})")
        end = offset + _LENGTH.size + length
        if end > len(buffer):
            break
        frames.append(buffer[offset + _LENGTH.size : end])
        offset = end
    return frames, buffer[offset:]


# -- the main process's side ---------------------------------------------------------


@dataclass(slots=True)
class _Request:
    deferred: Deferred[str]
    data: bytes  # the framed request, kept to send it again
    user: Address
    sent: int = 0


@implementer(ILocalStore)
class DeliveryProcess:
    """:class:`ILocalStore` handing deliveries to the delivery process; its
    :attr:`pool` is the service that runs the process (stopped after the
    bus, which waits for the deliveries it started)."""

    def __init__(
        self,
        config: Path,
        reactor: Any,
        max_frame: int,
        delivered: Callable[[Path], None] | None = None,
        quota: QuotaChecker | None = None,
        mail_dir: Path | None = None,
    ) -> None:
        """``delivered(folder)`` is told of each folder that received mail
        (IMAP IDLE); ``quota``, the main process's checker (SMTP RCPT),
        counts what the process delivered into ``mail_dir``'s Maildirs."""
        self.max_frame = max_frame
        self.delivered = delivered
        self.quota = quota
        self.mail_dir = mail_dir
        self._ids = itertools.count(1)
        self._pending: dict[int, _Request] = {}
        self._unsent: list[int] = []
        self._replies = b""
        self.pool = WorkerPool(
            "delivery",
            1,
            "gateway.store.deliverer",
            ["--config", str(config)],
            dict,
            reactor,
            alive=self._alive,
            pipes={REQUESTS: "w", REPLIES: "r"},
            received=self._received,
            ended=self._ended,
        )

    def deliver(
        self,
        user: Address,
        content: bytes,
        prefix: bytes,
        unique: str,
        check_cur: bool = False,
        folder: str = INBOX,
    ) -> Deferred[str]:
        number = next(self._ids)
        header = {
            "op": "deliver",
            "id": number,
            "user": str(user),
            "unique": unique,
            "check_cur": check_cur,
            "folder": folder,
            "split": len(prefix),
        }
        request = _Request(Deferred(), frame(encode_request(header, prefix + content)), user)
        self._pending[number] = request
        self._unsent.append(number)
        self._send()
        return request.deferred

    def forget(self, maildir: Path) -> None:
        """Mail was removed from ``maildir``: the process's quota checker
        counts it again (as :meth:`QuotaChecker.forget`)."""
        worker = self.pool.workers.get(1)
        if worker is not None and worker.transport is not None:
            message = encode_request({"op": "forget", "maildir": str(maildir)})
            worker.transport.writeToChild(REQUESTS, frame(message))

    def _send(self) -> None:
        worker = self.pool.workers.get(1)
        if worker is None or worker.transport is None:
            return  # sent when one runs (_alive)
        unsent, self._unsent = self._unsent, []
        for number in unsent:
            request = self._pending.get(number)
            if request is not None:
                request.sent += 1
                worker.transport.writeToChild(REQUESTS, request.data)

    def _alive(self, workers: int) -> None:
        if workers:
            self._send()

    def _ended(self, worker: Any, reason: Failure) -> None:
        """Requests the dead worker had are sent again to the next (once)."""
        self._replies = b""
        for number, request in list(self._pending.items()):
            if number in self._unsent:
                continue
            if request.sent >= 2:  # it died twice with this one: give up on it
                del self._pending[number]
                request.deferred.errback(OSError(f"delivery process died: {reason.value}"))
            else:
                self._unsent.append(number)

    def _received(self, worker: Any, fd: int, data: bytes) -> None:
        try:
            replies, self._replies = split_frames(self._replies + data, self.max_frame)
        except ValueError as e:
            log.error("delivery process: bad reply ({error}); restarting it", error=e)
            worker.transport.signalProcess("KILL")
            return
        for reply in replies:
            try:
                self._answer(json.loads(reply))
            except (ValueError, KeyError, TypeError) as e:
                log.error("delivery process: bad reply {reply!r}: {error}", reply=reply, error=e)

    def _answer(self, reply: dict[str, Any]) -> None:
        request = self._pending.pop(int(reply["id"]), None)
        if request is None:
            return
        if reply.get("ok"):
            path = Path(str(reply["path"]))
            if self.delivered is not None:
                self.delivered(path.parent.parent)
            if self.quota is not None and self.mail_dir is not None:
                size = parse_name(path.name).size
                self.quota.added(maildir_path(self.mail_dir, request.user), size or 0)
            request.deferred.callback(str(path))
        elif reply.get("gateway"):
            request.deferred.errback(GatewayError.from_json(reply["gateway"]))
        else:
            request.deferred.errback(OSError(str(reply["error"])))


# -- the delivery process ------------------------------------------------------------


def serve(
    requests: int,
    replies: int,
    write: Callable[[list[Any]], list[Any]],
    limit: int,
    forget: Callable[[Path], None] = lambda maildir: None,
) -> None:
    """Read requests from the fd ``requests`` until its end, write each
    batch with ``write`` and answer on the fd ``replies``; ``forget`` gets
    the Maildirs the main process removed mail from (no answer)."""
    from gateway.store.maildir import _Delivery

    buffer = b""
    while True:
        data = os.read(requests, 1 << 20)
        if not data:
            return
        frames, buffer = split_frames(buffer + data, limit)
        for start in range(0, len(frames), BATCH):
            jobs = []
            for raw in frames[start : start + BATCH]:
                header, payload = decode_request(raw)
                if header["op"] == "forget":
                    forget(Path(str(header["maildir"])))
                    continue
                split = int(header["split"])
                job = _Delivery(
                    Address.parse(str(header["user"])),
                    (payload[:split], payload[split:]),
                    str(header["unique"]),
                    bool(header["check_cur"]),
                    None,
                    str(header["folder"]),
                )
                jobs.append((int(header["id"]), job))
            if not jobs:
                continue
            results = write([job for _, job in jobs])
            out = b"".join(
                frame(_reply(number, outcome))
                for (number, _), (_, outcome) in zip(jobs, results, strict=True)
            )
            _write_all(replies, out)


def _reply(number: int, outcome: str | Failure) -> bytes:
    if isinstance(outcome, str):
        return encode_reply(True, id=number, path=outcome)
    error = outcome.value
    if isinstance(error, GatewayError):  # over quota: 452 4.2.2
        return encode_reply(False, id=number, error=str(error), gateway=error.to_json())
    return encode_reply(False, id=number, error=f"{type(error).__name__}: {error}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway.store.deliverer")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--name", default="delivery")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from gateway.config import load
    from gateway.fsutil import DirectorySyncer
    from gateway.store.maildir import write_batch
    from gateway.store.quota import Quota, QuotaChecker, limits_from
    from gateway.store.users import UserFile

    settings = load(args.config)
    log_to_parent(settings.log_level)
    d = settings.delivery
    quota = QuotaChecker(
        limits_from(UserFile(settings.users_file), Quota(d.quota_storage, d.quota_messages))
    )
    syncer = DirectorySyncer()

    def write(jobs: list[Any]) -> list[Any]:
        return write_batch(settings.mail_dir, jobs, syncer, quota)

    log.info("delivering into {mail_dir}", mail_dir=str(settings.mail_dir))
    limit = settings.limits.max_message_size + (1 << 20)
    serve(REQUESTS, REPLIES, write, limit, quota.forget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
