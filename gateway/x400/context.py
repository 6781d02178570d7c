"""What the MIXER mapping needs to know about this gateway.

One frozen value passed to every translation function: the RFC 2156
Appendix F tables, the gateway's own names on both sides, and the clock
reading of the conversion (the translator is pure; the caller passes ``now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.x400.mapping import MappingTables, or_to_rfc822, rfc822_to_or
from gateway.x400.model import GlobalDomainId, ORName
from gateway.x400.orname import ORAddress, parse_std_or

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["Gateway"]


@dataclass(frozen=True)
class Gateway:
    """The gateway as both mail systems see it.

    ``domain`` is its Internet domain: the right-hand side of the
    ``"/.../"@domain`` fallback (RFC 2156 4.3.5), the ``DSN-Gateway`` and
    the ``Reporting-MTA`` of reports it writes itself.  ``or_address`` is
    its O/R address (C, ADMD, PRMD and usually O): the global domain
    identifier of the trace it adds and the context of an ``RFC-822``
    attribute of last resort (4.3.4 Stage II).  ``mta_name`` names it in
    internal trace (at most 32 characters); ``admin`` is the mailbox that
    signs the reports and notices it writes (5.3.2).  ``now`` is the time of
    the conversion, aware."""

    tables: MappingTables
    domain: str
    or_address: ORAddress
    mta_name: str
    admin: str
    now: datetime

    @property
    def global_domain(self) -> GlobalDomainId:
        addr = self.or_address
        return GlobalDomainId(addr.country or "", addr.admd or " ", addr.prmd)

    def to_rfc822(self, name: ORName | ORAddress) -> str:
        """The RFC 822 addr-spec of an O/R name (RFC 2156 4.3.5)."""
        addr = name.address if isinstance(name, ORName) else name
        return or_to_rfc822(addr, self.tables, self.domain)

    def to_or(self, address: str, *, return_address: bool = False) -> ORAddress:
        """The O/R address of an RFC 822 addr-spec (RFC 2156 4.3.4); an SMTP
        return address (``return_address=True``) never uses the preferred
        gateway table."""
        return rfc822_to_or(
            address, self.tables, self.or_address, use_gateway_table=not return_address
        )

    @classmethod
    def from_settings(cls, settings: Settings, now: datetime) -> Gateway:
        """The gateway ``[x400]`` describes (defaults from ``[server]``)."""
        x400 = settings.x400
        domain = x400.domain or settings.hostname
        return cls(
            tables=MappingTables.load(x400.tables),
            domain=domain,
            or_address=parse_std_or(x400.or_address),
            mta_name=x400.mta_name or settings.hostname[:32],
            admin=x400.admin or f"postmaster@{domain}",
            now=now,
        )
