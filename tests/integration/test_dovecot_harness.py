"""The private Dovecot harness and the real POP3 clients, without the gateway.

These tests check the test tools themselves, so that a later interop test
failing against the gateway points at the gateway:

- :class:`~tests.integration.dovecot.DovecotInstance` serves a Maildir laid
  out as the gateway lays it out (a message in ``new/``, a flagged and seen
  one in ``cur/`` named ``...:2,FS``) over IMAP (SELECT count, FLAGS, UIDs)
  and POP3 (STAT octets with CRLF line ends, UIDL in ``%08Xu%08Xv`` format
  agreeing with IMAP's UID and UIDVALIDITY, RETR with dot-unstuffing).
- fetchmail and getmail6 (:mod:`tests.integration.popclients`) retrieve and
  delete three messages over POP3S with the certificate verified against
  the test CA: the INBOX is empty afterwards and each message arrived
  intact after the trace fields the client added; with another CA they
  refuse the server.

Needs root and Debian's dovecot-core, dovecot-imapd, dovecot-pop3d,
fetchmail and getmail6.
"""

from __future__ import annotations

import imaplib
import poplib
import re
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.dovecot import (
    DOVECOT,
    DovecotInstance,
    TestTLS,
    have_dovecot,
    make_test_tls,
)
from tests.integration.peers import LOOPBACK, assert_intact, have, split_trace
from tests.integration.popclients import (
    FETCHMAIL,
    GETMAIL,
    ClientRun,
    fetchmail_retrieve,
    getmail_retrieve,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_dovecot(), reason=f"{DOVECOT} (dovecot-core) not installed"),
]

USER = "user@example.test"
PASSWORD = "dovecot-secret"

PLAIN = (
    b"From: <a@client.test>\nTo: <user@example.test>\nSubject: plain\n"
    b"Message-ID: <plain@client.test>\n\nfirst line\n.leading dot\n..two dots\nlast\n"
)
FLAGGED = (
    b"From: <b@client.test>\nTo: <user@example.test>\nSubject: flagged\n"
    b"Message-ID: <flagged@client.test>\n\nimportant\n"
)


def crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[DovecotInstance]:
    with DovecotInstance(tmp_path / "dovecot") as instance:
        instance.add_user(USER, PASSWORD)
        yield instance


@pytest.fixture(scope="module")
def test_tls(tmp_path_factory: pytest.TempPathFactory) -> TestTLS:
    return make_test_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def dovecot_tls(tmp_path: Path, test_tls: TestTLS) -> Iterator[DovecotInstance]:
    with DovecotInstance(tmp_path / "dovecot", tls=test_tls) as instance:
        instance.add_user(USER, PASSWORD)
        yield instance


def test_imap_and_pop3_read_a_gateway_style_maildir(dovecot: DovecotInstance) -> None:
    plain = dovecot.deliver(USER, PLAIN)
    flagged = dovecot.deliver(USER, FLAGGED, flags="FS")
    assert plain.parent.name == "new" and flagged.name.endswith(":2,FS")
    assert dovecot.maildir(USER) == dovecot.mail_root / "example.test" / "user"

    with imaplib.IMAP4(LOOPBACK, dovecot.imap_port, timeout=30) as imap:
        imap.login(USER, PASSWORD)
        status, data = imap.select("INBOX")
        assert (status, data) == ("OK", [b"2"])
        status, data = imap.status("INBOX", "(UIDVALIDITY)")
        uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))  # type: ignore[arg-type,union-attr]
        status, fetched = imap.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert status == "OK"
        by_subject: dict[bytes, tuple[int, set[str]]] = {}
        for item in fetched:
            if not isinstance(item, tuple):
                continue
            meta, header = item
            uid = int(re.search(rb"UID (\d+)", meta).group(1))  # type: ignore[union-attr]
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split())  # type: ignore[union-attr]
            by_subject[header.strip()] = (uid, flags)
        # \Recent: this is the first session to see them.
        assert by_subject[b"Subject: flagged"][1] - {"\\Recent"} == {"\\Flagged", "\\Seen"}
        assert by_subject[b"Subject: plain"][1] - {"\\Recent"} == set()
        imap.logout()

    pop = poplib.POP3(LOOPBACK, dovecot.pop3_port, timeout=30)
    try:
        pop.user(USER)
        pop.pass_(PASSWORD)
        assert pop.stat() == (2, len(crlf(PLAIN)) + len(crlf(FLAGGED)))
        _, listing, _ = pop.uidl()
        uidls = dict(line.decode().split() for line in listing)
        retrieved: dict[str, bytes] = {}
        for number, uidl in uidls.items():
            # pop3_uidl_format = %08Xu%08Xv: IMAP UID, then UIDVALIDITY, in
            # hex; Dovecot's %X writes lower-case digits.
            assert re.fullmatch(r"[0-9a-f]{16}", uidl), uidl
            assert int(uidl[8:], 16) == uidvalidity
            _, lines, _ = pop.retr(int(number))
            retrieved[uidl] = b"\n".join(lines) + b"\n"  # poplib unstuffs dots
        expected = {
            f"{by_subject[b'Subject: plain'][0]:08x}{uidvalidity:08x}": PLAIN,
            f"{by_subject[b'Subject: flagged'][0]:08x}{uidvalidity:08x}": FLAGGED,
        }
        assert retrieved == expected
    finally:
        pop.quit()
    assert "Error" not in dovecot.log(), dovecot.log()


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    instance = DovecotInstance(tmp_path / "dovecot")
    instance.start()
    try:
        assert instance.running()
        pop = poplib.POP3(LOOPBACK, instance.pop3_port, timeout=30)
        assert pop.getwelcome().startswith(b"+OK")
        pop.quit()
    finally:
        instance.close()
    assert not instance.running() and not instance.root.exists()
    assert "starting up" in instance.log()  # kept in directory after close


Retrieve = Callable[..., ClientRun]


@pytest.mark.parametrize(
    ("client", "program"),
    [(fetchmail_retrieve, FETCHMAIL), (getmail_retrieve, GETMAIL)],
    ids=["fetchmail", "getmail6"],
)
def test_client_retrieves_and_deletes_over_pop3s(
    client: Retrieve,
    program: str,
    dovecot_tls: DovecotInstance,
    test_tls: TestTLS,
    tmp_path: Path,
) -> None:
    if not have(program):
        pytest.skip(f"{program} not installed")
    assert dovecot_tls.pop3s_port is not None
    sent = [
        b"From: <s@client.test>\nTo: <user@example.test>\n"
        + f"Subject: message {i}\nMessage-ID: <m{i}@client.test>\n\n".encode()
        + b"body line\n.a dot line\n" * (i + 1)
        for i in range(3)
    ]
    for content in sent:
        dovecot_tls.deliver(USER, content)

    # Another CA: the client must refuse the server (and leave the mail).
    other = make_test_tls(tmp_path / "other-ca")
    with pytest.raises(RuntimeError, match=r"(?i)certificate verify failed"):
        client(
            LOOPBACK, dovecot_tls.pop3s_port, USER, PASSWORD, tmp_path / "refused", cafile=other.ca
        )

    run = client(
        LOOPBACK, dovecot_tls.pop3s_port, USER, PASSWORD, tmp_path / "out", cafile=test_tls.ca
    )
    assert len(run.messages) == 3, run.output
    received = {}
    for data in run.contents():
        fields, rest = split_trace(data)
        assert fields, data  # the client records its retrieval in a trace field
        received[re.search(rb"Message-ID: <(m\d)@", rest).group(1)] = rest  # type: ignore[union-attr]
    assert sorted(received) == [b"m0", b"m1", b"m2"]
    for i, content in enumerate(sent):
        assert_intact(received[f"m{i}".encode()], content)

    context = ssl.create_default_context(cafile=str(test_tls.ca))
    pop = poplib.POP3_SSL(LOOPBACK, dovecot_tls.pop3s_port, context=context, timeout=30)
    try:
        pop.user(USER)
        pop.pass_(PASSWORD)
        assert pop.stat() == (0, 0)
    finally:
        pop.quit()
    box = dovecot_tls.maildir(USER)
    assert not list((box / "new").iterdir()) and not list((box / "cur").iterdir())
