"""The gateway's IMAP server answers like a real Dovecot 2.3 (differential test).

Both servers get the same mailbox through IMAP APPEND (the fixture messages
of tests/imap/fixtures with fixed flags and INTERNALDATEs), then the same
script of commands: SELECT, FETCH of every kind, SEARCH, STORE, COPY,
STATUS, LIST, EXPUNGE. For each command the untagged responses and the
tagged status must agree once the values that legitimately differ are
normalised (UIDVALIDITY, MODSEQ numbers, human-readable text after the
status, the order of FETCH items and of flags).

Needs root and Debian's dovecot-imapd (skipped otherwise).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dovecot import DovecotInstance, have_dovecot
from tests.integration.peers import SMTPDaemon

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_dovecot(), reason="Dovecot (dovecot-imapd) not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Dovecot needs root"),
]

FIXTURES = Path(__file__).parents[1] / "imap" / "fixtures"
USER, PASSWORD = "diff@example.test", "diff-pass"

# (flags, INTERNALDATE) per appended fixture, in name order
APPEND_FLAGS = ["(\\Seen)", "()", "(\\Flagged \\Seen)", "(\\Answered)", "(\\Draft)", "()"]

SCRIPT = [
    "SELECT INBOX",
    "FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)",
    "FETCH 1:* (ENVELOPE)",
    "FETCH 1:* (BODYSTRUCTURE)",
    "FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])",
    "FETCH 2 (BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM)])",
    "FETCH 3 (BODY.PEEK[1.MIME] BODY.PEEK[TEXT]<0.20>)",
    "UID FETCH 1:* (FLAGS)",
    "SEARCH ALL",
    "SEARCH SEEN",
    "SEARCH UNSEEN",
    "SEARCH FLAGGED NOT ANSWERED",
    "SEARCH OR DRAFT ANSWERED",
    "SEARCH LARGER 1000",
    "SEARCH SMALLER 1000",
    "SEARCH SINCE 1-Jan-2020",
    "SEARCH BEFORE 1-Jan-2020",
    "SEARCH 2:4 NOT 3",
    "SEARCH UID 1:3",
    "SEARCH HEADER Subject a",
    "SEARCH SUBJECT message",
    "SEARCH BODY attachment",
    "SEARCH TEXT the",
    "UID SEARCH (OR SEEN FLAGGED) UNDELETED",
    "STORE 1 +FLAGS (\\Deleted)",
    "STORE 2 FLAGS.SILENT (\\Seen Work)",
    "FETCH 2 (FLAGS)",
    "STORE 3 -FLAGS (\\Flagged)",
    "FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])",
    "FETCH 1 (FLAGS)",
    "COPY 2:3 Trash",
    "STATUS Trash (MESSAGES UNSEEN UIDNEXT)",
    "EXPUNGE",
    "SEARCH ALL",
    "CREATE Archive.2026",
    'LIST "" "*"',
    'LIST "" "%"',
    'LIST "" "Archive.%"',
    'LSUB "" "*"',
    "STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN)",
    "FETCH 99 (FLAGS)",
    "SEARCH FROBNICATE",
    "SELECT Nonexistent",
]


# The gateway's default folders, with their RFC 6154 roles, subscribed.
SPECIAL_USE_CONF = """
namespace inbox {
  inbox = yes
  separator = .
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}
"""


class RawIMAP:
    """A minimal client that returns each command's response lines raw."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""
        self.counter = 0
        self.readline()  # greeting

    def readline(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_exact(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def command(self, text: str, literal: bytes | None = None) -> list[bytes]:
        """Send ``tag text`` (with one synchronising literal); return the
        response lines, literals inlined, the tagged line last."""
        self.counter += 1
        tag = b"d%d" % self.counter
        if literal is None:
            self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text.encode() + b" {%d}\r\n" % len(literal))
            assert self.readline().startswith(b"+")
            self.sock.sendall(literal + b"\r\n")
        lines: list[bytes] = []
        while True:
            line = self.readline()
            while (match := re.search(rb"\{(\d+)\}$", line)) is not None:
                line += b"\r\n" + self.read_exact(int(match[1])) + self.readline()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def close(self) -> None:
        self.sock.close()


def load(port: int) -> RawIMAP:
    client = RawIMAP(port)
    assert client.command(f'LOGIN "{USER}" "{PASSWORD}"')[-1].split()[1] == b"OK"
    fixtures = sorted(FIXTURES.glob("*.eml"))[: len(APPEND_FLAGS)]
    for n, (path, flags) in enumerate(zip(fixtures, APPEND_FLAGS, strict=True)):
        data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        date = f'"0{n + 1}-Mar-2021 10:00:00 +0000"'
        status = client.command(f"APPEND INBOX {flags} {date}", data)[-1]
        assert b" OK" in status, status
    return client


_ITEM = re.compile(rb"\* (\d+) FETCH \((.*)\)$", re.DOTALL)


def _split_items(text: bytes) -> list[bytes]:
    """Top-level ``NAME value`` pairs of a FETCH response (values may nest)."""
    items: list[bytes] = []
    depth = 0
    start = 0
    quoted = False
    i = 0
    tokens = 0
    while i < len(text):
        c = text[i : i + 1]
        if quoted:
            if c == b"\\":
                i += 1
            elif c == b'"':
                quoted = False
        elif c == b'"':
            quoted = True
        elif c in b"([":
            depth += 1
        elif c in b")]":
            depth -= 1
        elif c == b"{":
            end = text.index(b"}", i)
            count = int(text[i + 1 : end])
            i = end + 2 + count  # skip CRLF and the literal
            continue
        elif c == b" " and depth == 0:
            tokens += 1
            if tokens % 2 == 0:
                items.append(text[start:i])
                start = i + 1
        i += 1
    items.append(text[start:])
    return items


def normalise(lines: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for line in lines:
        if line.startswith(b"d") and b" " in line:  # tagged: status and code only
            parts = line.split(b" ", 2)
            code = re.match(rb"\[([A-Z-]+)", parts[2]) if len(parts) > 2 else None
            # Dovecot's CLIENTBUG hint is not a result; our NONEXISTENT (RFC
            # 5530) is a code Dovecot leaves out on a failed SELECT
            if code and code[1] in (b"CLIENTBUG", b"NONEXISTENT"):
                code = None
            out.append(b"TAGGED " + parts[1] + (b" [" + code[1] + b"]" if code else b""))
            continue
        if re.match(rb"\* OK \[(HIGHESTMODSEQ|UIDVALIDITY|CAPABILITY)", line):
            continue
        if re.match(rb"\* OK(?! \[)", line) or line.startswith(b"* CAPABILITY"):
            continue
        if line.startswith(b"* OK ["):  # the code counts, not the text after it
            line = line[: line.index(b"]") + 1] if b"]" in line else line
        status = re.match(rb"^(\* STATUS \S+ )\((.*)\)$", line)
        if status:  # item order is the server's choice
            pairs = re.findall(rb"(\S+) (\S+)", status[2])
            line = status[1] + b"(" + b" ".join(b"%s %s" % p for p in sorted(pairs)) + b")"
        # RFC 6154 does not say whether LSUB carries special-use attributes
        line = re.sub(rb"^\* LSUB \([^)]*\)", b"* LSUB ()", line)
        line = re.sub(rb"MODSEQ \(\d+\)", b"", line)
        # a mailbox name may be an atom or a quoted string: both are valid
        line = re.sub(rb'^(\* (?:LIST|LSUB) \([^)]*\) "\." )"([^"\\]*)"$', rb"\1\2", line)
        line = re.sub(rb'^(\* STATUS )"([^"\\ ]*)"', rb"\1\2", line)
        line = re.sub(
            rb"\b(FLAGS|PERMANENTFLAGS) \(([^)]*)\)",
            lambda m: m[1] + b" (" + b" ".join(sorted(m[2].split())) + b")",
            line,
        )
        fetch = _ITEM.match(line)
        if fetch:
            items = sorted(i.strip() for i in _split_items(fetch[2]) if i.strip())
            line = b"* " + fetch[1] + b" FETCH (" + b" ".join(items) + b")"
        out.append(line)
    return out


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    gateway = SMTPDaemon(
        tmp_path_factory.mktemp("gw"),
        imap=True,
        extra_config='[imap]\ntrusted_networks = ["127.0.0.1/32"]\n',
    )
    gateway.add_user(USER, PASSWORD)
    gateway.start()
    dovecot = DovecotInstance(tmp_path_factory.mktemp("dc"), extra_conf=SPECIAL_USE_CONF)
    dovecot.add_user(USER, PASSWORD)
    dovecot.start()
    try:
        assert gateway.imap_port is not None
        yield gateway.imap_port, dovecot.imap_port
    finally:
        dovecot.close()
        gateway.stop()
        gateway.close()


def test_same_answers_as_dovecot(servers: tuple[int, int]) -> None:
    ours, theirs = (load(port) for port in servers)
    differences = []
    for command in SCRIPT:
        got, want = normalise(ours.command(command)), normalise(theirs.command(command))
        if sorted(got) != sorted(want):
            differences.append(
                f"{command}\n  gateway: {[g.decode(errors='replace') for g in got]}\n"
                f"  dovecot: {[w.decode(errors='replace') for w in want]}"
            )
    ours.close()
    theirs.close()
    assert not differences, "\n".join(differences)
