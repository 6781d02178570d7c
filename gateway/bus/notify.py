"""Which delivery status notifications an attempt's outcomes call for.

Pure decisions over a message's state and the outcome events just recorded
(RFC 3461 4.1 NOTIFY, RFC 3464 actions); building the report itself is
:mod:`gateway.dsn`'s job, sending it is the bus's.

- never for a null reverse-path (RFC 3461 5.2, RFC 5321 6.1: no bounce of
  a bounce);
- ``failed``: unless NOTIFY excludes FAILURE (no NOTIFY means FAILURE and
  DELAY, RFC 3461 4.1);
- ``delivered`` (final delivery here) and ``relayed`` (handed to a next hop
  without DSN, RFC 3461 4): only with NOTIFY=SUCCESS; never for a transfer
  to X.400, where NOTIFY travels on as per-recipient report requests and
  the X.400 MTS reports (RFC 2156 App. A);
- ``delayed``: once per recipient, when it is still deferred
  ``delay_warning`` seconds after arrival, unless NOTIFY excludes DELAY.

Recipients that came from an alias answer to the NOTIFY and ORCPT of the
envelope recipient they descend from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.bus.state import MessageState, Status
from gateway.envelope import Address, Recipient

#: Report kinds, in the order they are sent for one attempt.
KINDS = ("failed", "delayed", "delivered", "relayed")


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One recipient of a report (the per-recipient fields of RFC 3464 2.3)."""

    final: Address
    original: tuple[str, str] | None  # ORCPT (addr-type, address)
    action: str  # failed, delayed, delivered, relayed
    status: str  # RFC 3463
    diagnostic: str | None  # "550 5.1.1 ..." (the report adds "smtp; ")
    remote_mta: str | None
    last_attempt: float
    will_retry_until: float | None


def _envelope_recipient(state: MessageState, index: int) -> Recipient | None:
    root = state.root(index)
    recipients = state.envelope.recipients
    return recipients[root] if root < len(recipients) else None


def _wanted(kind: str, notify: frozenset[str] | None) -> bool:
    if notify is None:  # RFC 3461 4.1: no NOTIFY = FAILURE and DELAY
        return kind in ("failed", "delayed")
    wanted = {"failed": "FAILURE", "delayed": "DELAY"}.get(kind, "SUCCESS")
    return wanted in notify


def might_notify(state: MessageState, events: list[dict[str, Any]]) -> bool:
    """False when no report can be due: a cheap test before the look-ahead
    on every attempt (the usual case: delivered, nobody asked for SUCCESS)."""
    if state.envelope.sender is None:
        return False
    if any(e.get("ev") in ("failed", "deferred") for e in events):
        return True
    return any(r.notify and "SUCCESS" in r.notify for r in state.envelope.recipients)


def notifications(
    state: MessageState,
    events: list[dict[str, Any]],
    now: float,
    lifetime: float,
    delay_warning: float,
) -> dict[str, list[ReportLine]]:
    """Report kind -> its recipients, for the outcome ``events`` of one
    attempt (already applied to ``state``). Empty when nothing is due."""
    if state.envelope.sender is None:
        return {}
    reports: dict[str, list[ReportLine]] = {}
    for event in events:
        kind = event.get("ev")
        if kind not in ("failed", "delivered", "relayed", "deferred"):
            continue
        if kind == "delivered" and event.get("route") == "smtp":
            continue  # the next hop offered DSN: it reports success itself (RFC 3461 4)
        if kind in ("delivered", "relayed") and event.get("route") == "x400":
            continue  # NOTIFY went on as X.400 report requests (RFC 2156 App. A)
        index = int(event["rcpt"])
        rcpt = state.recipients[index]
        if kind == "deferred":
            if rcpt.warned or now - state.accepted_at < delay_warning:
                continue
            kind = "delayed"
        origin = _envelope_recipient(state, index)
        if not _wanted(kind, origin.notify if origin is not None else None):
            continue
        code, status, text = event.get("code"), event.get("status", "2.0.0"), event.get("text")
        diagnostic = f"{code} {status} {text}" if code and kind != "delivered" else None
        reports.setdefault(kind, []).append(
            ReportLine(
                final=rcpt.address,
                original=origin.orcpt if origin is not None else None,
                action=kind,
                status=str(status),
                diagnostic=diagnostic,
                remote_mta=event.get("detail") if kind in ("failed", "relayed") else None,
                last_attempt=float(event.get("t", now)),
                will_retry_until=state.accepted_at + lifetime if kind == "delayed" else None,
            )
        )
    return {kind: reports[kind] for kind in KINDS if kind in reports}


def line_to_json(line: ReportLine) -> dict[str, Any]:
    return {
        "final": str(line.final),
        "original": list(line.original) if line.original else None,
        "action": line.action,
        "status": line.status,
        "diagnostic": line.diagnostic,
        "remote_mta": line.remote_mta,
        "last_attempt": line.last_attempt,
        "will_retry_until": line.will_retry_until,
    }


def line_from_json(data: dict[str, Any]) -> ReportLine:
    original = data.get("original")
    return ReportLine(
        Address.parse(data["final"]),
        (str(original[0]), str(original[1])) if original else None,
        str(data["action"]),
        str(data["status"]),
        data.get("diagnostic"),
        data.get("remote_mta"),
        float(data["last_attempt"]),
        data.get("will_retry_until"),
    )


def due_events(
    state: MessageState,
    events: list[dict[str, Any]],
    now: float,
    lifetime: float,
    delay_warning: float,
) -> list[dict[str, Any]]:
    """``report_due`` journal events for the reports these outcome events
    call for (``state`` must have the events applied: pass a copy). Each
    names its report's queue id, so that queuing it again after a crash is
    recognised and not done twice."""
    out = []
    number = state.report_count
    for kind, lines in notifications(state, events, now, lifetime, delay_warning).items():
        wanted = {str(line.final) for line in lines}
        rcpts = [
            i
            for i, r in enumerate(state.recipients)
            if str(r.address) in wanted and (kind != "delayed" or r.status is Status.DEFERRED)
        ]
        out.append(
            {
                "ev": "report_due",
                "id": f"{state.qid}N{number}",
                "kind": kind,
                "rcpts": rcpts,
                "lines": [line_to_json(line) for line in lines],
            }
        )
        number += 1
    return out
