"""The GeneralString of the general-text body part (X.420 7.4.11)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.generaltext import (
    RIGHT_HALVES,
    GeneralTextError,
    decode_general_text,
    encode_general_text,
)

LATIN1 = (1, 6, 100)


def test_designated_latin1_as_real_peers_send_it() -> None:
    assert decode_general_text(b"\x1b-A Gr\xfc\xdfe aus K\xf6ln\r\n", LATIN1) == (
        " Gr\xfc\xdfe aus K\xf6ln\r\n"
    )


def test_undesignated_right_half_follows_the_single_declared_set() -> None:
    assert decode_general_text(b"caf\xe9", LATIN1) == "caf\xe9"
    assert decode_general_text(b"\xb0\xe8", (1, 6, 101)) == "\xb0\u010d"  # 8859-2


def test_escape_switches_sets_midway() -> None:
    data = b"\x1b-A\xe9 \x1b-F\xe1"  # Latin-1 e-acute, then Greek alpha
    assert decode_general_text(data, (1, 6, 100, 126)) == "\xe9 \u03b1"


def test_utf8_other_coding_system() -> None:
    assert decode_general_text(b"\x1b%G\xe2\x82\xac 5", (1, 6, 196)) == "\u20ac 5"
    assert encode_general_text("\u20ac 5", (1, 6, 196)) == b"\x1b%G\xe2\x82\xac 5"


@pytest.mark.parametrize(
    ("data", "charsets", "problem"),
    [
        (b"x", (1, 6, 87), "ISO-IR 87 is not supported"),
        (b"\x1b$B", LATIN1, "unsupported escape sequence"),
        (b"\xe9", (1, 6), "octet 0xe9 at 0 is in no designated set"),
        (b"\x1b%G\xff", (1, 6, 196), "bad UTF-8"),
    ],
)
def test_bad_text_names_the_problem(data: bytes, charsets: tuple[int, ...], problem: str) -> None:
    with pytest.raises(GeneralTextError, match=problem):
        decode_general_text(data, charsets)


def test_text_beyond_the_declared_sets_is_refused() -> None:
    with pytest.raises(GeneralTextError, match="needs a character set"):
        encode_general_text("\u20ac", LATIN1)


@given(st.sampled_from(sorted(RIGHT_HALVES)), st.data())
def test_round_trip_every_right_half(number: int, data: st.DataObject) -> None:
    codec = RIGHT_HALVES[number][1]
    alphabet = [
        c for c in map(chr, [*range(0x20, 0x80), *range(0xA0, 0x100)]) if _encodes(c, codec)
    ]
    text = data.draw(st.text(alphabet=alphabet))
    charsets = (1, 6, number)
    assert decode_general_text(encode_general_text(text, charsets), charsets) == text


def test_esc_in_text_is_refused() -> None:
    with pytest.raises(GeneralTextError, match="ESC cannot be carried"):
        encode_general_text("a\x1bb", (1, 6, 196))


@given(st.text().filter(lambda t: "\x1b" not in t))
def test_round_trip_utf8(text: str) -> None:
    assert decode_general_text(encode_general_text(text, (1, 6, 196)), (1, 6, 196)) == text


def _encodes(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True
