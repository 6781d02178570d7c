"""Outbound relay and DSNs against the running daemon, real DNS and peers.

The gateway resolves MX through a twisted.names server on 127.0.0.1 serving
the test zone (never the system resolver); MX hosts listen on loopback on
an unprivileged port (``[relay] port``). Peers: a private Postfix delivering
to Maildir (over STARTTLS), and Postfix's smtp-sink answering scripted
errors. Every report the gateway sends is read with Python's email package.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.dnszone import Zone, in_subprocess
from tests.integration.dovecot import make_test_tls
from tests.integration.peers import (
    PostfixInstance,
    SMTPDaemon,
    SMTPSink,
    free_ports,
    have,
)

pytestmark = pytest.mark.skipif(
    not have("/usr/sbin/postfix", "/usr/sbin/smtp-sink"), reason="Debian's postfix not installed"
)

ALICE = "alice@example.test"


def zone() -> Zone:
    return Zone(
        "remote.test",
        {
            "@": [("MX", 10, "mx1")],
            "mx1": [("A", "127.0.0.1")],
        },
    )


def start_gateway(
    directory: Path, dns: tuple[str, int], port: int, extra: str = "", server: str = ""
) -> SMTPDaemon:
    """``extra``: more ``[relay]`` lines; ``server``: more ``[server]`` lines."""
    config = (
        f'[dns]\nservers = ["{dns[0]}:{dns[1]}"]\ntimeout = "2s"\n[relay]\nport = {port}\n{extra}'
    )
    directory.mkdir(parents=True, exist_ok=True)
    gateway = SMTPDaemon(directory, extra_config=config, relay=True, server_config=server)
    gateway.add_user(ALICE, "pw")
    gateway.start()
    return gateway


def send(gateway: SMTPDaemon, *rcpts: str, message: bytes) -> subprocess.CompletedProcess[bytes]:
    return gateway.cli("sendmail", "-f", ALICE, *rcpts, stdin=message, check=True)


def reports(gateway: SMTPDaemon) -> list[EmailMessage]:
    out = []
    for path in gateway.messages(ALICE):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if msg.get_content_type() == "multipart/report":
            out.append(msg)
    return out


def status_groups(report: EmailMessage) -> list[dict[str, str]]:
    """The per-recipient groups of the message/delivery-status part."""
    part = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    payload = part.get_payload()
    assert isinstance(payload, list)
    return [{k.lower(): str(v) for k, v in block.items()} for block in payload[1:]]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


@pytest.mark.parametrize("starttls", [True, False], ids=["starttls", "plain"])
def test_relays_by_mx_to_postfix(tmp_path: Path, stack: ExitStack, starttls: bool) -> None:
    """Postfix offering STARTTLS (used: opportunistic TLS) or not (plain)."""
    dns = stack.enter_context(in_subprocess([zone()]))
    tls_lines = ""
    if starttls:
        certs = Path(tempfile.mkdtemp(prefix="relay-tls-", dir="/var/tmp"))
        stack.callback(shutil.rmtree, certs, True)
        certs.chmod(0o755)
        tls = make_test_tls(certs, "mx1.remote.test")
        tls_lines = (
            "smtpd_tls_security_level = may\n"
            f"smtpd_tls_cert_file = {tls.certificate}\n"
            f"smtpd_tls_key_file = {tls.key}\n"
            "smtpd_tls_received_header = yes\n"
        )
    postfix = stack.enter_context(
        PostfixInstance(
            tmp_path / "postfix", maildir_domain="remote.test", extra_main_cf=tls_lines
        )
    )
    box = postfix.add_mailbox("bob@remote.test")
    gateway = start_gateway(tmp_path / "gw", dns, postfix.port)
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    message = (
        b"From: alice@example.test\r\nSubject: outbound\r\n"
        b"Message-ID: <out1@x>\r\n\r\nHello Bob.\r\n"
    )
    send(gateway, "bob@remote.test", message=message)
    gateway.wait_for(lambda: any(box.glob("*/*")), what="the message at Postfix")
    (path,) = [p for p in box.glob("*/*")]
    data = path.read_bytes()
    assert b"Hello Bob." in data and b"Message-ID: <out1@x>" in data
    assert (b"(using TLSv1." in data) == starttls  # Postfix's Received: over STARTTLS?
    gateway.wait_for(
        lambda: (
            "relayed to=<bob@remote.test>" in gateway.log()
            or "delivered to=<bob@remote.test>" in gateway.log()
        ),
        what="the outcome",
    )
    assert reports(gateway) == []  # no NOTIFY=SUCCESS: no report
    trace = gateway.cli("track", "<out1@x>", check=True).stdout.decode()
    # the trace says which TLS applied
    assert ("(mx1.remote.test) tls=TLSv1." if starttls else "(mx1.remote.test) tls=none") in trace


def test_rcpt_refused_gives_a_failure_report(tmp_path: Path, stack: ExitStack) -> None:
    dns = stack.enter_context(in_subprocess([zone()]))
    (port,) = free_ports(1)
    sink = SMTPSink(port, ("-f", "RCPT"))
    sink.start()
    stack.callback(sink.stop)
    gateway = start_gateway(tmp_path / "gw", dns, port)
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(
        gateway, "carol@remote.test", message=b"Subject: doomed\r\nMessage-ID: <d1@x>\r\n\r\nx\r\n"
    )
    gateway.wait_for(lambda: reports(gateway), what="a failure report to alice")
    (report,) = reports(gateway)
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert report.get_param("report-type") == "delivery-status"
    (group,) = status_groups(report)
    assert group["final-recipient"] == "rfc822; carol@remote.test"
    assert group["action"] == "failed"
    assert group["status"].startswith("5.")
    assert group["remote-mta"] == "dns; mx1.remote.test"
    assert group["diagnostic-code"].startswith("smtp; 5")


def test_unknown_local_user_gives_a_failure_report(tmp_path: Path, stack: ExitStack) -> None:
    (tmp_path / "gw").mkdir()
    gateway = SMTPDaemon(tmp_path / "gw")
    gateway.add_user(ALICE, "pw")
    gateway.start()
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(
        gateway, "nobody@example.test", message=b"Subject: lost\r\nMessage-ID: <l1@x>\r\n\r\nx\r\n"
    )
    gateway.wait_for(lambda: reports(gateway), what="a failure report")
    (report,) = reports(gateway)
    (group,) = status_groups(report)
    assert (group["action"], group["status"]) == ("failed", "5.1.1")
    returned = [p for p in report.walk() if p.get_content_type() == "message/rfc822"]
    assert returned, "the original should come back with a failure report"


def test_connection_refused_defers(tmp_path: Path, stack: ExitStack) -> None:
    dns = stack.enter_context(in_subprocess([zone()]))
    (port,) = free_ports(1)  # nothing listens there
    gateway = start_gateway(tmp_path / "gw", dns, port)
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(gateway, "dave@remote.test", message=b"Subject: later\r\n\r\nx\r\n")
    gateway.wait_for(
        lambda: "deferred to=<dave@remote.test> 4" in gateway.log(), what="a deferral"
    )
    assert reports(gateway) == []  # a delay notice only after delay_warning


def test_delay_notice_then_expiry_report(tmp_path: Path, stack: ExitStack) -> None:
    """Clock-driven with short settings: a refused host defers; after
    delay_warning one delay notice (will retry until ...), and when the
    queue lifetime is over a failure report (5.4.7)."""
    dns = stack.enter_context(in_subprocess([zone()]))
    (port,) = free_ports(1)  # nothing listens there
    queue = (
        '[queue]\nretry_first = "1s"\nretry_max = "1s"\ndelay_warning = "2s"\nlifetime = "6s"\n'
    )
    (tmp_path / "gw").mkdir()
    gateway = SMTPDaemon(
        tmp_path / "gw",
        extra_config=f'[dns]\nservers = ["{dns[0]}:{dns[1]}"]\n[relay]\nport = {port}\n{queue}',
        relay=True,
    )
    gateway.add_user(ALICE, "pw")
    gateway.start()
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(gateway, "erin@remote.test", message=b"Subject: slow\r\nMessage-ID: <s1@x>\r\n\r\nx\r\n")
    gateway.wait_for(lambda: len(reports(gateway)) >= 2, timeout=60, what="delay then failure")
    delay, failure = sorted(reports(gateway), key=lambda r: "Delayed" not in str(r["Subject"]))
    assert delay["Subject"] == "Delayed Mail (still being retried)"
    (group,) = status_groups(delay)
    assert group["action"] == "delayed" and "will-retry-until" in group
    (group,) = status_groups(failure)
    assert (group["action"], group["status"]) == ("failed", "5.4.7")
    assert len(reports(gateway)) == 2  # one delay notice only


def test_tls_required_but_not_offered_defers(tmp_path: Path, stack: ExitStack) -> None:
    dns = stack.enter_context(in_subprocess([zone()]))
    (port,) = free_ports(1)
    sink = SMTPSink(port)  # smtp-sink offers no STARTTLS
    sink.start()
    stack.callback(sink.stop)
    gateway = start_gateway(tmp_path / "gw", dns, port, extra='tls = "encrypt"\n')
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(gateway, "frank@remote.test", message=b"Subject: secret\r\n\r\nx\r\n")
    gateway.wait_for(
        lambda: "deferred to=<frank@remote.test> 451 4.7.10" in gateway.log(),
        what="a deferral for missing TLS",
    )


def test_one_of_three_refused_at_rcpt_by_the_next_hop(tmp_path: Path, stack: ExitStack) -> None:
    """The next hop is another gateway serving remote.test: it knows bob
    and carol, refuses dave at RCPT (550 5.1.1). Bob and carol get the
    message, alice a failure report naming only dave."""
    (tmp_path / "peer").mkdir()
    peer = SMTPDaemon(tmp_path / "peer", local_domains=("remote.test",))
    peer.add_user("bob@remote.test", "pw")
    peer.add_user("carol@remote.test", "pw")
    peer.start()
    stack.callback(peer.close)
    stack.callback(peer.stop)
    dns = stack.enter_context(in_subprocess([zone()]))
    gateway = start_gateway(tmp_path / "gw", dns, peer.smtp_port)
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    message = b"Subject: three\r\nMessage-ID: <three@x>\r\n\r\nfor three\r\n"
    send(gateway, "bob@remote.test", "carol@remote.test", "dave@remote.test", message=message)
    for user in ("bob@remote.test", "carol@remote.test"):
        peer.wait_for(lambda u=user: peer.messages(u), what=f"delivery to {user}")  # type: ignore[misc]
    gateway.wait_for(lambda: reports(gateway), what="the failure report")
    (report,) = reports(gateway)
    (group,) = status_groups(report)
    assert group["final-recipient"] == "rfc822; dave@remote.test"
    assert (group["action"], group["status"]) == ("failed", "5.1.1")


def test_temporary_failure_then_success_on_retry(tmp_path: Path, stack: ExitStack) -> None:
    """smtp-sink answers 4xx at RCPT; the message waits; once the host
    accepts, an administrator's retry delivers it (no report: nothing failed)."""
    dns = stack.enter_context(in_subprocess([zone()]))
    (port,) = free_ports(1)
    refusing = SMTPSink(port, ("-r", "RCPT"))
    refusing.start()
    gateway = start_gateway(tmp_path / "gw", dns, port)
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(
        gateway, "gina@remote.test", message=b"Subject: soon\r\nMessage-ID: <soon@x>\r\n\r\nx\r\n"
    )
    gateway.wait_for(lambda: "deferred to=<gina@remote.test> 4" in gateway.log(), what="4xx")
    refusing.stop()
    accepting = SMTPSink(port)
    accepting.start()
    stack.callback(accepting.stop)
    qid = gateway.cli("queue", "list", check=True).stdout.decode().split()[0]
    gateway.cli("queue", "retry", qid, check=True)
    gateway.wait_for(
        lambda: (
            f"{qid}: relayed to=<gina@remote.test>" in gateway.log()
            or f"{qid}: delivered to=<gina@remote.test>" in gateway.log()
        ),
        what="delivery on retry",
    )
    assert reports(gateway) == []


def _postfix_with_test_ca(tmp_path: Path, stack: ExitStack) -> tuple[PostfixInstance, Any, Path]:
    certs = Path(tempfile.mkdtemp(prefix="relay-tls-", dir="/var/tmp"))
    stack.callback(shutil.rmtree, certs, True)
    certs.chmod(0o755)
    tls = make_test_tls(certs, "mx1.remote.test")
    postfix = stack.enter_context(
        PostfixInstance(
            tmp_path / "postfix",
            maildir_domain="remote.test",
            extra_main_cf=(
                "smtpd_tls_security_level = may\n"
                f"smtpd_tls_cert_file = {tls.certificate}\n"
                f"smtpd_tls_key_file = {tls.key}\n"
                "smtpd_tls_received_header = yes\n"
            ),
        )
    )
    return postfix, tls, postfix.add_mailbox("bob@remote.test")


def test_verify_policy_checks_the_certificate_and_the_name(
    tmp_path: Path, stack: ExitStack
) -> None:
    dns = stack.enter_context(in_subprocess([zone()]))
    postfix, tls, box = _postfix_with_test_ca(tmp_path, stack)
    trusted = start_gateway(
        tmp_path / "trusted", dns, postfix.port, extra=f'tls = "verify"\nca_file = "{tls.ca}"\n'
    )
    stack.callback(trusted.close)
    stack.callback(trusted.stop)
    send(
        trusted, "bob@remote.test", message=b"Subject: verified\r\nMessage-ID: <v1@x>\r\n\r\nv\r\n"
    )
    trusted.wait_for(lambda: any(box.glob("*/*")), what="delivery with a verified certificate")
    assert b"(using TLSv1." in next(iter(box.glob("*/*"))).read_bytes()
    trusted.wait_for(
        lambda: "verified" in trusted.cli("track", "<v1@x>").stdout.decode(),
        what="the trace to say the certificate was verified",
    )
    # the system's trust does not know the test CA: not delivered, deferred
    untrusting = start_gateway(
        tmp_path / "untrusting", dns, postfix.port, extra='tls = "verify"\n'
    )
    stack.callback(untrusting.close)
    stack.callback(untrusting.stop)
    send(untrusting, "bob@remote.test", message=b"Subject: unverified\r\n\r\nu\r\n")
    untrusting.wait_for(
        lambda: "deferred to=<bob@remote.test> 4" in untrusting.log(), what="a deferral"
    )
    assert len(list(box.glob("*/*"))) == 1


def test_a_silent_server_times_out_and_defers(tmp_path: Path, stack: ExitStack) -> None:
    dns = stack.enter_context(in_subprocess([zone()]))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (the kernel does), never greets
    stack.callback(silent.close)
    port = silent.getsockname()[1]
    gateway = start_gateway(tmp_path / "gw", dns, port, extra='greeting_timeout = "1s"\n')
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(gateway, "hal@remote.test", message=b"Subject: wait\r\n\r\nx\r\n")
    gateway.wait_for(lambda: "deferred to=<hal@remote.test> 4" in gateway.log(), what="timeout")


def test_stop_waits_no_longer_than_stop_timeout_for_a_hung_delivery(
    tmp_path: Path, stack: ExitStack
) -> None:
    """A delivery stuck on a next hop that never greets (the greeting
    timeout is 5 minutes, RFC 5321 4.5.3.2) does not hold SIGTERM up past
    ``server.stop_timeout``; the message stays queued for the next start."""
    dns = stack.enter_context(in_subprocess([zone()]))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    silent.settimeout(60)
    stack.callback(silent.close)
    gateway = start_gateway(
        tmp_path / "gw", dns, silent.getsockname()[1], server='stop_timeout = "2s"\n'
    )
    stack.callback(gateway.close)
    send(gateway, "hal@remote.test", message=b"Message-ID: <hung@x>\r\n\r\nx\r\n")
    connection, _ = silent.accept()  # the delivery is connected and waits for a greeting
    stack.callback(connection.close)
    with pytest.warns(UserWarning, match="BusService still busy after 2 s"):
        assert gateway.stop() == -signal.SIGTERM
    log = gateway.log()
    assert "Traceback" not in log
    assert log.rstrip().endswith("Server Shut Down.")
    gateway.start()
    listing = gateway.cli("queue", "list", check=True).stdout.decode()
    assert "hal@remote.test" in listing, listing


def test_smarthost_with_auth_over_starttls(tmp_path: Path, stack: ExitStack) -> None:
    """The smarthost is another gateway's submission port: STARTTLS, then
    AUTH as our account there, then the message reaches bob there."""
    (tmp_path / "smarthost").mkdir()
    smarthost = SMTPDaemon(
        tmp_path / "smarthost",
        local_domains=("remote.test",),
        # our account there may send for our whole domain
        smtp_config='sender_grants = { "relay@remote.test" = ["@example.test"] }\n',
    )
    smarthost.add_user("bob@remote.test", "pw")
    smarthost.add_user("relay@remote.test", "relay-pw")
    smarthost.start()
    stack.callback(smarthost.close)
    stack.callback(smarthost.stop)
    relay = (
        f'smarthost = "[127.0.0.1]:{smarthost.submission_port}"\n'
        'smarthost_user = "relay@remote.test"\nsmarthost_password = "relay-pw"\ntls = "encrypt"\n'
    )
    (tmp_path / "gw").mkdir()
    gateway = SMTPDaemon(
        tmp_path / "gw",
        extra_config=f'[dns]\nservers = ["127.0.0.1:1"]\n[relay]\n{relay}',
        relay=True,
    )
    gateway.add_user(ALICE, "pw")
    gateway.start()
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    send(
        gateway,
        "bob@remote.test",
        message=b"Subject: via smarthost\r\nMessage-ID: <sh@x>\r\n\r\ns\r\n",
    )
    smarthost.wait_for(
        lambda: smarthost.messages("bob@remote.test"), what="delivery via smarthost"
    )
    data = smarthost.messages("bob@remote.test")[0].read_bytes()
    assert b"with ESMTPSA" in data  # RFC 3848: TLS and AUTH at the smarthost


def test_notify_success_gets_a_success_report_for_local_delivery(
    tmp_path: Path, stack: ExitStack
) -> None:
    import smtplib

    (tmp_path / "gw").mkdir()
    gateway = SMTPDaemon(tmp_path / "gw", trusted_networks=("127.0.0.0/8",))
    gateway.add_user(ALICE, "pw")
    gateway.add_user("bob@example.test", "pw")
    gateway.start()
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    with smtplib.SMTP("127.0.0.1", gateway.smtp_port) as smtp:
        smtp.sendmail(
            ALICE,
            ["bob@example.test"],
            b"Subject: tell me\r\nMessage-ID: <ok1@x>\r\n\r\nx\r\n",
            rcpt_options=["NOTIFY=SUCCESS"],
        )
    gateway.wait_for(lambda: reports(gateway), what="a success report to alice")
    (report,) = reports(gateway)
    assert report["Subject"] == "Successful Mail Delivery Report"
    (group,) = status_groups(report)
    assert (group["action"], group["status"]) == ("delivered", "2.0.0")
    assert group["final-recipient"] == "rfc822; bob@example.test"
