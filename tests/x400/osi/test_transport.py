"""The RFC 1006 / X.224 class 0 connection machine."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.osi import cotp, tpkt
from gateway.x400.osi.transport import (
    TConnected,
    TData,
    TDisconnected,
    TransportConnection,
    TransportFailed,
    negotiate_tpdu_size,
)


def packet(tpdu: cotp.TPDU) -> bytes:
    return tpkt.encode(cotp.encode(tpdu))


def cr(size: int | None = 2048, called: bytes | None = b"x400in88") -> bytes:
    return packet(cotp.ConnectionRequest(7, size, b"me", called))


def open_responder(max_tsdu: int = 1 << 20) -> TransportConnection:
    machine = TransportConnection(
        "responder", called_tsap=b"x400in88", local_ref=2, max_tsdu=max_tsdu
    )
    machine.receive(cr())
    machine.data_to_send()
    return machine


def test_responder_answers_cc_with_the_negotiated_size() -> None:
    machine = TransportConnection("responder", called_tsap=b"x400in88", local_ref=2)
    # a CR proposing 8192 octets (code 13, beyond class 0): LI 16, CR, refs, class 0,
    # C0 0x0d, C1 "me", C2 "x400in88" (the encoder refuses to write it)
    proposal = bytes.fromhex("17e00000000700c0010dc1026d65c208") + b"x400in88"
    events = machine.receive(tpkt.encode(proposal))
    assert events == [TConnected(2048, b"me", b"x400in88")]
    assert machine.data_to_send() == packet(cotp.ConnectionConfirm(7, 2, 2048))


def test_tpdu_size_negotiation() -> None:
    # X.224 13.3.4 b): at most the proposed size, 128 without the parameter
    assert negotiate_tpdu_size(1024, 2048) == 1024
    assert negotiate_tpdu_size(8192, 2048) == 2048
    assert negotiate_tpdu_size(None, 2048) == 128
    assert negotiate_tpdu_size(2048, 512) == 512


def test_responder_refuses_another_tsap() -> None:
    machine = TransportConnection("responder", called_tsap=b"x400in88")
    events = machine.receive(cr(called=b"591"))
    assert len(events) == 1 and isinstance(events[0], TransportFailed)
    dr = cotp.decode(tpkt.decode(machine.data_to_send()))
    assert isinstance(dr, cotp.DisconnectRequest) and dr.reason == 2
    assert machine.state == "closed"


def test_responder_without_tsap_accepts_any() -> None:
    machine = TransportConnection("responder")
    assert isinstance(machine.receive(cr(called=b"591"))[0], TConnected)


def test_initiator_takes_the_size_from_cc() -> None:
    machine = TransportConnection("initiator", called_tsap=b"x400in88")
    machine.connect()
    assert machine.data_to_send() == packet(cotp.ConnectionRequest(1, 2048, None, b"x400in88"))
    assert machine.receive(packet(cotp.ConnectionConfirm(1, 9, 512))) == [TConnected(512)]
    machine.send_tsdu(bytes(1000))
    pieces = tpkt.split(machine.data_to_send())
    assert len(pieces[0]) == 512  # TPDUs of the negotiated size


def test_initiator_refuses_a_larger_size() -> None:
    machine = TransportConnection("initiator", tpdu_size=1024)
    machine.connect()
    events = machine.receive(packet(cotp.ConnectionConfirm(1, 9, 2048)))
    assert isinstance(events[0], TransportFailed)


def test_reassembly_and_limit() -> None:
    machine = open_responder(max_tsdu=300)
    stream = b"".join(packet(t) for t in [cotp.Data(b"ab", eot=False), cotp.Data(b"c")])
    assert machine.receive(stream) == [TData(b"abc")]
    big = b"".join(tpkt.encode(t) for t in cotp.segment(bytes(301), 128))
    events = machine.receive(big)
    assert len(events) == 1 and isinstance(events[0], TransportFailed)
    assert "limit" in events[0].reason


def test_dr_and_er_end_the_connection() -> None:
    machine = open_responder()
    assert machine.receive(packet(cotp.DisconnectRequest(2, 7, 1))) == [TDisconnected(1)]
    assert machine.receive(packet(cotp.Data(b"x"))) == []
    machine = open_responder()
    assert machine.receive(packet(cotp.Error(2, 3))) == [TDisconnected(3, error=True)]


def test_data_before_connection_fails() -> None:
    machine = TransportConnection("responder")
    events = machine.receive(packet(cotp.Data(b"x")))
    assert isinstance(events[0], TransportFailed)


@given(st.binary(max_size=200))
def test_garbage_only_fails(data: bytes) -> None:
    machine = open_responder()
    for event in machine.receive(data):
        assert isinstance(event, TData | TDisconnected | TransportFailed)


@given(st.lists(st.integers(0, 40), max_size=10))
def test_split_points_do_not_matter(cuts: list[int]) -> None:
    stream = b"".join(packet(cotp.Data(bytes([i]) * 20, eot=i % 2 == 1)) for i in range(6))
    whole = open_responder().receive(stream)
    machine = open_responder()
    events = []
    pos = 0
    for cut in cuts:
        events += machine.receive(stream[pos : pos + cut])
        pos += cut
    events += machine.receive(stream[pos:])
    assert events == whole
