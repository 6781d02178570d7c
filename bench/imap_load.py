"""IMAP load benchmark: the gateway against Dovecot, serving the same Maildir.

Run through ``bash bench/imap_load.sh`` (as root, from the repository, with
.venv). Builds one Maildir of ``--messages`` messages (deterministic, see
:func:`build_maildir`: the sizes of bench/pop3_load.py, realistic headers
with display names, encoded words, Cc, groups, Reply-To and In-Reply-To so
that ENVELOPE has work, a fifth multipart/alternative, the large ones
multipart/mixed with a base64 attachment; LF line ends, ``,S=<size>`` in the
names; about 70 % in ``cur/`` as seen, the rest in ``new/``; file mtimes, the
internal dates, follow the Date: header), gives identical copies to a
private Dovecot (:class:`~tests.integration.dovecot.DovecotInstance`, IMAP
on loopback) and to the gateway (``imap`` listener on loopback, loopback as
a trusted network so LOGIN works without TLS), both with ``{PLAIN}``
passwords so a login costs the same, then, for each of ``--rounds`` rounds
and alternating which goes first, runs ``--clients`` client processes of
``--sessions`` sequential sessions each against each server. Each client
process has its own user with its own copy of the mailbox.

A session (one op per command; :func:`session`) is LOGIN (timed from the
connect, so the greeting and Dovecot's login process count), SELECT INBOX,
``FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)``, 20 ``UID FETCH <uid>
BODY.PEEK[]`` of random messages, 5 pairs of ``UID STORE <uid> +FLAGS
(\\Flagged)`` / ``-FLAGS (\\Flagged)``, ``SEARCH UNSEEN``, ``SEARCH FROM
"carol"``, ``SEARCH SINCE 1-Jan-2020 LARGER 10000``, IDLE (the command, the
``+``, DONE and the tagged OK are one op) and LOGOUT. The random choices
come from a fixed seed and name messages by their Message-ID, so both
servers do the same work whatever UIDs they gave. Every session checks what
it got against the Maildir: EXISTS, one FETCH response per message with the
right RFC822.SIZE, literal sizes of the BODY.PEEK[] fetches and the three
SEARCH counts; any difference is an error. The client speaks IMAP over a
raw socket (:class:`Connection`), reading literals in one piece, so that the
clients (whose CPU time is printed) stay cheap.

Printed per run: ops/s (all clients' ops over the wall time from a common
start to the last session's end), p50 and p99 of the per-op latency, the
CPU the clients took; then the medians, the ratio gateway/Dovecot in ops/s
and per command p50, p99 and its share of all the time the clients waited,
over all rounds.

Then (``--idle-sessions N``, default 1000; 0 to skip) one process opens N
concurrent sessions per server (asyncio, raw sockets: LOGIN, SELECT INBOX,
IDLE; spread over the users; both servers' connection, per-IP and per-user
limits raised to fit, see :func:`dovecot_limits` and :func:`gateway_limits`,
and RLIMIT_NOFILE raised) and prints the servers' resident memory before
and with the N sessions idling: the RSS of the gateway's twistd process (and
of any children), for Dovecot the sum over all processes of the instance (one
``imap`` process per session); PSS too, which counts shared pages once (the
RSS sum counts Dovecot's shared libraries and mappings once per process, so
its PSS is the fairer comparison). Dovecot's IDLE uses an inotify instance
per process: beyond ``/proc/sys/fs/inotify/max_user_instances`` (128 by
default; left as it is) it logs a warning and polls instead, which changes
no memory figure here.

Only Dovecot runs with ``--dovecot-only``, or with exit status 2 if the
gateway cannot serve IMAP (no ``gateway.imap.server``, or a gateway that does
not start with an ``imap`` listener: its reason is printed).
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import email.utils
import io
import os
import random
import re
import resource
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from tests.integration.dovecot import _dovecot_pids  # noqa: E402
from tests.integration.peers import LOOPBACK  # noqa: E402

PASSWORD = "bench-imap"
SEED = 20261129
BODY_FETCHES = 20
STORE_PAIRS = 5
SEARCH_FROM = "carol"
SINCE = (2020, 1, 1)  # SEARCH SINCE 1-Jan-2020 LARGER 10000
LARGER = 10000
SEARCHES = (
    "SEARCH UNSEEN",
    f'SEARCH FROM "{SEARCH_FROM}"',
    f"SEARCH SINCE 1-Jan-2020 LARGER {LARGER}",
)
# LOGIN SELECT FETCH, the UID FETCHes, STOREs and SEARCHes, IDLE LOGOUT
OPS_PER_SESSION = 3 + BODY_FETCHES + 2 * STORE_PAIRS + len(SEARCHES) + 2
# Loopback may log in without TLS (as Dovecot's disable_plaintext_auth = no);
# the connection limits are raised in main() to fit --idle-sessions.
GATEWAY_IMAP_CONFIG = 'trusted_networks = ["127.0.0.1/32"]\n'


# --------------------------------------------------------------------------
# The mailbox


@dataclass(frozen=True)
class Mailbox:
    """What every session must see. ``sizes[i]`` is RFC822.SIZE (CRLF line
    ends) of the message whose Message-ID is ``<i.SEED@bench.test>``."""

    sizes: tuple[int, ...]
    seed: int
    file_bytes: int
    unseen: int
    from_matches: int
    since_larger: int

    @property
    def count(self) -> int:
        return len(self.sizes)

    def summary(self) -> str:
        return (
            f"{self.count} messages, {self.file_bytes} bytes in files, "
            f"{sum(self.sizes)} octets in IMAP (CRLF); {self.unseen} unseen, "
            f"{self.from_matches} from {SEARCH_FROM!r}, {self.since_larger} "
            f"since 1-Jan-2020 larger than {LARGER}"
        )


FIRST_NAMES = [
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Zoe",
]
LAST_NAMES = ["Smith", "Jones", "O'Brien", "Müller", "Nguyen", "García", "Kowalski", "Dubois"]
DOMAINS = ["bench.test", "example.org", "lists.example.net", "mail.corp.test"]
WORDS = [
    "quarterly",
    "report",
    "meeting",
    "agenda",
    "invoice",
    "update",
    "review",
    "draft",
    "release",
    "notes",
    "budget",
    "proposal",
    "schedule",
    "deployment",
    "outage",
    "postmortem",
    "lunch",
    "travel",
    "contract",
    "feedback",
    "design",
    "roadmap",
    "security",
    "patch",
    "newsletter",
    "reminder",
    "question",
    "urgent",
]


def _encoded_word(text: str) -> str:
    """RFC 2047 Q-encoding of ``text`` (UTF-8), as MUAs write non-ASCII names."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char.isalnum() and byte < 128:
            out.append(char)
        elif char == " ":
            out.append("_")
        else:
            out.append(f"={byte:02X}")
    return f"=?UTF-8?Q?{''.join(out)}?="


def _person(rng: random.Random, first: str | None = None) -> tuple[str, str]:
    """A random ``(header value, address)``: display names plain, quoted
    (comma, apostrophe) or encoded; sometimes a bare address."""
    first = first or rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    domain = rng.choice(DOMAINS)
    address = f"{first.lower()}.{last.lower().encode('ascii', 'ignore').decode()}@{domain}"
    address = address.replace("'", "")
    style = rng.random()
    if not last.isascii():
        name = _encoded_word(f"{first} {last}")
    elif style < 0.3:
        name = f'"{last}, {first}"'
    else:
        name = f"{first} {last}"
    if style > 0.9:
        return f"<{address}>", address
    return f"{name} <{address}>", address


def _base64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"".join(encoded[i : i + 76] + b"\n" for i in range(0, len(encoded), 76))


def build_message(
    rng: random.Random, index: int, seed: int, pool: list[bytes], user: str
) -> tuple[bytes, float, str]:
    """One message; returns ``(bytes with LF line ends, date as a
    timestamp, From: value)``."""
    target = common.message_size(rng, index)
    # Dates from mid-2018 to 2025, never within two days of SINCE (so the
    # search does not depend on the server's time zone).
    low = calendar.timegm((2018, 6, 1, 0, 0, 0))
    high = calendar.timegm((2025, 12, 31, 0, 0, 0))
    boundary = calendar.timegm((*SINCE, 0, 0, 0))
    while abs((when := rng.uniform(low, high)) - boundary) < 2 * 86400:
        pass
    when = float(int(when))
    sender, _ = _person(rng, SEARCH_FROM.capitalize() if rng.random() < 0.08 else None)
    headers = [
        f"Return-Path: <bounce-{index}@{rng.choice(DOMAINS)}>",
        f"Received: from mx{rng.randint(1, 9)}.{rng.choice(DOMAINS)} "
        f"(mx.{rng.choice(DOMAINS)} [192.0.2.{rng.randint(1, 254)}])\n"
        f"\tby mail.example.test with ESMTPS id {rng.getrandbits(48):012x}\n"
        f"\tfor <{user}>; {email.utils.formatdate(when + 5)}",
        f"From: {sender}",
    ]
    to = [f"<{user}>" if rng.random() < 0.5 else f"Bench User <{user}>"]
    to += [_person(rng)[0] for _ in range(rng.choice((0, 0, 1, 3)))]
    if rng.random() < 0.05:
        headers.append("To: undisclosed-recipients:;")
    elif rng.random() < 0.05:
        team = ", ".join(_person(rng)[0] for _ in range(3))
        headers.append(f"To: Team: {team};, {to[0]}")
    else:
        headers.append("To: " + ",\n ".join(to))
    if rng.random() < 0.3:
        headers.append("Cc: " + ", ".join(_person(rng)[0] for _ in range(rng.randint(1, 4))))
    if rng.random() < 0.1:
        headers.append(f"Reply-To: {_person(rng)[0]}")
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9))).capitalize()
    if rng.random() < 0.3:
        subject = "Re: " + subject
    if rng.random() < 0.1:
        subject = _encoded_word(subject + " \u2013 \u00dcberblick")
    headers.append(f"Subject: {subject} #{index}")
    offset = rng.choice((0, 60, 120, -300, -420, 330))
    headers.append(f"Date: {_rfc2822_date(when, offset)}")
    headers.append(f"Message-ID: <{index}.{seed}@bench.test>")
    if subject.startswith("Re: "):
        thread = rng.randrange(50)
        headers.append(f"In-Reply-To: <thread-{thread}@lists.bench.test>")
        headers.append(f"References: <thread-{thread}@lists.bench.test>")
    headers.append(f"X-Mailer: BenchMail {rng.randint(1, 9)}.{rng.randint(0, 20)}")
    headers.append("MIME-Version: 1.0")

    kind = rng.random()
    if target > 40 * 1024 or kind < 0.05:
        boundary_text = f"=_mixed_{index}_{rng.getrandbits(32):08x}"
        text = common.text_lines(rng, pool, rng.randint(300, 1500))
        attachment = _base64_lines(rng.randbytes(max(512, (target - len(text) - 2000) * 3 // 4)))
        filename = f"{rng.choice(WORDS)}-{index}.pdf"
        headers.append(f'Content-Type: multipart/mixed; boundary="{boundary_text}"')
        body = (
            b"This is a multi-part message in MIME format.\n\n"
            + f"--{boundary_text}\n".encode()
            + b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n"
            + text
            + f"\n--{boundary_text}\n".encode()
            + f'Content-Type: application/pdf; name="{filename}"\n'.encode()
            + b"Content-Transfer-Encoding: base64\n"
            + f'Content-Disposition: attachment; filename="{filename}"\n\n'.encode()
            + attachment
            + f"\n--{boundary_text}--\n".encode()
        )
    elif kind < 0.25:
        boundary_text = f"=_alt_{index}_{rng.getrandbits(32):08x}"
        text = common.text_lines(rng, pool, target // 3)
        html = b"<html><body>\n" + text.replace(b"\n", b"<br>\n") + b"</body></html>\n"
        headers.append(f'Content-Type: multipart/alternative; boundary="{boundary_text}"')
        body = (
            f"--{boundary_text}\n".encode()
            + b"Content-Type: text/plain; charset=us-ascii\n\n"
            + text
            + f"\n--{boundary_text}\n".encode()
            + b"Content-Type: text/html; charset=us-ascii\n\n"
            + html
            + f"\n--{boundary_text}--\n".encode()
        )
    else:
        headers.append("Content-Type: text/plain; charset=us-ascii")
        body = common.text_lines(rng, pool, target - 800)
    head = "\n".join(headers).encode() + b"\n\n"
    return head + body, when, sender


def _rfc2822_date(when: float, offset_minutes: int) -> str:
    """``when`` written in a zone ``offset_minutes`` east of UTC."""
    local = time.gmtime(when + offset_minutes * 60)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return time.strftime("%a, %d %b %Y %H:%M:%S", local) + f" {sign}{hours:02d}{minutes:02d}"


def build_maildir(maildir: Path, messages: int, seed: int = SEED) -> Mailbox:
    """Write ``messages`` messages into ``maildir`` (deterministic): about
    70 % in ``cur/`` flagged seen (a few answered too), the rest in ``new/``;
    mtime (the internal date) from the Date: header."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz" * 3 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + " " * 14
    pool = common.line_pool(rng, alphabet + ",.-", 0)
    common.new_maildir(maildir)
    sizes = []
    file_bytes = unseen = from_matches = since_larger = 0
    since = calendar.timegm((*SINCE, 0, 0, 0))
    for index in range(messages):
        data, when, sender = build_message(rng, index, seed, pool, "bench@example.test")
        base = common.maildir_name(int(when), index, data)
        seen = rng.random() < 0.7
        if seen:
            path = maildir / "cur" / (base + (":2,RS" if rng.random() < 0.1 else ":2,S"))
        else:
            path = maildir / "new" / base
            unseen += 1
        path.write_bytes(data)
        os.utime(path, (when, when))
        size = common.crlf_size(data)
        sizes.append(size)
        file_bytes += len(data)
        from_matches += SEARCH_FROM in sender.lower()
        since_larger += size > LARGER and when >= since
    return Mailbox(tuple(sizes), seed, file_bytes, unseen, from_matches, since_larger)


# --------------------------------------------------------------------------
# The client

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
FETCH_UID = re.compile(rb"\bUID (\d+)")
FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class IMAPError(RuntimeError):
    """A server answered other than expected."""


class Connection:
    """A minimal IMAP client over a blocking socket: sends tagged commands
    and reads responses, literals in one read. Literals of up to 4 KiB are
    kept in a response's text (an ENVELOPE may carry strings as literals),
    longer ones are only counted."""

    def __init__(self, port: int, timeout: float = common.SESSION_TIMEOUT) -> None:
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = cast(io.BufferedReader, self.sock.makefile("rb", buffering=1 << 16))
        self.number = 0
        greeting = self.reader.readline()
        if not greeting.startswith(b"* OK"):
            raise IMAPError(f"greeting {greeting[:200]!r}")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def response(self) -> tuple[bytes, list[int]]:
        """One response: its text (with short literals inline) and the sizes
        of its literals."""
        line = self.reader.readline()
        if not line:
            raise IMAPError("connection closed")
        text = [line]
        literals: list[int] = []
        while match := LITERAL.search(line):
            size = int(match.group(1))
            data = self.reader.read(size)
            if len(data) != size:
                raise IMAPError("connection closed inside a literal")
            literals.append(size)
            if size <= 4096:
                text.append(data)
            line = self.reader.readline()
            text.append(line)
        return b"".join(text), literals

    def send(self, command: str) -> bytes:
        """Send ``command`` with a new tag; returns the tag."""
        self.number += 1
        tag = f"b{self.number}".encode()
        self.sock.sendall(tag + b" " + command.encode() + b"\r\n")
        return tag

    def finish(self, tag: bytes) -> list[tuple[bytes, list[int]]]:
        """Read up to the tagged response of ``tag``; raise unless it is OK.
        Returns the untagged responses."""
        prefix = tag + b" "
        untagged: list[tuple[bytes, list[int]]] = []
        while True:
            text, literals = self.response()
            if text.startswith(prefix):
                if not text.startswith(prefix + b"OK"):
                    raise IMAPError(f"{text.decode(errors='replace').strip()[:300]}")
                return untagged
            untagged.append((text, literals))

    def command(self, command: str) -> list[tuple[bytes, list[int]]]:
        return self.finish(self.send(command))

    def idle(self) -> None:
        """IDLE, wait for the continuation, DONE, wait for the tagged OK."""
        tag = self.send("IDLE")
        while True:
            text, _ = self.response()
            if text.startswith(b"+"):
                break
            if text.startswith(tag + b" "):
                raise IMAPError(f"IDLE: {text.decode(errors='replace').strip()[:300]}")
        self.sock.sendall(b"DONE\r\n")
        self.finish(tag)


def _search_count(responses: list[tuple[bytes, list[int]]]) -> int:
    for text, _ in responses:
        if text.startswith(b"* SEARCH"):
            return len(text.split()) - 2
    raise IMAPError("no SEARCH response")


def session(
    port: int, user: str, expected: Mailbox, rng: random.Random, lat: common.Latencies
) -> int:
    """One session (see the module docstring); appends each op's latency in
    seconds to ``lat[kind]``; returns the number of ops. Raises if what the
    server shows differs from ``expected``."""
    clock = time.perf_counter

    def timed(kind: str, started: float) -> None:
        lat.setdefault(kind, []).append(clock() - started)

    started = clock()
    conn = Connection(port)
    try:
        conn.command(f'LOGIN "{user}" "{PASSWORD}"')
        timed("LOGIN", started)

        started = clock()
        responses = conn.command("SELECT INBOX")
        timed("SELECT", started)
        exists = [t for t, _ in responses if t.endswith(b" EXISTS\r\n")]
        if not exists or int(exists[-1].split()[1]) != expected.count:
            raise IMAPError(f"SELECT: {exists!r}, expected {expected.count} EXISTS")

        started = clock()
        responses = conn.command("FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)")
        timed("FETCH 1:*", started)
        uids: dict[int, tuple[int, int]] = {}  # message index -> (UID, size)
        marker = f".{expected.seed}@bench.test>".encode()
        for text, _ in responses:
            uid_match = FETCH_UID.search(text)
            size_match = FETCH_SIZE.search(text)
            end = text.find(marker)
            start = text.rfind(b"<", 0, end)
            if uid_match is None or size_match is None or end < 0 or start < 0:
                continue
            uids[int(text[start + 1 : end])] = (
                int(uid_match.group(1)),
                int(size_match.group(1)),
            )
        if len(uids) != expected.count or any(
            size != expected.sizes[index] for index, (_, size) in uids.items()
        ):
            raise IMAPError(
                f"FETCH 1:*: {len(uids)} messages with our Message-IDs "
                f"(of {len(responses)} responses), or sizes differ"
            )

        for _ in range(BODY_FETCHES):
            index = rng.randrange(expected.count)
            uid, size = uids[index]
            started = clock()
            responses = conn.command(f"UID FETCH {uid} BODY.PEEK[]")
            timed("UID FETCH BODY.PEEK[]", started)
            got = [literals for _, literals in responses if literals]
            if len(got) != 1 or got[0][-1] != size:
                raise IMAPError(f"UID FETCH {uid} BODY.PEEK[]: literals {got}, expected {size}")

        for _ in range(STORE_PAIRS):
            uid, _ = uids[rng.randrange(expected.count)]
            for sign in "+-":
                started = clock()
                conn.command(f"UID STORE {uid} {sign}FLAGS (\\Flagged)")
                timed("UID STORE", started)

        wanted = (expected.unseen, expected.from_matches, expected.since_larger)
        for search, count in zip(SEARCHES, wanted, strict=True):
            started = clock()
            responses = conn.command(search)
            timed("SEARCH", started)
            if (got_count := _search_count(responses)) != count:
                raise IMAPError(f"{search}: {got_count} messages, expected {count}")

        started = clock()
        conn.idle()
        timed("IDLE", started)

        started = clock()
        conn.command("LOGOUT")
        timed("LOGOUT", started)
    finally:
        conn.close()
    return OPS_PER_SESSION


@dataclass
class Target(common.Target):
    pids: Callable[[], list[int]]  # the server's processes, for memory


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def client_sessions(
    port: int, expected: Mailbox, seed: str
) -> Callable[[int, str], common.Session]:
    """For :func:`common.run_load`: client ``k``'s sessions as ``user``,
    drawing from ``seed:k``."""

    def client_session(k: int, user: str) -> common.Session:
        rng = random.Random(f"{seed}:{k}")
        return lambda latencies: session(port, user, expected, rng, latencies)

    return client_session


# --------------------------------------------------------------------------
# Idle sessions and memory


@dataclass(frozen=True)
class Memory:
    processes: int
    rss: int  # bytes, summed
    pss: int  # bytes, summed; 0 if unreadable

    def __str__(self) -> str:
        mib = 1024 * 1024
        text = f"RSS {self.rss / mib:7.1f} MiB"
        if self.pss:
            text += f", PSS {self.pss / mib:7.1f} MiB"
        return text + f" ({self.processes} process{'es' if self.processes != 1 else ''})"


def _status_kib(pid: int, path: str, key: bytes) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_bytes().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def memory(pids: list[int]) -> Memory:
    """Summed resident (VmRSS) and proportional (Pss) set sizes of ``pids``."""
    rss = sum(_status_kib(pid, "status", b"VmRSS:") for pid in pids)
    pss = sum(_status_kib(pid, "smaps_rollup", b"Pss:") for pid in pids)
    return Memory(len(pids), rss * 1024, pss * 1024)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_bytes()
            except OSError:
                continue
            parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


async def _until(reader: asyncio.StreamReader, tag: bytes) -> None:
    while True:
        line = await reader.readline()
        if not line:
            raise IMAPError("connection closed")
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise IMAPError(line.decode(errors="replace").strip()[:300])
            return
        if LITERAL.search(line):  # not expected before IDLE; skip it anyway
            await reader.readexactly(int(cast(re.Match[bytes], LITERAL.search(line)).group(1)))


async def _idle_session(
    port: int, user: str, gate: asyncio.Semaphore
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    async with gate:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        try:
            greeting = await reader.readline()
            if not greeting.startswith(b"* OK"):
                raise IMAPError(f"greeting {greeting[:200]!r}")
            writer.write(f'a LOGIN "{user}" "{PASSWORD}"\r\n'.encode())
            await _until(reader, b"a")
            writer.write(b"b SELECT INBOX\r\n")
            await _until(reader, b"b")
            writer.write(b"c IDLE\r\n")
            while not (line := await reader.readline()).startswith(b"+"):
                if not line or line.startswith(b"c "):
                    raise IMAPError(f"IDLE: {line[:200]!r}")
        except BaseException:
            writer.close()
            raise
        return reader, writer


async def _idle_measure(
    target: Target, users: list[str], count: int, settle: float
) -> tuple[Memory, Memory, float]:
    """Open ``count`` sessions in IDLE; returns memory before, memory with
    them idling (after ``settle`` seconds) and the seconds it took to open
    them."""
    before = memory(target.pids())
    gate = asyncio.Semaphore(32)
    started = time.perf_counter()
    tasks = [
        asyncio.ensure_future(_idle_session(target.port, users[k % len(users)], gate))
        for k in range(count)
    ]
    done, _ = await asyncio.wait(tasks, timeout=common.SESSION_TIMEOUT)
    opened = time.perf_counter() - started
    sessions = [task.result() for task in done if not task.cancelled() and not task.exception()]
    failures = [task.exception() for task in done if not task.cancelled() and task.exception()]
    for task in tasks:
        task.cancel()
    try:
        if len(sessions) != count:
            first = failures[0] if failures else "timed out"
            raise RuntimeError(
                f"{target.name}: {len(sessions)} of {count} idle sessions opened ({first})"
            )
        await asyncio.sleep(settle)
        # Every session still idling? (A server may have dropped some.)
        for reader, _ in sessions:
            if reader.at_eof():
                raise RuntimeError(f"{target.name}: an idle session was closed")
        during = memory(target.pids())
    finally:
        for _, writer in sessions:
            writer.close()
    return before, during, opened


def idle_measure(
    target: Target, users: list[str], count: int, settle: float = 3.0
) -> tuple[Memory, Memory, float]:
    """See :func:`_idle_measure`."""
    return asyncio.run(_idle_measure(target, users, count, settle))


# --------------------------------------------------------------------------
# Limits for the idle sessions


def dovecot_limits(sessions: int) -> str:
    """Dovecot settings for ``sessions`` concurrent IMAP sessions (one
    ``imap`` process each; a login process each while logging in)."""
    limit = max(1000, sessions + 100)
    # auth and anvil serve every login process (pop3-login and
    # imap-urlauth-login keep their default limit of 100 each); stats every
    # imap process (at its default 1000, connections are dropped and the
    # logins slow down).
    clients = limit + 300
    return (
        f"service imap {{\n  process_limit = {limit}\n}}\n"
        f"service imap-login {{\n  process_limit = {limit}\n}}\n"
        + "".join(
            f"service {name} {{\n  client_limit = {clients}\n}}\n"
            for name in ("auth", "anvil", "stats")
        )
    )


def gateway_limits(sessions: int) -> str:
    """The gateway's [imap] limits for ``sessions`` concurrent sessions."""
    limit = max(1000, sessions + 100)
    return (
        f"max_connections = {limit}\n"
        f"max_connections_per_ip = {limit}\n"
        f"max_sessions_per_user = {limit}\n"
    )


def raise_fd_limit(needed: int) -> None:
    """Raise RLIMIT_NOFILE to the hard limit if below ``needed`` (the
    servers started here inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < needed:
            print(f"note: open files limited to {hard}, fewer than {needed}")


# --------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def main() -> int:
    parser = common.bench_parser(__doc__)
    common.add_load_options(parser, clients=8, sessions=10, seed=SEED)
    parser.add_argument(
        "--idle-sessions",
        type=int,
        default=1000,
        help="concurrent IDLE sessions for the memory figures (0: skip)",
    )
    parser.add_argument("--skip-load", action="store_true", help="only the idle sessions")
    common.add_gateway_config(
        parser, "imap", GATEWAY_IMAP_CONFIG, ", besides the connection limits"
    )
    args = common.parse_options(parser, "dovecot")
    if not common.check_dovecot("imap_load", "imap"):
        return 1
    raise_fd_limit(2 * args.idle_sessions + 1000)

    with common.Workspace("imap-load-", args.keep) as workspace:
        master = workspace.path / "Maildir"
        expected = build_maildir(master, args.messages, args.seed)
        print(f"mailbox: {expected.summary()}")

        # One mailbox per client process, as a user would have (and as a
        # server may serialise the sessions of one mailbox).
        users = [f"user{k + 1}@example.test" for k in range(args.clients)]
        config = args.gateway_imap_config.rstrip() + "\n" + gateway_limits(args.idle_sessions)
        dovecot, gateway = common.start_servers(
            workspace,
            "imap",
            users,
            PASSWORD,
            master,
            dovecot_conf=dovecot_limits(args.idle_sessions),
            gateway_config=None if args.dovecot_only else config,
        )

        def dovecot_pids() -> list[int]:
            master_pid = [dovecot.process.pid] if dovecot.process else []
            return master_pid + _dovecot_pids(dovecot.name)

        targets = [Target("dovecot", dovecot.imap_port, dovecot_pids)]
        if gateway is not None and (process := gateway.process) is not None:
            targets.append(Target("gateway", gateway.port, lambda: descendants(process.pid)))

        print(
            f"{args.clients} client processes x {args.sessions} sessions, a mailbox each "
            f"(same content), each LOGIN SELECT FETCH-1:* {BODY_FETCHES}xUID-FETCH "
            f"{2 * STORE_PAIRS}xUID-STORE {len(SEARCHES)}xSEARCH IDLE LOGOUT "
            f"({OPS_PER_SESSION} ops); {args.rounds} rounds, alternating; "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        if not args.skip_load:
            for target in targets:  # first sessions: indexes, new/ -> cur/, cold caches
                for user in users:
                    session(target.port, user, expected, random.Random(0), {})

            rates: dict[str, list[float]] = {}
            p50s: dict[str, list[float]] = {}
            p99s: dict[str, list[float]] = {}
            pooled: dict[str, common.Latencies] = {}
            for round_no, target, run in common.load_rounds(
                targets, args, users, lambda port: client_sessions(port, expected, str(args.seed))
            ):
                values = run.all_latencies()
                p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
                rates.setdefault(target.name, []).append(run.rate)
                p50s.setdefault(target.name, []).append(p50)
                p99s.setdefault(target.name, []).append(p99)
                for kind, kind_values in run.latencies.items():
                    pooled.setdefault(target.name, {}).setdefault(kind, []).extend(kind_values)
                print(
                    f"round {round_no} {target.name:>8}: {run.ops} ops in "
                    f"{run.seconds:6.2f} s = {run.rate:7.0f} ops/s, p50 {_ms(p50)}, "
                    f"p99 {_ms(p99)} ({run.busy()})",
                    flush=True,
                )

            print("\nmedians:")
            for name in rates:
                print(
                    f"  {name:>8}: {statistics.median(rates[name]):7.0f} ops/s, "
                    f"p50 {_ms(statistics.median(p50s[name]))}, "
                    f"p99 {_ms(statistics.median(p99s[name]))}"
                )
            if (value := common.ratio(rates, "dovecot")) is not None:
                print(f"  gateway/Dovecot = {value:.2f} in ops/s (goal >= 0.8)")
            # The share: of all the time the clients waited for this server.
            print("\nper command, all rounds: p50 / p99 / share of the waiting")
            waited = {name: sum(map(sum, pooled[name].values())) for name in pooled}
            for kind in next(iter(pooled.values())):
                cells = "   ".join(
                    f"{name} {_ms(percentile(pooled[name][kind], 0.5))} / "
                    f"{_ms(percentile(pooled[name][kind], 0.99))} / "
                    f"{100 * sum(pooled[name][kind]) / waited[name]:4.1f} %"
                    for name in pooled
                )
                print(f"  {kind:<22} {cells}")

        if args.idle_sessions > 0:
            print(
                f"\n{args.idle_sessions} concurrent sessions in IDLE (LOGIN, SELECT INBOX, "
                f"IDLE; spread over {len(users)} users), memory of each server:",
                flush=True,
            )
            for target in targets:
                before, during, opened = idle_measure(target, users, args.idle_sessions)
                print(f"  {target.name:>8} before:   {before}")
                print(
                    f"  {target.name:>8} idle:     {during}; "
                    f"+{(during.rss - before.rss) / args.idle_sessions / 1024:.0f} KiB RSS "
                    f"a session; opened in {opened:.1f} s",
                    flush=True,
                )
                time.sleep(2)  # let the server close the sessions
    return 2 if gateway is None and not args.dovecot_only else 0


if __name__ == "__main__":
    common.run_main("imap_load", main)
