"""The X.400 channel out: the delivery agent for :attr:`RouteKind.X400`.

Like the SMTP relay agent (:mod:`gateway.bus.relay`): the job's targets
are grouped per peer (the ``or_space`` their O/R address falls in,
:class:`~gateway.x400.p1.routing.PeerRoutes`), at most ``max_connections``
associations per peer are in use at once (a semaphore per peer), and an
association that is still bound after a transfer is parked for the next
one for the peer's ``idle_timeout``, then released.

Per peer, the Internet message becomes one MTS-APDU for all its recipients
(RFC 2156 5.1, :func:`~gateway.x400.translate.internet_to_message` with the
recipients' NOTIFY and the ENVID and RET of the envelope; P2 and the
``RFC-822-Headers:`` body part for a ``content_1984`` peer).  A DSN from
``<>`` (multipart/report; report-type=delivery-status) for an X.400
originator becomes an X.400 report instead (5.1.8,
:func:`~gateway.x400.reports.dsn_to_reports`), one per recipient, plus the
DSN as an IPM where 5.1.8.3 wants both.

Outcomes, per target:

- transfer confirmed (X.228 AEA): ``relayed 250 2.0.0 transferred to X.400
  MTA <name>``, the peer in the detail;
- the peer cannot be reached, refuses the bind, the association breaks or
  a transfer is aborted or not confirmed in time (even half sent: the peer
  never confirmed it, so it has not taken it over): ``deferred`` with
  ``4.4.1`` / ``4.7.0`` / ``4.4.2`` (:mod:`gateway.x400.p1.protocol`); the
  bus tries again;
- the message cannot be translated: ``failed`` with the translator's
  status (``5.4.6`` for a MIXER loop), an address that does not map
  ``5.1.3``, an APDU over ``[x400] max_apdu`` ``5.3.4``, no peer for the
  address (any more) ``5.4.4``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from twisted.internet.defer import Deferred, DeferredSemaphore, gatherResults
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from zope.interface import implementer

from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.config import X400Peer
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent
from gateway.x400.context import Gateway
from gateway.x400.filechannel import FileChannelAgent
from gateway.x400.outbound import Outgoing, outgoing
from gateway.x400.p1.protocol import P1ClientProtocol, open_association
from gateway.x400.p1.routing import PeerRoutes

__all__ = ["AssociationPool", "Opener", "X400Agent"]

log = Logger()

#: (reactor, peer, our MTA name, max APDU, BER limits) -> a bound association
Opener = Callable[[Any, X400Peer, str, int, dict[str, int]], "Deferred[P1ClientProtocol]"]

NO_PEER = GatewayError(550, "5.4.4", "Unable to route: no X.400 peer serves this address")


class AssociationPool:
    """Bound associations parked per peer between transfers."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._idle: dict[str, list[tuple[P1ClientProtocol, IDelayedCall]]] = {}

    def take(self, peer: X400Peer) -> P1ClientProtocol | None:
        parked = self._idle.get(peer.name)
        while parked:
            protocol, timer = parked.pop()
            if timer.active():
                timer.cancel()
            if protocol.idle:
                return protocol
        return None

    def park(self, peer: X400Peer, protocol: P1ClientProtocol) -> None:
        if not protocol.idle:
            protocol.release()
            return
        timer = self.clock.callLater(peer.idle_timeout, self._expire, peer.name, protocol)
        self._idle.setdefault(peer.name, []).append((protocol, timer))

    def _expire(self, name: str, protocol: P1ClientProtocol) -> None:
        self._idle[name] = [(p, t) for p, t in self._idle.get(name, []) if p is not protocol]
        protocol.release()

    def close(self) -> Deferred[list[None]]:
        """Release every parked association (the service is stopping)."""
        releases: list[Deferred[None]] = []
        for parked in self._idle.values():
            for protocol, timer in parked:
                if timer.active():
                    timer.cancel()
                releases.append(protocol.release())
        self._idle.clear()
        return gatherResults(releases, consumeErrors=True)


@implementer(IDeliveryAgent)
class X400Agent:
    name = "x400"

    def __init__(
        self,
        routes: PeerRoutes,
        reactor: Any,
        *,
        max_apdu: int = 64 << 20,
        ber_limits: dict[str, int] | None = None,
        opener: Opener = open_association,
    ) -> None:
        self.routes = routes
        self.reactor = reactor
        self.max_apdu = max_apdu
        self.ber_limits = dict(ber_limits or {})
        self.opener = opener
        self.pool = AssociationPool(reactor)
        self._slots: dict[str, DeferredSemaphore] = {}
        self._files: dict[str, FileChannelAgent] = {}

    def deliver(self, job: DeliveryJob) -> Deferred[list[Outcome]]:  # type: ignore[override]
        by_peer: dict[str, list[Target]] = {}
        peers: dict[str, X400Peer] = {}
        lost: list[Outcome] = []
        for target in job.targets:
            peer = self.routes.peer_for(target.address)
            if peer is None:
                lost.append(Outcome.from_error(target, NO_PEER))
                continue
            peers[peer.name] = peer
            by_peer.setdefault(peer.name, []).append(target)
        runs: list[Deferred[list[Outcome]]] = []
        for name, targets in by_peer.items():
            peer = peers[name]
            slots = self._slots.setdefault(name, DeferredSemaphore(peer.max_connections))
            runs.append(slots.run(self._to_peer, job, peer, targets))
        d: Deferred[list[list[Outcome]]] = gatherResults(runs, consumeErrors=True)
        return d.addCallback(lambda results: lost + [o for batch in results for o in batch])

    def _gateway(self) -> Gateway:
        return replace(
            self.routes.gateway, now=datetime.fromtimestamp(self.reactor.seconds(), UTC)
        )

    def _to_peer(
        self, job: DeliveryJob, peer: X400Peer, targets: list[Target]
    ) -> Deferred[list[Outcome]]:
        if not peer.host and peer.file_out is not None:
            return self._file_agent(peer).deliver(replace(job, targets=tuple(targets)))
        return Deferred.fromCoroutine(self._transfer_all(job, peer, targets))

    def _file_agent(self, peer: X400Peer) -> FileChannelAgent:
        """The file channel writing ``peer``'s mail (``file_out``)."""
        agent = self._files.get(peer.name)
        if agent is None:
            assert peer.file_out is not None
            agent = FileChannelAgent(
                peer.file_out, self._gateway, name=peer.name, peer_1984=peer.content_1984
            )
            self._files[peer.name] = agent
        return agent

    async def _transfer_all(
        self, job: DeliveryJob, peer: X400Peer, targets: list[Target]
    ) -> list[Outcome]:
        """Each APDU in turn (gateway.x400.outbound); its targets get its
        outcome, so a report that cannot be converted or transferred does
        not hold back the rest."""
        gw = self._gateway()
        outcomes: dict[int, Outcome] = {}
        detail = f"{peer.mta_name} ({peer.host}:{peer.port})"
        text = f"transferred to X.400 MTA {peer.mta_name}"
        for item in outgoing(job, targets, gw, peer_1984=peer.content_1984):
            error = item.error or self._too_big(item)
            if error is not None:
                log.info(
                    "{qid}: not for X.400 peer {peer}: {why}",
                    qid=job.qid,
                    peer=peer.name,
                    why=str(error),
                )
            else:
                assert item.apdu is not None
                try:
                    await self._send(peer, item.apdu)
                except GatewayError as e:
                    error = e
            for t in item.targets:
                outcomes[t.index] = (
                    Outcome.from_error(t, error)
                    if error is not None
                    else Outcome(t, Result.RELAYED, 250, "2.0.0", text, detail)
                )
        return [outcomes[t.index] for t in targets]

    def _too_big(self, item: Outgoing) -> GatewayError | None:
        if item.apdu is not None and len(item.apdu) > self.max_apdu:
            return GatewayError(
                552,
                "5.3.4",
                f"{len(item.apdu)} octets as X.400 exceed x400.max_apdu ({self.max_apdu})",
            )
        return None

    async def _send(self, peer: X400Peer, apdu: bytes) -> None:
        protocol = self.pool.take(peer)
        if protocol is None:
            protocol = await self.opener(
                self.reactor, peer, self.routes.gateway.mta_name, self.max_apdu, self.ber_limits
            )
        try:
            await protocol.transfer(apdu)
        except GatewayError:
            protocol.release()
            raise
        self.pool.park(peer, protocol)
