"""The durable spool: journal segments plus event history, and recovery.

:class:`Spool` is synchronous; the daemon drives it from one writer thread
(:mod:`gateway.bus.writer`), and the admin CLI drives it directly while the
daemon is stopped. The ``lock`` file guarantees there is only one of them.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.bus import history, journal
from gateway.bus.state import MessageState, apply_event
from gateway.envelope import Envelope


class SpoolLocked(Exception):
    """Another process (the running daemon) owns the spool."""


@dataclass(slots=True)
class QueuedMessage:
    """A live message: its state and where its content lies."""

    state: MessageState
    segment: int
    offset: int
    length: int
    segments: set[int] = field(default_factory=set)  # every segment with a record of it
    recovered: bool = False
    busy: bool = False
    not_before: float = 0.0  # in memory only: back off after a broken attempt

    @property
    def qid(self) -> str:
        return self.state.qid


def message_meta(state: MessageState) -> dict[str, Any]:
    return {
        "envelope": state.envelope.to_json(),
        "accepted_at": state.accepted_at,
        "size": state.size,
        "message_id": state.message_id,
    }


def state_from_meta(qid: str, meta: dict[str, Any]) -> MessageState:
    return MessageState.new(
        qid,
        Envelope.from_json(meta["envelope"]),
        float(meta["accepted_at"]),
        int(meta["size"]),
        meta.get("message_id"),
    )


@dataclass(slots=True)
class Recovered:
    messages: dict[str, QueuedMessage]
    known: dict[int, set[str]]  # segment -> every qid whose message record is in it
    errors: list[str]


class Spool:
    """Journal segments and history under one queue directory."""

    def __init__(self, directory: Path, segment_size: int) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.journal = journal.Journal(directory / "journal", segment_size)
        self.history = history.HistoryLog(directory / "history")
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Take the spool lock, or raise :class:`SpoolLocked`."""
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise SpoolLocked(
                    f"the queue in {self.directory} is in use by another process "
                    "(is the daemon already running on this data directory?)"
                ) from e
            raise
        self._lock_fd = fd

    def recover(self) -> Recovered:
        """Replay every segment; cut a torn tail; open the journal for appends."""
        messages: dict[str, QueuedMessage] = {}
        known: dict[int, set[str]] = {}
        errors: list[str] = []
        for number in self.journal.segments():
            data = self.journal.read_segment(number)
            known[number] = set()
            damaged: list[tuple[int, int]] = []
            for start, kind, payload in journal.iter_records(data, damaged):
                try:
                    if kind == journal.KIND_MESSAGE:
                        record = journal.decode_message(payload, start)
                        known[number].add(record.qid)
                        # a later copy (relocation) replaces the earlier one
                        messages[record.qid] = QueuedMessage(
                            state_from_meta(record.qid, record.envelope),
                            number,
                            record.content_offset,
                            record.content_length,
                            {number},
                            recovered=True,
                        )
                    elif kind == journal.KIND_EVENT:
                        event = journal.decode_event(payload)
                        message = messages.get(event["qid"])
                        if message is not None:
                            apply_event(message.state, event)
                            message.segments.add(number)
                except (journal.JournalError, KeyError, ValueError, TypeError) as e:
                    errors.append(f"segment {number} offset {start}: {e}")
            errors.extend(
                f"segment {number}: damaged bytes {a}-{b} skipped (records after them kept)"
                for a, b in damaged
            )
        self.journal.open_for_append()
        live = {qid: m for qid, m in messages.items() if not m.state.finished}
        return Recovered(live, known, errors)

    def commit(
        self, records: list[bytes], lines: list[bytes], now: float
    ) -> tuple[list[tuple[int, int]], OSError | None]:
        """Append journal records, then history lines (one fsync each).

        The journal decides: once its records are durable the commit has
        succeeded, whatever happens to the history (a trace), so a caller is
        never told "not queued" about a message that a restart would
        deliver. A failed history write is returned for the caller to log.
        """
        places = self.journal.append(records) if records else []
        try:
            self.history.append(lines, now)
        except OSError as e:
            return places, e
        return places, None

    def read(self, segment: int, offset: int, length: int) -> bytes:
        fd = os.open(self.journal.path(segment), os.O_RDONLY)
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    def close(self) -> None:
        self.journal.close()
        self.history.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
