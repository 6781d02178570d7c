"""The SMTP listeners of the running daemon, with smtplib and raw sockets.

Real TLS, real clients, loopback only. (swaks, Postfix and nmap scenarios
live in test_smtp_peers.py.)
"""

from __future__ import annotations

import base64
import os
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.tls import generate_self_signed
from tests.integration.peers import SMTPDaemon
from tests.integration.test_lifecycle import fill, tiny_tmpfs

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"
MESSAGE = (
    b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: e2e\r\n"
    b"Message-ID: <e2e-1@remote.test>\r\n\r\nHello Alice.\r\n.leading dot\r\n"
)


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[SMTPDaemon]:
    d = SMTPDaemon(tmp_path, smtp_config="max_connections_per_ip = 4\n")
    try:
        d.start()
        d.add_user(ALICE, "wonderland")
        yield d
    finally:
        d.close()


def delivered(d: SMTPDaemon, marker: bytes) -> list[bytes]:
    return [p.read_bytes() for p in d.messages(ALICE) if marker in p.read_bytes()]


def test_mx_with_starttls_delivers_intact(gateway: SMTPDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        smtp.starttls(context=client_tls())
        smtp.ehlo("client.test")
        refused = smtp.sendmail("bob@remote.test", [ALICE], MESSAGE)
        assert refused == {}
    gateway.wait_for(lambda: delivered(gateway, b"<e2e-1@remote.test>"), what="delivery")
    (data,) = delivered(gateway, b"<e2e-1@remote.test>")
    head, _, original = data.partition(b"From: Bob")
    assert b"with ESMTPS id" in head and b"(using TLSv1." in head
    # dot-unstuffed back to what was sent, stored with LF line ends (Maildir)
    assert b"From: Bob" + original == MESSAGE.replace(b"\r\n", b"\n")


def test_submission_needs_tls_and_auth(gateway: SMTPDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.submission_port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        plain = base64.b64encode(b"\0alice@example.test\0wonderland").decode()
        assert smtp.docmd("AUTH", "PLAIN " + plain)[0] == 538
        assert smtp.docmd("MAIL", "FROM:<alice@example.test>")[0] == 530
        smtp.starttls(context=client_tls())
        smtp.ehlo("client.test")
        assert smtp.docmd("MAIL", "FROM:<alice@example.test>")[0] == 530
        smtp.login(ALICE, "wonderland")
        assert smtp.docmd("MAIL", "FROM:<bob@example.test>")[0] == 553
        smtp.rset()
        smtp.sendmail(ALICE, [ALICE, "friend@remote.test"], MESSAGE.replace(b"e2e-1", b"e2e-2"))
    gateway.wait_for(lambda: delivered(gateway, b"<e2e-2@remote.test>"), what="delivery")


def test_submissions_implicit_tls_with_auth(gateway: SMTPDaemon) -> None:
    with smtplib.SMTP_SSL(
        "127.0.0.1", gateway.submissions_port, context=client_tls(), timeout=30
    ) as smtp:
        smtp.ehlo("client.test")
        assert smtp.has_extn("auth") and not smtp.has_extn("starttls")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(ALICE, "wrong")
        smtp.login(ALICE, "wonderland")
        smtp.sendmail(ALICE, [ALICE], MESSAGE.replace(b"e2e-1", b"e2e-3"))
    gateway.wait_for(lambda: delivered(gateway, b"<e2e-3@remote.test>"), what="delivery")
    (data,) = delivered(gateway, b"<e2e-3@remote.test>")
    assert b"with ESMTPSA id" in data


def recv_reply(sock: socket.socket | ssl.SSLSocket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n") or data.split(b"\r\n")[-2][3:4] == b"-":
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_starttls_command_injection_is_not_executed(gateway: SMTPDaemon) -> None:
    raw = socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30)
    recv_reply(raw)
    raw.sendall(b"EHLO client.test\r\n")
    recv_reply(raw)
    # STARTTLS and, in the same packet, plaintext commands an attacker injected
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
    assert recv_reply(raw).startswith(b"220 ")
    tls = client_tls().wrap_socket(raw)
    tls.sendall(b"RCPT TO:<alice@example.test>\r\n")
    assert recv_reply(tls).startswith(b"503 ")  # no EHLO, no MAIL: nothing carried over
    tls.sendall(b"QUIT\r\n")
    recv_reply(tls)
    tls.close()


def test_noise_half_closed_and_slow_clients_do_not_hurt_others(gateway: SMTPDaemon) -> None:
    hostile = []
    noise = socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30)
    noise.sendall(os.urandom(64 * 1024))
    hostile.append(noise)
    half = socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30)
    half.sendall(b"EHLO half\r\nMAIL FROM:<a@remote.test>\r\n")
    half.shutdown(socket.SHUT_WR)
    hostile.append(half)
    slow = socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30)
    stop = threading.Event()

    def trickle() -> None:
        for byte in b"EHLO slow.client.test\r\n" * 3:
            if stop.wait(0.05):
                return
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                return

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    hostile.append(slow)
    try:
        with smtplib.SMTP("127.0.0.1", gateway.smtp_port, timeout=30) as smtp:
            smtp.sendmail("bob@remote.test", [ALICE], MESSAGE.replace(b"e2e-1", b"e2e-4"))
        gateway.wait_for(lambda: delivered(gateway, b"<e2e-4@remote.test>"), what="delivery")
    finally:
        stop.set()
        trickler.join(5)
        for sock in hostile:
            sock.close()
    assert gateway.process is not None and gateway.process.poll() is None


def test_connections_per_address_are_limited(gateway: SMTPDaemon) -> None:
    held = []
    try:
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30)
            assert recv_reply(sock).startswith(b"220 ")
            held.append(sock)
        extra = socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30)
        assert recv_reply(extra).startswith(b"421 4.7.0")
        extra.close()
    finally:
        for sock in held:
            sock.close()
    # the slots come back when the clients leave
    gateway.wait_for(lambda: _greeting(gateway).startswith(b"220 "), what="a free slot")


def _greeting(gateway: SMTPDaemon) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.smtp_port), timeout=30) as sock:
        return recv_reply(sock)


def test_certificate_reloads_without_restart(gateway: SMTPDaemon) -> None:
    def served_certificate() -> bytes:
        raw = socket.create_connection(("127.0.0.1", gateway.submissions_port), timeout=30)
        with client_tls().wrap_socket(raw) as tls:
            cert = tls.getpeercert(binary_form=True)
            assert cert is not None
            return cert

    before = served_certificate()
    cert_pem, key_pem = generate_self_signed("renewed.example.test")
    tls_dir = gateway.data_dir / "tls"
    (tls_dir / "key.pem").write_bytes(key_pem)
    (tls_dir / "cert.pem").write_bytes(cert_pem)
    gateway.wait_for(lambda: served_certificate() != before, what="the new certificate")
    assert b"renewed.example.test" in served_certificate()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_spool_answers_452_at_end_of_data(tmp_path: Path) -> None:
    d = SMTPDaemon(tmp_path)
    queue = d.data_dir / "queue"
    queue.mkdir(parents=True)
    with tiny_tmpfs(queue):
        try:
            d.start()
            d.add_user(ALICE, "wonderland")
            filler = fill(queue)
            with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=30) as smtp:
                smtp.ehlo("client.test")
                smtp.mail("bob@remote.test")
                smtp.rcpt(ALICE)
                padding = (b"x" * 78 + b"\r\n") * 100  # more than the few KiB left
                code, text = smtp.data(MESSAGE.replace(b"e2e-1", b"full") + padding)
                assert (code, text[:5]) == (452, b"4.3.1")
                filler.unlink()
                smtp.rset()
                smtp.sendmail("bob@remote.test", [ALICE], MESSAGE.replace(b"e2e-1", b"room"))
            d.wait_for(lambda: delivered(d, b"<room@remote.test>"), what="delivery")
            assert delivered(d, b"<full@remote.test>") == []
        finally:
            d.close()
