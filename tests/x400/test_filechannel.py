"""gateway.x400.filechannel: MTS-APDU files in and out (real files, a clock)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IReactorThreads
from twisted.logger import LogEvent
from twisted.python.threadpool import ThreadPool
from zope.interface.verify import verifyObject

from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.errors import SPOOL_UNAVAILABLE
from gateway.interfaces import IDeliveryAgent
from gateway.message import get_header
from gateway.x400 import filechannel
from gateway.x400.context import Gateway
from gateway.x400.filechannel import (
    PROBES_REFUSED,
    FileChannelAgent,
    FileChannelPoller,
    IngestError,
    file_qid,
    ingest,
)
from gateway.x400.model import IPM, Message, Probe, Receipt, Report
from gateway.x400.p1codec import decode_apdu, encode_apdu
from gateway.x400.p22codec import decode_content, encode_content
from gateway.x400.trace import EIT_MIXER, MIXER_RECEIVED_COMMENT
from gateway.x400.translate import internet_to_message
from tests.bus.test_bus import BusHarness
from tests.syncthreads import SyncPool, SyncReactor
from tests.x400.test_bodies import GW
from tests.x400.test_notifications import ipn
from tests.x400.test_reports import GW as REPORT_GW
from tests.x400.test_reports import example_1

CONTENT = b"""\
From: Alice Example <alice@example.org>
To: bob@example.test, carol@example.test
Subject: Greetings from the legacy system
Message-ID: <legacy.1@example.org>

Hello Bob.
""".replace(b"\n", b"\r\n")


def message_apdu(
    content: bytes = CONTENT,
    rcpt: tuple[str, ...] = ("bob@example.test", "carol@example.test"),
    gw: Gateway = GW,
) -> bytes:
    """An MTS-APDU as a legacy X.400 system would drop it: a P22 message."""
    envelope, ipm = internet_to_message(
        content,
        "alice@example.org",
        list(rcpt),
        gw,
        notify=[frozenset({"SUCCESS", "FAILURE"})] + [None] * (len(rcpt) - 1),
    )
    return encode_apdu(Message(envelope, encode_content(ipm)))


MESSAGE = message_apdu()
REPORT = encode_apdu(example_1())


# --- ingest -------------------------------------------------------------------------


def test_ingest_message() -> None:
    result = ingest(MESSAGE, GW)
    assert result.kind == "message"
    assert result.qid == file_qid(MESSAGE)
    env = result.envelope
    assert env.sender == Address.parse("alice@example.org")
    assert [str(r.address) for r in env.recipients] == ["bob@example.test", "carol@example.test"]
    # RFC 2156 App. A: originator report requests as NOTIFY
    assert [r.notify for r in env.recipients] == [
        frozenset({"SUCCESS", "FAILURE"}),
        frozenset({"FAILURE"}),
    ]
    assert env.origin == Origin("x400-file")
    assert env.envid is not None and env.envid.startswith("X400-MTS-Identifier: [")
    assert env.ret in ("FULL", "HDRS")
    assert env.body == "7BIT" and not env.smtputf8
    assert get_header(result.content, "Subject") == "Greetings from the legacy system"
    assert MIXER_RECEIVED_COMMENT in (get_header(result.content, "Received") or "")
    assert result.content.endswith(b"Hello Bob.\r\n")


def test_ingest_report_is_a_dsn_to_the_destination() -> None:
    result = ingest(REPORT, REPORT_GW)
    assert result.kind == "report"
    env = result.envelope
    assert env.sender is None  # RFC 3461 6.2
    assert [(str(r.address), r.notify) for r in env.recipients] == [
        ("S.Kille@cs.ucl.ac.uk", frozenset())  # NOTIFY=NEVER
    ]
    assert "multipart/report" in (get_header(result.content, "Content-Type") or "")
    assert b"H.Hildegard@bbn.com" in result.content


def test_ingest_ipn_is_an_mdn_with_a_null_sender() -> None:
    msg = cast(Message, decode_apdu(MESSAGE))
    receipt = ipn(Receipt("890621084522+0100", "manual", "Thanks"))
    apdu = encode_apdu(dataclasses.replace(msg, content=encode_content(receipt)))
    result = ingest(apdu, GW)
    assert result.kind == "notification"
    assert result.envelope.sender is None  # RFC 8098 3
    assert [(str(r.address), r.notify) for r in result.envelope.recipients] == [
        ("bob@example.test", frozenset()),
        ("carol@example.test", frozenset()),
    ]
    assert "disposition-notification" in (get_header(result.content, "Content-Type") or "")


def test_ingest_refuses_probes() -> None:
    envelope = cast(Message, decode_apdu(MESSAGE)).envelope
    with pytest.raises(IngestError, match=PROBES_REFUSED):
        ingest(encode_apdu(Probe(envelope, 100)), GW)


def test_ingest_services_probes_when_it_can_judge() -> None:
    """With the gateway's recipient check, a probe is answered (RFC 2156
    5.3.9) as over P1: a report, queued as the DSN to the originator."""
    envelope = cast(Message, decode_apdu(MESSAGE)).envelope
    result = ingest(encode_apdu(Probe(envelope, 100)), GW, judge=lambda address: None)
    assert result.kind == "report"
    assert result.envelope.sender is None
    assert b"probe serviced by the MIXER gateway" in result.content
    assert b"Action: delivered" in result.content
    refused = ingest(
        encode_apdu(Probe(envelope, 100)), GW, judge=lambda address: None, max_message_size=10
    )
    assert b"Action: failed" in refused.content and b"Status: 5.2.3" in refused.content


def test_ingest_refuses_other_content_types() -> None:
    msg = cast(Message, decode_apdu(MESSAGE))
    other = dataclasses.replace(msg, envelope=dataclasses.replace(msg.envelope, content_type=35))
    with pytest.raises(IngestError, match="content type 35 is not interpersonal"):
        ingest(encode_apdu(other), GW)


def test_ingest_names_the_ber_problem() -> None:
    with pytest.raises(IngestError, match=r"BER error at offset \d+"):
        ingest(b"\x30\x05\x01", GW)
    with pytest.raises(IngestError, match="BER error"):
        ingest(MESSAGE, GW, {"max_depth": 2})


def test_ingest_translation_error_carries_its_status() -> None:
    # RFC 2156 5.1.5: six MIXER conversions in the X.400 trace are a loop
    msg = cast(Message, decode_apdu(MESSAGE))
    marked = dataclasses.replace(msg.envelope.trace[0], converted_eits=(EIT_MIXER,))
    env = dataclasses.replace(msg.envelope, trace=(marked,) * 6)
    with pytest.raises(IngestError, match=r"^554 5\.4\.6 MIXER loop"):
        ingest(encode_apdu(Message(env, msg.content)), GW)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_ingest_only_raises_ingest_error(data: st.DataObject) -> None:
    """Any bytes -- random, or a good file cut or with an octet changed --
    are an Ingested or an IngestError, never another exception."""
    base = data.draw(st.sampled_from([MESSAGE, REPORT]))
    choice = data.draw(st.integers(0, 2))
    if choice == 0:
        blob = data.draw(st.binary(max_size=300))
    elif choice == 1:
        blob = base[: data.draw(st.integers(0, len(base)))]
    else:
        at = data.draw(st.integers(0, len(base) - 1))
        blob = base[:at] + bytes([data.draw(st.integers(0, 255))]) + base[at + 1 :]
    with contextlib.suppress(IngestError):
        ingest(blob, REPORT_GW if base is REPORT else GW)


# --- the poller ---------------------------------------------------------------------


class FakeSubmit:
    """Records submissions; each returns a Deferred the test fires."""

    def __init__(self) -> None:
        self.calls: list[tuple[Envelope, bytes, str, Deferred[str]]] = []

    def __call__(self, envelope: Envelope, content: bytes, qid: str) -> Deferred[str]:
        d: Deferred[str] = Deferred()
        self.calls.append((envelope, content, qid, d))
        return d


def drop(directory: Path, name: str, data: bytes) -> Path:
    """Drop a file as the legacy system does: NAME.tmp, then rename."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (name + ".tmp")
    tmp.write_bytes(data)
    final = directory / (name + ".ber")
    os.rename(tmp, final)
    return final


def poller(
    directory: Path, submit: Any, gw: Gateway = GW, **kw: Any
) -> tuple[FileChannelPoller, task.Clock]:
    clock = task.Clock()
    return FileChannelPoller(directory, lambda: gw, submit, clock, interval=1.0, **kw), clock


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file())


def test_good_message_is_submitted_then_moved_to_done(tmp_path: Path) -> None:
    drop(tmp_path, "m1", MESSAGE)
    submit = FakeSubmit()
    service, clock = poller(tmp_path, submit)
    service.startService()
    assert len(submit.calls) == 1
    envelope, content, qid, d = submit.calls[0]
    assert envelope == ingest(MESSAGE, GW).envelope
    assert get_header(content, "Subject") == "Greetings from the legacy system"
    assert qid == file_qid(MESSAGE)
    # claimed, but not done before the bus says it is durable
    assert listing(tmp_path) == [] and listing(tmp_path / "work") == ["m1.ber"]
    clock.advance(1)
    clock.advance(1)
    assert len(submit.calls) == 1, "in-flight file submitted twice"
    d.callback(qid)
    assert listing(tmp_path / "work") == []
    assert (tmp_path / "done" / "m1.ber").read_bytes() == MESSAGE
    clock.advance(1)
    assert len(submit.calls) == 1
    service.stopService()


def test_garbage_goes_to_failed_with_the_ber_problem(
    tmp_path: Path, logged: list[LogEvent]
) -> None:
    drop(tmp_path, "junk", b"\x60\x82\x01\x00not really BER")
    submit = FakeSubmit()
    service, _ = poller(tmp_path, submit)
    service.startService()
    assert submit.calls == []
    assert listing(tmp_path / "work") == []
    assert listing(tmp_path / "failed") == ["junk.ber", "junk.ber.reason"]
    reason = (tmp_path / "failed" / "junk.ber.reason").read_text()
    assert reason.endswith("\n") and reason.count("\n") == 1
    assert reason.startswith("not an MTS-APDU: BER error at offset ")
    assert any(e.get("reason") == reason.strip() for e in logged)
    service.stopService()


def test_report_file_is_a_dsn_to_the_originator(tmp_path: Path) -> None:
    drop(tmp_path, "r1", REPORT)
    submit = FakeSubmit()
    service, _ = poller(tmp_path, submit, gw=REPORT_GW)
    service.startService()
    envelope, content, qid, d = submit.calls[0]
    assert envelope.sender is None
    assert [str(r.address) for r in envelope.recipients] == ["S.Kille@cs.ucl.ac.uk"]
    assert get_header(content, "Message-Type") == "Delivery Report"
    d.callback(qid)
    assert listing(tmp_path / "done") == ["r1.ber"]
    service.stopService()


def test_probe_and_oversized_files_are_refused(tmp_path: Path) -> None:
    envelope = cast(Message, decode_apdu(MESSAGE)).envelope
    drop(tmp_path, "probe", encode_apdu(Probe(envelope, 10)))
    drop(tmp_path, "huge", MESSAGE)
    submit = FakeSubmit()
    service, _ = poller(tmp_path, submit, max_size=len(MESSAGE) - 1)
    service.startService()
    assert submit.calls == []
    failed = tmp_path / "failed"
    assert (failed / "probe.ber.reason").read_text() == PROBES_REFUSED + "\n"
    assert (failed / "huge.ber.reason").read_text() == (
        f"file is {len(MESSAGE)} octets, more than the limit of {len(MESSAGE) - 1}\n"
    )
    service.stopService()


def test_a_translator_bug_keeps_the_file_in_failed(tmp_path: Path) -> None:
    def broken_gateway() -> Gateway:
        raise RuntimeError("no tables")

    drop(tmp_path, "m1", MESSAGE)
    clock = task.Clock()
    service = FileChannelPoller(tmp_path, broken_gateway, FakeSubmit(), clock)
    service.startService()
    assert (tmp_path / "failed" / "m1.ber").read_bytes() == MESSAGE
    reason = (tmp_path / "failed" / "m1.ber.reason").read_text()
    assert reason == "internal error translating the file: RuntimeError('no tables')\n"
    service.stopService()


def test_files_being_written_are_not_picked(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "m2.ber").write_bytes(MESSAGE[:10])  # still in tmp/
    (tmp_path / "m3.tmp").write_bytes(MESSAGE[:10])  # not yet renamed
    (tmp_path / ".m4.ber").write_bytes(MESSAGE[:10])  # hidden
    submit = FakeSubmit()
    service, clock = poller(tmp_path, submit)
    service.startService()
    clock.advance(1)
    assert submit.calls == []
    assert listing(tmp_path) == [".m4.ber", "m3.tmp"]
    # the writer finishes and renames: picked at the next scan
    (tmp_path / "m3.tmp").write_bytes(MESSAGE)
    os.rename(tmp_path / "m3.tmp", tmp_path / "m3.ber")
    clock.advance(1)
    assert len(submit.calls) == 1
    service.stopService()


def test_file_left_in_work_is_processed_at_start(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "crashed.ber").write_bytes(MESSAGE)
    # a crash between the claim's link and unlink: the same file in both
    os.link(tmp_path / "work" / "crashed.ber", tmp_path / "crashed.ber")
    submit = FakeSubmit()
    service, _ = poller(tmp_path, submit)
    service.startService()
    assert len(submit.calls) == 1
    assert listing(tmp_path) == []
    submit.calls[0][3].callback(submit.calls[0][2])
    assert listing(tmp_path / "done") == ["crashed.ber"]
    assert listing(tmp_path / "work") == []
    service.stopService()


def test_failed_submit_keeps_the_file_and_retries(tmp_path: Path, logged: list[LogEvent]) -> None:
    drop(tmp_path, "m1", MESSAGE)
    submit = FakeSubmit()
    service, clock = poller(tmp_path, submit)
    service.startService()
    submit.calls[0][3].errback(SPOOL_UNAVAILABLE)
    assert listing(tmp_path / "work") == ["m1.ber"]
    assert listing(tmp_path / "done") == [] and listing(tmp_path / "failed") == []
    assert any("will retry" in e.get("log_format", "") for e in logged)
    clock.advance(1)
    assert len(submit.calls) == 2
    assert submit.calls[1][2] == submit.calls[0][2], "the retry has the same qid"
    submit.calls[1][3].callback(submit.calls[1][2])
    assert listing(tmp_path / "done") == ["m1.ber"]
    service.stopService()


def test_submit_raising_keeps_the_file(tmp_path: Path) -> None:
    def broken(envelope: Envelope, content: bytes, qid: str) -> Deferred[str]:
        raise RuntimeError("bus broke")

    drop(tmp_path, "m1", MESSAGE)
    service, clock = poller(tmp_path, broken)
    service.startService()
    clock.advance(1)
    assert listing(tmp_path / "work") == ["m1.ber"]
    assert service._loop is not None and service._loop.running
    service.stopService()


def test_crash_after_submit_resubmits_under_the_same_qid(tmp_path: Path) -> None:
    drop(tmp_path, "m1", MESSAGE)
    submit = FakeSubmit()
    service, _ = poller(tmp_path, submit)
    service.startService()
    service.stopService()  # "crash": the bus has not answered yet
    # restart: the file in work/ is taken over and submitted again
    again = FakeSubmit()
    restarted, _ = poller(tmp_path, again)
    restarted.startService()
    assert [c[2] for c in again.calls] == [submit.calls[0][2]]
    restarted.stopService()


def test_same_name_again_waits_and_gets_a_new_name_in_done(tmp_path: Path) -> None:
    drop(tmp_path, "m1", MESSAGE)
    submit = FakeSubmit()
    service, clock = poller(tmp_path, submit)
    service.startService()
    second = message_apdu(CONTENT.replace(b"legacy.1", b"legacy.2"))
    drop(tmp_path, "m1", second)  # the legacy system reuses the name
    clock.advance(1)
    assert len(submit.calls) == 1, "m1.ber is still in work/: the new one waits"
    assert listing(tmp_path) == ["m1.ber"]
    submit.calls[0][3].callback("Q1")
    clock.advance(1)
    assert len(submit.calls) == 2
    submit.calls[1][3].callback("Q2")
    assert listing(tmp_path / "done") == ["m1.ber", "m1~1.ber"]
    assert (tmp_path / "done" / "m1~1.ber").read_bytes() == second
    service.stopService()


def test_two_pollers_never_take_the_same_file(tmp_path: Path) -> None:
    first, second = FakeSubmit(), FakeSubmit()
    a, clock_a = poller(tmp_path, first, max_in_flight=2)
    b, clock_b = poller(tmp_path, second)
    a.startService()
    b.startService()  # both running (at start each takes over work/: none yet)
    for i in range(4):
        drop(tmp_path, f"m{i}", message_apdu(CONTENT.replace(b"legacy.1", b"legacy.%d" % i)))
    clock_a.advance(1)
    clock_b.advance(1)
    qids = [c[2] for c in first.calls + second.calls]
    assert len(qids) == 4 and len(set(qids)) == 4
    for call in first.calls + second.calls:
        call[3].callback(call[2])
    assert len(listing(tmp_path / "done")) == 4
    a.stopService()
    b.stopService()


def test_stop_waits_for_in_flight(tmp_path: Path) -> None:
    drop(tmp_path, "m1", MESSAGE)
    submit = FakeSubmit()
    service, _ = poller(tmp_path, submit)
    service.startService()
    results: list[object] = []
    service.stopService().addCallback(results.append)
    assert results == []
    submit.calls[0][3].callback("Q")
    assert results == [None]


def test_scan_survives_a_missing_directory(tmp_path: Path, logged: list[LogEvent]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    service, clock = poller(not_a_dir, FakeSubmit())
    service.startService()
    clock.advance(1)
    assert service._loop is not None and service._loop.running
    service.stopService()


class PollerWithBusTests(BusHarness):
    """The poller over a real bus: a file submitted twice is queued once."""

    @inlineCallbacks
    def test_resubmission_after_a_crash_is_queued_once(self) -> Any:
        inbox = self.dir / "x400in"
        apdu = message_apdu(rcpt=("alice@example.test", "bob@example.test"))
        drop(inbox, "m1", apdu)
        service, _ = poller(inbox, self.bus.submit)
        moves: list[str] = []
        real_link = filechannel._link_new

        def crash_before_done(src: Path, directory: Path, name: str) -> Path:
            moves.append(directory.name)
            if directory.name == "done":
                raise OSError("simulated crash before the move to done/")
            return real_link(src, directory, name)

        filechannel._link_new = crash_before_done
        self.addCleanup(setattr, filechannel, "_link_new", real_link)
        service.startService()
        yield self.settle(lambda: moves == ["done"])
        yield service.stopService()
        assert listing(inbox / "work") == ["m1.ber"]
        assert self.bus.stats["submitted"] == 1
        assert self.bus.known(file_qid(apdu))

        filechannel._link_new = real_link
        restarted, _ = poller(inbox, self.bus.submit)
        restarted.startService()
        yield self.settle(lambda: listing(inbox / "done") == ["m1.ber"])
        yield restarted.stopService()
        assert self.bus.stats["submitted"] == 1, "queued twice"


# --- the agent ----------------------------------------------------------------------

SENDER = Address.parse("alice@example.org")
TO_X400 = ("bob@Widget.COM", "carol@XEROX.COM")


def job(
    content: bytes = CONTENT,
    rcpts: tuple[str, ...] = TO_X400,
    sender: Address | None = SENDER,
    qid: str = "0123456789ABC0001",
    recovered: bool = False,
) -> DeliveryJob:
    addresses = [Address.parse(r) for r in rcpts]
    envelope = Envelope(
        sender,
        tuple(
            Recipient(a, frozenset({"SUCCESS"}) if i == 0 else None)
            for i, a in enumerate(addresses)
        ),
        Origin("smtp"),
        envid="env-1",
        ret="HDRS",
    )
    targets = tuple(Target(i, a) for i, a in enumerate(addresses))
    return DeliveryJob(qid, envelope, 1_800_000_000.0, content, targets, recovered)


def deliver(agent: FileChannelAgent, j: DeliveryJob) -> list[Outcome]:
    results: list[list[Outcome]] = []
    agent.deliver(j).addCallback(results.append)
    assert results, "the agent did not answer synchronously"
    return results[0]


def bers(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(".ber"))


def test_agent_provides_interface(tmp_path: Path) -> None:
    assert verifyObject(IDeliveryAgent, FileChannelAgent(tmp_path, lambda: GW))


def test_agent_writes_a_message_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    agent = FileChannelAgent(out, lambda: GW)
    outcomes = deliver(agent, job())
    files = bers(out)
    assert len(files) == 1
    assert [(o.result, o.code, o.status) for o in outcomes] == [(Result.RELAYED, 250, "2.0.0")] * 2
    assert outcomes[0].text == f"written to the X.400 file channel {out}"
    assert outcomes[0].detail == str(files[0])
    assert os.listdir(out / "tmp") == []
    apdu = decode_apdu(files[0].read_bytes())
    assert isinstance(apdu, Message)
    names = [GW.to_rfc822(r.name) for r in apdu.envelope.recipients]
    assert [n.lower() for n in names] == [r.lower() for r in TO_X400]
    assert apdu.envelope.recipients[0].originator_report == "report"  # NOTIFY=SUCCESS
    assert GW.to_rfc822(apdu.envelope.originator) == "alice@example.org"
    ipm = decode_content(apdu.content)
    assert isinstance(ipm, IPM)
    assert ipm.heading.subject == "Greetings from the legacy system"


def test_agent_files_appear_complete_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the file is written and fsynced it is in tmp/; <out>/ shows
    no .ber name until the rename."""
    out = tmp_path / "out"
    seen: list[tuple[list[str], list[str]]] = []
    real_fsync = os.fsync

    def watching_fsync(fd: int) -> None:
        if (out / "tmp").exists():
            seen.append(([p.name for p in bers(out)], os.listdir(out / "tmp")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    deliver(FileChannelAgent(out, lambda: GW), job())
    first_visible, first_tmp = seen[0]  # the file's own fsync
    assert first_visible == [] and len(first_tmp) == 1
    last_visible, last_tmp = seen[-1]  # the directory's, after the rename
    assert len(last_visible) == 1 and last_tmp == []


def test_agent_same_job_again_writes_no_second_file(tmp_path: Path) -> None:
    first = deliver(FileChannelAgent(tmp_path, lambda: GW), job())
    # after a restart: another clock reading, so other APDU bytes
    later = dataclasses.replace(GW, now=GW.now + timedelta(minutes=5))
    again = deliver(FileChannelAgent(tmp_path, lambda: later), job(recovered=True))
    assert len(bers(tmp_path)) == 1
    assert first[0].detail == again[0].detail


def test_agent_dsn_to_an_x400_user_is_a_report(tmp_path: Path) -> None:
    dsn = ingest(REPORT, REPORT_GW).content  # a DSN addressed to S.Kille@cs.ucl.ac.uk
    agent = FileChannelAgent(tmp_path, lambda: REPORT_GW)
    outcomes = deliver(agent, job(dsn, ("S.Kille@cs.ucl.ac.uk",), sender=None))
    assert [(o.result, o.status) for o in outcomes] == [(Result.RELAYED, "2.0.0")]
    files = bers(tmp_path)
    assert len(files) == 1
    report = decode_apdu(files[0].read_bytes())
    assert isinstance(report, Report)
    assert REPORT_GW.to_rfc822(report.destination).lower() == "s.kille@cs.ucl.ac.uk"
    assert [r.number for r in report.recipients] == [1]


def test_agent_translation_error_fails_with_its_status(tmp_path: Path) -> None:
    looping = b"".join(
        b"Received: by gw%d.example %s; Fri, 2 Jan 2026 02:59:30 +0000\r\n"
        % (i, MIXER_RECEIVED_COMMENT.encode())
        for i in range(6)
    )
    outcomes = deliver(FileChannelAgent(tmp_path, lambda: GW), job(looping + CONTENT))
    assert [(o.result, o.code, o.status) for o in outcomes] == [(Result.FAILED, 554, "5.4.6")] * 2
    assert "MIXER loop" in outcomes[0].text
    assert bers(tmp_path) == []


def test_agent_os_error_defers(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    outcomes = deliver(FileChannelAgent(not_a_dir, lambda: GW), job())
    assert [(o.result, o.code, o.status) for o in outcomes] == [
        (Result.DEFERRED, 451, "4.3.0")
    ] * 2


def test_agent_in_a_thread_pool(tmp_path: Path) -> None:
    agent = FileChannelAgent(
        tmp_path,
        lambda: GW,
        reactor=cast(IReactorThreads, SyncReactor()),
        pool=cast(ThreadPool, SyncPool()),
    )
    assert [o.result for o in deliver(agent, job())] == [Result.RELAYED] * 2
    assert len(bers(tmp_path)) == 1


def test_agent_output_is_read_by_the_poller(tmp_path: Path) -> None:
    """Round trip: what one gateway writes, another picks up."""
    out = tmp_path / "out"
    deliver(FileChannelAgent(out, lambda: GW), job(rcpts=("bob@example.test",)))
    submit = FakeSubmit()
    service, _ = poller(out, submit)
    service.startService()
    envelope, content, _, _ = submit.calls[0]
    assert [str(r.address) for r in envelope.recipients] == ["bob@example.test"]
    assert get_header(content, "Subject") == "Greetings from the legacy system"
    service.stopService()
