"""Sender authentication against the running daemon (issue 9), real DNS.

The gateway's resolver is a twisted.names server on 127.0.0.1 serving the
test zones (tests.dnszone in a child process). Clients are smtplib and
imaplib; the signed outbound message is checked with dkimpy's own
``dkimverify`` command, which reads /etc/resolv.conf: it runs in a network
and mount namespace of its own whose resolv.conf names a copy of the test
zone served on 127.0.0.1:53 there (root only; skipped otherwise).
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.authn import dkim as dkim_check
from gateway.authn.keys import dns_record, generate_key
from tests.dnszone import Zone, in_subprocess
from tests.integration.peers import SMTPDaemon

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@other.test"
NOW = int(time.time())


def remote_key() -> tuple[bytes, str]:
    return generate_key("ed25519")


GOOD_PEM, GOOD_PUBLIC = remote_key()
OUR_PEM, OUR_PUBLIC = generate_key("rsa")


def zones() -> list[Zone]:
    good = Zone(
        "good.test",
        {
            "@": [("TXT", "v=spf1 ip4:127.0.0.1 -all")],
            "_dmarc": [("TXT", "v=DMARC1; p=reject")],
        },
    )
    record = dns_record("good.test", "sel", GOOD_PUBLIC, "ed25519")
    good.add(record.name + ".", "TXT", record.text)
    ours = Zone("example.test", {"@": [("MX", 10, "mail")], "mail": [("A", "127.0.0.1")]})
    published = dns_record("example.test", "s1", OUR_PUBLIC, "rsa")
    ours.add(published.name + ".", "TXT", published.text)
    return [
        good,
        ours,
        Zone(
            "reject.test",
            {
                "@": [("TXT", "v=spf1 ip4:192.0.2.1 -all")],
                "_dmarc": [("TXT", "v=DMARC1; p=reject")],
            },
        ),
        Zone(
            "quarantine.test",
            {
                "@": [("TXT", "v=spf1 ip4:192.0.2.1 -all")],
                "_dmarc": [("TXT", "v=DMARC1; p=quarantine")],
            },
        ),
        Zone(
            "partner.test",  # on the allow list: its broken SPF does not matter
            {
                "@": [("TXT", "v=spf1 -all")],
                "_dmarc": [("TXT", "v=DMARC1; p=reject")],
            },
        ),
        # DNSBL: 127.0.0.1 listed (RFC 5782 2.1), with a reason
        Zone(
            "bl.test",
            {
                "1.0.0.127": [("A", "127.0.0.2"), ("TXT", "listed: see https://bl.test/")],
            },
        ),
    ]


@pytest.fixture(scope="module")
def dns() -> Iterator[tuple[str, int]]:
    with in_subprocess(zones()) as address:
        yield address


def start(directory: Path, dns: tuple[str, int], extra: str = "", **kw: object) -> SMTPDaemon:
    keys = directory / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "example.test.s1.pem").write_bytes(OUR_PEM)
    config = (
        f'[dns]\nservers = ["{dns[0]}:{dns[1]}"]\ntimeout = "2s"\n'
        "[dkim]\n[[dkim.keys]]\n"
        f'domain = "example.test"\nselector = "s1"\nkey = "{keys / "example.test.s1.pem"}"\n'
        f"{extra}"
    )
    gateway = SMTPDaemon(
        directory,
        extra_config=config,
        imap=True,
        authn=True,
        local_domains=("example.test", "other.test"),
        **kw,  # type: ignore[arg-type]
    )
    for user in (ALICE, BOB, CAROL):
        gateway.add_user(user, "pw")
    gateway.start()
    return gateway


@pytest.fixture(scope="module")
def gateway(
    dns: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SMTPDaemon]:
    directory = tmp_path_factory.mktemp("authn-e2e")
    extra = (
        '[authn]\nallow = ["partner.test"]\n[authn.domains."other.test"]\ndmarc_reject = "junk"\n'
    )
    daemon = start(directory, dns, extra)
    try:
        yield daemon
    finally:
        daemon.stop()


def message(sender: str, rcpt: str, subject: str, mid: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n"
    ).encode()


def send(gateway: SMTPDaemon, sender: str, rcpts: list[str], data: bytes) -> dict[str, object]:
    with smtplib.SMTP("127.0.0.1", gateway.smtp_port, timeout=60) as client:
        client.ehlo("client.remote.test")
        client.mail(sender)
        for rcpt in rcpts:
            code, text = client.rcpt(rcpt)
            assert code == 250, (code, text)
        code, text = client.data(data)
    return {"code": code, "text": text.decode()}


def delivered(gateway: SMTPDaemon, user: str, mid: str, folder: str = "") -> bytes:
    root = gateway.maildir(user) / folder if folder else gateway.maildir(user)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for sub in ("new", "cur"):
            directory = root / sub
            if directory.is_dir():
                for path in directory.iterdir():
                    data = path.read_bytes()
                    if mid.encode() in data:
                        return data
        time.sleep(0.1)
    raise AssertionError(f"{mid} not delivered to {root}")


def headers(data: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def track(gateway: SMTPDaemon, key: str) -> str:
    result = gateway.cli("track", key, check=True)
    return result.stdout.decode()


def test_dmarc_reject_is_refused_at_smtp(gateway: SMTPDaemon) -> None:
    data = message("x@reject.test", ALICE, "forged", "reject-1@reject.test")
    refused = send(gateway, "x@reject.test", [ALICE], data)
    assert refused["code"] == 550
    text = str(refused["text"])
    assert text.startswith("5.7.1 Message refused: DMARC policy of reject.test is reject")
    # nothing was queued or delivered; the history says why
    assert not gateway.messages(ALICE) or all(
        b"reject-1@" not in p.read_bytes() for p in gateway.messages(ALICE)
    )
    story = track(gateway, "reject-1@reject.test")
    assert "refused" in story
    assert "rule=authn.dmarc_reject" in story
    assert "spf=fail smtp.mailfrom=x@reject.test" in story
    assert "dmarc=fail header.from=reject.test" in story


def test_quarantine_lands_in_junk_visible_over_imap(gateway: SMTPDaemon) -> None:
    data = message("y@quarantine.test", BOB, "suspect", "quar-1@quarantine.test")
    reply = send(gateway, "y@quarantine.test", [BOB], data)
    assert reply["code"] == 250
    stored = delivered(gateway, BOB, "quar-1@", ".Junk")
    fields = headers(stored)
    assert "DMARC policy of quarantine.test is quarantine" in str(fields["X-Mailgateway-Junk"])
    results = str(fields["Authentication-Results"])
    assert results.startswith("mail.example.test;")
    assert "dmarc=fail" in results and "spf=fail" in results
    assert str(fields["Received-SPF"]).startswith("fail ")
    context = ssl.create_default_context(cafile=str(gateway.certificate))
    context.check_hostname = False
    assert gateway.imaps_port is not None
    with imaplib.IMAP4_SSL("127.0.0.1", gateway.imaps_port, ssl_context=context) as imap:
        imap.login(BOB, "pw")
        typ, listing = imap.list('""', "*")
        junk = [line for line in listing if isinstance(line, bytes) and b"Junk" in line]
        assert junk and b"\\Junk" in junk[0]
        typ, _ = imap.select("Junk")
        assert typ == "OK"
        typ, found = imap.search(None, "HEADER", "Message-ID", "quar-1@quarantine.test")
        assert typ == "OK" and found[0].split()
        typ, _ = imap.select("INBOX")
        typ, found = imap.search(None, "HEADER", "Message-ID", "quar-1@quarantine.test")
        assert found == [b""]
    story = track(gateway, "quar-1@quarantine.test")
    assert "rule=authn.dmarc_quarantine" in story and "action=junk" in story


def test_per_domain_policy_splits_one_message(gateway: SMTPDaemon) -> None:
    """other.test files DMARC-reject mail in Junk; example.test refuses it.
    With both, the one reply cannot refuse: each gets its own copy."""
    data = message("x@reject.test", ALICE, "two domains", "split-1@reject.test")
    reply = send(gateway, "x@reject.test", [ALICE, CAROL], data)
    assert reply["code"] == 250
    queued = str(reply["text"]).split("queued as ")[1].split()
    assert len(queued) == 1  # both copies go to Junk: one group
    assert b"split-1@" in delivered(gateway, CAROL, "split-1@", ".Junk")
    assert b"split-1@" in delivered(gateway, ALICE, "split-1@", ".Junk")


def test_authenticated_sender_passes_and_reaches_inbox(gateway: SMTPDaemon) -> None:
    body = message("news@good.test", ALICE, "signed", "good-1@good.test")
    signature = dkim_check.sign(body, "good.test", "sel", GOOD_PEM)
    reply = send(gateway, "news@good.test", [ALICE], signature + body)
    assert reply["code"] == 250
    fields = headers(delivered(gateway, ALICE, "good-1@"))
    results = str(fields["Authentication-Results"])
    assert "spf=pass" in results
    assert "dkim=pass" in results and "header.d=good.test" in results
    assert "dmarc=pass" in results
    assert "X-Mailgateway-Junk" not in fields


def test_forged_authentication_results_removed(gateway: SMTPDaemon) -> None:
    forged = b"Authentication-Results: mail.example.test; dmarc=pass header.from=reject.test\r\n"
    body = message("news@good.test", ALICE, "forged AR", "forged-1@good.test")
    signature = dkim_check.sign(body, "good.test", "sel", GOOD_PEM)
    send(gateway, "news@good.test", [ALICE], forged + signature + body)
    stored = delivered(gateway, ALICE, "forged-1@")
    assert b"header.from=reject.test" not in stored
    assert stored.count(b"Authentication-Results: mail.example.test") == 1


def test_allow_list_wins(gateway: SMTPDaemon) -> None:
    data = message("p@partner.test", ALICE, "partner", "partner-1@partner.test")
    reply = send(gateway, "p@partner.test", [ALICE], data)
    assert reply["code"] == 250
    assert b"partner-1@" in delivered(gateway, ALICE, "partner-1@")
    assert "rule=authn.allow" in track(gateway, "partner-1@partner.test")


def submit(gateway: SMTPDaemon, data: bytes, rcpts: list[str]) -> None:
    context = ssl.create_default_context(cafile=str(gateway.certificate))
    context.check_hostname = False
    with smtplib.SMTP_SSL("127.0.0.1", gateway.submissions_port, context=context) as client:
        client.login(ALICE, "pw")
        client.sendmail(ALICE, rcpts, data)


def test_submitted_mail_is_signed(gateway: SMTPDaemon, dns: tuple[str, int]) -> None:
    data = message(ALICE, BOB, "outbound", "signed-1@example.test")
    submit(gateway, data, [BOB])
    stored = delivered(gateway, BOB, "signed-1@")
    fields = headers(stored)
    signature = str(fields["DKIM-Signature"])
    assert "d=example.test" in signature and "s=s1" in signature
    # our own checker, against the published key on the test DNS server
    ours = _verify_with_our_checker(stored, dns)
    assert [r.result for r in ours] == ["pass"]
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("dkimverify with its own resolv.conf needs root (unshare)")
    assert dkimverify(stored) == "signature ok"


def _verify_with_our_checker(message: bytes, dns: tuple[str, int]) -> list[object]:
    script = (
        "import sys\n"
        "from twisted.internet import task\n"
        "from twisted.names import client\n"
        "from gateway.authn.dns import TwistedLookup\n"
        "from gateway.authn.dkim import verify_all\n"
        "def main(reactor):\n"
        f"    r = client.Resolver(servers=[({dns[0]!r}, {dns[1]})], reactor=reactor)\n"
        "    d = verify_all(sys.stdin.buffer.read(), TwistedLookup(r, reactor))\n"
        "    return d.addCallback(lambda rs: print(' '.join(x.result for x in rs)))\n"
        "task.react(main)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=message, capture_output=True, check=True
    )

    class Result:
        def __init__(self, result: str) -> None:
            self.result = result

    return [Result(word) for word in out.stdout.decode().split()]


def dkimverify(message: bytes) -> str:
    """dkimpy's ``dkimverify`` in a namespace whose only DNS server is the
    test zone on 127.0.0.1:53."""
    verify = Path(sys.executable).with_name("dkimverify")
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="dkimverify-") as tmp:
        zone_files = []
        for i, zone in enumerate(zones()):
            path = Path(tmp) / f"{i}.zone"
            path.write_text(zone.to_text())
            zone_files.append(str(path))
        resolv = Path(tmp) / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\n")
        ready = Path(tmp) / "ready"
        (Path(tmp) / "message").write_bytes(message)
        script = (
            "set -e\n"
            "ip link set lo up\n"
            f"mount --bind {resolv} /etc/resolv.conf\n"
            f"{sys.executable} -m tests.dnszone --port 53 {' '.join(zone_files)}"
            f" > {ready} 2> {tmp}/dns.log &\n"
            "server=$!\n"
            "trap 'kill $server' EXIT\n"
            f"while ! [ -s {ready} ]; do sleep 0.05; done\n"
            f"{verify} < {tmp}/message\n"
        )
        result = subprocess.run(
            ["unshare", "--net", "--mount", "sh", "-c", script],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            capture_output=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().strip()


def test_dnsbl_and_rate_limits(tmp_path: Path, dns: tuple[str, int]) -> None:
    """A listed client is refused; rate limits trip and recover as time passes."""
    extra = (
        '[authn]\nunauthenticated = "accept"\n'
        '[dnsbl]\nzones = ["bl.test"]\n'
        '[rates]\nsender_domain_messages = "2/4s"\n'
    )
    gateway = start(tmp_path, dns, extra)
    try:
        data = message("news@good.test", ALICE, "listed", "bl-1@good.test")
        refused = send(gateway, "news@good.test", [ALICE], data)
        assert refused["code"] == 550
        assert "listed: bl.test 127.0.0.2 (listed: see https://bl.test/)" in str(refused["text"])
        assert "rule=authn.dnsbl" in track(gateway, "bl-1@good.test")
        with smtplib.SMTP("127.0.0.1", gateway.smtp_port, timeout=60) as client:
            client.ehlo("client.remote.test")
            for _ in range(2):  # the burst: two messages at once
                assert client.mail("x@rate.test")[0] == 250
                client.rset()
            code, text = client.mail("x@rate.test")
            assert code == 450, text
            reason = text.decode()
            assert reason.startswith(
                "4.7.1 Rate limit reached: at most 2 messages per 4s from rate.test"
            )
            assert client.mail("x@other-sender.test")[0] == 250  # another domain: its own count
            client.rset()
            time.sleep(2.2)  # one message's worth comes back every 2 s
            code, text = client.mail("x@rate.test")
            assert code == 250, text
    finally:
        gateway.stop()


def test_sendmail_mail_is_signed(gateway: SMTPDaemon, dns: tuple[str, int]) -> None:
    """Mail injected with ``mailgateway sendmail`` (cron, scripts) is signed
    at pickup, as submitted mail is."""
    data = message(ALICE, BOB, "from cron", "cron-1@example.test")
    gateway.cli("sendmail", "-f", ALICE, BOB, stdin=data, check=True)
    stored = delivered(gateway, BOB, "cron-1@")
    assert "d=example.test" in str(headers(stored)["DKIM-Signature"])
    assert [r.result for r in _verify_with_our_checker(stored, dns)] == ["pass"]
