"""The maildrop directory: mail injected while the daemon may be stopped.

Like Postfix's ``maildrop`` queue, ``mailgateway sendmail`` writes each
message as one file into the drop directory (``tmp/`` then rename, with
fsyncs, so a visible file is always complete and durable), and the running
daemon's :class:`MaildropPickup` submits the files to the bus and removes
them.

File format (version 1)::

    MGDROP1 <content-length> <crc32-hex> <envelope-json>\\n<content>

The CRC-32 covers the JSON and the content, so truncation or corruption is
detected. The JSON is compact and ASCII-only, hence on one line.

Pickup is **at-least-once**: a crash after ``bus.submit`` succeeded but
before the file was unlinked submits the message again at the next start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.envelope import Envelope
from gateway.fsutil import durable_write, fsync_directory
from gateway.polling import PollingService

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from gateway.interfaces import IMessageBus

MAGIC = b"MGDROP1"
MAX_HEADER_LINE = 1 << 20  # an envelope larger than 1 MiB is not plausible
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_SUBDIRS = frozenset({"tmp", "corrupt"})


class MaildropError(ValueError):
    """A maildrop file that is malformed, truncated or corrupt."""


def encode_drop(envelope: Envelope, content: bytes) -> bytes:
    """Serialise ``envelope`` and ``content`` into one maildrop file body."""
    meta = json.dumps(envelope.to_json(), separators=(",", ":"), ensure_ascii=True).encode()
    crc = zlib.crc32(content, zlib.crc32(meta))
    return b"%s %d %08x %s\n%s" % (MAGIC, len(content), crc, meta, content)


def decode_drop(data: bytes) -> tuple[Envelope, bytes]:
    """Parse a maildrop file body; raise :class:`MaildropError` if malformed."""
    end = data.find(b"\n", 0, MAX_HEADER_LINE)
    if end < 0:
        raise MaildropError("no header line (truncated or not a maildrop file)")
    fields = data[:end].split(b" ", 3)
    if len(fields) != 4 or fields[0] != MAGIC:
        raise MaildropError("bad header line (not a version 1 maildrop file)")
    _, length_text, crc_text, meta = fields
    if not length_text.isdigit() or len(crc_text) != 8:
        raise MaildropError("bad length or checksum field")
    try:
        crc = int(crc_text, 16)
    except ValueError:
        raise MaildropError("bad checksum field") from None
    length = int(length_text)
    content = data[end + 1 :]
    if len(content) != length:
        raise MaildropError(f"content is {len(content)} bytes, header says {length} (truncated?)")
    if zlib.crc32(content, zlib.crc32(meta)) != crc:
        raise MaildropError("checksum mismatch (corrupt file)")
    try:
        obj: Any = json.loads(meta)
    except (ValueError, RecursionError) as e:
        raise MaildropError(f"bad envelope JSON: {e}") from None
    if not isinstance(obj, dict):
        raise MaildropError("envelope JSON is not an object")
    try:
        envelope = Envelope.from_json(obj)
    except Exception as e:  # any shape error in untrusted JSON
        raise MaildropError(f"bad envelope: {e!r}") from None
    return envelope, content


def _unique() -> str:
    return f"{time.time_ns()}.{os.getpid()}.{secrets.token_hex(6)}"


def write_drop(maildrop_dir: Path, envelope: Envelope, content: bytes) -> Path:
    """Write a message into ``maildrop_dir`` durably and return its path.

    Writes ``tmp/<unique>``, fsyncs it, renames it to ``<unique>`` and fsyncs
    the directory. Raises :class:`OSError`; leaves no file behind on failure.
    """
    tmp_dir = maildrop_dir / "tmp"
    tmp_dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    name = _unique()
    tmp = tmp_dir / name
    final = maildrop_dir / name
    durable_write(
        tmp, final, (encode_drop(envelope, content),), _FILE_MODE, exclusive=True, replace=False
    )
    return final


def drop_qid(name: str) -> str:
    """The queue id for a drop file: derived from its name, so that a file
    submitted just before a crash (and so not yet removed) is recognised by
    the bus and not queued a second time at the next start."""
    return "D" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()


class MaildropPickup(PollingService):
    """Submits maildrop files to the bus, on start and every ``interval``.

    Each file is submitted once at a time (never twice concurrently) with at
    most ``max_in_flight`` submissions pending; it is unlinked (and the
    directory fsynced) only after the bus accepted it, so a failed submit
    leaves it for the next scan. Files that do not decode move to
    ``corrupt/``. Delivery to the bus is at-least-once (see module doc).

    The directory work is small and synchronous in the reactor thread: this
    is the low-volume local injection path.
    """

    log = Logger()
    what = "maildrop pickup"

    def __init__(
        self,
        maildrop_dir: Path,
        bus: IMessageBus,
        clock: IReactorTime,
        interval: float = 1.0,
        max_in_flight: int = 16,
        sign: Callable[[bytes], defer.Deferred[bytes]] | None = None,
    ) -> None:
        """``sign``: gives a message back DKIM-signed when its From domain
        is ours (gateway.authn.signer), as submission does for SMTP; a
        Deferred, since hashing a large message belongs in a thread."""
        super().__init__(clock, interval, max_in_flight)
        self.maildrop_dir = maildrop_dir
        self.bus = bus
        self.sign = sign

    def scan(self) -> None:
        """One pass over the drop directory. Never raises (logs instead)."""
        try:
            self._scan()
        except Exception:
            self.log.failure("maildrop scan of {dir} failed", dir=str(self.maildrop_dir))

    def _scan(self) -> None:
        try:
            with os.scandir(self.maildrop_dir) as it:
                names = sorted(
                    e.name
                    for e in it
                    if e.name not in _SUBDIRS
                    and not e.name.startswith(".")
                    and e.is_file(follow_symlinks=False)
                )
        except FileNotFoundError:
            return
        for name in names:
            if len(self._in_flight) >= self.max_in_flight:
                break
            if name not in self._in_flight:
                self._pick(name)

    def _pick(self, name: str) -> None:
        path = self.maildrop_dir / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return  # taken away meanwhile
        except OSError as e:
            self.log.error("maildrop {file}: cannot read: {error}", file=str(path), error=e)
            return
        try:
            envelope, content = decode_drop(data)
        except MaildropError as e:
            self._quarantine(path, str(e))
            return
        qid = drop_qid(name)
        d: defer.Deferred[Any]
        if self.sign is None:
            d = defer.maybeDeferred(self.bus.submit, envelope, content, qid)
        else:
            d = self.sign(content).addCallback(
                lambda signed: self.bus.submit(envelope, signed, qid)
            )
        self._in_flight[name] = d  # before callbacks: submit may fire synchronously
        d.addCallbacks(self._submitted, self._failed, callbackArgs=(path,), errbackArgs=(path,))
        d.addBoth(self._settled, name)

    def _submitted(self, qid: str, path: Path) -> None:
        try:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            fsync_directory(self.maildrop_dir)
        except OSError as e:
            self.log.error(
                "maildrop {file} queued as {qid} but not removed (may be submitted again): "
                "{error}",
                file=str(path),
                qid=qid,
                error=e,
            )
            return
        self.log.info("maildrop {file} queued as {qid}", file=path.name, qid=qid)

    def _failed(self, failure: Failure, path: Path) -> None:
        self.log.warn(
            "maildrop {file}: submit failed, will retry: {error}",
            file=path.name,
            error=failure.getErrorMessage(),
        )

    def _settled(self, result: object, name: str) -> None:
        self._in_flight.pop(name, None)
        if isinstance(result, Failure):  # pragma: no cover - callbacks catch all
            self.log.failure("maildrop {file}: unexpected error", result, file=name)

    def _quarantine(self, path: Path, reason: str) -> None:
        corrupt = self.maildrop_dir / "corrupt"
        try:
            corrupt.mkdir(mode=_DIR_MODE, exist_ok=True)
            os.replace(path, corrupt / path.name)
            fsync_directory(corrupt)
            fsync_directory(self.maildrop_dir)
        except OSError as e:
            self.log.error(
                "maildrop {file}: corrupt ({reason}) and cannot be moved aside: {error}",
                file=str(path),
                reason=reason,
                error=e,
            )
            return
        self.log.error(
            "maildrop {file}: corrupt, moved to {dest}: {reason}",
            file=str(path),
            dest=str(corrupt / path.name),
            reason=reason,
        )
