"""O/R addresses and names between the model and X.411 ASN.1 (BER)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1_modules import rfc5280

from gateway.x400.asn1 import ber
from gateway.x400.asn1 import mts as asn1_mts
from gateway.x400.model import ORName
from gateway.x400.orcodec import (
    or_address_from_asn1,
    or_address_to_asn1,
    or_name_from_asn1,
    or_name_to_asn1,
)
from gateway.x400.orname import ORAddress, ORAddressError, format_std_or, parse_std_or
from tests.x400.test_orname import or_addresses


def wire_address(addr: ORAddress) -> ORAddress:
    data = ber.encode(or_address_to_asn1(addr))
    return or_address_from_asn1(ber.decode(data, rfc5280.ORAddress()))


@settings(max_examples=300)
@given(or_addresses())
def test_or_text_to_asn1_and_back(addr: ORAddress) -> None:
    """std-or text -> model -> BER -> model -> std-or text, unchanged."""
    text = format_std_or(addr)
    assert format_std_or(wire_address(parse_std_or(text))) == text


@pytest.mark.parametrize(
    "text",
    [
        "/I=J/S=Linnimouth/GQ=5/OU=Marketing/O=Widget/ADMD=BTT/C=TC/",
        "/RFC-822=Tom(u)Harris(a)cs.widget.com/PRMD=relay/ADMD=MCI/C=us/",
        "/CN=Postmaster/O=lab/PRMD=lab/ADMD= /C=GB/",
        "/PD-ADDRESS=The Dome|The Square|Richmond/PD-CODE=12345/PD-C=GB/ADMD= /C=826/",
        "/NET-NUM=441234567/NET-SUB=12/T-TY=g3fax/ADMD=ptt/C=DE/",
        "/PD-OFFICE=Central/PD-STREET=High Street 1/PD-SERVICE=post/ADMD= /C=GB/",
    ],
)
def test_examples_round_trip(text: str) -> None:
    addr = parse_std_or(text)
    assert wire_address(addr) == addr


def test_numeric_country_and_admd_use_numeric_string() -> None:
    value = or_address_to_asn1(parse_std_or("/ADMD=0/C=826/"))
    std = value["built-in-standard-attributes"]
    assert std["country-name"].getName() == "x121-dcc-code"
    assert std["administration-domain-name"].getName() == "numeric"
    assert std["country-name"]["x121-dcc-code"] == "826"


def test_single_space_admd_survives_the_wire() -> None:
    addr = wire_address(parse_std_or("/S=x/O=y/C=GB/"))
    assert addr.admd == " "


def teletex_cn(raw: bytes) -> Any:
    value = or_address_to_asn1(parse_std_or("/S=x/ADMD= /C=GB/"))
    attr = rfc5280.ExtensionAttribute()
    attr["extension-attribute-type"] = 2
    attr["extension-attribute-value"] = ber.encode(rfc5280.TeletexCommonName(raw))
    value["extension-attributes"][0] = attr
    return ber.decode(ber.encode(value), rfc5280.ORAddress())


def test_printable_teletex_common_name_is_read() -> None:
    assert or_address_from_asn1(teletex_cn(b"Mail Admin")).common_name == "Mail Admin"


def test_non_printable_teletex_is_refused_naming_the_attribute() -> None:
    with pytest.raises(ORAddressError, match="attribute CN: teletex"):
        or_address_from_asn1(teletex_cn(b"Yen \xa5"))


@given(or_addresses(), st.sampled_from([None, "CN=Postmaster,O=Lab,C=GB", "2.5.4.3=#0c03e282ac"]))
def test_or_name_with_directory_name_round_trips(addr: ORAddress, dn: str | None) -> None:
    name = ORName(addr, dn)
    data = ber.encode(or_name_to_asn1(name))
    assert data[0] == 0x60  # [APPLICATION 0] constructed (X.411 ORName)
    assert or_name_from_asn1(ber.decode(data, asn1_mts.ORName())) == name
