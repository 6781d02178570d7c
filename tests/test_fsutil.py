"""Durable-write helpers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gateway.fsutil import DirectorySyncer


def test_directory_syncer_shares_fsyncs_and_covers_every_caller(tmp_path: Path) -> None:
    spans: list[tuple[float, float]] = []

    def slow_fsync(directory: Path) -> None:
        start = time.monotonic()
        time.sleep(0.02)
        spans.append((start, time.monotonic()))

    syncer = DirectorySyncer(slow_fsync)
    calls: list[tuple[float, float]] = []
    lock = threading.Lock()

    def deliver() -> None:
        called = time.monotonic()  # "the rename is done"
        syncer.sync(tmp_path)
        with lock:
            calls.append((called, time.monotonic()))

    threads = [threading.Thread(target=deliver) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 30
    assert len(spans) < 30, "no fsync was shared"
    for called, returned in calls:
        # some fsync began after this caller's rename and ended before it returned
        assert any(called <= start and end <= returned for start, end in spans)
