"""SMTP ingest benchmark: the gateway against Postfix, both delivering to Maildir.

Run through ``bash bench/smtp_ingest.sh`` (as root, from the repository, with
.venv). Starts, in one temporary directory, a gateway (smtp listener on a
free loopback port, one user) and a private Postfix delivering the same
address to Maildir with its ``virtual`` agent; then, for each of ``--rounds``
rounds and each mode (one message per connection; ``-d``: connections
reused), runs Postfix's ``smtp-source`` against both, alternating which goes
first. A run's time is from the start of smtp-source to the modification time
of the last of its messages in the Maildir, so both servers are measured to
"in the mailbox". Prints msgs/s per run, the medians, and gateway/Postfix.

Without the gateway's SMTP server (``gateway.smtp.server``), or with
``--postfix-only``, only Postfix runs (exit status 2 in the first case).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from tests.integration.peers import (  # noqa: E402
    PostfixInstance,
    SMTPDaemon,
    maildir_files,
    smtp_source,
)

SENDER = "from@bench.test"
RECIPIENT = "user@example.test"
HELO = "bench.test"
WARMUP = 200
# All sessions come from 127.0.0.1: lift the per-client connection limit, as
# Postfix exempts $mynetworks from its own (smtpd_client_event_limit_exceptions).
GATEWAY_SMTP_CONFIG = "max_connections_per_ip = 1000\n"
# Postfix delivers with local(8), a process of its own; the gateway too
# ([delivery] process, its default, said here to keep the figures comparable):
# its Maildir writes and fsyncs then no longer compete with SMTP for the main
# process's interpreter lock (--gateway-delivery-config "process = false" for
# the threads of the main process).
GATEWAY_DELIVERY_CONFIG = "process = true\n"
TOOLS = ("/usr/sbin/postfix", "/usr/sbin/postqueue", "/usr/sbin/smtp-source")
INSTALL = "install Debian's postfix as .ci/run does"


@dataclass
class Target(common.Target):
    maildir: Path


def run_once(target: Target, count: int, sessions: int, size: int, reuse: bool) -> float:
    """msgs/s from smtp-source's start to the last message in the Maildir."""
    before = {p.name for p in maildir_files(target.maildir)}
    started = time.time()
    smtp_source(target.port, count, sessions, size, reuse, SENDER, RECIPIENT, HELO)
    deadline = time.monotonic() + max(120.0, count / 20)
    while True:
        new = [p for p in maildir_files(target.maildir) if p.name not in before]
        if len(new) >= count:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: {len(new)}/{count} messages in the Maildir")
        time.sleep(0.05)
    last = 0.0
    for path in new:
        try:
            last = max(last, path.stat().st_mtime)
        except FileNotFoundError:  # moved new/ -> cur/ meanwhile
            last = max(last, time.time())
    return count / (last - started)


def main() -> int:
    parser = common.bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=5000, help="messages per run (-m)")
    parser.add_argument("--sessions", type=int, default=20, help="parallel sessions (-s)")
    parser.add_argument("--size", type=int, default=4096, help="message size (-l)")
    common.add_gateway_config(parser, "smtp", GATEWAY_SMTP_CONFIG)
    common.add_gateway_config(parser, "delivery", GATEWAY_DELIVERY_CONFIG)
    args = common.parse_options(parser, "postfix")
    if not common.check_setup("smtp_ingest", "a private Postfix", TOOLS, INSTALL):
        return 1

    gateway_missing = False
    with common.Workspace("smtp-ingest-", args.keep) as workspace:
        targets: list[Target] = []
        if not args.postfix_only:
            if not common.gateway_has("smtp", "Postfix"):
                gateway_missing = True
            else:
                (workspace.path / "gateway").mkdir()
                gateway = SMTPDaemon(
                    workspace.path / "gateway",
                    smtp_config=args.gateway_smtp_config,
                    extra_config=f"[delivery]\n{args.gateway_delivery_config}",
                )
                gateway.add_user(RECIPIENT, "bench")
                workspace.manage(gateway)
                gateway.start()
                targets.append(Target("gateway", gateway.smtp_port, gateway.maildir(RECIPIENT)))
        postfix = PostfixInstance(workspace.path / "postfix", maildir_domain="example.test")
        box = postfix.add_mailbox(RECIPIENT)
        workspace.defer(postfix.close)
        postfix.start()
        targets.append(Target("postfix", postfix.port, box))

        print(
            f"smtp-source -s {args.sessions} -m {args.count} -l {args.size} "
            f"-f {SENDER} -t {RECIPIENT} -M {HELO} 127.0.0.1:PORT [-d]; "
            f"{args.rounds} rounds, alternating; {os.cpu_count()} CPUs"
        )
        for target in targets:  # first-run costs (process spawn, cold caches)
            run_once(target, WARMUP, args.sessions, args.size, reuse=False)

        results: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
        for round_no in range(args.rounds):
            for reuse in (False, True):
                for target in common.in_turn(targets, round_no + reuse):
                    rate = run_once(target, args.count, args.sessions, args.size, reuse)
                    results[reuse].setdefault(target.name, []).append(rate)
                    mode = "-d (reuse)" if reuse else "per-connection"
                    print(
                        f"round {round_no + 1} {mode:>14} {target.name:>8}: {rate:8.0f} msgs/s",
                        flush=True,
                    )

        print("\nmedians:")
        for reuse, rates in results.items():
            mode = "reusing connections (-d)" if reuse else "one message per connection"
            print(f"  {mode}: {common.medians_line(rates, 'msgs/s', 'postfix')}")
    return 2 if gateway_missing else 0


if __name__ == "__main__":
    common.run_main("smtp_ingest", main)
