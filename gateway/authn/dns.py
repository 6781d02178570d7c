"""The DNS lookups of the sender authentication checks (SPF, DKIM, DMARC).

Every check asks DNS through :class:`Lookup`, a small asynchronous interface
with one method per question the checks ask, so that the checks never see
Twisted's resolver API and tests can answer from a zone server on loopback.
:class:`TwistedLookup` implements it over a :mod:`twisted.names` resolver
(``resolver_from`` of :mod:`gateway.smtp.mx` builds the configured one).

Outcomes:

- records: a list, in the order the server sent them;
- NXDOMAIN (RFC 1035 4.1.1 RCODE 3) and NODATA (NOERROR without records of
  the type, RFC 2308 2.2): an empty list. Both are what RFC 7208 4.6.4 calls
  a "void lookup", so an empty list is a void answer;
- SERVFAIL, REFUSED, timeout, a CNAME loop, anything else gone wrong:
  :class:`DNSError` with ``temporary`` true (SPF's temperror, RFC 7208 2.6.6);
- a name that cannot be asked at all (an empty or over-long label, more than
  253 octets, not ASCII): :class:`DNSError` with ``temporary`` false.

CNAMEs are followed (RFC 1034 3.6.2) up to :data:`MAX_CNAME_CHAIN` links.
Each query is given ``timeout`` seconds in all (on top of the resolver's own
per-server retry timeouts), measured on the injected clock.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IResolver
from twisted.names import dns, error

if TYPE_CHECKING:
    from gateway.config import DNSSettings

DEFAULT_TIMEOUT: Final = 20.0  # RFC 7208 4.6.4: at least 20 seconds for the whole check
MAX_CNAME_CHAIN: Final = 8
MAX_NAME_LENGTH: Final = 253  # RFC 1035 2.3.4, in text form without the final dot
MAX_LABEL_LENGTH: Final = 63


class DNSError(Exception):
    """A lookup that gave no answer. ``temporary``: SERVFAIL, timeout and the
    like (may work later); otherwise the question itself is bad."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class Lookup(Protocol):
    """The DNS questions the sender authentication checks ask.

    Names are text, with or without the final dot; results are lists (empty
    for NXDOMAIN or NODATA); failures are :class:`DNSError`.
    """

    def txt(self, name: str) -> Deferred[list[bytes]]:
        """The TXT records of ``name``, each one's character-strings joined
        without separator (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
        ...

    def a(self, name: str) -> Deferred[list[str]]:
        """The IPv4 addresses of ``name``, as text."""
        ...

    def aaaa(self, name: str) -> Deferred[list[str]]:
        """The IPv6 addresses of ``name``, as text (compressed form)."""
        ...

    def mx(self, name: str) -> Deferred[list[tuple[int, str]]]:
        """``(preference, exchange)`` of each MX record of ``name``; the null
        MX's exchange (RFC 7505) is ``""``."""
        ...

    def ptr(self, address: str) -> Deferred[list[str]]:
        """The names the PTR records of ``address`` (IPv4 or IPv6, in the
        ``in-addr.arpa`` / ``ip6.arpa`` tree) point to."""
        ...

    def exists(self, name: str) -> Deferred[bool]:
        """Whether ``name`` has an A record (RFC 7208 5.7: the ``exists``
        mechanism asks for A whatever the client's address family). False is
        a void answer: NXDOMAIN or NODATA."""
        ...


def query_name(name: str) -> bytes:
    """``name`` as the octets of a query name, without the final dot; raises
    a permanent :class:`DNSError` for a name that cannot be asked."""
    text = name[:-1] if name.endswith(".") else name
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise DNSError(f"{name!r}: not an ASCII domain name", temporary=False) from None
    labels = raw.split(b".")
    if not raw or len(raw) > MAX_NAME_LENGTH:
        raise DNSError(f"{name!r}: not a valid domain name (length)", temporary=False)
    if any(not label or len(label) > MAX_LABEL_LENGTH for label in labels):
        raise DNSError(f"{name!r}: not a valid domain name (label length)", temporary=False)
    return raw


_TEMPORARY: Final = (
    (error.DNSServerError, "server failure (SERVFAIL)"),
    (error.DNSQueryRefusedError, "query refused (REFUSED)"),
    (error.DNSFormatError, "format error (FORMERR)"),
    (error.DNSNotImplementedError, "not implemented (NOTIMP)"),
    (error.DNSUnknownError, "unknown DNS error"),
)


class _NoSuchDomain(Exception):
    pass


def _owner(name: Any) -> bytes:
    raw = name.name if isinstance(name, dns.Name) else name
    return bytes(raw).rstrip(b".").lower()


def _text(name: Any) -> str:
    raw = name.name if isinstance(name, dns.Name) else name
    return bytes(raw).decode("ascii", "replace").rstrip(".")


class TwistedLookup:
    """:class:`Lookup` over a :mod:`twisted.names` resolver (``IResolver``),
    each query limited to ``timeout`` seconds of ``clock``."""

    def __init__(
        self, resolver: IResolver, clock: IReactorTime, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._resolver = resolver
        self._clock = clock
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: DNSSettings, reactor: Any) -> TwistedLookup:
        """The resolver ``[dns]`` configures (``gateway.smtp.mx.resolver_from``);
        a query is abandoned a second after the resolver would give up."""
        from gateway.smtp.mx import resolver_from

        # A backstop: the resolver gives each server ``timeout`` seconds once.
        budget = settings.timeout * max(1, len(settings.servers)) + 1.0
        return cls(resolver_from(settings, reactor), reactor, budget)

    # -- the interface -------------------------------------------------------

    def txt(self, name: str) -> Deferred[list[bytes]]:
        async def run() -> list[bytes]:
            records = await self._records(name, dns.TXT)
            return [b"".join(bytes(s) for s in r.data) for r in records]

        return Deferred.fromCoroutine(run())

    def a(self, name: str) -> Deferred[list[str]]:
        return Deferred.fromCoroutine(self._addresses(name, dns.A))

    def aaaa(self, name: str) -> Deferred[list[str]]:
        return Deferred.fromCoroutine(self._addresses(name, dns.AAAA))

    def mx(self, name: str) -> Deferred[list[tuple[int, str]]]:
        async def run() -> list[tuple[int, str]]:
            records = await self._records(name, dns.MX)
            return [(int(r.preference), _text(r.name)) for r in records]

        return Deferred.fromCoroutine(run())

    def ptr(self, address: str) -> Deferred[list[str]]:
        async def run() -> list[str]:
            try:
                reverse = ipaddress.ip_address(address).reverse_pointer
            except ValueError:
                raise DNSError(f"{address!r}: not an IP address", temporary=False) from None
            records = await self._records(reverse, dns.PTR)
            return [_text(r.name) for r in records]

        return Deferred.fromCoroutine(run())

    def exists(self, name: str) -> Deferred[bool]:
        async def run() -> bool:
            return bool(await self._addresses(name, dns.A))

        return Deferred.fromCoroutine(run())

    # -- machinery -----------------------------------------------------------

    async def _addresses(self, name: str, qtype: int) -> list[str]:
        out: list[str] = []
        for record in await self._records(name, qtype):
            try:  # Record_A / Record_AAAA hold the packed address
                out.append(str(ipaddress.ip_address(record.address)))
            except (ValueError, AttributeError):
                continue
        return out

    async def _records(self, name: str, qtype: int) -> list[Any]:
        """The ``qtype`` record payloads of ``name`` after following CNAMEs."""
        current = query_name(name).lower()
        chain = [current]
        try:
            answers = await self._query(current, qtype)
        except _NoSuchDomain:
            return []
        asked = current
        while True:
            owned = [rr for rr in answers if _owner(rr.name) == current]
            records = [rr.payload for rr in owned if rr.type == qtype]
            if records:
                return records
            cnames = [rr.payload for rr in owned if rr.type == dns.CNAME]
            if cnames:
                current = _owner(cnames[0].name)
                if current in chain or len(chain) > MAX_CNAME_CHAIN:
                    raise DNSError(
                        f"{name}: CNAME loop or chain longer than {MAX_CNAME_CHAIN}",
                        temporary=True,
                    )
                chain.append(current)
                continue
            if current == asked:
                return []
            try:  # the answer ended at a CNAME target it holds nothing for
                answers = await self._query(current, qtype)
            except _NoSuchDomain:
                return []
            asked = current

    async def _query(self, name: bytes, qtype: int) -> list[Any]:
        """One query: the answer section. Raises _NoSuchDomain or DNSError."""
        what = f"{dns.QUERY_TYPES.get(qtype, qtype)} {name.decode('ascii')}"
        query = cast(Any, self._resolver).query(dns.Query(name, qtype, dns.IN))
        query.addTimeout(self._timeout, self._clock)
        try:
            answers, _authority, _additional = await query
        except defer.TimeoutError:  # includes error.DNSQueryTimeoutError
            raise DNSError(f"{what}: timed out", temporary=True) from None
        except error.AuthoritativeDomainError:
            raise _NoSuchDomain() from None
        except error.DomainError as e:
            for kind, text in _TEMPORARY:
                if isinstance(e, kind):
                    raise DNSError(f"{what}: {text}", temporary=True) from None
            raise _NoSuchDomain() from None  # DNSNameError: NXDOMAIN
        except defer.CancelledError:
            raise
        except Exception as e:
            raise DNSError(f"{what}: {type(e).__name__}: {e}", temporary=True) from None
        return list(answers)


__all__ = ["DEFAULT_TIMEOUT", "DNSError", "Lookup", "TwistedLookup", "query_name"]
