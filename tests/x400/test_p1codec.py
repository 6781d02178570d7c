"""P1 MTS-APDUs between BER and the model."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x400.asn1 import ber
from gateway.x400.model import (
    Delivered,
    DLExpansion,
    Extension,
    GlobalDomainId,
    Message,
    MessageEnvelope,
    MTSIdentifier,
    NonDelivered,
    ORName,
    Probe,
    Redirection,
    Report,
    ReportedRecipient,
    TraceElement,
    TransferRecipient,
)
from gateway.x400.orname import parse_std_or
from gateway.x400.p1codec import APDUError, decode_apdu, dump_apdu, encode_apdu
from gateway.x400.p22codec import decode_content
from tests.x400.asn1 import mta_samples
from tests.x400.asn1.berutil import extension_types_1988, to_indefinite
from tests.x400.test_orname import or_addresses

LAB = GlobalDomainId("GB", " ", "Lab")
OTHER = GlobalDomainId("GB", " ", "Other")


def name(text: str) -> ORName:
    return ORName(parse_std_or(text))


def full_message() -> Message:
    env = MessageEnvelope(
        identifier=MTSIdentifier(LAB, "mta.lab.te.844:28.10.26.21.03.58"),
        originator=name("/G=John/S=Smith/O=Isode/PRMD=Lab/ADMD= /C=GB/"),
        recipients=(
            TransferRecipient(
                name("/S=Jones/O=Isode/PRMD=Lab/ADMD= /C=GB/"),
                1,
                originator_report="report",
                explicit_conversion=1,
                redirection_history=(
                    Redirection(name("/S=Old/ADMD= /C=GB/"), "261128210000Z", "alias"),
                ),
            ),
            TransferRecipient(
                name("/S=Brown/O=Other/PRMD=Other/ADMD= /C=GB/"),
                2,
                responsibility=False,
                mta_report="no-report",
                originator_report="no-report",
                extensions=(Extension(6, bytes.fromhex("30060201010201 00".replace(" ", ""))),),
            ),
        ),
        trace=(
            TraceElement(LAB, "261128210358Z"),
            TraceElement(
                OTHER,
                "261128210402+0100",
                "rerouted",
                attempted_domain=LAB,
                deferred="261128220000Z",
                converted_eits=("ia5-text",),
                other_actions=frozenset({"redirected"}),
            ),
        ),
        content_type=22,
        original_eits=("ia5-text", "1.3.6.1.7.1.3.5"),
        content_identifier="abc.123",
        priority="urgent",
        indicators=frozenset({"content-return-request", "alternate-recipient-allowed"}),
        deferred_delivery="261129000000Z",
        internal_trace=(
            TraceElement(LAB, "261128210358Z", mta="mta.lab.test", attempted_mta="mx"),
        ),
        content_correlator="IPM abc.123",
        latest_delivery="261130000000Z",
        originator_return_address=parse_std_or("/S=Smith/PRMD=Lab/ADMD= /C=GB/"),
        conversion_with_loss_prohibited=True,
        dl_expansion_prohibited=True,
        dl_expansion_history=(DLExpansion(name("/CN=list/ADMD= /C=GB/"), "261128205900Z"),),
        extensions=(  # decoded in this order: numbers, then private OIDs
            Extension(40, b"\x30\x00"),  # a security extension kept opaque
            Extension("1.3.6.1.4.1.99999.1", b"\x04\x03abc", frozenset({"transfer", "delivery"})),
        ),
    )
    return Message(env, b"\xa0\x03\x31\x01\x00")


def probe_envelope() -> MessageEnvelope:
    """A probe has neither a priority nor a deferred delivery time."""
    env = full_message().envelope
    return dataclasses.replace(env, priority="normal", deferred_delivery=None)


def full_report() -> Report:
    return Report(
        identifier=MTSIdentifier(OTHER, "rep.lab.te.845:28.10.26"),
        destination=name("/G=John/S=Smith/O=Isode/PRMD=Lab/ADMD= /C=GB/"),
        trace=(TraceElement(OTHER, "261128210402Z"),),
        subject=MTSIdentifier(LAB, "mta.lab.te.844:28.10.26.21.03.58"),
        recipients=(
            ReportedRecipient(
                name("/S=Jones/ADMD= /C=GB/"),
                1,
                Delivered("261128210405Z", 2),
                "261128210404Z",
                originator_report="report",
            ),
            ReportedRecipient(
                name("/S=Brown/ADMD= /C=GB/"),
                2,
                NonDelivered(1, 0),
                "261128210404Z",
                converted_eits=("ia5-text",),
                originally_intended=name("/S=Braun/ADMD= /C=DE/"),
                supplementary_info="No such user at Other (550 5.1.1)",
            ),
        ),
        internal_trace=(TraceElement(OTHER, "261128210402Z", mta="mta.other.test"),),
        subject_intermediate_trace=(TraceElement(LAB, "261128210358Z"),),
        original_eits=("ia5-text",),
        content_type=22,
        content_identifier="abc.123",
        returned_content=b"\xa0\x00",
        content_correlator="IPM abc.123",
        rfc822_headers=("X-Postfix-Queue-ID: 4ABC",),
    )


@pytest.mark.parametrize(
    "value",
    [full_message, full_report, lambda: Probe(probe_envelope(), 123456)],
    ids=["message", "report", "probe"],
)
def test_model_round_trips_through_ber(value: object) -> None:
    original = value()  # type: ignore[operator]
    assert decode_apdu(encode_apdu(original)) == original


def test_samples_built_with_pyasn1_decode() -> None:
    msg = decode_apdu(ber.encode(mta_samples.message()))
    assert isinstance(msg, Message)
    env = msg.envelope
    assert env.identifier.local == "mta.lab.te.844:28.10.26.21.03.58"
    assert [r.name.address.surname for r in env.recipients] == ["Jones", "Brown"]
    assert env.content_correlator == "IPM abc.123"
    assert env.internal_trace[0].mta == "mta.lab.test"
    unknown = [e for e in env.extensions if isinstance(e.type, str)]
    assert unknown and unknown[0].criticality == {"transfer", "delivery"}
    ipm = decode_content(msg.content)
    assert ipm.heading.subject == "inner"  # type: ignore[union-attr]

    report = decode_apdu(ber.encode(mta_samples.report()))
    assert isinstance(report, Report)
    outcomes = [r.outcome for r in report.recipients]
    assert isinstance(outcomes[0], Delivered) and outcomes[1] == NonDelivered(1, 0)
    assert report.recipients[1].supplementary_info == "No such user at Other (550 5.1.1)"
    probe = decode_apdu(ber.encode(mta_samples.probe()))
    assert isinstance(probe, Probe) and probe.content_length == 123456


def test_pp_style_ber_reads_the_same() -> None:
    """Indefinite lengths, constructed strings, 1988 extension types (P1-WIRE.md)."""
    der = encode_apdu(full_message())
    pp = to_indefinite(extension_types_1988(der))
    assert pp != der
    assert decode_apdu(pp) == full_message()


def test_unknown_extensions_are_passed_on_byte_for_byte() -> None:
    der = encode_apdu(full_message())
    again = encode_apdu(decode_apdu(der))  # type: ignore[arg-type]
    assert again == der


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not an MTS-APDU"),
        (b"\xa5\x00", "not an MTS-APDU"),
        (b"\xa0\x89\x7f\xff\xff\xff\xff\xff\xff\xff\xff", "not an MTS-APDU"),
        (b"\xa0\x80" * 10_000, "not an MTS-APDU"),
    ],
)
def test_hostile_bytes_are_refused_quickly(data: bytes, problem: str) -> None:
    start = time.process_time()
    with pytest.raises(APDUError, match=problem):
        decode_apdu(data)
    assert time.process_time() - start < 5  # bounded: not a benchmark, a hang guard


def test_truncated_message_names_the_offset() -> None:
    der = encode_apdu(full_message())
    with pytest.raises(APDUError, match="offset"):
        decode_apdu(der[: len(der) // 2])


def test_dump_shows_the_asn1() -> None:
    text = dump_apdu(encode_apdu(full_message()))
    assert "message-identifier" in text and "mta.lab.te.844" in text


printable = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.:-", min_size=1, max_size=32)
times = st.from_regex(r"\A[0-9]{12}Z\Z")
domains = st.builds(
    GlobalDomainId,
    st.sampled_from(["GB", "DE", "826"]),
    st.sampled_from([" ", "BT", "0"]),
    st.none() | st.sampled_from(["Lab", "Other"]),
)


@st.composite
def envelopes(draw: st.DrawFn) -> MessageEnvelope:
    count = draw(st.integers(1, 5))
    recipients = tuple(
        TransferRecipient(
            ORName(draw(or_addresses())),
            n + 1,
            draw(st.booleans()),
            draw(st.sampled_from(["report", "non-delivery-report", "no-report"])),
            draw(st.sampled_from(["report", "non-delivery-report", "no-report"])),
        )
        for n in range(count)
    )
    return MessageEnvelope(
        identifier=MTSIdentifier(draw(domains), draw(printable)),
        originator=ORName(draw(or_addresses())),
        recipients=recipients,
        trace=tuple(
            draw(st.lists(st.builds(TraceElement, domains, times), min_size=1, max_size=3))
        ),
        content_identifier=draw(st.none() | printable.map(lambda t: t[:16])),
        priority=draw(st.sampled_from(["normal", "non-urgent", "urgent"])),
        content_correlator=draw(st.none() | printable),
    )


@settings(max_examples=100, deadline=None)
@given(envelopes(), st.binary(max_size=100))
def test_generated_messages_round_trip(env: MessageEnvelope, content: bytes) -> None:
    msg = Message(env, content)
    assert decode_apdu(encode_apdu(msg)) == msg


def test_report_without_optional_fields() -> None:
    bare = dataclasses.replace(
        full_report(),
        internal_trace=(),
        subject_intermediate_trace=(),
        original_eits=None,
        content_type=None,
        content_identifier=None,
        returned_content=None,
        content_correlator=None,
        rfc822_headers=(),
    )
    assert decode_apdu(encode_apdu(bare)) == bare
