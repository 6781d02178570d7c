"""The bus sends the DSNs bus/notify.py calls for, from <> to the sender."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from gateway.bus.bus import MessageBus
from gateway.bus.notify import ReportLine
from gateway.bus.state import MessageState
from gateway.envelope import Address, Envelope, Origin, Recipient
from tests.bus.test_bus import CONTENT, OK, SOFT, BusHarness


class NotifyTests(BusHarness):
    def make_bus(
        self, segment_size: int = 1 << 20, agent: Any = None, **options: Any
    ) -> MessageBus:
        self.reports: list[tuple[str, str, list[ReportLine], bytes]] = []

        def reporter(
            state: MessageState, kind: str, lines: list[ReportLine], content: bytes
        ) -> tuple[Envelope, bytes]:
            self.reports.append((state.qid, kind, lines, content))
            assert state.envelope.sender is not None
            envelope = Envelope(None, (Recipient(state.envelope.sender),), Origin("bus"))
            return envelope, b"Subject: report %s\r\n\r\n%s\r\n" % (
                kind.encode(),
                state.qid.encode(),
            )

        return super().make_bus(
            segment_size, agent, reporter=reporter, delay_warning=3600, **options
        )

    @inlineCallbacks
    def test_unknown_user_gets_a_failure_report_to_the_sender(self) -> Any:
        qid = yield self.bus.submit(
            Envelope(
                Address.parse("alice@example.test"),
                (Recipient(Address.parse("nobody@example.test")),),
                Origin("test"),
            ),
            CONTENT,
        )
        yield self.settle(lambda: len(self.agent.jobs) == 1)
        ((reported, kind, lines, content),) = self.reports
        self.assertEqual((reported, kind, content), (qid, "failed", CONTENT))
        self.assertEqual(
            [(str(line.final), line.status) for line in lines], [("nobody@example.test", "5.1.1")]
        )
        (job,) = self.agent.jobs  # the report, delivered to alice from <>
        self.assertIsNone(job.envelope.sender)
        self.assertEqual([str(t.address) for t in job.targets], ["alice@example.test"])
        self.assertIn(qid.encode(), job.content)

    @inlineCallbacks
    def test_delay_notice_once_then_nothing_until_final(self) -> Any:
        self.agent.script = lambda t: SOFT if str(t.address) == "bob@example.test" else OK
        sender = Envelope(
            Address.parse("alice@example.test"),
            (Recipient(Address.parse("bob@example.test")),),
            Origin("test"),
        )
        qid = yield self.bus.submit(sender, CONTENT)
        yield self.settle(lambda: len(self.agent.jobs) == 1)
        self.assertEqual(self.reports, [])  # first deferral: too early for a notice
        for _ in range(6):  # retries over more than an hour
            self.clock.advance(3600)
            yield self.settle(lambda: not self.bus.messages[qid].busy)
        kinds = [kind for _q, kind, _l, _c in self.reports]
        self.assertEqual(kinds, ["delayed"])
        self.assertTrue(self.bus.messages[qid].state.recipients[0].warned)

    @inlineCallbacks
    def test_nothing_for_a_null_sender(self) -> Any:
        yield self.bus.submit(
            Envelope(None, (Recipient(Address.parse("nobody@example.test")),), Origin("test")),
            CONTENT,
        )
        yield self.settle(lambda: not self.bus.messages)
        self.assertEqual(self.reports, [])

    @inlineCallbacks
    def test_a_report_from_elsewhere_is_noted_against_the_original(self) -> Any:
        from tests.bus.test_incoming import REPORT

        yield self.bus.submit(
            Envelope(None, (Recipient(Address.parse("alice@example.test")),), Origin("smtp")),
            REPORT,
        )
        yield self.settle(lambda: not self.bus.messages)
        self.assertEqual(self.events("6615F0000ABCD0000"), ["reported"])

    @inlineCallbacks
    def test_a_report_decided_before_a_crash_is_queued_at_restart(self) -> Any:
        submit = self.bus.submit
        lost: list[str] = []

        def crashing_submit(envelope: Envelope, content: bytes, qid: str | None = None) -> Any:
            if qid is not None and "N" in qid:  # the report: "crash" before it is queued
                lost.append(qid)
                return Deferred()
            return submit(envelope, content, qid)

        self.bus.submit = crashing_submit  # type: ignore[method-assign]
        qid = yield self.bus.submit(
            Envelope(
                Address.parse("alice@example.test"),
                (Recipient(Address.parse("nobody@example.test")),),
                Origin("test"),
            ),
            CONTENT,
        )
        yield self.settle(lambda: bool(lost))
        self.assertEqual(self.agent.jobs, [])  # no report delivered
        self.assertIn(qid, self.bus.messages)  # kept: a report is pending
        yield self.bus.stopService()

        self.bus = self.make_bus()  # restart over the same spool
        yield self.settle(lambda: len(self.agent.jobs) == 1)
        (job,) = self.agent.jobs
        self.assertIsNone(job.envelope.sender)
        self.assertEqual(job.qid, lost[0])  # the id decided before the crash
        yield self.settle(lambda: qid not in self.bus.messages)
