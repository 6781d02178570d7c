"""Where to deliver mail for a domain: MX resolution (RFC 5321 5.1).

:class:`MXResolver` turns a destination domain into the ordered list of
:class:`Target` (host name, IP address, port, preference) the relay agent
tries in turn:

- MX records sorted by preference, lowest first; hosts of equal preference
  in random order (RFC 5321 5.1, "randomize them to spread the load"); the
  random source is injectable.
- Each MX host resolved to its A and AAAA records (IPv4 first, then IPv6;
  both are returned). A host name listed twice, or an address reached
  through two hosts, is kept once, at its first (best) place.
- CNAMEs are followed, for the domain (RFC 5321 5.1: "the resulting name is
  processed as if it were the initial name") and for MX host names (which
  RFC 2181 10.3 forbids but which exist), at most :data:`MAX_CNAME_CHAIN`
  links; a longer chain or a loop is a temporary failure (4.4.3).
- No MX records (NODATA) -> the implicit MX: the domain's own A/AAAA
  records, preference 0 (RFC 5321 5.1).
- The null MX of RFC 7505 (exchange ``.``) -> permanent 556 5.1.10. A null
  MX mixed with real MX records (which RFC 7505 3 forbids) is ignored and
  the real ones are used.
- Address literals (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``, RFC 5321
  4.1.3) bypass DNS.
- :meth:`MXResolver.mark_bad` puts an address that just failed at the end of
  every list for ``bad_host_ttl`` seconds (driven by the injected clock).
  It is kept rather than dropped, so a destination whose hosts are all bad
  is still tried.

Failures are :class:`~gateway.errors.GatewayError` (RFC 3463 codes):

=====================================================  =================
NXDOMAIN for the domain (or its CNAME target)           550 5.1.2
invalid domain name or address literal                  550 5.1.2
null MX (RFC 7505 3)                                    556 5.1.10
no MX and no A/AAAA for the domain (implicit MX empty)  550 5.4.4
MX hosts exist but none has an address                  451 4.4.4
SERVFAIL, REFUSED, timeout, CNAME loop, ...             451 4.4.3
=====================================================  =================

The two "no address" cases differ on purpose. A domain that exists but
publishes neither MX nor address records is the RFC 3463 X.4.4 example
("a DNS lookup returning only an SOA") and does not accept mail: permanent.
A domain that publishes MX records whose hosts do not resolve (yet) is a
broken but evidently intended mail setup, often fixed within hours: it is
deferred (4.4.4), and the queue lifetime turns it into a bounce eventually.
When some of those host lookups failed temporarily the reply is 4.4.3.

Addresses are not filtered: loopback, unspecified, private or link-local
addresses from DNS are returned as they are (the test suite relies on
127.0.0.1). A production deployment may want the relay agent to refuse
them, so that a hostile zone cannot point deliveries at the gateway itself
or at internal services.

Not done here: RFC 5321 5.1's rule to drop MX hosts with a preference not
better than the local host's own (the relay agent knows its own names and
addresses), and caching (left to the resolver; TTLs are not used).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Any, Final, cast

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IResolver
from twisted.names import client, dns, error, hosts, resolve

from gateway.config import DNSSettings
from gateway.errors import GatewayError

SMTP_PORT: Final = 25  # RFC 5321 4.5.4.2 / IANA
MAX_CNAME_CHAIN: Final = 8
MAX_DOMAIN_LENGTH: Final = 253  # RFC 1035 2.3.4, in text form without the final dot
SYSTEM_RESOLV_CONF: Final = b"/etc/resolv.conf"
SYSTEM_HOSTS: Final = b"/etc/hosts"


@dataclass(frozen=True, slots=True)
class Target:
    """One address to try: the MX host name (the domain itself for an
    implicit MX, the literal for an address literal), its IP address, the
    port and the MX preference."""

    host: str
    address: str
    port: int = SMTP_PORT
    preference: int = 0


def resolver_from(settings: DNSSettings, reactor: Any = None) -> IResolver:
    """The resolver ``[dns]`` configures.

    With ``servers``, a :class:`twisted.names.client.Resolver` that asks only
    those servers: neither ``/etc/resolv.conf`` nor ``/etc/hosts`` is read.
    (``client.createResolver(servers=...)`` would add the resolv.conf servers
    to the round robin, so it is not used.) Each server is given ``timeout``
    seconds for one answer, and tried once.

    Without servers, the system's: ``/etc/hosts`` then the name servers of
    ``/etc/resolv.conf``, as ``createResolver()`` builds it, but with the
    configured timeout.
    """
    timeout = (settings.timeout,)
    if settings.servers:
        return cast(
            IResolver,
            client.Resolver(servers=list(settings.servers), timeout=timeout, reactor=reactor),
        )
    system = client.Resolver(resolv=SYSTEM_RESOLV_CONF, timeout=timeout, reactor=reactor)
    return cast(IResolver, resolve.ResolverChain([hosts.Resolver(SYSTEM_HOSTS), system]))


# ---------------------------------------------------------------------------
# Internal outcomes of one lookup


class _NoSuchDomain(Exception):
    """NXDOMAIN (RFC 1035 4.1.1 RCODE 3)."""


class _TryLater(Exception):
    """A failure that may go away: SERVFAIL, timeout, REFUSED, CNAME loop."""


_TEMPORARY_RCODES: Final = (
    (error.DNSServerError, "server failure (SERVFAIL)"),
    (error.DNSQueryRefusedError, "query refused (REFUSED)"),
    (error.DNSFormatError, "format error (FORMERR)"),
    (error.DNSNotImplementedError, "not implemented (NOTIMP)"),
    (error.DNSUnknownError, "unknown DNS error"),
)


def _text(name: Any) -> str:
    """A ``dns.Name`` (or bytes) as lower-case text without the final dot."""
    raw = name.name if isinstance(name, dns.Name) else name
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return str(raw).rstrip(".").lower()


def _domain(domain: str) -> str:
    """``domain`` as lower-case A-labels without the final dot, or 550 5.1.2.

    Non-ASCII names go through Python's IDNA 2003 codec."""
    name = domain[:-1] if domain.endswith(".") else domain
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _bad_destination(domain, "not a valid domain name") from None
    labels = name.split(".")
    if (
        not name
        or len(name) > MAX_DOMAIN_LENGTH
        or any(not label or len(label) > 63 for label in labels)
    ):
        raise _bad_destination(domain, "not a valid domain name")
    return name


def _bad_destination(destination: str, why: str) -> GatewayError:
    # RFC 3463 X.1.2: bad destination system address.
    return GatewayError(550, "5.1.2", f"{destination}: {why}")


def _address_literal(destination: str) -> str | None:
    """The address in an RFC 5321 4.1.3 address literal, or None when
    ``destination`` is a domain name."""
    if not destination.startswith("["):
        return None
    if not destination.endswith("]"):
        raise _bad_destination(destination, "malformed address literal")
    inner = destination[1:-1]
    try:
        if inner[:5].lower() == "ipv6:":  # "IPv6" is case-insensitive (RFC 5234 2.3)
            if "%" in inner:
                raise ValueError("zone index")
            return str(ipaddress.IPv6Address(inner[5:]))
        if ":" in inner:
            raise _bad_destination(destination, "unsupported address literal")
        return str(ipaddress.IPv4Address(inner))
    except ValueError:
        raise _bad_destination(destination, "malformed address literal") from None


class MXResolver:
    """Ordered delivery targets for a domain (see the module docstring)."""

    def __init__(
        self,
        resolver: IResolver,
        clock: IReactorTime,
        bad_host_ttl: float = 600.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._resolver = resolver
        self._clock = clock
        self._bad_host_ttl = bad_host_ttl
        self._random = rng if rng is not None else random.Random()
        self._bad: dict[str, float] = {}  # address -> until (clock seconds)

    # -- bad hosts ---------------------------------------------------------

    def mark_bad(self, address: str) -> None:
        """``address`` just failed (refused, timed out, 421): list it last for
        ``bad_host_ttl`` seconds."""
        self._bad[_canonical_address(address)] = self._clock.seconds() + self._bad_host_ttl

    def is_bad(self, address: str) -> bool:
        until = self._bad.get(_canonical_address(address))
        if until is None:
            return False
        if self._clock.seconds() >= until:
            del self._bad[_canonical_address(address)]
            return False
        return True

    def _bad_last(self, targets: list[Target]) -> list[Target]:
        now = self._clock.seconds()
        for address in [a for a, until in self._bad.items() if now >= until]:
            del self._bad[address]
        return sorted(targets, key=lambda t: t.address in self._bad)  # stable

    # -- resolution ----------------------------------------------------------

    def hosts(self, domain: str) -> Deferred[list[Target]]:
        """The targets for ``domain``, best first; fails with a
        :class:`GatewayError`."""
        return Deferred.fromCoroutine(self._hosts(domain))

    async def _hosts(self, destination: str) -> list[Target]:
        literal = _address_literal(destination)
        if literal is not None:
            return [Target(destination, literal)]
        domain = _domain(destination)
        try:
            owner, records = await self._lookup(domain, dns.MX)
        except _NoSuchDomain:
            raise GatewayError(
                550, "5.1.2", f"{destination}: domain does not exist (NXDOMAIN)"
            ) from None
        except _TryLater as e:
            raise GatewayError(451, "4.4.3", f"{destination}: MX lookup failed: {e}") from None

        if not records:
            # RFC 5321 5.1: no MX -> the domain itself, preference 0.
            addresses, problem = await self._addresses(owner)
            if addresses:
                return self._bad_last([Target(owner, a) for a in addresses])
            if problem is not None:
                raise GatewayError(
                    451, "4.4.3", f"{destination}: address lookup failed: {problem}"
                )
            raise GatewayError(
                550, "5.4.4", f"{destination}: no MX and no address records for the domain"
            )

        exchanges = [(int(r.preference), _text(r.name)) for r in records]
        real = [(pref, host) for pref, host in exchanges if host]
        if not real:
            # RFC 7505 3 and 4.3: the domain accepts no mail.
            raise GatewayError(
                556, "5.1.10", f"{destination}: domain does not accept mail (null MX, RFC 7505)"
            )

        ordered = self._order(real)
        lookups: list[Deferred[tuple[list[str], str | None]]] = [
            Deferred.fromCoroutine(self._addresses(host)) for _, host in ordered
        ]
        results = await defer.gatherResults(lookups, consumeErrors=True)
        targets: list[Target] = []
        seen: set[str] = set()
        problems: list[str] = []
        for (preference, host), (addresses, problem) in zip(ordered, results, strict=True):
            if problem is not None:
                problems.append(f"{host}: {problem}")
            for address in addresses:
                if address not in seen:
                    seen.add(address)
                    targets.append(Target(host, address, SMTP_PORT, preference))
        if targets:
            return self._bad_last(targets)
        if problems:
            raise GatewayError(
                451, "4.4.3", f"{destination}: MX host lookup failed: {'; '.join(problems)}"
            )
        # RFC 3463 X.4.4: unable to route; deferred (see the module docstring).
        raise GatewayError(
            451, "4.4.4", f"{destination}: none of the MX hosts has an address record"
        )

    def _order(self, exchanges: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """RFC 5321 5.1: by preference; equal preferences shuffled; a host
        listed twice kept at its best preference."""
        by_preference: dict[int, list[str]] = {}
        for preference, host in sorted(exchanges):
            by_preference.setdefault(preference, []).append(host)
        ordered: list[tuple[int, str]] = []
        seen: set[str] = set()
        for preference in sorted(by_preference):
            group = [h for h in dict.fromkeys(by_preference[preference]) if h not in seen]
            self._random.shuffle(group)
            seen.update(group)
            ordered.extend((preference, host) for host in group)
        return ordered

    async def _addresses(self, host: str) -> tuple[list[str], str | None]:
        """``host``'s IPv4 then IPv6 addresses, and what went wrong
        temporarily (None if nothing did). NXDOMAIN is no addresses."""
        lookups = [
            Deferred.fromCoroutine(self._lookup_or_problem(host, qtype))
            for qtype in (dns.A, dns.AAAA)
        ]
        results = await defer.gatherResults(lookups, consumeErrors=True)
        addresses: list[str] = []
        problems: list[str] = []
        for records, problem in results:
            if problem is not None:
                problems.append(problem)
            for record in records:
                try:  # Record_A / Record_AAAA hold the packed address
                    address = str(ipaddress.ip_address(record.address))
                except (ValueError, AttributeError):
                    continue
                if address not in addresses:
                    addresses.append(address)
        return addresses, ("; ".join(problems) if problems else None)

    async def _lookup_or_problem(self, name: str, qtype: int) -> tuple[list[Any], str | None]:
        try:
            _owner, records = await self._lookup(name, qtype)
        except _NoSuchDomain:
            return [], None
        except _TryLater as e:
            return [], str(e)
        return records, None

    async def _lookup(self, name: str, qtype: int) -> tuple[str, list[Any]]:
        """The ``qtype`` records of ``name`` after following CNAMEs:
        ``(canonical name, record payloads)``; an empty list is NODATA."""
        chain = [name]  # the names visited, to detect a loop
        answers = await self._query(name, qtype)
        asked = name  # the name ``answers`` answers
        current = name
        while True:
            owned = [rr for rr in answers if _text(rr.name) == current]
            records = [rr.payload for rr in owned if rr.type == qtype]
            if records:
                return current, records
            cnames = [rr.payload for rr in owned if rr.type == dns.CNAME]
            if cnames:
                current = _text(cnames[0].name)
                if current in chain:
                    raise _TryLater(f"CNAME loop from {name} at {current}")
                chain.append(current)
                if len(chain) > MAX_CNAME_CHAIN + 1:
                    raise _TryLater(f"CNAME chain from {name} longer than {MAX_CNAME_CHAIN}")
                continue
            if current == asked:
                return current, []
            # The answer ended at a CNAME target it holds no records for.
            answers = await self._query(current, qtype)
            asked = current

    async def _query(self, name: str, qtype: int) -> list[Any]:
        """One query: the answer section; raises _NoSuchDomain or _TryLater."""
        query = dns.Query(name, qtype, dns.IN)
        what = f"{dns.QUERY_TYPES.get(qtype, qtype)} {name}"
        try:
            result = await cast(Any, self._resolver).query(query)
        except defer.CancelledError:
            raise
        except defer.TimeoutError:  # includes error.DNSQueryTimeoutError
            raise _TryLater(f"{what}: timed out") from None
        except error.DomainError as e:
            for kind, text in _TEMPORARY_RCODES:
                if isinstance(e, kind):
                    raise _TryLater(f"{what}: {text}") from None
            raise _NoSuchDomain(name) from None  # DNSNameError, plain DomainError
        except error.AuthoritativeDomainError:
            raise _NoSuchDomain(name) from None
        except Exception as e:
            raise _TryLater(f"{what}: {type(e).__name__}: {e}") from None
        answers, _authority, _additional = result
        return list(answers)


def _canonical_address(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


__all__ = ["MAX_CNAME_CHAIN", "SMTP_PORT", "MXResolver", "Target", "resolver_from"]
