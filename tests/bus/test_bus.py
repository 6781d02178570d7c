"""The message bus over a real spool and writer thread, with a fake clock.

Delivery agents are scripted in-test implementations of IDeliveryAgent; the
spool, journal, writer thread and router are the real ones.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.trial.unittest import TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from gateway import errors
from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.bus.bus import MessageBus
from gateway.bus.retry import RetrySchedule
from gateway.bus.router import RouteKind, Router
from gateway.bus.spool import Spool
from gateway.bus.state import Status
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent, IMessageBus
from gateway.store.aliases import AliasFile
from gateway.store.users import UserFile

OK = (Result.DELIVERED, 250, "2.0.0", "ok")
SOFT = (Result.DEFERRED, 451, "4.3.0", "mailbox busy")


@implementer(IDeliveryAgent)
class ScriptedAgent:
    """Answers each target with what ``script`` says; records every job."""

    name = "local"

    def __init__(self, script: Callable[[Target], tuple[Result, int, str, str]]) -> None:
        self.script = script
        self.jobs: list[DeliveryJob] = []
        self.gate: Deferred[None] | None = None

    def deliver(self, job: DeliveryJob) -> Deferred[list[Outcome]]:
        self.jobs.append(job)
        outcomes = [Outcome(t, *self.script(t)) for t in job.targets]
        if self.gate is not None:
            return self.gate.addCallback(lambda _: outcomes)
        return succeed(outcomes)


def envelope(*rcpts: str, sender: str | None = "sender@remote.test") -> Envelope:
    return Envelope(
        None if sender is None else Address.parse(sender),
        tuple(Recipient(Address.parse(r)) for r in rcpts),
        Origin("test"),
    )


CONTENT = b"Message-ID: <m1@remote.test>\r\nSubject: hi\r\n\r\nhello\r\n"


class BusHarness(TestCase):
    """A bus over a real spool with a scripted agent; no tests of its own."""

    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir()
        (self.dir / "users").write_text("alice@example.test:{PLAIN}x\nbob@example.test:{PLAIN}x\n")
        (self.dir / "aliases").write_text(
            "team@example.test alice@example.test, bob@example.test\n"
        )
        self.clock = task.Clock()
        self.clock.advance(1_800_000_000)
        self.agent = ScriptedAgent(lambda t: OK)
        self.bus = self.make_bus()

    def make_bus(
        self, segment_size: int = 1 << 20, agent: Any = None, **options: Any
    ) -> MessageBus:
        """``options``: more MessageBus keywords (reporter, delay_warning...)."""
        router = Router(
            ("example.test",), UserFile(self.dir / "users"), AliasFile(self.dir / "aliases")
        )
        bus = MessageBus(
            Spool(self.dir / "queue", segment_size),
            router,
            {RouteKind.LOCAL: agent or self.agent},
            reactor,
            RetrySchedule(first=300, maximum=3600, factor=2, lifetime=86400),
            clock=self.clock,
            **options,
        )
        bus.startService()
        self.addCleanup(lambda: bus.stopService() if bus.running else None)
        return bus

    def settle(self, predicate: Callable[[], bool]) -> Deferred[None]:
        """Let the writer thread's results reach the reactor until ``predicate``."""

        @inlineCallbacks
        def poll() -> Any:
            for _ in range(2000):
                if predicate():
                    return
                yield task.deferLater(reactor, 0.005, lambda: None)
            self.fail("condition not reached")

        return poll()

    def events(self, qid: str) -> list[str]:
        from gateway.bus.history import find_message

        return [e["ev"] for e in find_message(self.dir / "queue" / "history", qid)[qid]]


class BusTests(BusHarness):
    def test_provides_interface(self) -> None:
        self.assertTrue(verifyObject(IMessageBus, self.bus))

    @inlineCallbacks
    def test_submit_is_durable_before_it_fires(self) -> Any:
        released = threading.Event()
        commit = self.bus.spool.commit

        def slow_commit(*args: Any) -> Any:
            released.wait(10)
            return commit(*args)

        self.bus.spool.commit = slow_commit  # type: ignore[method-assign]
        d = self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertFalse(d.called, "acknowledged before the write was done")
        released.set()
        qid = yield d
        # what another process reads from disk now has the message
        reader = Spool(self.dir / "queue", 1 << 20)
        found = reader.journal.segments()
        data = b"".join(reader.journal.read_segment(n) for n in found)
        self.assertIn(qid.encode(), data)
        self.assertIn(CONTENT, data)

    @inlineCallbacks
    def test_delivers_and_forgets(self) -> Any:
        qid = yield self.bus.submit(envelope("alice@example.test", "bob@example.test"), CONTENT)
        yield self.settle(lambda: qid not in self.bus.messages)
        (job,) = self.agent.jobs
        self.assertEqual(
            [str(t.address) for t in job.targets], ["alice@example.test", "bob@example.test"]
        )
        self.assertEqual(job.content, CONTENT)
        self.assertFalse(job.recovered)
        self.assertEqual(self.events(qid), ["accepted", "delivered", "delivered"])

    @inlineCallbacks
    def test_concurrent_submissions_share_fsyncs(self) -> Any:
        ds = [self.bus.submit(envelope("alice@example.test"), CONTENT) for _ in range(200)]
        from twisted.internet.defer import gatherResults

        qids = yield gatherResults(ds)
        self.assertEqual(len(set(qids)), 200)
        self.assertLess(self.bus.writer.batches, 200)

    @inlineCallbacks
    def test_unknown_user_and_remote_fail_without_agent(self) -> Any:
        qid = yield self.bus.submit(
            envelope("nobody@example.test", "someone@remote.test"), CONTENT
        )
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(self.agent.jobs, [])
        from gateway.bus.history import find_message

        failed = [
            e
            for e in find_message(self.dir / "queue" / "history", qid)[qid]
            if e["ev"] == "failed"
        ]
        self.assertEqual(
            [(e["to"], e["code"], e["status"]) for e in failed],
            [("nobody@example.test", 550, "5.1.1"), ("someone@remote.test", 550, "5.4.4")],
        )

    @inlineCallbacks
    def test_alias_expansion(self) -> Any:
        qid = yield self.bus.submit(envelope("team@example.test", "alice@example.test"), CONTENT)
        yield self.settle(lambda: qid not in self.bus.messages)
        (job,) = self.agent.jobs
        # the alias is recipient 0; its targets are appended as 2 (alice) and
        # 3 (bob); alice's mailbox gets one copy for recipients 1 and 2
        self.assertEqual(
            sorted(str(t.address) for t in job.targets), ["alice@example.test", "bob@example.test"]
        )
        self.assertEqual(self.events(qid)[:2], ["accepted", "expanded"])
        from gateway.bus.history import find_message

        delivered = [
            e
            for e in find_message(self.dir / "queue" / "history", qid)[qid]
            if e["ev"] == "delivered"
        ]
        self.assertEqual(sorted(e["rcpt"] for e in delivered), [1, 2, 3])
        self.assertEqual(sum("duplicate_of" in e for e in delivered), 1)

    @inlineCallbacks
    def test_same_mailbox_twice_gets_one_copy_and_shares_a_deferral(self) -> Any:
        self.agent.script = lambda t: SOFT
        qid = yield self.bus.submit(
            envelope("bob@example.test", "BOB@example.test", "team@example.test"), CONTENT
        )
        yield self.settle(lambda: not self.bus.messages[qid].busy and self.agent.jobs)
        (job,) = self.agent.jobs
        self.assertEqual(
            sorted(str(t.address) for t in job.targets), ["alice@example.test", "bob@example.test"]
        )
        state = self.bus.messages[qid].state
        statuses = [r.status for r in state.recipients]
        self.assertEqual(statuses.count(Status.DEFERRED), 4)  # bob x3 (one via team), alice
        self.agent.script = lambda t: OK
        self.clock.advance(300)
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(len(self.agent.jobs[1].targets), 2)

    @inlineCallbacks
    def test_deferred_retried_on_schedule_then_delivered(self) -> Any:
        answers = [SOFT, SOFT, OK]
        self.agent.script = lambda t: answers.pop(0)
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: len(self.agent.jobs) == 1 and not self.bus.messages[qid].busy)
        rcpt = self.bus.messages[qid].state.recipients[0]
        self.assertEqual(rcpt.status, Status.DEFERRED)
        self.assertEqual(rcpt.next_attempt, self.clock.seconds() + 300)
        self.clock.advance(299)
        self.assertEqual(len(self.agent.jobs), 1)
        self.clock.advance(1)
        yield self.settle(lambda: len(self.agent.jobs) == 2 and not self.bus.messages[qid].busy)
        self.assertEqual(
            self.bus.messages[qid].state.recipients[0].next_attempt, self.clock.seconds() + 600
        )
        self.clock.advance(600)
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(self.events(qid), ["accepted", "deferred", "deferred", "delivered"])

    @inlineCallbacks
    def test_gives_up_after_lifetime_with_last_error(self) -> Any:
        self.agent.script = lambda t: SOFT
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        for _ in range(40):
            if qid not in self.bus.messages:
                break
            yield self.settle(
                lambda: qid not in self.bus.messages or not self.bus.messages[qid].busy
            )
            self.clock.advance(3600)
        yield self.settle(lambda: qid not in self.bus.messages)
        from gateway.bus.history import find_message

        last = find_message(self.dir / "queue" / "history", qid)[qid][-1]
        self.assertEqual((last["ev"], last["code"], last["status"]), ("failed", 554, "5.4.7"))
        self.assertIn("mailbox busy", last["text"])

    @inlineCallbacks
    def test_restart_resumes_unfinished_and_marks_recovered(self) -> Any:
        self.agent.script = lambda t: SOFT
        qid = yield self.bus.submit(envelope("alice@example.test", "bob@example.test"), CONTENT)
        yield self.settle(lambda: not self.bus.messages[qid].busy and self.agent.jobs)
        yield self.bus.stopService()
        agent = ScriptedAgent(lambda t: OK)
        bus2 = self.make_bus(agent=agent)
        self.assertIn(qid, bus2.messages)
        self.assertEqual(bus2.messages[qid].state.recipients[0].attempts, 1)
        self.clock.advance(300)
        yield self.settle(lambda: qid not in bus2.messages)
        (job,) = agent.jobs
        self.assertTrue(job.recovered)
        self.assertEqual(job.content, CONTENT)

    @inlineCallbacks
    def test_submission_with_known_qid_is_not_queued_twice(self) -> Any:
        self.agent.gate = Deferred()
        first = yield self.bus.submit(envelope("alice@example.test"), CONTENT, qid="DROP1")
        again = yield self.bus.submit(envelope("alice@example.test"), CONTENT, qid="DROP1")
        self.assertEqual((first, again), ("DROP1", "DROP1"))
        self.agent.gate.callback(None)
        yield self.settle(lambda: not self.bus.messages)
        self.assertEqual(len(self.agent.jobs), 1)
        # still known after it was delivered (its segment is not yet freed)
        self.assertTrue(self.bus.known("DROP1"))

    @inlineCallbacks
    def test_full_disk_is_a_temporary_failure_and_nothing_is_lost(self) -> Any:
        append = self.bus.spool.journal.append

        def full(records: list[bytes]) -> Any:
            raise OSError(errno.ENOSPC, "No space left on device")

        self.bus.spool.journal.append = full  # type: ignore[method-assign]
        failure = yield self.assertFailure(
            self.bus.submit(envelope("alice@example.test"), CONTENT), GatewayError
        )
        self.assertEqual((failure.code, failure.status), (452, "4.3.1"))
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertTrue(failure.temporary)
        self.bus.spool.journal.append = append  # type: ignore[method-assign]
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(len(self.agent.jobs), 1)

    @inlineCallbacks
    def test_history_failure_does_not_refuse_a_durable_message(self) -> Any:
        """Once the journal has it, the message is queued: saying "452, not
        queued" would make the client send it again and deliver it twice."""
        history_append = self.bus.spool.history.append

        def full(lines: list[bytes], now: float) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        self.bus.spool.history.append = full  # type: ignore[method-assign]
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        self.bus.spool.history.append = history_append  # type: ignore[method-assign]
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(len(self.agent.jobs), 1)

    @inlineCallbacks
    def test_admin_hold_release_delete(self) -> Any:
        self.agent.script = lambda t: SOFT
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: not self.bus.messages[qid].busy and self.agent.jobs)
        yield self.bus.admin(qid, "hold")
        self.clock.advance(3600)
        yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(len(self.agent.jobs), 1, "a held message was attempted")
        self.agent.script = lambda t: OK
        yield self.bus.admin(qid, "release")
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(len(self.agent.jobs), 2)
        self.agent.script = lambda t: SOFT
        qid2 = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: not self.bus.messages[qid2].busy and len(self.agent.jobs) == 3)
        yield self.bus.admin(qid2, "delete")
        self.assertNotIn(qid2, self.bus.messages)
        self.assertEqual(self.events(qid2)[-1], "deleted")

    @inlineCallbacks
    def test_old_segments_freed_and_long_lived_messages_relocated(self) -> Any:
        yield self.bus.stopService()
        self.agent.script = lambda t: SOFT if "alice" in str(t.address) else OK
        bus = self.make_bus(segment_size=200)
        stuck = yield bus.submit(envelope("alice@example.test"), CONTENT)
        for _ in range(6):
            qid = yield bus.submit(envelope("bob@example.test"), CONTENT)
            yield self.settle(lambda qid=qid: qid not in bus.messages)
        yield self.settle(lambda: not bus.messages[stuck].busy)
        segments = bus.spool.journal.segments()
        self.assertLessEqual(len(segments), 3, segments)
        self.assertGreater(min(bus.messages[stuck].segments), 1)
        yield bus.stopService()
        bus2 = self.make_bus(segment_size=200)
        state = bus2.messages[stuck].state
        self.assertEqual(state.recipients[0].status, Status.DEFERRED)
        self.assertEqual(state.recipients[0].attempts, 1)
        self.assertEqual(
            bus2.spool.read(
                bus2.messages[stuck].segment,
                bus2.messages[stuck].offset,
                bus2.messages[stuck].length,
            ),
            CONTENT,
        )

    @inlineCallbacks
    def test_stop_waits_for_running_deliveries(self) -> Any:
        self.agent.gate = Deferred()
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: bool(self.agent.jobs))
        stopped = self.bus.stopService()
        self.assertFalse(stopped.called)
        failure = yield self.assertFailure(
            self.bus.submit(envelope("alice@example.test"), CONTENT), GatewayError
        )
        self.assertTrue(failure.temporary)
        self.agent.gate.callback(None)
        yield stopped
        self.assertEqual(self.events(qid)[-1], "delivered")

    @inlineCallbacks
    def test_broken_attempt_backs_off(self) -> Any:
        resolve = self.bus.router.resolve
        calls = []

        def broken(address: Address) -> Any:
            calls.append(address)
            if len(calls) == 1:
                raise RuntimeError("users file exploded")
            return resolve(address)

        self.bus.router.resolve = broken  # type: ignore[method-assign]
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: len(calls) == 1 and not self.bus.messages[qid].busy)
        yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(len(calls), 1, "a broken attempt was retried at once")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.clock.advance(300)
        yield self.settle(lambda: qid not in self.bus.messages)
        self.assertEqual(len(self.agent.jobs), 1)

    @inlineCallbacks
    def test_agent_that_raises_defers_its_targets(self) -> Any:
        def explode(target: Target) -> Any:
            raise RuntimeError("agent bug")

        self.agent.script = explode
        qid = yield self.bus.submit(envelope("alice@example.test"), CONTENT)
        yield self.settle(lambda: not self.bus.messages[qid].busy and self.agent.jobs)
        rcpt = self.bus.messages[qid].state.recipients[0]
        self.assertEqual(
            (rcpt.status, rcpt.last.status if rcpt.last else None), (Status.DEFERRED, "4.3.0")
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_second_bus_on_same_spool_refuses(self) -> None:
        from gateway.bus.spool import SpoolLocked

        other = Spool(self.dir / "queue", 1 << 20)
        self.assertRaises(SpoolLocked, other.lock)


def test_errors_module_codes_are_consistent() -> None:
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, GatewayError):
            assert str(value.code)[0] == value.status[0]
