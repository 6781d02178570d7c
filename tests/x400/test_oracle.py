"""tshark as oracle for the P1 framing (tests/x400/oracle.py), and unit tests
of the OSI upper-layer codecs it is built on (gateway/x400/osi/)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.asn1 import acse, ber, ipms, rtse
from gateway.x400.osi import cotp, session, tpkt
from gateway.x400.osi import presentation as pres
from gateway.x400.osi.errors import OSIError, Truncated
from tests.x400 import oracle
from tests.x400.oracle import tlv

# --- an MTS-APDU written by hand (until gateway.x400.asn1.mta exists) --------
#
# X.419 MTS-APDU message [0] IMPLICIT Message; X.411 MTAAbstractService has
# IMPLICIT TAGS.  The O/R names follow P1-WIRE.md (ADMD a single space).


def _printable(text: str) -> bytes:
    return tlv(0x13, text.encode("ascii"))


def _global_domain_identifier() -> bytes:
    # [APPLICATION 3] SEQUENCE { CountryName [APPLICATION 1],
    #   AdministrationDomainName [APPLICATION 2], PrivateDomainIdentifier }
    return tlv(0x63, tlv(0x61, _printable("GB")) + tlv(0x62, _printable(" ")) + _printable("Lab"))


def _or_name(surname: str) -> bytes:
    # ORName [APPLICATION 0] { BuiltInStandardAttributes: country-name,
    #   administration-domain-name, private-domain-name [2],
    #   organization-name [3], personal-name [5] { surname [0] } }
    attributes = (
        tlv(0x61, _printable("GB"))
        + tlv(0x62, _printable(" "))
        + tlv(0xA2, _printable("Lab"))
        + tlv(0x83, b"Isode")
        + tlv(0xA5, tlv(0x80, surname.encode("ascii")))
    )
    return tlv(0x60, tlv(0x30, attributes))


def p22_ipm(subject: str, text: str) -> bytes:
    """A P22 InformationObject: an IPM with *subject* and one IA5 body part,
    encoded with gateway.x400.asn1.ipms."""
    ipm = ipms.IPM()
    ipm["heading"]["this-IPM"]["user-relative-identifier"] = "oracle.1"
    ipm["heading"]["subject"] = subject
    part = ipms.BodyPart()
    part["basic"]["ia5-text"]["parameters"]["repertoire"] = "ia5"
    part["basic"]["ia5-text"]["data"] = text
    ipm["body"].append(part)
    info = ipms.InformationObject()
    info["ipm"] = ipms.as_component(info, "ipm", ipm)
    return ber.encode(info)


def message_apdu(content: bytes, *, content_type_tag: int = 0x46) -> bytes:
    """MTS-APDU message [0] { MessageTransferEnvelope, Content }."""
    envelope = (
        # message-identifier MTSIdentifier [APPLICATION 4] { GDI, local-identifier }
        tlv(0x64, _global_domain_identifier() + tlv(0x16, b"oracle.1"))
        + _or_name("Smith")  # originator-name
        + tlv(content_type_tag, b"\x16")  # content-type built-in [APPLICATION 6] 22
        + tlv(0x47, b"\x06\x40")  # per-message-indicators: alternate-recipient-allowed
        # trace-information [APPLICATION 9] { TraceInformationElement { GDI,
        #   DomainSuppliedInformation { arrival-time [0], routing-action [2] relayed } } }
        + tlv(
            0x69,
            tlv(
                0x30,
                _global_domain_identifier()
                + tlv(0x31, tlv(0x80, b"260101120000Z") + tlv(0x82, b"\x00")),
            ),
        )
        # per-recipient-fields [2] { { recipient-name, originally-specified-
        #   recipient-number [0] 1, per-recipient-indicators [1]
        #   responsibility + originating-MTA-non-delivery-report } }
        + tlv(
            0xA2,
            tlv(0x31, _or_name("Jones") + tlv(0x80, b"\x01") + tlv(0x81, b"\x00\xa0")),
        )
    )
    return tlv(0xA0, tlv(0x31, envelope) + tlv(0x04, content))


# --- the oracle --------------------------------------------------------------


def test_bind_alone_decodes_cleanly() -> None:
    result = oracle.tshark_decode(
        [],
        [
            "p1.authenticated.initiator-name",
            "p1.authenticated.responder-name",
            "acse.aSO_context_name",
            "rtse.checkpointSize",
        ],
        initiator=("percival.smhs.co.uk", "excalibur"),
        responder=("guinevere.smhs.co.uk", "merlin"),
    )
    assert result.expert == [], result.packets
    assert result.fields["p1.authenticated.initiator-name"] == ["percival.smhs.co.uk"]
    assert result.fields["p1.authenticated.responder-name"] == ["guinevere.smhs.co.uk"]
    # the AARQ and the AARE both name id-ac-mts-transfer
    assert result.fields["acse.aSO_context_name"] == [oracle.ID_AC_MTS_TRANSFER] * 2
    assert result.fields["rtse.checkpointSize"] == ["63", "63"]


def test_message_transfer_decodes_cleanly() -> None:
    apdu = message_apdu(p22_ipm("oracle test", "Hello from the oracle.\r\n"))
    result = oracle.tshark_decode([apdu], ["p22.subject", "p1.built_in", "p1.mta_name"])
    assert result.expert == [], result.packets
    assert result.fields["p22.subject"] == ["oracle test"]
    assert result.fields["p1.built_in"] == ["22"]


def test_large_message_crosses_checkpoints() -> None:
    """An APDU over the 63 KiB checkpoint travels in RTTR segments with
    MIP/MIA between them; tshark reassembles it at the activity end."""
    big = message_apdu(p22_ipm("big one", "x" * 150_000))
    small = message_apdu(p22_ipm("small one", "y"))
    result = oracle.tshark_decode([big, small], ["p22.subject", "rtse.reassembled.length"])
    assert result.expert == [], result.packets
    assert result.fields["p22.subject"] == ["big one", "small one"]
    assert int(result.fields["rtse.reassembled.length"][0]) > 2 * oracle.CHECKPOINT_SIZE * 1024


@pytest.mark.parametrize(
    "apdu",
    [
        # the MTS-APDU CHOICE has no [5]
        pytest.param(b"\xa5" + message_apdu(p22_ipm("s", "t"))[1:], id="apdu-tag"),
        # content-type [APPLICATION 5] where [APPLICATION 6] belongs
        pytest.param(message_apdu(p22_ipm("s", "t"), content_type_tag=0x45), id="field-tag"),
    ],
)
def test_wrong_tag_is_an_expert_error(apdu: bytes) -> None:
    result = oracle.tshark_decode([apdu], ["p22.subject"])
    assert any(line.startswith("Error/") for line in result.expert), result.expert
    assert result.fields["p22.subject"] == []


def test_expert_parsing() -> None:
    output = (
        "\nErrors (1)\n=============\n   Frequency      Group           Protocol  Summary\n"
        "           1   Protocol                 P1  Internal error, zero-byte P1 PDU\n\n"
        "Warns (2)\n=============\n   Frequency      Group           Protocol  Summary\n"
        "           2  Undecoded               RTSE  Unknown RTSE PDU\n\n"
        "Chats (1)\n=============\n   Frequency      Group           Protocol  Summary\n"
        "           1   Sequence               COTP  Disconnect Request(DR): 0x1 -> 0x2\n"
    )
    assert oracle._expert_lines(output) == [
        "Error/P1: Internal error, zero-byte P1 PDU (x1)",
        "Warning/RTSE: Unknown RTSE PDU (x2)",
    ]


def test_association_framing() -> None:
    tsdus = oracle.association([b"\xa0\x00"])
    kinds = [(d, session.decode(t)[0].si) for d, t in tsdus]
    assert kinds == [
        ("I", session.CN),
        ("O", session.AC),
        ("I", session.AS),
        ("I", session.DT),
        ("I", session.AE),
        ("O", session.AEA),
        ("I", session.FN),
        ("O", session.DN),
    ]
    connect = session.decode(tsdus[0][1])[0]
    assert connect.get(session.PI_SESSION_REQUIREMENTS) == b"\x02\x49"
    cp = pres.decode_cp(connect.user_data)
    assert [(c.identifier, c.abstract_syntax) for c in cp.contexts] == [
        (1, "2.2.1.0.1"),
        (3, "2.6.0.2.12"),
        (5, "2.6.0.2.7"),
    ]
    aarq = ber.decode(cp.user_data[0].value, acse.ACSE_apdu())["aarq"]
    assert str(aarq["aSO-context-name"]) == oracle.ID_AC_MTS_TRANSFER
    external = aarq["user-information"][0]
    assert int(external["indirect-reference"]) == 3
    rtorq = ber.decode(bytes(external["encoding"]["single-ASN1-type"]), rtse.RTSE_apdus())
    assert int(rtorq["rtorq-apdu"]["checkpointSize"]) == 63
    # the transfer: RTTR holding EXTERNAL { indirect-reference 5, [0] APDU }
    data = session.decode(tsdus[3][1])[0]
    assert data.tokens == session.SPDU(session.GT)
    (pdv,) = pres.decode_user_data(data.user_data)
    assert pdv.context == 3
    rttr = ber.decode(pdv.value, rtse.RTSE_apdus())["rttr-apdu"]
    assert bytes(rttr) == bytes.fromhex("2807 020105 a002 a000")


# --- tpkt (RFC 1006 section 6) -----------------------------------------------


def test_tpkt_round_trip() -> None:
    packet = tpkt.encode(b"\x02\xf0\x80")
    assert packet == b"\x03\x00\x00\x07\x02\xf0\x80"
    assert tpkt.decode(packet) == b"\x02\xf0\x80"
    assert tpkt.split(packet + b"\x03\x00") == (b"\x02\xf0\x80", b"\x03\x00")


def test_tpkt_largest() -> None:
    tpdu = bytes(tpkt.MAX_PAYLOAD)
    assert tpkt.decode(tpkt.encode(tpdu)) == tpdu
    with pytest.raises(tpkt.TPKTError):
        tpkt.encode(tpdu + b"\x00")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", Truncated),
        (b"\x03\x00\x00", Truncated),
        (b"\x03\x00\x00\x0a\x02\xf0\x80", Truncated),  # 10 announced, 7 present
        (b"\x02\x00\x00\x07\x02\xf0\x80", tpkt.TPKTError),  # version 2
        (b"\x03\x00\x00\x04", tpkt.TPKTError),  # below the minimum of 7
    ],
)
def test_tpkt_refuses(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        tpkt.split(data)


def test_tpkt_decode_refuses_trailing_bytes() -> None:
    with pytest.raises(tpkt.TPKTError):
        tpkt.decode(tpkt.encode(b"\x02\xf0\x80") + b"\x00")


# --- cotp (X.224 class 0) ----------------------------------------------------


def test_cotp_connection_request_bytes() -> None:
    cr = cotp.ConnectionRequest(1, tpdu_size=2048, called_tsap=b"x400in88")
    encoded = cotp.encode(cr)
    # LI 19, CR, DST-REF 0, SRC-REF 1, class 0, C0 size 2^11, C2 "x400in88"
    assert encoded == bytes.fromhex("13e00000000100c0010bc208") + b"x400in88"
    assert cotp.decode(encoded) == cr


@pytest.mark.parametrize(
    "tpdu",
    [
        cotp.ConnectionRequest(7, 1024, b"calling", b"called", other=((0xC6, b"\x01"),)),
        cotp.ConnectionConfirm(7, 9, 2048, calling_tsap=b"a"),
        cotp.DisconnectRequest(9, 7, reason=128),
        cotp.Data(b"user data", eot=False),
        cotp.Data(b""),
        cotp.Error(9, cause=2, invalid_tpdu=b"\x02\xf0"),
    ],
)
def test_cotp_round_trip(tpdu: cotp.TPDU) -> None:
    assert cotp.decode(cotp.encode(tpdu)) == tpdu


def test_cotp_segment() -> None:
    pieces = cotp.segment(bytes(300), 128)
    assert [len(p) for p in pieces] == [128, 128, 53]  # 125 + 125 + 50 octets of data
    decoded = [cotp.decode(p) for p in pieces]
    assert [d.eot for d in decoded if isinstance(d, cotp.Data)] == [False, False, True]
    assert b"".join(d.user_data for d in decoded if isinstance(d, cotp.Data)) == bytes(300)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", Truncated),
        (b"\x06\xe0\x00", Truncated),  # header shorter than its LI
        (b"\xff\xe0", cotp.COTPError),  # LI 255 is reserved
        (b"\x03\xf0\x80\x00", cotp.COTPError),  # class 0 DT has LI 2
        (b"\x08\xe0\x00\x00\x00\x01\x00\xc2\x05", cotp.COTPError),  # parameter past header
        (b"\x09\xe0\x00\x00\x00\x01\x00\xc0\x01\x03", cotp.COTPError),  # size code 3
        (b"\x02\x10\x00", cotp.COTPError),  # unknown code
    ],
)
def test_cotp_refuses(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        cotp.decode(data)


def test_cotp_refuses_bad_sizes() -> None:
    with pytest.raises(cotp.COTPError):
        cotp.tpdu_size_code(4096)  # beyond class 0
    with pytest.raises(cotp.COTPError):
        cotp.tpdu_size_code(1000)


# --- session (X.225) ---------------------------------------------------------


def test_session_connect_round_trip() -> None:
    encoded = session.connect(
        b"\x31\x00",
        calling_reference=b"ref",
        common_reference=b"260101120000Z",
        tsdu_maximum_size=(0, 0),
        called_selector=b"S",
    )
    (cn,) = session.decode(encoded)
    assert cn.si == session.CN
    assert cn.get(session.PI_SESSION_REQUIREMENTS) == b"\x02\x49"
    assert cn.get_in_group(session.PGI_CONNECT_ACCEPT_ITEM, session.PI_VERSION_NUMBER) == b"\x03"
    assert cn.get_in_group(session.PGI_CONNECTION_IDENTIFIER, session.PI_COMMON_REFERENCE) == (
        b"260101120000Z"
    )
    assert cn.get(session.PI_CALLED_SESSION_SELECTOR) == b"S"
    assert cn.user_data == b"\x31\x00"
    assert session.encode(cn) == encoded


def test_session_long_lengths_use_ff_and_two_octets() -> None:
    assert session.encode_length(254) == b"\xfe"
    assert session.encode_length(255) == b"\xff\x00\xff"
    assert session.encode_length(65535) == b"\xff\xff\xff"
    with pytest.raises(session.SessionError):
        session.encode_length(65536)
    encoded = session.accept(bytes(300))
    assert encoded[:4] == bytes([session.AC, 0xFF]) + (len(encoded) - 4).to_bytes(2, "big")
    user_data = encoded.index(bytes([session.PGI_USER_DATA, 0xFF, 0x01, 0x2C]))
    assert encoded[user_data + 4 :] == bytes(300)
    (ac,) = session.decode(encoded)
    assert ac.user_data == bytes(300)


def test_session_ff_form_accepted_for_short_lengths() -> None:
    # X.225 8.2.5 asks for the short form, but a receiver can read both
    (spdu,) = session.decode(b"\x2d\xff\x00\x03\x29\x01\x07")
    assert spdu.get(session.PI_ACTIVITY_IDENTIFIER) == b"\x07"


def test_session_extended_user_data() -> None:
    (cn,) = session.decode(session.connect(bytes(600)))
    assert cn.get(session.PGI_EXTENDED_USER_DATA) == bytes(600)
    assert cn.user_data == bytes(600)
    with pytest.raises(session.SessionError):
        session.connect(bytes(session.MAX_CN_EXTENDED_USER_DATA + 1))
    with pytest.raises(session.SessionError):
        session.connect(bytes(600), versions=session.VERSION_1)


def test_session_data_transfer_is_concatenated_with_give_tokens() -> None:
    encoded = session.data_transfer(b"\x61\x00")
    assert encoded == b"\x01\x00\x01\x00\x61\x00"
    (dt,) = session.decode(encoded)
    assert dt.si == session.DT
    assert dt.tokens == session.SPDU(session.GT)
    assert dt.user_data == b"\x61\x00"
    assert session.encode(dt) == encoded


@pytest.mark.parametrize(
    ("encoded", "si", "serial"),
    [
        (session.activity_start(b"\x02\x01\x01"), session.AS, None),
        (session.activity_end(1), session.AE, 1),
        (session.activity_end_ack(12), session.AEA, 12),
        (session.minor_sync(999999), session.MIP, 999999),
        (session.minor_sync(3, confirm=False), session.MIP, 3),
        (session.minor_sync_ack(2), session.MIA, 2),
        (session.finish(b"\x61\x00"), session.FN, None),
        (session.disconnect(b"\x61\x00"), session.DN, None),
        (session.abort(), session.AB, None),
        (session.refuse(b"\x02"), session.RF, None),
    ],
)
def test_session_spdus(encoded: bytes, si: int, serial: int | None) -> None:
    (spdu,) = session.decode(encoded)
    assert spdu.si == si
    assert session.serial_number(spdu) == serial
    assert session.encode(spdu) == encoded


def test_session_activity_end_bytes() -> None:
    assert session.activity_end(1) == b"\x29\x03\x2a\x01\x31"  # AE, Serial Number "1"


def test_session_refuses_bad_values() -> None:
    with pytest.raises(session.SessionError):
        session.activity_start(bytes(7))
    with pytest.raises(session.SessionError):
        session.minor_sync(1_000_000)
    with pytest.raises(session.SessionError):
        session.encode(session.SPDU(session.AS, (), b"data"))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", Truncated),
        (b"\x0d", Truncated),  # no length
        (b"\x0d\xff\x00", Truncated),  # three-octet length cut short
        (b"\x0d\x05\x14\x02", Truncated),  # parameter field cut short
        (b"\x0d\x03\x14\x05\x02", session.SessionError),  # parameter past the SPDU
        (b"\x0d\x04\x05\x02\x01\x00", session.SessionError),  # PI past its group
        (b"\x0d\x04\x05\x02\x05\x00", session.SessionError),  # PGI inside a PGI
    ],
)
def test_session_refuses(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        session.decode(data)


def test_session_serial_number_must_be_digits() -> None:
    (spdu,) = session.decode(b"\x31\x03\x2a\x01x")
    with pytest.raises(session.SessionError):
        session.serial_number(spdu)


# --- presentation (X.226) and the ACSE / RTSE modules ------------------------


def test_presentation_connect_round_trip() -> None:
    request = pres.ConnectRequest(
        oracle.CONTEXTS,
        (pres.PDV(1, b"\x60\x00"),),
        session.SESSION_REQUIREMENTS_RTSE,
        calling_selector=b"\x00\x01",
    )
    assert pres.decode_cp(pres.encode_cp(request)) == request
    accept = pres.ConnectAccept(
        (pres.ContextResult(), pres.ContextResult(2, None, 1)),
        (pres.PDV(1, b"\x61\x00"),),
        responding_selector=b"R",
    )
    assert pres.decode_cpa(pres.encode_cpa(accept)) == accept


def test_presentation_user_data_bytes() -> None:
    encoded = pres.encode_user_data([pres.PDV(3, b"\x04\x01x")])
    # [APPLICATION 1] { PDV-list { pcid 3, single-ASN1-type [0] { 04 01 78 } } }
    assert encoded == bytes.fromhex("610a3008020103a003040178")
    assert pres.decode_user_data(encoded) == (pres.PDV(3, b"\x04\x01x"),)
    with pytest.raises(pres.PresentationError):
        pres.encode_user_data([])


def test_presentation_refuses() -> None:
    with pytest.raises(pres.PresentationError):
        pres.decode_user_data(b"\x61\x05\x30\x03\x02\x01")  # truncated
    with pytest.raises(pres.PresentationError):
        pres.decode_user_data(bytes.fromhex("610730050201038100"))  # octet-aligned
    with pytest.raises(pres.PresentationError):
        pres.decode_cp(pres.encode_user_data([pres.PDV(1, b"\x05\x00")]))


def test_rtse_apdus_round_trip() -> None:
    apdu = rtse.RTSE_apdus()
    rtorq = apdu["rtorq-apdu"]
    rtorq["checkpointSize"] = 63
    rtorq["dialogueMode"] = "twa"
    rtorq["connectionDataRQ"]["open"] = oracle.mta_bind_argument("a", "b")
    encoded = ber.encode(apdu)
    # [16] { [0] 63, [2] twa, [3] { open [0] { bind-invoke [16] ... } } }
    assert encoded.startswith(bytes.fromhex("b0") + bytes([len(encoded) - 2]) + b"\x80\x01\x3f")
    decoded = ber.decode(encoded, rtse.RTSE_apdus())
    assert int(decoded["rtorq-apdu"]["windowSize"]) == 3  # the default
    assert ber.encode(decoded) == encoded
    for choice, value in (("rttr-apdu", b"segment"), ("rttp-apdu", 2)):
        apdu = rtse.RTSE_apdus()
        apdu[choice] = value
        assert ber.encode(ber.decode(ber.encode(apdu), rtse.RTSE_apdus())) == ber.encode(apdu)
    apdu = rtse.RTSE_apdus()
    apdu["rtab-apdu"]["abortReason"] = "userError"
    assert ber.encode(apdu) == bytes.fromhex("b603800106")
    apdu = rtse.RTSE_apdus()
    apdu["rtorj-apdu"]["refuseReason"] = "validationFailure"
    assert ber.decode(ber.encode(apdu), rtse.RTSE_apdus()).getName() == "rtorj-apdu"


def test_acse_apdus_round_trip() -> None:
    apdu = acse.ACSE_apdu()
    aare = apdu["aare"]
    aare["aSO-context-name"] = oracle.ID_AC_MTS_TRANSFER
    aare["result"] = "rejected-permanent"
    aare["result-source-diagnostic"]["acse-service-user"] = "authentication-failure"
    aare["responding-AP-title"]["ap-title-form2"] = "1.2.3"
    aare["responding-AE-qualifier"]["aso-qualifier-form2"] = 7
    encoded = ber.encode(apdu)
    assert encoded[0] == 0x61  # [APPLICATION 1]
    assert ber.encode(ber.decode(encoded, acse.ACSE_apdu())) == encoded
    for choice, tag in (("rlrq", 0x62), ("rlre", 0x63)):
        apdu = acse.ACSE_apdu()
        apdu[choice]["reason"] = "normal"
        assert ber.encode(apdu) == bytes([tag]) + bytes.fromhex("03800100")
    apdu = acse.ACSE_apdu()
    apdu["abrt"]["abort-source"] = "acse-service-provider"
    apdu["abrt"]["abort-diagnostic"] = "protocol-error"
    assert ber.encode(apdu) == bytes.fromhex("6406800101810102")
    assert ber.decode(ber.encode(apdu), acse.ACSE_apdu()).getName() == "abrt"


# --- any input only ever raises our own protocol error -----------------------


@given(st.binary(max_size=300))
def test_decoders_raise_only_osi_errors(data: bytes) -> None:
    for decode in (
        tpkt.split,
        cotp.decode,
        session.decode,
        pres.decode_user_data,
        pres.decode_cp,
        pres.decode_cpa,
    ):
        with contextlib.suppress(OSIError):
            decode(data)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300)), max_size=5))
def test_session_parameters_round_trip(units: list[tuple[int, bytes]]) -> None:
    groups = {session.PGI_CONNECTION_IDENTIFIER, session.PGI_CONNECT_ACCEPT_ITEM}
    params = tuple(session.Parameter(code, value) for code, value in units if code not in groups)
    spdu = session.SPDU(session.AS, params)
    (decoded,) = session.decode(session.encode(spdu))
    assert decoded == spdu
