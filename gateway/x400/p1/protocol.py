"""P1 over TCP: a thin Twisted protocol around one sans-I/O
:class:`~gateway.x400.osi.association.P1Association`.

Octets from TCP go to :meth:`P1Association.receive`; whatever the machine
queued for the peer is written after every step; its events become
Deferreds (initiator) or calls to the inbound handler (responder).  The
protocol adds only what needs a clock or a socket: timeouts and connection
limits.

- :class:`P1ClientProtocol`, the initiator: connects the transport, binds
  (``bound``), transfers one APDU at a time (:meth:`~P1ClientProtocol.transfer`
  fires when the peer confirms it, X.228 AEA), releases.  Failures are
  :class:`~gateway.errors.GatewayError` values with the RFC 3463 status a
  delivery outcome needs: ``4.4.1`` no answer (connect, bind timeout),
  ``4.7.0`` bind refused, ``4.4.2`` the connection or association broke, a
  transfer was aborted or not confirmed in time.
- :class:`P1ServerProtocol`, the responder behind the ``x400`` listener:
  accepts an MTA-bind only from a configured peer (``[x400.peers.<name>]``
  ``mta_name`` and ``password``, compared in constant time), hands each
  transfer to the handler, and confirms it only when the handler's Deferred
  fires (the bus has the message durably); a failed handler rejects the
  transfer with its reason.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import endpoints
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.config import X400Peer, parse_selector
from gateway.errors import GatewayError
from gateway.x400.osi.association import (
    Aborted,
    AssociationConfig,
    BindRefused,
    BindRequested,
    Bound,
    Credentials,
    Event,
    P1Association,
    ProtocolError,
    Released,
    TransferAborted,
    TransferConfirmed,
    TransferReceived,
    TransportConnected,
)

__all__ = [
    "CLOSE_GRACE",
    "ListenerConfig",
    "P1ClientFactory",
    "P1ClientProtocol",
    "P1ServerFactory",
    "P1ServerProtocol",
    "TransferHandler",
    "TransferRefused",
    "client_config",
    "connect",
    "open_association",
]

log = Logger()

#: After our last octets (abort, release, refusal) the peer has this long to
#: close; then the TCP connection is cut.
CLOSE_GRACE = 10.0


class TransferRefused(Exception):
    """The handler's answer to a transfer it will not take: the peer gets
    a transfer abort with ``reason`` (X.228 RT-U-ABORT / activity discard)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: Inbound: (peer, APDU octets, where the peer connected from) -> a Deferred
#: that fires when the APDU is safe (the transfer is then confirmed) or
#: fails with :class:`TransferRefused` (or anything else: refused too).
TransferHandler = Callable[[X400Peer, bytes, str], "Deferred[None]"]


def _where(address: IAddress) -> str:
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    return f"{host}:{port}" if host is not None else str(address)


def client_config(peer: X400Peer, max_apdu: int, ber_limits: dict[str, int]) -> AssociationConfig:
    """The association parameters of ``peer`` (outbound)."""
    return AssociationConfig(
        called_tsap=parse_selector(peer.tsap),
        called_ssap=parse_selector(peer.ssap),
        called_psap=parse_selector(peer.psap),
        checkpoint_size=peer.checkpoint_size,
        window_size=peer.window_size,
        dialogue_mode="twa" if peer.dialogue_mode == "twa" else "monologue",
        max_apdu=max_apdu,
        ber_limits=dict(ber_limits),
    )


class _P1Protocol(Protocol):
    """What both roles share: feeding the machine, writing its output,
    timers, closing."""

    association: P1Association
    clock: IReactorTime
    peer_address = "?"

    def __init__(self) -> None:
        self._timers: dict[str, IDelayedCall] = {}
        self.connected_ = False
        self.closing = False

    # -- plumbing

    @property
    def _transport(self) -> Any:
        return self.transport

    def connectionMade(self) -> None:
        self.connected_ = True
        self.peer_address = _where(self._transport.getPeer())

    def dataReceived(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            events = self.association.receive(data)
        except ValueError as e:  # the machine promises ProtocolError; be safe anyway
            events = [ProtocolError(f"{type(e).__name__}: {e}")]
            self.association.abort(str(e))
        self.flush()
        for event in events:
            self.event(event)
            self.flush()
        if self.association.closed:
            self.close()

    def flush(self) -> None:
        data = self.association.data_to_send()
        if data and self.connected_:
            self._transport.write(data)

    def drain(self) -> None:
        """After a service call (accept_bind, confirm, reject_transfer...):
        send what it queued and handle the events it caused."""
        self.flush()
        for event in self.association.events():
            self.event(event)
            self.flush()

    def event(self, event: Event) -> None:
        raise NotImplementedError

    def start_timer(self, name: str, seconds: float, expired: Callable[[], None]) -> None:
        self.stop_timer(name)
        self._timers[name] = self.clock.callLater(seconds, self._expired, name, expired)

    def stop_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None and timer.active():
            timer.cancel()

    def _expired(self, name: str, expired: Callable[[], None]) -> None:
        self._timers.pop(name, None)
        expired()

    def close(self) -> None:
        """Flush what the machine queued, then close; cut the connection
        if the peer does not let go within :data:`CLOSE_GRACE`."""
        self.flush()
        if not self.connected_ or self.closing:
            return
        self.closing = True
        self._transport.loseConnection()
        self.start_timer("close", CLOSE_GRACE, self._cut)

    def abort(self, reason: str) -> None:
        """Abort the association (RTAB/ABRT/AB + DR) and close."""
        with contextlib.suppress(ValueError):  # already over
            self.association.abort(reason)
        self.close()

    def _cut(self) -> None:
        if self.connected_:
            self._transport.abortConnection()

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        self.connected_ = False
        for name in list(self._timers):
            self.stop_timer(name)
        for event in self.association.connection_lost():
            self.event(event)


# -- initiator -------------------------------------------------------------------


def _no_answer(text: str) -> GatewayError:
    return GatewayError(451, "4.4.1", text)


def _broken(text: str) -> GatewayError:
    return GatewayError(451, "4.4.2", text)


class P1ClientProtocol(_P1Protocol):
    """The initiator of one association to ``peer``.

    ``bound`` fires with the responder's MTA name once the MTA-bind
    succeeded (or fails with a :class:`GatewayError`); :meth:`transfer`
    sends one APDU and fires when it is confirmed; :meth:`release` ends the
    association in order.  ``lost`` fires when the TCP connection is gone."""

    def __init__(self, peer: X400Peer, association: P1Association, clock: IReactorTime) -> None:
        super().__init__()
        self.peer = peer
        self.association = association
        self.clock = clock
        self.bound: Deferred[str] = Deferred()
        self.lost: Deferred[None] = Deferred()
        self.peer_name: str | None = None
        self._transfers: dict[int, Deferred[None]] = {}
        self._releasing: Deferred[None] | None = None
        self._bound = False
        self._why: GatewayError | None = None  # why the association ended early
        self.released = False  # ended by an orderly release (X.227 RLRQ/RLRE)

    @property
    def alive(self) -> bool:
        """Bound, connected, not ending: fit for another transfer."""
        return self._bound and self.connected_ and not self.closing and self._releasing is None

    @property
    def idle(self) -> bool:
        return self.alive and not self._transfers

    def connectionMade(self) -> None:
        super().connectionMade()
        self.association.connect()
        self.flush()
        self.start_timer("bind", self.peer.bind_timeout, self._bind_timeout)

    def _bind_timeout(self) -> None:
        self._fail_bind(
            _no_answer(
                f"X.400 MTA {self.peer.mta_name} ({self.peer_address}) did not complete "
                f"the MTA-bind within {self.peer.bind_timeout:g}s"
            )
        )
        self.abort("bind timeout")

    def _fail_bind(self, error: GatewayError) -> None:
        self.stop_timer("bind")
        self._why = self._why or error
        if not self.bound.called:
            self.bound.errback(error)

    def event(self, event: Event) -> None:
        peer = self.peer.mta_name
        if isinstance(event, TransportConnected):
            return
        if isinstance(event, Bound):
            self.stop_timer("bind")
            self._bound = True
            self.peer_name = event.peer_name
            if not self.bound.called:
                self.bound.callback(event.peer_name)
        elif isinstance(event, BindRefused):
            self._fail_bind(
                GatewayError(
                    451, "4.7.0", f"X.400 MTA {peer} refused the MTA-bind: {event.reason}"
                )
            )
            self.close()
        elif isinstance(event, TransferConfirmed):
            self.stop_timer(f"transfer {event.transfer_id}")
            d = self._transfers.pop(event.transfer_id, None)
            if d is not None:
                d.callback(None)
        elif isinstance(event, TransferAborted):
            self.stop_timer(f"transfer {event.transfer_id}")
            d = self._transfers.pop(event.transfer_id, None)
            if d is not None:
                d.errback(_broken(f"X.400 MTA {peer} aborted the transfer: {event.reason}"))
        elif isinstance(event, Released):
            self.released = True
            self._end(_broken(f"X.400 MTA {peer}: the association was released"))
            self.close()
        elif isinstance(event, Aborted | ProtocolError):
            what = "protocol error" if isinstance(event, ProtocolError) else "aborted"
            log.warn(
                "x400: association to {peer} ({address}) {what}: {reason}",
                peer=peer,
                address=self.peer_address,
                what=what,
                reason=event.reason,
            )
            self._end(_broken(f"X.400 MTA {peer}: association {what}: {event.reason}"))
            self.close()

    def _end(self, error: GatewayError) -> None:
        """Fail whatever still waits (a release waiting is done)."""
        self._bound = False
        self._fail_bind(error)
        transfers, self._transfers = self._transfers, {}
        for tid, d in transfers.items():
            self.stop_timer(f"transfer {tid}")
            d.errback(error)
        releasing, self._releasing = self._releasing, None
        if releasing is not None and not releasing.called:
            self._releasing = None
            releasing.callback(None)

    def transfer(self, apdu: bytes) -> Deferred[None]:
        """Send one MTS-APDU; fires when the peer confirmed it (AEA)."""
        if not self.alive:
            return _failed(self._why or _broken(f"X.400 MTA {self.peer.mta_name}: not bound"))
        try:
            tid = self.association.transfer(apdu)
        except ValueError as e:  # not our turn, busy, too large...
            return _failed(_broken(f"X.400 MTA {self.peer.mta_name}: cannot transfer: {e}"))
        d: Deferred[None] = Deferred()
        self._transfers[tid] = d
        self.start_timer(f"transfer {tid}", self.peer.transfer_timeout, self._transfer_timeout)
        self.flush()
        return d

    def _transfer_timeout(self) -> None:
        self._end(
            _broken(
                f"X.400 MTA {self.peer.mta_name} did not confirm the transfer within "
                f"{self.peer.transfer_timeout:g}s"
            )
        )
        self.abort("transfer timeout")

    def release(self) -> Deferred[None]:
        """Release the association (RLRQ/RLRE, then DR); fires when it is
        over, however it ends."""
        if self._releasing is not None:
            return self._releasing
        d: Deferred[None] = Deferred()
        if not self.connected_:
            d.callback(None)
            return d
        self._releasing = d
        if not self._bound:
            self.abort("released before the bind")
            return d
        try:
            self.association.release()
        except ValueError:
            self.abort("release")
            return d
        self.flush()
        self.start_timer("release", self.peer.bind_timeout, lambda: self.abort("release timeout"))
        return d

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        peer = self.peer.mta_name
        why = reason.getErrorMessage()
        if not self._bound and not self.bound.called:
            error = _broken(f"X.400 MTA {peer} closed the connection before the bind: {why}")
        else:
            error = _broken(f"connection to X.400 MTA {peer} lost: {why}")
        self._end(self._why or error)
        super().connectionLost(reason)
        if not self.lost.called:
            self.lost.callback(None)


def _failed(error: GatewayError) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    d.errback(error)
    return d


class P1ClientFactory(Factory):
    noisy = False  # the channel logs each association itself

    def __init__(
        self, peer: X400Peer, local: Credentials, config: AssociationConfig, clock: IReactorTime
    ) -> None:
        self.peer = peer
        self.local = local
        self.config = config
        self.clock = clock

    def buildProtocol(self, addr: object) -> P1ClientProtocol:
        association = P1Association(
            "initiator",
            self.local,
            self.config,
            peer=Credentials(self.peer.mta_name, self.peer.password),
        )
        return P1ClientProtocol(self.peer, association, self.clock)


def connect(
    reactor: Any,
    peer: X400Peer,
    local_name: str,
    max_apdu: int,
    ber_limits: dict[str, int],
) -> Deferred[P1ClientProtocol]:
    """A TCP connection to ``peer`` with the association starting on it
    (CR sent); fails with ``4.4.1`` when the peer cannot be reached within
    its ``connect_timeout``.  Wait on the protocol's ``bound`` next."""
    local = Credentials(local_name, peer.our_password)
    factory = P1ClientFactory(peer, local, client_config(peer, max_apdu, ber_limits), reactor)
    endpoint = endpoints.HostnameEndpoint(
        reactor, peer.host, peer.port, timeout=peer.connect_timeout
    )
    d: Deferred[Any] = endpoint.connect(factory)

    def unreachable(failure: Failure) -> Failure:
        where = f"{peer.host}:{peer.port}"
        return Failure(
            _no_answer(
                f"cannot connect to X.400 MTA {peer.mta_name} at {where}: "
                f"{failure.getErrorMessage()}"
            )
        )

    d.addErrback(unreachable)
    return d


async def _open(
    reactor: Any, peer: X400Peer, local_name: str, max_apdu: int, ber_limits: dict[str, int]
) -> P1ClientProtocol:
    protocol = await connect(reactor, peer, local_name, max_apdu, ber_limits)
    await protocol.bound
    return protocol


def open_association(
    reactor: Any, peer: X400Peer, local_name: str, max_apdu: int, ber_limits: dict[str, int]
) -> Deferred[P1ClientProtocol]:
    """Connect and bind: a protocol ready for :meth:`~P1ClientProtocol.transfer`."""
    return Deferred.fromCoroutine(_open(reactor, peer, local_name, max_apdu, ber_limits))


# -- responder -------------------------------------------------------------------


@dataclass(frozen=True)
class ListenerConfig:
    """The ``x400`` listener: who we are, whom we accept, the limits."""

    mta_name: str
    peers: tuple[X400Peer, ...]
    tsap: bytes = b"x400in88"
    max_connections: int = 20
    max_apdu: int = 64 << 20
    bind_timeout: float = 60.0
    idle_timeout: float = 600.0
    ber_limits: dict[str, int] = field(default_factory=dict)


class P1ServerProtocol(_P1Protocol):
    """The responder of one inbound association."""

    def __init__(self, owner: P1ServerFactory, association: P1Association) -> None:
        super().__init__()
        self.owner = owner
        self.association = association
        self.clock = owner.clock
        self.peer: X400Peer | None = None
        self.pending = 0  # transfers handed to the handler, not yet answered
        self.counted = False

    def connectionMade(self) -> None:
        super().connectionMade()
        factory = self.owner
        if factory.active >= factory.config.max_connections:
            log.warn(
                "x400: refused a connection from {address}: {n} associations already "
                "(x400.max_connections)",
                address=self.peer_address,
                n=factory.active,
            )
            self.closing = True
            self._transport.abortConnection()
            return
        factory.active += 1
        self.counted = True
        self.start_timer("bind", factory.config.bind_timeout, self._bind_timeout)
        self._touch()

    def _bind_timeout(self) -> None:
        log.warn("x400: no MTA-bind from {address} in time; closing", address=self.peer_address)
        self.abort("bind timeout")

    def _touch(self) -> None:
        if self.pending == 0 and self.connected_ and not self.closing:
            self.start_timer("idle", self.owner.config.idle_timeout, self._idle_timeout)

    def _idle_timeout(self) -> None:
        log.info(
            "x400: association from {peer} ({address}) idle too long; aborting",
            peer=self.peer.mta_name if self.peer else "?",
            address=self.peer_address,
        )
        self.abort("idle timeout")

    def dataReceived(self, data: bytes) -> None:
        self._touch()
        super().dataReceived(data)

    def event(self, event: Event) -> None:
        if isinstance(event, TransportConnected | Bound):
            return
        if isinstance(event, BindRequested):
            self._bind(event.mta_name, event.password)
        elif isinstance(event, TransferReceived):
            self._received(event.transfer_id, event.apdu)
        elif isinstance(event, Released):
            log.info(
                "x400: association from {peer} ({address}) released",
                peer=self.peer.mta_name if self.peer else "?",
                address=self.peer_address,
            )
            # the initiator now sends DR and closes (X.225 7.6); if it does
            # not within the grace time, close anyway
            self.stop_timer("idle")
            self.start_timer("close", CLOSE_GRACE, self.close)
        elif isinstance(event, Aborted | ProtocolError):
            what = "protocol error" if isinstance(event, ProtocolError) else "aborted"
            log.warn(
                "x400: association from {peer} ({address}) {what}: {reason}",
                peer=self.peer.mta_name if self.peer else "?",
                address=self.peer_address,
                what=what,
                reason=event.reason,
            )
            self.close()

    def _bind(self, name: str, password: str | bytes) -> None:
        peer, why = self.owner.authenticate(name, password)
        if peer is None:
            log.warn(
                "x400: refused MTA-bind from {address} as {name!r}: {why}",
                address=self.peer_address,
                name=name,
                why=why,
            )
            self.association.refuse_bind("authentication-error")
            self.close()
            return
        self.stop_timer("bind")
        self.peer = peer
        # our MTABindResult names us with the password this peer expects
        self.association.accept_bind(Credentials(self.owner.config.mta_name, peer.our_password))
        self.drain()
        log.info(
            "x400: MTA {name} (peer {peer}) bound from {address}",
            name=name,
            peer=peer.name,
            address=self.peer_address,
        )

    def _received(self, tid: int, apdu: bytes) -> None:
        peer = self.peer
        if peer is None:  # the machine does not deliver transfers before the bind
            self.abort("transfer before bind")
            return
        self.pending += 1
        self.stop_timer("idle")
        try:
            d = self.owner.handler(peer, apdu, self.peer_address)
        except Exception as e:  # a handler must not break the association
            d = _failed_any(e)
        d.addCallbacks(self._safe, self._refused, callbackArgs=(tid,), errbackArgs=(tid,))

    def _safe(self, _: object, tid: int) -> None:
        self.pending -= 1
        self._touch()
        if not self.connected_ or self.closing:
            # In the bus, yet never confirmed: the peer will send it again.
            log.warn(
                "x400: transfer {tid} from {address} queued, but the association ended "
                "before it could be confirmed (the peer may send it again)",
                tid=tid,
                address=self.peer_address,
            )
            return
        self.association.confirm(tid)
        self.drain()

    def _refused(self, failure: Failure, tid: int) -> None:
        self.pending -= 1
        self._touch()
        error = failure.value
        if isinstance(error, TransferRefused):
            reason = error.reason
        elif isinstance(error, GatewayError):
            reason = str(error)
        else:
            log.failure("x400: inbound transfer handler broke", failure)
            reason = "451 4.3.0 internal error, try again later"
        log.info(
            "x400: transfer {tid} from {address} rejected: {reason}",
            tid=tid,
            address=self.peer_address,
            reason=reason,
        )
        if self.connected_ and not self.closing:
            self.association.reject_transfer(tid, reason)
            self.drain()

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        super().connectionLost(reason)
        if self.counted:
            self.counted = False
            self.owner.active -= 1


def _failed_any(error: Exception) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    d.errback(Failure(error))
    return d


class P1ServerFactory(Factory):
    """The ``x400`` listener's factory."""

    noisy = False  # the listener is logged once by the service

    def __init__(
        self, config: ListenerConfig, handler: TransferHandler, clock: IReactorTime
    ) -> None:
        self.config = config
        self.handler = handler
        self.clock = clock
        self.active = 0
        self._by_name = {peer.mta_name.casefold(): peer for peer in config.peers}

    def authenticate(self, name: str, password: str | bytes) -> tuple[X400Peer | None, str]:
        """The peer ``name`` is, if ``password`` is its ``password`` (MTA names
        compared without case; passwords byte for byte, in constant time)."""
        given = password.encode("utf-8") if isinstance(password, str) else password
        peer = self._by_name.get(name.casefold())
        expected = peer.password.encode("utf-8") if peer is not None else b"\x00" * 16
        same = hmac.compare_digest(given, expected)
        if peer is None:
            return None, "unknown MTA name"
        if not peer.password:
            return None, "a file channel peer (no password): it may not bind"
        if not same:
            return None, "wrong password"
        return peer, ""

    def association_config(self) -> AssociationConfig:
        c = self.config
        return AssociationConfig(
            called_tsap=c.tsap, max_apdu=c.max_apdu, ber_limits=dict(c.ber_limits)
        )

    def buildProtocol(self, addr: object) -> P1ServerProtocol:
        association = P1Association(
            "responder", Credentials(self.config.mta_name, ""), self.association_config()
        )
        return P1ServerProtocol(self, association)
