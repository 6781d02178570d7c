"""The bounded BER decoder: limits, hostile input, and "only BERError"."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.type import univ

from gateway.x400.asn1 import ber, ipms
from tests.x400.asn1 import samples

SAMPLE = ber.encode(samples.full_ipm())


def _refused(data: bytes, *, seconds: float = 1.0, **limits: int) -> ber.BERError:
    """Decode *data* as an IPM, expecting a BERError within *seconds*."""
    started = time.perf_counter()
    with pytest.raises(ber.BERError) as info:
        ber.decode(data, ipms.IPM(), **limits)
    assert time.perf_counter() - started < seconds
    return info.value


def _peak_memory(action: Callable[[], object]) -> int:
    tracemalloc.start()
    with contextlib.suppress(ber.BERError):
        action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# -- hostile inputs


def test_ten_thousand_deep_indefinite_nesting() -> None:
    data = b"\x30\x80" * 10_000 + b"\x00\x00" * 10_000
    error = _refused(data)
    assert "nesting deeper than 64" in error.reason
    assert error.offset == 64 * 2
    assert _peak_memory(lambda: ber.decode(data, ipms.IPM())) < 200_000


def test_ten_thousand_deep_definite_nesting() -> None:
    data = b"\x04\x00"
    for _ in range(10_000):
        data = b"\x30" + bytes([0x84]) + len(data).to_bytes(4, "big") + data
    error = _refused(data)
    assert "nesting deeper" in error.reason


def test_nesting_limit_is_a_parameter() -> None:
    data = b"\x30\x80" * 5 + b"\x00\x00" * 5
    ber.check(data, max_depth=5)
    with pytest.raises(ber.BERError, match="nesting deeper than 4"):
        ber.check(data, max_depth=4)


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x88" + (2**63).to_bytes(8, "big") + b"\x04\x00",  # 2^63
        b"\x04\x88" + (2**63 - 1).to_bytes(8, "big") + b"x",
        b"\x30\x88\xff\xff\xff\xff\xff\xff\xff\xff",  # 2^64 - 1
        b"\x04\xfe" + b"\xff" * 126,  # 126 length octets
    ],
)
def test_huge_lengths_are_refused_from_the_length_octets(data: bytes) -> None:
    error = _refused(data, max_length=2**70, max_total=2**70)
    assert "length" in error.reason
    assert _peak_memory(lambda: ber.decode(data, ipms.IPM(), max_length=2**70)) < 100_000


def test_length_beyond_max_length() -> None:
    data = b"\x04\x82\x01\x00" + b"x" * 256
    ber.check(data)
    with pytest.raises(ber.BERError, match="exceeds the limit of 255"):
        ber.check(data, max_length=255)


def test_inner_length_past_its_container() -> None:
    # SEQUENCE of 3 octets holding an OCTET STRING that claims 5
    error = _refused(b"\x30\x03\x04\x05abc" + b"de")
    assert "past the end of its container" in error.reason
    assert error.offset == 2


def test_every_truncation_of_a_real_ipm_is_refused() -> None:
    started = time.perf_counter()
    for cut in range(len(SAMPLE)):
        with pytest.raises(ber.BERError):
            ber.decode(SAMPLE[:cut], ipms.IPM())
    assert time.perf_counter() - started < 5


def test_truncated_indefinite_encoding() -> None:
    error = _refused(b"\x30\x80\x04\x01a")
    assert "end-of-contents octets missing" in error.reason


def test_total_size_overflow() -> None:
    error = _refused(SAMPLE, max_total=len(SAMPLE) - 1)
    assert error.offset == 0
    assert "exceeds the limit" in error.reason
    assert ber.decode(SAMPLE, ipms.IPM(), max_total=len(SAMPLE)) is not None


def test_huge_input_refused_before_any_walk() -> None:
    data = b"\x30\x80" * 1_000_000  # 2 MB
    started = time.perf_counter()
    with pytest.raises(ber.BERError, match="exceeds the limit"):
        ber.decode(data, ipms.IPM(), max_total=1_000_000)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no data"),
        (SAMPLE + b"\x00", "after the end of the element"),
        (b"\x00\x00", "end-of-contents octets where no indefinite length is open"),
        (b"\x04\x80abc\x00\x00", "indefinite length on a primitive encoding"),
        (b"\x04\xff", "reserved length octet"),
        (b"\x1f\x80\x01\x00", "leading zero octet"),
        (b"\x1f\x81\x81\x81\x81\x01\x00", "tag number longer than 4 octets"),
        (b"\x1f\x81", "tag number octets missing"),
        (b"\x30", "length octets missing"),
        (b"\x04\x82\x01", "length octets missing"),
    ],
)
def test_malformed_headers(data: bytes, reason: str) -> None:
    with pytest.raises(ber.BERError, match=reason):
        ber.check(data)


def test_wrong_tag_is_a_ber_error_with_a_short_message() -> None:
    error = _refused(b"\x31\x00")  # a SET where the IPM SEQUENCE belongs
    assert "does not decode as IPM" in error.reason
    assert len(str(error)) < 400
    assert isinstance(error.__cause__, Exception)


def test_constraint_violation_is_a_ber_error() -> None:
    # IPMIdentifier with a 65-character LocalIPMIdentifier (ub-local-ipm-identifier 64)
    local = b"x" * 65
    data = b"\x6b" + bytes([len(local) + 2, 0x13, len(local)]) + local
    with pytest.raises(ber.BERError):
        ber.decode(data, ipms.IPMIdentifier())


# -- definite()


def test_definite_rewrites_only_lengths() -> None:
    pp_style = bytes.fromhex("30 80 24 80 04 02 6869 04 01 21 00 00 02 81 01 05 00 00")
    assert ber.definite(pp_style) == bytes.fromhex("30 0c 24 07 04 02 6869 04 01 21 02 01 05")
    assert ber.definite(SAMPLE) == SAMPLE


def test_definite_long_form_lengths() -> None:
    body = b"\x04\x82\x01\x2c" + b"x" * 300
    assert ber.definite(b"\x30\x80" + body + b"\x00\x00") == b"\x30\x82\x01\x30" + body


# -- encode()


def test_encode_errors_are_ber_errors() -> None:
    incomplete = ipms.IPMIdentifier()  # user-relative-identifier missing
    with pytest.raises(ber.BERError, match="cannot encode"):
        ber.encode(incomplete)


# -- property tests: any input gives a value or a BERError


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_give_a_value_or_ber_error(data: bytes) -> None:
    with contextlib.suppress(ber.BERError):
        ber.decode(data, ipms.IPM())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_a_body_part(data: bytes) -> None:
    try:
        value = ber.decode(data, ipms.BodyPart())
    except ber.BERError:
        return
    ber.encode(value)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), min_size=1, max_size=4
    )
)
def test_mutated_ipm_gives_a_value_or_ber_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SAMPLE)
    for offset, octet in edits:
        data[offset] = octet
    with contextlib.suppress(ber.BERError):
        ber.decode(bytes(data), ipms.IPM())


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.binary(max_size=8).map(lambda b: b"\x04" + bytes([len(b)]) + b),
        lambda children: st.lists(children, max_size=4).map(
            lambda parts: b"\x30\x80" + b"".join(parts) + b"\x00\x00"
        ),
        max_leaves=20,
    )
)
def test_definite_agrees_with_the_walk(data: bytes) -> None:
    """Any well-formed indefinite encoding becomes a definite one that walks
    the same and is its own fixed point."""
    rewritten = ber.definite(data)
    assert b"\x80" not in rewritten[1:2]
    assert ber.definite(rewritten) == rewritten
    assert ber.decode(rewritten, univ.Any()) is not None
