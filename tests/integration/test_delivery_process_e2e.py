"""Local delivery in a process of its own ([delivery] process = true) in the
running daemon: mail lands, IMAP IDLE hears it, a killed delivery process is
replaced without losing or doubling a message, over-quota mail is deferred,
and the process ends with the daemon."""

from __future__ import annotations

import email
import imaplib
import os
import signal
import smtplib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.peers import SMTPDaemon, child_processes

USER = "alice@example.test"
PASSWORD = "secret"


def delivery_pid(daemon: SMTPDaemon) -> int:
    assert daemon.process is not None
    (pid,) = child_processes(daemon.process.pid, "gateway.store.deliverer")
    return pid


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[SMTPDaemon]:
    gateway = SMTPDaemon(tmp_path, imap=True, extra_config="[delivery]\nprocess = true\n")
    gateway.add_user(USER, PASSWORD)
    gateway.add_user("full@example.test", PASSWORD)
    gateway.start()
    gateway.wait_for(lambda: "[delivery-1 " in gateway.log(), what="the delivery process")
    try:
        yield gateway
    finally:
        gateway.stop()
        gateway.close()


def send(daemon: SMTPDaemon, count: int, start: int = 0, to: str = USER) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as smtp:
        for n in range(start, start + count):
            smtp.sendmail(
                "bob@remote.test",
                [to],
                f"Message-ID: <m{n}@remote.test>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode(),
            )


def message_ids(daemon: SMTPDaemon) -> list[str]:
    return sorted(
        str(email.message_from_bytes(p.read_bytes())["Message-ID"]) for p in daemon.messages(USER)
    )


def test_mail_lands_and_idle_hears_it(daemon: SMTPDaemon) -> None:
    assert daemon.imap_port is not None
    imap = imaplib.IMAP4("127.0.0.1", daemon.imap_port, timeout=30)
    imap.starttls(ssl._create_unverified_context())
    imap.login(USER, PASSWORD)
    imap.select("INBOX")
    tag = imap._new_tag()
    imap.send(tag + b" IDLE\r\n")
    assert imap.readline().startswith(b"+ ")
    send(daemon, 1)
    imap.socket().settimeout(30)
    assert imap.readline() == b"* 1 EXISTS\r\n"  # told by the main process on the reply
    imap.send(b"DONE\r\n")
    while not imap.readline().startswith(tag):
        pass
    imap.logout()
    assert message_ids(daemon) == ["<m0@remote.test>"]
    assert "[delivery-1 gateway.store.deliverer#info] delivering into" in daemon.log()


def test_a_killed_delivery_process_loses_and_doubles_nothing(daemon: SMTPDaemon) -> None:
    send(daemon, 10)
    first = delivery_pid(daemon)
    os.kill(first, signal.SIGKILL)  # maybe in the middle of a batch
    send(daemon, 20, start=10)
    daemon.wait_for(lambda: len(daemon.messages(USER)) >= 30, what="30 deliveries", timeout=90)
    time.sleep(0.5)  # nothing more arrives
    assert message_ids(daemon) == sorted(f"<m{n}@remote.test>" for n in range(30))
    assert delivery_pid(daemon) != first
    assert "delivery-1: exited" in daemon.log()


def test_over_quota_is_deferred_with_4_2_2(daemon: SMTPDaemon) -> None:
    # a 1-byte quota: RCPT passes (nothing stored yet), the delivery
    # process's own check refuses the message, the queue keeps it
    users = daemon.data_dir / "users"
    users.write_text(users.read_text().rstrip("\n") + "::::::userdb_quota_rule=*:storage=1\n")
    send(daemon, 1, to="full@example.test")
    daemon.wait_for(
        lambda: "deferred to=<full@example.test> 452 4.2.2 Mailbox full" in daemon.log(),
        what="a deferral",
    )
    assert daemon.messages("full@example.test") == []


def test_the_delivery_process_ends_with_the_daemon(tmp_path: Path) -> None:
    gateway = SMTPDaemon(tmp_path, extra_config="[delivery]\nprocess = true\n")
    try:
        gateway.start()
        gateway.wait_for(lambda: "[delivery-1 " in gateway.log(), what="the delivery process")
        pid = delivery_pid(gateway)
        assert gateway.stop() == -signal.SIGTERM
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert "delivery-1: stopped" in gateway.log()
    finally:
        gateway.close()  # a failed assertion must not leave a daemon running
