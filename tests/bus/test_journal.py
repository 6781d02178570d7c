"""The journal's framing and segment files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.bus import journal


def test_message_record_round_trip() -> None:
    record, content_at = journal.message_record(
        "Q1", {"envelope": {"a": 1}}, b"Subject: x\r\n\r\nhi"
    )
    ((start, kind, payload),) = list(journal.iter_records(record))
    assert kind == journal.KIND_MESSAGE
    decoded = journal.decode_message(payload, start)
    assert decoded.qid == "Q1"
    assert decoded.envelope == {"envelope": {"a": 1}}
    assert record[decoded.content_offset :] == b"Subject: x\r\n\r\nhi"
    assert decoded.content_offset == content_at
    assert decoded.content_length == len(b"Subject: x\r\n\r\nhi")


def test_torn_tail_is_cut_at_every_position() -> None:
    first = journal.event_record({"qid": "A", "ev": "held"})
    second = journal.message_record("B", {}, b"x" * 100)[0]
    data = first + second
    for cut in range(len(first), len(data)):
        records = list(journal.iter_records(data[:cut]))
        assert [k for _, k, _ in records] == [journal.KIND_EVENT]
        assert journal.valid_length(data[:cut]) == len(first)
    assert journal.valid_length(data) == len(data)


def test_damage_in_the_middle_is_skipped_and_reported() -> None:
    first = journal.event_record({"qid": "A", "ev": "held"})
    bad = bytearray(journal.event_record({"qid": "B", "ev": "held"}))
    bad[-2] ^= 0xFF
    last = journal.event_record({"qid": "C", "ev": "held"})
    data = first + bytes(bad) + last
    damaged: list[tuple[int, int]] = []
    qids = [journal.decode_event(p)["qid"] for _, _, p in journal.iter_records(data, damaged)]
    assert qids == ["A", "C"]
    assert damaged == [(len(first), len(first) + len(bad))]
    # the acknowledged record after the damage is not cut as if it were a torn tail
    assert journal.valid_length(data) == len(data)


def test_corrupt_last_record_is_a_torn_tail() -> None:
    good = journal.event_record({"qid": "A", "ev": "held"})
    bad = bytearray(journal.event_record({"qid": "B", "ev": "held"}))
    bad[-2] ^= 0xFF
    damaged: list[tuple[int, int]] = []
    assert len(list(journal.iter_records(good + bytes(bad), damaged))) == 1
    assert damaged == []
    assert journal.valid_length(good + bytes(bad)) == len(good)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for start, kind, payload in journal.iter_records(data):
        assert start + len(payload) <= len(data)
        try:
            if kind == journal.KIND_MESSAGE:
                journal.decode_message(payload, start)
            else:
                journal.decode_event(payload)
        except journal.JournalError:
            pass


def test_append_rotate_and_reopen_cut_torn_tail(tmp_path: Path) -> None:
    j = journal.Journal(tmp_path, segment_size=64)
    j.open_for_append()
    assert j.segments() == [1]
    places = j.append([journal.event_record({"qid": "A", "ev": "held"})] * 3)
    assert [p[0] for p in places] == [1, 1, 1]
    assert j.rotate_if_full() == 1
    assert j.segments() == [1, 2]
    j.append([journal.event_record({"qid": "B", "ev": "held"})])
    j.close()
    # a crash in the middle of a write leaves half a record
    with j.path(2).open("ab") as f:
        f.write(journal.event_record({"qid": "C", "ev": "held"})[:7])
    j2 = journal.Journal(tmp_path, segment_size=64)
    j2.open_for_append()
    data = j2.read_segment(2)
    assert journal.valid_length(data) == len(data)
    assert len(list(journal.iter_records(data))) == 1
    with pytest.raises(ValueError):
        j2.delete(2)
    j2.delete(1)
    assert j2.segments() == [2]
