"""gateway.x400.codes: X.411 code names, RFC 2156 5.3.8.2 / 5.1.8.4 tables, App. A."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.x400.codes import (
    DIAGNOSTICS,
    LOSSLESS_PAIRS,
    REASONS,
    STATUS_TO_X400,
    X400_TO_STATUS,
    diagnostic_code_text,
    notify_to_requests,
    parse_diagnostic_code_text,
    requests_to_notify,
    status_for,
    x400_for,
)
from gateway.x400.model import ReportRequest

REFERENCE = Path("/work/shared/reference/x400")
ASN1 = REFERENCE / "asn1" / "itu-t_x_x411_1999_MTSAbstractService.asn1"
RFC2156 = REFERENCE / "rfc2156.txt"
needs_reference = pytest.mark.skipif(
    not (ASN1.exists() and RFC2156.exists()), reason="reference texts not available"
)


# --- X.411 names -----------------------------------------------------------------


def _named_numbers(text: str, type_name: str) -> dict[int, str]:
    """The named numbers of ``type_name ::= INTEGER { ... }`` in an ASN.1 module."""
    match = re.search(rf"^{type_name}\s*::=\s*INTEGER\s*\{{(.*?)\}}", text, re.M | re.S)
    assert match is not None, type_name
    pairs = re.findall(r"([A-Za-z][\w-]*)\s*\(\s*(\d+)\s*\)", match.group(1))
    return {int(number): name for name, number in pairs}


@needs_reference
def test_reason_names_are_complete_and_verbatim() -> None:
    assert _named_numbers(ASN1.read_text(), "NonDeliveryReasonCode") == REASONS


@needs_reference
def test_diagnostic_names_are_complete_and_verbatim() -> None:
    names = _named_numbers(ASN1.read_text(), "NonDeliveryDiagnosticCode")
    assert len(names) == 79  # 0..78
    assert names == DIAGNOSTICS


# --- RFC 2156 5.3.8.2: X.400 -> status ---------------------------------------------

# Every row of the RFC 2156 5.3.8.2 table, written out again (range rows
# expanded to their ends), as (reason, diagnostic or None for "Any", status).
FORWARD_ROWS = [
    (0, None, "4.4.0"),
    (1, None, "5.0.0"),
    (2, None, "5.6.3"),
    (3, None, "5.6.0"),
    (4, None, "5.1.0"),
    (5, None, "5.7.1"),
    (6, None, "5.4.3"),
    (7, None, "5.3.3"),
    (1, 0, "5.1.1"),
    (1, 1, "5.1.4"),
    (1, 2, "4.3.1"),
    (1, 3, "5.4.6"),
    (1, 4, "4.2.1"),
    (1, 5, "4.4.7"),
    (1, 6, "5.6.1"),
    (1, 7, "5.2.3"),
    (2, 8, "5.6.3"),
    (2, 9, "5.6.3"),
    (1, 10, "5.6.3"),
    (1, 11, "5.5.2"),
    (1, 12, "5.5.2"),
    (1, 13, "5.5.2"),
    (1, 14, "5.5.0"),
    (1, 15, "5.6.1"),
    (1, 16, "5.5.3"),
    (1, 17, "5.4.4"),
    (1, 18, "5.3.3"),
    (2, 19, "5.6.2"),
    (2, 20, "5.6.0"),
    (2, 21, "5.6.0"),
    (2, 22, "5.6.2"),
    (2, 23, "5.6.2"),
    (2, 24, "5.6.2"),
    (2, 25, "5.6.2"),
    (1, 26, "5.4.0"),
    (1, 27, "5.4.6"),
    (1, 28, "5.7.2"),
    (1, 29, "5.7.1"),
    (1, 30, "4.2.4"),
    (4, 31, "5.6.0"),
    (4, 32, "5.1.0"),
    (4, 45, "5.1.0"),
    (1, 43, "5.1.6"),
    (1, 46, "5.7.0"),
    (2, 47, "5.3.3"),
    (0, 48, "5.3.4"),
    (0, 49, "4.4.7"),
]


@pytest.mark.parametrize(("reason", "diagnostic", "status"), FORWARD_ROWS)
def test_status_for_every_rfc_row(reason: int, diagnostic: int | None, status: str) -> None:
    assert status_for(reason, diagnostic) == status


@pytest.mark.parametrize("diagnostic", range(32, 46))
def test_physical_mail_range(diagnostic: int) -> None:
    assert status_for(4, diagnostic) == "5.1.0"


@pytest.mark.parametrize(
    ("reason", "diagnostic", "status"),
    [
        (1, 32, "5.0.0"),  # 32-45 is a reason-4 row: reason 1 falls back to 1/Any
        (4, 43, "5.1.0"),  # 1/43 is 5.1.6, 4/43 stays in the 4/32-45 row
        (0, 0, "4.4.0"),  # a pair that is not listed takes its reason's Any row
        (2, 0, "5.6.3"),
        (3, 31, "5.6.0"),
        (5, None, "5.7.1"),
        (1, 78, "5.0.0"),  # the X.411 security diagnostics are not in the table
        (8, None, "5.7.0"),  # reason 8 (not in RFC 2156): a security failure
        (8, 53, "5.7.0"),
        (99, 0, "5.0.0"),  # unknown reason
    ],
)
def test_status_for_fallbacks(reason: int, diagnostic: int | None, status: str) -> None:
    assert status_for(reason, diagnostic) == status


def _rfc_section(start: str, end: str) -> list[str]:
    text = RFC2156.read_text()
    begin = text.index(start)
    return text[begin : text.index(end, begin)].splitlines()


@needs_reference
def test_forward_table_matches_the_rfc_text() -> None:
    """Each row of the 5.3.8.2 table in rfc2156.txt is in X400_TO_STATUS."""
    rows: dict[tuple[int, int | None], str] = {}
    row = re.compile(r"^(\d)/(Any|\d+)(?:-(\d+))?\s+.*?\s(\d\.\d\.\d)\b")
    for line in _rfc_section("5.3.8.2.  Status Code Mappings\n", "5.3.8.3.  MTA Mappings"):
        match = row.match(line)
        if match is None:
            continue
        reason, first, last, status = match.groups()
        if first == "Any":
            rows[(int(reason), None)] = status
        else:
            for d in range(int(first), int(last or first) + 1):
                rows[(int(reason), d)] = status
    assert len(rows) == 46 + 13  # 46 lines, the 4/32-45 one expands to 14
    assert rows == X400_TO_STATUS


# --- RFC 2156 5.1.8.4: status -> X.400 ---------------------------------------------

# Every row of the RFC 2156 5.1.8.4 table, written out again.
REVERSE_ROWS = [
    ("5.0.0", (1, None)),
    ("5.1.0", (1, None)),
    ("5.1.1", (1, 0)),
    ("5.1.2", (1, 0)),
    ("5.1.3", (1, 0)),
    ("5.1.4", (1, 1)),
    ("5.1.6", (1, 43)),
    ("5.1.7", (1, 11)),
    ("5.1.8", (1, 11)),
    ("5.2.0", (1, None)),
    ("5.2.1", (1, 4)),
    ("5.2.2", (1, 4)),
    ("5.2.3", (1, 7)),
    ("5.2.4", (1, 30)),
    ("5.3.0", (0, None)),
    ("5.3.1", (1, 2)),
    ("5.3.2", (1, 2)),
    ("5.3.3", (1, 18)),
    ("5.3.4", (1, 7)),
    ("5.3.5", (1, None)),
    ("5.4.0", (0, None)),
    ("5.4.1", (0, None)),
    ("5.4.2", (0, None)),
    ("5.4.3", (6, None)),
    ("5.4.4", (0, None)),
    ("5.4.5", (1, 2)),
    ("5.4.6", (1, 3)),
    ("5.4.7", (1, 5)),
    ("5.5.0", (1, None)),
    ("5.5.1", (1, 14)),
    ("5.5.2", (1, 14)),
    ("5.5.3", (1, 16)),
    ("5.5.4", (1, 14)),
    ("5.5.5", (1, 18)),
    ("5.6.0", (2, None)),
    ("5.6.1", (1, 6)),
    ("5.6.2", (1, 9)),
    ("5.6.3", (2, 8)),
    ("5.6.5", (2, 47)),
    ("5.7.0", (1, 46)),
    ("5.7.1", (1, 29)),
    ("5.7.2", (1, 28)),
    ("5.7.3", (1, 46)),
    ("5.7.4", (1, 46)),
    ("5.7.5", (1, 46)),
    ("5.7.6", (1, 46)),
    ("5.7.7", (1, 46)),
]


@pytest.mark.parametrize(("status", "x400"), REVERSE_ROWS)
def test_x400_for_every_rfc_row(status: str, x400: tuple[int, int | None]) -> None:
    assert x400_for(status) == x400
    assert x400_for("4" + status[1:]) == x400  # "X": the class does not matter


@pytest.mark.parametrize(
    ("status", "x400"),
    [
        ("5.1.5", (1, None)),  # positive only: mapped as X.1.0
        ("5.6.4", (2, None)),  # positive only: mapped as X.6.0
        ("5.2.37", (1, None)),  # the RFC's own example: as 5.2.0
        ("4.4.99", (0, None)),  # as 4.4.0
        ("5.9.1", (1, None)),  # no X.9.0 row: as X.0.0
        ("5.1.1 (bad destination mailbox address)", (1, 0)),  # a comment after it
        ("  5.6.2", (1, 9)),
        ("5.1.10", (1, None)),  # not 5.1.1
        ("", (1, None)),
        ("five", (1, None)),
        ("2.0.0", (1, None)),
    ],
)
def test_x400_for_unknown_and_odd_codes(status: str, x400: tuple[int, int | None]) -> None:
    assert x400_for(status) == x400


@needs_reference
def test_reverse_table_matches_the_rfc_text() -> None:
    """Each row of the 5.1.8.4 table in rfc2156.txt is in STATUS_TO_X400."""
    rows: dict[tuple[int, int], tuple[int, int | None] | None] = {}
    row = re.compile(r"^X\.(\d)\.(\d)\.?\s+(.*)$")
    code = re.compile(r"\s(\d)/(None|\d+)\b")
    for line in _rfc_section("DSN code  Meaning", "5.1.8.5.  DSNs that originated"):
        match = row.match(line)
        if match is None:
            continue
        subject, detail, rest = match.groups()
        found = code.search(" " + rest)
        if found is None:
            assert "positive" in rest.lower()
            rows[(int(subject), int(detail))] = None
        else:
            diagnostic = None if found.group(2) == "None" else int(found.group(2))
            rows[(int(subject), int(detail))] = (int(found.group(1)), diagnostic)
    assert len(rows) == 49
    assert rows == STATUS_TO_X400


# --- the round trip through a status -----------------------------------------------

# RFC 2156 5.3.8.2 then 5.1.8.4: the pairs that come back unchanged.
EXPECTED_LOSSLESS = {
    (0, None),
    (1, None),
    (6, None),
    (1, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 6),
    (1, 7),
    (2, 8),
    (1, 16),
    (1, 18),
    (1, 28),
    (1, 29),
    (1, 30),
    (1, 43),
    (1, 46),
}


def test_lossless_pairs() -> None:
    assert set(LOSSLESS_PAIRS) == EXPECTED_LOSSLESS


@pytest.mark.parametrize(
    ("pair", "status", "degraded"),
    [
        ((2, 9), "5.6.3", (2, 8)),  # implicit-conversion-prohibited -> conversion-impractical
        ((1, 10), "5.6.3", (2, 8)),
        ((1, 11), "5.5.2", (1, 14)),
        ((1, 14), "5.5.0", (1, None)),
        ((1, 15), "5.6.1", (1, 6)),
        ((1, 17), "5.4.4", (0, None)),
        ((2, 19), "5.6.2", (1, 9)),  # MIXER.md fact 15: 5.6.2 -> (1, 9), (2, 9) -> 5.6.3
        ((2, 20), "5.6.0", (2, None)),
        ((1, 26), "5.4.0", (0, None)),
        ((1, 27), "5.4.6", (1, 3)),
        ((4, 35), "5.1.0", (1, None)),
        ((2, 47), "5.3.3", (1, 18)),
        ((0, 48), "5.3.4", (1, 7)),
        ((0, 49), "4.4.7", (1, 5)),
        ((5, None), "5.7.1", (1, 29)),
        ((7, None), "5.3.3", (1, 18)),
        ((8, None), "5.7.0", (1, 46)),
        ((0, 2), "4.4.0", (0, None)),
    ],
)
def test_pairs_degrade_as_the_tables_say(
    pair: tuple[int, int | None], status: str, degraded: tuple[int, int | None]
) -> None:
    assert status_for(*pair) == status
    assert x400_for(status) == degraded
    assert pair not in LOSSLESS_PAIRS


@given(st.sampled_from(sorted(REASONS)), st.none() | st.sampled_from(sorted(DIAGNOSTICS)))
def test_status_is_always_a_failure_status(reason: int, diagnostic: int | None) -> None:
    status = status_for(reason, diagnostic)
    assert re.fullmatch(r"[45]\.\d\.\d", status)
    back = x400_for(status)
    assert back[0] in REASONS and (back[1] is None or back[1] in DIAGNOSTICS)


# --- App. A NOTIFY -------------------------------------------------------------------

NOTIFY_CASES: list[tuple[frozenset[str] | None, ReportRequest]] = [
    (frozenset(), "no-report"),  # NOTIFY=NEVER as gateway.envelope holds it
    (frozenset({"NEVER"}), "no-report"),
    (frozenset({"SUCCESS"}), "report"),
    (frozenset({"SUCCESS", "FAILURE"}), "report"),
    (frozenset({"SUCCESS", "DELAY"}), "report"),
    (frozenset({"FAILURE"}), "non-delivery-report"),
    (frozenset({"DELAY"}), "non-delivery-report"),
    (frozenset({"FAILURE", "DELAY"}), "non-delivery-report"),
    (frozenset({"failure"}), "non-delivery-report"),
    (frozenset({"success"}), "report"),
    (None, "non-delivery-report"),  # no NOTIFY: RFC 3461 4.1 failure reports only
]


@pytest.mark.parametrize(("notify", "request_"), NOTIFY_CASES)
def test_notify_to_requests(notify: frozenset[str] | None, request_: ReportRequest) -> None:
    assert notify_to_requests(notify) == request_


@pytest.mark.parametrize(
    ("request_", "notify"),
    [
        ("no-report", frozenset()),
        ("non-delivery-report", frozenset({"FAILURE"})),
        ("report", frozenset({"SUCCESS", "FAILURE"})),
    ],
)
def test_requests_to_notify(request_: ReportRequest, notify: frozenset[str]) -> None:
    assert requests_to_notify(request_) == notify
    assert notify_to_requests(requests_to_notify(request_)) == request_


# --- dr-diagnostic text ----------------------------------------------------------------


def test_diagnostic_code_text() -> None:
    assert diagnostic_code_text(1, 0) == (
        "Reason 1 (unable-to-transfer); Diagnostic 0 (unrecognised-OR-name)"
    )
    assert diagnostic_code_text(0, None) == "Reason 0 (transfer-failure)"
    assert diagnostic_code_text(12, 99) == "Reason 12; Diagnostic 99"


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        # RFC 2156 5.3.8.4 examples (after the "x400;" type)
        ("Reason 1 (Unable-To-Transfer); Diagnostic 0 (Unrecognised-ORName)", (1, 0)),
        ("Reason 1 (Unable-To-Transfer);\r\n     Diagnostic 0 (Unrecognised-ORName)", (1, 0)),
        ("Reason (unable-to-transfer); Diagnostic (mts-congestion)", (1, 2)),
        ("reason 2", (2, None)),
        ("Reason 1 (unable-to-transfer); Diagnostic 0 (unrecognised-OR-name)", (1, 0)),
        ("Reason (no-such-reason)", None),
        ("550 5.1.1 no such user", None),
        ("", None),
    ],
)
def test_parse_diagnostic_code_text(text: str, pair: tuple[int, int | None] | None) -> None:
    assert parse_diagnostic_code_text(text) == pair


@given(st.integers(0, 200), st.none() | st.integers(0, 200))
def test_diagnostic_text_round_trip(reason: int, diagnostic: int | None) -> None:
    assert parse_diagnostic_code_text(diagnostic_code_text(reason, diagnostic)) == (
        reason,
        diagnostic,
    )
