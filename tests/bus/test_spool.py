"""Spool recovery from the files alone."""

from __future__ import annotations

from pathlib import Path

from gateway.bus import history, journal
from gateway.bus.spool import Spool, message_meta
from gateway.bus.state import MessageState, Status
from gateway.envelope import Address, Envelope, Recipient


def queued(spool: Spool, qid: str, content: bytes) -> list[bytes]:
    env = Envelope(None, (Recipient(Address.parse("alice@example.test")),))
    state = MessageState.new(qid, env, 1.0, len(content), None)
    return [journal.message_record(qid, message_meta(state), content)[0]]


def test_recover_replays_events_and_drops_finished(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.lock()
    spool.recover()
    spool.commit(queued(spool, "Q1", b"one") + queued(spool, "Q2", b"two"), [], 0)
    deferred = {
        "qid": "Q1",
        "ev": "deferred",
        "rcpt": 0,
        "code": 451,
        "status": "4.3.0",
        "text": "busy",
        "next": 99.0,
    }
    done = {
        "qid": "Q2",
        "ev": "delivered",
        "rcpt": 0,
        "code": 250,
        "status": "2.0.0",
        "text": "ok",
    }
    spool.commit(
        [journal.event_record(deferred), journal.event_record(done)], [history.encode(deferred)], 0
    )
    spool.close()

    again = Spool(tmp_path, 1 << 20)
    again.lock()
    recovered = again.recover()
    assert list(recovered.messages) == ["Q1"]
    rcpt = recovered.messages["Q1"].state.recipients[0]
    assert (rcpt.status, rcpt.next_attempt, rcpt.attempts) == (Status.DEFERRED, 99.0, 1)
    m = recovered.messages["Q1"]
    assert again.read(m.segment, m.offset, m.length) == b"one"
    assert recovered.known[1] == {"Q1", "Q2"}


def test_damaged_record_is_reported_and_later_messages_survive(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.lock()
    spool.recover()
    spool.commit(queued(spool, "Q1", b"first message"), [], 0)
    spool.commit(queued(spool, "Q2", b"second message"), [], 0)
    spool.close()
    segment = tmp_path / "journal" / journal.segment_name(1)
    data = bytearray(segment.read_bytes())
    data[data.index(b"first message")] ^= 0xFF  # a bad sector in the first record
    segment.write_bytes(bytes(data))

    again = Spool(tmp_path, 1 << 20)
    again.lock()
    recovered = again.recover()
    assert list(recovered.messages) == ["Q2"]
    assert any("damaged bytes" in e for e in recovered.errors)
    assert segment.stat().st_size == len(data)  # nothing after the damage was cut
