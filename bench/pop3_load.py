"""POP3 load benchmark: the gateway against Dovecot, reading the same Maildir.

Run through ``bash bench/pop3_load.sh`` (as root, from the repository, with
.venv). Builds one Maildir of ``--messages`` messages (deterministic: mostly
2-8 KiB, some 50-200 KiB, one in a hundred 1 MiB; LF line ends and a few
lines starting with a dot, as Maildir files have them; in ``new/`` with
``,S=<size>`` in the name), gives identical copies to a private Dovecot
(:class:`~tests.integration.dovecot.DovecotInstance`, POP3 on loopback) and
to the gateway (``pop3`` listener on loopback), then, for each of
``--rounds`` rounds and alternating which goes first, runs ``--clients``
client processes of ``--sessions`` sequential sessions each against each
server. Each client process has its own user with its own copy of the
mailbox: a server may lock a maildrop for the whole session (RFC 1939 8;
the gateway does), so concurrent sessions of one user would measure
refusals (``--shared-mailbox`` to try anyway). A session is USER, PASS,
STAT, UIDL, RETR of every message, QUIT (each command one op; no DELE, so
the mailbox stays as it is) and checks that STAT's count and octets,
UIDL's count and the sum of the retrieved sizes are what the Maildir holds;
any difference is an error. RETR replies are read in blocks (see
:class:`BulkPOP3`; ``--line-reader`` for poplib's own). Prints ops/s per run
(all clients' ops over the wall time from a common start to the last
session's end) with the CPU the clients took, the medians and the ratio
gateway/Dovecot.

Without the gateway's POP3 server (no ``gateway.pop3.server``, or a gateway
that does not start with a ``pop3`` listener: its reason is printed), or
with ``--dovecot-only``, only Dovecot runs (exit status 2 unless
``--dovecot-only``).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import multiprocessing
import multiprocessing.synchronize
import os
import poplib
import queue
import random
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.daemon import Daemon  # noqa: E402
from tests.integration.dovecot import DovecotInstance, have_dovecot  # noqa: E402
from tests.integration.peers import LOOPBACK, free_ports, wait_listening  # noqa: E402

USER = "user@example.test"  # the To: of every message; mailboxes are user<N>@...
PASSWORD = "bench-pop3"
SEED = 20261128
SESSION_TIMEOUT = 600.0
# Dovecot runs with disable_plaintext_auth = no and a raised
# mail_max_userip_connections; the same for the gateway: USER/PASS without TLS
# from loopback (as from its trusted networks), no per-IP limit in the way.
GATEWAY_POP3_CONFIG = 'trusted_networks = ["127.0.0.1/32"]\nmax_connections_per_ip = 1000\n'


def pop3_ready() -> bool:
    try:
        return importlib.util.find_spec("gateway.pop3.server") is not None
    except ModuleNotFoundError:
        return False


# --------------------------------------------------------------------------
# The mailbox


@dataclass(frozen=True)
class Mailbox:
    """What every session must see: message count and total octets as POP3
    counts them (CRLF line ends)."""

    count: int
    octets: int
    file_bytes: int


def message_size(rng: random.Random, index: int) -> int:
    """Mixed sizes: one in a hundred 1 MiB, about 6 % 50-200 KiB, else 2-8 KiB."""
    if index % 100 == 37:
        return 1024 * 1024
    if rng.random() < 0.06:
        return rng.randint(50 * 1024, 200 * 1024)
    return rng.randint(2 * 1024, 8 * 1024)


def build_maildir(maildir: Path, messages: int, seed: int = SEED) -> Mailbox:
    """Write ``messages`` messages into ``maildir/new`` (deterministic)."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "     ,.-"
    pool: list[bytes] = []
    for n in range(256):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(20, 76)))
        if n % 50 == 0:
            text = "." + text  # dot-stuffed on the wire
        pool.append(text.encode() + b"\n")
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    octets = file_bytes = 0
    for index in range(messages):
        target = message_size(rng, index)
        parts = [
            f"From: <sender{index % 17}@bench.test>\n"
            f"To: <{USER}>\n"
            f"Subject: POP3 load message {index}\n"
            f"Message-ID: <{index}.{seed}@bench.test>\n"
            f"Date: Thu, 1 Jan 2026 00:00:00 +0000\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n".encode()
        ]
        size = len(parts[0])
        while size < target:
            line = pool[rng.randrange(len(pool))]
            parts.append(line)
            size += len(line)
        data = b"".join(parts)
        name = f"{1767225600 + index}.M{index:06d}P1.bench.test,S={len(data)}"
        (maildir / "new" / name).write_bytes(data)
        octets += len(data) + data.count(b"\n")
        file_bytes += len(data)
    return Mailbox(messages, octets, file_bytes)


# --------------------------------------------------------------------------
# Clients


class BulkPOP3(poplib.POP3):
    """poplib's client with a RETR that reads the multi-line reply in blocks.

    poplib's own ``retr`` reads and unstuffs line by line, which costs about
    as much CPU as the server spends sending; with two CPUs its four client
    processes, not the server, would set the pace. ``retr_size`` reads up to
    the terminating ``CRLF.CRLF`` and returns the message's size after
    unstuffing (what STAT counts).
    """

    def retr_size(self, which: int) -> int:
        self.sock.sendall(f"RETR {which}\r\n".encode())
        reader = cast(io.BufferedReader, self.file)
        status = reader.readline(2049)  # poplib's line limit (_MAXLINE)
        if not status.startswith(b"+OK"):
            raise poplib.error_proto(status)
        data = bytearray(b"\r\n")  # so an empty message also ends in CRLF.CRLF
        while not data.endswith(b"\r\n.\r\n"):
            chunk = reader.read1(1 << 16)
            if not chunk:
                raise poplib.error_proto("connection closed inside RETR")
            data += chunk
        # The message (stuffed, with its last CRLF) is data[2:-3]; a line
        # starting with a dot was sent with one more (the first line too:
        # data starts with our CRLF); the terminator's dot is not counted.
        stuffed = data.count(b"\r\n.", 0, len(data) - 3)
        return len(data) - 5 - stuffed


def session(port: int, user: str, expected: Mailbox, line_reader: bool = False) -> int:
    """One POP3 session reading everything; returns the number of commands.
    Raises if what the server shows differs from ``expected``. With
    ``line_reader``, RETR is poplib's own (line by line)."""
    pop = BulkPOP3(LOOPBACK, port, timeout=SESSION_TIMEOUT)
    pop.user(user)
    pop.pass_(PASSWORD)
    ops = 2
    count, octets = pop.stat()
    ops += 1
    if (count, octets) != (expected.count, expected.octets):
        raise RuntimeError(f"STAT {count} {octets}, expected {expected.count} {expected.octets}")
    _, listing, _ = pop.uidl()
    ops += 1
    if len(listing) != count or len({line.split()[1] for line in listing}) != count:
        raise RuntimeError(f"UIDL listed {len(listing)} messages (or duplicates), not {count}")
    retrieved = 0
    for number in range(1, count + 1):
        if line_reader:
            _, lines, _ = pop.retr(number)  # poplib removes dot-stuffing
            retrieved += sum(len(line) + 2 for line in lines)
        else:
            retrieved += pop.retr_size(number)
        ops += 1
    if retrieved != expected.octets:
        raise RuntimeError(f"RETR of all gave {retrieved} octets, STAT said {expected.octets}")
    pop.quit()
    return ops + 1


def client(
    port: int,
    user: str,
    sessions: int,
    expected: Mailbox,
    line_reader: bool,
    barrier: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue[tuple[str, int, float, str]],
) -> None:
    """A client process: wait for the common start, run ``sessions``
    sessions one after the other, report ("ok", ops, CPU seconds, "") or
    ("error", 0, 0.0, text)."""
    try:
        barrier.wait(60)
        cpu = time.process_time()
        ops = sum(session(port, user, expected, line_reader) for _ in range(sessions))
        results.put(("ok", ops, time.process_time() - cpu, ""))
    except BaseException as error:  # report everything, also SIGINT
        results.put(("error", 0, 0.0, f"{type(error).__name__}: {error}"))


@dataclass
class Target:
    name: str
    port: int


@dataclass
class Run:
    ops: int
    seconds: float
    client_cpu: float  # CPU seconds the client processes used, all together


def run_load(
    target: Target,
    users: list[str],
    clients: int,
    sessions: int,
    expected: Mailbox,
    line_reader: bool,
) -> Run:
    """One run of ``clients`` processes x ``sessions`` sessions; client ``k``
    logs in as ``users[k % len(users)]``."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    results: multiprocessing.Queue[tuple[str, int, float, str]] = context.Queue()
    processes = [
        context.Process(
            target=client,
            args=(
                target.port,
                users[k % len(users)],
                sessions,
                expected,
                line_reader,
                barrier,
                results,
            ),
            daemon=True,
        )
        for k in range(clients)
    ]
    try:
        for process in processes:
            process.start()
        barrier.wait(60)  # every client is forked and ready: start the clock
        started = time.perf_counter()
        total = 0
        cpu = 0.0
        errors = []
        for _ in processes:
            try:
                status, ops, seconds, text = results.get(timeout=SESSION_TIMEOUT * sessions)
            except queue.Empty:
                raise RuntimeError(f"{target.name}: a client did not finish") from None
            if status == "ok":
                total += ops
                cpu += seconds
            else:
                errors.append(text)
        elapsed = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"{target.name}: " + "; ".join(errors))
        return Run(total, elapsed, cpu)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(30)


# --------------------------------------------------------------------------
# The gateway with a POP3 listener


class POP3Daemon(Daemon):
    """The gateway with a ``pop3`` listener on a free loopback port (and a
    ``[pop3]`` section if ``pop3_config`` is given)."""

    def __init__(self, directory: Path, pop3_config: str = "") -> None:
        (self.pop3_port,) = free_ports(1)
        extra = f'pop3 = "tcp:{self.pop3_port}:interface={LOOPBACK}"\n'
        if pop3_config:
            extra += f"[pop3]\n{pop3_config.rstrip()}\n"
        super().__init__(directory, extra)

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        process = super().start(wait)
        if wait:
            wait_listening(self.pop3_port, what="gateway pop3")
        return process


# --------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--sessions", type=int, default=5, help="sequential sessions per client")
    parser.add_argument("--messages", type=int, default=1000, help="messages in the mailbox")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--gateway-pop3-config",
        default=os.environ.get("BENCH_GATEWAY_POP3_CONFIG", GATEWAY_POP3_CONFIG),
        help="TOML lines for the gateway's [pop3] section (default: %(default)r)",
    )
    parser.add_argument(
        "--line-reader",
        action="store_true",
        help="RETR with poplib's line-by-line reader (more client CPU)",
    )
    parser.add_argument(
        "--shared-mailbox",
        action="store_true",
        help="all clients read one user's mailbox (needs a server without maildrop lock)",
    )
    parser.add_argument("--dovecot-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("must run as root (a private Dovecot instance)", file=sys.stderr)
        return 1
    if not have_dovecot():
        print("no /usr/sbin/dovecot: install dovecot-core and dovecot-pop3d", file=sys.stderr)
        return 1

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    workdir = Path(tempfile.mkdtemp(prefix="pop3-load-"))
    cleanups: list[Callable[[], None]] = []
    gateway_missing = False
    try:
        master = workdir / "Maildir"
        expected = build_maildir(master, args.messages, args.seed)
        print(
            f"mailbox: {expected.count} messages, {expected.file_bytes} bytes in files, "
            f"{expected.octets} octets in POP3 (CRLF)"
        )

        # One mailbox per client process: a POP3 server may lock the maildrop
        # for the whole session (RFC 1939 8; the gateway does, Dovecot's
        # pop3_lock_session defaults to no), so concurrent sessions of one
        # user would measure refusals. --shared-mailbox: one user for all.
        if args.shared_mailbox:
            users = [USER]
        else:
            users = [f"user{k + 1}@example.test" for k in range(args.clients)]
        targets: list[Target] = []
        dovecot = DovecotInstance(workdir / "dovecot")
        cleanups.append(dovecot.close)
        for user in users:
            dovecot.add_user(user, PASSWORD)
            shutil.copytree(master, dovecot.maildir(user))
            dovecot.adopt(dovecot.maildir(user))
        dovecot.start()
        targets.append(Target("dovecot", dovecot.pop3_port))

        if not args.dovecot_only:
            if not pop3_ready():
                gateway_missing = True
                print("gateway: gateway.pop3.server does not exist yet; Dovecot only")
            else:
                (workdir / "gateway").mkdir()
                gateway = POP3Daemon(workdir / "gateway", args.gateway_pop3_config)
                cleanups.append(gateway.close)

                def stop_gateway() -> None:
                    if gateway.process is not None:
                        gateway.stop()

                cleanups.append(stop_gateway)
                try:
                    # {PLAIN} as in Dovecot's passwd-file: both servers check
                    # the same kind of password, so the run measures POP3,
                    # not bcrypt (a BLF-CRYPT check costs ~50 ms a login).
                    gateway.data_dir.mkdir(parents=True, exist_ok=True)
                    (gateway.data_dir / "users").write_text(
                        "".join(f"{user}:{{PLAIN}}{PASSWORD}\n" for user in users)
                    )
                    for user in users:
                        shutil.copytree(master, gateway.maildir(user), dirs_exist_ok=True)
                    gateway.start()
                except (AssertionError, RuntimeError) as error:
                    # The module exists but is not wired up yet (e.g. the
                    # configuration rejects the pop3 listener): say so, and
                    # measure Dovecot alone.
                    gateway_missing = True
                    reason = str(error).strip().splitlines()[-1][:300]
                    print(f"gateway: cannot serve POP3 yet ({reason}); Dovecot only")
                else:
                    targets.append(Target("gateway", gateway.pop3_port))

        ops_per_session = 5 + expected.count
        print(
            f"{args.clients} client processes x {args.sessions} sessions on "
            + ("one shared mailbox" if args.shared_mailbox else "a mailbox each (same content)")
            + f", each USER PASS STAT "
            f"UIDL RETR x{expected.count} QUIT ({ops_per_session} ops); {args.rounds} rounds, "
            f"alternating; {os.cpu_count()} CPUs; RETR read "
            + ("line by line (poplib.retr)" if args.line_reader else "in blocks"),
            flush=True,
        )
        for target in targets:  # first session: new/ -> cur/, \Seen, cold caches
            for user in users:
                session(target.port, user, expected)

        results: dict[str, list[float]] = {}
        for round_no in range(args.rounds):
            order = targets if round_no % 2 == 0 else targets[::-1]
            for target in order:
                run = run_load(
                    target, users, args.clients, args.sessions, expected, args.line_reader
                )
                rate = run.ops / run.seconds
                results.setdefault(target.name, []).append(rate)
                # How much of the machine the clients took: near the CPU
                # count, the clients, not the server, set the pace.
                busy = run.client_cpu / run.seconds
                print(
                    f"round {round_no + 1} {target.name:>8}: {run.ops} ops in "
                    f"{run.seconds:6.2f} s = {rate:8.0f} ops/s "
                    f"(clients busy {busy:.2f} of {os.cpu_count()} CPUs)",
                    flush=True,
                )

        medians = {name: statistics.median(rates) for name, rates in results.items()}
        line = ", ".join(f"{name} {rate:.0f} ops/s" for name, rate in medians.items())
        if "gateway" in medians and "dovecot" in medians:
            line += f"; gateway/Dovecot = {medians['gateway'] / medians['dovecot']:.2f}"
        print(f"\nmedians: {line}")
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
    except (RuntimeError, subprocess.CalledProcessError, poplib.error_proto, OSError) as error:
        print(f"pop3_load: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("pop3_load: interrupted", file=sys.stderr)
        sys.exit(130)
