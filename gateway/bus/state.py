"""Per-message, per-recipient queue state, derived from events.

The queue never rewrites state in place: it appends events to the journal,
and :func:`apply_event` folds them into a :class:`MessageState`. Replaying a
message's events after a restart therefore rebuilds exactly the state it had.
This module is pure (no I/O).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gateway.envelope import Address, Envelope
from gateway.errors import GatewayError


class Status(enum.StrEnum):
    PENDING = "pending"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    RELAYED = "relayed"  # handed to a system that will not return DSNs (RFC 3461 4)
    FAILED = "failed"
    EXPANDED = "expanded"  # an alias: its targets are further recipients

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({Status.DELIVERED, Status.RELAYED, Status.FAILED, Status.EXPANDED})
OUTCOME_EVENTS = frozenset({"delivered", "relayed", "failed", "deferred"})


@dataclass(slots=True)
class RecipientState:
    """One recipient: an envelope recipient or a target of an alias."""

    address: Address
    parent: int | None = None  # index of the alias this came from
    status: Status = Status.PENDING
    attempts: int = 0
    next_attempt: float = 0.0
    route: str | None = None
    last: GatewayError | None = None
    detail: str | None = None  # mailbox path, remote MTA...
    warned: bool = False  # a delay notice went out (RFC 3464 "delayed", once)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "address": str(self.address),
            "status": str(self.status),
            "attempts": self.attempts,
        }
        if self.warned:
            data["warned"] = True
        if self.parent is not None:
            data["parent"] = self.parent
        if self.status is Status.DEFERRED:
            data["next_attempt"] = self.next_attempt
        if self.route is not None:
            data["route"] = self.route
        if self.last is not None:
            data["last"] = self.last.to_json()
        if self.detail is not None:
            data["detail"] = self.detail
        return data


@dataclass(slots=True)
class MessageState:
    qid: str
    envelope: Envelope
    accepted_at: float
    size: int
    message_id: str | None
    recipients: list[RecipientState] = field(default_factory=list)
    held: bool = False
    deleted: bool = False
    # Reports (DSNs) decided but not yet queued: id -> its report_due event.
    # A message is not finished while one is pending (RFC 3461: the sender
    # must learn what happened, even across a crash).
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    report_count: int = 0

    @classmethod
    def new(
        cls, qid: str, envelope: Envelope, accepted_at: float, size: int, message_id: str | None
    ) -> MessageState:
        state = cls(qid, envelope, accepted_at, size, message_id)
        state.recipients = [RecipientState(r.address) for r in envelope.recipients]
        return state

    @property
    def finished(self) -> bool:
        if self.deleted:
            return True
        return not self.reports and all(r.status.final for r in self.recipients)

    def due(self) -> list[int]:
        """Indexes of recipients waiting for an attempt (pending or deferred)."""
        return [
            i
            for i, r in enumerate(self.recipients)
            if r.status in (Status.PENDING, Status.DEFERRED)
        ]

    def next_attempt(self) -> float | None:
        times = [
            0.0 if r.status is Status.PENDING else r.next_attempt
            for r in self.recipients
            if r.status in (Status.PENDING, Status.DEFERRED)
        ]
        return min(times) if times else None

    def root(self, index: int) -> int:
        """The envelope recipient an (alias-expanded) recipient descends from."""
        while (parent := self.recipients[index].parent) is not None:
            index = parent
        return index

    def to_json(self) -> dict[str, Any]:
        return {
            "qid": self.qid,
            "envelope": self.envelope.to_json(),
            "accepted_at": self.accepted_at,
            "size": self.size,
            "message_id": self.message_id,
            "held": self.held,
            "recipients": [r.to_json() for r in self.recipients],
        }


def apply_event(state: MessageState, event: dict[str, Any]) -> None:
    """Fold one journal event into ``state``.

    Events (``ev`` key): ``expanded`` (rcpt, targets), ``routed`` (rcpt,
    route), ``delivered``/``relayed``/``failed``/``deferred`` (rcpt, error
    fields, next), ``report_due`` (id, kind, rcpts, lines: a DSN to queue)
    and ``report_sent`` (id), ``held``, ``released``, ``retry``,
    ``deleted``, ``done``.
    Unknown events are ignored so that older code can read newer journals.
    """
    kind = event["ev"]
    if kind == "expanded":
        index = int(event["rcpt"])
        state.recipients[index].status = Status.EXPANDED
        for target in event["targets"]:
            state.recipients.append(RecipientState(Address.parse(target), parent=index))
    elif kind == "routed":
        state.recipients[int(event["rcpt"])].route = str(event["route"])
    elif kind in OUTCOME_EVENTS:
        rcpt = state.recipients[int(event["rcpt"])]
        rcpt.status = Status(kind)
        rcpt.attempts += 1
        rcpt.last = GatewayError.from_json(event) if "code" in event else None
        rcpt.detail = event.get("detail")
        rcpt.next_attempt = float(event.get("next", 0.0))
        rcpt.route = event.get("route", rcpt.route)
    elif kind == "held":
        state.held = True
    elif kind == "released":
        state.held = False
    elif kind == "retry":
        for rcpt in state.recipients:
            if rcpt.status is Status.DEFERRED:
                rcpt.next_attempt = 0.0
    elif kind == "deleted":
        state.deleted = True
    elif kind == "report_due":
        state.reports[str(event["id"])] = event
        state.report_count += 1
        if event.get("kind") == "delayed":
            for index in event["rcpts"]:
                state.recipients[int(index)].warned = True
    elif kind == "report_sent":
        state.reports.pop(str(event["id"]), None)
    elif kind == "snapshot":  # written when a message is moved to a newer segment
        restore_recipients(state, event["recipients"])
        state.held = bool(event.get("held", False))
        state.reports = dict(event.get("reports", {}))
        state.report_count = int(event.get("report_count", 0))


def restore_recipients(state: MessageState, recipients: list[dict[str, Any]]) -> None:
    """Replace the recipients of ``state`` by their :meth:`RecipientState.to_json` form."""
    state.recipients = [
        RecipientState(
            Address.parse(r["address"]),
            parent=r.get("parent"),
            status=Status(r["status"]),
            attempts=int(r.get("attempts", 0)),
            next_attempt=float(r.get("next_attempt", 0.0)),
            route=r.get("route"),
            last=GatewayError.from_json(r["last"]) if "last" in r else None,
            detail=r.get("detail"),
            warned=bool(r.get("warned", False)),
        )
        for r in recipients
    ]
