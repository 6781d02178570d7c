"""What the benchmarks share (bench/smtp_ingest_helper.py, bench/pop3_load.py,
bench/imap_load.py); not a benchmark itself.

* Options and checks: :func:`bench_parser` and friends build the common
  command line; :func:`check_setup` is what the shell wrappers used to check
  (the peer's programs, root); :func:`run_main` turns errors into one line
  and an exit status.
* :class:`Workspace`: the temporary directory and the stack of cleanups,
  run in reverse also on Ctrl-C, SIGTERM and SIGHUP.
* The mailbox: :func:`message_size` (the size mix), :func:`line_pool` and
  :func:`text_lines` (bodies), :func:`new_maildir`, :func:`maildir_name`.
* The servers: :class:`ListenerDaemon` (the gateway with one listener),
  :func:`start_gateway` and :func:`start_dovecot` (identical copies of one
  Maildir for every user).
* The load: :func:`run_load` runs client processes from a common start and
  adds up their ops, CPU time and latencies into a :class:`Run`;
  :func:`in_turn` alternates which server goes first; :func:`medians_line`
  prints the medians and the ratio gateway/peer.

Import it as ``bench.common`` after putting the repository on ``sys.path``.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import multiprocessing.synchronize
import os
import queue
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import NoReturn, TypeVar

from tests.integration.daemon import Daemon
from tests.integration.dovecot import DovecotInstance
from tests.integration.peers import LOOPBACK, free_ports, wait_listening

T = TypeVar("T")
SESSION_TIMEOUT = 600.0  # seconds for one client session

# --------------------------------------------------------------------------
# Options, checks, exit status


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by ``doc``'s first line, with ``--rounds``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def add_load_options(
    parser: argparse.ArgumentParser, clients: int, sessions: int, seed: int
) -> None:
    """``--clients``, ``--sessions``, ``--messages`` and ``--seed``."""
    parser.add_argument("--clients", type=int, default=clients, help="client processes")
    parser.add_argument(
        "--sessions", type=int, default=sessions, help="sequential sessions per client"
    )
    parser.add_argument("--messages", type=int, default=1000, help="messages in the mailbox")
    parser.add_argument("--seed", type=int, default=seed)


def add_gateway_config(
    parser: argparse.ArgumentParser, protocol: str, default: str, what: str = ""
) -> None:
    """``--gateway-<protocol>-config``, by default $BENCH_GATEWAY_<PROTOCOL>_CONFIG
    or ``default``."""
    parser.add_argument(
        f"--gateway-{protocol}-config",
        default=os.environ.get(f"BENCH_GATEWAY_{protocol.upper()}_CONFIG", default),
        help=f"TOML lines for the gateway's [{protocol}] section{what} (default: %(default)r)",
    )


def parse_options(parser: argparse.ArgumentParser, peer: str) -> argparse.Namespace:
    """Add ``--<peer>-only`` and ``--keep``; parse the command line."""
    parser.add_argument(f"--{peer}-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def check_setup(prog: str, peer: str, tools: Sequence[str], install: str) -> bool:
    """True if the peer's programs are there and we are root (the peer is a
    private instance started here); else say what is missing."""
    for tool in tools:
        if not os.access(tool, os.X_OK):
            print(f"{prog}: {tool} missing; {install}", file=sys.stderr)
            return False
    if os.geteuid() != 0:
        print(f"{prog}: must run as root (it starts {peer})", file=sys.stderr)
        return False
    return True


def check_dovecot(prog: str, protocol: str) -> bool:
    """:func:`check_setup` for a private Dovecot serving ``protocol``."""
    return check_setup(
        prog,
        "a private Dovecot",
        (
            "/usr/sbin/dovecot",
            f"/usr/lib/dovecot/{protocol}",
            f"/usr/lib/dovecot/{protocol}-login",
        ),
        f"install Debian's dovecot-core and dovecot-{protocol}d",
    )


def run_main(
    prog: str, main: Callable[[], int], errors: tuple[type[BaseException], ...] = ()
) -> NoReturn:
    """``sys.exit(main())``; an error (``errors`` too) is one line and exit
    status 1, Ctrl-C exit status 130."""
    caught: tuple[type[BaseException], ...] = (
        RuntimeError,
        subprocess.CalledProcessError,
        OSError,
        *errors,
    )
    try:
        sys.exit(main())
    except caught as error:
        print(f"{prog}: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)


def module_ready(name: str) -> bool:
    """True if the module ``name`` exists (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def gateway_has(protocol: str, peer: str) -> bool:
    """True if the gateway has a ``protocol`` server; else say that only
    ``peer`` runs."""
    if module_ready(f"gateway.{protocol}.server"):
        return True
    print(f"gateway: gateway.{protocol}.server does not exist yet; {peer} only")
    return False


# --------------------------------------------------------------------------
# The temporary directory and its cleanups


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


class Workspace:
    """A temporary directory (``path``) and a stack of cleanups: on leaving
    the ``with`` block, also by an exception, Ctrl-C, SIGTERM or SIGHUP, the
    cleanups run last first (an error in one is printed, the others still
    run), then the directory is removed (kept with ``keep``)."""

    def __init__(self, prefix: str, keep: bool = False) -> None:
        self.prefix = prefix
        self.keep = keep
        self.path = Path()
        self.cleanups: list[Callable[[], object]] = []

    def __enter__(self) -> Workspace:
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGHUP, _terminate)
        self.path = Path(tempfile.mkdtemp(prefix=self.prefix))
        return self

    def defer(self, cleanup: Callable[[], object]) -> None:
        """Run ``cleanup`` on leaving (before those deferred earlier)."""
        self.cleanups.append(cleanup)

    def manage(self, daemon: Daemon) -> None:
        """On leaving, stop ``daemon`` if it was started, then close it."""
        self.defer(daemon.close)

        def stop() -> None:
            if daemon.process is not None:
                daemon.stop()

        self.defer(stop)

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:  # keep cleaning up
                print(f"cleanup: {error}", file=sys.stderr)
        if self.keep:
            print(f"kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


# --------------------------------------------------------------------------
# The mailbox


def message_size(rng: random.Random, index: int) -> int:
    """Mixed sizes: one in a hundred 1 MiB, about 6 % 50-200 KiB, else 2-8 KiB."""
    if index % 100 == 37:
        return 1024 * 1024
    if rng.random() < 0.06:
        return rng.randint(50 * 1024, 200 * 1024)
    return rng.randint(2 * 1024, 8 * 1024)


def line_pool(rng: random.Random, alphabet: str, shortest: int, dot_every: int = 0) -> list[bytes]:
    """256 lines (LF) of ``shortest`` to 76 characters from ``alphabet``;
    with ``dot_every``, every so many lines start with a dot (dot-stuffed on
    the wire)."""
    pool = []
    for n in range(256):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(shortest, 76)))
        if dot_every and n % dot_every == 0:
            text = "." + text
        pool.append(text.encode() + b"\n")
    return pool


def text_lines(rng: random.Random, pool: list[bytes], target: int) -> bytes:
    """At least ``target`` bytes of lines from ``pool`` (nothing if ``target``
    is not positive)."""
    parts = []
    size = 0
    while size < target:
        line = pool[rng.randrange(len(pool))]
        parts.append(line)
        size += len(line)
    return b"".join(parts)


def new_maildir(maildir: Path) -> None:
    """``maildir`` with its ``tmp``, ``new`` and ``cur``."""
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)


def maildir_name(stamp: int, index: int, data: bytes) -> str:
    """The file name (without the ``:2,`` flags) of message ``index``."""
    return f"{stamp}.M{index:06d}P1.bench.test,S={len(data)}"


def crlf_size(data: bytes) -> int:
    """The size of ``data`` (LF line ends) as the wire counts it (CRLF)."""
    return len(data) + data.count(b"\n")


# --------------------------------------------------------------------------
# The servers


class ListenerDaemon(Daemon):
    """The gateway with a ``protocol`` listener on a free loopback port
    (``port``) and a ``[protocol]`` section of ``config`` if given."""

    def __init__(self, directory: Path, protocol: str, config: str = "") -> None:
        self.protocol = protocol
        (self.port,) = free_ports(1)
        extra = f'{protocol} = "tcp:{self.port}:interface={LOOPBACK}"\n'
        if config:
            extra += f"[{protocol}]\n{config.rstrip()}\n"
        super().__init__(directory, extra)

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        process = super().start(wait)
        if wait:
            wait_listening(self.port, what=f"gateway {self.protocol}")
        return process


def start_dovecot(
    workspace: Workspace, users: list[str], password: str, master: Path, extra_conf: str = ""
) -> DovecotInstance:
    """A private Dovecot in ``workspace`` where each of ``users`` logs in
    with ``password`` and has a copy of the Maildir ``master``."""
    dovecot = DovecotInstance(workspace.path / "dovecot", extra_conf=extra_conf)
    workspace.defer(dovecot.close)
    for user in users:
        dovecot.add_user(user, password)
        shutil.copytree(master, dovecot.maildir(user))
        dovecot.adopt(dovecot.maildir(user))
    dovecot.start()
    return dovecot


def start_servers(
    workspace: Workspace,
    protocol: str,
    users: list[str],
    password: str,
    master: Path,
    *,
    dovecot_conf: str = "",
    gateway_config: str | None = None,
) -> tuple[DovecotInstance, ListenerDaemon | None]:
    """:func:`start_dovecot`, and :func:`start_gateway` unless
    ``gateway_config`` is None (``--dovecot-only``)."""
    dovecot = start_dovecot(workspace, users, password, master, dovecot_conf)
    if gateway_config is None:
        return dovecot, None
    return dovecot, start_gateway(workspace, protocol, gateway_config, users, password, master)


def start_gateway(
    workspace: Workspace,
    protocol: str,
    config: str,
    users: list[str],
    password: str,
    master: Path,
) -> ListenerDaemon | None:
    """The gateway in ``workspace`` serving ``protocol`` (:func:`start_dovecot`'s
    users and copies); None, with the reason printed, if it cannot yet."""
    if not gateway_has(protocol, "Dovecot"):
        return None
    (workspace.path / "gateway").mkdir()
    gateway = ListenerDaemon(workspace.path / "gateway", protocol, config)
    workspace.manage(gateway)
    try:
        # {PLAIN} as in Dovecot's passwd-file: both servers check the same
        # kind of password, so the run measures the protocol, not bcrypt (a
        # BLF-CRYPT check costs ~50 ms a login).
        gateway.data_dir.mkdir(parents=True, exist_ok=True)
        (gateway.data_dir / "users").write_text(
            "".join(f"{user}:{{PLAIN}}{password}\n" for user in users)
        )
        for user in users:
            shutil.copytree(master, gateway.maildir(user), dirs_exist_ok=True)
        gateway.start()
    except (AssertionError, RuntimeError) as error:
        # The module exists but is not wired up yet (e.g. the configuration
        # rejects the listener): say so, and measure Dovecot alone.
        reason = str(error).strip().splitlines()[-1][:300]
        print(f"gateway: cannot serve {protocol.upper()} yet ({reason}); Dovecot only")
        return None
    return gateway


# --------------------------------------------------------------------------
# The load

Latencies = dict[str, list[float]]
# One session: appends latencies (seconds by kind of op), returns its ops.
Session = Callable[[Latencies], int]


@dataclass
class ClientResult:
    ops: int = 0
    cpu: float = 0.0
    latencies: Latencies = field(default_factory=dict)
    error: str = ""


@dataclass
class Run:
    ops: int
    seconds: float
    client_cpu: float  # CPU seconds the client processes used, all together
    latencies: Latencies

    @property
    def rate(self) -> float:
        return self.ops / self.seconds

    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]

    def busy(self) -> str:
        """How much of the machine the clients took: near the CPU count, the
        clients, not the server, set the pace."""
        return f"clients busy {self.client_cpu / self.seconds:.2f} of {os.cpu_count()} CPUs"


def _client(
    client_session: Callable[[int, str], Session],
    k: int,
    user: str,
    sessions: int,
    barrier: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue[ClientResult],
) -> None:
    """A client process: wait for the common start, run ``sessions``
    sessions one after the other, report a :class:`ClientResult`."""
    try:
        session = client_session(k, user)
        result = ClientResult()
        barrier.wait(60)
        cpu = time.process_time()
        for _ in range(sessions):
            result.ops += session(result.latencies)
        result.cpu = time.process_time() - cpu
        results.put(result)
    except BaseException as error:  # report everything, also SIGINT
        results.put(ClientResult(error=f"{type(error).__name__}: {error}"))


def run_load(
    name: str,
    users: list[str],
    clients: int,
    sessions: int,
    client_session: Callable[[int, str], Session],
) -> Run:
    """One run against the server ``name``: ``clients`` processes (forked)
    of ``sessions`` sessions each, timed from a common start to the last
    session's end. Process ``k`` logs in as ``user = users[k % len(users)]``
    and calls ``client_session(k, user)`` for its session function."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    results: multiprocessing.Queue[ClientResult] = context.Queue()
    processes = [
        context.Process(
            target=_client,
            args=(client_session, k, users[k % len(users)], sessions, barrier, results),
            daemon=True,
        )
        for k in range(clients)
    ]
    try:
        for process in processes:
            process.start()
        barrier.wait(60)  # every client is forked and ready: start the clock
        started = time.perf_counter()
        run = Run(0, 0.0, 0.0, {})
        errors = []
        for _ in processes:
            try:
                result = results.get(timeout=SESSION_TIMEOUT * sessions)
            except queue.Empty:
                raise RuntimeError(f"{name}: a client did not finish") from None
            if result.error:
                errors.append(result.error)
                continue
            run.ops += result.ops
            run.client_cpu += result.cpu
            for kind, values in result.latencies.items():
                run.latencies.setdefault(kind, []).extend(values)
        run.seconds = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"{name}: " + "; ".join(errors))
        return run
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(30)


@dataclass
class Target:
    """A server under load: its name (``gateway``, ``dovecot``...) and port."""

    name: str
    port: int


TargetT = TypeVar("TargetT", bound=Target)


def in_turn(targets: Sequence[T], turn: int) -> Sequence[T]:
    """``targets`` in turn ``turn``: as given on even turns, reversed on odd
    ones, so that no server always goes first."""
    return targets if turn % 2 == 0 else targets[::-1]


def rounds(targets: Sequence[T], count: int) -> Iterator[tuple[int, T]]:
    """``(round number from 1, target)`` for ``count`` rounds of every
    target, alternating which goes first (:func:`in_turn`)."""
    for round_no in range(count):
        for target in in_turn(targets, round_no):
            yield round_no + 1, target


def load_rounds(
    targets: Sequence[TargetT],
    options: argparse.Namespace,
    users: list[str],
    client_sessions: Callable[[int], Callable[[int, str], Session]],
) -> Iterator[tuple[int, TargetT, Run]]:
    """``(round number, target, run)`` for ``options.rounds`` rounds of a
    :func:`run_load` against every target (alternating), of
    ``options.clients`` and ``options.sessions`` (:func:`add_load_options`);
    ``client_sessions(port)`` gives the session functions."""
    for round_no, target in rounds(targets, options.rounds):
        run = run_load(
            target.name, users, options.clients, options.sessions, client_sessions(target.port)
        )
        yield round_no, target, run


def ratio(results: dict[str, list[float]], peer: str) -> float | None:
    """Median of the gateway's figures over the median of ``peer``'s."""
    if "gateway" not in results or peer not in results:
        return None
    return statistics.median(results["gateway"]) / statistics.median(results[peer])


def medians_line(results: dict[str, list[float]], unit: str, peer: str) -> str:
    """``gateway 123 <unit>, <peer> 456 <unit>; gateway/<Peer> = 0.27`` (in
    the order of ``results``; the ratio if both ran)."""
    line = ", ".join(
        f"{name} {statistics.median(rates):.0f} {unit}" for name, rates in results.items()
    )
    if (value := ratio(results, peer)) is not None:
        line += f"; gateway/{peer.capitalize()} = {value:.2f}"
    return line
