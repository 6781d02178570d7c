"""The gateways the x400 tests convert with: one way to build them, over the
shipped Appendix F tables (``conf/x400``), loaded once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingTables
from gateway.x400.orname import parse_std_or

CONF = Path(__file__).resolve().parents[2] / "conf" / "x400"
TABLES = MappingTables.load(CONF)


def make_gateway(
    domain: str,
    or_address: str,
    *,
    admin: str,
    now: datetime,
    mta_name: str | None = None,
    tables: MappingTables | None = None,
) -> Gateway:
    """A gateway for *domain* with the O/R address *or_address* (std-or
    text); ``mta_name`` defaults to the domain, ``tables`` to :data:`TABLES`."""
    return Gateway(
        tables=tables or TABLES,
        domain=domain,
        or_address=parse_std_or(or_address),
        mta_name=mta_name or domain,
        admin=admin,
        now=now,
    )
