"""The router: per recipient, where does it go?

Aliases are expanded here (chains, loops, a maximum depth); local
addresses resolve to local users; everything else gets a route kind whose
delivery agent may or may not be configured. The router is pure over the
user directory and alias table it is given, so SMTP can ask it at RCPT time
(refusing unknown users early) and the queue asks it again at delivery
time (so alias changes apply to mail already queued).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from gateway import errors
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.interfaces import IAliasTable, IUserDirectory

#: Is a (non-local) address an X.400 recipient? True: the X.400 channel;
#: False: Internet mail; an error: refuse it (an address of the gateway's
#: own X.400 domain that no peer serves).  gateway.x400.p1.routing.PeerRoutes.
X400Routing = Callable[[Address], bool | GatewayError]


class RouteKind(enum.StrEnum):
    LOCAL = "local"  # a mailbox of a local user
    SMTP = "smtp"  # outbound relay by MX or smarthost
    X400 = "x400"  # the X.400 channel
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Route:
    kind: RouteKind
    address: Address  # the final address (after aliases, canonical for local users)
    error: GatewayError | None = None  # set for REJECT


@dataclass(frozen=True, slots=True)
class Resolution:
    """What one address resolves to.

    ``routes`` are the final destinations; ``expanded`` is True when the
    address was an alias (then the routes are its targets, after every
    level of expansion, without duplicates).
    """

    routes: tuple[Route, ...]
    expanded: bool


class Router:
    def __init__(
        self,
        local_domains: tuple[str, ...],
        users: IUserDirectory,
        aliases: IAliasTable,
        max_alias_depth: int = 10,
        x400: X400Routing | None = None,
    ) -> None:
        """``x400`` decides which addresses go to the X.400 channel (local
        domains first in any case)."""
        self.local_domains = frozenset(d.lower() for d in local_domains)
        self.x400 = x400
        self.users = users
        self.aliases = aliases
        self.max_alias_depth = max_alias_depth

    def is_local(self, address: Address) -> bool:
        return address.domain in self.local_domains

    def resolve(self, address: Address) -> Resolution:
        """Expand aliases and route every final address.

        An unknown local user is a permanent failure, so before answering
        that the users and aliases are checked afresh: a user or alias added
        a moment ago is found.
        """
        resolution = self._resolve(address)
        if any(r.error is errors.UNKNOWN_USER for r in resolution.routes):
            self.users.refresh()
            self.aliases.refresh()
            resolution = self._resolve(address)
        return resolution

    def _resolve(self, address: Address) -> Resolution:
        if self.aliases.targets(address) is None:
            return Resolution((self._route(address),), expanded=False)
        routes: dict[str, Route] = {}
        self._expand(address, (address.key(),), routes)
        return Resolution(tuple(routes.values()), expanded=True)

    def _expand(self, address: Address, chain: tuple[str, ...], out: dict[str, Route]) -> None:
        targets = self.aliases.targets(address)
        assert targets is not None
        for target in targets:
            key = target.key()
            if key in out:
                continue
            if key in chain:
                # sendmail semantics: an alias naming itself (or an alias up
                # the chain) means that mailbox itself, if it is a real user;
                # otherwise it is a loop (RFC 5321 6.3: detect and fail).
                if self.is_local(target) and self.users.exists(target):
                    out[key] = self._route(target)
                else:
                    out[key] = Route(RouteKind.REJECT, target, errors.ALIAS_LOOP)
            elif self.aliases.targets(target) is not None:
                if len(chain) >= self.max_alias_depth:
                    out[key] = Route(RouteKind.REJECT, target, errors.ALIAS_TOO_DEEP)
                else:
                    self._expand(target, (*chain, key), out)
            else:
                out[key] = self._route(target)

    def _route(self, address: Address) -> Route:
        if self.is_local(address):
            canonical = self.users.canonical(address)
            if canonical is None:
                return Route(RouteKind.REJECT, address, errors.UNKNOWN_USER)
            return Route(RouteKind.LOCAL, canonical)
        if self.x400 is not None:
            verdict = self.x400(address)
            if isinstance(verdict, GatewayError):
                return Route(RouteKind.REJECT, address, verdict)
            if verdict:
                return Route(RouteKind.X400, address)
        return Route(RouteKind.SMTP, address)

    def is_ours(self, address: Address) -> bool:
        """Is ``address`` one this gateway answers for -- a local domain, or
        the X.400 side (RFC 2156 4.3.5's "/.../"@gateway, or a domain the
        MIXER tables map into a peer's O/R space), even if only to refuse
        it -- so that an SMTP server takes it from anyone, like a local one?"""
        if self.is_local(address):
            return True
        return self.x400 is not None and self.x400(address) is not False

    def is_x400(self, address: Address) -> bool:
        """Is ``address`` for the X.400 side (mail an SMTP server may accept
        for it like for a local domain, RFC 2156 4.3.5's "/.../"@gateway)?"""
        return self.x400 is not None and self.x400(address) is True
