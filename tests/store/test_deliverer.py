"""Local delivery in a process of its own: frames, the process's loop, the
main process's side on a fake process, and the real process."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import ProcessTerminated
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from gateway.control import decode_request, encode_request
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.fsutil import DirectorySyncer
from gateway.store.deliverer import (
    REPLIES,
    REQUESTS,
    DeliveryProcess,
    frame,
    serve,
    split_frames,
)
from gateway.store.maildir import write_batch
from gateway.store.quota import Quota, QuotaChecker
from tests.fakeprocess import ProcessReactor

ALICE = Address.parse("alice@example.test")


@given(st.lists(st.binary(max_size=40), max_size=8), st.integers(min_value=0, max_value=400))
def test_frames_come_out_whole_however_the_bytes_are_cut(frames: list[bytes], cut: int) -> None:
    stream = b"".join(frame(f) for f in frames)
    cut = min(cut, len(stream))
    first, rest = split_frames(stream[:cut], 100)
    second, rest = split_frames(rest + stream[cut:], 100)
    assert first + second == frames
    assert rest == b""


def test_a_frame_over_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="frame of 101 bytes"):
        split_frames(frame(b"x" * 101), 100)


def request(number: int, unique: str, body: bytes, prefix: bytes = b"Received: x\n") -> bytes:
    header = {
        "op": "deliver",
        "id": number,
        "user": str(ALICE),
        "unique": unique,
        "check_cur": False,
        "folder": "INBOX",
        "split": len(prefix),
    }
    return frame(encode_request(header, prefix + body))


def run_serve(tmp_path: Path, data: bytes, quota: QuotaChecker | None = None) -> list[Any]:
    """The delivery process's loop over real pipes, in a thread."""
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    syncer = DirectorySyncer()

    def write(jobs: list[Any]) -> list[Any]:
        return write_batch(tmp_path, jobs, syncer, quota)

    forget = quota.forget if quota is not None else (lambda maildir: None)
    worker = threading.Thread(target=serve, args=(requests_r, replies_w, write, 1 << 20, forget))
    worker.start()
    os.write(requests_w, data)
    os.close(requests_w)  # the end of the requests: the loop returns
    worker.join(30)
    os.close(replies_w)
    out = b""
    while chunk := os.read(replies_r, 65536):
        out += chunk
    os.close(replies_r)
    os.close(requests_r)
    frames, rest = split_frames(out, 1 << 20)
    assert rest == b""
    return [json.loads(f) for f in frames]


def test_the_loop_writes_each_message_and_answers_each_request(tmp_path: Path) -> None:
    data = request(7, "1700.M1.host", b"Subject: a\n\nA\n") + request(8, "1700.M2.host", b"B\n")
    replies = run_serve(tmp_path, data)
    assert [r["id"] for r in replies] == [7, 8]
    assert all(r["ok"] for r in replies)
    first = Path(replies[0]["path"])
    assert first.parent == tmp_path / "example.test" / "alice" / "new"
    assert first.read_bytes() == b"Received: x\nSubject: a\n\nA\n"
    again = run_serve(tmp_path, request(9, "1700.M1.host", b"Subject: a\n\nA\n"))
    assert again[0]["path"] == replies[0]["path"]  # the same delivery twice: written once


def test_over_quota_is_said_as_such(tmp_path: Path) -> None:
    quota = QuotaChecker(lambda user: Quota(10, None))
    (reply,) = run_serve(tmp_path, request(1, "1700.M1.host", b"x" * 100), quota)
    assert reply == {
        "ok": False,
        "id": 1,
        "error": "452 4.2.2 Mailbox full (over quota)",
        "gateway": {"code": 452, "status": "4.2.2", "text": "Mailbox full (over quota)"},
    }


def test_forget_makes_the_process_count_the_mailbox_again(tmp_path: Path) -> None:
    clock = [0.0]
    quota = QuotaChecker(lambda user: Quota(None, 1), clock=lambda: clock[0])
    assert run_serve(tmp_path, request(1, "1700.M1.host", b"a\n"), quota)[0]["ok"]
    (tmp_path / "example.test" / "alice" / "new").joinpath(
        os.listdir(tmp_path / "example.test" / "alice" / "new")[0]
    ).unlink()  # removed by POP3 in the main process; the cache still counts it
    full = run_serve(tmp_path, request(2, "1700.M2.host", b"b\n"), quota)
    assert full[0]["gateway"]["status"] == "4.2.2"
    forget = frame(
        encode_request({"op": "forget", "maildir": str(tmp_path / "example.test" / "alice")})
    )
    (fits,) = run_serve(tmp_path, forget + request(3, "1700.M2.host", b"b\n"), quota)
    assert fits["ok"] and fits["id"] == 3  # no answer to the forget itself


def died(protocol: Any) -> None:
    protocol.processEnded(Failure(ProcessTerminated(signal=9)))


class MainSideTests(TestCase):
    """The main process's side against a recorded process."""

    def setUp(self) -> None:
        self.reactor = ProcessReactor()
        self.told: list[Path] = []
        self.store = DeliveryProcess(Path("g.toml"), self.reactor, 1 << 20, self.told.append)
        self.store.pool.startService()

    def worker(self) -> Any:
        return self.reactor.spawned[-1][0]

    def sent(self) -> list[dict[str, Any]]:
        frames, _ = split_frames(b"".join(d for _, d in self.worker().transport.written), 1 << 20)
        return [decode_request(f)[0] for f in frames]

    def answer(self, **reply: Any) -> None:
        self.worker().childDataReceived(REPLIES, frame(json.dumps(reply).encode()))

    def test_requests_go_to_the_process_and_answers_come_back(self) -> None:
        assert self.reactor.spawned[0][2][REQUESTS] == "w"
        d = self.store.deliver(ALICE, b"body\n", b"Received: x\n", "1700.M1.host")
        (header,) = self.sent()
        assert header["user"] == "alice@example.test" and header["split"] == len(b"Received: x\n")
        path = "/mail/example.test/alice/new/1700.M1.host,S=17,W=19"
        self.answer(ok=True, id=header["id"], path=path)
        assert self.successResultOf(d) == path
        assert self.told == [Path("/mail/example.test/alice")]

    def test_the_main_quota_counts_what_the_process_delivered(self) -> None:
        counted: list[tuple[Path, int]] = []

        class Quota:
            def added(self, maildir: Path, size: int) -> None:
                counted.append((maildir, size))

        store = DeliveryProcess(
            Path("g.toml"), self.reactor, 1 << 20, quota=Quota(), mail_dir=Path("/mail")
        )
        store.pool.startService()
        d = store.deliver(ALICE, b"body\n", b"", "1700.M1.host")
        (header,) = self.sent()
        self.answer(ok=True, id=header["id"], path="/mail/example.test/alice/new/1700,S=5,W=6")
        self.successResultOf(d)
        assert counted == [(Path("/mail/example.test/alice"), 5)]
        store.forget(Path("/mail/example.test/alice"))
        assert self.sent()[-1] == {"op": "forget", "maildir": "/mail/example.test/alice"}

    def test_errors_are_os_errors_and_quota_is_452(self) -> None:
        full = self.store.deliver(ALICE, b"b\n", b"", "1700.M1.host")
        broken = self.store.deliver(ALICE, b"b\n", b"", "1700.M2.host")
        first, second = self.sent()
        over = {"code": 452, "status": "4.2.2", "text": "Mailbox full (over quota)"}
        self.answer(ok=False, id=first["id"], error="452 ...", gateway=over)
        self.answer(ok=False, id=second["id"], error="OSError: disk on fire")
        error = self.failureResultOf(full, GatewayError).value
        assert (error.code, error.status, error.text) == (
            452,
            "4.2.2",
            "Mailbox full (over quota)",
        )
        assert "disk on fire" in str(self.failureResultOf(broken, OSError).value)

    def test_a_request_in_flight_is_sent_again_once_then_fails(self) -> None:
        d = self.store.deliver(ALICE, b"b\n", b"", "1700.M1.host")
        died(self.worker())
        self.reactor.advance(1)  # the next worker (died young: after a pause)
        assert len(self.reactor.spawned) == 2
        (header,) = self.sent()  # the same request, to the new one
        assert header["unique"] == "1700.M1.host"
        self.assertNoResult(d)
        died(self.worker())
        assert "delivery process died" in str(self.failureResultOf(d, OSError).value)

    def test_requests_wait_while_no_process_runs(self) -> None:
        died(self.worker())
        d = self.store.deliver(ALICE, b"b\n", b"", "1700.M1.host")
        self.reactor.advance(1)
        (header,) = self.sent()
        self.answer(ok=True, id=header["id"], path="/m/x.test/a/new/f")
        assert self.successResultOf(d) == "/m/x.test/a/new/f"


class RealProcessTests(TestCase):
    """python -m gateway.store.deliverer, spawned as the daemon does."""

    timeout = 60

    async def test_messages_land_in_the_maildir(self) -> None:
        root = Path(self.mktemp())
        (root / "var").mkdir(parents=True)
        config = root / "gateway.toml"
        config.write_text(
            f'[server]\ndata_dir = "{root / "var"}"\nlocal_domains = ["example.test"]\n'
            'hostname = "mail.example.test"\n'
        )
        told: list[Path] = []
        store = DeliveryProcess(config, reactor, 1 << 24, told.append)
        store.pool.startService()
        self.addCleanup(store.pool.stopService)
        deliveries = [
            store.deliver(ALICE, b"message %d\n" % n, b"Received: x\n", f"1700.M{n}.host")
            for n in range(20)
        ]
        results = await DeferredList(deliveries, fireOnOneErrback=True, consumeErrors=True)
        paths = [Path(path) for _, path in results]
        maildir = root / "var" / "mail" / "example.test" / "alice"
        assert sorted(p.name for p in paths) == sorted(os.listdir(maildir / "new"))
        assert paths[3].read_bytes() == b"Received: x\nmessage 3\n"
        assert set(told) == {maildir}
        # the process goes when the pool stops
        (worker,) = store.pool.workers.values()
        pid = worker.transport.pid
        stopped: Deferred[Any] = store.pool.stopService()
        await stopped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert sys.executable  # the worker ran with the same interpreter
