"""Which X.400 peer serves a recipient (``[x400.peers.<name>] or_space``).

An Internet recipient is an X.400 recipient when its O/R address (RFC 2156
4.3.4, :meth:`Gateway.to_or`) falls in a peer's ``or_space``: the address is
``"/S=.../"@<gateway domain>`` (Stage I, 4.3.4 step 4-6) or its domain maps
into X.400 through an MCGAM (step 8; or a Stage II ``RFC-822`` attribute in
an MCGAM's context).  A Stage II ``RFC-822`` attribute in the *gateway's
own* context is an Internet address and never goes to X.400, even if the
gateway's O/R address lies in a peer's space.  The longest matching prefix
wins.

Addresses at the gateway's own domain that do not reach a peer have no
other route (an MX lookup would lead back here): they are refused with
``550 5.4.4`` (RFC 3463 "unable to route": the address is good, no path to
its domain is known) when the O/R address is a valid X.400 address no peer
serves, and ``550 5.1.3`` (bad destination mailbox address syntax) when the
local part is no O/R address at all.  Everything else stays Internet mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from gateway.config import X400Peer
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.orname import ORAddress, ORAddressError, parse_std_or

__all__ = ["PeerRoutes", "hierarchy_key", "or_space_match"]

_RFC822_DDA = frozenset({"RFC-822", "RFC822C1", "RFC822C2", "RFC822C3"})


def hierarchy_key(addr: ORAddress) -> tuple[str | None, ...]:
    """C, ADMD, PRMD, O, OU1..4 in lookup form (case and white space folded;
    an empty ADMD is a single space, RFC 2156 4.1.3), trailing omissions cut."""
    levels: list[str | None] = [addr.country, addr.admd, addr.prmd, addr.organisation]
    levels.extend(addr.org_units)
    folded: list[str | None] = []
    for i, value in enumerate(levels):
        if value is None:
            folded.append(None)
            continue
        text = " ".join(value.split()).casefold()
        folded.append(" " if i == 1 and not text else text)
    while folded and folded[-1] is None:
        folded.pop()
    return tuple(folded)


def or_space_match(prefix: tuple[str | None, ...], addr: ORAddress) -> bool:
    key = hierarchy_key(addr)
    return len(key) >= len(prefix) and key[: len(prefix)] == prefix


class PeerRoutes:
    """The ``or_space`` of every peer, longest prefix first, and the routing
    rule of the module docstring.  ``gateway`` supplies the tables, the
    gateway domain and O/R address (its ``now`` is not used)."""

    def __init__(self, gateway: Gateway, peers: Iterable[X400Peer]) -> None:
        self.gateway = gateway
        self.peers = {peer.name: peer for peer in peers}
        spaces = [
            (hierarchy_key(parse_std_or(text)), peer)
            for peer in self.peers.values()
            if peer.host or peer.file_out  # somewhere to send it
            for text in peer.or_space
        ]
        self._spaces = sorted(spaces, key=lambda item: -len(item[0]))
        self._domain = gateway.domain.lower()
        self._own = _without_rfc822(gateway.or_address)

    def peer_for_or(self, addr: ORAddress) -> X400Peer | None:
        """The peer whose space holds ``addr``, the longest prefix winning."""
        for prefix, peer in self._spaces:
            if or_space_match(prefix, addr):
                return peer
        return None

    def to_or(self, address: Address) -> ORAddress | None:
        """The X.400 O/R address of ``address``, or None when it is an
        Internet address (unmappable, or Stage II in the gateway's context)."""
        try:
            addr = self.gateway.to_or(str(address))
        except (MappingError, ORAddressError, UnicodeError):
            return None
        stage_two = any(t.upper() in _RFC822_DDA for t, _ in addr.dda)
        if stage_two and _without_rfc822(addr) == self._own:
            return None
        return addr

    def route(self, address: Address) -> X400Peer | GatewayError | None:
        """The peer for ``address``; an error when it is at the gateway
        domain and no peer serves it; None for Internet mail."""
        addr = self.to_or(address)
        peer = self.peer_for_or(addr) if addr is not None else None
        if peer is not None:
            return peer
        if address.domain != self._domain:
            return None
        if addr is None:
            return GatewayError(
                550, "5.1.3", f"{address.local} is not an X.400 O/R address (RFC 2156 4.3.4)"
            )
        return GatewayError(550, "5.4.4", "Unable to route: no X.400 peer serves this address")

    def peer_for(self, address: Address) -> X400Peer | None:
        route = self.route(address)
        return route if isinstance(route, X400Peer) else None

    def __call__(self, address: Address) -> bool | GatewayError:
        """The router's question (:class:`gateway.bus.router.X400Routing`)."""
        route = self.route(address)
        return route if isinstance(route, GatewayError) else route is not None


def _without_rfc822(addr: ORAddress) -> ORAddress:
    return replace(addr, dda=tuple((t, v) for t, v in addr.dda if t.upper() not in _RFC822_DDA))
