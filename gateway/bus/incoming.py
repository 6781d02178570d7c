"""Delivery reports that come back to us: recorded against the original.

A DSN (RFC 3464) addressed to one of our senders names, in the returned
message's ``Received:`` fields, the queue id we gave the original (see
:func:`gateway.dsn.parse_dsn`). For each such id the bus writes a
``reported`` event into the history, so ``mailgateway track`` shows that a
remote system bounced (or delayed, or delivered) a message we had relayed.
The parsed report itself stays available for the X.400 bridge.
"""

from __future__ import annotations

from typing import Any

from gateway.dsn import fields as F
from gateway.dsn import parse_dsn


def report_events(report_qid: str, content: bytes, now: float) -> list[dict[str, Any]]:
    """History events for the originals a received DSN talks about (none if
    ``content`` is not a DSN, or names no queue id of ours)."""
    parsed = parse_dsn(content)
    if parsed is None or not parsed.queue_ids:
        return []
    events = []
    for qid in parsed.queue_ids[:1]:  # the newest hop that was ours
        for group in parsed.recipients:
            events.append(
                {
                    "qid": qid,
                    "ev": "reported",
                    "t": now,
                    "to": group.get(F.FINAL_RECIPIENT, "").partition(";")[2].strip(),
                    "action": group.get(F.ACTION, ""),
                    "status": group.get(F.STATUS, ""),
                    "by": parsed.reporting_mta or "",
                    "diagnostic": group.get(F.DIAGNOSTIC_CODE, ""),
                    "report": report_qid,
                }
            )
    return events
