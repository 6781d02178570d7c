"""Tests for gateway.bus.maildrop: the drop file codec and the pickup service."""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, task
from twisted.logger import LogEvent
from zope.interface import implementer
from zope.interface.verify import verifyObject

from gateway.bus.maildrop import (
    MaildropError,
    MaildropPickup,
    decode_drop,
    encode_drop,
    write_drop,
)
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.errors import SPOOL_UNAVAILABLE
from gateway.interfaces import IMessageBus

ENVELOPE = Envelope(
    Address.parse("alice@example.test"),
    (Recipient(Address.parse("bob@example.test")),),
    Origin("sendmail", authenticated_as="alice"),
)

_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_+", min_size=1, max_size=12)
_addresses = st.builds(
    lambda local, domain: Address.parse(f"{local}@{domain}.test"),
    _atom,
    st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),
)
_recipients = st.builds(
    Recipient,
    _addresses,
    st.none() | st.frozensets(st.sampled_from(["SUCCESS", "FAILURE", "DELAY"])),
    st.none() | st.tuples(st.just("rfc822"), st.text(max_size=20)),
)
_envelopes = st.builds(
    Envelope,
    st.none() | _addresses,
    st.lists(_recipients, min_size=1, max_size=4).map(tuple),
    st.builds(Origin, st.sampled_from(["sendmail", "smtp"]), st.none() | st.text(max_size=10)),
    st.none() | st.text(max_size=20),
    st.sampled_from([None, "FULL", "HDRS"]),
    st.sampled_from(["7BIT", "8BITMIME", "BINARYMIME"]),
    st.booleans(),
)


@given(_envelopes, st.binary(max_size=2000))
def test_round_trip(envelope: Envelope, content: bytes) -> None:
    assert decode_drop(encode_drop(envelope, content)) == (envelope, content)


@given(st.binary(max_size=500))
def test_arbitrary_bytes_only_raise_maildrop_error(data: bytes) -> None:
    with contextlib.suppress(MaildropError):
        decode_drop(data)


@given(st.binary(max_size=300))
def test_arbitrary_json_only_raises_maildrop_error(meta: bytes) -> None:
    # A well-framed file (good length and CRC) whose JSON is garbage.
    with contextlib.suppress(MaildropError):
        decode_drop(_frame(meta.replace(b"\n", b" "), b"x"))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "sender",
                        "recipients",
                        "address",
                        "notify",
                        "orcpt",
                        "origin",
                        "protocol",
                        "body",
                        "ret",
                        "envid",
                    ]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_wrong_envelope_shapes_raise_maildrop_error(obj: object) -> None:
    with contextlib.suppress(MaildropError):
        decode_drop(_frame(json.dumps(obj).encode(), b""))


def test_truncated_file_detected() -> None:
    data = encode_drop(ENVELOPE, b"Subject: hi\r\n\r\nbody\r\n")
    for cut in (1, 5, len(data) // 2, len(data) - 1):
        with pytest.raises(MaildropError):
            decode_drop(data[:cut])


def test_corruption_detected() -> None:
    data = bytearray(encode_drop(ENVELOPE, b"Subject: hi\r\n\r\nbody\r\n"))
    data[-3] ^= 0x01
    with pytest.raises(MaildropError, match="checksum"):
        decode_drop(bytes(data))


def _frame(meta: bytes, content: bytes) -> bytes:
    crc = zlib.crc32(content, zlib.crc32(meta))
    return b"MGDROP1 %d %08x %s\n%s" % (len(content), crc, meta, content)


def test_frame_helper_matches_encoder() -> None:
    data = encode_drop(ENVELOPE, b"abc")
    assert _frame(data.split(b" ", 3)[3].split(b"\n", 1)[0], b"abc") == data


@pytest.mark.parametrize(
    "meta",
    [
        b'{"sender":"","recipients":[]}',
        b'{"sender":"","recipients":[{"address":"no at sign"}]}',
        b'{"recipients":[{"address":"a@b.test"}],"body":"9BIT"}',
        b"[1,2]",
        b"{not json",
    ],
)
def test_bad_envelope_detected(meta: bytes) -> None:
    with pytest.raises(MaildropError, match="envelope"):
        decode_drop(_frame(meta, b"x"))


def test_bad_header_line_detected() -> None:
    for data in (
        b"",
        b"MGDROP2 0 00000000 {}\n",
        b"MGDROP1 -1 00000000 {}\n",
        b"MGDROP1 0 zzzzzzzz {}\n",
        b"MGDROP1 0\n",
    ):
        with pytest.raises(MaildropError):
            decode_drop(data)


def test_write_drop(tmp_path: Path) -> None:
    path = write_drop(tmp_path, ENVELOPE, b"Subject: x\r\n\r\n")
    assert path.parent == tmp_path
    assert os.listdir(tmp_path / "tmp") == []
    assert decode_drop(path.read_bytes()) == (ENVELOPE, b"Subject: x\r\n\r\n")


@implementer(IMessageBus)
class FakeBus:
    """Records submissions; each returns a Deferred the test fires."""

    def __init__(self) -> None:
        self.calls: list[tuple[Envelope, bytes, defer.Deferred[str]]] = []

    def submit(
        self, envelope: Envelope, content: bytes, qid: str | None = None, events: object = ()
    ) -> defer.Deferred[str]:
        d: defer.Deferred[str] = defer.Deferred()
        self.calls.append((envelope, content, d))
        return d


def _pickup(tmp_path: Path, bus: FakeBus, **kw: int) -> tuple[MaildropPickup, task.Clock]:
    clock = task.Clock()
    service = MaildropPickup(tmp_path, bus, clock, interval=1.0, **kw)
    return service, clock


def test_fake_bus_provides_interface() -> None:
    assert verifyObject(IMessageBus, FakeBus())


def test_pickup_submits_and_unlinks(tmp_path: Path, logged: list[LogEvent]) -> None:
    path = write_drop(tmp_path, ENVELOPE, b"Subject: x\r\n\r\nhi\r\n")
    bus = FakeBus()
    service, clock = _pickup(tmp_path, bus)
    service.startService()
    assert len(bus.calls) == 1
    assert bus.calls[0][:2] == (ENVELOPE, b"Subject: x\r\n\r\nhi\r\n")
    clock.advance(1)
    clock.advance(1)
    assert len(bus.calls) == 1, "in-flight file submitted twice"
    assert path.exists()
    bus.calls[0][2].callback("QID42")
    assert not path.exists()
    assert any(e.get("qid") == "QID42" for e in logged)
    clock.advance(1)
    assert len(bus.calls) == 1
    service.stopService()


def test_pickup_moves_corrupt_file(tmp_path: Path, logged: list[LogEvent]) -> None:
    (tmp_path / "garbage").write_bytes(b"not a drop file")
    bus = FakeBus()
    service, _ = _pickup(tmp_path, bus)
    service.startService()
    assert bus.calls == []
    assert not (tmp_path / "garbage").exists()
    assert (tmp_path / "corrupt" / "garbage").read_bytes() == b"not a drop file"
    errors = [e for e in logged if e.get("file", "").endswith("garbage") and "reason" in e]
    assert errors and errors[0]["reason"]
    service.stopService()


def test_failed_submit_leaves_file_and_retries(tmp_path: Path) -> None:
    path = write_drop(tmp_path, ENVELOPE, b"Subject: x\r\n\r\n")
    bus = FakeBus()
    service, clock = _pickup(tmp_path, bus)
    service.startService()
    bus.calls[0][2].errback(SPOOL_UNAVAILABLE)
    assert path.exists()
    clock.advance(1)
    assert len(bus.calls) == 2
    bus.calls[1][2].callback("Q2")
    assert not path.exists()
    service.stopService()


def test_in_flight_limit(tmp_path: Path) -> None:
    for _ in range(3):
        write_drop(tmp_path, ENVELOPE, b"Subject: x\r\n\r\n")
    bus = FakeBus()
    service, clock = _pickup(tmp_path, bus, max_in_flight=2)
    service.startService()
    assert len(bus.calls) == 2
    for call in bus.calls:
        call[2].callback("Q")
    clock.advance(1)
    assert len(bus.calls) == 3
    bus.calls[2][2].callback("Q")
    assert sorted(os.listdir(tmp_path)) == ["tmp"]
    service.stopService()


def test_scan_survives_errors(tmp_path: Path, logged: list[LogEvent]) -> None:
    @implementer(IMessageBus)
    class RaisingBus:
        def submit(
            self, envelope: Envelope, content: bytes, qid: str | None = None, events: object = ()
        ) -> defer.Deferred[str]:
            raise RuntimeError("bus broke")

    path = write_drop(tmp_path, ENVELOPE, b"Subject: x\r\n\r\n")
    clock = task.Clock()
    service = MaildropPickup(tmp_path, RaisingBus(), clock)
    service.startService()
    clock.advance(1)
    assert path.exists()
    assert service._loop is not None and service._loop.running
    service.stopService()


def test_scan_errors_are_logged_and_loop_goes_on(tmp_path: Path, logged: list[LogEvent]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    clock = task.Clock()
    service = MaildropPickup(not_a_dir, FakeBus(), clock)
    service.startService()
    clock.advance(1)
    assert service._loop is not None and service._loop.running
    assert sum(1 for e in logged if e.get("log_failure") is not None) == 2
    service.stopService()


def test_stop_waits_for_in_flight(tmp_path: Path) -> None:
    write_drop(tmp_path, ENVELOPE, b"Subject: x\r\n\r\n")
    bus = FakeBus()
    service, _ = _pickup(tmp_path, bus)
    service.startService()
    stopped = service.stopService()
    results: list[object] = []
    stopped.addCallback(results.append)
    assert results == []
    bus.calls[0][2].callback("Q")
    assert results == [None]
