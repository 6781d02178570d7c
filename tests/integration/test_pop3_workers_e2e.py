"""POP3 worker processes ([pop3] workers) of the running daemon: they are
replaced when they die, they go when the daemon goes, and what a POP3
session in a worker changes is what an IMAP session in the main process
sees. (Every POP3 scenario of test_pop3_e2e.py also runs through a worker.)
"""

from __future__ import annotations

import imaplib
import os
import poplib
import signal
import smtplib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.peers import SMTPDaemon, child_processes, process_alive

USER = "alice@example.test"
PASSWORD = "pop-secret"


def children(pid: int) -> set[int]:
    """The POP3 workers of the daemon ``pid`` (not its delivery process)."""
    return child_processes(pid, "gateway.pop3.worker")


def wait(predicate: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start(directory: Path, workers: int = 1, imap: bool = False) -> SMTPDaemon:
    directory.mkdir(parents=True, exist_ok=True)
    gateway = SMTPDaemon(
        directory, pop3=True, imap=imap, extra_config=f"[pop3]\nworkers = {workers}\n"
    )
    gateway.add_user(USER, PASSWORD)
    gateway.start()
    for n in range(1, workers + 1):
        gateway.wait_for(lambda n=n: f"[pop3-worker-{n} " in gateway.log(), what=f"worker {n}")
    return gateway


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[SMTPDaemon]:
    daemon = start(tmp_path, imap=True)
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.close()


def deliver(daemon: SMTPDaemon, count: int) -> None:
    before = len(daemon.messages(USER))
    with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as smtp:
        for n in range(count):
            smtp.sendmail("bob@remote.test", [USER], f"Subject: {n}\r\n\r\nbody {n}\r\n".encode())
    daemon.wait_for(lambda: len(daemon.messages(USER)) >= before + count, what="delivery")


def pop3(daemon: SMTPDaemon) -> poplib.POP3:
    assert daemon.pop3_port is not None
    client = poplib.POP3("127.0.0.1", daemon.pop3_port, timeout=30)
    client.stls(ssl._create_unverified_context())
    client.user(USER)
    client.pass_(PASSWORD)
    return client


def test_what_a_worker_deletes_the_main_process_s_imap_sees(gateway: SMTPDaemon) -> None:
    deliver(gateway, 2)
    assert gateway.imap_port is not None
    imap = imaplib.IMAP4("127.0.0.1", gateway.imap_port, timeout=30)
    imap.starttls(ssl._create_unverified_context())
    imap.login(USER, PASSWORD)
    assert imap.select("INBOX")[1] == [b"2"]
    client = pop3(gateway)
    assert client.stat()[0] == 2
    client.dele(1)
    client.quit()  # the worker's UPDATE, carried out by the main process
    assert imap.noop()[0] == "OK"
    assert imap.search(None, "ALL")[1] == [b"1"]
    assert imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].strip() == (
        b"Subject: 1"
    )
    imap.logout()
    log = gateway.log()
    assert f"[pop3-worker-1 gateway.pop3.server#info] pop3: 127.0.0.1: {USER} logged out" in log


def test_a_killed_worker_is_replaced_and_pop3_goes_on(gateway: SMTPDaemon) -> None:
    assert gateway.process is not None
    (worker,) = children(gateway.process.pid)
    os.kill(worker, signal.SIGKILL)
    gateway.wait_for(lambda: "pop3-worker-1: exited" in gateway.log(), what="the exit")
    wait(lambda: len(children(gateway.process.pid) - {worker}) == 1, "a new worker")
    deliver(gateway, 1)
    client = pop3(gateway)  # served: by the main process meanwhile, or the new worker
    assert client.stat()[0] == 1
    client.quit()
    assert "Traceback" not in gateway.log()


def test_workers_end_with_the_daemon_even_a_killed_one(tmp_path: Path) -> None:
    daemon = start(tmp_path / "a", workers=2)
    try:
        assert daemon.process is not None
        workers = children(daemon.process.pid)
        assert len(workers) == 2
        assert daemon.stop() == -signal.SIGTERM
        assert not any(process_alive(pid) for pid in workers)
        log = daemon.log()
        assert "pop3-worker-1: stopped" in log and "pop3-worker-2: stopped" in log
    finally:
        daemon.close()  # a failed assertion must not leave a daemon running

    daemon = start(tmp_path / "b", workers=1)
    try:
        assert daemon.process is not None
        workers = children(daemon.process.pid)
        daemon.kill()  # SIGKILL: no stop at all; the workers see their stdin close
        wait(
            lambda: not any(process_alive(pid) for pid in workers), "the orphaned worker to leave"
        )
    finally:
        daemon.close()
