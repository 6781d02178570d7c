"""X.400 times (UTCTime, GeneralizedTime) and RFC 5322 date-times (RFC 2156 3.3.5).

The model keeps X.400 times as the text that was sent (``raw``); this module
reads and writes that text and converts it to and from the ``Date:`` syntax.

RFC 2156 3.3.5: the zone is kept as it was given, never normalised; UTCTime
is written with an explicit offset; a two-digit year is read in the window
1980-2079 and only its last two digits are written.  RFC 5322 dates are
written with a four-digit year (RFC 1123) even where the RFC 2156 examples,
written before it, show two.

Odd input that real peers send is read rather than refused (P1-WIRE.md): the
ISODE habit of printing years from 2000 on as three digits counted from 1900
(``1261128205158Z`` is 2026-11-28 20:51:58 UTC), UTCTime without seconds,
GeneralizedTime with fractions, and a time without a zone (read as UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

__all__ = [
    "format_x400_time",
    "parse_rfc5322_date",
    "parse_x400_time",
    "rfc5322_date",
]

_ZONE = r"(Z|[+-]\d{4})?"
# UTCTime YYMMDDhhmm[ss]; the ISODE three-digit year; GeneralizedTime.
_UTC_TIME = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?" + _ZONE)
_ISODE_TIME = re.compile(r"(\d{3})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})" + _ZONE)
_GENERALIZED_TIME = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?" + _ZONE
)


def _zone(text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[3:5])
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad zone offset {text!r}")
    offset = timedelta(hours=hours, minutes=minutes)
    return UTC if not offset else timezone(sign * offset)


def _window(yy: int) -> int:
    return 2000 + yy if yy < 80 else 1900 + yy  # RFC 2156 3.3.5: 1980-2079


def parse_x400_time(raw: str) -> datetime | None:
    """The aware datetime of an X.400 time text, or ``None`` if unreadable.

    UTCTime (``YYMMDDhhmm[ss](Z|+hhmm)``, years 1980-2079), the ISODE
    three-digit year (years since 1900) and GeneralizedTime are accepted;
    the zone given is kept.
    """
    text = raw.strip()
    for pattern in (_UTC_TIME, _ISODE_TIME, _GENERALIZED_TIME):
        m = pattern.fullmatch(text)
        if m is None:
            continue
        year_text, mo, dd, hh, mi, ss, *rest = m.groups()
        frac, zone = rest if len(rest) == 2 else (None, rest[0])
        if pattern is _UTC_TIME:
            year = _window(int(year_text))
        elif pattern is _ISODE_TIME:
            year = 1900 + int(year_text)
        else:
            year = int(year_text)
        micro = int((frac + "000000")[:6]) if frac else 0
        try:
            return datetime(
                year, int(mo), int(dd), int(hh), int(mi or 0), int(ss or 0), micro, _zone(zone)
            )
        except ValueError:
            continue
    return None


def format_x400_time(when: datetime) -> str:
    """UTCTime text with seconds and the zone of ``when`` (``891020192511+0100``).

    A zero offset is written ``Z``; a naive datetime is taken as UTC.  Only
    the last two digits of the year are written (RFC 2156 3.3.5).
    """
    offset = when.utcoffset() or timedelta(0)
    stamp = f"{when.year % 100:02d}{when:%m%d%H%M%S}"
    if not offset:
        return stamp + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{stamp}{sign}{hours:02d}{mins:02d}"


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def rfc5322_date(raw: str, fallback: datetime) -> str:
    """The ``Date:`` syntax of an X.400 time, keeping its zone.

    ``fallback`` (normally the conversion time) is used when ``raw`` cannot
    be read (RFC 2156 3.3.5 note).
    """
    when = parse_x400_time(raw)
    return format_datetime(_aware(when if when is not None else fallback))


def parse_rfc5322_date(value: str) -> datetime | None:
    """The aware datetime of an RFC 5322 (or RFC 822, two-digit year)
    date-time, or ``None``.  ``-0000`` (zone unknown) is read as UTC."""
    try:
        when = parsedate_to_datetime(" ".join(value.split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _aware(when)
