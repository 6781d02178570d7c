"""Who may send what through us: relay, recipients and sender ownership.

Pure decisions over the router and the settings; the protocol asks, and
sends the reply it gets back (RFC 5321 3.6.2: a server MUST NOT be an open
relay; RFC 6409 6.1: submission checks the sender).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.bus.router import RouteKind, Router
from gateway.config import Network
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.smtp import codes
from gateway.smtp.codes import Reply


def is_trusted(client_ip: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


@dataclass(frozen=True, slots=True)
class Client:
    """What the policy needs to know about the SMTP client."""

    authenticated: Address | None
    trusted: bool


def never_full(mailbox: Address) -> GatewayError | None:
    """No quota: every mailbox has room."""
    return None


def check_recipient(
    router: Router,
    rcpt: Address,
    client: Client,
    full: Callable[[Address], GatewayError | None] = never_full,
) -> Reply | None:
    """None to accept ``rcpt``, else the refusal.

    Local addresses (and those for the X.400 side, RFC 2156) are resolved
    now, so unknown users are refused at RCPT time instead of bounced later
    (no backscatter), and so is an address whose every mailbox is over quota
    (``full`` names the error, 452 4.2.2: the client keeps it queued).
    Anything else is relay: only for authenticated or trusted clients.
    """
    if router.is_ours(rcpt):
        routes = router.resolve(rcpt).routes
        errors = [r.error for r in routes if r.kind is RouteKind.REJECT]
        if not errors:
            errors = [full(r.address) for r in routes if r.kind is RouteKind.LOCAL]
        if errors and len(errors) == len(routes) and all(errors):
            first = errors[0]
            assert first is not None
            return codes.from_gateway_error(first)
        return None
    if client.authenticated is not None or client.trusted:
        return None
    return codes.RELAY_DENIED


def may_send_as(
    router: Router,
    user: Address,
    sender: Address | None,
    grants: Mapping[str, tuple[str, ...]],
) -> bool:
    """May ``user`` (authenticated) use ``sender`` as the reverse path?

    Their own address, an alias that delivers to them, an address or
    ``@domain`` granted in ``[smtp].sender_grants``, or the null path
    (notifications carry no identity to steal).
    """
    if sender is None or sender.key() == user.key():
        return True
    granted = grants.get(user.key(), ())
    if sender.key() in granted or f"@{sender.domain}" in granted:
        return True
    if router.aliases.targets(sender) is None:
        return False
    resolution = router.resolve(sender)
    return any(r.address.key() == user.key() for r in resolution.routes)
