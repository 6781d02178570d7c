"""gateway.x400.mapping: RFC 2156 4.2-4.4 address mapping with Appendix F tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.mapping import (
    DomainTable,
    MappingError,
    MappingTables,
    ORTable,
    TableError,
    or_to_rfc822,
    parse_dmn_or_address,
    rfc822_to_or,
)
from gateway.x400.orname import ORAddress, format_std_or, parse_std_or
from tests.x400.test_orname import or_addresses

CONF = Path(__file__).resolve().parents[2] / "conf" / "x400"
TABLES = MappingTables.load(CONF)
NO_TABLES = MappingTables.from_text()
GATEWAY_DOMAIN = "x400-gw.example.net"
# The gateways of RFC 2156 4.3.4 Stage II examples 1 and 2.
GATEWAY_1 = parse_std_or("c=gb; a= ; p=uk.ac; o=mr")
GATEWAY_2 = parse_std_or("c=us; a=MCI; P=relay")


def both_ways(addr: ORAddress, rfc822: str, tables: MappingTables = TABLES) -> None:
    """``addr`` and ``rfc822`` map to each other, byte for byte."""
    assert or_to_rfc822(addr, tables, GATEWAY_DOMAIN) == rfc822
    assert rfc822_to_or(rfc822, tables, GATEWAY_1) == addr


# --- Appendix F tables ---------------------------------------------------------


def test_appendix_f_5_examples() -> None:
    table = DomainTable.parse(
        "AC.UK#PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#\n"
        "XEROX.COM#O$Xerox.ADMD$ATT.C$US#\n"
        "GMD.DE#O$@.PRMD$GMD.ADMD$DBP.C$DE#\n"
    )
    assert table.entries["ac.uk"].prefix == ("GB", "GOLD 400", "UK.AC")  # "\." is a dot
    assert table.entries["gmd.de"].prefix == ("DE", "DBP", "GMD", None)  # "@" = omitted
    # The RFC's own XEROX.COM line skips PRMD; read as omitted (module docstring).
    assert table.entries["xerox.com"].prefix == ("US", "ATT", None, "Xerox")


def test_appendix_f_3_syntax_examples() -> None:
    assert parse_dmn_or_address("~ROLE$Big\\.Chief.ADMD$ATT.C$US", allow_dda=True) == (
        ("US", "ATT"),
        (("ROLE", "Big.Chief"),),
    )
    assert parse_dmn_or_address("PRMD$DEC.ADMD$@.C$US") == (("US", None, "DEC"), ())


def test_appendix_f_4_longest_match() -> None:
    table = DomainTable.parse("K.L#ADMD$k.C$gb#\nJ.K.L#ADMD$j.C$gb#\n")
    hit = table.lookup("I.J.K.L")
    assert hit is not None
    assert (hit[0], hit[1].domain) == (["I"], "J.K.L")
    assert table.lookup("A.B.C") is None
    assert table.lookup("xK.L") is None  # label boundaries only
    hit = table.lookup("j.k.l")  # case-independent
    assert hit is not None and hit[1].domain == "J.K.L"


def test_appendix_f_6_comments_and_or_lookup() -> None:
    table = ORTable.parse("#\n# Mapping table\n#\nPRMD$UK\\.AC.ADMD$GOLD 400.C$GB#AC.UK#\n")
    # Lookup ignores case and runs of blanks (RFC 2156 4.3.5 Mapping B step 1).
    addr = ORAddress(country="gb", admd="Gold  400", prmd="uk.ac", organisation="ucl")
    assert table.lookup(addr) == (3, "AC.UK")
    assert table.lookup(ORAddress(country="gb", admd="Gold 400")) is None


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("# c\nAC.UK#PRMD$UK\\.AC.ADMD$GOLD 400.C$GB\n", 2, "two fields"),
        ("X_Y.COM#ADMD$a.C$gb#\n", 1, "not domain-syntax"),
        ("A.COM#S$Smith.ADMD$a.C$gb#\n", 1, "only C, ADMD, PRMD, O and OU"),
        ("A.COM#C$gb.ADMD$a#\n", 1, "out of hierarchical order"),
        ("A.COM#ADMD$a.C$gb#\nA.com#ADMD$b.C$gb#\n", 2, "listed twice"),
        # RFC 2156 4.4.2's PRMD "Griddle MHS Providers" is over ub-domain-name-length.
        (
            "Widget.PTT.XY#O$Widget Corporation.PRMD$Griddle MHS Providers.ADMD$PTT.C$XY#\n",
            1,
            "PRMD: too long (21 > 16",
        ),
    ],
)
def test_table_errors_say_where(text: str, line: int, reason: str) -> None:
    with pytest.raises(TableError) as info:
        DomainTable.parse(text, "t.table")
    assert (info.value.source, info.value.line) == ("t.table", line)
    assert reason in info.value.reason


def test_gateway_table_key_may_not_be_an_mcgam_appendix_f_7() -> None:
    with pytest.raises(TableError, match="also an MCGAM"):
        MappingTables.from_text(
            domain_to_or="AC.UK#ADMD$a.C$gb#\n", domain_to_gateway="ac.uk#ADMD$b.C$gb#\n"
        )


def test_conf_tables_load() -> None:
    assert len(TABLES.domain_to_or.entries) == len(TABLES.or_to_domain.entries) == 8
    assert set(TABLES.domain_to_gateway.entries) == {"alter.net", "attmail.com"}


# --- RFC 2156 4.2: algorithmic mapping below an MCGAM ----------------------------


def test_rfc2156_4_2_r_d_salford() -> None:
    addr = ORAddress(
        country="GB", admd="GOLD 400", prmd="UK.AC", organisation="Salford",
        org_units=("R-D",), surname="Soap", given_name="Joe",
    )  # fmt: skip
    both_ways(addr, "Joe.Soap@R-D.Salford.AC.UK")


def test_rfc2156_4_2_omitted_prmd_is_skipped() -> None:
    # "ZI.HNE.EGM" <-> OU=ZI, O=HNE, ADMD=ECQ, C=TC (the RFC prints "OU=I", a typo).
    addr = ORAddress(
        country="TC", admd="ECQ", organisation="HNE", org_units=("ZI",), surname="Smith"
    )
    both_ways(addr, "Smith@ZI.HNE.EGM")


# --- RFC 2156 4.3.1: X.400 encoded in RFC 822 ------------------------------------

WIDGET = ORAddress(
    country="TC", admd="BTT", organisation="Widget", org_units=("Marketing",),
    surname="Linnimouth", initials="J", generation_qualifier="5",
)  # fmt: skip


def test_rfc2156_4_3_1_std_or_on_the_left() -> None:
    both_ways(WIDGET, "/I=J/S=Linnimouth/GQ=5/@Marketing.Widget.COM")


def test_rfc2156_4_3_1_encoded_pn_without_gq() -> None:
    addr = ORAddress(
        country="TC", admd="BTT", organisation="Widget", org_units=("Marketing",),
        surname="Linnimouth", initials="J",
    )  # fmt: skip
    both_ways(addr, "J.Linnimouth@Marketing.Widget.COM")


# --- RFC 2156 4.3.5: X.400 -> RFC 822 examples -----------------------------------


def test_rfc2156_4_3_5_example_1_omitted_level_below_prefix() -> None:
    addr = parse_std_or("S=Support; O=sales;  A=Master400; C=it;")
    # The RFC prints "o=sales"; keys are case-independent and generated upper case.
    both_ways(addr, "/S=Support/O=sales/@Master400.it")
    assert rfc822_to_or("/S=Support/o=sales/@Master400.it", TABLES, GATEWAY_1) == addr


def test_rfc2156_4_3_5_example_2_value_not_domain_syntax_is_quoted() -> None:
    addr = parse_std_or("S=renseignements; O=Region Parisienne; P=autoroutes; A=atlas; C=fr;")
    both_ways(addr, '"/S=renseignements/O=Region Parisienne/"@autoroutes.fr')


def test_rfc2156_4_3_5_example_3_domain_defined_attributes() -> None:
    addr = parse_std_or(
        "S=Rossi; DD.cap=20100; DD.ph1=Via Larga 11; DDA.city=Milano; A=PtPostel; C=it;"
    )
    both_ways(addr, '"/DD.cap=20100/DD.ph1=Via Larga 11/DD.city=Milano/S=Rossi/"@ptpostel.it')


def test_rfc2156_4_3_5_example_4_preferred_gateway_domain() -> None:
    addr = parse_std_or("G=Andy; S=Wharol; O=MMNY; A=ATT; C=us;")
    # The RFC text lacks the "/" after MMNY; std-or always ends in "/".
    rfc822 = "/G=Andy/S=Wharol/O=MMNY/@attmail.com"
    assert or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN) == rfc822
    # A gateway domain is no MCGAM: the way back is the RFC-822 attribute
    # through the domain -> O/R of preferred gateway table, which reverses the
    # path (RFC 2156 4.4.2) and maps back byte for byte.
    back = rfc822_to_or(rfc822, TABLES, GATEWAY_1)
    assert format_std_or(back) == (
        "/RFC-822=$/G$=Andy$/S$=Wharol$/O$=MMNY$/(a)attmail.com/ADMD=ATT/C=us/"
    )
    assert or_to_rfc822(back, TABLES, GATEWAY_DOMAIN) == rfc822


def test_local_part_is_never_empty_rfc2156_4_3_5_step_4() -> None:
    addr = ORAddress(country="GB", admd="GOLD 400", prmd="UK.AC", organisation="ucl")
    both_ways(addr, "/O=ucl/@AC.UK")


def test_non_mnemonic_address_goes_whole_to_the_left_rfc2156_4_3_5_step_5() -> None:
    addr = parse_std_or("/X121=1234/PRMD=UK.AC/ADMD=GOLD 400/C=GB/")
    both_ways(addr, f'"/X121=1234/PRMD=UK.AC/ADMD=GOLD 400/C=GB/"@{GATEWAY_DOMAIN}')


def test_no_mcgam_gives_the_gateway_fallback() -> None:
    addr = parse_std_or("/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/")
    both_ways(addr, f"/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/@{GATEWAY_DOMAIN}")
    # Input keys A and P, as Microsoft Exchange sends them, are accepted.
    assert (
        rfc822_to_or('"/S=Dietrich/O=Siemens/A=DBP/C=DE/"@mixer.example', TABLES, GATEWAY_1)
        == addr
    )


# --- RFC 2156 4.3.4: RFC 822 -> X.400 examples (Stage II) ------------------------


def test_rfc2156_4_3_4_example_1_source_route() -> None:
    addr = rfc822_to_or("@relay.co.uk:userb@host2", TABLES, GATEWAY_1)
    assert addr == parse_std_or(
        "c=gb; a= ; p=uk.ac; o=mr; dd.rfc-822=(a)relay.co.uk:userb(a)host2;"
    )
    assert or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN) == "@relay.co.uk:userb@host2"


def test_rfc2156_4_3_4_example_2_non_printable_characters() -> None:
    addr = rfc822_to_or("Tom_Harris@cs.widget.com", NO_TABLES, GATEWAY_2)
    assert addr == parse_std_or("c=us; a=MCI; P=relay; dd.rfc-822=Tom(u)Harris(a)cs.widget.com;")
    assert or_to_rfc822(addr, NO_TABLES, GATEWAY_DOMAIN) == "Tom_Harris@cs.widget.com"


def test_rfc2156_4_3_4_example_3_preferred_gateway_table() -> None:
    addr = rfc822_to_or("postmaster@UK.alter.net", TABLES, GATEWAY_1)
    assert addr == parse_std_or("c=gb; a=BTglobal; P=relay; dd.rfc-822=postmaster(a)UK.alter.net;")
    assert or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN) == "postmaster@UK.alter.net"
    # The SMTP return address names the local gateway (4.3.4 Stage II).
    own = rfc822_to_or("postmaster@UK.alter.net", TABLES, GATEWAY_1, use_gateway_table=False)
    assert own == parse_std_or("c=gb; a= ; p=uk.ac; o=mr; RFC-822=postmaster(a)UK.alter.net")


def test_stage_two_uses_the_mcgam_of_the_domain() -> None:
    addr = rfc822_to_or("Tom_Harris@cs.Widget.COM", TABLES, GATEWAY_1)
    assert format_std_or(addr) == (
        "/RFC-822=Tom(u)Harris(a)cs.Widget.COM/OU=cs/O=Widget/ADMD=BTT/C=TC/"
    )


def test_rfc2156_4_4_2_rfc822_via_x400() -> None:
    text = '"/RFC-822=jj(a)seismo.css.gov/PRMD=AC/ADMD=BT/C=GB/"@monet.berkeley.edu'
    addr = rfc822_to_or(text, TABLES, GATEWAY_1)
    assert addr == parse_std_or("/RFC-822=jj(a)seismo.css.gov/PRMD=AC/ADMD=BT/C=GB/")
    assert or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN) == "jj@seismo.css.gov"  # Mapping A


def test_spaces_send_the_local_part_to_stage_two_rfc2156_4_3_4_step_2() -> None:
    addr = rfc822_to_or('"J.  Linnimouth"@Marketing.Widget.COM', TABLES, GATEWAY_1)
    assert addr.dda == (("RFC-822", "(q)J.  Linnimouth(q)(a)Marketing.Widget.COM"),)


def test_semicolon_local_part_is_accepted() -> None:
    addr = rfc822_to_or("S=Support;O=sales@Master400.it", TABLES, GATEWAY_1)
    assert addr == parse_std_or("/S=Support/O=sales/ADMD=Master400/C=it/")


def test_long_address_fills_rfc822c1_rfc2156_4_3_2() -> None:
    address = "u" * 180 + "@example.com"
    addr = rfc822_to_or(address, NO_TABLES, GATEWAY_2)
    encoded = "u" * 180 + "(a)example.com"
    assert addr.dda == (("RFC-822", encoded[:128]), ("RFC822C1", encoded[128:]))
    assert or_to_rfc822(addr, NO_TABLES, GATEWAY_DOMAIN) == address
    with pytest.raises(MappingError, match="512"):
        rfc822_to_or("u" * 510 + "@example.com", NO_TABLES, GATEWAY_2)


def test_two_rfc822_attributes_use_mapping_b() -> None:
    addr = ORAddress(country="GB", admd="x", dda=(("RFC-822", "a(a)b"), ("RFC-822", "c(a)d")))
    assert or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN) == (
        f'"/RFC-822=c(a)d/RFC-822=a(a)b/ADMD=x/C=GB/"@{GATEWAY_DOMAIN}'  # "(" needs quotes
    )


def test_bad_rfc822_attribute_is_an_error() -> None:
    addr = ORAddress(country="GB", admd="x", dda=(("RFC-822", "a(200)b"),))
    with pytest.raises(MappingError):
        or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN)


# --- properties ------------------------------------------------------------------

_value = st.from_regex(r"[A-Za-z0-9'+,\-.:=?()/]( ?[A-Za-z0-9'+,\-.:=?()/]){0,7}", fullmatch=True)
_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,6}[A-Za-z0-9])?", fullmatch=True)
_prefixes = st.sampled_from(
    [
        {"country": "GB", "admd": "GOLD 400", "prmd": "UK.AC"},
        {"country": "TC", "admd": "BTT", "organisation": "Widget"},
        {"country": "DE", "admd": "DBP", "prmd": "GMD"},
        {"country": "it", "admd": "Master400"},
        {"country": "GB", "admd": "Other"},  # no MCGAM: the gateway fallback
    ]
)


@st.composite
def mnemonic_addresses(draw: st.DrawFn) -> ORAddress:
    fields: dict[str, object] = dict(draw(_prefixes))
    if "organisation" not in fields and "country" in fields and fields["country"] != "DE":
        fields["organisation"] = draw(st.none() | _label | _value)
    fields["org_units"] = tuple(draw(st.lists(_label | _value, max_size=3)))
    fields["surname"] = draw(st.none() | _value)
    if fields["surname"] is not None:
        fields["given_name"] = draw(st.none() | _value)
        fields["initials"] = draw(st.none() | st.from_regex(r"[A-Z]{1,3}", fullmatch=True))
        fields["generation_qualifier"] = draw(st.none() | st.sampled_from(["Jr", "5"]))
    dd_type = _label.filter(lambda t: t.upper() != "RFC-822")  # that one is Mapping A
    fields["dda"] = tuple(draw(st.lists(st.tuples(dd_type, _value), max_size=2)))
    addr = ORAddress(**fields)  # type: ignore[arg-type]
    if addr.surname is None and not addr.org_units and not addr.dda:
        addr = ORAddress(**{**fields, "surname": "x"})  # type: ignore[arg-type]
    return addr


@given(mnemonic_addresses())
def test_x400_to_822_and_back_is_identity(addr: ORAddress) -> None:
    rfc822 = or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN)
    assert rfc822_to_or(rfc822, TABLES, GATEWAY_1) == addr
    # and the 822 form, once canonical, maps back byte for byte
    assert or_to_rfc822(rfc822_to_or(rfc822, TABLES, GATEWAY_1), TABLES, GATEWAY_DOMAIN) == rfc822


@given(st.emails() | st.text(alphabet=st.characters(max_codepoint=127), min_size=1, max_size=60))
def test_822_to_x400_and_back(address: str) -> None:
    try:
        addr = rfc822_to_or(address, TABLES, GATEWAY_1)
    except MappingError:
        return
    if addr.dda and addr.dda[0][0] == "RFC-822":
        assert or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN) == address


@given(or_addresses())
def test_any_or_address_maps_to_822_without_surprises(addr: ORAddress) -> None:
    try:
        rfc822 = or_to_rfc822(addr, TABLES, GATEWAY_DOMAIN)
    except MappingError:
        return  # an RFC-822 attribute that is not ps-encoded
    assert "@" in rfc822


def test_dmn_or_address_text_round_trips_every_shipped_table_line() -> None:
    from gateway.x400.mapping import format_dmn_or_address, parse_dmn_or_address

    seen = 0
    for table in sorted(CONF.glob("*.table")):
        for line in table.read_text().splitlines():
            if not line or line.startswith("#"):
                continue
            key, value = line.split("#")[:2]
            text = value if "$" in value else key
            prefix, dda = parse_dmn_or_address(text, allow_dda=True)
            formatted = format_dmn_or_address(prefix, dda)
            # a skipped level is written back as an explicit "@" (omitted)
            assert parse_dmn_or_address(formatted, allow_dda=True) == (prefix, dda)
            assert formatted == text or "$@" in formatted
            seen += 1
    assert seen >= 10
