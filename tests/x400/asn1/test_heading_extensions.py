"""X.420 IPMSHeadingExtensions and the MIXER extensions of RFC 2156."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pyasn1.type import univ

from gateway.x400.asn1 import ber, ipms, mta, mts
from gateway.x400.asn1 import ipms_heading_extensions as hex_
from gateway.x400.asn1 import ipms_object_identifiers as oids
from tests.x400.asn1 import berutil, mta_samples, samples

REFERENCE = Path("/work/shared/reference/x400")
RFC2156 = REFERENCE / "rfc2156.txt"
HEADING_MODULE = REFERENCE / "asn1" / "itu-t_x_x420_1999_IPMSHeadingExtensions.asn1"
needs_reference = pytest.mark.skipif(
    not (RFC2156.exists() and HEADING_MODULE.exists()), reason="reference texts not available"
)

FIELDS = ["Fruit-Of-The-Day: Kiwi Fruit", "X-Mailer: MIXER test", "Comments: (a) b"]


def _field_list(fields: list[str]) -> Any:
    value = hex_.RFC822FieldList()
    for field in fields:
        value.append(field)
    return value


def _ipm_with(*extensions: Any) -> Any:
    ipm = samples.simple_ipm()
    for ext in extensions:
        ipm["heading"]["extensions"].append(ext)
    return ber.decode(ber.encode(ipm), ipms.IPM())


def test_mixer_object_identifiers() -> None:
    assert str(hex_.mixer_core) == "1.3.6.1.7.1.3"
    assert str(hex_.id_rfc_822_field_list) == "1.3.6.1.7.1.3.2"
    assert str(hex_.id_dsn_header_list) == "1.3.6.1.7.1.3.3"
    assert str(hex_.id_dsn_field_list) == "1.3.6.1.7.1.3.4"
    assert str(hex_.eit_mixer) == "1.3.6.1.7.1.3.5"


@needs_reference
def test_mixer_object_identifiers_match_rfc_2156_appendix_d() -> None:
    text = RFC2156.read_text()
    appendix = text[text.index("Appendix D - Object Identifier Assignment\n\n") :]
    found = dict(
        re.findall(r"(id-[\w-]+|eit-mixer)\s+OBJECT IDENTIFIER ::= \{\s*mixer-core (\d)", appendix)
    )
    assert found == {
        "id-rfc-822-field-list": "2",
        "id-dsn-header-list": "3",
        "id-dsn-field-list": "4",
        "eit-mixer": "5",
    }
    assert "mixer-core OBJECT IDENTIFIER ::= { mixer core(3) }" in appendix


def test_rfc_822_field_list_in_a_heading() -> None:
    ext = hex_.ipms_extension(hex_.id_rfc_822_field_list, _field_list(FIELDS))
    encoded_value = bytes(ext["value"])
    assert encoded_value.startswith(b"\x30")  # SEQUENCE OF IA5String
    assert b"\x16\x1cFruit-Of-The-Day: Kiwi Fruit" in encoded_value
    ipm = _ipm_with(ext)
    read = hex_.read_ipms_extension(ipm["heading"]["extensions"][0])
    assert read.kind is not None and read.kind.name == "rfc-822-field-list"
    assert [str(field) for field in read.value] == FIELDS


def test_rfc_822_field_list_sent_with_indefinite_lengths() -> None:
    ipm = samples.simple_ipm()
    ipm["heading"]["extensions"].append(
        hex_.ipms_extension(hex_.id_rfc_822_field_list, _field_list(FIELDS))
    )
    variant = berutil.to_indefinite(ber.encode(ipm))
    decoded = ber.decode(variant, ipms.IPM())
    read = hex_.read_ipms_extension(decoded["heading"]["extensions"][0])
    assert [str(field) for field in read.value] == FIELDS


def test_the_standard_heading_extensions() -> None:
    languages = hex_.Languages()
    languages.append("en")
    languages.append("de-CH")
    subject = hex_.ExtendedSubject()
    subject["character-encoding"]["two-octets"] = "Gr\u00fc\u00dfe \u20ac"
    subject["iso-639-language-code"] = "de"
    label = hex_.IPMSecurityLabel()
    label["content-security-label"]["security-classification"] = "restricted"
    label["content-security-label"]["privacy-mark"] = "IN CONFIDENCE"
    category = hex_.InformationCategory()
    category["reference"] = (1, 2, 3)
    categories = hex_.InformationCategories()
    categories.append(category)
    ipm = _ipm_with(
        hex_.ipms_extension(oids.id_hex_incomplete_copy),
        hex_.ipms_extension(oids.id_hex_languages, languages),
        hex_.ipms_extension(oids.id_hex_auto_submitted, hex_.AutoSubmitted("auto-replied")),
        hex_.ipms_extension(oids.id_hex_extended_subject, subject),
        hex_.ipms_extension(oids.id_hex_ipm_security_label, label),
        hex_.ipms_extension(oids.id_hex_information_category, categories),
        hex_.ipms_extension(oids.id_hex_authorization_time, univ.Any(b"\x18\x0f20261128210358Z")),
    )
    read = {
        r.kind.name: r.value
        for r in map(hex_.read_ipms_extension, ipm["heading"]["extensions"])
        if r.kind is not None
    }
    assert set(read) == {
        "incomplete-copy",
        "languages",
        "auto-submitted",
        "extended-subject",
        "ipm-security-label",
        "information-category",
        "authorization-time",
    }
    assert sorted(str(language) for language in read["languages"]) == ["de-CH", "en"]
    assert str(read["auto-submitted"]) == "auto-replied"
    assert str(read["extended-subject"]["character-encoding"]["two-octets"]) == (
        "Gr\u00fc\u00dfe \u20ac"
    )
    content_label = read["ipm-security-label"]["content-security-label"]
    assert str(content_label["privacy-mark"]) == "IN CONFIDENCE"
    assert str(read["information-category"][0]["reference"]) == "1.2.3"
    assert str(read["authorization-time"]) == "20261128210358Z"


def test_sample_heading_extensions_through_the_registry() -> None:
    heading = ber.decode(ber.encode(samples.full_ipm()), ipms.IPM())["heading"]
    read = {r.kind.name: r for r in map(hex_.read_ipms_extension, heading["extensions"]) if r.kind}
    assert read["auto-submitted"].value == hex_.AutoSubmitted("auto-generated")
    assert read["incomplete-copy"].encoded == b"\x05\x00"
    specifier = heading["primary-recipients"][0]
    precedence = hex_.read_ipms_extension(
        specifier["recipient-extensions"][0], hex_.RECIPIENT_EXTENSION_TYPES
    )
    assert precedence.kind is not None and precedence.kind.name == "precedence"
    assert int(precedence.value) == 28


def test_unknown_and_opaque_extensions_are_kept_encoded() -> None:
    private = univ.ObjectIdentifier("1.3.6.1.4.1.99999.3")
    payload = ber.encode(univ.OctetString(b"whatever"))
    signatures = bytes.fromhex("3108 3106 020101 0401 00")  # some SET OF SET
    ipm = _ipm_with(
        hex_.ipms_extension(private, payload),
        hex_.ipms_extension(oids.id_hex_body_part_signatures, signatures),
    )
    read = {r.id: r for r in map(hex_.read_ipms_extension, ipm["heading"]["extensions"])}
    unknown = read[tuple(private)]  # (a SET OF: DER sorts the elements)
    opaque = read[tuple(oids.id_hex_body_part_signatures)]
    assert unknown.kind is None and unknown.value == payload
    assert opaque.kind is not None and opaque.kind.opaque
    assert opaque.value == signatures


def test_out_of_bounds_value_is_a_ber_error() -> None:
    languages = univ.SetOf(componentType=univ.Any())
    languages.append(b"\x13\x03eng")  # Language is SIZE (2 | 5)
    ext = hex_.ipms_extension(oids.id_hex_languages, ber.encode(languages))
    with pytest.raises(ber.BERError):
        hex_.read_ipms_extension(ext)


@needs_reference
def test_registries_cover_the_module() -> None:
    """Every ``name IPMS-EXTENSION ::= {...}`` of IPMSHeadingExtensions is in
    one of the registries, under its identifier."""
    text = HEADING_MODULE.read_text()
    defined = dict(
        re.findall(
            r"^([\w-]+) IPMS-EXTENSION ::= \{.*?IDENTIFIED BY\s+(id-[\w-]+)", text, re.M | re.S
        )
    )
    registered = {
        kind.name: kind.id
        for kind in (
            *hex_.HEADING_EXTENSION_TYPES.values(),
            *hex_.RECIPIENT_EXTENSION_TYPES.values(),
        )
    }
    assert len(defined) == 15
    for name, oid_name in defined.items():
        assert registered[name] == getattr(oids, oid_name.replace("-", "_")), name


def test_dsn_lists_are_mts_private_extensions() -> None:
    """RFC 2156 5.1.8.2: dsn-header-list and dsn-field-list travel in
    PerReportTransferFields.extensions, typed through mta.EXTENSIONS."""
    apdu = mta_samples.report()
    content = apdu["report"]["content"]
    content["extensions"].append(
        mts.extension_field(tuple(hex_.id_dsn_header_list), _field_list(["Subject: hi"]))
    )
    content["extensions"].append(
        mts.extension_field(tuple(hex_.id_dsn_field_list), _field_list(["Reporting-MTA: dns; x"]))
    )
    decoded = ber.decode(ber.encode(apdu), mta.MTS_APDU())
    read = {
        r.kind.name: r.value
        for r in map(mta.read_extension, decoded["report"]["content"]["extensions"])
        if r.kind is not None
    }
    assert [str(f) for f in read["dsn-header-list"]] == ["Subject: hi"]
    assert [str(f) for f in read["dsn-field-list"]] == ["Reporting-MTA: dns; x"]
