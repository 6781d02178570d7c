"""IMAP against the running daemon: imaplib (STARTTLS), imapclient (IMAPS),
two sessions on one mailbox (IDLE, EXPUNGE, flags), and Debian's mbsync
syncing both ways.

The gateway serves a certificate from a test CA for ``localhost`` so that
clients which verify (mbsync) can; mail arrives over SMTP as a user's would.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dovecot import TestTLS, make_test_tls
from tests.integration.imapclients import maildir_messages, mbsync
from tests.integration.peers import SMTPDaemon

USER = "alice@example.test"
PASSWORD = "imap-secret"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TestTLS:
    return make_test_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, tls: TestTLS) -> Iterator[SMTPDaemon]:
    extra = f'[tls]\ncertificate = "{tls.certificate}"\nkey = "{tls.key}"\n'
    gateway = SMTPDaemon(tmp_path_factory.mktemp("imap"), imap=True, extra_config=extra)
    gateway.add_user(USER, PASSWORD)
    gateway.add_user("bob@example.test", PASSWORD)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
        gateway.close()


def context(tls: TestTLS) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.ca))


def deliver(daemon: SMTPDaemon, *messages: bytes, to: str = USER) -> None:
    before = len(daemon.messages(to))
    with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as smtp:
        for message in messages:
            smtp.sendmail("carol@remote.test", [to], message)
    daemon.wait_for(lambda: len(daemon.messages(to)) >= before + len(messages), what="delivery")


def login(daemon: SMTPDaemon, tls: TestTLS, user: str = USER) -> imaplib.IMAP4:
    assert daemon.imap_port is not None
    client = imaplib.IMAP4("localhost", daemon.imap_port, timeout=30)
    client.starttls(context(tls))
    client.login(user, PASSWORD)
    return client


def test_logindisabled_until_starttls(daemon: SMTPDaemon, tls: TestTLS) -> None:
    assert daemon.imap_port is not None
    client = imaplib.IMAP4("localhost", daemon.imap_port, timeout=30)
    assert "LOGINDISABLED" in client.capabilities
    assert not any(c.startswith("AUTH=") for c in client.capabilities)
    with pytest.raises(imaplib.IMAP4.error):
        client.login(USER, PASSWORD)
    client.starttls(context(tls))
    assert "LOGINDISABLED" not in client.capabilities
    assert "AUTH=PLAIN" in client.capabilities
    client.login(USER, PASSWORD)
    client.logout()


def test_read_flag_search_copy_expunge(daemon: SMTPDaemon, tls: TestTLS) -> None:
    first = b"From: Carol <carol@remote.test>\r\nSubject: hello imap\r\n\r\nfirst body\r\n"
    second = b"From: carol@remote.test\r\nSubject: other\r\n\r\nneedle in here\r\n"
    deliver(daemon, first, second)
    client = login(daemon, tls)
    status, data = client.select("INBOX")
    assert status == "OK" and int(data[0]) >= 2
    count = int(data[0])
    status, found = client.uid("SEARCH", "BODY", "needle")
    assert status == "OK" and len(found[0].split()) == 1
    needle_uid = found[0].split()[0]
    status, fetched = client.uid("FETCH", needle_uid, "(BODY.PEEK[] ENVELOPE FLAGS)")
    assert status == "OK"
    head, body = fetched[0]
    rest = head + b"".join(part for part in fetched[1:] if isinstance(part, bytes))
    assert body.endswith(second) and b"\\Seen" not in rest
    assert b'"other"' in rest  # ENVELOPE subject
    assert client.uid("STORE", needle_uid, "+FLAGS", "(\\Flagged)")[0] == "OK"
    assert client.uid("COPY", needle_uid, "Trash")[0] == "OK"
    _code, copyuid = client.response("COPYUID")  # RFC 4315, in the tagged OK
    assert copyuid[0] is not None and copyuid[0].split()[1] == needle_uid
    assert client.uid("STORE", needle_uid, "+FLAGS", "(\\Deleted)")[0] == "OK"
    status, expunged = client.expunge()
    assert status == "OK" and expunged[0] is not None
    assert client.select("INBOX")[1][0] == str(count - 1).encode()
    status, data = client.select("Trash")
    assert int(data[0]) >= 1
    status, flags = client.fetch(data[0].decode(), "(FLAGS)")
    assert b"\\Flagged" in flags[0]
    client.logout()


def test_imapclient_folders_and_append_over_imaps(daemon: SMTPDaemon, tls: TestTLS) -> None:
    imapclient = pytest.importorskip("imapclient")
    assert daemon.imaps_port is not None
    with imapclient.IMAPClient(
        "localhost", port=daemon.imaps_port, ssl=True, ssl_context=context(tls), timeout=30
    ) as client:
        client.login(USER, PASSWORD)
        special = {name: flags for flags, _sep, name in client.list_folders()}
        assert b"\\Sent" in special["Sent"] and b"\\Trash" in special["Trash"]
        client.create_folder("Projects.Entwürfe")
        client.append("Projects.Entwürfe", b"Subject: draft\r\n\r\nwip\r\n", flags=[b"\\Draft"])
        client.rename_folder("Projects.Entwürfe", "Projects.Done")
        info = client.select_folder("Projects.Done")
        assert info[b"EXISTS"] == 1
        messages = client.fetch(client.search("ALL"), ["FLAGS", "RFC822.SIZE"])
        (data,) = messages.values()
        assert b"\\Draft" in data[b"FLAGS"] and data[b"RFC822.SIZE"] == len(
            b"Subject: draft\r\n\r\nwip\r\n"
        )
        client.unselect_folder()
        client.delete_folder("Projects.Done")
        names = [name for _f, _s, name in client.list_folders()]
        assert "Projects.Done" not in names
    root = daemon.maildir(USER)
    assert not (root / ".Projects.Done").exists()


def test_two_sessions_stay_in_step_and_idle_hears_new_mail(
    daemon: SMTPDaemon, tls: TestTLS
) -> None:
    deliver(daemon, b"Subject: base\r\n\r\nx\r\n", to="bob@example.test")
    watcher = login(daemon, tls, "bob@example.test")
    actor = login(daemon, tls, "bob@example.test")
    exists = int(watcher.select("INBOX")[1][0])
    actor.select("INBOX")

    # IDLE: new mail shows up without asking
    tag = watcher._new_tag()
    watcher.send(tag + b" IDLE\r\n")
    assert watcher.readline().startswith(b"+ ")
    deliver(daemon, b"Subject: while idle\r\n\r\ny\r\n", to="bob@example.test")
    sock = watcher.socket()
    sock.settimeout(30)
    line = watcher.readline()
    assert line == b"* %d EXISTS\r\n" % (exists + 1), line
    watcher.send(b"DONE\r\n")
    while not (line := watcher.readline()).startswith(tag):
        pass
    assert b" OK" in line

    # another session expunges: the watcher hears EXPUNGE at its next NOOP
    actor.store("1", "+FLAGS", "(\\Deleted)")
    actor.expunge()
    status, _ = watcher.noop()
    assert status == "OK"
    assert watcher.untagged_responses.get("EXPUNGE") == [b"1"]
    watcher.untagged_responses.clear()
    actor.store("1", "+FLAGS", "(\\Flagged)")
    watcher.noop()
    assert any(b"\\Flagged" in r for r in watcher.untagged_responses.get("FETCH", []))
    watcher.logout()
    actor.logout()


@pytest.mark.skipif(not shutil.which("mbsync"), reason="isync (mbsync) not installed")
def test_mbsync_both_ways(daemon: SMTPDaemon, tls: TestTLS, tmp_path: Path) -> None:
    user = "bob@example.test"
    deliver(
        daemon,
        b"Subject: keep\r\nMessage-ID: <keep@x>\r\n\r\nk\r\n",
        b"Subject: drop\r\nMessage-ID: <drop@x>\r\n\r\nd\r\n",
        to=user,
    )
    assert daemon.imaps_port is not None
    local, state = tmp_path / "local", tmp_path / "state"
    run = mbsync(daemon.imaps_port, user, PASSWORD, local, state, ca=tls.ca)
    assert run.returncode == 0, run.output
    inbox = local / "INBOX"
    pulled = maildir_messages(inbox)
    assert len(pulled) >= 2

    # on the client side: flag one, delete one, add a message and a folder
    for sub in ("cur", "new"):
        for path in (inbox / sub).iterdir():
            data = path.read_bytes()
            name = path.name.partition(":2,")[0]
            if b"<keep@x>" in data:
                path.rename(inbox / "cur" / f"{name}:2,FS")
            elif b"<drop@x>" in data:
                path.rename(inbox / "cur" / f"{name}:2,T")
    (inbox / "new" / f"{int(time.time())}.local.{socket.gethostname()}").write_bytes(
        b"Subject: from the client\r\nMessage-ID: <client@x>\r\n\r\nc\r\n"
    )
    for sub in ("cur", "new", "tmp"):
        (local / "ClientFolder" / sub).mkdir(parents=True)
    # on the server side: a folder
    server = login(daemon, tls, user)
    assert server.create("ServerFolder")[0] == "OK"
    server.logout()

    run = mbsync(daemon.imaps_port, user, PASSWORD, local, state, ca=tls.ca)
    assert run.returncode == 0, run.output
    assert (local / "ServerFolder").is_dir()
    server = login(daemon, tls, user)
    names = [line.decode().rsplit(" ", 1)[-1].strip('"') for line in server.list()[1]]
    assert "ClientFolder" in names
    server.select("INBOX")
    _s, found = server.search(None, "HEADER", "Message-ID", "<client@x>")
    assert found[0].split(), "the client's message did not reach the server"
    _s, found = server.search(None, "HEADER", "Message-ID", "<keep@x>")
    _s, flags = server.fetch(found[0].split()[0].decode(), "(FLAGS)")
    assert b"\\Flagged" in flags[0] and b"\\Seen" in flags[0]
    _s, found = server.search(None, "HEADER", "Message-ID", "<drop@x>", "UNDELETED")
    assert not found[0].split(), "the deletion did not reach the server"
    server.logout()
    assert os.listdir(local / "ServerFolder" / "cur") == []


def test_idle_hears_mail_another_program_drops(daemon: SMTPDaemon, tls: TestTLS) -> None:
    user = "bob@example.test"
    client = login(daemon, tls, user)
    exists = int(client.select("INBOX")[1][0])
    tag = client._new_tag()
    client.send(tag + b" IDLE\r\n")
    assert client.readline().startswith(b"+ ")
    new = daemon.maildir(user) / "new"
    (new / f"{int(time.time())}.M1P1.other-mda").write_bytes(b"Subject: dropped\n\nby hand\n")
    client.socket().settimeout(30)
    assert client.readline() == b"* %d EXISTS\r\n" % (exists + 1)
    client.send(b"DONE\r\n")
    while not client.readline().startswith(tag):
        pass
    client.logout()
