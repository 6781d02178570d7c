"""Builds the service tree from settings. No protocol code lives here.

Children start in the order added and stop in reverse: the bus first up and
last down, so that every listener and ingress stops before the spool closes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.application.internet import StreamServerEndpointService, TimerService
from twisted.application.service import MultiService, Service
from twisted.cred.portal import Portal
from twisted.internet import defer, endpoints
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IReactorTime
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.threadpool import ThreadPool

from gateway.auth.realm import build_portal
from gateway.authn.work import Runner, in_pool
from gateway.bus.bus import MessageBus
from gateway.bus.local import LocalDeliveryAgent
from gateway.bus.maildrop import MaildropPickup
from gateway.bus.relay import RelayAgent
from gateway.bus.retry import RetrySchedule
from gateway.bus.router import RouteKind, Router
from gateway.bus.spool import Spool, SpoolLocked
from gateway.config import KNOWN_LISTENERS, Settings
from gateway.control import ControlFactory
from gateway.dsn.reporter import make_reporter
from gateway.envelope import Address, AddressError
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent, ILocalStore
from gateway.limits import AuthThrottle, ConnectionLimiter
from gateway.pop3.server import POP3Config, POP3Factory
from gateway.smtp import server as smtp_server
from gateway.smtp.mx import MXResolver, resolver_from
from gateway.smtp.rates import SMTPRates
from gateway.store.aliases import AliasFile
from gateway.store.deliverer import DeliveryProcess
from gateway.store.maildir import MaildirStore, maildir_path
from gateway.store.mailstore import MailStore
from gateway.store.quota import Quota, QuotaChecker, limits_from
from gateway.store.remote import MaildropServerFactory
from gateway.store.users import UserFile
from gateway.tls import CertificatePair, ensure_certificate, server_tls_factory
from gateway.web import admin_site
from gateway.workers import WorkerPool

if TYPE_CHECKING:
    from gateway.authn.inbound import InboundChecker
    from gateway.authn.signer import Signer

log = Logger()


class ThreadPoolService(Service):
    """Starts and stops a :class:`ThreadPool` with the application."""

    def __init__(self, pool: ThreadPool) -> None:
        self.pool = pool

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> None:
        super().stopService()
        self.pool.stop()


class BusService(Service):
    """Takes the spool lock before the reactor runs, so a second daemon on the
    same data directory refuses to start instead of corrupting the queue."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        try:
            self.bus.privilegedStartService()
        except SpoolLocked as e:
            raise SystemExit(f"mailgateway: cannot start: {e}") from None

    def startService(self) -> None:
        super().startService()
        self.bus.startService()

    def stopService(self) -> Any:
        super().stopService()
        return self.bus.stopService()


class ListenerService(StreamServerEndpointService):
    """A listener that fails the start when it cannot listen, and logs where it listens."""

    def __init__(self, name: str, description: str, endpoint: Any, factory: IProtocolFactory):
        super().__init__(endpoint, factory)
        self.name = name
        self.description = description
        self._raiseSynchronously = True
        self.port: IListeningPort | None = None  # once open

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        if self._waitingForPort is not None:
            self._waitingForPort.addCallback(self._opened)

    def pause(self) -> None:
        """Leave new connections to the other processes on this socket."""
        if self.port is not None:
            self.port.stopReading()  # type: ignore[attr-defined]

    def resume(self) -> None:
        if self.port is not None and self.running:
            self.port.startReading()  # type: ignore[attr-defined]

    def _opened(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        log.info(
            "listener {name} ({what}) open on {address}",
            name=self.name,
            what=self.description,
            address=_where(port),
        )
        return port


def _where(port: IListeningPort) -> str:
    host: Any = port.getHost()
    if hasattr(host, "port"):
        return f"{host.host}:{host.port}"
    name = getattr(host, "name", host)
    return name.decode() if isinstance(name, bytes) else str(name)


class Gateway(MultiService):
    """The root service; keeps the shared parts later protocols need.

    Its children stop one after the other, the last added first, each once
    the one before has finished: the listeners, then the bus (whose running
    deliveries still use the thread pools), the pools last. Twisted's
    MultiService stops them all at once; a pool stopped under a running
    delivery drops the delivery's next step without a word (a stopped
    ThreadPool ignores new work), and the bus then waited for it forever.
    The whole stop is bounded by ``stop_timeout`` seconds: a child still
    busy then is logged and left, and the rest stop; mail already accepted
    is in the spool and is delivered after the restart.
    """

    bus: MessageBus
    portal: Portal
    router: Router
    hostname: str
    quota: QuotaChecker
    store: MailStore
    tls: Any  # the reloading server TLS context factory
    auth_throttle: AuthThrottle
    certificate: CertificatePair
    signer: Signer | None  # DKIM signing of our users' mail ([dkim])
    run: Runner  # where DKIM and ARC hash messages (a thread pool)

    def __init__(self, clock: IReactorTime, stop_timeout: float = 30.0) -> None:
        super().__init__()
        self.clock = clock
        self.stop_timeout = stop_timeout

    def stopService(self) -> Deferred[None]:
        Service.stopService(self)
        return defer.ensureDeferred(self._stop_children())

    async def _stop_children(self) -> None:
        deadline = self.clock.seconds() + self.stop_timeout
        for child in reversed(list(self)):
            stopping = defer.maybeDeferred(child.stopService)
            stopping.addTimeout(max(0.0, deadline - self.clock.seconds()), self.clock)
            try:
                await stopping
            except defer.TimeoutError:
                log.error(
                    "stop: {service} still busy after {timeout:g} s (server.stop_timeout); "
                    "stopping the rest anyway, accepted mail stays queued",
                    service=_service_name(child),
                    timeout=self.stop_timeout,
                )
            except Exception:
                log.failure("stop: {service} failed to stop", service=_service_name(child))


def _service_name(service: Any) -> str:
    name = getattr(service, "name", None)
    return f"{type(service).__name__} {name}" if name else type(service).__name__


def build(settings: Settings, reactor: Any = None) -> Gateway:
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    root = Gateway(reactor, settings.stop_timeout)
    root.hostname = settings.hostname
    _prepare_data_dir(settings)
    root.certificate = ensure_certificate(settings.tls, settings.tls_dir, settings.hostname)
    if root.certificate.generated:
        log.warn(
            "no TLS certificate configured: generated a self-signed one for {host} "
            "in {path} (set [tls] certificate and key to use your own)",
            host=settings.hostname,
            path=str(root.certificate.certificate),
        )

    users = UserFile(settings.users_file)
    aliases = AliasFile(settings.aliases_file)
    root.portal = build_portal(users, settings.mail_dir)
    x400 = _x400_parts(settings, reactor)
    root.router = Router(
        settings.local_domains,
        users,
        aliases,
        settings.delivery.max_alias_depth,
        x400=x400.routes if x400 is not None else None,
    )

    pool = ThreadPool(minthreads=2, maxthreads=8, name="maildir")
    ThreadPoolService(pool).setServiceParent(root)
    # DKIM/ARC hashing of whole messages, off the reactor thread
    authn_pool = ThreadPool(minthreads=1, maxthreads=2, name="authn")
    ThreadPoolService(authn_pool).setServiceParent(root)
    root.run = in_pool(reactor, authn_pool)
    d = settings.delivery
    root.quota = QuotaChecker(limits_from(users, Quota(d.quota_storage, d.quota_messages)))
    full = partial(_mailbox_full, root.quota, settings.mail_dir)
    # mail removed (POP3, IMAP): the quota checkers count that mailbox again
    forgetters: list[Callable[[Path], None]] = [root.quota.forget]

    def removed(maildir: Path) -> None:
        for forget in forgetters:
            forget(maildir)

    root.store = MailStore(reactor, pool, removed=removed, quota=root.quota)
    # Mail that other programs drop into a folder an IMAP session watches
    # (IDLE) is noticed within a second (RFC 2177).
    TimerService(1.0, root.store.run, root.store.poll_watched).setServiceParent(root)
    maildirs: ILocalStore
    if d.process:  # stopped after the bus (added before it), which waits for its deliveries
        delivery = DeliveryProcess(
            settings.source,
            reactor,
            settings.limits.max_message_size + (1 << 20),
            delivered=root.store.delivered,
            quota=root.quota,
            mail_dir=settings.mail_dir,
        )
        forgetters.append(delivery.forget)
        delivery.pool.setServiceParent(root)
        maildirs = delivery
    else:
        maildirs = MaildirStore(
            settings.mail_dir, reactor, pool, quota=root.quota, delivered=root.store.delivered
        )
    agents: dict[str, IDeliveryAgent] = {
        RouteKind.LOCAL: LocalDeliveryAgent(
            maildirs, settings.hostname, junk_tag=d.junk_subject_tag, junk_mode=users.junk_mode
        ),
    }
    if settings.relay.enabled:
        mx = MXResolver(resolver_from(settings.dns, reactor), reactor, settings.relay.bad_host_ttl)
        relay = RelayAgent(settings.relay, mx, reactor, settings.hostname)
        agents[RouteKind.SMTP] = relay
        # parked connections say QUIT when the gateway stops
        reactor.addSystemEventTrigger("before", "shutdown", relay.cache.close)
    if x400 is not None and x400.agent is not None:
        agents[RouteKind.X400] = x400.agent
        # parked associations are released when the gateway stops
        reactor.addSystemEventTrigger("before", "shutdown", x400.agent.pool.close)
    q = settings.queue
    root.bus = MessageBus(
        Spool(settings.queue_dir, q.segment_size),
        root.router,
        agents,
        reactor,
        RetrySchedule(q.retry_first, q.retry_max, q.retry_factor, q.lifetime),
        max_deliveries=q.max_deliveries,
        history_days=q.history_days,
        reporter=make_reporter(settings.hostname, reactor.seconds),
        delay_warning=q.delay_warning,
    )
    BusService(root.bus).setServiceParent(root)
    root.signer = _signer(settings)
    sign = None
    if root.signer is not None:
        sign = partial(root.run, partial(root.signer.signed, clock=reactor))
    MaildropPickup(settings.maildrop_dir, root.bus, reactor, sign=sign).setServiceParent(root)
    judge = partial(_probe_judge, root.router, full)  # X.400 probes
    if x400 is not None:
        for poller in x400.file_pollers(root.bus, judge, settings.limits.max_message_size):
            poller.setServiceParent(root)

    settings.run_dir.mkdir(parents=True, exist_ok=True)
    control = endpoints.UNIXServerEndpoint(
        reactor, str(settings.control_socket), mode=0o600, wantPID=True
    )
    ListenerService(
        "control",
        "local admin socket",
        control,
        ControlFactory(root.bus, settings.limits.max_message_size + 65536),
    ).setServiceParent(root)

    root.tls = server_tls_factory(root.certificate, settings.tls.min_version, reactor.seconds)
    # One throttle: password guesses count across SMTP AUTH and POP3.
    root.auth_throttle = AuthThrottle(reactor, settings.smtp.auth_failure_window)
    factories: dict[str, IProtocolFactory] = {"http": admin_site(root.bus)}
    if any(kind in settings.listeners for kind in smtp_server.KINDS):
        factories.update(_smtp_factories(settings, root, reactor))
    if any(kind in settings.listeners for kind in ("pop3", "pop3s")):
        factories.update(pop3_factories(settings, ReaderParts.of(root), reactor))
    if any(kind in settings.listeners for kind in ("imap", "imaps")):
        factories.update(_imap_factories(settings, root, reactor))
    if x400 is not None and "x400" in settings.listeners:
        factories["x400"] = x400.listener(root.bus, judge, settings.limits.max_message_size)
    listeners: dict[str, ListenerService] = {}
    for name, description in settings.listeners.items():
        endpoint = endpoints.serverFromString(reactor, description)
        listeners[name] = ListenerService(name, KNOWN_LISTENERS[name], endpoint, factories[name])
        listeners[name].setServiceParent(root)
    pop3_listeners = {n: s for n, s in listeners.items() if n in ("pop3", "pop3s")}
    if settings.pop3.workers and pop3_listeners:
        _pop3_workers(settings, root, reactor, pop3_listeners)
    return root


def _pop3_workers(
    settings: Settings, root: Gateway, reactor: Any, listeners: dict[str, ListenerService]
) -> None:
    """``[pop3] workers`` processes on the POP3 listeners, with the socket
    through which they open maildrops (added after the listeners: started
    after them, stopped before them). The main process stops accepting POP3
    connections while a worker runs, and takes them again when none does."""
    socket = settings.run_dir / "maildrop.sock"
    ListenerService(
        "maildrop",
        "maildrops for the POP3 workers",
        endpoints.UNIXServerEndpoint(reactor, str(socket), mode=0o600, wantPID=True),
        MaildropServerFactory(root.store, settings.mail_dir),
    ).setServiceParent(root)

    def ports() -> dict[str, IListeningPort]:
        return {n: s.port for n, s in listeners.items() if s.port is not None}

    def alive(workers: int) -> None:
        # the main process serves POP3 only while no worker runs
        for listener in listeners.values():
            if workers:
                listener.pause()
            else:
                listener.resume()

    WorkerPool(
        "pop3-worker",
        settings.pop3.workers,
        "gateway.pop3.worker",
        ["--config", str(settings.source), "--store", str(socket)],
        ports,
        reactor,
        alive=alive,
    ).setServiceParent(root)


def _smtp_factories(
    settings: Settings, root: Gateway, reactor: Any
) -> dict[str, IProtocolFactory]:
    """One factory per SMTP listener; limits and AUTH throttling are shared."""
    smtp = settings.smtp
    tls = root.tls
    limiter = ConnectionLimiter(smtp.max_connections, smtp.max_connections_per_ip)
    throttle = root.auth_throttle
    authn, rates = _sender_checks(settings, reactor, root.run)
    factories: dict[str, IProtocolFactory] = {}
    for kind in smtp_server.KINDS:
        factory = smtp_server.SMTPFactory(
            smtp_server.SMTPConfig(
                kind=kind,
                hostname=settings.hostname,
                settings=smtp,
                max_message_size=settings.limits.max_message_size,
                bus=root.bus,
                router=root.router,
                portal=root.portal,
                clock=reactor,
                tls=tls,
                connections=limiter,
                auth_throttle=throttle,
                postmaster_domain=settings.local_domains[0],
                full=partial(_mailbox_full, root.quota, settings.mail_dir),
                authn=authn,
                rates=rates,
                signer=root.signer,
                run=root.run,
            )
        )
        # submissions: TLS from the first byte (RFC 8314 3.3)
        factories[kind] = (
            TLSMemoryBIOFactory(tls, False, factory) if kind == "submissions" else factory
        )
    return factories


def _sender_checks(
    settings: Settings, reactor: Any, run: Runner
) -> tuple[InboundChecker | None, SMTPRates | None]:
    """Sender authentication ([authn], [dnsbl]) and rate limits ([rates])
    for the SMTP listeners."""
    from gateway.authn.dns import TwistedLookup
    from gateway.authn.inbound import InboundChecker

    authn = None
    if settings.authn.enabled:
        authn = InboundChecker(
            settings.authn,
            TwistedLookup.from_settings(settings.dns, reactor),
            receiver=settings.hostname,
            clock=reactor,
            dnsbl=settings.dnsbl,
            dkim_keys=settings.dkim,
            run=run,
        )
    rates = SMTPRates(settings.rates, reactor)
    return authn, rates or None


def _signer(settings: Settings) -> Signer | None:
    """DKIM signing ([dkim]): None without keys."""
    from gateway.authn.signer import Signer

    return Signer.from_settings(settings.dkim) if settings.dkim.keys else None


def _probe_judge(
    router: Router, full: Callable[[Address], GatewayError | None], address: str
) -> tuple[str, str] | None:
    """Whether a message for ``address`` would be taken, for an X.400 probe
    (RFC 2156 5.3.9): as an SMTP RCPT from a trusted peer is judged."""
    from gateway.smtp.policy import Client, check_recipient

    try:
        rcpt = Address.parse(address)
    except AddressError as e:
        return ("5.1.3", f"not a usable address: {e}")
    refusal = check_recipient(router, rcpt, Client(None, trusted=True), full)
    if refusal is None:
        return None
    return (refusal.status or "5.0.0", " ".join(refusal.lines))


def _mailbox_full(quota: QuotaChecker, mail_dir: Path, mailbox: Address) -> GatewayError | None:
    """RCPT-time quota check of a local mailbox (452 4.2.2 when full)."""
    return quota.refusal(str(mailbox), maildir_path(mail_dir, mailbox))


@dataclass(frozen=True, slots=True)
class ReaderParts:
    """What the POP3 and IMAP listeners of one process share: the main
    process's, or a POP3 worker's (:mod:`gateway.pop3.worker`)."""

    hostname: str
    portal: Portal
    opener: Any  # the store: IMaildropOpener (POP3), IMailAccountOpener (IMAP)
    auth_throttle: AuthThrottle
    tls: Any  # the reloading server TLS context factory

    @classmethod
    def of(cls, root: Gateway) -> ReaderParts:
        return cls(root.hostname, root.portal, root.store, root.auth_throttle, root.tls)


def _reader_factories(
    parts: ReaderParts,
    names: tuple[str, str],
    limiter: ConnectionLimiter,
    reactor: Any,
    build: Callable[[dict[str, Any]], IProtocolFactory],
) -> dict[str, IProtocolFactory]:
    """The plain (STARTTLS/STLS) and implicit-TLS listeners of a mailbox
    protocol: ``build`` gets the config fields both share, and the second
    factory is wrapped in TLS from the first byte (RFC 8314 3.3)."""
    factories: dict[str, IProtocolFactory] = {}
    for name, implicit in zip(names, (False, True), strict=True):
        factory = build(
            {
                "hostname": parts.hostname,
                "portal": parts.portal,
                "opener": parts.opener,
                "clock": reactor,
                "connections": limiter,
                "auth_throttle": parts.auth_throttle,
                "tls": parts.tls,
                "implicit_tls": implicit,
            }
        )
        factories[name] = TLSMemoryBIOFactory(parts.tls, False, factory) if implicit else factory
    return factories


def pop3_factories(
    settings: Settings, parts: ReaderParts, reactor: Any
) -> dict[str, IProtocolFactory]:
    """``pop3`` (STLS offered) and ``pop3s`` (implicit TLS); limits shared
    (within the process: each POP3 worker counts its own connections)."""
    pop3 = settings.pop3

    def build(common: dict[str, Any]) -> IProtocolFactory:
        return POP3Factory(
            POP3Config(
                **common,
                trusted_networks=pop3.trusted_networks,
                apop=pop3.apop,
                max_line=pop3.max_command_line,
                timeout=pop3.autologout,
                max_errors=pop3.max_errors,
                auth_failures_before_delay=pop3.auth_failures_before_delay,
                auth_failure_delay=pop3.auth_failure_delay,
                max_auth_failures=pop3.max_auth_failures,
            )
        )

    limiter = ConnectionLimiter(pop3.max_connections, pop3.max_connections_per_ip)
    return _reader_factories(parts, ("pop3", "pop3s"), limiter, reactor, build)


def _imap_factories(
    settings: Settings, root: Gateway, reactor: Any
) -> dict[str, IProtocolFactory]:
    """``imap`` (STARTTLS offered) and ``imaps`` (implicit TLS); limits shared."""
    from gateway.imap.server import IMAPFactory
    from gateway.imap.session import IMAPConfig

    imap = settings.imap
    per_user = ConnectionLimiter(imap.max_connections * 1000, imap.max_sessions_per_user)

    def build(common: dict[str, Any]) -> IProtocolFactory:
        return IMAPFactory(
            IMAPConfig(
                **common,
                trusted_networks=imap.trusted_networks,
                user_sessions=per_user,
                max_line=imap.max_command_line,
                max_literal=imap.max_literal,
                timeout=imap.autologout,
                login_timeout=imap.login_timeout,
                idle_timeout=imap.idle_timeout,
                max_errors=imap.max_errors,
                auth_failures_before_delay=imap.auth_failures_before_delay,
                auth_failure_delay=imap.auth_failure_delay,
                max_auth_failures=imap.max_auth_failures,
            )
        )

    limiter = ConnectionLimiter(imap.max_connections, imap.max_connections_per_ip)
    return _reader_factories(ReaderParts.of(root), ("imap", "imaps"), limiter, reactor, build)


class _X400Parts:
    """The P1 side: the peers' routes, the channel out, the listener."""

    def __init__(self, settings: Settings, reactor: Any) -> None:
        from gateway.x400.context import Gateway as X400Gateway
        from gateway.x400.mapping import TableError
        from gateway.x400.p1.channel import X400Agent
        from gateway.x400.p1.routing import PeerRoutes

        self.settings = settings
        self.reactor = reactor
        x = settings.x400
        self.limits = {
            "max_depth": x.max_depth,
            "max_length": x.max_length,
            "max_total": x.max_total,
        }
        try:
            self.gateway = X400Gateway.from_settings(settings, datetime.now(UTC))
        except (TableError, OSError, ValueError) as e:
            raise SystemExit(f"mailgateway: cannot start: x400 mapping tables: {e}") from None
        self.routes: PeerRoutes | None = None
        self.agent: X400Agent | None = None
        if any((peer.host or peer.file_out) and peer.or_space for peer in x.peers.values()):
            self.routes = PeerRoutes(self.gateway, x.peers.values())
            self.agent = X400Agent(
                self.routes, reactor, max_apdu=x.max_apdu, ber_limits=self.limits
            )

    def listener(
        self, bus: MessageBus, judge: Callable[[str], tuple[str, str] | None], max_size: int
    ) -> IProtocolFactory:
        from gateway.config import parse_selector
        from gateway.x400.p1.inbound import InboundTransfers
        from gateway.x400.p1.protocol import ListenerConfig, P1ServerFactory

        x = self.settings.x400
        config = ListenerConfig(
            mta_name=self.gateway.mta_name,
            peers=tuple(x.peers.values()),
            tsap=parse_selector(x.tsap),
            max_connections=x.max_connections,
            max_apdu=x.max_apdu,
            bind_timeout=x.bind_timeout,
            idle_timeout=x.idle_timeout,
            ber_limits=self.limits,
        )
        handler = InboundTransfers(
            bus, self.gateway, self.reactor, self.limits, judge=judge, max_size=max_size
        )
        return P1ServerFactory(config, handler, self.reactor)

    def file_pollers(
        self, bus: MessageBus, judge: Callable[[str], tuple[str, str] | None], max_size: int
    ) -> list[Service]:
        """One poller per peer with a ``file_in`` directory (the file channel)."""
        from dataclasses import replace

        from gateway.x400.filechannel import FileChannelPoller

        def gateway_now() -> Any:
            return replace(self.gateway, now=datetime.fromtimestamp(self.reactor.seconds(), UTC))

        return [
            FileChannelPoller(
                peer.file_in,
                gateway_now,
                bus.submit,
                self.reactor,
                interval=peer.file_interval,
                max_size=self.settings.x400.max_apdu,
                limits=self.limits,
                judge=judge,
                max_message_size=max_size,
            )
            for peer in self.settings.x400.peers.values()
            if peer.file_in is not None
        ]


def _x400_parts(settings: Settings, reactor: Any) -> _X400Parts | None:
    """Only when P1 is configured: peers, or the ``x400`` listener (which,
    without peers, refuses every MTA-bind)."""
    if not settings.x400.peers and "x400" not in settings.listeners:
        return None
    return _X400Parts(settings, reactor)


def _prepare_data_dir(settings: Settings) -> None:
    data_dir: Path = settings.data_dir
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o750)
        log.info("created the data directory {path}", path=str(data_dir))
    for sub in (settings.queue_dir, settings.mail_dir, settings.maildrop_dir, settings.run_dir):
        sub.mkdir(parents=True, exist_ok=True, mode=0o700)
