"""gateway.imap.message against a real Dovecot 2.3: every fixture is
APPENDed to a private Dovecot and its FETCH ENVELOPE, BODYSTRUCTURE, BODY
and BODY.PEEK[section] answers must equal ours byte for byte.

Needs root and Debian's dovecot-core/dovecot-imapd (skipped otherwise).
"""

from __future__ import annotations

import imaplib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.imap import message as m
from tests.integration.dovecot import DOVECOT, DovecotInstance, have_dovecot
from tests.integration.peers import LOOPBACK

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_dovecot(), reason=f"{DOVECOT} not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Dovecot needs root"),
]

FIXTURES = Path(__file__).parent / "fixtures"
USER, PASSWORD = "u@example.test", "pw"
SECTIONS = [
    "HEADER",
    "TEXT",
    "1",
    "1.MIME",
    "2",
    "2.MIME",
    "3",
    "1.1",
    "1.2",
    "2.1",
    "2.2",
    "1.HEADER",
    "1.TEXT",
    "2.HEADER",
    "2.TEXT",
    "1.1.MIME",
    "2.1.MIME",
    "2.2.MIME",
    "1.1.1",
    "2.2.1",
    "2.2.2",
    "1.1.HEADER",
    "2.1.TEXT",
    "2.2.2.MIME",
    "2.HEADER.FIELDS (FROM subject X-none)",
    "HEADER.FIELDS.NOT (received)",
]


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[imaplib.IMAP4]:
    with DovecotInstance(tmp_path_factory.mktemp("dovecot")) as dovecot:
        dovecot.add_user(USER, PASSWORD)
        client = imaplib.IMAP4(LOOPBACK, dovecot.imap_port, timeout=30)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        yield client
        client.logout()


def fetch(client: imaplib.IMAP4, uid: str, item: str) -> bytes:
    """The raw value of one FETCH item, literals as ``{n}\\r\\n...``."""
    _, data = client.uid("FETCH", uid, f"({item})")
    raw = b"".join(d[0] + b"\r\n" + d[1] if isinstance(d, tuple) else d for d in data)
    name = item.replace(".PEEK", "").encode()
    found = re.match(rb"^\d+ \(UID \d+ " + re.escape(name) + rb" ", raw, re.IGNORECASE)
    assert found, raw[:100]
    value = raw[found.end() : -1]
    return b"{0}\r\n" if value in (b"NIL", b'""') else value


def ours(msg: bytes, item: str) -> bytes:
    if item in ("ENVELOPE", "BODYSTRUCTURE", "BODY"):
        return m.envelope(msg) if item == "ENVELOPE" else m.bodystructure(msg, item != "BODY")
    spec = item[len("BODY.PEEK[") : -1]
    fields: tuple[str, ...] = ()
    if " (" in spec:
        spec, _, names = spec.partition(" (")
        fields = tuple(names.rstrip(")").split())
    words = spec.split(".")
    nums = []
    while words and words[0].isdigit():
        nums.append(int(words.pop(0)))
    value = m.section(msg, tuple(nums), ".".join(words) or None, fields)
    return b"{%d}\r\n" % len(value) + value


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.eml")))
def test_fixture_matches_dovecot(imap: imaplib.IMAP4, name: str) -> None:
    msg = (FIXTURES / name).read_bytes()
    _, data = imap.append("INBOX", "", None, msg)
    uid = re.search(rb"APPENDUID \d+ (\d+)", data[0])
    assert uid is not None
    items = ["ENVELOPE", "BODYSTRUCTURE", "BODY"] + [f"BODY.PEEK[{s}]" for s in SECTIONS]
    crlf = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # Dovecot sends CRLF
    mismatches = {
        item: (theirs, mine)
        for item in items
        if (theirs := fetch(imap, uid.group(1).decode(), item)) != (mine := ours(crlf, item))
    }
    assert mismatches == {}
