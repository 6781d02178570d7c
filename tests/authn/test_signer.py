"""Outbound DKIM signing with the configured keys (gateway.authn.signer).

The signatures are checked by dkimpy (``dkim.DKIM.verify`` with a
``dnsfunc`` reading the published records) and by our own verifier over a
:class:`DNSTestServer` zone on loopback. Keys are made once per test run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import dkim as dkimpy
from twisted.internet import reactor as global_reactor
from twisted.internet import task
from twisted.names import client
from twisted.trial import unittest

from gateway.authn import keys
from gateway.authn.dkim import verify_all
from gateway.authn.dns import TwistedLookup
from gateway.authn.signer import KeyFileError, Signer, signing_domain
from gateway.config import DKIMKeySettings, DKIMSettings, load
from tests.dnszone import DNSTestServer, Zone

reactor = cast(Any, global_reactor)

RSA_PEM, RSA_PUBLIC = keys.generate_key("rsa")
ED_PEM, ED_PUBLIC = keys.generate_key("ed25519")
NEXT_PEM, NEXT_PUBLIC = keys.generate_key("ed25519")  # published, sign = false
PARENT_PEM, PARENT_PUBLIC = keys.generate_key("ed25519")  # of parent.test

ZONE = Zone(
    "example.test",
    {
        "r2025._domainkey": [
            ("TXT", keys.dns_record("example.test", "r2025", RSA_PUBLIC, "rsa").text)
        ],
        "e2025._domainkey": [
            ("TXT", keys.dns_record("example.test", "e2025", ED_PUBLIC, "ed25519").text)
        ],
        "e2026._domainkey": [
            ("TXT", keys.dns_record("example.test", "e2026", NEXT_PUBLIC, "ed25519").text)
        ],
    },
)


def message(author: str = "alice@example.test") -> bytes:
    return (
        f"From: Alice <{author}>\r\n"
        "To: bob@example.org\r\n"
        "Subject: minutes\r\n"
        "Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
        "Message-ID: <m1@example.test>\r\n"
        "\r\n"
        "Attached.\r\n"
    ).encode()


def tags(field: bytes) -> dict[bytes, bytes]:
    value = field.split(b":", 1)[1]
    return cast(dict[bytes, bytes], dkimpy.util.parse_tag_value(re.sub(rb"\s+", b"", value)))


def fields(header: bytes) -> list[bytes]:
    """The DKIM-Signature fields of ``header`` (continuation lines joined)."""
    return [
        b"DKIM-Signature:" + f for f in re.split(rb"(?m)^DKIM-Signature:", header) if f.strip()
    ]


def zone_dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
    """dkimpy's DNS: the TXT data of the test zone."""
    owner = name.decode("ascii").rstrip(".").lower()
    texts = [r.data for r in ZONE.records if r.owner == owner and r.type == "TXT"]
    return "".join(str(s) for s in texts[0]).encode("ascii") if texts else None


class SignerTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.mktemp())
        self.dir.mkdir(parents=True)
        self.files = {}
        for name, pem in (
            ("rsa", RSA_PEM),
            ("ed", ED_PEM),
            ("next", NEXT_PEM),
            ("parent", PARENT_PEM),
        ):
            path = self.dir / f"{name}.pem"
            keys.write_private_key(path, pem)
            self.files[name] = path
        self.settings = DKIMSettings(
            keys=(
                DKIMKeySettings("example.test", "r2025", self.files["rsa"]),
                DKIMKeySettings("example.test", "e2025", self.files["ed"]),
                DKIMKeySettings("example.test", "e2026", self.files["next"], sign=False),
                DKIMKeySettings("parent.test", "p1", self.files["parent"]),
            )
        )

    def lookup(self) -> TwistedLookup:
        server = DNSTestServer([ZONE])
        host, port = server.start(reactor)
        self.addCleanup(server.stop)
        return TwistedLookup(client.Resolver(servers=[(host, port)], reactor=reactor), reactor, 5)

    async def test_every_active_key_signs_and_both_verifiers_pass(self) -> None:
        signer = Signer.from_settings(self.settings)
        self.assertEqual(signer.domains(), frozenset({"example.test", "parent.test"}))
        self.assertEqual([k.selector for k in signer.keys("Example.Test.")], ["r2025", "e2025"])
        original = message()
        header = signer.sign(original, "example.test")
        signed = header + original
        sigs = fields(header)
        self.assertEqual(
            [(tags(f)[b"s"], tags(f)[b"a"], tags(f)[b"d"]) for f in sigs],
            [
                (b"r2025", b"rsa-sha256", b"example.test"),
                (b"e2025", b"ed25519-sha256", b"example.test"),
            ],
        )
        self.assertNotIn(b"x", tags(sigs[0]))  # expires 0: no x=
        for index in range(2):  # dkimpy, each signature on its own
            verifier = dkimpy.DKIM(signed)
            self.assertTrue(verifier.verify(idx=index, dnsfunc=zone_dnsfunc), index)
        results = await verify_all(signed, self.lookup())
        self.assertEqual(
            [(r.result, r.selector, r.reason) for r in results],
            [("pass", "r2025", ""), ("pass", "e2025", "")],
        )

    def test_published_only_keys_are_not_loaded_and_do_not_sign(self) -> None:
        self.files["next"].unlink()  # not even read: a retired key's file may be gone
        signer = Signer.from_settings(self.settings)
        header = signer.sign(message(), "example.test")
        self.assertNotIn(b"e2026", header)
        self.assertEqual(len(fields(header)), 2)
        only_published = DKIMSettings(
            keys=(DKIMKeySettings("example.test", "e2026", self.files["ed"], sign=False),)
        )
        self.assertEqual(Signer.from_settings(only_published).domains(), frozenset())

    def test_domain_for_the_from_domain_or_its_parent(self) -> None:
        signer = Signer.from_settings(self.settings)
        self.assertEqual(signer.domain_for(message("a@example.test")), "example.test")
        self.assertEqual(signer.domain_for(message("a@EXAMPLE.test")), "example.test")
        # relaxed DMARC alignment (RFC 7489 3.1.1): the parent signs
        self.assertEqual(signer.domain_for(message("a@lists.sub.example.test")), "example.test")
        self.assertEqual(signer.domain_for(message("a@mail.parent.test")), "parent.test")
        self.assertIsNone(signer.domain_for(message("a@other.test")))
        self.assertIsNone(signer.domain_for(message("a@notexample.test")))
        self.assertIsNone(signer.domain_for(b"Subject: no From\r\n\r\nbody\r\n"))
        # a second author of another domain: the first one with a key
        two = b"From: a@other.test, b@sub.parent.test\r\nSender: a@other.test\r\n\r\nx\r\n"
        self.assertEqual(signer.domain_for(two), "parent.test")
        header = signer.sign(message("a@sub.example.test"), "example.test")
        self.assertEqual(tags(fields(header)[0])[b"d"], b"example.test")

    def test_a_public_suffix_key_never_signs_for_its_subdomains(self) -> None:
        # co.uk is a public suffix: example.co.uk is its own organisational domain
        self.assertIsNone(signing_domain("mail.example.co.uk", ["co.uk"]))
        self.assertEqual(signing_domain("mail.example.co.uk", ["example.co.uk"]), "example.co.uk")
        self.assertEqual(signing_domain("co.uk", ["co.uk"]), "co.uk")
        self.assertIsNone(signing_domain("not a domain", ["example.test"]))

    def test_no_key_for_the_domain_gives_nothing(self) -> None:
        signer = Signer.from_settings(self.settings)
        self.assertEqual(signer.sign(message("a@other.test"), "other.test"), b"")
        self.assertEqual(Signer.from_settings(DKIMSettings()).sign(message(), "example.test"), b"")
        self.assertIsNone(Signer().domain_for(message()))

    def test_bad_key_file_names_the_file_and_the_config_key(self) -> None:
        missing = self.dir / "missing.pem"
        garbage = self.dir / "garbage.pem"
        garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnonsense\n")
        for path, why in ((missing, "no such key file"), (garbage, "not a PEM private key")):
            settings = DKIMSettings(
                keys=(
                    DKIMKeySettings("example.test", "r2025", self.files["rsa"]),
                    DKIMKeySettings("example.test", "bad", path),
                )
            )
            with self.assertRaises(KeyFileError) as caught:
                Signer.from_settings(settings)
            self.assertTrue(
                str(caught.exception).startswith(f"dkim.keys[1].key: {path}: {why}"),
                str(caught.exception),
            )

    async def test_expires_sets_x(self) -> None:
        clock = task.Clock()
        clock.advance(1_700_000_000)
        settings = DKIMSettings(keys=self.settings.keys, expires=86400.0)
        header = Signer.from_settings(settings).sign(message(), "example.test", clock)
        for field in fields(header):
            self.assertEqual(tags(field)[b"t"], b"1700000000")
            self.assertEqual(tags(field)[b"x"], b"1700086400")
        # a fraction of a second still gives an expiry, after t=
        half = DKIMSettings(keys=self.settings.keys, expires=0.5)
        one = Signer.from_settings(half).sign(message(), "example.test", clock)
        self.assertEqual(tags(fields(one)[0])[b"x"], b"1700000001")
        later = task.Clock()
        later.advance(1_700_000_000 + 86401)
        results = await verify_all(header + message(), self.lookup(), clock=later)
        self.assertEqual([r.result for r in results], ["policy", "policy"])

    def test_keys_from_the_configuration_file(self) -> None:
        config = self.dir / "gateway.toml"
        config.write_text(
            '[server]\nhostname = "gw.example.test"\n'
            f'data_dir = "{self.dir / "var"}"\n'
            'local_domains = ["example.test"]\n'
            '[dkim]\nexpires = "1h"\n'
            '[[dkim.keys]]\ndomain = "example.test"\nselector = "r2025"\n'
            f'key = "{self.files["rsa"]}"\n'
            '[[dkim.keys]]\ndomain = "example.test"\nselector = "e2026"\n'
            f'key = "{self.files["next"]}"\nsign = false\n'
        )
        signer = Signer.from_settings(load(config).dkim)
        (field,) = fields(signer.sign(message(), "example.test"))
        got = tags(field)
        self.assertEqual(got[b"s"], b"r2025")
        self.assertEqual(int(got[b"x"]) - int(got[b"t"]), 3600)
        self.assertTrue(dkimpy.verify(field + message(), dnsfunc=zone_dnsfunc))
