"""X.420 IPMSInformationObjects: encode, decode, re-encode, BER variants."""

from __future__ import annotations

from typing import Any

from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ

from gateway.x400.asn1 import ber, ipms
from gateway.x400.asn1 import ipms_object_identifiers as oids
from tests.x400.asn1 import berutil, samples


def test_full_ipm_round_trip() -> None:
    ipm = samples.full_ipm()
    encoded = ber.encode(ipm)
    decoded = ber.decode(encoded, ipms.IPM())  # refuses leftover bytes itself
    assert ber.encode(decoded) == encoded
    assert decoded.prettyPrint() == ipm.prettyPrint()


def test_every_heading_field_survives() -> None:
    decoded = ber.decode(ber.encode(samples.full_ipm()), ipms.IPM())
    heading = decoded["heading"]
    for name in [t.name for t in heading.componentType.namedTypes]:
        assert heading[name].isValue, name
    assert str(heading["subject"]) == "Quarterly figures, r\xe9sum\xe9"
    assert str(heading["this-IPM"]["user-relative-identifier"]) == "(q)abc.123(q)(a)lab.test"
    formal = heading["originator"]["formal-name"]
    assert str(formal["built-in-standard-attributes"]["personal-name"]["surname"]) == "Smith"
    assert (
        str(formal["built-in-standard-attributes"]["administration-domain-name"]["printable"])
        == " "
    )
    assert formal["directory-name"].isValue
    assert str(heading["originator"]["free-form-name"]) == "John Smith"
    assert str(heading["importance"]) == "high"
    assert str(heading["sensitivity"]) == "company-confidential"
    assert bool(heading["auto-forwarded"]) is True
    assert str(heading["expiry-time"]) == "261231235959Z"
    assert len(heading["primary-recipients"]) == 2
    first = heading["primary-recipients"][0]
    assert first["notification-requests"] == univ.BitString("'11'B")
    assert bool(first["reply-requested"]) is True
    assert len(heading["related-IPMs"]) == 2
    types = sorted(tuple(e["type"]) for e in heading["extensions"])
    assert types == sorted([tuple(oids.id_hex_incomplete_copy), tuple(oids.id_hex_auto_submitted)])
    null_valued = [e for e in heading["extensions"] if e["type"] == oids.id_hex_incomplete_copy]
    assert bytes(null_valued[0]["value"]) == b"\x05\x00"  # DEFAULT NULL


def test_known_tag_bytes() -> None:
    """Spot checks of the wire form against X.420 (IMPLICIT TAGS module)."""
    encoded = ber.encode(samples.full_ipm())
    assert encoded[0] == 0x30  # IPM ::= SEQUENCE
    heading = ber.encode(samples.heading())
    assert heading[0] == 0x31  # Heading ::= SET
    this_ipm = ber.encode(samples.ipm_identifier(ipms.ThisIPMField(), "x"))
    assert this_ipm == b"\x6b\x03\x13\x01x"  # IPMIdentifier ::= [APPLICATION 11] SET
    # subject [8] EXPLICIT TeletexString
    subject = "Quarterly figures, r\xe9sum\xe9".encode("latin-1")
    assert bytes([0xA8, len(subject) + 2, 0x14, len(subject)]) + subject in heading
    # ia5-text [0] IMPLICIT SEQUENCE { parameters SET {}, data IA5String }
    body = ber.encode(samples.ia5_part("hi"))
    assert body == b"\xa0\x06\x31\x00\x16\x02hi"
    # bilaterally-defined [14] IMPLICIT OCTET STRING
    assert ber.encode(samples.bilateral_part(b"ab")) == b"\x8e\x02ab"


def test_indefinite_lengths_and_constructed_strings() -> None:
    """The same IPM as PP would send it decodes to the same value, and is
    re-encoded with definite lengths, open types included."""
    ipm = samples.full_ipm()
    encoded = ber.encode(ipm)
    # 0x8E: the bilaterally-defined [14] IMPLICIT OCTET STRING; the only
    # other [14] in the sample is the one-octet auto-forwarded BOOLEAN, which
    # is not long enough to be split.  Open types (extension values, EXTERNAL
    # contents, the directory name's attribute value) get indefinite lengths
    # too: the decoder rewrites them to definite ones.
    variant = berutil.to_indefinite(encoded, strings=frozenset({berutil.OCTET_STRING, 0x8E}))
    assert variant != encoded
    assert variant.startswith(b"\x30\x80\x31\x80")
    assert b"\xae\x80\x04\x03%PD" in variant  # bilaterally-defined, constructed
    decoded = ber.decode(variant, ipms.IPM())
    assert decoded.prettyPrint() == ber.decode(encoded, ipms.IPM()).prettyPrint()
    assert ber.encode(decoded) == encoded


def test_hand_written_pp_style_body_part() -> None:
    """Written out by hand: an IA5 body part, indefinite lengths throughout;
    a bilaterally-defined part as a constructed OCTET STRING."""
    ia5 = bytes.fromhex(
        "a0 80"  # [0] ia5-text, indefinite
        "   31 80 80 01 05 00 00"  # parameters SET { repertoire [0] ia5(5) }
        "   16 05 68 65 6c 6c 6f"  # data IA5String "hello"
        "00 00"
    )
    part = ber.decode(ia5, ipms.BodyPart())
    assert str(part["basic"]["ia5-text"]["data"]) == "hello"
    assert ber.encode(part) == bytes.fromhex("a0 09 31 00 16 05 68656c6c6f")  # default omitted

    bilateral = bytes.fromhex("ae 80 04 02 01 02 24 80 04 01 03 00 00 00 00")
    part = ber.decode(bilateral, ipms.BodyPart())
    assert bytes(part["basic"]["bilaterally-defined"]) == b"\x01\x02\x03"
    assert ber.encode(part) == b"\x8e\x03\x01\x02\x03"


def test_general_text_body_part_through_the_registry() -> None:
    decoded = ber.decode(ber.encode(samples.full_ipm()), ipms.IPM())
    read = ipms.read_extended_body_part(decoded["body"][1]["extended"])
    assert read.kind is not None
    assert read.kind.name == "general-text-body-part"
    assert read.data_id == tuple(oids.id_et_general_text)
    assert bytes(read.data) == b"\x1b-A Gr\xfc\xdfe aus K\xf6ln\r\n"
    assert [int(c) for c in read.parameters] == [1, 6, 100]


def test_unknown_extended_body_part_kept_encoded() -> None:
    private = univ.ObjectIdentifier("1.3.6.1.4.1.99999.1")
    part = ipms.extended_body_part(private, univ.OctetString(b"opaque"))
    decoded = ber.decode(ber.encode(part), ipms.BodyPart())
    read = ipms.read_extended_body_part(decoded["extended"])
    assert read.kind is None
    assert read.data == der_encoder.encode(univ.OctetString(b"opaque"))
    assert read.parameters is None


def test_message_body_part_holds_an_ipm() -> None:
    inner = samples.simple_ipm()
    params = ipms.MessageParameters()
    params["delivery-time"] = "261201120000Z"
    message = ipms.BodyPart()
    basic = message["basic"]
    basic["message"] = ipms.as_component(basic, "message", ipms.message_body_part(inner, params))
    outer = samples.simple_ipm("outer.1")
    outer["body"].append(message)
    encoded = ber.encode(outer)
    decoded = ber.decode(encoded, ipms.IPM())
    assert ber.encode(decoded) == encoded
    part = decoded["body"][1]["basic"]["message"]
    assert str(part["parameters"]["delivery-time"]) == "261201120000Z"
    inner_decoded = ipms.message_data(part)
    assert ber.encode(inner_decoded) == ber.encode(inner)


def test_message_body_part_sent_with_indefinite_lengths() -> None:
    """PP-style: the forwarded IPM inside the message body part (an open type
    here) has indefinite lengths too; the decoder still finds its end."""
    message = ipms.BodyPart()
    basic = message["basic"]
    basic["message"] = ipms.as_component(
        basic, "message", ipms.message_body_part(samples.simple_ipm())
    )
    outer = samples.simple_ipm("outer.1")
    outer["body"].append(message)
    encoded = ber.encode(outer)
    variant = berutil.to_indefinite(encoded)
    assert variant.count(b"\x6b\x80") == 2  # both IPM identifiers, indefinite
    decoded = ber.decode(variant, ipms.IPM())
    assert ber.encode(decoded) == encoded
    inner = ipms.message_data(decoded["body"][1]["basic"]["message"])
    assert str(inner["heading"]["this-IPM"]["user-relative-identifier"]) == "inner.1"


def test_information_object_ipm_is_tagged_0() -> None:
    info = ipms.InformationObject()
    info["ipm"] = ipms.as_component(info, "ipm", samples.simple_ipm())
    encoded = ber.encode(info)
    assert encoded[0] == 0xA0
    decoded = ber.decode(encoded, ipms.InformationObject())
    assert decoded.getName() == "ipm"
    assert ber.encode(decoded) == encoded


def _ipn() -> Any:
    ipn = ipms.IPN()
    ipn["subject-ipm"] = samples.ipm_identifier(ipms.SubjectIPMField(), "abc.1", "Smith")
    ipn["ipn-originator"] = samples.descriptor(ipn["ipn-originator"], "Jones")
    ipn["ipm-intended-recipient"] = samples.descriptor(ipn["ipm-intended-recipient"], "Jones")
    ipn["conversion-eits"]["built-in-encoded-information-types"] = "'001'B"  # ia5-text
    return ipn


def test_receipt_notification_round_trip() -> None:
    ipn = _ipn()
    receipt = ipn["choice"]["receipt-fields"]
    receipt["receipt-time"] = "261201120500Z"
    receipt["acknowledgment-mode"] = "automatic"
    receipt["suppl-receipt-info"] = "read by the secretary"
    info = ipms.InformationObject()
    info["ipn"] = ipms.as_component(info, "ipn", ipn)
    encoded = ber.encode(info)
    assert encoded[0] == 0xA1
    decoded = ber.decode(encoded, ipms.InformationObject())
    assert ber.encode(decoded) == encoded
    fields = decoded["ipn"]["choice"]["receipt-fields"]
    assert str(fields["acknowledgment-mode"]) == "automatic"
    assert str(fields["suppl-receipt-info"]) == "read by the secretary"


def test_non_receipt_notification_with_returned_ipm() -> None:
    ipn = _ipn()
    nrn = ipn["choice"]["non-receipt-fields"]
    nrn["non-receipt-reason"] = "ipm-discarded"
    nrn["discard-reason"] = "ipm-expired"
    nrn["auto-forward-comment"] = "away"
    nrn["returned-ipm"] = ipms.as_component(nrn, "returned-ipm", samples.simple_ipm())
    encoded = ber.encode(ipn)
    decoded = ber.decode(encoded, ipms.IPN())
    assert ber.encode(decoded) == encoded
    fields = decoded["choice"]["non-receipt-fields"]
    assert str(fields["discard-reason"]) == "ipm-expired"
    returned = fields["returned-ipm"]
    assert str(returned["heading"]["this-IPM"]["user-relative-identifier"]) == "inner.1"


def test_unknown_enumeration_value_is_kept() -> None:
    """An extensible ENUMERATED (NonReceiptReasonField ::= {..., ...}) from a
    newer peer decodes; the translator decides what it means."""
    ipn = _ipn()
    ipn["choice"]["non-receipt-fields"]["non-receipt-reason"] = 7
    decoded = ber.decode(ber.encode(ipn), ipms.IPN())
    assert int(decoded["choice"]["non-receipt-fields"]["non-receipt-reason"]) == 7


def test_ipn_originator_never_set_stays_absent() -> None:
    """ORDescriptor's components are all OPTIONAL; an ipn-originator that was
    only instantiated (read, never set) must not go out as an empty
    ``[1] {}`` (``a1 00``): mts.AbsentWhenEmpty.  ber.encode's DER encoder
    omits empty OPTIONAL components itself; pyasn1's plain BER encoder does
    not, so it is checked too."""
    ipn = ipms.IPN()
    ipn["subject-ipm"] = samples.ipm_identifier(ipms.SubjectIPMField(), "abc.1", "Smith")
    assert not ipn["ipn-originator"].isValue  # instantiated by the access only
    ipn["ipm-intended-recipient"] = samples.descriptor(ipn["ipm-intended-recipient"], "Jones")
    ipn["choice"]["receipt-fields"]["receipt-time"] = "261201120500Z"
    for encoded in (ber.encode(ipn), bytes(ber_encoder.encode(ipn, defMode=True))):
        assert b"\xa1\x00" not in encoded
        decoded = ber.decode(encoded, ipms.IPN())
        assert not decoded["ipn-originator"].isValue
        assert decoded["ipm-intended-recipient"]["formal-name"].isValue
    ipn["ipn-originator"]["free-form-name"] = "Jones"
    assert b"\xa1\x07\x80\x05Jones" in ber.encode(ipn)
