"""The bus's reporter: turns :mod:`gateway.bus.notify`'s decisions into
RFC 3464 reports with :func:`gateway.dsn.report.build_report`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.dsn.report import Action, Kind, RecipientReport, build_report, dsn_envelope

if TYPE_CHECKING:
    from gateway.bus.notify import ReportLine
    from gateway.bus.state import MessageState
    from gateway.envelope import Envelope

_KINDS = {
    "failed": Kind.FAILURE,
    "delayed": Kind.DELAY,
    "delivered": Kind.SUCCESS,
    "relayed": Kind.RELAY,
}


def make_reporter(
    reporting_mta: str, now: Callable[[], float]
) -> Callable[[MessageState, str, list[ReportLine], bytes], tuple[Envelope, bytes]]:
    """A reporter for :class:`gateway.bus.bus.MessageBus` (``now``: the clock)."""

    def report(
        state: MessageState, kind: str, lines: list[ReportLine], content: bytes
    ) -> tuple[Envelope, bytes]:
        recipients = [
            RecipientReport(
                final_recipient=line.final,
                action=Action(line.action),
                status=line.status,
                original_recipient=line.original,
                remote_mta=line.remote_mta,
                diagnostic=line.diagnostic,
                last_attempt=line.last_attempt,
                will_retry_until=line.will_retry_until,
            )
            for line in lines
        ]
        body = build_report(
            reporting_mta=reporting_mta,
            envelope=state.envelope,
            arrival_date=state.accepted_at,
            content=content,
            recipients=recipients,
            kind=_KINDS[kind],
            now=now(),
            queue_id=state.qid,
        )
        return dsn_envelope(state.envelope, body), body

    return report
