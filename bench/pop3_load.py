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

import io
import os
import poplib
import random
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from tests.integration.peers import LOOPBACK  # noqa: E402

USER = "user@example.test"  # the To: of every message; mailboxes are user<N>@...
PASSWORD = "bench-pop3"
SEED = 20261128
# Dovecot runs with disable_plaintext_auth = no and a raised
# mail_max_userip_connections; the same for the gateway: USER/PASS without TLS
# from loopback (as from its trusted networks), no per-IP limit in the way.
# Dovecot serves each session in a process of its own; the gateway's POP3
# runs in worker processes ([pop3] workers, by default one per CPU), the main
# process doing the rest. Measured on 2 CPUs, same runs: workers = 1 0.67 of
# Dovecot (one process serving POP3, as with workers = 0: 0.68-0.71),
# 2 workers 0.87, 3 workers 0.85.
GATEWAY_POP3_CONFIG = 'trusted_networks = ["127.0.0.1/32"]\nmax_connections_per_ip = 1000\n'



# --------------------------------------------------------------------------
# The mailbox


@dataclass(frozen=True)
class Mailbox:
    """What every session must see: message count and total octets as POP3
    counts them (CRLF line ends)."""

    count: int
    octets: int
    file_bytes: int

    def summary(self) -> str:
        return (
            f"{self.count} messages, {self.file_bytes} bytes in files, "
            f"{self.octets} octets in POP3 (CRLF)"
        )


def build_maildir(maildir: Path, messages: int, seed: int = SEED) -> Mailbox:
    """Write ``messages`` messages into ``maildir/new`` (deterministic)."""
    rng = random.Random(seed)
    pool = common.line_pool(
        rng, string.ascii_letters + string.digits + "     ,.-", 20, dot_every=50
    )
    common.new_maildir(maildir)
    octets = file_bytes = 0
    for index in range(messages):
        target = common.message_size(rng, index)
        head = (
            f"From: <sender{index % 17}@bench.test>\n"
            f"To: <{USER}>\n"
            f"Subject: POP3 load message {index}\n"
            f"Message-ID: <{index}.{seed}@bench.test>\n"
            f"Date: Thu, 1 Jan 2026 00:00:00 +0000\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n".encode()
        )
        data = head + common.text_lines(rng, pool, target - len(head))
        (maildir / "new" / common.maildir_name(1767225600 + index, index, data)).write_bytes(data)
        octets += common.crlf_size(data)
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
    pop = BulkPOP3(LOOPBACK, port, timeout=common.SESSION_TIMEOUT)
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


def client_sessions(
    port: int, expected: Mailbox, line_reader: bool
) -> Callable[[int, str], common.Session]:
    """For :func:`common.run_load`: a client's sessions as ``user``."""

    def client_session(_k: int, user: str) -> common.Session:
        return lambda _latencies: session(port, user, expected, line_reader)

    return client_session


# --------------------------------------------------------------------------


def main() -> int:
    parser = common.bench_parser(__doc__)
    common.add_load_options(parser, clients=4, sessions=5, seed=SEED)
    common.add_gateway_config(parser, "pop3", GATEWAY_POP3_CONFIG)
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
    args = common.parse_options(parser, "dovecot")
    if not common.check_dovecot("pop3_load", "pop3"):
        return 1

    with common.Workspace("pop3-load-", args.keep) as workspace:
        master = workspace.path / "Maildir"
        expected = build_maildir(master, args.messages, args.seed)
        print(f"mailbox: {expected.summary()}")

        # One mailbox per client process: a POP3 server may lock the maildrop
        # for the whole session (RFC 1939 8; the gateway does, Dovecot's
        # pop3_lock_session defaults to no), so concurrent sessions of one
        # user would measure refusals. --shared-mailbox: one user for all.
        if args.shared_mailbox:
            users = [USER]
        else:
            users = [f"user{k + 1}@example.test" for k in range(args.clients)]
        dovecot, gateway = common.start_servers(
            workspace,
            "pop3",
            users,
            PASSWORD,
            master,
            gateway_config=None if args.dovecot_only else args.gateway_pop3_config,
        )
        targets = [common.Target("dovecot", dovecot.pop3_port)]
        if gateway is not None:
            targets.append(common.Target("gateway", gateway.port))

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
        for round_no, target, run in common.load_rounds(
            targets, args, users, lambda port: client_sessions(port, expected, args.line_reader)
        ):
            results.setdefault(target.name, []).append(run.rate)
            print(
                f"round {round_no} {target.name:>8}: {run.ops} ops in "
                f"{run.seconds:6.2f} s = {run.rate:8.0f} ops/s ({run.busy()})",
                flush=True,
            )

        print(f"\nmedians: {common.medians_line(results, 'ops/s', 'dovecot')}")
    return 2 if gateway is None and not args.dovecot_only else 0


if __name__ == "__main__":
    common.run_main("pop3_load", main, (poplib.error_proto,))
