"""P22 contents between BER and the model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.x400.asn1 import ber, ipms
from gateway.x400.model import (
    IPM,
    IPN,
    BinaryPart,
    FilePart,
    Heading,
    IPMIdentifier,
    MessagePart,
    NonReceipt,
    OpaquePart,
    ORDescriptor,
    ORName,
    Receipt,
    RecipientSpecifier,
    TextPart,
)
from gateway.x400.orname import parse_std_or
from gateway.x400.p22codec import ContentError, decode_content, encode_content
from tests.x400.asn1 import samples
from tests.x400.test_orname import or_addresses


def information_object(ipm: object) -> bytes:
    """InformationObject ipm [0] IMPLICIT: the IPM's SEQUENCE tag replaced."""
    data = ber.encode(ipm)
    assert data[0] == 0x30
    return b"\xa0" + data[1:]


def test_full_sample_ipm_reads_every_field() -> None:
    ipm = decode_content(information_object(samples.full_ipm()))
    assert isinstance(ipm, IPM)
    h = ipm.heading
    assert h.this_ipm.local == "(q)abc.123(q)(a)lab.test"
    assert h.this_ipm.user is not None and h.this_ipm.user.surname == "Smith"
    assert h.originator is not None and h.originator.free_form == "John Smith"
    assert h.originator.telephone == "+44 20 1234"
    assert h.originator.formal is not None and h.originator.formal.directory_name is not None
    assert [r.recipient.formal.address.surname for r in h.primary if r.recipient.formal] == [
        "Jones",
        "Brown",
    ]
    assert h.primary[0].notifications == {"rn", "nrn"} and h.primary[0].reply_requested
    assert h.blind_copy is not None and len(h.blind_copy) == 1
    assert h.subject == "Quarterly figures, r\xe9sum\xe9"
    assert (h.importance, h.sensitivity, h.autoforwarded) == (
        "high",
        "company-confidential",
        True,
    )
    assert h.incomplete_copy and h.auto_submitted == "auto-generated"
    assert [type(p) for p in ipm.body] == [TextPart, TextPart, BinaryPart]
    assert ipm.body[1] == TextPart(" Gr\xfc\xdfe aus K\xf6ln\r\n", "general", (1, 6, 100))


def test_full_sample_survives_model_round_trip() -> None:
    first = decode_content(information_object(samples.full_ipm()))
    assert decode_content(encode_content(first)) == first


def test_unknown_body_part_is_kept_byte_for_byte() -> None:
    ipm = samples.simple_ipm()
    fax = ipms.BodyPart()
    g3 = fax["basic"]["g3-facsimile"]
    g3["parameters"]["number-of-pages"] = 1
    g3["data"].append((1, 0, 1, 1))
    ipm["body"].append(fax)
    model = decode_content(information_object(ipm))
    assert isinstance(model, IPM)
    opaque = model.body[-1]
    assert isinstance(opaque, OpaquePart) and opaque.kind == "g3-facsimile"
    assert opaque.data == ber.encode(fax)
    again = decode_content(encode_content(model))
    assert again == model


def test_forwarded_message_and_file_transfer_parts() -> None:
    inner = IPM(Heading(IPMIdentifier(None, "inner.1"), subject="inner"), (TextPart("hi"),))
    outer = IPM(
        Heading(IPMIdentifier(parse_std_or("/S=Smith/O=lab/ADMD= /C=GB/"), "outer.1")),
        (
            MessagePart(inner, "261128120000Z"),
            FilePart(b"%PDF-1.4\x00\xff", "report.pdf"),
            FilePart(b"no name", None),
        ),
    )
    assert decode_content(encode_content(outer)) == outer


def test_ipn_receipt_and_non_receipt_round_trip() -> None:
    subject = IPMIdentifier(parse_std_or("/S=Smith/ADMD= /C=GB/"), "abc")
    who = ORDescriptor(ORName(parse_std_or("/S=Jones/ADMD= /C=GB/")))
    receipt = IPN(subject, Receipt("261128120000Z", "automatic", "read at home"), who, who)
    returned = IPM(Heading(IPMIdentifier(None, "abc"), subject="gone"), (TextPart("x"),))
    non_receipt = IPN(
        subject,
        NonReceipt("ipm-discarded", "ipm-expired", None, returned),
        conversion_eits=("ia5-text",),
    )
    for ipn in (receipt, non_receipt):
        assert decode_content(encode_content(ipn)) == ipn


def test_hostile_content_is_a_content_error() -> None:
    with pytest.raises(ContentError, match="does not decode"):
        decode_content(b"\xa0\x03\x02\x01\x00")
    with pytest.raises(ContentError):
        decode_content(b"\xa0\x84\xff\xff\xff\xff")
    deep = b"\xa0\x80" * 5000 + b"\x00\x00" * 5000
    with pytest.raises(ContentError, match="nest"):
        decode_content(deep)


printable = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 '()+,-./:=?"),
    min_size=1,
    max_size=30,
)
times = st.from_regex(r"\A[0-9]{10}([0-9]{2})?Z\Z")


@st.composite
def descriptors(draw: st.DrawFn) -> ORDescriptor:
    formal = draw(st.none() | or_addresses().map(ORName))
    free = draw(st.none() | printable)
    if formal is None and free is None:
        free = "someone"
    return ORDescriptor(formal, free, draw(st.none() | st.from_regex(r"\A\+?[0-9 ]{1,20}\Z")))


@st.composite
def identifiers(draw: st.DrawFn) -> IPMIdentifier:
    return IPMIdentifier(draw(st.none() | or_addresses()), draw(printable))


@st.composite
def recipients(draw: st.DrawFn) -> RecipientSpecifier:
    notes = draw(st.frozensets(st.sampled_from(["rn", "nrn", "ipm-return", "an-supported"])))
    return RecipientSpecifier(draw(descriptors()), notes, draw(st.booleans()))


@st.composite
def headings(draw: st.DrawFn) -> Heading:
    few = {"max_size": 3}
    return Heading(
        this_ipm=draw(identifiers()),
        originator=draw(st.none() | descriptors()),
        authorizing_users=tuple(draw(st.lists(descriptors(), **few))),
        primary=tuple(draw(st.lists(recipients(), **few))),
        copy=tuple(draw(st.lists(recipients(), **few))),
        blind_copy=draw(st.none() | st.lists(recipients(), **few).map(tuple)),
        replied_to=draw(st.none() | identifiers()),
        obsoleted=tuple(draw(st.lists(identifiers(), **few))),
        related=tuple(draw(st.lists(identifiers(), **few))),
        subject=draw(
            st.none() | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255))
        ),
        expiry_time=draw(st.none() | times),
        reply_time=draw(st.none() | times),
        reply_recipients=tuple(draw(st.lists(descriptors(), **few))),
        importance=draw(st.sampled_from([None, "low", "high"])),
        sensitivity=draw(st.sampled_from([None, "personal", "private", "company-confidential"])),
        autoforwarded=draw(st.sampled_from([None, True])),
        incomplete_copy=draw(st.booleans()),
        # Languages is a SET OF: DER sorts it, so only a sorted tuple survives
        languages=tuple(
            sorted(draw(st.lists(st.sampled_from(["en", "fr", "de"]), max_size=2, unique=True)))
        ),
        auto_submitted=draw(st.sampled_from([None, "auto-generated", "auto-replied"])),
        rfc822_fields=tuple(
            draw(st.lists(st.from_regex(r"\AX-[A-Za-z]{1,8}: [ -~]{0,20}\Z"), **few))
        ),
    )


body_parts = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)).map(TextPart),
    st.text(alphabet=st.characters(min_codepoint=0xA0, max_codepoint=0xFF)).map(
        lambda t: TextPart(t, "general", (1, 6, 100))
    ),
    st.binary(max_size=200).map(BinaryPart),
    st.tuples(st.binary(max_size=200), st.none() | printable).map(lambda t: FilePart(*t)),
)


@settings(max_examples=150, deadline=None)
@given(headings(), st.lists(body_parts, max_size=4))
def test_generated_ipms_round_trip_through_ber(heading: Heading, body: list[object]) -> None:
    ipm = IPM(heading, tuple(body))  # type: ignore[arg-type]
    assert decode_content(encode_content(ipm)) == ipm
