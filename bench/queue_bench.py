"""Benchmark: durable submissions per second through the bus into Maildir.

Not a test. Prints, from the same run on the same file system:

* the raw limit of the disk: one thread appending 4 KiB and fsyncing, per second;
* the bus: 4 KiB messages submitted with N outstanding at a time; the rate of
  acknowledged (durable) submissions, and the end-to-end rate until every
  message is in its Maildir (fsynced there too);
* the ratio of the bus's acknowledged rate to the raw fsync rate (the goal:
  above 1, thanks to group commit).

Usage: python bench/queue_bench.py [--messages 5000] [--concurrency 64] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from twisted.internet import defer, reactor, task
from twisted.python.threadpool import ThreadPool

from gateway.bus.bus import MessageBus
from gateway.bus.local import LocalDeliveryAgent
from gateway.bus.retry import RetrySchedule
from gateway.bus.router import RouteKind, Router
from gateway.bus.spool import Spool
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.store.aliases import AliasFile
from gateway.store.maildir import MaildirStore
from gateway.store.users import UserFile

SIZE = 4096


def raw_fsync_rate(directory: Path, seconds: float = 3.0) -> float:
    path = directory / "raw.bin"
    block = os.urandom(SIZE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    count = 0
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            os.write(fd, block)
            os.fsync(fd)
            count += 1
    finally:
        os.close(fd)
        path.unlink()
    return count / (time.perf_counter() - start)


def message(n: int) -> bytes:
    head = f"From: bench@remote.test\r\nMessage-ID: <bench-{n}@test>\r\nSubject: {n}\r\n\r\n"
    body = b"x" * 76 + b"\r\n"
    data = head.encode() + body * ((SIZE - len(head)) // len(body) + 1)
    return data[:SIZE]


@defer.inlineCallbacks
def bus_rates(directory: Path, messages: int, concurrency: int) -> defer.Generator:
    users = [f"user{i}@example.test" for i in range(10)]
    (directory / "users").write_text("".join(f"{u}:{{PLAIN}}x\n" for u in users))
    (directory / "aliases").write_text("")
    router = Router(
        ("example.test",), UserFile(directory / "users"), AliasFile(directory / "aliases")
    )
    pool = ThreadPool(minthreads=4, maxthreads=8, name="maildir")
    pool.start()
    bus = MessageBus(
        Spool(directory / "queue", 64 << 20),
        router,
        {
            RouteKind.LOCAL: LocalDeliveryAgent(
                MaildirStore(directory / "mail", reactor, pool), "bench.test"
            )
        },
        reactor,
        RetrySchedule(),
        max_deliveries=64,
    )
    bus.startService()
    envelopes = [
        Envelope(
            Address.parse("bench@remote.test"), (Recipient(Address.parse(u)),), Origin("bench")
        )
        for u in users
    ]
    semaphore = defer.DeferredSemaphore(concurrency)
    start = time.perf_counter()
    submissions = [
        semaphore.run(bus.submit, envelopes[n % len(envelopes)], message(n))
        for n in range(messages)
    ]
    yield defer.gatherResults(submissions)
    acked = time.perf_counter() - start
    batches = bus.writer.batches
    while bus.messages:
        yield task.deferLater(reactor, 0.01, lambda: None)
    delivered = time.perf_counter() - start
    yield bus.stopService()
    pool.stop()
    count = sum(
        len(os.listdir(directory / "mail" / "example.test" / u.split("@")[0] / "new"))
        for u in users
    )
    assert count == messages, f"{count} delivered of {messages}"
    return messages / acked, messages / delivered, batches


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=Path("."), help="where to put the scratch data"
    )
    args = parser.parse_args()

    results: list[tuple[float, float, float, int]] = []

    @defer.inlineCallbacks
    def run_all() -> defer.Generator:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="queue-bench-", dir=args.dir) as scratch:
                raw = raw_fsync_rate(Path(scratch))
                acked, delivered, batches = yield bus_rates(
                    Path(scratch), args.messages, args.concurrency
                )
                results.append((raw, acked, delivered, batches))
                print(
                    f"run: raw fsync {raw:8.0f}/s   bus acknowledged {acked:8.0f}/s   "
                    f"into Maildir {delivered:8.0f}/s   "
                    f"({batches} journal fsyncs for {args.messages} messages)",
                    flush=True,
                )
        reactor.stop()

    reactor.callWhenRunning(run_all)
    reactor.run()
    if len(results) != args.runs:
        return 1
    raw = statistics.median(r[0] for r in results)
    acked = statistics.median(r[1] for r in results)
    delivered = statistics.median(r[2] for r in results)
    print(
        f"\n4 KiB messages, {args.messages} per run, {args.concurrency} outstanding, "
        f"median of {args.runs} runs"
    )
    print(f"raw single-thread append+fsync : {raw:8.0f} /s")
    for label, rate in (
        ("bus durable submissions", acked),
        ("bus end to end into Maildir", delivered),
    ):
        print(f"{label:<31}: {rate:8.0f} /s   ratio to raw fsync {rate / raw:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
