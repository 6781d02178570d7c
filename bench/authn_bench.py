"""Sender authentication benchmark (issue 9): what the checks cost per message.

For one DKIM-signed message (RSA-2048, then ed25519) from a domain with SPF
and DMARC records, it measures, in one process on one core:

- **checks/s**: ``InboundChecker.check`` (SPF for HELO and MAIL FROM, DKIM,
  ARC, DMARC) plus the header fields, with every DNS answer coming from a
  twisted.names server on 127.0.0.1 (as in production: real UDP queries,
  no cache of ours), ``--concurrency`` messages in flight;
- **dkimpy/s**: ``dkim.verify`` alone, the peer: dkimpy with the key handed
  over in memory (no DNS at all), the floor any Python verifier pays;

and prints both and the ratio. Loopback only.

    .venv/bin/python bench/authn_bench.py [--count N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dkim  # noqa: E402
from twisted.internet import defer, task  # noqa: E402
from twisted.names import client  # noqa: E402

from gateway.authn import dkim as dkim_check  # noqa: E402
from gateway.authn.dns import TwistedLookup  # noqa: E402
from gateway.authn.inbound import InboundChecker  # noqa: E402
from gateway.authn.keys import Algorithm, KeyRecord, dns_record, generate_key  # noqa: E402
from gateway.config import AuthnSettings  # noqa: E402
from tests.dnszone import DNSTestServer, Zone  # noqa: E402

BODY = b"".join(
    b"Line %d of a message of ordinary length, about 4 KiB.\r\n" % i for i in range(70)
)


def message(algorithm: Algorithm) -> tuple[bytes, Zone, KeyRecord]:
    pem, public = generate_key(algorithm)
    text = (
        b"From: News <news@good.test>\r\nTo: alice@example.test\r\nSubject: bench\r\n"
        b"Message-ID: <bench@good.test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\n" + BODY
    )
    signed = dkim_check.sign(text, "good.test", "sel", pem) + text
    record = dns_record("good.test", "sel", public, algorithm)
    zone = Zone(
        "good.test",
        {
            "@": [("TXT", "v=spf1 ip4:192.0.2.10 -all")],
            "_dmarc": [("TXT", "v=DMARC1; p=reject")],
            "client": [("A", "192.0.2.10")],
        },
    )
    zone.add(record.name + ".", "TXT", record.text)
    return signed, zone, record


async def checks_per_second(
    reactor: Any, signed: bytes, zone: Zone, count: int, width: int
) -> float:
    server = DNSTestServer([zone])
    address = server.start(reactor)
    try:
        resolver = client.Resolver(servers=[address], reactor=reactor)
        checker = InboundChecker(
            AuthnSettings(), TwistedLookup(resolver, reactor), receiver="mx.test", clock=reactor
        )

        async def one() -> None:
            report = await checker.check(
                signed, client_ip="192.0.2.10", helo="client.good.test", sender="news@good.test"
            )
            assert report.dmarc is not None and report.dmarc.result == "pass", report
            checker.headers(report, signed)

        await one()  # warm up
        started = time.perf_counter()
        done = 0
        while done < count:
            batch = min(width, count - done)
            await defer.gatherResults([defer.ensureDeferred(one()) for _ in range(batch)])
            done += batch
        return count / (time.perf_counter() - started)
    finally:
        await server.stop()


def dkimpy_per_second(signed: bytes, record: KeyRecord, count: int) -> float:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes:
        assert name.rstrip(b".") == record.name.encode()
        return record.text.encode()

    assert dkim.verify(signed, dnsfunc=dnsfunc)
    started = time.perf_counter()
    for _ in range(count):
        dkim.verify(signed, dnsfunc=dnsfunc)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    async def run(reactor: Any) -> None:
        print(f"{args.count} messages, {args.concurrency} in flight; one process")
        print(f"{'key':<8} {'checks/s':>10} {'dkimpy/s':>10} {'ratio':>7}")
        for algorithm in ("rsa", "ed25519"):
            signed, zone, record = message(algorithm)  # type: ignore[arg-type]
            ours = await checks_per_second(reactor, signed, zone, args.count, args.concurrency)
            peer = dkimpy_per_second(signed, record, args.count)
            print(f"{algorithm:<8} {ours:>10.0f} {peer:>10.0f} {ours / peer:>7.2f}")

    task.react(lambda reactor: defer.ensureDeferred(run(reactor)))


if __name__ == "__main__":
    main()
