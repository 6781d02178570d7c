"""DNS block and allow lists (DNSBL / DNSWL, RFC 5782) for client addresses.

A list is a DNS zone; an address is listed when the name made of its
reversed octets (IPv4, RFC 5782 2.1) or reversed nibbles (IPv6, 2.4) under
the zone has an A record, e.g. ``99.2.0.192.zen.example``. The A record's
address is the return code (RFC 5782 2.3: always in 127.0.0.0/8, its meaning
is up to the list); the TXT record of the same name, when there is one, says
why (2.1) and is given as :attr:`Listing.text`.

:class:`DNSBLChecker` asks every configured zone, block lists (``zones``) and
allow lists (``allow_zones``) alike, at the same time, and gives a
:class:`DNSBLResult`; what to do with it (reject, file as junk, let an
allow-listed address through) is the caller's policy. The check never fails:
whatever went wrong is in :attr:`DNSBLResult.errors`, one line per problem,
starting with the zone:

- a temporary DNS failure (SERVFAIL, timeout: :class:`~gateway.authn.dns.DNSError`);
- an A answer outside 127.0.0.0/8, which RFC 5782 2.3 says cannot be a
  listing (a hijacking resolver's "did you mean" address, for instance): it
  is ignored;
- a return code in 127.255.255.0/24: lists of the Spamhaus family answer that
  when they refuse the query (127.255.255.254: asked through a public or open
  resolver; .255: too many queries; .252: a typo in the list's name) instead
  of saying whether the address is listed;
- for an allow list, 127.0.0.255, which dnswl.org answers to the same end
  (refused or over its limits). Were it taken for a listing, every address
  would be allow-listed while the list refuses to answer;
- a TXT lookup that failed for a listed address (the listing stands, its
  ``text`` is None).

RFC 5782 5 also says a working list must list the test point 127.0.0.2 and
must not list 127.0.0.1; monitoring that a list still behaves (and was not
replaced by a wildcard) is left to the operator: nothing here asks the test
points.

An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``, what a dual-stack socket
reports for an IPv4 client) is checked as the IPv4 address. Addresses are
checked whatever they are, private or loopback included: which clients to
check is the caller's decision.

Results are cached per address for ``cache_ttl`` seconds of the injected
clock, negative ones too; a result with errors only for
``min(cache_ttl, error_ttl)``, so that one lost answer does not switch a list
off for that address for long. The cache holds at most ``max_entries``
addresses (least recently used dropped first), and checks of an address
whose lookups are under way wait for them instead of asking again.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.authn.dns import DNSError, Lookup

__all__ = [
    "DEFAULT_CACHE_TTL",
    "DEFAULT_ERROR_TTL",
    "MAX_TEXT",
    "DNSBLChecker",
    "DNSBLResult",
    "Listing",
    "query_name",
]

DEFAULT_CACHE_TTL: Final = 600.0
DEFAULT_ERROR_TTL: Final = 60.0
MAX_TEXT: Final = 255  # characters of a listing's reason text kept
_LOOPBACK_NET: Final = ipaddress.IPv4Network("127.0.0.0/8")  # RFC 5782 2.3
_REFUSED_NET: Final = ipaddress.IPv4Network("127.255.255.0/24")  # Spamhaus-style errors
_DNSWL_REFUSED: Final = ipaddress.IPv4Address("127.0.0.255")  # dnswl.org: blocked query

_log = Logger()


@dataclass(frozen=True, slots=True)
class Listing:
    """``zone`` lists the address: its return ``codes`` (A record addresses,
    in 127.0.0.0/8, sorted) and the reason ``text`` of its TXT record(s)
    (printable ASCII only, several records joined with ``"; "``; None when
    there is none)."""

    zone: str
    codes: tuple[str, ...]
    text: str | None


@dataclass(frozen=True, slots=True)
class DNSBLResult:
    """What the lists said about one address: ``listed`` by block lists,
    ``allowed`` by allow lists (each in the configured zone order), and the
    ``errors`` (``"zone: why"``) of lists that gave no usable answer."""

    listed: tuple[Listing, ...]
    allowed: tuple[Listing, ...]
    errors: tuple[str, ...]


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ip`` parsed; an IPv4-mapped IPv6 address as its IPv4 address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise ValueError(f"not an IP address: {ip!r}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _reversed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(reversed(str(address).split(".")))  # RFC 5782 2.1
    return ".".join(reversed(address.exploded.replace(":", "")))  # RFC 5782 2.4


def query_name(ip: str, zone: str) -> str:
    """The name to ask ``zone`` about ``ip`` (RFC 5782 2.1 and 2.4):
    ``"192.0.2.99", "bl.test"`` -> ``"99.2.0.192.bl.test"``; for IPv6 the 32
    nibbles of the address, least significant first. Raises ValueError for
    something that is not an IP address, or an empty zone."""
    address = _address(ip)
    zone = zone.strip().rstrip(".")
    if not zone:
        raise ValueError("empty DNSBL zone name")
    return f"{_reversed(address)}.{zone}"


def _printable(records: Sequence[bytes]) -> str | None:
    """TXT records as one line of printable ASCII, at most MAX_TEXT long."""
    parts: list[str] = []
    for raw in records:
        text = "".join(
            c if " " <= c <= "~" else ("?" if c > "~" else " ") for c in raw.decode("latin-1")
        )
        text = " ".join(text.split())
        if text and text not in parts:
            parts.append(text)
    if not parts:
        return None
    joined = "; ".join(parts)
    return joined if len(joined) <= MAX_TEXT else joined[: MAX_TEXT - 3] + "..."


def _why(error: BaseException) -> str:
    if isinstance(error, DNSError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True, slots=True)
class _ZoneAnswer:
    listing: Listing | None
    errors: tuple[str, ...]


class DNSBLChecker:
    """Checks addresses against block list ``zones`` and ``allow_zones``
    through ``lookup``; see the module's documentation."""

    def __init__(
        self,
        lookup: Lookup,
        zones: Sequence[str],
        allow_zones: Sequence[str],
        clock: IReactorTime,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        max_entries: int = 10_000,
        *,
        error_ttl: float = DEFAULT_ERROR_TTL,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1: {max_entries!r}")
        self.lookup = lookup
        self.zones = _zones(zones)
        self.allow_zones = _zones(allow_zones)
        self.clock = clock
        self.cache_ttl = cache_ttl
        self.error_ttl = min(cache_ttl, error_ttl)
        self.max_entries = max_entries
        # address -> (expiry time, result); least recently used first
        self._cache: OrderedDict[str, tuple[float, DNSBLResult]] = OrderedDict()
        # address -> the callers waiting for the lookups under way
        self._waiting: dict[str, list[Deferred[DNSBLResult]]] = {}

    def __len__(self) -> int:
        """The number of addresses cached."""
        return len(self._cache)

    def check(self, ip: str) -> Deferred[DNSBLResult]:
        """What the lists say about ``ip``; never fails (problems, a bad
        address included, are in the result's ``errors``). Cancelling the
        Deferred leaves the lookups running for other callers and the cache."""
        try:
            key = str(_address(ip))
        except ValueError as e:
            return defer.succeed(DNSBLResult((), (), (str(e),)))
        now = self.clock.seconds()
        cached = self._cache.get(key)
        if cached is not None:
            if cached[0] > now:
                self._cache.move_to_end(key)
                return defer.succeed(cached[1])
            del self._cache[key]

        waiters = self._waiting.get(key)
        first = waiters is None
        if waiters is None:
            waiters = self._waiting[key] = []

        def forget(d: Deferred[DNSBLResult]) -> None:
            # Only this caller gives up; the others still get the answer.
            if d in waiters:
                waiters.remove(d)

        waiting: Deferred[DNSBLResult] = Deferred(forget)
        waiters.append(waiting)
        if first:
            Deferred.fromCoroutine(self._run(key)).addErrback(self._bug, key)
        return waiting

    # -- machinery -----------------------------------------------------------

    async def _run(self, key: str) -> None:
        result = await self._ask(key)
        self._deliver(key, result)

    def _bug(self, failure: Failure, key: str) -> None:
        """Something in _run itself failed: still answer everyone waiting."""
        _log.failure("DNSBL check of {address} failed", failure, address=key)
        waiters = self._waiting.pop(key, [])
        result = DNSBLResult((), (), (f"{key}: internal error: {failure.getErrorMessage()}",))
        for d in waiters:
            if not d.called:
                d.callback(result)

    def _deliver(self, key: str, result: DNSBLResult) -> None:
        ttl = self.error_ttl if result.errors else self.cache_ttl
        if ttl > 0:
            self._cache[key] = (self.clock.seconds() + ttl, result)
            self._cache.move_to_end(key)
            self._prune()
        for d in self._waiting.pop(key, []):
            if not d.called:
                d.callback(result)

    def _prune(self) -> None:
        now = self.clock.seconds()
        while self._cache:  # expired entries at the old end
            _key, (expiry, _result) = next(iter(self._cache.items()))
            if expiry > now:
                break
            self._cache.popitem(last=False)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    async def _ask(self, key: str) -> DNSBLResult:
        address = _address(key)
        reverse = _reversed(address)
        queries = [
            Deferred.fromCoroutine(self._zone(f"{reverse}.{zone}", zone, allow=False))
            for zone in self.zones
        ] + [
            Deferred.fromCoroutine(self._zone(f"{reverse}.{zone}", zone, allow=True))
            for zone in self.allow_zones
        ]
        answers: list[_ZoneAnswer] = await defer.gatherResults(queries)
        blocks, allows = answers[: len(self.zones)], answers[len(self.zones) :]
        return DNSBLResult(
            listed=tuple(a.listing for a in blocks if a.listing is not None),
            allowed=tuple(a.listing for a in allows if a.listing is not None),
            errors=tuple(e for a in answers for e in a.errors),
        )

    async def _zone(self, name: str, zone: str, *, allow: bool) -> _ZoneAnswer:
        """One list's answer; never raises."""
        try:
            answers = await self.lookup.a(name)
        except Exception as e:
            return _ZoneAnswer(None, (f"{zone}: {_why(e)}",))
        errors: list[str] = []
        codes: set[ipaddress.IPv4Address] = set()
        for answer in answers:
            try:
                code = ipaddress.IPv4Address(answer)
            except ValueError:
                errors.append(f"{zone}: answer {answer!r} is not an IPv4 address, ignored")
                continue
            if code not in _LOOPBACK_NET:
                errors.append(f"{zone}: answer {code} outside 127.0.0.0/8 ignored (RFC 5782 2.3)")
            elif code in _REFUSED_NET or (allow and code == _DNSWL_REFUSED):
                errors.append(f"{zone}: query refused by the list (return code {code})")
            else:
                codes.add(code)
        if not codes:
            return _ZoneAnswer(None, tuple(errors))
        text: str | None = None
        try:
            text = _printable(await self.lookup.txt(name))
        except Exception as e:
            errors.append(f"{zone}: reason text (TXT) not available: {_why(e)}")
        listing = Listing(zone, tuple(str(c) for c in sorted(codes)), text)
        return _ZoneAnswer(listing, tuple(errors))


def _zones(zones: Sequence[str]) -> tuple[str, ...]:
    """Zone names without the final dot, lower case, duplicates dropped."""
    out: list[str] = []
    for zone in zones:
        name = zone.strip().rstrip(".").lower()
        if not name:
            raise ValueError("empty DNSBL zone name")
        if name not in out:
            out.append(name)
    return tuple(out)
