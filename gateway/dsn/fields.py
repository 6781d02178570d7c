"""Names shared by the DSN generator and parser (RFC 3464, RFC 6533).

Kept apart so that :mod:`gateway.dsn.parse` does not depend on the
generator, and both spell every field the same way.
"""

from __future__ import annotations

# RFC 3464 2.1 / RFC 6522 3: the report-type of multipart/report for a DSN;
# RFC 6533 6.3 adds the internationalised variant.
REPORT_TYPE = "delivery-status"
GLOBAL_REPORT_TYPE = "global-delivery-status"
REPORT_TYPES = frozenset({REPORT_TYPE, GLOBAL_REPORT_TYPE})

# RFC 3464 2.1 and RFC 6533 6.1: the media type of the machine-readable part.
STATUS_TYPE = "message/delivery-status"
GLOBAL_STATUS_TYPE = "message/global-delivery-status"
STATUS_TYPES = frozenset({STATUS_TYPE, GLOBAL_STATUS_TYPE})

# RFC 3464 2.2: per-message fields.
REPORTING_MTA = "Reporting-MTA"
DSN_GATEWAY = "DSN-Gateway"
RECEIVED_FROM_MTA = "Received-From-MTA"
ORIGINAL_ENVELOPE_ID = "Original-Envelope-Id"
ARRIVAL_DATE = "Arrival-Date"

# RFC 3464 2.3: per-recipient fields.
ORIGINAL_RECIPIENT = "Original-Recipient"
FINAL_RECIPIENT = "Final-Recipient"
ACTION = "Action"
STATUS = "Status"
REMOTE_MTA = "Remote-MTA"
DIAGNOSTIC_CODE = "Diagnostic-Code"
LAST_ATTEMPT_DATE = "Last-Attempt-Date"
FINAL_LOG_ID = "Final-Log-ID"
WILL_RETRY_UNTIL = "Will-Retry-Until"

KNOWN_FIELDS = (
    REPORTING_MTA,
    DSN_GATEWAY,
    RECEIVED_FROM_MTA,
    ORIGINAL_ENVELOPE_ID,
    ARRIVAL_DATE,
    ORIGINAL_RECIPIENT,
    FINAL_RECIPIENT,
    ACTION,
    STATUS,
    REMOTE_MTA,
    DIAGNOSTIC_CODE,
    LAST_ATTEMPT_DATE,
    FINAL_LOG_ID,
    WILL_RETRY_UNTIL,
)
_CANONICAL = {name.lower(): name for name in KNOWN_FIELDS}

# RFC 3464 2.3.3: the values of the Action field.
ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})


def canonical_name(name: str) -> str:
    """The RFC spelling of a known field; other fields capitalised per word
    (``x-postfix-queue-id`` -> ``X-Postfix-Queue-Id``). Field names are
    case-insensitive (RFC 3464 2.1.2, RFC 5322 1.2.2)."""
    known = _CANONICAL.get(name.lower())
    if known is not None:
        return known
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
