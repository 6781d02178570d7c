"""Delivery status notifications: RFC 3464 reports, RFC 3461 policy, parsing.

Pure code (no I/O, no reactor): :mod:`gateway.dsn.report` builds reports and
decides whether one is due; :mod:`gateway.dsn.parse` reads reports that come
back to us.
"""

from gateway.dsn.parse import ParsedReport, parse_dsn, split_typed
from gateway.dsn.report import (
    SUBJECTS,
    Action,
    Kind,
    RecipientReport,
    build_report,
    dsn_envelope,
    is_delivery_report,
    kind_for,
    never_for,
    returns_full,
    should_notify,
)

__all__ = [
    "SUBJECTS",
    "Action",
    "Kind",
    "ParsedReport",
    "RecipientReport",
    "build_report",
    "dsn_envelope",
    "is_delivery_report",
    "kind_for",
    "never_for",
    "parse_dsn",
    "returns_full",
    "should_notify",
    "split_typed",
]
