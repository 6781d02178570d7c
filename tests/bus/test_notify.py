"""Which DSNs an attempt calls for (RFC 3461 4.1 NOTIFY semantics)."""

from __future__ import annotations

from typing import Any

from gateway.bus.notify import due_events, line_from_json, notifications
from gateway.bus.state import MessageState, apply_event
from gateway.envelope import Address, Envelope, Recipient

A = Address.parse
DAY = 86400.0


def state(*recipients: Recipient, sender: str | None = "alice@example.test") -> MessageState:
    envelope = Envelope(A(sender) if sender else None, tuple(recipients))
    return MessageState.new("Q1", envelope, 1000.0, 100, "<m@x>")


def outcome(kind: str, rcpt: int, code: int = 550, status: str = "5.1.1") -> dict[str, Any]:
    event: dict[str, Any] = {
        "ev": kind,
        "rcpt": rcpt,
        "code": code,
        "status": status,
        "text": "No such user",
        "t": 2000.0,
    }
    if kind == "relayed":
        event["detail"] = "mx.remote.test"
    return event


def decide(s: MessageState, events: list[dict[str, Any]], now: float = 2000.0) -> dict[str, Any]:
    for event in events:
        apply_event(s, event)
    return notifications(s, events, now, lifetime=5 * DAY, delay_warning=4 * 3600)


def test_failure_is_reported_by_default_with_diagnostic_and_orcpt() -> None:
    s = state(Recipient(A("bob@remote.test"), None, ("rfc822", "Bob@Remote.test")))
    reports = decide(s, [outcome("failed", 0)])
    (line,) = reports["failed"]
    assert (line.action, line.status, line.original) == (
        "failed",
        "5.1.1",
        ("rfc822", "Bob@Remote.test"),
    )
    assert line.diagnostic == "550 5.1.1 No such user"


def test_never_for_a_null_sender_or_notify_never() -> None:
    assert (
        decide(state(Recipient(A("bob@remote.test")), sender=None), [outcome("failed", 0)]) == {}
    )
    never = Recipient(A("bob@remote.test"), frozenset())
    assert decide(state(never), [outcome("failed", 0)]) == {}


def test_success_and_relay_only_when_asked() -> None:
    plain = state(Recipient(A("bob@example.test")), Recipient(A("carol@remote.test")))
    assert (
        decide(plain, [outcome("delivered", 0, 250, "2.0.0"), outcome("relayed", 1, 250, "2.0.0")])
        == {}
    )
    asked = frozenset({"SUCCESS"})
    s = state(Recipient(A("bob@example.test"), asked), Recipient(A("carol@remote.test"), asked))
    reports = decide(
        s, [outcome("delivered", 0, 250, "2.0.0"), outcome("relayed", 1, 250, "2.0.0")]
    )
    assert list(reports) == ["delivered", "relayed"]
    assert reports["relayed"][0].remote_mta == "mx.remote.test"
    assert reports["delivered"][0].diagnostic is None


def test_delay_notice_once_after_the_warning_time() -> None:
    s = state(Recipient(A("bob@remote.test")))
    early = outcome("deferred", 0, 451, "4.4.1")
    assert decide(s, [early], now=1000.0 + 3600) == {}  # before 4 hours
    late = outcome("deferred", 0, 451, "4.4.1")
    reports = decide(s, [late], now=1000.0 + 5 * 3600)
    (line,) = reports["delayed"]
    assert line.will_retry_until == 1000.0 + 5 * DAY
    (due,) = due_events(s, [late], 1000.0 + 5 * 3600, lifetime=5 * DAY, delay_warning=4 * 3600)
    assert (due["ev"], due["id"], due["kind"], due["rcpts"]) == (
        "report_due",
        "Q1N0",
        "delayed",
        [0],
    )
    assert [line_from_json(d) for d in due["lines"]] == [line]  # survives the journal
    apply_event(s, due)
    assert s.recipients[0].warned and "Q1N0" in s.reports and not s.finished
    apply_event(s, {"ev": "report_sent", "id": "Q1N0"})
    assert s.reports == {}
    assert decide(s, [outcome("deferred", 0, 451, "4.4.1")], now=1000.0 + 6 * 3600) == {}
    # NOTIFY=FAILURE alone: no delay notice
    s = state(Recipient(A("bob@remote.test"), frozenset({"FAILURE"})))
    assert decide(s, [outcome("deferred", 0, 451, "4.4.1")], now=1000.0 + 5 * 3600) == {}


def test_alias_targets_answer_to_the_envelope_recipients_notify() -> None:
    s = state(Recipient(A("team@example.test"), frozenset({"SUCCESS"})))
    apply_event(s, {"ev": "expanded", "rcpt": 0, "targets": ["x@example.test", "y@remote.test"]})
    reports = decide(s, [outcome("delivered", 1, 250, "2.0.0"), outcome("failed", 2)])
    assert [line.final for line in reports["delivered"]] == [A("x@example.test")]
    assert "failed" not in reports  # NOTIFY=SUCCESS only


def test_might_notify_is_a_safe_shortcut() -> None:
    from gateway.bus.notify import might_notify

    plain = state(Recipient(A("bob@example.test")))
    assert not might_notify(plain, [outcome("delivered", 0, 250, "2.0.0")])
    assert might_notify(plain, [outcome("failed", 0)])
    asked = state(Recipient(A("bob@example.test"), frozenset({"SUCCESS"})))
    assert might_notify(asked, [outcome("delivered", 0, 250, "2.0.0")])
    assert not might_notify(state(Recipient(A("b@x.test")), sender=None), [outcome("failed", 0)])
