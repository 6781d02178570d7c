"""The gateway's Maildirs and a real Dovecot read each other.

Dovecot 2.3 (Debian's dovecot-imapd) is started on loopback with
``mail_location`` on the same tree, keeping its own index files inside the
Maildirs as it normally would (``dovecot-uidlist``, ``dovecot.index*``).

- What the gateway writes (local delivery, flags and keywords set through
  its index, default folders) Dovecot shows over IMAP: same messages byte
  for byte (CRLF on the wire), same flags, same folders.
- What Dovecot writes (IMAP APPEND with flags, STORE, COPY, CREATE of a
  folder with a non-ASCII name) the gateway's store reads back: same
  messages, flags, folders, and the UIDs and UIDVALIDITY Dovecot assigned,
  hence the same POP3 UIDLs.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.filenames import to_crlf
from gateway.store.folder import Folder
from gateway.store.folders import folder_directory, folder_name
from gateway.store.maildir import deliver_blocking, ensure_maildir
from gateway.store.mailstore import pop3_uidl
from tests.integration.dovecot import DovecotInstance, have_dovecot

pytestmark = [
    pytest.mark.skipif(not have_dovecot(), reason="Dovecot (dovecot-imapd) not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Dovecot needs root"),
]

USER = "alice@example.test"
PASSWORD = "interop-pass"


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[DovecotInstance]:
    instance = DovecotInstance(tmp_path / "dovecot", private_index=False)
    instance.add_user(USER, PASSWORD)
    try:
        yield instance
    finally:
        instance.close()


def imap(dovecot: DovecotInstance) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    client.login(USER, PASSWORD)
    return client


def fetch_all(client: imaplib.IMAP4) -> dict[int, tuple[set[str], bytes]]:
    """UID -> (flags, whole message) of the selected folder."""
    status, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    assert status == "OK"
    out: dict[int, tuple[set[str], bytes]] = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        uid = int(re.search(r"UID (\d+)", head)[1])  # type: ignore[index]
        flags = set(re.search(r"FLAGS \(([^)]*)\)", head)[1].split())  # type: ignore[index]
        out[uid] = (flags - {"\\Recent"}, item[1])
    return out


MESSAGES = [
    b"From: a@example.test\r\nSubject: one\r\n\r\nfirst body\r\n",
    b"From: b@example.test\r\nSubject: two\r\n\r\n.dot line\r\nsecond\r\n",
    "From: c@example.test\r\nSubject: drei\r\n\r\nGr\u00fc\u00dfe, 8-bit\r\n".encode(),
]


def test_dovecot_reads_what_the_gateway_wrote(dovecot: DovecotInstance) -> None:
    root = dovecot.maildir(USER)
    ensure_maildir(root)
    for n, content in enumerate(MESSAGES):
        deliver_blocking(root, f"17000000{n:02}.M0Q{n}R0.gw", [content])
    deliver_blocking(root / ".Sent", "1700000099.M0QsR0.gw", [b"Subject: sent\r\n\r\nx\r\n"])
    inbox = Folder(root)
    inbox.sync(move_new=True)
    inbox.set_flags([1], lambda f: f | {"\\Seen", "\\Flagged"})
    inbox.set_flags([2], lambda f: f | {"\\Answered", "Work"})
    inbox.close()
    dovecot.adopt(dovecot.mail_root)
    dovecot.start()

    client = imap(dovecot)
    status, listing = client.list()
    assert status == "OK"
    names = {line.decode().rsplit(" ", 1)[-1].strip('"') for line in listing if line}
    assert {"INBOX", "Sent", "Drafts", "Junk", "Trash"} <= names
    status, count = client.select("INBOX")
    assert (status, count) == ("OK", [b"3"])
    seen = fetch_all(client)
    by_subject = {
        body.split(b"Subject: ")[1].split(b"\r\n")[0]: (flags, body)
        for flags, body in seen.values()
    }
    assert by_subject[b"one"] == ({"\\Seen", "\\Flagged"}, MESSAGES[0])
    assert by_subject[b"two"] == ({"\\Answered", "Work"}, MESSAGES[1])
    assert by_subject[b"drei"] == (set(), MESSAGES[2])
    status, count = client.select("Sent")
    assert (status, count) == ("OK", [b"1"])
    client.logout()


def test_the_gateway_reads_what_dovecot_wrote(dovecot: DovecotInstance) -> None:
    dovecot.start()
    client = imap(dovecot)
    for content, flags in zip(MESSAGES, ["(\\Seen)", "(\\Flagged Work)", "()"], strict=True):
        status, _ = client.append("INBOX", flags, None, content)  # type: ignore[arg-type]
        assert status == "OK"
    folder_utf7 = "Entw&APw-rfe.2026"  # "Entwürfe.2026": a hierarchy, non-ASCII
    assert client.create(folder_utf7)[0] == "OK"
    client.select("INBOX")
    assert client.uid("STORE", "3", "+FLAGS", "(\\Answered)")[0] == "OK"
    assert client.uid("COPY", "1:2", folder_utf7)[0] == "OK"
    expected = fetch_all(client)
    status, data = client.status("INBOX", "(UIDVALIDITY)")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", data[0])[1])  # type: ignore[index]
    client.select(folder_utf7)
    expected_sub = fetch_all(client)
    client.logout()
    pop = poplib.POP3("127.0.0.1", dovecot.pop3_port, timeout=30)
    pop.user(USER)
    pop.pass_(PASSWORD)
    dovecot_uidls = [line.split()[1].decode() for line in pop.uidl()[1]]
    pop.quit()
    dovecot.stop()

    root = dovecot.maildir(USER)
    inbox = Folder(root)
    inbox.sync()
    assert inbox.header.uidvalidity == uidvalidity  # taken over from dovecot-uidlist
    got = {r.uid: (set(inbox.flags(r)), to_crlf(inbox.read(r.uid))) for r in inbox.messages()}
    assert got == expected

    # POP3 clients that leave mail on the server see the same UIDLs
    records = inbox.messages()
    assert [pop3_uidl(r.uid, inbox.header.uidvalidity) for r in records] == dovecot_uidls

    folders = {folder_name(p.name) for p in root.iterdir() if p.is_dir() and p.name[0] == "."}
    assert "Entwürfe.2026" in folders
    sub = Folder(folder_directory(root, "Entwürfe.2026"))
    sub.sync()
    got_sub = {r.uid: (set(sub.flags(r)), to_crlf(sub.read(r.uid))) for r in sub.messages()}
    assert got_sub == expected_sub
    assert sorted(body for _f, body in got_sub.values()) == sorted(MESSAGES[:2])
