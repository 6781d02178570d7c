"""Build -> parse round trips over generated recipients and status codes."""

from __future__ import annotations

import email
from email import policy

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dsn import Action, Kind, RecipientReport, build_report, kind_for, parse_dsn
from gateway.envelope import Address
from tests.dsn.factory import ARRIVED, NOW, ORIGINAL, envelope

_LOCAL = st.from_regex(r"[A-Za-z0-9+\-]{1,10}(\.[A-Za-z0-9_+\-]{1,10}){0,2}", fullmatch=True)
_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?", fullmatch=True)
_DOMAIN = st.lists(_LABEL, min_size=1, max_size=3).map(lambda ls: ".".join([*ls, "example"]))
_ADDRESS = st.builds(lambda lp, d: Address.parse(f"{lp}@{d}"), _LOCAL, _DOMAIN)
# RFC 3463 2: class.subject.detail, 1-3 digits.
_STATUS = st.builds(
    lambda c, s, d: f"{c}.{s}.{d}",
    st.sampled_from("245"),
    st.integers(0, 999),
    st.integers(0, 999),
)
_ORCPT_TYPE = st.sampled_from(["rfc822", "x400", "unknown", "X-Local"])
_PRINTABLE = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60
)
_TIME = st.floats(min_value=0, max_value=4e9, allow_nan=False).map(int).map(float)


@st.composite
def recipient_reports(draw: st.DrawFn) -> RecipientReport:
    address = draw(_ADDRESS)
    action = draw(st.sampled_from(list(Action)))
    orcpt = draw(st.none() | st.tuples(_ORCPT_TYPE, _PRINTABLE))
    return RecipientReport(
        final_recipient=address,
        action=action,
        status=draw(_STATUS),
        original_recipient=orcpt,
        remote_mta=draw(st.none() | _DOMAIN),
        diagnostic=draw(st.none() | st.text(max_size=300)),
        last_attempt=draw(st.none() | _TIME),
        will_retry_until=draw(st.none() | _TIME),
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(recipient_reports(), min_size=1, max_size=5),
    st.sampled_from(list(Kind)),
    st.none() | _PRINTABLE,
    st.sampled_from([None, "FULL", "HDRS"]),
)
def test_build_parse_round_trip(
    recipients: list[RecipientReport], kind: Kind, envid: str | None, ret: str | None
) -> None:
    data = build_report(
        reporting_mta="gw.example.org",
        envelope=envelope(envid=envid, ret=ret),
        arrival_date=ARRIVED,
        content=ORIGINAL,
        recipients=recipients,
        kind=kind,
        now=NOW,
    )
    assert b"\n" not in data.replace(b"\r\n", b"")

    result = parse_dsn(data)
    assert result is not None
    assert result.reporting_mta == "dns; gw.example.org"
    assert result.original_envelope_id == envid
    assert result.original_message_id == "<orig-1@example.org>"
    assert len(result.recipients) == len(recipients)
    for sent, got in zip(recipients, result.recipients, strict=True):
        assert got["Final-Recipient"] == f"rfc822; {sent.final_recipient}"
        assert got["Action"] == str(sent.action)
        assert got["Status"] == sent.status
        if sent.original_recipient is None:
            assert "Original-Recipient" not in got
        else:
            assert got["Original-Recipient"] == ";".join(sent.original_recipient)
        if sent.remote_mta is None:
            assert "Remote-MTA" not in got
        else:
            assert got["Remote-MTA"] == f"dns; {sent.remote_mta}"
        if sent.diagnostic is not None and any(c.isalnum() for c in sent.diagnostic):
            assert got["Diagnostic-Code"].startswith("smtp; ")
        assert "Diagnostic-Code" not in got or got["Diagnostic-Code"] != "smtp;"
        assert ("Will-Retry-Until" in got) == (
            sent.action is Action.DELAYED and sent.will_retry_until is not None
        )

    # And the email package agrees on the number of groups and on each Status.
    msg = email.message_from_bytes(data, policy=policy.default)
    blocks = msg.get_payload()[1].get_payload()
    assert [b["Status"] for b in blocks[1:]] == [r.status for r in recipients]
    assert msg["Subject"]


@given(st.sampled_from(list(Action)))
def test_kind_for_is_total(action: Action) -> None:
    assert kind_for(action) in set(Kind)


@settings(max_examples=100, deadline=None)
@given(
    reporting_mta=st.text(max_size=40),
    envid=st.none() | st.text(max_size=40),
    orcpt=st.tuples(st.text(max_size=10), st.text(max_size=60)),
    remote_mta=st.text(max_size=40),
    diagnostic=st.text(max_size=1200),
    content=st.binary(max_size=2000),
    kind=st.sampled_from(list(Kind)),
)
def test_any_text_inputs_give_a_clean_readable_report(
    reporting_mta: str,
    envid: str | None,
    orcpt: tuple[str, str],
    remote_mta: str,
    diagnostic: str,
    content: bytes,
    kind: Kind,
) -> None:
    """Whatever the strings (from a remote server, a client's ORCPT), the
    report stays CRLF-clean with no overlong lines, and reads back with one
    group per recipient."""
    rcpt = RecipientReport(
        Address.parse("bob@remote.test"),
        Action.FAILED,
        "5.0.0",
        original_recipient=orcpt,
        remote_mta=remote_mta,
        diagnostic=diagnostic,
    )
    data = build_report(
        reporting_mta=reporting_mta,
        envelope=envelope(envid=envid),
        arrival_date=ARRIVED,
        content=content,
        recipients=[rcpt, rcpt],
        kind=kind,
        now=NOW,
    )
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert email.message_from_bytes(data[: data.index(b"\r\n\r\n")]).keys()[:3] == [
        "From",
        "To",
        "Subject",
    ]
    result = parse_dsn(data)
    assert result is not None
    assert len(result.recipients) == 2
    assert result.recipients[0]["Action"] == "failed"
    assert result.recipients[0]["Original-Recipient"]
