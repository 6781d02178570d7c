"""gateway.x400.msgid: msg-id <-> IPMIdentifier (RFC 2156 4.7.3), MTS ids (4.6.3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingTables
from gateway.x400.model import GlobalDomainId, IPMIdentifier, MTSIdentifier
from gateway.x400.msgid import (
    format_mts_id,
    generated_mts_id,
    ipm_id_to_msgid,
    ipm_id_to_phrase_or_msgid,
    msgid_to_ipm_id,
    mts_id_from_msgid,
    parse_mts_id,
    parse_reference_list,
)
from gateway.x400.orname import ORAddress, parse_std_or, ps_encode
from tests.x400 import gateways

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def make_gateway(tables: MappingTables | None = None) -> Gateway:
    return gateways.make_gateway(
        "x400-gw.example.net",
        "/O=gateway/PRMD=relay/ADMD=BTglobal/C=gb/",
        mta_name="mixer.x400-gw.example.net",
        admin="postmaster@x400-gw.example.net",
        now=NOW,
        tables=tables,
    )


GW = make_gateway()
DIETRICH = parse_std_or("/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/")
EPPENBERGER = parse_std_or("/S=Eppenberger/OU=verw/O=switch/PRMD=SWITCH/ADMD=ARCOM/C=CH/")

# RFC 2156 4.7.3 and 5.3.4.2 examples (MIXER.md fact 11): both ways.
BOTH_WAYS = [
    ("<1803.665941698@UK.AC.UCL.CS>", IPMIdentifier(local="1803.665941698(a)UK.AC.UCL.CS")),
    ('<"147*/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"@MHS>', IPMIdentifier(DIETRICH, "147")),
    ("<PC1000-910530172027-57D8*@MHS>", IPMIdentifier(local="PC1000-910530172027-57D8")),
    # the ps-encoded quoted local part PP peers send (P1-WIRE.md)
    ('<"a b"@lab.test>', IPMIdentifier(local="(q)a b(q)(a)lab.test")),
]


@pytest.mark.parametrize(("msgid", "ident"), BOTH_WAYS)
def test_rfc2156_message_id_examples(msgid: str, ident: IPMIdentifier) -> None:
    assert msgid_to_ipm_id(msgid) == ident
    assert ipm_id_to_msgid(ident) == msgid


def test_unquoted_mhs_form_is_accepted() -> None:
    # 5.3.4.2 prints the X.400 form without quotes; accepted, written quoted.
    unquoted = "<562*/S=Eppenberger/OU=verw/O=switch/PRMD=SWITCH/ADMD=ARCOM/C=CH/@MHS>"
    ident = msgid_to_ipm_id(unquoted)
    assert ident == IPMIdentifier(EPPENBERGER, "562")
    assert ipm_id_to_msgid(ident) == '<"562' + unquoted[4:-5] + '"@MHS>'
    assert msgid_to_ipm_id('<"147*/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"@mhs>').user == DIETRICH
    assert msgid_to_ipm_id("<*/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/@MHS>") == IPMIdentifier(
        DIETRICH
    )


def test_not_mhs_form() -> None:
    # "*" but another domain, or a bad std-or: an Internet identifier
    assert msgid_to_ipm_id("<a*b@example.com>") == IPMIdentifier(local="a(042)b(a)example.com")
    assert msgid_to_ipm_id("<a*/Q/@MHS>").user is None


def test_user_relative_identifier_is_truncated_to_64() -> None:
    ident = msgid_to_ipm_id("<" + "x" * 62 + "@example.com>")
    assert ident.local == "x" * 62  # "(a)" would be cut in two: left out whole
    assert msgid_to_ipm_id("<" + "y" * 70 + ">").local == "y" * 64


def test_empty_identifier() -> None:
    assert ipm_id_to_msgid(IPMIdentifier()) == "<*@MHS>"
    assert ipm_id_to_msgid(IPMIdentifier(local="a b")) == '<"a b*"@MHS>'


def test_phrase_form_4_7_3_5() -> None:
    refs = parse_reference_list('Your message of "Mon, 1 Jan" <a@b.example> (note) <c@d>')
    assert refs == [
        IPMIdentifier(local="Your message of Mon, 1 Jan"),
        IPMIdentifier(local="a(a)b.example"),
        IPMIdentifier(local="c(a)d"),
    ]
    assert [ipm_id_to_phrase_or_msgid(r) for r in refs] == [
        '"Your message of Mon, 1 Jan"',
        "<a@b.example>",
        "<c@d>",
    ]
    assert ipm_id_to_phrase_or_msgid(IPMIdentifier(local="PC1000")) == "PC1000"
    assert ipm_id_to_phrase_or_msgid(IPMIdentifier(DIETRICH, "147")) == ipm_id_to_msgid(
        IPMIdentifier(DIETRICH, "147")
    )


def test_mts_identifier_fact_12() -> None:
    # RFC 2156 4.6.3 / 5.3.8.4 DR example: Original-Envelope-Id
    # The RFC's msg-id is in JANET (big-endian) order, so the MCGAM that gives
    # its PRMD=uk.ac/ADMD=gold 400/C=gb is keyed on the right-hand labels.
    tables = MappingTables.from_text("UCL.CS#PRMD$uk\\.ac.ADMD$gold 400.C$gb#\n")
    ident = mts_id_from_msgid("<1803.665941698@UK.AC.UCL.CS>", make_gateway(tables))
    assert ident == MTSIdentifier(
        GlobalDomainId("gb", "gold 400", "uk.ac"), "<1803.665941698@UK.AC.UCL.CS>"
    )
    assert (
        format_mts_id(ident) == "[/PRMD=uk.ac/ADMD=gold 400/C=gb/;<1803.665941698@UK.AC.UCL.CS>]"
    )
    assert parse_mts_id(format_mts_id(ident)) == ident


def test_mts_identifier_truncated_and_defaulted() -> None:
    ident = mts_id_from_msgid("<" + "z" * 40 + "@nowhere.example>", GW)
    assert ident.local == "<" + "z" * 31  # 32 characters
    assert ident.domain == GW.global_domain  # no MCGAM: the gateway's own
    assert mts_id_from_msgid("junk", GW).local == "<junk>"


def test_parse_mts_id() -> None:
    text = "[/PRMD=HMG/ADMD=GOLD 400/C=GB/;PC1000-910530172027-57D8]"  # 5.3.4.2
    assert parse_mts_id(text) == MTSIdentifier(
        GlobalDomainId("GB", "GOLD 400", "HMG"), "PC1000-910530172027-57D8"
    )
    assert parse_mts_id("[/ADMD= /C=gb/;x]") == MTSIdentifier(GlobalDomainId("gb", " "), "x")
    for bad in ["", "[]", "[x;y]", "[/S=x/C=GB/;y]", "/C=GB/;y", "[/C=GB/;" + "x" * 33 + "]"]:
        assert parse_mts_id(bad) is None


def test_generated_mts_id_is_deterministic() -> None:
    a, b = generated_mts_id(GW, b"one"), generated_mts_id(GW, b"two")
    assert a == generated_mts_id(GW, b"one") and a != b
    assert len(a.local) <= 32 and a.domain == GW.global_domain


# --- properties -----------------------------------------------------------------

_atext = st.text(alphabet="abcXYZ019!#$%&'*+-/=?^_`{|}~", min_size=1, max_size=10)
dot_atoms = st.lists(_atext, min_size=1, max_size=3).map(".".join)
msgids = st.builds(lambda lp, d: f"<{lp}@{d}>", dot_atoms, dot_atoms)


@given(msgids)
def test_internet_msgid_round_trip(msgid: str) -> None:
    ident = msgid_to_ipm_id(msgid)
    if len(ps_encode(msgid[1:-1])) <= 64:  # else truncated (5.1.3)
        assert ipm_id_to_msgid(ident) == msgid


_ps = st.text(alphabet="abcXYZ0129 '+,-.:=?", max_size=20)
users = st.sampled_from(
    [None, DIETRICH, EPPENBERGER, ORAddress(country="GB", admd="GOLD 400", prmd="UK.AC")]
)


@given(users, st.none() | _ps.filter(bool))
def test_ipm_identifier_round_trip(user: ORAddress | None, local: str | None) -> None:
    ident = IPMIdentifier(user, local)
    assert msgid_to_ipm_id(ipm_id_to_msgid(ident)) == ident


@given(
    st.sampled_from([GlobalDomainId("GB", "GOLD 400", "UK.AC"), GlobalDomainId("de", " ")]),
    st.text(alphabet="abc<>@.:-;/ 0", max_size=32),
)
def test_mts_id_text_round_trip(domain: GlobalDomainId, local: str) -> None:
    ident = MTSIdentifier(domain, local)
    assert parse_mts_id(format_mts_id(ident)) == ident


@given(st.text(max_size=40))
def test_parsers_never_raise(text: str) -> None:
    msgid_to_ipm_id(text)
    parse_reference_list(text)
    parse_mts_id(text)
    mts_id_from_msgid(text, GW)
