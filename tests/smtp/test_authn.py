"""Sender authentication in the SMTP server, over a StringTransport.

The checks are the real ones (gateway.authn.inbound) over an in-memory DNS
(:class:`MemoryLookup`); the end-to-end tests against the daemon and a real
DNS server are in tests/integration/test_authn_e2e.py.
"""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer, task
from twisted.internet.defer import Deferred

from gateway.authn import dkim
from gateway.authn.arc import verify_chain
from gateway.authn.dns import DNSError
from gateway.authn.inbound import InboundChecker
from gateway.authn.keys import dns_record, generate_key, parse_private_key
from gateway.authn.signer import Signer, SigningKey
from gateway.config import AuthnSettings, DKIMKeySettings, DKIMSettings, DNSBLSettings, load
from gateway.smtp.rates import SMTPRates
from tests.smtp.smtp_harness import Session, auth_plain

PEM, PUBLIC = generate_key("ed25519")
OURS_PEM, OURS_PUBLIC = generate_key("ed25519")


class MemoryLookup:
    """A Lookup over a dict: name -> [(type, value)]; ``broken`` names fail
    temporarily."""

    def __init__(self, records: dict[str, list[tuple[str, Any]]], broken: Iterable[str] = ()):
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.broken = {b.lower() for b in broken}
        self.asked: list[str] = []

    def _get(self, name: str, rtype: str) -> Deferred[list[Any]]:
        name = name.lower().rstrip(".")
        self.asked.append(f"{rtype} {name}")
        if name in self.broken:
            return defer.fail(DNSError(f"{rtype} {name}: SERVFAIL", temporary=True))
        return defer.succeed([v for t, v in self.records.get(name, []) if t == rtype])

    def txt(self, name: str) -> Deferred[list[bytes]]:
        return self._get(name, "TXT").addCallback(lambda vs: [v.encode() for v in vs])

    def a(self, name: str) -> Deferred[list[str]]:
        return self._get(name, "A")

    def aaaa(self, name: str) -> Deferred[list[str]]:
        return self._get(name, "AAAA")

    def mx(self, name: str) -> Deferred[list[tuple[int, str]]]:
        return self._get(name, "MX")

    def ptr(self, address: str) -> Deferred[list[str]]:
        return defer.succeed([])

    def exists(self, name: str) -> Deferred[bool]:
        return self.a(name).addCallback(bool)


def zone() -> MemoryLookup:
    key = dns_record("good.test", "sel", PUBLIC, "ed25519")
    ours = dns_record("example.test", "arc", OURS_PUBLIC, "ed25519")
    return MemoryLookup(
        {
            "good.test": [("TXT", "v=spf1 ip4:192.0.2.10 -all")],
            "_dmarc.good.test": [("TXT", "v=DMARC1; p=reject")],
            key.name: [("TXT", key.text)],
            ours.name: [("TXT", ours.text)],
            "reject.test": [("TXT", "v=spf1 -all")],
            "_dmarc.reject.test": [("TXT", "v=DMARC1; p=reject")],
            "quarantine.test": [("TXT", "v=spf1 -all")],
            "_dmarc.quarantine.test": [("TXT", "v=DMARC1; p=quarantine")],
            "66.2.0.192.bl.test": [("A", "127.0.0.2")],
        },
        broken=["temp.test", "_dmarc.temp.test"],
    )


def authn_settings(tmp: Path, text: str = "") -> AuthnSettings:
    path = tmp / "gateway.toml"
    path.write_text('[server]\nlocal_domains = ["example.test", "other.test"]\n' + text)
    return load(path).authn


def session(
    tmp: Path, text: str = "", kind: str = "smtp", lookup: MemoryLookup | None = None, **kw: Any
) -> Session:
    s = Session(tmp, kind=kind, **kw)
    wall_clock(s)
    s.router.local_domains = ("example.test", "other.test")  # type: ignore[misc]
    (tmp / "users").write_text((tmp / "users").read_text() + "carol@other.test:x\n")
    s.config.authn = InboundChecker(
        authn_settings(tmp, text),
        lookup or zone(),
        receiver="mail.example.test",
        clock=s.clock,
        dnsbl=DNSBLSettings(zones=("bl.test",)),
    )
    s.protocol, s.transport = s.connect()
    return s


def wall_clock(s: Session) -> None:
    """dkimpy judges t= by the wall clock: sign and verify on it."""
    clock = task.Clock()
    clock.advance(time.time())
    s.clock = s.config.clock = clock


def message(sender: str, mid: str = "m1@x") -> bytes:
    return (
        f"From: {sender}\r\nTo: alice@example.test\r\nSubject: hi\r\n"
        f"Message-ID: <{mid}>\r\n\r\nHello.\r\n"
    ).encode()


def transaction(sender: str, rcpts: list[str], data: bytes) -> bytes:
    lines = [b"EHLO client.remote.test", f"MAIL FROM:<{sender}>".encode()]
    lines += [f"RCPT TO:<{r}>".encode() for r in rcpts]
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    return b"\r\n".join(lines) + b"\r\nDATA\r\n" + stuffed + b".\r\n"


def fields(content: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_pass_is_queued_with_results(tmp_path: Path) -> None:
    s = session(tmp_path, client_ip="192.0.2.10")
    body = message("news@good.test")
    signed = dkim.sign(body, "good.test", "sel", PEM, clock=s.clock)
    codes = s.codes(transaction("news@good.test", ["alice@example.test"], signed + body))
    assert codes[-1] == "250 2.0.0"
    envelope, content, qid = s.bus.submitted[0]
    assert envelope.junk is None
    header = fields(content)
    assert str(header["Received-SPF"]).startswith(
        "pass (mail.example.test: domain of news@good.test"
    )
    results = str(header["Authentication-Results"])
    assert results.startswith("mail.example.test;")
    for expected in (
        "spf=pass smtp.mailfrom=news@good.test",
        "dkim=pass",
        "header.d=good.test",
        "arc=none",
        "dmarc=pass",
        "header.from=good.test",
    ):
        assert expected in results
    # our Received first, then the results, then the message as it came
    assert (
        content.index(b"Received: ")
        < content.index(b"Received-SPF")
        < content.index(b"Authentication-Results")
        < content.index(b"DKIM-Signature")
    )
    ((qid_seen, events),) = s.bus.events
    assert qid_seen == qid
    (event,) = events
    assert event["ev"] == "authn" and event["action"] == "accept" and event["rule"] == "dmarc"
    assert (
        event["dmarc"] == "pass header.from=good.test (aligned DKIM good.test and SPF good.test)"
    )


def test_dmarc_reject_refused_with_reason_and_history(tmp_path: Path) -> None:
    s = session(tmp_path)
    codes = s.codes(transaction("x@reject.test", ["alice@example.test"], message("x@reject.test")))
    assert codes[-1] == "550 5.7.1"
    assert s.bus.submitted == []
    qid, envelope, mid, event = s.bus.refused[0]
    assert qid == "Q1"
    assert mid == "<m1@x>" and str(envelope.recipients[0].address) == "alice@example.test"
    assert event["rule"] == "authn.dmarc_reject" and event["code"] == 550
    assert event["spf"] == "fail smtp.mailfrom=x@reject.test; none smtp.helo=client.remote.test"
    last = s.transport.value().decode().splitlines()[-1]
    assert last.startswith("550 5.7.1 Message refused: DMARC policy of reject.test is reject")
    # the session goes on
    assert s.codes(b"NOOP\r\n") == ["250 2.0.0"]


def test_quarantine_is_queued_for_junk(tmp_path: Path) -> None:
    s = session(tmp_path)
    codes = s.codes(
        transaction("y@quarantine.test", ["alice@example.test"], message("y@quarantine.test"))
    )
    assert codes[-1] == "250 2.0.0"
    envelope, _content, _qid = s.bus.submitted[0]
    assert envelope.junk == (
        "DMARC policy of quarantine.test is quarantine: no aligned SPF or DKIM pass; p=quarantine"
    )


def test_recipients_split_by_their_domain_policy(tmp_path: Path) -> None:
    text = '[authn.domains."other.test"]\ndmarc_quarantine = "accept"\n'
    s = session(tmp_path, text)
    data = transaction(
        "y@quarantine.test",
        ["alice@example.test", "carol@other.test"],
        message("y@quarantine.test"),
    )
    reply = s.send(data)[-1]
    assert reply.startswith("250 2.0.0 Ok: queued as Q1 Q2")
    (junk, _, q1), (inbox, _, q2) = s.bus.submitted
    assert [str(r.address) for r in junk.recipients] == ["alice@example.test"]
    assert junk.junk is not None and inbox.junk is None
    assert [str(r.address) for r in inbox.recipients] == ["carol@other.test"]
    assert (q1, q2) == ("Q1", "Q2")
    assert s.bus.events[1][1][0]["rule"] == "default"


def test_mixed_refusal_softened_to_junk(tmp_path: Path) -> None:
    text = '[authn.domains."other.test"]\ndmarc_reject = "accept"\n'
    s = session(tmp_path, text)
    data = transaction(
        "x@reject.test", ["alice@example.test", "carol@other.test"], message("x@reject.test")
    )
    assert s.codes(data)[-1] == "250 2.0.0"
    (junk, _, _), (inbox, _, _) = s.bus.submitted
    assert junk.junk is not None and [str(r.address) for r in junk.recipients] == [
        "alice@example.test"
    ]
    assert inbox.junk is None
    event = s.bus.events[0][1][0]
    assert event["action"] == "junk" and event["rule"] == "authn.dmarc_reject"


def test_temperror_defers_when_configured(tmp_path: Path) -> None:
    s = session(tmp_path, '[authn]\ntemperror = "defer"\n')
    codes = s.codes(transaction("x@temp.test", ["alice@example.test"], message("x@temp.test")))
    assert codes[-1] == "451 4.7.5"
    assert s.bus.submitted == [] and s.bus.refused[0][3]["action"] == "defer"


def test_dnsbl_listed_client(tmp_path: Path) -> None:
    s = session(tmp_path, client_ip="192.0.2.66")
    body = message("news@good.test")
    codes = s.codes(transaction("news@good.test", ["alice@example.test"], body))
    assert codes[-1] == "550 5.7.1"
    assert s.bus.refused[0][3]["dnsbl"] == "bl.test 127.0.0.2"


def test_forged_results_removed(tmp_path: Path) -> None:
    s = session(tmp_path, '[authn]\ndmarc_quarantine = "accept"\n')
    forged = b"Authentication-Results: mail.example.test; dmarc=pass\r\n"
    other = b"Authentication-Results: elsewhere.test; dmarc=pass\r\n"
    s.codes(
        transaction(
            "y@quarantine.test",
            ["alice@example.test"],
            forged + other + message("y@quarantine.test"),
        )
    )
    _, content, _ = s.bus.submitted[0]
    assert content.count(b"Authentication-Results: mail.example.test;") == 1
    assert b"mail.example.test; dmarc=pass\r\n" not in content
    assert other in content


def test_trusted_and_authenticated_clients_are_not_checked(tmp_path: Path) -> None:
    lookup = zone()
    s = session(
        tmp_path,
        lookup=lookup,
        trusted_networks=(__import__("ipaddress").ip_network("192.0.2.0/24"),),
    )
    assert (
        s.codes(transaction("x@reject.test", ["alice@example.test"], message("x@reject.test")))[-1]
        == "250 2.0.0"
    )
    assert lookup.asked == []
    _, content, _ = s.bus.submitted[0]
    assert b"Authentication-Results" not in content


def test_arc_seal(tmp_path: Path) -> None:
    key = tmp_path / "arc.pem"
    key.write_bytes(OURS_PEM)
    s = Session(tmp_path)
    wall_clock(s)
    lookup = zone()
    s.config.authn = InboundChecker(
        replace(authn_settings(tmp_path), arc_seal="example.test"),
        lookup,
        receiver="mail.example.test",
        clock=s.clock,
        dkim_keys=DKIMSettings(keys=(DKIMKeySettings("example.test", "arc", key),)),
    )
    s.protocol, s.transport = s.connect()
    s.codes(transaction("news@good.test", ["alice@example.test"], message("news@good.test")))
    _, content, _ = s.bus.submitted[0]
    # the set sits below our Received, above what it seals
    stored = content[content.index(b"ARC-Seal") :]
    assert stored.startswith(b"ARC-Seal: i=1; cv=none; a=ed25519-sha256; d=example.test; s=arc")
    result: list[Any] = []
    verify_chain(stored, lookup, clock=s.clock).addCallback(result.append)
    assert result[0].result == "pass"


def test_submission_is_signed(tmp_path: Path) -> None:
    s = Session(tmp_path, kind="submission")
    wall_clock(s)
    s.config.signer = Signer([SigningKey("example.test", "arc", parse_private_key(OURS_PEM))])
    s.protocol, s.transport = s.connect()
    s.protocol.tls = True
    s.send(
        b"EHLO client\r\nAUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n"
    )
    body = message("alice@example.test")
    codes = s.codes(
        b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        + body
        + b".\r\n"
    )
    assert codes[-1] == "250 2.0.0"
    _, content, _ = s.bus.submitted[0]
    assert content.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256;")
    results: list[Any] = []
    dkim.verify_all(content, zone(), clock=s.clock).addCallback(results.append)
    assert [r.result for r in results[0]] == ["pass"]
    assert (
        "received"
        not in content.split(b"\r\n\r\n")[0].split(b"h=")[1].split(b";")[0].decode().lower()
    )


@pytest.mark.parametrize("setting", ["ip_messages", "sender_domain_messages"])
def test_rate_limits_at_mail(tmp_path: Path, setting: str) -> None:
    from gateway.authn.ratelimit import Rate
    from gateway.config import RateSettings

    s = Session(tmp_path)
    s.config.rates = SMTPRates(RateSettings(**{setting: Rate(2, 60)}), s.clock)
    s.protocol, s.transport = s.connect()
    s.ehlo()
    assert (
        s.codes(b"MAIL FROM:<a@x.test>\r\nRSET\r\nMAIL FROM:<a@x.test>\r\nRSET\r\n")
        == ["250 2.1.0", "250 2.0.0"] * 2
    )
    line = s.send(b"MAIL FROM:<a@x.test>\r\n")[-1]
    who = "[192.0.2.10]" if setting == "ip_messages" else "x.test"
    assert (
        line
        == f"450 4.7.1 Rate limit reached: at most 2 messages per 1m from {who}; try again in 30 s"
    )
    s.clock.advance(30)
    assert s.codes(b"MAIL FROM:<a@x.test>\r\n") == ["250 2.1.0"]


def test_rate_limits_per_user_and_recipients(tmp_path: Path) -> None:
    from gateway.authn.ratelimit import Rate
    from gateway.config import RateSettings

    s = Session(tmp_path, kind="submission")
    s.config.rates = SMTPRates(
        RateSettings(user_recipients=Rate(3, 3600), ip_recipients=Rate(1, 3600)), s.clock
    )
    s.protocol, s.transport = s.connect()
    s.protocol.tls = True
    s.send(
        b"EHLO client\r\nAUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n"
    )
    rcpts = b"".join(b"RCPT TO:<bob@example.test>\r\n" for _ in range(4))
    codes = s.codes(b"MAIL FROM:<alice@example.test>\r\n" + rcpts)
    # the per-IP limit is for sessions without AUTH; the user's counts
    assert codes == ["250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.1.5", "450 4.7.1"]


def test_list_mail_with_trusted_arc_chain_is_accepted(tmp_path: Path) -> None:
    """A list (example.test's own sealer here) rewrote the Subject, breaking
    good.test's DKIM signature, and sealed what it saw: DMARC fails, the
    trusted chain overrides it."""
    from gateway.authn.arc import ARCResult, seal

    s = session(tmp_path, '[authn]\narc_trusted = ["example.test"]\n', client_ip="192.0.2.77")
    original = message("news@good.test")
    signed = dkim.sign(original, "good.test", "sel", PEM, clock=s.clock) + original
    # the list checks what it received, changes it, then seals what it sends
    results = "lists.example.test; dkim=pass header.d=good.test; dmarc=pass"
    changed = signed.replace(b"Subject: hi", b"Subject: [list] hi")
    arc_set = seal(
        changed,
        domain="example.test",
        selector="arc",
        key=parse_private_key(OURS_PEM),
        authserv_id="lists.example.test",
        results=results,
        chain=ARCResult("none"),
        clock=s.clock,
    )
    forwarded = arc_set + changed
    assert s.codes(transaction("list@lists.test", ["alice@example.test"], forwarded))[-1] == (
        "250 2.0.0"
    )
    envelope, content, _ = s.bus.submitted[0]
    assert envelope.junk is None
    assert b"arc=pass header.oldest-pass=1" in content  # in our Authentication-Results
    event = s.bus.events[0][1][0]
    assert event["rule"] == "authn.arc_trusted", event
    assert event["dkim"].startswith("fail") and event["dmarc"].startswith("fail")
    assert event["arc"].startswith("pass header.oldest-pass=1")


def test_dnsbl_answer_serves_every_message_of_the_session(tmp_path: Path) -> None:
    """The lookup started at connect is read by each transaction."""
    s = session(tmp_path, client_ip="192.0.2.66")
    first = transaction("a@x.test", ["alice@example.test"], message("a@x.test", "m1@x"))
    second = b"MAIL FROM:<b@x.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
    codes = s.codes(first + second + message("b@x.test", "m2@x") + b".\r\n")
    assert codes[-1] == "550 5.7.1" and codes.count("550 5.7.1") == 2
    assert [r[3]["dnsbl"] for r in s.bus.refused] == ["bl.test 127.0.0.2"] * 2


def test_hashing_goes_through_the_runner(tmp_path: Path) -> None:
    """DKIM and ARC hash whole messages: that work goes through the runner
    (the daemon's runs it in a thread pool), not the reactor thread."""
    from gateway.authn.work import inline

    ran: list[str] = []

    def run(function: Any, *args: Any) -> Deferred[Any]:
        ran.append(getattr(function, "__name__", repr(function)))
        return inline(function, *args)

    s = session(tmp_path, client_ip="192.0.2.10")
    assert s.config.authn is not None
    s.config.authn.run = run
    s.config.run = run
    body = message("news@good.test")
    signed = dkim.sign(body, "good.test", "sel", PEM, clock=s.clock)
    codes = s.codes(transaction("news@good.test", ["alice@example.test"], signed + body))
    assert codes[-1] == "250 2.0.0"
    assert sorted(ran) == ["_dkimpy_verify", "headers"]  # no ARC set: nothing to judge
    # submission: the signature is made through it too
    ran.clear()
    (tmp_path / "sub").mkdir()
    sub = Session(tmp_path / "sub", kind="submission")
    wall_clock(sub)
    sub.config.signer = Signer([SigningKey("example.test", "arc", parse_private_key(OURS_PEM))])
    sub.config.run = run
    sub.protocol, sub.transport = sub.connect()
    sub.protocol.tls = True
    sub.send(b"EHLO c\r\nAUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n")
    mail = b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
    assert sub.codes(mail + message("alice@example.test") + b".\r\n")[-1] == "250 2.0.0"
    assert ran == ["signed"]
