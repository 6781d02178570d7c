"""P1Association initiator and responder pumped against each other in
memory: bind, refusal, transfers with checkpoints, confirmation, rejection,
release, abort, two-way-alternate."""

from __future__ import annotations

import pytest

from gateway.x400.osi import cotp, session, tpkt
from gateway.x400.osi.association import (
    Aborted,
    AssociationConfig,
    AssociationError,
    BindRefused,
    BindRequested,
    Bound,
    Credentials,
    Released,
    TransferAborted,
    TransferConfirmed,
    TransferReceived,
    TransportConnected,
)

from .pair import Pair

SMALL = bytes.fromhex("a000")
# an OCTET STRING of 200 000 octets: one BER element, as an MTS-APDU is
BIG = bytes.fromhex("0483030d40") + bytes(range(256)) * 781 + bytes(64)


def tsdus(wire: bytes | bytearray) -> list[bytes]:
    """The TSDUs in a direction's bytes (after the COTP connection set-up)."""
    out: list[bytes] = []
    partial = b""
    data = bytes(wire)
    while data:
        tpdu, data = tpkt.split(data)
        decoded = cotp.decode(tpdu)
        if isinstance(decoded, cotp.Data):
            partial += decoded.user_data
            if decoded.eot:
                out.append(partial)
                partial = b""
    return out


def kinds(wire: bytes | bytearray) -> list[int]:
    return [session.decode(t)[-1].si for t in tsdus(wire)]


def test_bind_accepted() -> None:
    pair = Pair.make().bind()
    assert pair.take("I") == [TransportConnected(), Bound("peer.lab.test")]
    assert pair.take("R") == [
        TransportConnected(),
        BindRequested("gateway.lab.test", "secret"),
        Bound("gateway.lab.test"),
    ]
    assert pair.initiator.bound and pair.responder.bound
    assert pair.initiator.peer_name == "peer.lab.test"
    assert (pair.initiator.checkpoint_size, pair.initiator.window_size) == (63, 3)
    assert not pair.initiator.busy


def test_octet_string_password_reaches_the_responder_as_bytes() -> None:
    pair = Pair.make(local=Credentials("gateway.lab.test", b"secret")).bind()
    assert BindRequested("gateway.lab.test", b"secret") in pair.take("R")


def test_bind_refused_with_the_bind_error() -> None:
    pair = Pair.make(local=Credentials("gateway.lab.test", "wrong"), auto_accept=False)
    pair.bind()
    assert pair.take("R")[-1] == BindRequested("gateway.lab.test", "wrong")
    pair.responder.refuse_bind("authentication-error")
    pair.pump()
    assert pair.take("I") == [TransportConnected(), BindRefused("authentication-error")]
    assert not pair.initiator.bound and pair.initiator.closed
    assert pair.responder.closed
    assert pair.take("R") == []  # the initiator's DR ends it quietly


@pytest.mark.parametrize("error", ["busy", "unacceptable-dialogue-mode"])
def test_bind_refusal_reasons(error: str) -> None:
    pair = Pair.make(auto_accept=False).bind()
    pair.responder.refuse_bind(error)  # type: ignore[arg-type]
    pair.pump()
    assert pair.take("I")[-1] == BindRefused(error)


def test_initiator_checks_the_responder_credentials() -> None:
    pair = Pair.make(peer=Credentials("peer.lab.test", "other")).bind()
    events = pair.take("I")
    assert isinstance(events[-1], BindRefused)
    assert "do not match" in events[-1].reason
    assert pair.initiator.closed
    assert isinstance(pair.take("R")[-1], Aborted)


def test_initiator_without_expected_peer_accepts_any_responder() -> None:
    pair = Pair.make(peer=None).bind()
    assert pair.take("I")[-1] == Bound("peer.lab.test")


def test_small_transfer_confirmed_only_after_confirm() -> None:
    pair = Pair.make(auto_confirm=False).bind()
    pair.take("I"), pair.take("R")
    transfer_id = pair.initiator.transfer(SMALL)
    pair.pump()
    assert pair.take("R") == [TransferReceived(1, SMALL)]
    assert pair.take("I") == []
    assert pair.initiator.busy and pair.responder.busy
    pair.responder.confirm(1)
    pair.pump()
    assert pair.take("I") == [TransferConfirmed(transfer_id)]
    assert not pair.initiator.busy and not pair.responder.busy


def test_big_transfer_with_checkpoints_and_window() -> None:
    pair = Pair.make().bind()
    mark = {name: len(pair.wire[name]) for name in ("I", "R")}
    pair.initiator.transfer(BIG)
    pair.pump()
    assert pair.take("R")[-1] == TransferReceived(1, BIG)
    assert pair.take("I")[-1] == TransferConfirmed(1)
    sent = kinds(pair.wire["I"][mark["I"] :])
    # 200 000 octets and the EXTERNAL header: four segments of 63 KiB or less,
    # a checkpoint between each two, the activity around them
    assert sent == [
        session.AS,
        session.DT,
        session.MIP,
        session.DT,
        session.MIP,
        session.DT,
        session.MIP,
        session.DT,
        session.AE,
    ]
    assert kinds(pair.wire["R"][mark["R"] :]) == [session.MIA] * 3 + [session.AEA]


def test_window_holds_back_segments_until_a_checkpoint_is_acknowledged() -> None:
    config = AssociationConfig(checkpoint_size=1, window_size=2)
    pair = Pair.make(config).bind()
    pair.take("I"), pair.take("R")
    pair.initiator.transfer(bytes.fromhex("04821388") + bytes(5000))  # 5 segments of 1 KiB
    sent = pair.initiator.data_to_send()
    # two checkpoints unacknowledged: the third segment waits for a MIA
    assert kinds(sent) == [
        session.AS,
        session.DT,
        session.MIP,
        session.DT,
        session.MIP,
        session.DT,
    ]
    assert pair.initiator.data_to_send() == b""
    assert pair.responder.receive(sent) == []
    acks = pair.responder.data_to_send()
    assert kinds(acks) == [session.MIA, session.MIA]
    assert pair.initiator.receive(acks) == []
    # both acknowledged: the rest goes, the last two segments without a MIP between
    assert kinds(pair.initiator.data_to_send()) == [
        session.MIP,
        session.DT,
        session.MIP,
        session.DT,
        session.AE,
    ]


def test_window_pumped_to_completion() -> None:
    config = AssociationConfig(checkpoint_size=1, window_size=2)
    pair = Pair.make(config).bind()
    apdu = bytes.fromhex("04821388") + bytes(5000)
    pair.initiator.transfer(apdu)
    pair.pump()
    assert pair.take("R")[-1] == TransferReceived(1, apdu)
    assert pair.take("I")[-1] == TransferConfirmed(1)


def test_responder_lowers_the_checkpoint_size() -> None:
    pair = Pair.make(responder_config=AssociationConfig(checkpoint_size=4, window_size=1))
    pair.bind()
    assert (pair.initiator.checkpoint_size, pair.initiator.window_size) == (4, 1)
    pair.initiator.transfer(BIG)
    pair.pump()
    assert pair.take("R")[-1] == TransferReceived(1, BIG)


def test_no_checkpointing() -> None:
    pair = Pair.make(AssociationConfig(checkpoint_size=0)).bind()
    mark = len(pair.wire["I"])
    pair.initiator.transfer(BIG)
    pair.pump()
    assert pair.take("R")[-1] == TransferReceived(1, BIG)
    assert kinds(pair.wire["I"][mark:]) == [session.AS, session.DT, session.AE]


def test_queued_transfers_go_one_after_the_other() -> None:
    pair = Pair.make().bind()
    pair.take("I"), pair.take("R")
    ids = [pair.initiator.transfer(SMALL), pair.initiator.transfer(BIG)]
    pair.pump()
    assert pair.take("R") == [TransferReceived(1, SMALL), TransferReceived(2, BIG)]
    assert pair.take("I") == [TransferConfirmed(ids[0]), TransferConfirmed(ids[1])]


def test_reject_transfer() -> None:
    pair = Pair.make(auto_confirm=False).bind()
    pair.take("I"), pair.take("R")
    pair.initiator.transfer(SMALL)
    pair.pump()
    assert pair.take("R") == [TransferReceived(1, SMALL)]
    pair.responder.reject_transfer(1, "disk full")
    pair.pump()
    events = pair.take("I")
    assert len(events) == 1 and isinstance(events[0], TransferAborted)
    assert events[0].transfer_id == 1
    assert not pair.initiator.busy and not pair.responder.busy
    # the association carries on: the next transfer goes through
    pair.initiator.transfer(SMALL)
    pair.pump()
    assert pair.take("R") == [TransferReceived(2, SMALL)]
    pair.responder.confirm(2)
    pair.pump()
    assert pair.take("I") == [TransferConfirmed(2)]


def test_release() -> None:
    pair = Pair.make().bind()
    pair.take("I"), pair.take("R")
    pair.initiator.release()
    pair.pump()
    assert pair.take("I") == [Released()]
    assert pair.take("R") == [Released()]
    assert pair.initiator.closed and pair.responder.closed
    assert kinds(pair.wire["I"])[-1] == session.FN
    assert kinds(pair.wire["R"])[-1] == session.DN
    # the initiator's last TPDU is the DR
    last = cotp.decode(tpkt.split(bytes(pair.wire["I"][-11:]))[0])
    assert isinstance(last, cotp.DisconnectRequest)


def test_responder_waits_for_the_initiators_disconnect() -> None:
    """X.225 7.6: after DN the initiator releases the transport (DR); the
    responder stays open until then (closing first would reset the DR)."""
    pair = Pair.make().bind()
    pair.take("I"), pair.take("R")
    pair.initiator.release()
    fn = pair.initiator.data_to_send()
    assert pair.responder.receive(fn) == [Released()]
    assert not pair.responder.closed  # DN sent, DR not yet received
    pair.initiator.receive(pair.responder.data_to_send())  # DN
    assert pair.initiator.closed
    pair.responder.receive(pair.initiator.data_to_send())  # DR
    assert pair.responder.closed
    assert pair.responder.connection_lost() == []  # an orderly end, no abort


def test_release_waits_for_the_transfers() -> None:
    pair = Pair.make().bind()
    pair.take("I"), pair.take("R")
    pair.initiator.transfer(SMALL)
    pair.initiator.release()
    pair.pump()
    assert pair.take("I") == [TransferConfirmed(1), Released()]
    assert pair.take("R") == [TransferReceived(1, SMALL), Released()]


def test_abort() -> None:
    pair = Pair.make(auto_confirm=False).bind()
    pair.take("I"), pair.take("R")
    pair.initiator.transfer(SMALL)
    pair.pump()
    pair.initiator.abort("shutting down")
    assert pair.initiator.events() == [
        TransferAborted(1, "association aborted locally: shutting down")
    ]
    pair.pump()
    events = pair.take("R")
    assert events[0] == TransferReceived(1, SMALL)
    assert events[1:] == [Aborted("aborted by the peer (RTAB userError)")]
    assert pair.initiator.closed and pair.responder.closed
    pair.responder.confirm(1)  # too late: ignored


def test_peer_disconnect_and_connection_lost() -> None:
    pair = Pair.make().bind()
    pair.take("I")
    dr = tpkt.encode(cotp.encode(cotp.DisconnectRequest(1, 2)))
    events = pair.initiator.receive(dr)
    assert len(events) == 1 and isinstance(events[0], Aborted)
    assert pair.responder.connection_lost() == [Aborted("transport connection lost")]
    assert pair.responder.connection_lost() == []


def test_misuse_raises() -> None:
    pair = Pair.make(auto_accept=False)
    with pytest.raises(AssociationError):
        pair.initiator.transfer(SMALL)
    with pytest.raises(AssociationError):
        pair.responder.connect()
    pair.bind()
    with pytest.raises(AssociationError):
        pair.initiator.accept_bind()
    pair.responder.accept_bind()
    pair.pump()
    with pytest.raises(AssociationError):
        pair.responder.transfer(SMALL)  # monologue: the initiator only
    with pytest.raises(AssociationError):
        pair.responder.release()
    with pytest.raises(AssociationError):
        pair.responder.confirm(7)
    with pytest.raises(ValueError):
        Credentials("x" * 33, "p")


def test_transfer_above_max_apdu_aborts() -> None:
    pair = Pair.make(
        AssociationConfig(),
        responder_config=AssociationConfig(max_apdu=100_000),
    ).bind()
    pair.take("I"), pair.take("R")
    pair.initiator.transfer(BIG)
    pair.pump()
    events = pair.take("R")
    assert "max_apdu" in str(events[0]) and isinstance(events[-1], Aborted)
    assert pair.take("I") == [
        TransferAborted(1, "aborted by the peer (RTAB protocolError)"),
        Aborted("aborted by the peer (RTAB protocolError)"),
    ]


def test_two_way_alternate() -> None:
    pair = Pair.make(AssociationConfig(dialogue_mode="twa")).bind()
    pair.take("I"), pair.take("R")
    assert pair.responder.dialogue_mode == "twa"
    assert pair.initiator.has_turn and not pair.responder.has_turn
    # the responder asks for the turn (PT with RTTP) and gets it when idle
    pair.responder.transfer(SMALL)
    pair.initiator.transfer(BIG)
    pair.pump()
    assert pair.take("I") == [TransferConfirmed(1), TransferReceived(1, SMALL)]
    assert pair.take("R") == [TransferReceived(1, BIG), TransferConfirmed(1)]
    assert pair.responder.has_turn
    # release needs the turn back (X.225 FINISH needs every token)
    pair.initiator.release()
    pair.pump()
    assert pair.take("I") == [Released()]
    assert pair.take("R") == [Released()]


def test_called_session_and_presentation_selectors_are_sent_when_configured() -> None:
    """X.225 CN Called Session Selector (PI 52) and X.226 CP
    called-presentation-selector, from the peer's ssap/psap; none when
    empty (what real peers send)."""
    from gateway.x400.osi import cotp, session, tpkt
    from gateway.x400.osi import presentation as pres
    from gateway.x400.osi.association import AssociationConfig, Credentials, P1Association

    def first_cn(config: AssociationConfig) -> bytes:
        a = P1Association("initiator", Credentials("mta.a.test", "pw"), config)
        a.connect()
        a.data_to_send()  # the CR
        cc = tpkt.encode(cotp.encode(cotp.ConnectionConfirm(dst_ref=1, src_ref=2)))
        a.receive(cc)
        rest, tsdu = a.data_to_send(), b""
        while rest:  # the CN may span several DT TPDUs
            packet, rest = tpkt.split(rest)
            tsdu += cotp.decode(packet).user_data  # type: ignore[union-attr]
        return tsdu

    plain = session.decode(first_cn(AssociationConfig()))[0]
    assert 52 not in {p.code for p in plain.parameters}
    both = first_cn(AssociationConfig(called_ssap=b"\x00\x01", called_psap=b"\x00\x00\x00\x01"))
    cn = session.decode(both)[0]
    assert any(p.code == 52 and p.value == b"\x00\x01" for p in cn.parameters)
    user_data = next(p for p in cn.parameters if p.code in (193, 194)).value
    assert pres.decode_cp(user_data).called_selector == b"\x00\x00\x00\x01"
