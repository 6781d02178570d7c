"""The event history that ``mailgateway track`` reads.

Every event of every message, one JSON object a line, in daily files
``history/YYYY-MM-DD.jsonl`` (UTC). The queue journal forgets a message once
it is finished; the history keeps its story for ``history_days``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gateway.fsutil import fsync_directory

SUFFIX = ".jsonl"


def day_of(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class HistoryLog:
    """Appends event lines to the file of the current day."""

    def __init__(
        self,
        directory: Path,
        sync_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.sync_interval = sync_interval
        self._clock = clock
        self._synced = -sync_interval
        directory.mkdir(parents=True, exist_ok=True)
        self._day: str | None = None
        self._fd: int | None = None

    def append(self, lines: list[bytes], now: float) -> None:
        """Append ``lines`` (called from the writer thread).

        The history is a trace, not the queue's state (the journal is): it
        is fdatasynced at most every ``sync_interval`` seconds and when
        closed, which halves the fsyncs of a commit. A killed process loses
        nothing (the page cache survives it); a power loss may lose the last
        second of trace, never a message.
        """
        if not lines:
            return
        day = day_of(now)
        if day != self._day or self._fd is None:
            self.close()
            path = self.directory / (day + SUFFIX)
            created = not path.exists()
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._day = day
            if created:
                fsync_directory(self.directory)
        data = b"".join(lines)
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if self._clock() - self._synced >= self.sync_interval:
                os.fdatasync(self._fd)
                self._synced = self._clock()
        except OSError:
            # cut a partial line, so the next append starts on a line of its own
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            raise

    def prune(self, now: float, keep_days: int) -> list[Path]:
        """Delete day files older than ``keep_days``; return what was deleted."""
        cutoff = day_of(now - keep_days * 86400)
        removed = []
        for path in sorted(self.directory.glob("*" + SUFFIX)):
            if path.stem < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fdatasync(self._fd)
            os.close(self._fd)
            self._fd = None


def read_events(directory: Path) -> Iterator[dict[str, Any]]:
    """Every event in the history, oldest day first; damaged lines are skipped."""
    for path in sorted(directory.glob("*" + SUFFIX)):
        with path.open("rb") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if isinstance(event, dict) and "qid" in event:
                    yield event


def find_message(directory: Path, key: str) -> dict[str, list[dict[str, Any]]]:
    """Events per queue id for ``key``: a queue id or a Message-ID.

    A Message-ID may match several queue ids (a message that came in twice,
    or a notification about it); each gets its own list, in time order.
    """
    wanted_mid = key.strip().strip("<>")
    qids: set[str] = set()
    found: dict[str, list[dict[str, Any]]] = {}
    for event in read_events(directory):
        qid = event["qid"]
        if event.get("ev") in ("accepted", "refused"):
            mid = (event.get("message_id") or "").strip("<>")
            if qid == key or (wanted_mid and mid == wanted_mid):
                qids.add(qid)
        if qid in qids or qid == key:
            found.setdefault(qid, []).append(event)
    return found
