"""The X.225 session machine: sequencing, tokens, serial numbers, exceptions."""

from __future__ import annotations

import pytest

from gateway.x400.osi import session
from gateway.x400.osi import sessionfsm as s
from gateway.x400.osi.errors import OSIError


def connected() -> tuple[s.SessionMachine, s.SessionMachine]:
    initiator, responder = s.SessionMachine("initiator"), s.SessionMachine("responder")
    initiator.connect(b"cp")
    (cn,) = initiator.tsdus_to_send()
    assert responder.receive(cn) == [s.SConnect(b"cp", 0x0249, 3)]
    responder.accept(b"cpa")
    (ac,) = responder.tsdus_to_send()
    assert initiator.receive(ac) == [s.SAccept(b"cpa", 0x0249)]
    return initiator, responder


def deliver(source: s.SessionMachine, target: s.SessionMachine) -> list[s.SessionEvent]:
    events: list[s.SessionEvent] = []
    for tsdu in source.tsdus_to_send():
        events += target.receive(tsdu)
    return events


def test_tokens_start_with_the_initiator() -> None:
    initiator, responder = connected()
    assert initiator.tokens_here and not responder.tokens_here
    with pytest.raises(OSIError):
        responder.activity_start(b"\x01")


def test_activity_with_minor_syncs() -> None:
    initiator, responder = connected()
    initiator.activity_start(b"\x02\x01\x01")
    initiator.data(b"one")
    assert initiator.minor_sync() == 1
    initiator.data(b"two")
    assert initiator.activity_end() == 2
    assert deliver(initiator, responder) == [
        s.SActivityStart(b"\x02\x01\x01"),
        s.SData(b"one"),
        s.SMinorSync(1),
        s.SData(b"two"),
        s.SActivityEnd(2),
    ]
    responder.minor_sync_ack(1)
    responder.activity_end_ack(2)
    assert deliver(responder, initiator) == [s.SMinorSyncAck(1), s.SActivityEndAck(2)]
    assert not initiator.in_activity and not responder.in_activity


def test_wrong_serial_number_is_refused() -> None:
    _initiator, responder = connected()
    responder.receive(session.activity_start(b"\x01"))
    with pytest.raises(s.SessionProtocolError):
        responder.receive(session.minor_sync(2))  # V(M) is 1


@pytest.mark.parametrize(
    "tsdu",
    [
        session.data_transfer(b"x"),  # outside an activity
        session.activity_end(1),
        session.minor_sync_ack(1),  # the responder sent no MIP
        session.connect(b"again"),
        session.encode(session.SPDU(33)),  # typed data: not offered
    ],
)
def test_out_of_sequence_spdus(tsdu: bytes) -> None:
    _initiator, responder = connected()
    with pytest.raises(OSIError):
        responder.receive(tsdu)


def test_exception_then_discard() -> None:
    initiator, responder = connected()
    initiator.activity_start(b"\x01")
    initiator.data(b"x")
    deliver(initiator, responder)
    responder.exception_report()
    assert deliver(responder, initiator) == [s.SException(s.REASON_LOCAL_USER_ERROR)]
    # what crosses the exception is discarded by the reporter
    initiator.tsdus_to_send()
    assert responder.receive(session.data_transfer(b"late")) == []
    initiator.activity_discard()
    assert deliver(initiator, responder) == [s.SActivityDiscard(s.REASON_LOCAL_USER_ERROR)]
    responder.activity_discard_ack()
    assert deliver(responder, initiator) == [s.SActivityDiscardAck()]
    assert not initiator.in_activity and not responder.exception


def test_turn_passes_with_give_tokens() -> None:
    initiator, responder = connected()
    responder.please_tokens(b"rttp")
    assert deliver(responder, initiator) == [s.STokensPlease(b"rttp")]
    initiator.give_tokens()
    assert deliver(initiator, responder) == [s.STokensGiven()]
    assert responder.tokens_here and not initiator.tokens_here
    responder.activity_start(b"\x01")
    assert deliver(responder, initiator) == [s.SActivityStart(b"\x01")]


def test_release_and_abort() -> None:
    initiator, responder = connected()
    initiator.release(b"rlrq")
    assert deliver(initiator, responder) == [s.SRelease(b"rlrq")]
    responder.disconnect(b"rlre")
    assert deliver(responder, initiator) == [s.SDisconnect(b"rlre")]
    assert initiator.state == responder.state == "closed"
    initiator, responder = connected()
    responder.abort(b"aru")
    assert deliver(responder, initiator) == [s.SAbort(b"aru")]


def test_refuse() -> None:
    initiator, responder = s.SessionMachine("initiator"), s.SessionMachine("responder")
    initiator.connect(b"cp")
    deliver(initiator, responder)
    responder.refuse(b"cpr")
    assert deliver(responder, initiator) == [s.SRefuse(2, b"cpr")]
