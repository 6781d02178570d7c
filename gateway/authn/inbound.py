"""Sender authentication of one inbound message, all checks together.

:class:`InboundChecker` runs, for a message received on the ``smtp``
listener: the DNSBL/DNSWL lookup of the client (started when the client
connects), SPF for HELO and MAIL FROM (RFC 7208 2.3, 2.4), DKIM on every
signature (RFC 6376), the ARC chain (RFC 8617), then DMARC (RFC 7489) over
the SPF and DKIM outcomes. Every lookup is asynchronous (gateway.authn.dns);
the checks run concurrently. The :class:`Report` gives the header fields to
add (``Received-SPF``, ``Authentication-Results`` with our authserv-id, an
ARC set when sealing), the facts :mod:`gateway.authn.policy` decides on, and
a summary for the message's history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gateway.authn import dkim as dkim_check
from gateway.authn import dmarc as dmarc_check
from gateway.authn import spf as spf_check
from gateway.authn.arc import ARCResult, SealError, seal, verify_chain
from gateway.authn.dns import Lookup
from gateway.authn.dnsbl import DNSBLChecker, DNSBLResult
from gateway.authn.keys import PrivateKey, load_private_key
from gateway.authn.policy import Facts
from gateway.authn.results import Method, authentication_results, remove_forged
from gateway.authn.work import Runner, inline
from gateway.config import AuthnSettings, DKIMSettings, DNSBLSettings
from gateway.message import fold_header_field

log = Logger()


@dataclass(frozen=True, slots=True)
class Report:
    """What the checks found for one message."""

    client_ip: str
    sender: str | None
    from_addresses: tuple[str, ...] = ()
    spf: spf_check.SPFResult | None = None
    spf_helo: spf_check.SPFResult | None = None
    dkim: tuple[dkim_check.DKIMResult, ...] = ()
    arc: ARCResult | None = None
    dmarc: dmarc_check.DMARCResult | None = None
    dnsbl: DNSBLResult | None = None
    checked: tuple[str, ...] = field(default=())  # the methods that ran

    def methods(self) -> list[Method]:
        """The Authentication-Results entries (RFC 8601 2.7), in check order."""
        out: list[Method] = []
        if self.spf is not None:
            out.append(spf_check.method(self.spf))
        if self.spf_helo is not None and (self.spf is None or self.spf.identity != "helo"):
            out.append(spf_check.method(self.spf_helo))
        if "dkim" in self.checked:
            if self.dkim:
                out += [r.method() for r in self.dkim]
            else:
                out.append(("dkim", "none", {}, None))
        if self.arc is not None:
            out.append(self.arc.method(self.client_ip))
        if self.dmarc is not None:
            out.append(self.dmarc.as_method())
        return out

    def facts(self) -> Facts:
        listed = self.dnsbl.listed if self.dnsbl is not None else ()
        allowed = self.dnsbl.allowed if self.dnsbl is not None else ()
        return Facts(
            client_ip=self.client_ip,
            sender=self.sender,
            from_addresses=self.from_addresses,
            spf=None if self.spf is None else self.spf.result,
            spf_helo=None if self.spf_helo is None else self.spf_helo.result,
            dkim_pass=tuple(r.domain or "" for r in self.dkim if r.result == "pass"),
            dkim_temperror=any(r.result == "temperror" for r in self.dkim),
            dmarc=None if self.dmarc is None else self.dmarc.result,
            dmarc_policy="none" if self.dmarc is None else self.dmarc.policy,
            dmarc_domain="" if self.dmarc is None else self.dmarc.from_domain,
            dmarc_reason="" if self.dmarc is None else self.dmarc.reason,
            dnsbl=tuple(_listing(item) for item in listed),
            dnswl=tuple(item.zone for item in allowed),
            arc_sealers=() if self.arc is None or self.arc.result != "pass" else self.arc.sealers,
        )

    def event(self) -> dict[str, Any]:
        """The checks and their results, for ``mailgateway track``."""
        summary: dict[str, Any] = {}
        for name, result, properties, reason in self.methods():
            words = [result, *(f"{k}={v}" for k, v in properties.items())]
            if reason:
                words.append(f"({reason})")
            summary.setdefault(name, []).append(" ".join(words))
        if self.dnsbl is not None:
            for item in self.dnsbl.listed:
                summary.setdefault("dnsbl", []).append(_listing(item))
            for item in self.dnsbl.allowed:
                summary.setdefault("dnswl", []).append(item.zone)
            for error in self.dnsbl.errors:
                summary.setdefault("dnsbl", []).append(f"error: {error}")
        return {k: "; ".join(v) for k, v in summary.items()}


def _listing(item: Any) -> str:
    text = f"{item.zone} {'/'.join(item.codes)}"
    return f"{text} ({item.text})" if item.text else text


class InboundChecker:
    """Runs the checks configured in ``[authn]`` and ``[dnsbl]``."""

    def __init__(
        self,
        settings: AuthnSettings,
        lookup: Lookup,
        *,
        receiver: str,
        clock: IReactorTime,
        dnsbl: DNSBLSettings | None = None,
        dkim_keys: DKIMSettings | None = None,
        rand: Callable[[], float] = random.random,
        run: Runner = inline,
    ) -> None:
        """``run``: where DKIM and ARC hash the message
        (:mod:`gateway.authn.work`; the daemon's is a thread pool)."""
        self.settings = settings
        self.lookup = lookup
        self.receiver = receiver
        self.authserv_id = settings.authserv_id or receiver
        self.clock = clock
        self.rand = rand
        self.run = run
        self.dnsbl: DNSBLChecker | None = None
        if dnsbl is not None and (dnsbl.zones or dnsbl.allow_zones):
            self.dnsbl = DNSBLChecker(
                lookup, dnsbl.zones, dnsbl.allow_zones, clock, cache_ttl=dnsbl.cache
            )
        self.sealer: tuple[str, str, PrivateKey] | None = None
        if settings.arc_seal and dkim_keys is not None:
            key = next(k for k in dkim_keys.keys if k.domain == settings.arc_seal and k.sign)
            self.sealer = (key.domain, key.selector, load_private_key(key.key))

    def client(self, ip: str) -> Deferred[DNSBLResult | None]:
        """Start the DNSBL/DNSWL lookups for a client as it connects."""
        if self.dnsbl is None:
            return defer.succeed(None)
        listed: Deferred[DNSBLResult | None] = self.dnsbl.check(ip)  # type: ignore[assignment]
        return listed

    def check(
        self,
        content: bytes,
        *,
        client_ip: str,
        helo: str,
        sender: str | None,
        listed: Deferred[DNSBLResult | None] | None = None,
    ) -> Deferred[Report]:
        """Every configured check of ``content`` (the message as received)."""
        return Deferred.fromCoroutine(self._check(content, client_ip, helo, sender, listed))

    async def _check(
        self,
        content: bytes,
        client_ip: str,
        helo: str,
        sender: str | None,
        listed: Deferred[DNSBLResult | None] | None,
    ) -> Report:
        s = self.settings
        checked: list[str] = []
        work: dict[str, Deferred[Any]] = {}
        if s.spf:
            checked.append("spf")
            kw: dict[str, Any] = {"receiver": self.receiver, "clock": self.clock}
            mailfrom = sender or ""
            work["spf"] = spf_check.check_mailfrom(client_ip, mailfrom, helo, self.lookup, **kw)
            if sender and spf_check.valid_domain(helo):
                work["spf_helo"] = spf_check.check_helo(client_ip, helo, self.lookup, **kw)
        if s.dkim or s.dmarc:
            checked.append("dkim")
            work["dkim"] = dkim_check.verify_all(
                content, self.lookup, clock=self.clock, run=self.run
            )
        if s.arc:
            checked.append("arc")
            work["arc"] = verify_chain(content, self.lookup, clock=self.clock, run=self.run)
        if listed is None:
            listed = self.client(client_ip)
        work["dnsbl"] = listed
        names = list(work)
        values = await defer.gatherResults([work[n] for n in names], consumeErrors=True)
        found = dict(zip(names, values, strict=True))
        addresses = tuple(dmarc_check.from_addresses(content))
        report = Report(
            client_ip=client_ip,
            sender=sender,
            from_addresses=addresses,
            spf=found.get("spf"),
            spf_helo=found.get("spf_helo"),
            dkim=tuple(found.get("dkim", ())),
            arc=found.get("arc"),
            dnsbl=found.get("dnsbl"),
            checked=tuple(checked),
        )
        if s.dmarc:
            result = await dmarc_check.evaluate(
                dmarc_check.domains_of(addresses),
                _spf_outcomes(report),
                [dmarc_check.DKIMOutcome(r.domain or "", r.result) for r in report.dkim],
                self.lookup,
                rand=self.rand,
            )
            report = replace(report, dmarc=result, checked=(*report.checked, "dmarc"))
        return report

    def headers(self, report: Report, content: bytes) -> bytes:
        """The fields to prepend to ``content``: Received-SPF (RFC 7208 9.1),
        Authentication-Results (RFC 8601), and an ARC set (RFC 8617 4.1)
        when ``[authn] arc_seal`` names a signing domain. Sealing hashes the
        message: call it through :attr:`run`."""
        out = b""
        if report.spf is not None:
            value = spf_check.received_spf_header(report.spf)
            out += fold_header_field("Received-SPF", value).encode()
        results = authentication_results(self.authserv_id, report.methods())
        out += f"Authentication-Results: {results}\r\n".encode()
        if self.sealer is not None and report.arc is not None:
            domain, selector, key = self.sealer
            try:
                arc_set = seal(
                    out + content,
                    domain=domain,
                    selector=selector,
                    key=key,
                    authserv_id=self.authserv_id,
                    results=results,
                    chain=report.arc,
                    clock=self.clock,
                )
            except SealError as e:  # past instance 50: forwarded, unsealed
                log.warn("arc: not sealed: {why}", why=str(e))
                arc_set = b""
            out = arc_set + out
        return out

    def strip_forged(self, content: bytes) -> bytes:
        """``content`` without Authentication-Results claiming our
        authserv-id (RFC 8601 5: a border MTA removes them first)."""
        return remove_forged(content, self.authserv_id)


def _spf_outcomes(report: Report) -> list[dmarc_check.SPFOutcome]:
    if report.spf is None:
        return []
    # RFC 7489 4.1: the MAIL FROM identity, or the HELO one for a null sender
    return [dmarc_check.SPFOutcome(report.spf.domain, report.spf.result, "mfrom")]
