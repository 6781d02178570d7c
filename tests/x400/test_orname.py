"""gateway.x400.orname: O/R address values, std-or text, ps-encoding, encoded-pn."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.orname import (
    ORAddress,
    ORAddressError,
    format_encoded_pn,
    format_std_or,
    parse_encoded_pn,
    parse_std_or,
    ps_decode,
    ps_encode,
)

# --- RFC 2156 3.4: ASCII <-> PrintableString ---------------------------------

# The example table of RFC 2156 3.4 ("<->" rows: both ways).
PS_BOTH_WAYS = [
    ("a demo.", "a demo."),
    ("foo(a)bar", "foo@bar"),
    ("(q)(u)(p)(q)", '"_%"'),
    ("(a)", "@"),
    ("(l)a(r)", "(a)"),
    ("(126)", "~"),
    ("(l)", "("),
]


@pytest.mark.parametrize(("printable", "ascii_"), PS_BOTH_WAYS)
def test_ps_encoding_rfc2156_3_4_examples(printable: str, ascii_: str) -> None:
    assert ps_encode(ascii_) == printable
    assert ps_decode(printable) == ascii_


def test_ps_decode_one_way_rfc2156_3_4() -> None:
    assert ps_decode("(A)") == "@"  # case-insensitive on input, lower case on output
    assert ps_encode("@") == "(a)"
    # "(" -> "(": not ps-encoded; an error, or passed through unaltered.
    with pytest.raises(ORAddressError, match="not ps-encoded"):
        ps_decode("(")
    assert ps_decode("(", strict=False) == "("


def test_ps_encoding_other_characters_three_decimal_digits() -> None:
    assert ps_encode("#") == "(035)"
    assert ps_encode("\t") == "(009)"
    assert ps_decode("(000)") == "\x00"
    with pytest.raises(ORAddressError):
        ps_decode("(128)")  # 3DIGIT "shall have range 0-127"
    with pytest.raises(ORAddressError, match="not ASCII"):
        ps_encode("é")


def test_ps_encoding_rfc2156_4_3_4_example_2() -> None:
    assert ps_encode("Tom_Harris@cs.widget.com") == "Tom(u)Harris(a)cs.widget.com"


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ps_round_trip(text: str) -> None:
    encoded = ps_encode(text)
    assert all(c.isalnum() or c in " '()+,-./:=?" for c in encoded)
    assert ps_decode(encoded) == text


# --- RFC 2156 4.1.2: encoded-pn ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "given_", "initials", "surname"),
    [
        ("Marshall.Rose", "Marshall", None, "Rose"),  # 4.1.2
        ("M.T.Rose", None, "MT", "Rose"),  # 4.1.2
        ("Marshall.M.T.Rose", "Marshall", "MT", "Rose"),  # 4.1.2
        ("J.Linnimouth", None, "J", "Linnimouth"),  # 4.3.1
        ("Joe.Soap", "Joe", None, "Soap"),  # 4.4.2
        ("Rose", None, None, "Rose"),
    ],
)
def test_encoded_pn_rfc2156_examples(
    text: str, given_: str | None, initials: str | None, surname: str
) -> None:
    assert parse_encoded_pn(text) == (given_, initials, surname)
    addr = ORAddress(surname=surname, given_name=given_, initials=initials)
    assert format_encoded_pn(addr) == text


@pytest.mark.parametrize(
    "addr",
    [
        ORAddress(surname="Linnimouth", initials="J", generation_qualifier="5"),  # 1. no GQ
        ORAddress(surname="Rose", initials="M3"),  # 2. initials letters only
        ORAddress(surname="Rose", given_name="M"),  # 3. given at least 2 characters
        ORAddress(surname="Rose", given_name="Ma.x"),  # 3. given without "."
        ORAddress(surname="R.se", given_name="Marshall"),  # 4. no "." in first two
        ORAddress(surname="Ros.e"),  # 5. surname alone has no "."
    ],
)
def test_encoded_pn_restrictions_rfc2156_4_1_2(addr: ORAddress) -> None:
    assert format_encoded_pn(addr) is None


@pytest.mark.parametrize("text", ["", "a..b", ".Rose", "Rose.", "1.Rose", "Tom_Harris"])
def test_encoded_pn_refuses_what_would_not_map_back(text: str) -> None:
    assert parse_encoded_pn(text) is None


# --- RFC 2156 4.1.3: std-or ----------------------------------------------------


def test_parse_rfc2156_4_3_1_widget_lhs() -> None:
    assert parse_std_or("/I=J/S=Linnimouth/GQ=5/") == ORAddress(
        surname="Linnimouth", initials="J", generation_qualifier="5"
    )


def test_parse_semicolons_aliases_and_spaces_rfc2156_4_3_5_example_1() -> None:
    # "S=Support; O=sales;  A=Master400; C=it;" -- ";" separators, the
    # input-only key A (4.1.1), blanks after the separators.
    addr = parse_std_or("S=Support; O=sales;  A=Master400; C=it;")
    assert addr == ORAddress(
        country="it", admd="Master400", organisation="sales", surname="Support"
    )
    assert format_std_or(addr) == "/S=Support/O=sales/ADMD=Master400/C=it/"


def test_parse_dda_order_rfc2156_4_3_5_example_3() -> None:
    addr = parse_std_or(
        "S=Rossi; DD.cap=20100; DD.ph1=Via Larga 11; DDA.city=Milano; A=PtPostel; C=it;"
    )
    # 4.3.3: rightmost is most significant, first in the X.411 SEQUENCE.
    assert addr.dda == (("city", "Milano"), ("ph1", "Via Larga 11"), ("cap", "20100"))
    assert format_std_or(addr) == (
        "/DD.cap=20100/DD.ph1=Via Larga 11/DD.city=Milano/S=Rossi/ADMD=PtPostel/C=it/"
    )


def test_rfc_822_short_key_rfc2156_4_4_2() -> None:
    text = "/RFC-822=jj(a)seismo.css.gov/PRMD=AC/ADMD=BT/C=GB/"
    addr = parse_std_or(text)
    assert addr.dda == (("RFC-822", "jj(a)seismo.css.gov"),)
    assert format_std_or(addr) == text


def test_mixer_dda_types_are_case_independent_rfc2156_4_3_2() -> None:
    # 4.3.2 writes the type both "RFC-822" and "rfc-822".
    addr = parse_std_or("/DD.rfc-822=postel(a)venera.isi.edu/PRMD=42/ADMD=Wizz.mail/C=TC/")
    assert addr.dda == (("RFC-822", "postel(a)venera.isi.edu"),)
    assert format_std_or(addr).startswith("/RFC-822=postel(a)venera.isi.edu/")


def test_canonical_order_rfc2156_5_3_8_4_examples() -> None:
    # Printed by RFC 2156 in the DR example, most significant rightmost.
    for text in (
        "/I=j/S=nosuchuser/OU=dle/O=cambridge/PRMD=DGC/ADMD=GOLD 400/C=GB/",
        "/RFC-822=H.Hildegard(a)bbn.com/OU=cs/O=ucl/PRMD=uk.ac/ADMD=gold 400/C=gb/",
    ):
        assert format_std_or(parse_std_or(text)) == text
    # Any input order gives the same value and the same text.
    shuffled = parse_std_or("C=GB;ADMD=GOLD 400;PRMD=DGC;O=cambridge;OU=dle;S=nosuchuser;I=j")
    assert format_std_or(shuffled) == (
        "/I=j/S=nosuchuser/OU=dle/O=cambridge/PRMD=DGC/ADMD=GOLD 400/C=GB/"
    )


def test_org_units_order_and_numbered_keys() -> None:
    addr = parse_std_or("/OU=Sales/OU=EMEA/O=Acme/ADMD=x/C=GB/")
    assert addr.org_units == ("EMEA", "Sales")
    assert parse_std_or("/OU1=EMEA/OU2=Sales/O=Acme/ADMD=x/C=GB/") == addr
    with pytest.raises(ORAddressError, match="OU and OU1"):
        parse_std_or("/OU1=EMEA/OU=Sales/")


def test_keys_are_case_independent_rfc2156_4_1_3() -> None:
    assert parse_std_or("/s=Smith/admd=x/c=gb/") == parse_std_or("/S=Smith/ADMD=x/C=gb/")
    assert parse_std_or("/q=3/s=x/p=y/") == ORAddress(
        surname="x", generation_qualifier="3", prmd="y"
    )


def test_missing_admd_is_a_single_space_rfc2156_4_1_3() -> None:
    addr = parse_std_or("/S=Smith/O=Acme/C=GB/")
    assert addr.admd == " "
    assert format_std_or(addr) == "/S=Smith/O=Acme/ADMD= /C=GB/"
    assert parse_std_or("/S=Smith/ADMD=/C=GB/").admd == ""  # zero length is kept


def test_dollar_quoting_rfc2156_4_1_3() -> None:
    addr = parse_std_or("/O=a$/b$=c/")
    assert addr.organisation == "a/b=c"
    assert format_std_or(addr) == "/O=a$/b$=c/"
    assert parse_std_or("/O=$a/").organisation == "a"  # "$" ps-char


def test_pn_key_and_dd_colon_form_input_only() -> None:
    assert parse_std_or("/PN=Marshall.M.T.Rose/") == ORAddress(
        surname="Rose", given_name="Marshall", initials="MT"
    )
    assert parse_std_or("/DDA:foo=bar/").dda == (("foo", "bar"),)
    assert format_std_or(parse_std_or("/DDA:foo=bar/")) == "/DD.foo=bar/"


def test_other_attributes() -> None:
    addr = parse_std_or("/X.121=1234/N-ID=77/T-TY=g3fax(5)/PD-PC=CB3 0FD/ADMD=x/C=234/")
    assert (addr.x121, addr.numeric_user_id, addr.terminal_type) == ("1234", "77", 5)
    assert addr.extra == (("PD-CODE", "CB3 0FD"),)
    assert not addr.is_mnemonic
    assert format_std_or(addr) == (
        "/X121=1234/UA-ID=77/T-TY=g3fax(5)/PD-CODE=CB3 0FD/ADMD=x/C=234/"
    )
    upa = parse_std_or("/PD-ADDRESS=The Dome|The Square|Richmond|England/")  # 4.1.1
    assert upa.extra == (("PD-ADDRESS", "The Dome|The Square|Richmond|England"),)


@pytest.mark.parametrize(
    ("text", "attribute", "reason"),
    [
        ("/FOO=x/", "FOO", "unknown attribute key"),
        ("/S=/", "S", "empty value"),
        ("/S=" + "x" * 41 + "/", "S", "too long (41 > 40"),
        ("/G=" + "x" * 17 + "/S=y/", "G", "too long (17 > 16"),
        ("/PRMD=" + "x" * 17 + "/", "PRMD", "too long"),
        ("/DD.toolongtype=x/", "DD.toolongtype", "too long (11 > 8"),
        ("/S=a@b/", "S", "not PrintableString"),
        ("/S=x/S=y/", "S", "repeated"),
        ("/C=GBR/", "C", "2 letters"),
        ("/G=Joe/", "S", "needs a surname"),
        ("/OU=a/OU=b/OU=c/OU=d/OU=e/", "OU", "more than 4"),
        ("/X121=12a/", "X121", "not NumericString"),
        ("/CN=yen*{165}/", "CN", "teletex"),
        ("/NET-PSAP=x/", "NET-PSAP", "not supported"),
        ("/O=a$$/", "O", "'$' must quote"),
        ("/O=a=b/", "O", "unquoted '='"),
        ("/S=x/Joe/", None, "has no '='"),
        ("", None, "no attributes"),
    ],
)
def test_errors_name_the_attribute(text: str, attribute: str | None, reason: str) -> None:
    with pytest.raises(ORAddressError) as info:
        parse_std_or(text)
    assert info.value.attribute == attribute
    assert reason in info.value.reason


# --- properties ------------------------------------------------------------------

_ps = st.text(alphabet=sorted("abcXYZ019 '()+,-./:=?"), min_size=1)


def _bounded(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=sorted("abcXYZ019 '()+,-./:=?"), min_size=1, max_size=size)


@st.composite
def or_addresses(draw: st.DrawFn) -> ORAddress:
    surname = draw(st.none() | _bounded(40))
    pn = {}
    if surname is not None:
        pn = {
            "surname": surname,
            "given_name": draw(st.none() | _bounded(16)),
            "initials": draw(st.none() | _bounded(5)),
            "generation_qualifier": draw(st.none() | _bounded(3)),
        }
    country = draw(st.none() | st.sampled_from(["GB", "it", "234"]))
    addr = ORAddress(
        country=country,
        admd=draw(st.none() | st.text(alphabet="ab 9", max_size=16)),
        prmd=draw(st.none() | _bounded(16)),
        organisation=draw(st.none() | _bounded(64)),
        org_units=tuple(draw(st.lists(_bounded(32), max_size=4))),
        common_name=draw(st.none() | _bounded(64)),
        dda=tuple(draw(st.lists(st.tuples(_bounded(8), _bounded(128)), max_size=4))),
        x121=draw(st.none() | st.text(alphabet="0123456789 ", min_size=1, max_size=16)),
        terminal_type=draw(st.none() | st.integers(0, 256)),
        extra=tuple(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(["PD-CODE", "PD-BOX"]), _bounded(16)),
                    max_size=2,
                    unique_by=lambda kv: kv[0],
                )
            )
        ),
        **pn,
    )
    if addr == ORAddress():
        return ORAddress(surname="x")
    return addr


@given(or_addresses())
def test_print_parse_round_trip(addr: ORAddress) -> None:
    text = format_std_or(addr)
    assert parse_std_or(text) == addr
    assert format_std_or(parse_std_or(text)) == text


@given(or_addresses())
def test_semicolon_input_form_parses_the_same(addr: ORAddress) -> None:
    text = format_std_or(addr)
    assert parse_std_or(text[1:].replace("/", ";").replace("$;", "$/")) == addr


@given(st.text())
def test_parse_raises_only_our_error(text: str) -> None:
    with contextlib.suppress(ORAddressError):
        parse_std_or(text)


@given(st.text(alphabet=sorted("/;=$.:SGOIUCDADMPRQX-*{}( )a1 ")))
def test_parse_raises_only_our_error_near_miss(text: str) -> None:
    try:
        addr = parse_std_or(text)
    except ORAddressError:
        return
    assert parse_std_or(format_std_or(addr)) == addr


@given(st.from_regex(r"[A-Za-z0-9 '+,-/:=?()]{0,20}(\.[A-Za-z0-9 ]{0,5}){0,4}", fullmatch=True))
def test_encoded_pn_round_trip(text: str) -> None:
    pn = parse_encoded_pn(text)
    if pn is not None:
        try:
            addr = ORAddress(given_name=pn[0], initials=pn[1], surname=pn[2])
        except ORAddressError:
            return  # parses, but over an X.411 upper bound
        assert format_encoded_pn(addr) == text
