"""gateway.x400.timefmt: X.400 times and RFC 5322 dates (RFC 2156 3.3.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.timefmt import (
    format_x400_time,
    parse_rfc5322_date,
    parse_x400_time,
    rfc5322_date,
)

PLUS1 = timezone(timedelta(hours=1))

PARSE = [
    ("891020192511+0100", datetime(1989, 10, 20, 19, 25, 11, tzinfo=PLUS1)),
    ("8910201925Z", datetime(1989, 10, 20, 19, 25, tzinfo=UTC)),  # no seconds
    ("790101000000Z", datetime(2079, 1, 1, tzinfo=UTC)),  # window 1980-2079
    ("800101000000Z", datetime(1980, 1, 1, tzinfo=UTC)),
    ("7001010000Z", datetime(2070, 1, 1, tzinfo=UTC)),  # PP's year 70, by the window
    ("1261128205158Z", datetime(2026, 11, 28, 20, 51, 58, tzinfo=UTC)),  # ISODE 3-digit year
    ("20260101120000.5Z", datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    (
        "19891020192511-0330",
        datetime(1989, 10, 20, 19, 25, 11, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
    ),
    ("19891020192511", datetime(1989, 10, 20, 19, 25, 11, tzinfo=UTC)),  # no zone: UTC
]


@pytest.mark.parametrize(("raw", "expected"), PARSE)
def test_parse_x400_time(raw: str, expected: datetime) -> None:
    got = parse_x400_time(raw)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()  # zone kept


@pytest.mark.parametrize("raw", ["", "bad", "891320192511Z", "8910201925+2500", "89102019"])
def test_parse_x400_time_unreadable(raw: str) -> None:
    assert parse_x400_time(raw) is None


def test_format_keeps_zone_and_uses_two_digit_year() -> None:
    assert (
        format_x400_time(datetime(1989, 10, 20, 19, 25, 11, tzinfo=PLUS1)) == "891020192511+0100"
    )
    assert format_x400_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "260102030405Z"
    assert format_x400_time(datetime(2026, 1, 2, 3, 4, 5)) == "260102030405Z"  # naive = UTC
    minus = timezone(-timedelta(hours=5))
    assert format_x400_time(datetime(1997, 1, 2, 14, 46, 3, tzinfo=minus)) == "970102144603-0500"


def test_rfc5322_date() -> None:
    assert (
        rfc5322_date("891020192511+0100", datetime.now(UTC)) == "Fri, 20 Oct 1989 19:25:11 +0100"
    )
    fallback = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert rfc5322_date("garbage", fallback) == "Mon, 06 May 2024 07:08:09 +0000"


def test_parse_rfc5322_date() -> None:
    # the two-digit year of the RFC 2156 examples, and -0000 (zone unknown)
    assert parse_rfc5322_date("Tue, 20 Jun 89 19:25:11 +0100") == datetime(
        1989, 6, 20, 19, 25, 11, tzinfo=PLUS1
    )
    assert parse_rfc5322_date("Thu, 2 Jan 1997 14:46:03 -0000") == datetime(
        1997, 1, 2, 14, 46, 3, tzinfo=UTC
    )
    assert parse_rfc5322_date("Thu, 30 May 1991\r\n 18:24:55 +0100") is not None
    assert parse_rfc5322_date("yesterday") is None
    assert parse_rfc5322_date("") is None


aware_times = st.builds(
    lambda dt, minutes: dt.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2079, 12, 31)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
)


@given(aware_times)
def test_x400_time_round_trip(when: datetime) -> None:
    raw = format_x400_time(when)
    back = parse_x400_time(raw)
    assert back == when and back is not None and back.utcoffset() == when.utcoffset()
    # and through the Date: syntax
    again = parse_rfc5322_date(rfc5322_date(raw, datetime.now(UTC)))
    assert again is not None and format_x400_time(again) == raw


@given(st.text(max_size=30))
def test_parse_never_raises(text: str) -> None:
    parse_x400_time(text)
    parse_rfc5322_date(text)
