from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.store.filenames import (
    BadName,
    crlf_size,
    flag_name,
    flags_to_letters,
    format_keywords,
    letters_to_flags,
    parse_keywords,
    parse_name,
    to_crlf,
    to_lf,
)


def test_a_name_in_cur_with_sizes_and_flags() -> None:
    parsed = parse_name("1700000000.M1P2.host,S=120,W=124:2,FS")
    assert parsed.base == "1700000000.M1P2.host,S=120,W=124"
    assert (parsed.letters, parsed.has_info, parsed.size, parsed.vsize) == ("FS", True, 120, 124)
    assert parsed.name == "1700000000.M1P2.host,S=120,W=124:2,FS"


def test_a_name_in_new_has_no_info() -> None:
    parsed = parse_name("1700000000.M1P2.host")
    assert (parsed.base, parsed.letters, parsed.has_info, parsed.size) == (
        "1700000000.M1P2.host",
        "",
        False,
        None,
    )


def test_experimental_info_stays_in_the_base() -> None:
    assert parse_name("abc:1,xyz").base == "abc:1,xyz"


@pytest.mark.parametrize("name", ["", ".hidden", ".."])
def test_dot_files_are_not_messages(name: str) -> None:
    with pytest.raises(BadName):
        parse_name(name)


def test_letters_are_sorted_and_unique() -> None:
    assert flag_name("b", "SFSD") == "b:2,DFS"


def test_letters_map_to_imap_flags_and_keywords() -> None:
    flags = letters_to_flags("DFPRSTab", ["$Forwarded", "Work"])
    assert flags == {
        "\\Draft",
        "\\Flagged",
        "\\Answered",
        "\\Seen",
        "\\Deleted",
        "$Forwarded",
        "Work",
    }
    assert letters_to_flags("c", ["only-one"]) == frozenset()  # no keyword c: dropped


def test_flags_to_letters_keeps_unknown_letters_and_adds_keywords() -> None:
    keywords = ["$Forwarded"]
    letters = flags_to_letters({"\\Seen", "\\Recent", "work", "$forwarded"}, keywords, keep="PZS")
    assert keywords == ["$Forwarded", "work"]
    assert letters == "PSZab"


def test_at_most_26_keywords() -> None:
    keywords = [f"k{i}" for i in range(26)]
    with pytest.raises(ValueError, match="26 keywords"):
        flags_to_letters({"one-more"}, keywords)


def test_dovecot_keywords_file() -> None:
    assert parse_keywords("0 $Forwarded\n1 Junk\nbogus\n3 after-a-gap\n") == ["$Forwarded", "Junk"]
    assert format_keywords(["a", "b"]) == "0 a\n1 b\n"


def test_line_ends() -> None:
    assert to_crlf(b"a\nb\n") == b"a\r\nb\r\n"
    assert to_crlf(b"a\r\nb\n") == b"a\r\nb\r\n"
    assert to_lf(b"a\r\nb\r\n") == b"a\nb\n"
    assert crlf_size(b"a\nb\r\n") == 6


@given(st.text(min_size=1).filter(lambda t: not t.startswith(".")))
def test_any_name_parses_and_round_trips(name: str) -> None:
    parsed = parse_name(name)
    if parsed.has_info:
        assert parsed.name == name
    else:
        assert parsed.base == name


@given(st.binary())
def test_crlf_size_is_the_size_of_the_crlf_form(data: bytes) -> None:
    if b"\r" not in data:
        assert crlf_size(data) == len(to_crlf(data))
        assert to_lf(to_crlf(data)) == data
