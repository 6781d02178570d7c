"""The message bus: durable submission, scheduling and dispatch.

Every ingress calls :meth:`MessageBus.submit`; the returned Deferred fires
only when the message is in the journal and fsynced. From then on the bus
owns it: it routes each recipient, hands targets to delivery agents, records
every outcome as an event, retries deferred recipients on the
:class:`RetrySchedule` and forgets the message once every recipient is final.

All state changes go through the group-commit writer and are applied to the
in-memory state only once durable, so what the bus believes is always what
a restart would rebuild.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, fail, gatherResults, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway import errors
from gateway.bus import history, incoming, journal, notify
from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.bus.retry import RetrySchedule
from gateway.bus.router import Route, RouteKind, Router
from gateway.bus.spool import QueuedMessage, Spool, message_meta
from gateway.bus.state import MessageState, Status, apply_event
from gateway.envelope import Address, Envelope
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent, IMessageBus
from gateway.message import get_header

log = Logger()

CONTENT_CACHE_BYTES = 64 << 20
NOT_ACCEPTING = GatewayError(421, "4.3.2", "System shutting down, try again later")


#: Builds the RFC 3464 report for one kind of notification, and the envelope
#: to send it with: (state of the original, kind, its recipients, content).
Reporter = Callable[[MessageState, str, list["notify.ReportLine"], bytes], tuple[Envelope, bytes]]


class QueueIdError(KeyError):
    """No live message with that queue id."""


def new_qid_factory(now: Callable[[], float]) -> Callable[[], str]:
    """Queue ids: microseconds since the epoch and a counter, in hex (sortable)."""
    counter = itertools.count()

    def new_qid() -> str:
        return f"{int(now() * 1_000_000):013X}{next(counter) & 0xFFFF:04X}"

    return new_qid


@implementer(IMessageBus)
class MessageBus(Service):
    """The bus service: owns the spool while running."""

    def __init__(
        self,
        spool: Spool,
        router: Router,
        agents: dict[str, IDeliveryAgent],
        reactor: Any,
        schedule: RetrySchedule,
        max_deliveries: int = 20,
        history_days: int = 30,
        clock: IReactorTime | None = None,
        reporter: Reporter | None = None,
        delay_warning: float = 4 * 3600.0,
    ) -> None:
        """``reporter`` builds a delivery status notification (RFC 3464)
        for the outcomes :mod:`gateway.bus.notify` says call for one; the
        bus submits it to the original sender from ``<>``. Without one, no
        notifications are sent."""
        self.reporter = reporter
        self.delay_warning = delay_warning
        self.spool = spool
        self.router = router
        self.agents = agents
        self.reactor = reactor  # the writer thread hands results back through it
        self.clock: IReactorTime = reactor if clock is None else clock
        self.schedule = schedule
        self.max_deliveries = max_deliveries
        self.history_days = history_days
        self.messages: dict[str, QueuedMessage] = {}
        self.accepting = False
        self.writer: Any = None
        self._new_qid = new_qid_factory(self.clock.seconds)
        self._refs: dict[int, set[str]] = {}  # segment -> live qids with records in it
        self._known: dict[int, set[str]] = {}  # segment -> qids whose message is in it
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._ready: deque[str] = deque()
        self._running = 0
        self._timer: IDelayedCall | None = None
        self._idle: list[Deferred[None]] = []
        # content of new messages, kept until their first attempt to spare a read
        self._content_cache: dict[str, bytes] = {}
        self._cached_bytes = 0
        self._opened = False
        self._recovered: list[QueuedMessage] = []
        self.stats = {"submitted": 0, "delivered": 0, "deferred": 0, "failed": 0}

    # -- service -------------------------------------------------------------

    def open(self) -> None:
        """Lock the spool and recover its messages (before the reactor runs,
        so that a second daemon on the same data directory refuses to start)."""
        if self._opened:
            return
        self.spool.lock()
        recovered = self.spool.recover()
        self._opened = True
        for error in recovered.errors:
            log.error("spool recovery: {error}", error=error)
        self._known = recovered.known
        self._recovered = list(recovered.messages.values())

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        self.open()

    def startService(self) -> None:
        from gateway.bus.writer import GroupCommitWriter

        self.open()
        for message in self._recovered:
            log.info("{qid}: recovered from the spool", qid=message.qid)
        self.writer = GroupCommitWriter(
            self.spool, self.reactor, self.clock.seconds, self._rotated
        )
        self.writer.start()
        self.accepting = True
        super().startService()
        recovered, self._recovered = self._recovered, []
        for message in recovered:
            self._adopt(message)
            if message.state.reports:  # decided before a crash, maybe not queued
                self._send_reports(message, None)
        log.info("message bus started: {n} message(s) in the queue", n=len(self.messages))
        self.clock.callLater(0, self._collect_garbage)
        self._prune_history()

    def stopService(self) -> Deferred[None]:
        """Refuse new mail, let running deliveries finish, close the spool."""
        super().stopService()
        self.accepting = False
        self._ready.clear()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        d = self._wait_idle()

        def close(_: object) -> Deferred[None]:
            stopped: Deferred[None] = self.writer.stop()
            return stopped.addCallback(lambda _: self._close())

        return d.addCallback(close)

    def _close(self) -> None:
        self.spool.close()
        self._opened = False
        log.info("message bus stopped: {n} message(s) left in the queue", n=len(self.messages))

    def _wait_idle(self) -> Deferred[None]:
        if self._running == 0:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    # -- submission ----------------------------------------------------------

    def allocate_qid(self) -> str:
        """A fresh queue id, for an ingress that names the message before
        submitting it (SMTP puts it in the Received header)."""
        return self._new_qid()

    def record_refused(
        self, qid: str, envelope: Envelope, message_id: str | None, event: Mapping[str, Any]
    ) -> Deferred[None]:
        """Note in the history a message refused at the end of its data
        (nothing is queued), so ``mailgateway track`` can explain it."""
        now = self.clock.seconds()
        refused = {
            "qid": qid,
            "ev": "refused",
            "t": now,
            "message_id": message_id,
            **envelope.to_json(),
            **event,
        }
        d: Deferred[object] = self.writer.write([], [history.encode(refused)])
        done: Deferred[None] = d.addCallback(lambda _: None)
        return done

    def known(self, qid: str) -> bool:
        """True if a message with this queue id is, or was recently, in the queue."""
        return qid in self.messages or any(qid in s for s in self._known.values())

    def submit(
        self,
        envelope: Envelope,
        content: bytes,
        qid: str | None = None,
        events: Sequence[Mapping[str, Any]] = (),
    ) -> Deferred[str]:
        """Queue a message durably (see :class:`IMessageBus`).

        ``qid`` lets an ingress that may retry (the maildrop pickup) make
        submission idempotent: a queue id already known is not queued again.
        ``events`` go into the message's history after ``accepted`` (what the
        ingress checked, e.g. sender authentication), written with it.
        """
        if not self.accepting:
            return fail(NOT_ACCEPTING)
        if qid is not None and self.known(qid):
            return succeed(qid)
        qid = qid or self._new_qid()
        now = self.clock.seconds()
        state = MessageState.new(
            qid, envelope, now, len(content), get_header(content, "Message-ID")
        )
        record, content_at = journal.message_record(qid, message_meta(state), content)
        accepted = {
            "qid": qid,
            "ev": "accepted",
            "t": now,
            "message_id": state.message_id,
            "size": len(content),
            **envelope.to_json(),
        }
        lines = [history.encode(accepted)]
        lines += [history.encode({"qid": qid, "t": now, **e}) for e in events]
        if envelope.sender is None and envelope.origin.protocol != "bus":
            # a delivery report from elsewhere: note it against our original
            lines += [history.encode(e) for e in incoming.report_events(qid, content, now)]
        d = self.writer.write([record], lines)

        def durable(places: list[tuple[int, int]]) -> str:
            segment, offset = places[0]
            message = QueuedMessage(state, segment, offset + content_at, len(content), {segment})
            self._known.setdefault(segment, set()).add(qid)
            if self._cached_bytes + len(content) <= CONTENT_CACHE_BYTES:
                self._content_cache[qid] = content
                self._cached_bytes += len(content)
            self._adopt(message)
            self.stats["submitted"] += 1
            log.info(
                "{qid}: accepted from=<{sender}> rcpts={n} size={size} via {proto}",
                qid=qid,
                sender=envelope.sender or "",
                n=len(envelope.recipients),
                size=len(content),
                proto=envelope.origin.protocol,
            )
            return qid

        def failed(failure: Failure) -> Failure:
            log.error("{qid}: not queued: {why}", qid=qid, why=failure.getErrorMessage())
            return Failure(errors.SPOOL_UNAVAILABLE)

        result: Deferred[str] = d.addCallbacks(durable, failed)
        return result

    # -- bookkeeping -----------------------------------------------------------

    def _adopt(self, message: QueuedMessage) -> None:
        self.messages[message.qid] = message
        for segment in message.segments:
            self._refs.setdefault(segment, set()).add(message.qid)
        self._schedule(message)

    def _schedule(self, message: QueuedMessage) -> None:
        when = message.state.next_attempt()
        if when is None or message.state.held or message.busy:
            return
        when = max(when, message.not_before)
        if when <= self.clock.seconds():
            self._ready.append(message.qid)
            self._pump()
        else:
            heapq.heappush(self._heap, (when, next(self._seq), message.qid))
            self._arm_timer()

    def _arm_timer(self) -> None:
        if not self._heap or not self.accepting:
            return
        delay = max(self._heap[0][0] - self.clock.seconds(), 0.0)
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= self._heap[0][0]:
                return
            self._timer.cancel()
        self._timer = self.clock.callLater(delay, self._wake)

    def _wake(self) -> None:
        now = self.clock.seconds()
        while self._heap and self._heap[0][0] <= now:
            _, _, qid = heapq.heappop(self._heap)
            message = self.messages.get(qid)
            when = None if message is None else message.state.next_attempt()
            if message is not None and when is not None and max(when, message.not_before) <= now:
                self._ready.append(qid)
        self._pump()
        self._arm_timer()

    def _finish(self, message: QueuedMessage) -> None:
        self.messages.pop(message.qid, None)
        self._cached_bytes -= len(self._content_cache.pop(message.qid, b""))
        for segment in message.segments:
            self._refs.get(segment, set()).discard(message.qid)
        log.debug("{qid}: finished, removed from the queue", qid=message.qid)
        self._collect_garbage()

    def _record(self, message: QueuedMessage, events: list[dict[str, Any]]) -> Deferred[None]:
        """Make ``events`` durable, then apply them to the message's state."""
        now = self.clock.seconds()
        for event in events:
            event.setdefault("qid", message.qid)
            event.setdefault("t", now)
        d = self.writer.write(
            [journal.event_record(e) for e in events], [history.encode(e) for e in events]
        )

        def applied(places: list[tuple[int, int]]) -> None:
            for event in events:
                apply_event(message.state, event)
            for segment, _ in places:
                if segment not in message.segments:
                    message.segments.add(segment)
                    self._refs.setdefault(segment, set()).add(message.qid)

        result: Deferred[None] = d.addCallback(applied)
        return result

    # -- dispatch ------------------------------------------------------------

    def _pump(self) -> None:
        while self._ready and self._running < self.max_deliveries and self.accepting:
            message = self.messages.get(self._ready.popleft())
            if message is None or message.busy or message.state.held:
                continue
            message.busy = True
            self._running += 1
            d = maybeDeferred(self._attempt, message)
            d.addErrback(self._attempt_failed, message)
            d.addBoth(self._attempt_done, message)

    def _attempt_failed(self, failure: Failure, message: QueuedMessage) -> None:
        """An attempt broke (a bug, or the spool could not record outcomes):
        leave the message as it is on disk and try again after the first retry
        delay, not at once, so a persistent fault does not spin."""
        log.failure("{qid}: delivery attempt broke", failure, qid=message.qid)
        message.not_before = self.clock.seconds() + self.schedule.first

    def _attempt_done(self, _: object, message: QueuedMessage) -> None:
        message.busy = False
        message.recovered = False
        self._running -= 1
        if message.state.finished:
            self._finish(message)
        elif self.accepting:
            self._schedule(message)
        if self._running == 0:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)
        self._pump()

    def _plan(self, message: QueuedMessage, now: float) -> _Plan:
        """Route the due recipients: events for what is decided now, targets
        per agent, and duplicates that share another target's outcome.

        A mailbox gets one copy per message however many recipients lead
        to it (RFC 5321 3.7.x practice; sendmail and Postfix do the same):
        the first target takes the delivery, the others take its outcome.
        """
        state = message.state
        plan = _Plan()
        claimed: dict[str, int] = {
            _mailbox_key(r.route, r.address): i
            for i, r in enumerate(state.recipients)
            if r.status in (Status.DELIVERED, Status.RELAYED)
        }
        next_index = len(state.recipients)
        for index in state.due():
            rcpt = state.recipients[index]
            if rcpt.status is Status.DEFERRED and rcpt.next_attempt > now:
                continue
            resolution = self.router.resolve(rcpt.address)
            routed: list[tuple[int, Route]]
            if resolution.expanded:
                targets = [str(r.address) for r in resolution.routes]
                plan.events.append({"ev": "expanded", "rcpt": index, "targets": targets})
                routed = list(enumerate(resolution.routes, start=next_index))
                next_index += len(targets)
            else:
                routed = [(index, resolution.routes[0])]
            for target_index, route in routed:
                agent = self.agents.get(route.kind)
                if route.kind is RouteKind.REJECT or agent is None:
                    error = route.error or self._no_agent(route)
                    plan.events.append(
                        self._outcome_event(message, target_index, route.address, error, None, now)
                    )
                    continue
                key = _mailbox_key(route.kind, route.address)
                first = claimed.setdefault(key, target_index)
                if first == target_index:
                    plan.jobs.setdefault(route.kind, []).append(
                        Target(target_index, route.address)
                    )
                elif first < len(state.recipients) and state.recipients[first].status.final:
                    plan.events.append(_duplicate_event(target_index, route, first, state))
                else:
                    plan.duplicates.setdefault(first, []).append(target_index)
        return plan

    def _attempt(self, message: QueuedMessage) -> Deferred[None]:
        """Route the due recipients, run the agents, record the outcomes."""
        state = message.state
        plan = self._plan(message, self.clock.seconds())
        events = plan.events
        if not plan.jobs:
            if not events:
                return succeed(None)
            return self._record_outcomes(message, events, None)
        content = self._content(message)
        runs = [
            self._run_agent(
                self.agents[kind],
                DeliveryJob(
                    message.qid,
                    state.envelope,
                    state.accepted_at,
                    content,
                    tuple(targets),
                    message.recovered,
                ),
            )
            for kind, targets in plan.jobs.items()
        ]

        def outcomes(results: list[list[Outcome]]) -> Deferred[None]:
            done = self.clock.seconds()
            for kind, batch in zip(plan.jobs, results, strict=True):
                for outcome in batch:
                    self._add_outcome(message, kind, outcome, done, plan, events)
            return self._record_outcomes(message, events, content)

        return gatherResults(runs, consumeErrors=True).addCallback(outcomes)

    def _add_outcome(
        self,
        message: QueuedMessage,
        route: str,
        outcome: Outcome,
        now: float,
        plan: _Plan,
        events: list[dict[str, Any]],
    ) -> None:
        """The event for ``outcome``, and the same for the targets that share it."""
        event = self._outcome_from(message, outcome, now)
        event["route"] = route
        if outcome.tls is not None:
            event["tls"] = outcome.tls  # the trace says which TLS applied
        events.append(event)
        for duplicate in plan.duplicates.get(outcome.target.index, []):
            events.append({**event, "rcpt": duplicate, "duplicate_of": event["rcpt"]})

    def _record_outcomes(
        self, message: QueuedMessage, events: list[dict[str, Any]], content: bytes | None
    ) -> Deferred[None]:
        """Record the outcomes and, in the same write, the reports they call
        for (RFC 3461); then queue those reports. A crash in between leaves
        the reports pending in the journal: they are queued at restart."""
        if self.reporter is not None and notify.might_notify(message.state, events):
            state = message.state  # a copy to look ahead (errors are immutable: shared)
            preview = dataclasses.replace(
                state,
                recipients=[dataclasses.replace(r) for r in state.recipients],
                reports=dict(state.reports),
            )
            for event in events:
                apply_event(preview, event)
            events = events + notify.due_events(
                preview, events, self.clock.seconds(), self.schedule.lifetime, self.delay_warning
            )
        d = self._record(message, events)
        if self.reporter is None:
            return d
        return d.addCallback(lambda _: self._send_reports(message, content))

    def _send_reports(self, message: QueuedMessage, content: bytes | None) -> None:
        """Queue every pending report of ``message`` under its recorded id,
        then note it sent (idempotent: an id already queued is not again)."""
        state = message.state
        if not state.reports or self.reporter is None:
            return
        if content is None:
            content = self._content(message)
        for report_id, due in list(state.reports.items()):
            kind = str(due["kind"])
            lines = [notify.line_from_json(line) for line in due["lines"]]
            try:
                envelope, report = self.reporter(state, kind, lines, content)
            except Exception:
                log.failure("{qid}: cannot build the {kind} report", qid=state.qid, kind=kind)
                self._record(message, [{"ev": "report_sent", "id": report_id, "error": True}])
                continue
            d = self.submit(envelope, report, qid=report_id)
            d.addCallback(self._report_queued, message, report_id, kind)
            d.addErrback(self._not_notified, state.qid, kind)

    def _report_queued(
        self, report_qid: str, message: QueuedMessage, report_id: str, kind: str
    ) -> Deferred[None]:
        log.info(
            "{qid}: {kind} report queued as {report}",
            qid=message.qid,
            kind=kind,
            report=report_qid,
        )

        def recorded(_: None) -> None:
            if message.state.finished and not message.busy and message.qid in self.messages:
                self._finish(message)

        return self._record(message, [{"ev": "report_sent", "id": report_id}]).addCallback(
            recorded
        )

    @staticmethod
    def _not_notified(failure: Failure, qid: str, kind: str) -> None:
        log.failure("{qid}: cannot queue the {kind} report", failure, qid=qid, kind=kind)

    def _run_agent(self, agent: IDeliveryAgent, job: DeliveryJob) -> Deferred[list[Outcome]]:
        """Run one agent; if the agent itself breaks, defer all its targets."""

        def broke(failure: Failure) -> list[Outcome]:
            log.failure("{qid}: agent {agent} broke", failure, qid=job.qid, agent=agent.name)
            error = GatewayError(451, "4.3.0", f"Delivery agent {agent.name} failed")
            return [Outcome.from_error(t, error) for t in job.targets]

        try:
            d: Deferred[list[Outcome]] = agent.deliver(job)  # type: ignore[assignment]
        except Exception:
            return succeed(broke(Failure()))
        return d.addErrback(broke)

    def _content(self, message: QueuedMessage) -> bytes:
        cached = self._content_cache.pop(message.qid, None)
        if cached is not None:
            self._cached_bytes -= len(cached)
            return cached
        return self.spool.read(message.segment, message.offset, message.length)

    @staticmethod
    def _no_agent(route: Route) -> GatewayError:
        return GatewayError(
            550,
            "5.4.4",
            f"Unable to route to {route.address.domain}: no {route.kind} delivery agent "
            "is enabled on this gateway",
        )

    def _outcome_from(
        self, message: QueuedMessage, outcome: Outcome, now: float
    ) -> dict[str, Any]:
        if outcome.result in (Result.DELIVERED, Result.RELAYED):
            self.stats["delivered"] += 1
            log.info(
                "{qid}: {result} to=<{rcpt}> status={status} ({text})",
                qid=message.qid,
                result=str(outcome.result),
                rcpt=str(outcome.target.address),
                status=outcome.status,
                text=outcome.detail or outcome.text,
            )
            event = _event(
                outcome.target.index,
                outcome.target.address,
                GatewayError(outcome.code, outcome.status, outcome.text),
                outcome.detail,
            )
            event["ev"] = str(outcome.result)
            return event
        error = GatewayError(outcome.code, outcome.status, outcome.text)
        target = outcome.target
        return self._outcome_event(
            message, target.index, target.address, error, outcome.detail, now
        )

    def _outcome_event(
        self,
        message: QueuedMessage,
        index: int,
        address: Address,
        error: GatewayError,
        detail: str | None,
        now: float,
    ) -> dict[str, Any]:
        """The event for a temporary or permanent failure (expiry applied)."""
        state = message.state
        rcpt_address = str(address)
        event = _event(index, address, error, detail)
        if error.temporary:
            attempts = state.recipients[index].attempts + 1 if index < len(state.recipients) else 1
            when = self.schedule.next_attempt(now, state.accepted_at, attempts)
            if when is not None:
                self.stats["deferred"] += 1
                log.info(
                    "{qid}: deferred to=<{rcpt}> {error}; next attempt in {delay:.0f}s",
                    qid=state.qid,
                    rcpt=rcpt_address,
                    error=str(error),
                    delay=when - now,
                )
                event.update(ev="deferred", next=when)
                return event
            expired = errors.EXPIRED
            event.update(
                ev="failed",
                code=expired.code,
                status=expired.status,
                text=f"{expired.text}; last error: {error}",
            )
        else:
            event["ev"] = "failed"
        self.stats["failed"] += 1
        log.info(
            "{qid}: failed to=<{rcpt}> {code} {status} {text}",
            qid=state.qid,
            rcpt=rcpt_address,
            code=event["code"],
            status=event["status"],
            text=event["text"],
        )
        return event

    # -- administration --------------------------------------------------------

    def get(self, qid: str) -> QueuedMessage:
        try:
            return self.messages[qid]
        except KeyError:
            raise QueueIdError(qid) from None

    def admin(self, qid: str, operation: str) -> Deferred[None]:
        """``hold``, ``release``, ``retry`` or ``delete`` one message."""
        message = self.get(qid)
        event = admin_event(operation)
        d = self._record(message, [event])

        def after(_: None) -> None:
            log.info("{qid}: {op} by the administrator", qid=qid, op=operation)
            if message.state.finished and not message.busy:
                self._finish(message)
            elif operation in ("release", "retry"):
                self._schedule(message)

        return d.addCallback(after)

    # -- spool segments ------------------------------------------------------

    def _rotated(self, sealed: int) -> None:
        """A segment was sealed: move long-lived messages forward, free old ones."""
        for message in list(self.messages.values()):
            if message.busy or min(message.segments) >= sealed:
                continue
            self._relocate(message)
        self._collect_garbage()

    def _relocate(self, message: QueuedMessage) -> None:
        state = message.state
        content = self.spool.read(message.segment, message.offset, message.length)
        record, content_at = journal.message_record(message.qid, message_meta(state), content)
        snapshot = {
            "qid": message.qid,
            "ev": "snapshot",
            "t": self.clock.seconds(),
            "held": state.held,
            "recipients": [r.to_json() for r in state.recipients],
            "reports": state.reports,
            "report_count": state.report_count,
        }
        message.busy = True
        d = self.writer.write([record, journal.event_record(snapshot)], [])

        def moved(places: list[tuple[int, int]]) -> None:
            segment, offset = places[0]
            for old in message.segments:
                self._refs.get(old, set()).discard(message.qid)
            message.segment, message.offset = segment, offset + content_at
            message.segments = {segment}
            self._refs.setdefault(segment, set()).add(message.qid)
            self._known.setdefault(segment, set()).add(message.qid)
            self._collect_garbage()

        def done(result: object) -> object:
            message.busy = False
            self._schedule(message)
            return result

        d.addCallback(moved).addBoth(done).addErrback(
            lambda f: log.failure("{qid}: relocation failed", f, qid=message.qid)
        )

    def _collect_garbage(self) -> None:
        """Delete the oldest segments once no live message has a record in them.

        Only ever the oldest first: a retained message record must never
        lose the later events that finished it.
        """
        if self.writer is None:
            return
        active = self.spool.journal.active
        for segment in sorted(self._known):
            if segment >= active or self._refs.get(segment):
                break
            self._known.pop(segment, None)
            self._refs.pop(segment, None)
            self.writer.call(lambda s=segment: self.spool.journal.delete(s)).addErrback(
                lambda f: log.failure("deleting a spool segment failed", f)
            )

    def _prune_history(self) -> None:
        if self.writer is None:
            return
        now = self.clock.seconds()
        self.writer.call(lambda: self.spool.history.prune(now, self.history_days))
        if self.accepting:
            self.clock.callLater(86400, self._prune_history)


@dataclass(slots=True)
class _Plan:
    events: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, list[Target]] = field(default_factory=dict)
    duplicates: dict[int, list[int]] = field(default_factory=dict)  # first -> the others


def _event(
    index: int, address: Address, error: GatewayError, detail: str | None
) -> dict[str, Any]:
    """The fields every outcome event has: recipient, reply code, status, text."""
    event: dict[str, Any] = {"rcpt": index, "to": str(address), **error.to_json()}
    if detail:
        event["detail"] = detail
    return event


def _mailbox_key(route: str | None, address: Address) -> str:
    """Local mailboxes compare case-insensitively; remote addresses as written."""
    return address.key() if route == RouteKind.LOCAL else str(address)


def _duplicate_event(index: int, route: Route, first: int, state: MessageState) -> dict[str, Any]:
    """The outcome of a recipient whose mailbox already got this message."""
    done = state.recipients[first]
    return {
        "ev": str(done.status),
        "rcpt": index,
        "to": str(route.address),
        "route": str(route.kind),
        "code": 250,
        "status": "2.0.0",
        "text": f"Already delivered to this mailbox (recipient #{first})",
        "duplicate_of": first,
    }


ADMIN_OPERATIONS = ("hold", "release", "retry", "delete")


def admin_event(operation: str) -> dict[str, Any]:
    if operation not in ADMIN_OPERATIONS:
        raise ValueError(f"unknown queue operation: {operation}")
    return {
        "ev": {"delete": "deleted", "hold": "held", "release": "released"}.get(
            operation, operation
        )
    }


def summary(message: QueuedMessage) -> dict[str, Any]:
    """What ``mailgateway queue list`` shows of one message."""
    state = message.state
    return {
        "qid": state.qid,
        "accepted_at": state.accepted_at,
        "size": state.size,
        "sender": str(state.envelope.sender or ""),
        "held": state.held,
        "recipients": [
            {"address": str(r.address), "status": str(r.status)}
            for r in state.recipients
            if r.status is not Status.EXPANDED
        ],
    }
