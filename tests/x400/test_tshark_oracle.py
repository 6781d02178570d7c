"""Our encoders judged by an outside decoder: Wireshark's P1/P22 dissectors.

Each test builds an MTS-APDU the way the gateway does -- an Internet message
through the translator and the codecs, or a report from the model -- has
tshark decode it inside a real 1988-mode association (tests/x400/oracle.py)
and checks that tshark raises no expert warning or error and reads back
the values we encoded.
"""

from __future__ import annotations

from gateway.x400.model import (
    Delivered,
    GlobalDomainId,
    Message,
    MTSIdentifier,
    NonDelivered,
    ORName,
    Report,
    ReportedRecipient,
    TraceElement,
)
from gateway.x400.orname import parse_std_or
from gateway.x400.p1codec import encode_apdu
from gateway.x400.p22codec import encode_content
from gateway.x400.translate import internet_to_message
from tests.x400.oracle import tshark_decode
from tests.x400.test_bodies import GW

MIME = (
    b"From: John Smith <J.Smith@Marketing.Widget.COM>\r\n"
    b"To: Tom Harris <tom@alter.net>,\r\n"
    b" /S=Jones/O=Isode/PRMD=Lab/ADMD= /C=GB/@x400-gw.example.net\r\n"
    b"Subject: Quarterly figures for the oracle\r\n"
    b"Message-ID: <oracle.1@Marketing.Widget.COM>\r\n"
    b"Date: Sat, 28 Nov 2026 21:03:58 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n"
    b"\r\n"
    b"--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe figures.\r\n"
    b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
    b'filename="q3.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n'
    b"--b--\r\n"
)


def message_apdu() -> bytes:
    env, ipm = internet_to_message(
        MIME,
        "J.Smith@Marketing.Widget.COM",
        ["tom@alter.net", "/S=Jones/O=Isode/PRMD=Lab/ADMD= /C=GB/@x400-gw.example.net"],
        GW,
    )
    return encode_apdu(Message(env, encode_content(ipm)))


def test_translated_message_decodes_cleanly_with_our_values() -> None:
    fields = [
        "p22.subject",
        "p1.built_in",
        "p1.surname",
        "p1.given_name",
        "p1.organization_name",
        "p1.iso_3166_alpha2_code",
        "p1.local_identifier",
        "p1.ia5text",
    ]
    result = tshark_decode([message_apdu()], fields)
    assert result.expert == [], result.packets
    got = result.fields
    assert got["p22.subject"] == ["Quarterly figures for the oracle"]
    assert got["p1.built_in"] == ["22"]
    # originator J.Smith@Marketing.Widget.COM -> /I=J/S=Smith/OU=Marketing/O=Widget/ADMD=BTT/C=TC/
    assert "Smith" in got["p1.surname"] and "Jones" in got["p1.surname"]
    assert "Widget" in got["p1.organization_name"] and "Isode" in got["p1.organization_name"]
    assert {"TC", "GB"} <= set(got["p1.iso_3166_alpha2_code"])
    # the content-correlator carries the Subject line (RFC 2156 5.1.5)
    assert any("Quarterly figures" in text for text in got["p1.ia5text"])


def report_apdu() -> bytes:
    lab, other = GlobalDomainId("GB", " ", "Lab"), GlobalDomainId("GB", " ", "Other")
    report = Report(
        identifier=MTSIdentifier(other, "rep.1"),
        destination=ORName(parse_std_or("/G=John/S=Smith/O=Isode/PRMD=Lab/ADMD= /C=GB/")),
        trace=(TraceElement(other, "261128210402Z"),),
        subject=MTSIdentifier(lab, "msg.1"),
        recipients=(
            ReportedRecipient(
                ORName(parse_std_or("/S=Jones/PRMD=Other/ADMD= /C=GB/")),
                1,
                Delivered("261128210405Z"),
                "261128210404Z",
            ),
            ReportedRecipient(
                ORName(parse_std_or("/S=Brown/PRMD=Other/ADMD= /C=GB/")),
                2,
                NonDelivered(1, 0),
                "261128210404Z",
                supplementary_info="No such user",
            ),
        ),
        content_type=22,
        content_correlator="Subject: Quarterly figures",
    )
    return encode_apdu(report)


def test_report_decodes_cleanly_with_our_codes() -> None:
    fields = [
        "p1.non_delivery_reason_code",
        "p1.non_delivery_diagnostic_code",
        "p1.supplementary_information",
        "p1.surname",
        "p1.local_identifier",
    ]
    result = tshark_decode([report_apdu()], fields)
    assert result.expert == [], result.packets
    got = result.fields
    assert got["p1.non_delivery_reason_code"] == ["1"]  # unable-to-transfer
    assert got["p1.non_delivery_diagnostic_code"] == ["0"]  # unrecognised-OR-name
    assert got["p1.supplementary_information"] == ["No such user"]
    assert {"Smith", "Jones", "Brown"} <= set(got["p1.surname"])
    assert {"rep.1", "msg.1"} <= set(got["p1.local_identifier"])


def test_message_and_report_in_one_association() -> None:
    result = tshark_decode([message_apdu(), report_apdu()], ["p22.subject", "p1.built_in"])
    assert result.expert == [], result.packets
    assert result.fields["p22.subject"] == ["Quarterly figures for the oracle"]
