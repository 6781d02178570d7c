"""Hostile and awkward input: every prefix, mutations, garbage, any split of
the stream, and what PP really sends (indefinite lengths in the
presentation framing, RTORQ without windowSize, the password as OCTET
STRING; P1-WIRE.md)."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x400.osi import cotp, session, tpkt
from gateway.x400.osi import presentation as pres
from gateway.x400.osi.association import (
    CONTEXTS,
    Aborted,
    AssociationConfig,
    BindRefused,
    BindRequested,
    Bound,
    Event,
    P1Association,
    ProtocolError,
    Released,
    TransferReceived,
    TransportConnected,
)

from .pair import RESPONDER, Pair

APDU = bytes.fromhex("0482012c") + bytes(range(200)) + bytes(100)
CONFIG = AssociationConfig(checkpoint_size=1)  # several segments and checkpoints


@functools.cache
def initiator_stream() -> bytes:
    """Everything a real initiator sends in a whole association: bind, one
    transfer of three checkpointed segments, release."""
    pair = Pair.make(CONFIG).bind()
    pair.initiator.transfer(APDU)
    pair.initiator.transfer(bytes.fromhex("04820800") + bytes(2048))
    pair.pump()
    pair.initiator.release()
    pair.pump()
    assert pair.responder.state == "closed"
    return bytes(pair.wire["I"])


def responder() -> P1Association:
    return P1Association("responder", RESPONDER, CONFIG)


def feed(machine: P1Association, chunks: list[bytes]) -> list[Event]:
    """Feed *chunks*, accepting the bind and confirming transfers."""
    events: list[Event] = []
    for chunk in chunks:
        pending = machine.receive(chunk)
        while pending:
            for event in pending:
                events.append(event)
                if isinstance(event, BindRequested):
                    machine.accept_bind()
                elif isinstance(event, TransferReceived):
                    machine.confirm(event.transfer_id)
            pending = machine.events()
    return events


LEGITIMATE = (TransportConnected, BindRequested, Bound, TransferReceived, Released)


def test_whole_stream_replayed() -> None:
    events = feed(responder(), [initiator_stream()])
    assert [type(e) for e in events] == [
        TransportConnected,
        BindRequested,
        Bound,
        TransferReceived,
        TransferReceived,
        Released,
    ]


def test_every_prefix() -> None:
    stream = initiator_stream()
    whole = feed(responder(), [stream])
    for end in range(len(stream)):
        machine = responder()
        events = feed(machine, [stream[:end]])
        assert events == whole[: len(events)], end
        lost = machine.connection_lost()
        assert all(isinstance(e, Aborted) for e in lost)


def test_byte_at_a_time_gives_the_same_events() -> None:
    stream = initiator_stream()
    assert feed(responder(), [stream[i : i + 1] for i in range(len(stream))]) == feed(
        responder(), [stream]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6000), max_size=12))
def test_random_split_points(cuts: list[int]) -> None:
    stream = initiator_stream()
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert feed(responder(), chunks) == feed(responder(), [stream])


def test_every_byte_flipped() -> None:
    stream = initiator_stream()
    for position in range(0, len(stream), 3):
        mutated = bytearray(stream)
        mutated[position] ^= 0xFF
        for event in feed(responder(), [bytes(mutated)]):
            assert isinstance(event, (*LEGITIMATE, ProtocolError, Aborted)), (position, event)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.binary(min_size=1, max_size=400))
def test_garbage_after_a_valid_prefix(end: int, garbage: bytes) -> None:
    stream = initiator_stream()
    machine = responder()
    before = feed(machine, [stream[:end]])
    events = feed(machine, [garbage])
    for event in events:
        assert isinstance(event, (*LEGITIMATE, ProtocolError, Aborted))
    if any(isinstance(e, ProtocolError) for e in events):
        assert isinstance(events[-1], Aborted)
        assert machine.closed
    assert all(isinstance(e, LEGITIMATE) for e in before)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_alone(data: bytes) -> None:
    for event in feed(responder(), [data]):
        assert isinstance(event, TransportConnected | ProtocolError | Aborted)
    initiator = P1Association("initiator", RESPONDER, CONFIG)
    initiator.connect()
    for event in initiator.receive(data):
        assert isinstance(event, TransportConnected | BindRefused | ProtocolError | Aborted)


# -- what PP sends -------------------------------------------------------------


def indefinite(data: bytes) -> bytes:
    """A definite-length BER encoding (one-octet tags) rewritten with
    indefinite lengths on every constructed element, as PP writes."""
    out = b""
    pos = 0
    while pos < len(data):
        tag = data[pos]
        first = data[pos + 1]
        if first < 0x80:
            length, start = first, pos + 2
        else:
            count = first & 0x7F
            length = int.from_bytes(data[pos + 2 : pos + 2 + count], "big")
            start = pos + 2 + count
        value = data[start : start + length]
        if tag & 0x20:
            out += bytes([tag, 0x80]) + indefinite(value) + b"\x00\x00"
        else:
            out += data[pos : start + length]
        pos = start + length
    return out


def pp_stream(apdu: bytes) -> bytes:
    # *apdu* is given with definite lengths; it is sent with indefinite ones
    """A PP-style initiator: RTORQ with checkpointSize 63, no windowSize,
    dialogueMode monologue written out; password as OCTET STRING; all the
    presentation, ACSE and RTSE framing and the transfer's EXTERNAL with
    indefinite lengths; CN with versions 1 and 2, a calling reference, a
    common reference and TSDU maximum sizes."""
    bind = bytes.fromhex("b017a115800b") + b"pp.lab.test" + bytes.fromhex("a1060404") + b"pass"
    rtorq = bytes.fromhex("b0") + bytes([len(bind) + 10])
    rtorq += bytes.fromhex("80013f820100a3") + bytes([len(bind) + 2]) + b"\xa0"
    rtorq += bytes([len(bind)]) + bind
    # EXTERNAL { direct-reference 2.1.1, indirect-reference 3, [0] RTORQ }
    body = bytes.fromhex("06025101020103a0") + bytes([len(rtorq)]) + rtorq
    external = bytes([0x28, len(body)]) + body
    aarq_body = bytes.fromhex("a106060456000106be") + bytes([len(external)]) + external
    aarq = bytes([0x60, len(aarq_body)]) + aarq_body
    cp = pres.encode_cp(pres.ConnectRequest(CONTEXTS, (pres.PDV(1, aarq),), 0x0249))
    cn = session.connect(
        indefinite(cp),
        calling_reference=b"PP",
        common_reference=b"2601011200Z",
        tsdu_maximum_size=(0x7FFF, 0x7FFF),
    )
    transfer_external = indefinite(
        bytes([0x28, len(apdu) + 5]) + bytes.fromhex("020105a0") + bytes([len(apdu)]) + apdu
    )
    rttr = bytes([0x04, 0x81, len(transfer_external)]) + transfer_external
    pdata = indefinite(pres.encode_user_data([pres.PDV(3, b"\x05\x00")]))
    pdata = pdata.replace(b"\x05\x00", rttr)
    tsdus = [
        cn,
        session.activity_start(b"\x02\x01\x07"),
        session.data_transfer(pdata),
        session.activity_end(1),
    ]
    stream = tpkt.encode(cotp.encode(cotp.ConnectionRequest(9, 2048, None, b"x400in88")))
    for tsdu in tsdus:
        stream += b"".join(tpkt.encode(t) for t in cotp.segment(tsdu, 2048))
    return stream


def test_pp_style_initiator() -> None:
    # an APDU that pp_stream writes as PP does: constructed, indefinite lengths
    apdu = bytes.fromhex("3008a006040474657374")
    assert indefinite(apdu) == bytes.fromhex("3080a0800404746573740000" + "0000")
    machine = responder()
    events = feed(machine, [pp_stream(apdu)])
    assert events[:3] == [
        TransportConnected(),
        BindRequested("pp.lab.test", b"pass"),
        Bound("pp.lab.test"),
    ]
    assert machine.window_size == 3  # the DEFAULT, omitted by PP
    assert machine.checkpoint_size == 1  # ours is lower than PP's 63
    (received,) = events[3:]
    assert isinstance(received, TransferReceived)
    # the APDU comes up with its lengths made definite (the same value)
    assert received.apdu == apdu
