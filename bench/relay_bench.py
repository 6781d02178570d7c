"""Relay benchmark: the gateway against Postfix, both relaying to one smtp-sink.

Run through ``bash bench/relay_bench.sh`` (as root, from the repository, with
.venv). Starts, in one temporary directory, Postfix's ``smtp-sink`` (with
``-c``: a running count of the messages it received), a gateway relaying every
remote recipient to it (``[relay] smarthost = "[127.0.0.1]:PORT"``, ``tls =
"none"``; ``[dns]`` pointed at a closed port, so nothing ever asks the system
resolver) and a private Postfix relaying to it (``relayhost``, no TLS). Both
accept mail from 127.0.0.0/8 for relaying without AUTH. Then, for each of
``--rounds`` rounds, runs Postfix's ``smtp-source`` against both, alternating
which goes first. A run's time is "accepted until delivered": from the start
of smtp-source until the sink's counter has gone up by ``--count``; after it
both queues must drain and the sink must have received exactly ``--count``
messages (no duplicates, no bounces). Prints msgs/s per run (end to end, and
smtp-source's own acceptance rate), the medians and gateway/Postfix.

Both relays keep their default concurrency towards the sink (gateway:
``max_per_destination`` 10; Postfix: ``default_destination_concurrency_limit``
20, after its slow start); ``--gateway-relay-config`` and
``--postfix-main-cf`` change that.

Without the gateway's SMTP server (``gateway.smtp.server``), or with
``--postfix-only``, only Postfix runs (exit status 2 in the first case).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from tests.integration.peers import (  # noqa: E402
    LOOPBACK,
    SMTP_SINK,
    PostfixInstance,
    SMTPDaemon,
    free_ports,
    smtp_source,
    wait_listening,
)

SENDER = "from@bench.test"
RECIPIENT = "sink@remote.test"  # remote for both: relayed, never delivered here
HELO = "bench.test"
WARMUP = 200
# All sessions come from 127.0.0.1: lift the per-client connection limit, as
# Postfix exempts $mynetworks from its own (smtpd_client_event_limit_exceptions).
GATEWAY_SMTP_CONFIG = "max_connections_per_ip = 1000\n"
TOOLS = ("/usr/sbin/postfix", "/usr/sbin/postqueue", "/usr/sbin/smtp-source", SMTP_SINK)
INSTALL = "install Debian's postfix as .ci/run does"
_MESSAGES = re.compile(rb"mesg=(\d+)")


class CountingSink:
    """``smtp-sink -c`` on a free loopback port: a thread reads its running
    counter (``sess=N quit=N mesg=N``, updated when "." is received) and
    notes when it reaches the count :meth:`expect` set."""

    def __init__(self, log: Path) -> None:
        (self.port,) = free_ports(1)
        self.log = log
        self.count = 0
        self._target: int | None = None
        self._reached: float | None = None
        self._changed = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as stderr:
            self._process = subprocess.Popen(
                [SMTP_SINK, "-c", "-u", "nobody", f"{LOOPBACK}:{self.port}", "1024"],
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        threading.Thread(target=self._read, name="smtp-sink -c", daemon=True).start()
        wait_listening(self.port, what="smtp-sink")

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        tail = b""
        while chunk := os.read(fd, 65536):
            now = time.perf_counter()
            counts = _MESSAGES.findall(tail + chunk)
            tail = chunk[-64:]  # a counter cut in two by the read
            if not counts:
                continue
            with self._changed:
                self.count = max(self.count, int(counts[-1]))
                target = self._target
                if target is not None and self._reached is None and self.count >= target:
                    self._reached = now
                self._changed.notify_all()

    def expect(self, target: int) -> None:
        """Note the time the counter reaches ``target`` (an absolute count)."""
        with self._changed:
            self._target = target
            self._reached = time.perf_counter() if self.count >= target else None

    def wait(self, deadline: float, what: Callable[[], str]) -> float:
        """The :func:`time.perf_counter` time the counter reached the target;
        ``what()`` says what is missing if it did not by ``deadline``
        (monotonic)."""
        with self._changed:
            while self._reached is None:
                left = deadline - time.monotonic()
                if left <= 0 or (self._process is not None and self._process.poll() is not None):
                    raise RuntimeError(what())
                self._changed.wait(min(left, 1.0))
            return self._reached

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(30)


@dataclass
class Target(common.Target):
    queue_empty: Callable[[], bool]
    queue_size: Callable[[], str]


@dataclass
class Result:
    rate: float  # end to end: accepted until delivered
    accept_rate: float  # smtp-source's start to its end


def run_once(
    target: Target, sink: CountingSink, count: int, sessions: int, size: int, reuse: bool
) -> Result:
    """One smtp-source run against ``target``, timed until the sink has
    ``count`` more messages; then wait for the queue to drain and check that
    exactly ``count`` arrived."""
    if not target.queue_empty():
        raise RuntimeError(f"{target.name}: queue not empty before the run")
    base = sink.count
    sink.expect(base + count)
    started = time.perf_counter()
    accepted = smtp_source(target.port, count, sessions, size, reuse, SENDER, RECIPIENT, HELO)
    deadline = time.monotonic() + max(120.0, count / 20)
    delivered = sink.wait(
        deadline,
        lambda: (
            f"{target.name}: {sink.count - base}/{count} messages at the sink; "
            f"queue: {target.queue_size()}"
        ),
    )
    while not target.queue_empty():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: queue not drained: {target.queue_size()}")
        time.sleep(0.1)
    time.sleep(0.2)  # the sink's last counter lines
    if sink.count - base != count:
        raise RuntimeError(
            f"{target.name}: {sink.count - base} messages at the sink for {count} sent "
            "(duplicates or bounces)"
        )
    return Result(count / (delivered - started), count / accepted)


def gateway_target(gateway: SMTPDaemon) -> Target:
    def listing() -> list[object]:
        messages = gateway.request({"op": "list"})
        assert isinstance(messages, list)
        return messages

    return Target(
        "gateway",
        gateway.smtp_port,
        lambda: not listing(),
        lambda: f"{len(listing())} messages",
    )


def postfix_target(postfix: PostfixInstance) -> Target:
    def size() -> str:
        listing = postfix.queue_listing().strip().splitlines()
        return listing[-1] if listing else "?"  # "-- N Kbytes in M Requests."

    return Target(
        "postfix",
        postfix.port,
        lambda: "Mail queue is empty" in postfix.queue_listing(),
        size,
    )


def main() -> int:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=5000, help="messages per run (-m)")
    parser.add_argument("--sessions", type=int, default=20, help="parallel sessions (-s)")
    parser.add_argument("--size", type=int, default=4096, help="message size (-l)")
    parser.add_argument(
        "--reuse", action="store_true", help="smtp-source -d: sessions reuse their connection"
    )
    common.add_gateway_config(parser, "smtp", GATEWAY_SMTP_CONFIG)
    common.add_gateway_config(parser, "relay", "", " after smarthost and tls")
    parser.add_argument(
        "--postfix-main-cf",
        default=os.environ.get("BENCH_POSTFIX_MAIN_CF", ""),
        help="lines appended to Postfix's main.cf (default: %(default)r)",
    )
    args = common.parse_options(parser, "postfix")
    if not common.check_setup("relay_bench", "a private Postfix", TOOLS, INSTALL):
        return 1

    gateway_missing = False
    with common.Workspace("relay-bench-", args.keep) as workspace:
        sink = CountingSink(workspace.path / "smtp-sink.log")
        workspace.defer(sink.stop)
        sink.start()
        hop = f"[{LOOPBACK}]:{sink.port}"

        targets: list[Target] = []
        if not args.postfix_only:
            if not common.gateway_has("smtp", "Postfix"):
                gateway_missing = True
            else:
                (workspace.path / "gateway").mkdir()
                relay = f'[relay]\nsmarthost = "{hop}"\ntls = "none"\n'
                if args.gateway_relay_config:
                    relay += args.gateway_relay_config.rstrip() + "\n"
                gateway = SMTPDaemon(
                    workspace.path / "gateway",
                    trusted_networks=("127.0.0.0/8",),
                    smtp_config=args.gateway_smtp_config,
                    extra_config=relay + '[dns]\nservers = ["127.0.0.1:1"]\n',
                    relay=True,
                )
                workspace.manage(gateway)
                gateway.start()
                targets.append(gateway_target(gateway))
        postfix = PostfixInstance(
            workspace.path / "postfix",
            relayhost=(LOOPBACK, sink.port),
            tls_security_level="none",
            extra_main_cf=args.postfix_main_cf,
        )
        workspace.defer(postfix.close)
        postfix.start()
        targets.append(postfix_target(postfix))

        print(
            f"smtp-source -s {args.sessions} -m {args.count} -l {args.size} "
            f"-f {SENDER} -t {RECIPIENT} -M {HELO}{' -d' if args.reuse else ''} 127.0.0.1:PORT; "
            f"relayed to smtp-sink {hop}; {args.rounds} rounds, alternating; "
            f"{os.cpu_count()} CPUs"
        )
        for target in targets:  # first-run costs (process spawn, cold caches)
            run_once(target, sink, WARMUP, args.sessions, args.size, args.reuse)

        rates: dict[str, list[float]] = {}
        accept_rates: dict[str, list[float]] = {}
        for round_no, target in common.rounds(targets, args.rounds):
            result = run_once(target, sink, args.count, args.sessions, args.size, args.reuse)
            rates.setdefault(target.name, []).append(result.rate)
            accept_rates.setdefault(target.name, []).append(result.accept_rate)
            print(
                f"round {round_no} {target.name:>8}: {result.rate:8.0f} msgs/s end to end "
                f"(accepted at {result.accept_rate:.0f} msgs/s)",
                flush=True,
            )

        print("\nmedians:")
        for what, figures in (
            ("accepted until delivered", rates),
            ("accepted (smtp-source)  ", accept_rates),
        ):
            print(f"  {what}: {common.medians_line(figures, 'msgs/s', 'postfix')}")
    return 2 if gateway_missing else 0


if __name__ == "__main__":
    common.run_main("relay_bench", main)
