"""X.400 P1 end to end: two real gateway daemons talking P1 on loopback.

Gateway A serves a.test (alice), gateway B serves b.test (bob); each has
the MCGAMs of both domains (``a.test`` <-> ``PRMD=A``, ``b.test`` <->
``PRMD=B``) and the other as an ``[x400.peers.<name>]`` table, so mail from
alice to bob@b.test leaves A over P1 (RFC 1006 on a free port), B converts
it back to Internet mail for its local user, and the reports B makes go
back to A as X.400 reports that A turns into RFC 3464 DSNs for alice
(:mod:`tests.integration.x400peers`). No DNS: the relay is off.

Faults use the real daemons too: a peer that is down, a wrong password,
garbage on the listener, a peer that hangs up (before the bind, or in the
middle of a transfer: :class:`~tests.integration.x400peers.CuttingProxy`),
a peer that never answers. Where tshark may capture (root), it watches the
live association and decodes it without a warning.
"""

from __future__ import annotations

import email
import email.policy
import re
import smtplib
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.x400.osi.association import AssociationConfig, Credentials, P1Association
from tests.integration.peers import LOOPBACK
from tests.integration.x400peers import (
    GW_A,
    GW_B,
    Capture,
    ClosingPeer,
    CuttingProxy,
    SilentPeer,
    X400Daemon,
    another_port,
    dsn_groups,
    gateway_pair,
    reports,
    start_together,
)

ALICE = "alice@a.test"
BOB = "bob@b.test"


def message(subject: str, msgid: str, to: str = BOB, body: bytes = b"Hello Bob.\r\n") -> bytes:
    return (
        f"From: Alice <{ALICE}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        # a header field without an X.400 counterpart travels in the 1988
        # rfc-822-field-list heading extension: content type 22 (5.1.3)
        "X-Mailer: p1-e2e\r\n\r\n"
    ).encode() + body


def with_attachment(subject: str, msgid: str) -> bytes:
    """Text and a PDF: the file-transfer body part is a 1988 feature that
    Wireshark's P22 decodes (an rfc-822-field-list heading extension, the
    MIXER OID, it cannot: "Dissector for OID not implemented")."""
    return (
        f"From: Alice <{ALICE}>\r\nTo: <{BOB}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe figures.\r\n"
        "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        'filename="q3.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n'
        "--b--\r\n"
    ).encode()


def smtp_send(
    gateway: X400Daemon, rcpt: str, content: bytes, notify: str = "SUCCESS,FAILURE"
) -> None:
    """Submit over SMTP (port 25 style, no AUTH: X.400 recipients are taken
    from anyone, like local ones) with a DSN request."""
    with smtplib.SMTP(LOOPBACK, gateway.smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.a.test")
        smtp.sendmail(ALICE, [rcpt], content, rcpt_options=[f"NOTIFY={notify}"])


def stored(gateway: X400Daemon, user: str) -> list[EmailMessage]:
    out = []
    for path in gateway.messages(user):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def with_id(gateway: X400Daemon, user: str, msgid: str) -> list[EmailMessage]:
    return [m for m in stored(gateway, user) if m["Message-ID"] == f"<{msgid}>"]


def queue_empty(gateway: X400Daemon) -> bool:
    return "queue is empty" in gateway.queue_list()


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def running(stack: ExitStack, *daemons: X400Daemon) -> None:
    """Start ``daemons`` and stop them at the end of the test."""
    for daemon in daemons:
        stack.callback(daemon.close)
        stack.callback(daemon.stop)
    start_together(*daemons)


@pytest.fixture
def pair(tmp_path: Path, stack: ExitStack) -> tuple[X400Daemon, X400Daemon]:
    a, b = gateway_pair(tmp_path)
    running(stack, a, b)
    return a, b


# --------------------------------------------------------------------------
# 1, 2: a message over P1 and the report back


def test_message_over_p1_and_the_delivery_report_back(
    pair: tuple[X400Daemon, X400Daemon],
) -> None:
    a, b = pair
    smtp_send(a, BOB, message("over P1", "e2e1@a.test"))
    b.wait_for(lambda: with_id(b, BOB, "e2e1@a.test"), what="the message in bob's Maildir at B")
    (got,) = with_id(b, BOB, "e2e1@a.test")
    assert got["Subject"] == "over P1"
    assert got["From"] == f"Alice <{ALICE}>"
    assert got.get_content().replace("\r\n", "\n") == "Hello Bob.\n"
    assert got["X-Mailer"] == "p1-e2e"  # the rfc-822-field-list came through
    # MIXER's trace of the X.400 hop (RFC 2156 4.7.4, 5.3.7)
    assert got["X400-MTS-Identifier"] == "[/PRMD=A/ADMD= /C=GB/;<e2e1@a.test>]"
    assert any(
        '"mta.a.test" in /PRMD=A/ADMD= /C=GB/' in str(v) for v in got.get_all("X400-Received", [])
    )
    assert got["X400-Content-Type"].startswith("P2-1988 (22)")
    assert "MIXER" in str(got["Received"])

    # B reports the delivery (NOTIFY=SUCCESS became an X.400 report
    # request); A turns the X.400 delivery report into a DSN for alice
    a.wait_for(lambda: reports(a, ALICE), what="the delivery report at alice")
    # exactly one: no "relayed" DSN from A on handing the message to X.400
    (report,) = reports(a, ALICE)
    assert report.report_type == "delivery-status"
    (group,) = dsn_groups(report)
    assert (group["action"], group["status"]) == ("delivered", "2.0.0")
    assert group["original-recipient"] == f"rfc822;{BOB}"
    assert group["final-recipient"] == "x400;/S=bob/PRMD=B/ADMD= /C=GB/"
    assert report.reporting_mta == 'x400; mta "mta.b.test" in /PRMD=B/ADMD= /C=GB/'
    # the report names the message it is about (its MTS identifier)
    assert report.original_envelope_id == "[/PRMD=A/ADMD= /C=GB/;<e2e1@a.test>]"
    assert stored(b, BOB)[0]["Return-Path"] == f"<{ALICE}>"
    a.wait_for(lambda: queue_empty(a), what="A's queue to empty")
    b.wait_for(lambda: queue_empty(b), what="B's queue to empty")


def test_unknown_recipient_at_b_gives_a_failure_report(
    pair: tuple[X400Daemon, X400Daemon],
) -> None:
    """nobody@b.test is an X.400 address at A (PRMD=B), unknown at B: B
    takes the transfer (responsibility passes, X.411) and reports the
    non-delivery; A never retries."""
    a, b = pair
    smtp_send(a, "nobody@b.test", message("to nobody", "e2e2@a.test", to="nobody@b.test"))
    a.wait_for(lambda: reports(a, ALICE), what="the failure report at alice")
    (report,) = reports(a, ALICE)
    (group,) = dsn_groups(report)
    assert (group["action"], group["status"]) == ("failed", "5.1.1")
    assert group["original-recipient"] == "rfc822;nobody@b.test"
    # reason 1 unable-to-transfer, diagnostic 0 unrecognised-OR-name
    diagnostic = group["diagnostic-code"]
    assert diagnostic.startswith("X-400; Reason 1 (unable-to-transfer); Diagnostic 0")
    assert "unrecognised-OR-name" in diagnostic
    assert "550 5.1.1" in group["x400-supplementary-info"]
    assert report.original_envelope_id == "[/PRMD=A/ADMD= /C=GB/;<e2e2@a.test>]"
    a.wait_for(lambda: queue_empty(a), what="A's queue to empty")
    b.wait_for(lambda: queue_empty(b), what="B's queue to empty")
    assert "deferred to=" not in a.log()  # the transfer was taken at once
    assert stored(b, BOB) == []


# --------------------------------------------------------------------------
# 3: tshark watches the live association


def test_live_association_decodes_without_warnings(
    pair: tuple[X400Daemon, X400Daemon], tmp_path: Path
) -> None:
    a, b = pair
    with Capture(b.x400_port, tmp_path) as capture:
        smtp_send(a, BOB, with_attachment("seen by tshark", "e2e3@a.test"), notify="NEVER")
        b.wait_for(lambda: with_id(b, BOB, "e2e3@a.test"), what="the message at B")
        # A releases its parked association after idle_timeout (1s):
        # the capture then holds bind, transfer and release
        b.wait_for(
            lambda: (
                "x400: association from mta.a.test" in b.log()
                and " released" in b.log().split("x400: association from mta.a.test")[-1]
            ),
            what="A to release the association",
        )
    expert = capture.expert()
    assert expert == [], (expert, capture.read(), b.log()[-3000:])
    fields = capture.read("-Y", "p22", "-T", "fields", "-e", "p22.subject", "-e", "p1.built_in")
    assert fields.splitlines() == ["seen by tshark\t22"]
    summary = capture.read()
    assert "Bind-Argument mta.a.test" in summary
    assert "Bind-Result mta.b.test" in summary


# --------------------------------------------------------------------------
# 4: faults


def test_peer_down_defers_then_delivers_when_it_is_back(tmp_path: Path, stack: ExitStack) -> None:
    a, b = gateway_pair(tmp_path)
    running(stack, a)  # B is down: nothing listens on its x400 port
    smtp_send(a, BOB, message("while B is down", "e2e4a@a.test"))
    a.wait_for(lambda: "deferred to=<bob@b.test> 451 4.4.1" in a.log(), what="a deferral")
    listing = a.queue_list()
    assert "bob@b.test" in listing and "[deferred]" in listing
    trace = a.track("<e2e4a@a.test>")
    assert re.search(r"deferred\s+to=<bob@b\.test> 451 4\.4\.1 cannot connect", trace), trace
    running(stack, b)
    b.wait_for(lambda: with_id(b, BOB, "e2e4a@a.test"), what="delivery once B is back")
    a.wait_for(lambda: queue_empty(a), what="A's queue to empty")
    a.wait_for(lambda: reports(a, ALICE), what="the delivery report")
    assert [g["action"] for r in reports(a, ALICE) for g in dsn_groups(r)] == ["delivered"]
    assert len(stored(b, BOB)) == 1


def test_wrong_password_is_refused_and_nothing_is_lost(tmp_path: Path, stack: ExitStack) -> None:
    a, b = gateway_pair(tmp_path)
    a.peers[0].our_password = "not-" + GW_A.password
    a.write_config()
    running(stack, a, b)
    smtp_send(a, BOB, message("bad password", "e2e4b@a.test"))
    a.wait_for(lambda: "deferred to=<bob@b.test> 451 4.7.0" in a.log(), what="a 4.7.0 deferral")
    assert "refused the MTA-bind" in a.track("<e2e4b@a.test>")
    b.wait_for(lambda: "refused MTA-bind" in b.log(), what="B's refusal in its log")
    assert "wrong password" in b.log()
    assert stored(b, BOB) == []
    assert "bob@b.test" in a.queue_list()
    # with the right password the queued message goes through
    a.stop()
    a.peers[0].our_password = GW_A.password
    a.write_config()
    running(stack, a)
    b.wait_for(lambda: with_id(b, BOB, "e2e4b@a.test"), what="delivery with the right password")
    a.wait_for(lambda: queue_empty(a), what="A's queue to empty")
    assert len(stored(b, BOB)) == 1


def _recv_tpkt(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < 4 or len(data) < int.from_bytes(data[2:4], "big"):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {data!r}")
        data += chunk
    return data


def test_garbage_and_truncated_tpdus_do_not_stop_the_listener(
    pair: tuple[X400Daemon, X400Daemon],
) -> None:
    a, b = pair
    where = (LOOPBACK, b.x400_port)
    garbage = [
        b"GET / HTTP/1.0\r\n\r\n",  # not RFC 1006 at all
        b"\x03\x00\xff\xff" + bytes(range(256)) * 4,  # a TPKT of noise
        b"\x03\x00\x00\x40\x3b\xe0\x00\x00",  # a CR cut short, then EOF
        b"\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x01\x00\xc2\x08x400",  # parameter runs off
    ]
    for data in garbage:
        with socket.create_connection(where, timeout=10) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):  # B answers at most an abort, then closes
                pass
    # a real CR (B answers CC), then half of the session CN with the bind;
    # the connection stays open meanwhile
    caller = P1Association(
        "initiator",
        Credentials(GW_A.mta_name, GW_A.password),
        AssociationConfig(),
        peer=Credentials(GW_B.mta_name, GW_B.password),
    )
    caller.connect()
    hanging = socket.create_connection(where, timeout=10)
    try:
        hanging.sendall(caller.data_to_send())
        caller.receive(_recv_tpkt(hanging))
        connect = caller.data_to_send()
        assert connect
        hanging.sendall(connect[: len(connect) // 2])
        # B still serves: a real transfer from A
        smtp_send(a, BOB, message("after the garbage", "e2e4c@a.test"))
        b.wait_for(lambda: with_id(b, BOB, "e2e4c@a.test"), what="delivery after the garbage")
    finally:
        hanging.close()
    assert "protocol error" in b.log()
    a.wait_for(lambda: reports(a, ALICE), what="the delivery report")
    assert "deferred to=" not in a.log()


def test_peer_hanging_up_before_the_bind_defers(tmp_path: Path, stack: ExitStack) -> None:
    """A fake on B's port reads the caller's first TPDU and hangs up; then
    the real B starts on that port and gets the message."""
    a, b = gateway_pair(tmp_path)
    with ClosingPeer(b.x400_port) as fake:
        running(stack, a)
        smtp_send(a, BOB, message("hung up", "e2e4d@a.test"))
        a.wait_for(lambda: "deferred to=<bob@b.test> 451 4.4." in a.log(), what="a deferral")
        assert fake.received.startswith(b"\x03\x00")  # RFC 1006: a TPKT (the COTP CR)
    assert "closed the connection before the bind" in a.track("<e2e4d@a.test>")
    assert "bob@b.test" in a.queue_list()
    running(stack, b)
    b.wait_for(lambda: with_id(b, BOB, "e2e4d@a.test"), what="delivery once B is there")
    a.wait_for(lambda: queue_empty(a), what="A's queue to empty")
    assert len(stored(b, BOB)) == 1


def test_connection_cut_in_the_middle_of_a_transfer(tmp_path: Path, stack: ExitStack) -> None:
    """Between A and B a relay passes the CR, the CN with the bind and the
    start of the transfer, then cuts both connections half-way through a
    TPDU: B must not deliver the half message, A must not take it for sent
    (deferred 4.4.2), and the next attempt delivers it exactly once."""
    a, b = gateway_pair(tmp_path)
    relay_port = another_port(a, b)
    a.peers[0].port = relay_port
    a.write_config()
    body = b"".join(
        b"line %05d of a message long enough for many TPDUs\r\n" % i for i in range(800)
    )
    with CuttingProxy(relay_port, b.x400_port, keep=3) as relay:
        running(stack, a, b)
        smtp_send(a, BOB, message("cut short", "e2e4e@a.test", body=body))
        a.wait_for(lambda: "deferred to=<bob@b.test> 451 4.4.2" in a.log(), what="a deferral")
        assert relay.cut == 1
        b.wait_for(lambda: with_id(b, BOB, "e2e4e@a.test"), what="delivery on the next attempt")
        a.wait_for(lambda: queue_empty(a), what="A's queue to empty")
        a.wait_for(lambda: reports(a, ALICE), what="the delivery report")
    (got,) = stored(b, BOB)  # once
    assert got.get_content().replace("\r\n", "\n") == body.decode().replace("\r\n", "\n")
    assert [g["action"] for r in reports(a, ALICE) for g in dsn_groups(r)] == ["delivered"]


def test_silent_peer_times_out_the_bind_and_smtp_goes_on(tmp_path: Path, stack: ExitStack) -> None:
    a, b = gateway_pair(tmp_path)
    a.peers[0].extra = a.peers[0].extra.replace('bind_timeout = "5s"', 'bind_timeout = "2s"')
    a.write_config()
    with SilentPeer(b.x400_port) as silent:
        running(stack, a)
        smtp_send(a, BOB, message("nobody answers", "e2e4f@a.test"))
        a.wait_for(lambda: silent.connections >= 1, what="A to call the silent peer")
        # meanwhile A takes and delivers other mail
        with smtplib.SMTP(LOOPBACK, a.smtp_port, timeout=30) as smtp:
            smtp.sendmail(ALICE, [ALICE], message("local", "local1@a.test", to=ALICE))
        a.wait_for(lambda: with_id(a, ALICE, "local1@a.test"), what="local delivery")
        a.wait_for(lambda: "deferred to=<bob@b.test> 451 4.4.1" in a.log(), what="a bind timeout")
    assert "did not complete the MTA-bind within 2s" in a.track("<e2e4f@a.test>")
    assert "bob@b.test" in a.queue_list()


# --------------------------------------------------------------------------
# 5: mailgateway x400 ping


def test_ping_the_peer(pair: tuple[X400Daemon, X400Daemon]) -> None:
    a, b = pair
    done = a.cli("x400", "ping", "b")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(rf"connected 127\.0\.0\.1:{b.x400_port} \(\d+\.\d ms\)", lines[0])
    assert re.fullmatch(r"bound as mta\.a\.test to mta\.b\.test \(\d+\.\d ms\)", lines[1])
    assert re.fullmatch(r"released \(\d+\.\d ms\)", lines[2])
    b.wait_for(lambda: "x400: association from mta.a.test" in b.log(), what="B's log")


# --------------------------------------------------------------------------
# Probes (RFC 2156 5.3.9): B services a probe from A with a report


PROBE_SCRIPT = """
import sys
from datetime import UTC, datetime
from twisted.internet import defer, task
from gateway.config import load
from gateway.x400.context import Gateway
from gateway.x400.model import Probe
from gateway.x400.p1codec import encode_apdu
from gateway.x400.p1.protocol import open_association
from gateway.x400.translate import internet_to_message

settings = load(sys.argv[1])
gw = Gateway.from_settings(settings, datetime.now(UTC))
content = (
    b"From: alice@a.test\\r\\nTo: bob@b.test, nobody@b.test\\r\\nSubject: probe\\r\\n"
    b"Message-ID: <probe1@a.test>\\r\\n\\r\\nx\\r\\n"
)
envelope, _ipm = internet_to_message(content, "alice@a.test", ["bob@b.test", "nobody@b.test"], gw)
probe = encode_apdu(Probe(envelope, len(content)))

async def main(reactor):
    peer = settings.x400.peers["b"]
    association = await open_association(reactor, peer, gw.mta_name, 1 << 20, {})
    await association.transfer(probe)
    await association.release()

task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
"""


def test_probe_is_answered_with_a_report(pair: tuple[X400Daemon, X400Daemon]) -> None:
    """A probe from A's MTA (sent here as A would) for bob (known at B) and
    nobody (unknown): B answers with one report, over P1 back to A, which
    gives alice a DSN: bob delivered, nobody failed; nothing is delivered."""
    import subprocess
    import sys

    a, b = pair
    subprocess.run([sys.executable, "-c", PROBE_SCRIPT, str(a.config)], check=True, timeout=60)
    a.wait_for(lambda: reports(a, ALICE), what="the probe report at alice")
    (report,) = reports(a, ALICE)
    groups = {g["original-recipient"]: g for g in dsn_groups(report)}
    bob, nobody = groups[f"rfc822;{BOB}"], groups["rfc822;nobody@b.test"]
    assert (bob["action"], bob["status"]) == ("delivered", "2.0.0")
    assert (nobody["action"], nobody["status"]) == ("failed", "5.1.1")
    assert bob["x400-supplementary-info"].startswith(
        '"probe serviced by the MIXER gateway mta.b.test"'
    )
    assert nobody["x400-supplementary-info"].startswith(
        '"probe serviced by the MIXER gateway mta.b.test: 5.1.1'
    )
    assert stored(b, BOB) == []  # a probe delivers nothing
    b.wait_for(lambda: queue_empty(b), what="B's queue to empty")
