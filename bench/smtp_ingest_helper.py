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

import argparse
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def smtp_ready() -> bool:
    try:
        return importlib.util.find_spec("gateway.smtp.server") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Target:
    name: str
    port: int
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=5000, help="messages per run (-m)")
    parser.add_argument("--sessions", type=int, default=20, help="parallel sessions (-s)")
    parser.add_argument("--size", type=int, default=4096, help="message size (-l)")
    parser.add_argument(
        "--gateway-smtp-config",
        default=os.environ.get("BENCH_GATEWAY_SMTP_CONFIG", GATEWAY_SMTP_CONFIG),
        help="TOML lines for the gateway's [smtp] section (default: %(default)r)",
    )
    parser.add_argument("--postfix-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("must run as root (a private Postfix instance)", file=sys.stderr)
        return 1

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    workdir = Path(tempfile.mkdtemp(prefix="smtp-ingest-"))
    cleanups: list[Callable[[], None]] = []
    gateway_missing = False
    try:
        targets: list[Target] = []
        if not args.postfix_only:
            if not smtp_ready():
                gateway_missing = True
                print("gateway: gateway.smtp.server does not exist yet; Postfix only")
            else:
                (workdir / "gateway").mkdir()
                gateway = SMTPDaemon(workdir / "gateway", smtp_config=args.gateway_smtp_config)
                gateway.add_user(RECIPIENT, "bench")
                cleanups.append(gateway.close)
                cleanups.append(lambda: gateway.stop() if gateway.process else None)
                gateway.start()
                targets.append(Target("gateway", gateway.smtp_port, gateway.maildir(RECIPIENT)))
        postfix = PostfixInstance(workdir / "postfix", maildir_domain="example.test")
        box = postfix.add_mailbox(RECIPIENT)
        cleanups.append(postfix.close)
        postfix.start()
        targets.append(Target("postfix", postfix.port, box))

        print(
            f"smtp-source -s {args.sessions} -m {args.count} -l {args.size} "
            f"-f {SENDER} -t {RECIPIENT} -M {HELO} 127.0.0.1:PORT [-d]; "
            f"{args.rounds} rounds, alternating; {os.cpu_count()} CPUs"
        )
        for target in targets:  # first-run costs (process spawn, cold caches)
            run_once(target, WARMUP, args.sessions, args.size, reuse=False)

        results: dict[tuple[str, bool], list[float]] = {}
        for round_no in range(args.rounds):
            for reuse in (False, True):
                order = targets if (round_no + reuse) % 2 == 0 else targets[::-1]
                for target in order:
                    rate = run_once(target, args.count, args.sessions, args.size, reuse)
                    results.setdefault((target.name, reuse), []).append(rate)
                    mode = "-d (reuse)" if reuse else "per-connection"
                    print(
                        f"round {round_no + 1} {mode:>14} {target.name:>8}: {rate:8.0f} msgs/s",
                        flush=True,
                    )

        print("\nmedians:")
        for reuse in (False, True):
            mode = "reusing connections (-d)" if reuse else "one message per connection"
            rates = {
                name: statistics.median(values)
                for (name, r), values in results.items()
                if r == reuse
            }
            line = ", ".join(f"{name} {rate:.0f} msgs/s" for name, rate in rates.items())
            if "gateway" in rates and "postfix" in rates:
                line += f"; gateway/Postfix = {rates['gateway'] / rates['postfix']:.2f}"
            print(f"  {mode}: {line}")
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as error:  # keep cleaning up
                print(f"cleanup: {error}", file=sys.stderr)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 2 if gateway_missing else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
