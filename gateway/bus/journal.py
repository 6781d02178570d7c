"""The queue journal: append-only segment files of framed records.

Every submission and every state change is a record appended to the active
segment; one fsync makes a whole batch of records durable (group commit).
A record is framed so that a torn tail (a crash in the middle of a write) is
detected and cut off at recovery::

    magic "MG" | kind (1 byte) | payload length (4 bytes, big endian)
    | CRC-32 of kind+payload (4 bytes) | payload

Kinds: ``M`` a message (qid, envelope JSON, content), ``E`` an event (JSON).
The framing functions are pure; :class:`Journal` owns the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.fsutil import fsync_directory

MAGIC = b"MG"
_HEADER = struct.Struct(">2scII")
HEADER_SIZE = _HEADER.size
KIND_MESSAGE = b"M"
KIND_EVENT = b"E"
MAX_RECORD = 1 << 31  # a record longer than this is corruption, not data
SEGMENT_SUFFIX = ".seg"


class JournalError(ValueError):
    """A record that cannot be decoded."""


def frame(kind: bytes, payload: bytes) -> bytes:
    """One framed record."""
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return _HEADER.pack(MAGIC, kind, len(payload), crc) + payload


def message_record(qid: str, envelope: dict[str, Any], content: bytes) -> tuple[bytes, int]:
    """A message record, and the offset of the content inside it."""
    qid_b = qid.encode("ascii")
    env_b = json.dumps(envelope, separators=(",", ":")).encode()
    head = struct.pack(">B", len(qid_b)) + qid_b + struct.pack(">I", len(env_b)) + env_b
    return frame(KIND_MESSAGE, head + content), HEADER_SIZE + len(head)


def event_record(event: dict[str, Any]) -> bytes:
    return frame(KIND_EVENT, json.dumps(event, separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class MessageRecord:
    qid: str
    envelope: dict[str, Any]
    content_offset: int  # absolute offset of the content in the segment
    content_length: int


def decode_message(payload: bytes, payload_offset: int) -> MessageRecord:
    try:
        qlen = payload[0]
        qid = payload[1 : 1 + qlen].decode("ascii")
        (elen,) = struct.unpack_from(">I", payload, 1 + qlen)
        start = 5 + qlen
        envelope = json.loads(payload[start : start + elen])
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as e:
        raise JournalError(f"bad message record: {e}") from e
    if not isinstance(envelope, dict) or start + elen > len(payload):
        raise JournalError("bad message record: envelope")
    body = start + elen
    return MessageRecord(qid, envelope, payload_offset + body, len(payload) - body)


def decode_event(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError as e:
        raise JournalError(f"bad event record: {e}") from e
    if not isinstance(event, dict) or not isinstance(event.get("qid"), str):
        raise JournalError("bad event record: no qid")
    return event


def _record_at(view: memoryview, pos: int) -> tuple[bytes, bytes] | None:
    """The ``(kind, payload)`` of a whole, valid record at ``pos``, or None."""
    if pos + HEADER_SIZE > len(view):
        return None
    magic, kind, length, crc = _HEADER.unpack_from(view, pos)
    start = pos + HEADER_SIZE
    if magic != MAGIC or length >= MAX_RECORD or start + length > len(view):
        return None
    payload = bytes(view[start : start + length])
    if zlib.crc32(payload, zlib.crc32(kind)) != crc:
        return None
    return kind, payload


def iter_records(
    data: bytes | memoryview, damaged: list[tuple[int, int]] | None = None
) -> Iterator[tuple[int, bytes, bytes]]:
    """Yield ``(payload offset, kind, payload)`` of every valid record.

    A bad record followed by nothing valid is a torn tail (a crash in the
    middle of a write; never acknowledged, since nothing is acknowledged
    before its batch is fsynced): iteration ends there. A bad record
    followed by valid ones is damage (a bad sector, a stray write): the
    scan resynchronises on the next valid record, and the skipped range
    is appended to ``damaged`` so that recovery can say so loudly.
    """
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        found = _record_at(view, pos)
        if found is None:
            following = _resync(view, pos + 1)
            if following is None:
                return
            if damaged is not None:
                damaged.append((pos, following))
            pos = following
            continue
        kind, payload = found
        yield pos + HEADER_SIZE, kind, payload
        pos += HEADER_SIZE + len(payload)


def _resync(view: memoryview, pos: int) -> int | None:
    """The offset of the next valid record at or after ``pos``, if any."""
    data = view.obj if isinstance(view.obj, bytes) else bytes(view)
    while (pos := data.find(MAGIC, pos)) != -1:
        if _record_at(view, pos) is not None:
            return pos
        pos += 1
    return None


def valid_length(data: bytes | memoryview) -> int:
    """The end of the last valid record: what is after it is a torn tail."""
    end = 0
    for start, _kind, payload in iter_records(data):
        end = start + len(payload)
    return end


def segment_name(number: int) -> str:
    return f"{number:010d}{SEGMENT_SUFFIX}"


def segment_number(path: Path) -> int:
    return int(path.name[: -len(SEGMENT_SUFFIX)])


class Journal:
    """The segment files in one directory; appends go to the newest.

    Not thread-safe: the queue uses it from a single writer thread (or a
    single CLI process holding the queue lock).
    """

    def __init__(self, directory: Path, segment_size: int) -> None:
        self.directory = directory
        self.segment_size = segment_size
        directory.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self.active = 0
        self._size = 0

    def segments(self) -> list[int]:
        return sorted(segment_number(p) for p in self.directory.glob("*" + SEGMENT_SUFFIX))

    def path(self, number: int) -> Path:
        return self.directory / segment_name(number)

    def read_segment(self, number: int) -> bytes:
        return self.path(number).read_bytes()

    def open_for_append(self) -> None:
        """Open the newest segment for appending, cutting any torn tail."""
        numbers = self.segments()
        if not numbers:
            self._rotate(1)
            return
        self.active = numbers[-1]
        path = self.path(self.active)
        data = path.read_bytes()
        good = valid_length(data)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        if good != len(data):
            os.ftruncate(self._fd, good)
            os.fsync(self._fd)
        self._size = good

    def _rotate(self, number: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path(number), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_directory(self.directory)
        self.active = number
        self._size = 0

    def rotate_if_full(self) -> int | None:
        """Start a new segment when the active one is full; return the sealed one."""
        if self._size < self.segment_size:
            return None
        sealed = self.active
        self._rotate(sealed + 1)
        return sealed

    def append(self, records: list[bytes]) -> list[tuple[int, int]]:
        """Write and fsync ``records``; return ``(segment, offset)`` of each.

        On any error the segment is cut back to where it was, so a failed
        batch leaves no half record behind, and the error propagates.
        """
        assert self._fd is not None, "journal not open"
        start = self._size
        places = []
        data = bytearray()
        for record in records:
            places.append((self.active, start + len(data)))
            data += record
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fdatasync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            raise
        self._size = start + len(data)
        return places

    def delete(self, number: int) -> None:
        if number == self.active:
            raise ValueError("cannot delete the active segment")
        self.path(number).unlink(missing_ok=True)
        fsync_directory(self.directory)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
