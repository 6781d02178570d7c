"""The SMTP relay agent: remote recipients, by MX or a configured next hop.

One transaction per destination domain (RFC 5321 3.3, up to
``max_recipients`` recipients each), hosts tried in MX order
(:mod:`gateway.smtp.mx`); a host that fails at the connection level is
marked bad and the next one is tried; the first host that answers decides
every recipient (each with its own RCPT/DATA reply). Connections to one
domain are limited to ``max_per_destination`` at once. Retries are the
bus's: temporary outcomes defer, permanent ones fail.

Successes are "relayed" when the next hop did not offer DSN (RFC 3461 4:
no further reports can be expected) and "delivered" when it did (it takes
over the reporting); the remote host goes into the outcome's detail (the
Remote-MTA of a report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, DeferredSemaphore, gatherResults
from twisted.logger import Logger
from zope.interface import implementer

from gateway.bus.agents import DeliveryJob, Outcome, Result, Target, recipient_for
from gateway.bus.connections import ConnectionCache, key_for
from gateway.config import NextHop, RelaySettings
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent
from gateway.smtp import client
from gateway.smtp.mx import MXResolver
from gateway.smtp.mx import Target as Host

log = Logger()

Relay = Callable[..., Deferred[list[client.Outcome]]]


def trust_root_from(ca_file: Path | None) -> Any:
    """The trust anchors of ``ca_file`` (PEM, one or more certificates) for
    the "verify" policy, or None for the system's (OpenSSL's platform trust)."""
    if ca_file is None:
        return None
    from twisted.internet.ssl import Certificate, trustRootFromCertificates

    pem = ca_file.read_bytes()
    marker = b"-----END CERTIFICATE-----"
    blocks = [block + marker for block in pem.split(marker) if b"BEGIN CERTIFICATE" in block]
    return trustRootFromCertificates([Certificate.loadPEM(block) for block in blocks])


@implementer(IDeliveryAgent)
class RelayAgent:
    name = "smtp"

    def __init__(
        self,
        settings: RelaySettings,
        mx: MXResolver,
        reactor: Any,
        helo_name: str,
        relay: Relay | None = None,
        cache: ConnectionCache | None = None,
    ) -> None:
        """``relay`` replaces the whole client round (tests); by default a
        parked connection to the host is reused (``cache``) when there is one."""
        self.settings = settings
        self.mx = mx
        self.reactor = reactor
        self.helo_name = helo_name
        self.cache = cache if cache is not None else ConnectionCache(reactor)
        self._trust_root = trust_root_from(settings.ca_file)
        self._relay: Relay = relay if relay is not None else self._reusing
        self._slots: dict[str, DeferredSemaphore] = {}
        # destination -> until when it is not tried again: every host of it
        # failed to answer at all (Postfix's "dead destination")
        self._dead: dict[str, float] = {}

    def deliver(self, job: DeliveryJob) -> Deferred[list[Outcome]]:  # type: ignore[override]
        by_domain: dict[str, list[Target]] = {}
        for target in job.targets:
            by_domain.setdefault(target.address.domain.lower(), []).append(target)
        runs: list[Deferred[list[Outcome]]] = []
        limit = self.settings.max_recipients
        for domain, targets in by_domain.items():
            for start in range(0, len(targets), limit):
                batch = targets[start : start + limit]
                slots = self._slots.setdefault(
                    domain, DeferredSemaphore(self.settings.max_per_destination)
                )
                runs.append(slots.run(self._domain, job, domain, batch))
        d: Deferred[list[list[Outcome]]] = gatherResults(runs, consumeErrors=True)
        return d.addCallback(lambda results: [o for batch in results for o in batch])

    # -- one destination ---------------------------------------------------------

    def _hosts(self, domain: str) -> Deferred[list[Host]]:
        hop: NextHop | None = self.settings.transports.get(domain, self.settings.smarthost)
        if hop is None:
            d = self.mx.hosts(domain)
            port = self.settings.port
            if port == 25:
                return d
            return d.addCallback(lambda hosts: [replace(h, port=port) for h in hosts])
        # A next hop's name is looked up like a domain (MX, then A/AAAA), as
        # Postfix does; "[address]" is used as it is.
        d = self.mx.hosts(hop.host)
        return d.addCallback(lambda hosts: [replace(h, port=hop.port) for h in hosts])

    def _client_settings(self, domain: str, host: Host) -> client.ClientSettings:
        s = self.settings
        policy = s.tls_policy.get(domain, s.tls)
        via_smarthost = domain in s.transports or s.smarthost is not None
        credentials = (
            (s.smarthost_user, s.smarthost_password)
            if via_smarthost and s.smarthost_user
            else None
        )
        return client.ClientSettings(
            self.helo_name,
            tls_policy=policy,
            tls_hostname=host.host,
            trust_root=self._trust_root,
            credentials=credentials,
            timeouts=client.Timeouts(
                connect=s.connect_timeout,
                greeting=s.greeting_timeout,
                command=s.command_timeout,
                mail=s.command_timeout,
                rcpt=s.command_timeout,
            ),
        )

    async def _domain(self, job: DeliveryJob, domain: str, targets: list[Target]) -> list[Outcome]:
        now = self.reactor.seconds()
        if self._dead.get(domain, 0.0) > now:
            error = GatewayError(
                451, "4.4.1", f"No host of {domain} answered recently; not tried this time"
            )
            return [Outcome.from_error(t, error) for t in targets]
        try:
            hosts = await self._hosts(domain)
        except GatewayError as e:
            return [Outcome.from_error(t, e) for t in targets]
        envelope = replace(
            job.envelope, recipients=tuple(recipient_for(job.envelope, t) for t in targets)
        )
        transaction = client.RelayTransaction.from_envelope(envelope, job.content)
        last: list[client.Outcome] = []
        for host in hosts:
            results = await self._relay(
                self.reactor,
                host.address,
                host.port,
                self._client_settings(domain, host),
                transaction,
                remote_name=host.host,
            )
            if results and not any(r.remote for r in results):
                # no answer from this host at all: mark it, try the next one
                self.mx.mark_bad(host.address)
                last = results
                continue
            return [self._outcome(t, r) for t, r in zip(targets, results, strict=True)]
        if last:  # no host answered: leave the destination alone for a while
            self._dead[domain] = now + self.settings.bad_host_ttl
            return [self._outcome(t, r) for t, r in zip(targets, last, strict=True)]
        error = GatewayError(451, "4.4.4", f"No usable host for {domain}")
        return [Outcome.from_error(t, error) for t in targets]

    def _reusing(
        self,
        reactor: Any,
        address: str,
        port: int,
        settings: client.ClientSettings,
        transaction: client.RelayTransaction,
        remote_name: str | None = None,
    ) -> Deferred[list[client.Outcome]]:
        return Deferred.fromCoroutine(
            self._reusing_round(reactor, address, port, settings, transaction, remote_name)
        )

    async def _reusing_round(
        self,
        reactor: Any,
        address: str,
        port: int,
        settings: client.ClientSettings,
        transaction: client.RelayTransaction,
        remote_name: str | None,
    ) -> list[client.Outcome]:
        """One transaction over a parked connection if there is one (a fresh
        one if that fails before any reply), else :func:`client.relay`'s way
        with the connection parked afterwards."""
        key = key_for(address, port, settings)
        protocol = self.cache.take(key)
        if protocol is not None:
            outcomes = await protocol.send(transaction)
            if any(o.remote for o in outcomes):
                self.cache.park(key, protocol)
                return outcomes
            protocol.quit()  # it went away while parked: try a new one
        try:
            protocol = await client.connect(reactor, address, port, settings, remote_name)
        except client.SessionError:
            # TLS fallback and the error outcomes are relay()'s business
            return await client.relay(reactor, address, port, settings, transaction, remote_name)
        outcomes = await protocol.send(transaction)
        self.cache.park(key, protocol)
        return outcomes

    @staticmethod
    def _outcome(target: Target, result: client.Outcome) -> Outcome:
        reply = result.reply
        text = " ".join(reply.lines)
        tls = str(result.tls) if result.tls is not None else ("none" if result.remote else None)
        if result.success:
            kind = Result.DELIVERED if result.dsn else Result.RELAYED
            return Outcome(target, kind, reply.code, result.status, text, result.remote_host, tls)
        kind = Result.DEFERRED if result.temporary else Result.FAILED
        detail = result.remote_host if result.remote else None
        return Outcome(target, kind, reply.code, result.status, text, detail, tls)
