"""The event history files that `track` reads."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from gateway.bus import history


def test_failed_append_leaves_no_partial_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = history.HistoryLog(tmp_path)
    log.append([history.encode({"qid": "A", "ev": "accepted", "t": 0})], 0)
    real_write = os.write

    def half_then_full(fd: int, data: Any) -> int:
        real_write(fd, bytes(data[:5]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError):
        log.append([history.encode({"qid": "B", "ev": "accepted", "t": 0})], 0)
    monkeypatch.setattr(os, "write", real_write)
    log.append([history.encode({"qid": "C", "ev": "delivered", "t": 0})], 0)
    assert [e["qid"] for e in history.read_events(tmp_path)] == ["A", "C"]


def test_find_by_qid_and_message_id(tmp_path: Path) -> None:
    log = history.HistoryLog(tmp_path)
    log.append(
        [
            history.encode({"qid": "Q1", "ev": "accepted", "t": 0, "message_id": "<m@x>"}),
            history.encode({"qid": "Q2", "ev": "accepted", "t": 0, "message_id": "<other@x>"}),
            history.encode({"qid": "Q1", "ev": "delivered", "t": 1}),
        ],
        0,
    )
    assert [e["ev"] for e in history.find_message(tmp_path, "m@x")["Q1"]] == [
        "accepted",
        "delivered",
    ]
    assert list(history.find_message(tmp_path, "<m@x>")) == ["Q1"]
    assert list(history.find_message(tmp_path, "Q2")) == ["Q2"]
    assert history.find_message(tmp_path, "nothing") == {}


def test_prune_keeps_recent_days(tmp_path: Path) -> None:
    log = history.HistoryLog(tmp_path)
    day = 86400.0
    for n in range(5):
        log.append([history.encode({"qid": f"Q{n}", "ev": "accepted", "t": n * day})], n * day)
    removed = log.prune(now=4 * day, keep_days=2)
    assert len(removed) == 2
    assert [e["qid"] for e in history.read_events(tmp_path)] == ["Q2", "Q3", "Q4"]
