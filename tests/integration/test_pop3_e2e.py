"""POP3 against the running daemon: poplib (plain, STLS, POP3S, SASL PLAIN),
fetchmail and getmail6 retrieving and deleting over TLS, [IN-USE] locking.

Mail gets in the way a user's mail does: SMTP to the gateway's MX listener,
local delivery into the Maildir, then POP3.
"""

from __future__ import annotations

import base64
import poplib
import shutil
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.peers import SMTPDaemon
from tests.integration.popclients import fetchmail_retrieve, getmail_retrieve

USER = "alice@example.test"
PASSWORD = "pop-secret"

MESSAGES = [
    b"From: bob@remote.test\r\nSubject: first\r\n\r\nHello Alice.\r\n",
    b"From: bob@remote.test\r\nSubject: second\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n",
    "From: bob@remote.test\r\nSubject: third\r\n\r\nGr\u00fc\u00dfe\r\n".encode(),
]


@pytest.fixture(scope="module", params=[0, 1], ids=["in-process", "worker"])
def daemon(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[SMTPDaemon]:
    """Every scenario twice: POP3 served by the main process, and by a
    worker process (``[pop3] workers = 1``: the main process then leaves
    POP3 connections to it, and the worker opens maildrops through it)."""
    workers = request.param
    gateway = SMTPDaemon(
        tmp_path_factory.mktemp("pop3"), pop3=True, extra_config=f"[pop3]\nworkers = {workers}\n"
    )
    gateway.add_user(USER, PASSWORD)
    gateway.add_user("bob@example.test", PASSWORD)
    gateway.start()
    if workers:
        gateway.wait_for(lambda: "pop3-worker-1 " in gateway.log(), what="the POP3 worker")
    try:
        yield gateway
    finally:
        gateway.stop()
        gateway.close()
        if workers:  # the sessions of this module were the worker's, not the main process's
            log = gateway.log()
            assert "[pop3-worker-1 gateway.pop3.server#info] pop3: 127.0.0.1:" in log
            assert "[gateway.pop3.server#info] pop3: 127.0.0.1:" not in log


def context() -> ssl.SSLContext:
    return ssl._create_unverified_context()  # the daemon's self-signed certificate


def deliver(daemon: SMTPDaemon, *messages: bytes, to: str = USER) -> None:
    before = len(daemon.messages(to))
    with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as smtp:
        for message in messages:
            smtp.sendmail("bob@remote.test", [to], message)
    daemon.wait_for(lambda: len(daemon.messages(to)) >= before + len(messages), what="delivery")


def body_of(lines: list[bytes]) -> bytes:
    """A RETR answer without our trace fields, with CRLF line ends."""
    text = b"\r\n".join(lines) + b"\r\n"
    return text[text.index(b"From: bob@") :]


def login(daemon: SMTPDaemon, user: str = USER) -> poplib.POP3:
    assert daemon.pop3_port is not None
    client = poplib.POP3("127.0.0.1", daemon.pop3_port, timeout=30)
    client.stls(context())
    client.user(user)
    client.pass_(PASSWORD)
    return client


def empty(daemon: SMTPDaemon, user: str = USER) -> None:
    client = login(daemon, user)
    for number in range(1, client.stat()[0] + 1):
        client.dele(number)
    client.quit()


def test_plaintext_login_needs_tls(daemon: SMTPDaemon) -> None:
    assert daemon.pop3_port is not None
    client = poplib.POP3("127.0.0.1", daemon.pop3_port, timeout=30)
    capabilities = client.capa()
    assert "STLS" in capabilities and "USER" not in capabilities
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]|TLS"):
        client.user(USER)
    client.stls(context())
    capabilities = client.capa()
    assert "USER" in capabilities and "STLS" not in capabilities
    assert "PLAIN" in capabilities["SASL"]
    client.quit()


def test_retrieve_delete_and_stable_uidls_over_stls(daemon: SMTPDaemon) -> None:
    deliver(daemon, *MESSAGES)
    client = login(daemon)
    count, total = client.stat()
    assert count == 3
    listing = [line.split() for line in client.list()[1]]
    assert sum(int(size) for _n, size in listing) == total
    uidls = client.uidl()[1]
    retrieved = [client.retr(n) for n in (1, 2, 3)]
    for (_response, lines, _octets), sent, (_n, size) in zip(
        retrieved, MESSAGES, listing, strict=True
    ):
        assert body_of(lines) == sent  # dot-unstuffed by poplib: intact
        assert int(size) == len(b"\r\n".join(lines) + b"\r\n")  # RFC 1939 LIST: CRLF octets
    top = client.top(2, 1)[1]
    assert b"Subject: second" in top and top[-1] == b".leading dot"
    client.dele(2)
    assert client.stat()[0] == 2
    client.rset()
    client.dele(2)
    client.quit()

    client = login(daemon)
    assert client.stat()[0] == 2
    assert client.uidl()[1] == [uidls[0], b"2 " + uidls[2].split()[1]]
    client.quit()
    empty(daemon)


def test_pop3s_with_sasl_plain(daemon: SMTPDaemon) -> None:
    deliver(daemon, MESSAGES[0])
    assert daemon.pop3s_port is not None
    client = poplib.POP3_SSL("127.0.0.1", daemon.pop3s_port, context=context(), timeout=30)
    token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    assert client._shortcmd(f"AUTH PLAIN {token}").startswith(b"+OK")
    count, _ = client.stat()
    assert count == 1
    assert body_of(client.retr(1)[1]) == MESSAGES[0]
    client.dele(1)
    client.quit()


def test_second_session_gets_in_use_and_another_user_is_not_blocked(
    daemon: SMTPDaemon,
) -> None:
    first = login(daemon)
    assert daemon.pop3_port is not None
    second = poplib.POP3("127.0.0.1", daemon.pop3_port, timeout=30)
    second.stls(context())
    second.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_(PASSWORD)
    login(daemon, "bob@example.test").quit()
    first.quit()
    second.user(USER)
    second.pass_(PASSWORD)  # free again
    second.quit()


def test_wrong_password_is_refused(daemon: SMTPDaemon) -> None:
    assert daemon.pop3_port is not None
    client = poplib.POP3("127.0.0.1", daemon.pop3_port, timeout=30)
    client.stls(context())
    client.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.pass_("wrong")
    client.quit()


@pytest.mark.parametrize(
    ("program", "retrieve"),
    [("fetchmail", fetchmail_retrieve), ("getmail", getmail_retrieve)],
    ids=["fetchmail", "getmail6"],
)
def test_real_client_retrieves_and_deletes_over_tls(
    daemon: SMTPDaemon, tmp_path: Path, program: str, retrieve: Any
) -> None:
    if not shutil.which(program):
        pytest.skip(f"{program} not installed")
    deliver(daemon, *MESSAGES)
    assert daemon.pop3s_port is not None
    run = retrieve("127.0.0.1", daemon.pop3s_port, USER, PASSWORD, tmp_path / "got", ssl=True)
    assert run.returncode == 0, run.output
    got = sorted(body_of(m.replace(b"\r\n", b"\n").split(b"\n")[:-1]) for m in run.contents())
    assert got == sorted(MESSAGES)
    client = login(daemon)
    assert client.stat() == (0, 0)
    client.quit()
