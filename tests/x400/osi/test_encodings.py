"""The exact bytes the machines send while binding, against hand-assembled
hex (P1-WIRE.md; X.224 13.3/13.4, X.225 8.3 CONNECT/ACCEPT, X.226 CP-type /
CPA-PPDU, X.227 AARQ/AARE, X.228 RTORQ/RTOAC, X.411 12.1.1 MTA-bind)."""

from __future__ import annotations

from gateway.x400.asn1 import ber, rtse
from gateway.x400.osi import cotp, tpkt
from gateway.x400.osi.association import (
    AssociationConfig,
    BindRequested,
    Credentials,
    P1Association,
    TransportConnected,
    encode_bind_argument,
    encode_bind_error,
    encode_bind_result,
)

from .pair import INITIATOR, RESPONDER

H = bytes.fromhex

# X.224 13.3: LI 19, CR, DST-REF 0, SRC-REF 1, class 0, C0 2^11, C2 "x400in88"
CR = H("03000018") + H("13e00000000100c0010bc208") + b"x400in88"
# X.224 13.4: LI 9, CC, DST-REF 1, SRC-REF 2, class 0, C0 2^11
CC = H("0300000e") + H("09d00001000200c0010b")

# X.411 12.1.1.1: bind-invoke [16] { authenticated [1] { [0] name, [1] { IA5String } } }
BIND_ARGUMENT = H("b01ea11c8010") + b"gateway.lab.test" + H("a1081606") + b"secret"
# the same with the password as OCTET STRING (PP)
BIND_ARGUMENT_OCTETS = H("b01ea11c8010") + b"gateway.lab.test" + H("a1080406") + b"secret"
# X.411 12.1.1.2: bind-result [17] { authenticated [1] { [0] name, [1] { IA5String } } }
BIND_RESULT = H("b11ca11a800d") + b"peer.lab.test" + H("a1091607") + b"secret2"
# X.228 RTORQ [16] { checkpointSize [0] 63, connectionDataRQ [3] { open [0] ... } }
# (windowSize 3 and dialogueMode monologue are the DEFAULTs, so omitted)
RTORQ = H("b02780013fa322a020") + BIND_ARGUMENT
# X.228 RTOAC [17] { checkpointSize [0] 63, connectionDataAC [2] { open [0] ... } }
RTOAC = H("b12580013fa220a01e") + BIND_RESULT
# X.227 AARQ [APPLICATION 0] { aSO-context-name [1] 2.6.0.1.6, user-information [30]
# { EXTERNAL { direct-reference 2.1.1, indirect-reference 3, [0] RTORQ } } }
AARQ = H("603ea106060456000106be34283206025101020103a029") + RTORQ
# AARE [APPLICATION 1] { [1] 2.6.0.1.6, result [2] accepted, result-source-diagnostic
# [3] { acse-service-user [1] null }, user-information [30] { EXTERNAL ... RTOAC } }
AARE = H("6148a106060456000106a203020100a305a103020100be32283006025101020103a027") + RTOAC
# X.226 CP-type: mode-selector [0] { [0] normal-mode }, normal-mode-parameters [2] {
# context list [4] { {1, 2.2.1.0.1, {BER}}, {3, 2.6.0.2.12, {BER}}, {5, 2.6.0.2.7, {BER}} },
# user-session-requirements [9] 0x0249 as a BIT STRING, user-data [APPLICATION 1]
# { PDV-list { pcid 1, [0] AARQ } } }
CP = (
    H("31818ba003800101a28183")
    + H("a433")
    + H("300f020101060452010001300406025101")
    + H("300f02010306045600020c300406025101")
    + H("300f020105060456000207300406025101")
    + H("8903069240")
    + H("61473045020101a040")
    + AARQ
)
# CPA-PPDU: mode-selector, normal-mode-parameters [2] { result list [5] three times
# { [0] acceptance, [1] BER }, requirements [9], user-data { pcid 1, [0] AARE } }
CPA = (
    H("317ca003800101a275")
    + H("a51b")
    + H("300780010081025101") * 3
    + H("8903069240")
    + H("6151304f020101a04a")
    + AARE
)
# X.225 8.3 Connect/Accept Item (PGI 5): protocol options 0, TSDU maximum size
# 0/0 (unlimited), version number (CN: 1 and 2; AC: 2), token setting 0
ACCEPT_ITEM_CN = H("050f1301001504000000001601031a0100")
ACCEPT_ITEM_AC = H("050f1301001504000000001601021a0100")
REQUIREMENTS = H("14020249")  # PI 20: half-duplex, minor sync, activities, exceptions
CN = H("0da5") + ACCEPT_ITEM_CN + REQUIREMENTS + H("c18e") + CP
AC = H("0e95") + ACCEPT_ITEM_AC + REQUIREMENTS + H("c17e") + CPA


def _dt(tsdu: bytes) -> bytes:
    return tpkt.encode(cotp.encode(cotp.Data(tsdu)))


def test_bind_encodings() -> None:
    assert encode_bind_argument(INITIATOR) == BIND_ARGUMENT
    assert encode_bind_argument(Credentials("gateway.lab.test", b"secret")) == (
        BIND_ARGUMENT_OCTETS
    )
    assert encode_bind_result(RESPONDER) == BIND_RESULT
    # bind-error [18] { INTEGER authentication-error(2) }
    assert encode_bind_error("authentication-error") == H("b203020102")


def test_initiator_sends_cr_then_cn() -> None:
    machine = P1Association("initiator", INITIATOR, AssociationConfig(), peer=RESPONDER)
    machine.connect()
    assert machine.data_to_send() == CR
    assert machine.receive(CC) == [TransportConnected()]
    assert machine.data_to_send() == _dt(CN)
    assert machine.state == "binding"


def test_responder_answers_cc_then_ac() -> None:
    machine = P1Association("responder", RESPONDER, AssociationConfig())
    assert machine.receive(CR) == [TransportConnected()]
    assert machine.data_to_send() == CC
    assert machine.receive(_dt(CN)) == [BindRequested("gateway.lab.test", "secret")]
    assert machine.data_to_send() == b""
    machine.accept_bind()
    assert machine.data_to_send() == _dt(AC)
    assert machine.bound
    assert machine.peer_name == "gateway.lab.test"


def test_rtorq_fields() -> None:
    apdu = ber.decode(RTORQ, rtse.RTSE_apdus())["rtorq-apdu"]
    assert (int(apdu["checkpointSize"]), int(apdu["windowSize"])) == (63, 3)
    assert int(apdu["dialogueMode"]) == 0  # monologue
