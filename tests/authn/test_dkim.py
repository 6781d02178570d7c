"""DKIM signing and verification (gateway.authn.dkim, gateway.authn.keys).

dkimpy is the outside oracle both ways: its verifier (``dkim.verify`` with a
``dnsfunc`` reading the test zone's data) accepts our signatures, and our
:func:`verify_all` accepts signatures made by its signer. Our verifier asks
DNS through :class:`TwistedLookup` at a :class:`DNSTestServer` on loopback
(the system resolver is never asked). Keys are made once per test run.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import dkim as dkimpy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from twisted.internet import reactor as global_reactor
from twisted.internet import task
from twisted.names import client
from twisted.trial import unittest

from gateway.authn import dkim as dkim_module
from gateway.authn import keys
from gateway.authn.dkim import DKIMResult, sign, verify_all
from gateway.authn.dns import TwistedLookup
from gateway.authn.results import authentication_results
from tests.dnszone import DNSTestServer, Zone

reactor = cast(Any, global_reactor)
ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "example.test"

ED_PEM, ED_PUBLIC = keys.generate_key("ed25519")
RSA_PEM, RSA_PUBLIC = keys.generate_key("rsa")
OTHER_PEM, OTHER_PUBLIC = keys.generate_key("ed25519")  # published under "wrong"
PEMS = {"ed25519": ED_PEM, "rsa": RSA_PEM}


def record(selector: str, public: str, algorithm: keys.Algorithm) -> str:
    return keys.dns_record(DOMAIN, selector, public, algorithm).text


ZONE = Zone(
    DOMAIN,
    {
        "ed._domainkey": [("TXT", record("ed", ED_PUBLIC, "ed25519"))],
        # 392 characters: the zone splits it into 255-octet strings, which the
        # lookup joins back (RFC 6376 3.6.2.2)
        "rsa._domainkey": [("TXT", record("rsa", RSA_PUBLIC, "rsa"))],
        # the selector of the ed25519 key publishes another key
        "wrong._domainkey": [("TXT", record("wrong", OTHER_PUBLIC, "ed25519"))],
        "revoked._domainkey": [("TXT", "v=DKIM1; k=ed25519; p=")],
        "garbage._domainkey": [("TXT", "v=DKIM1; k=rsa; p=bm90IGEga2V5")],
        # an RSA record where the signature says ed25519-sha256
        "ktype._domainkey": [("TXT", record("ktype", RSA_PUBLIC, "rsa"))],
        "twice._domainkey": [
            ("TXT", record("twice", ED_PUBLIC, "ed25519")),
            ("TXT", record("twice", OTHER_PUBLIC, "ed25519")),
        ],
        "web._domainkey": [("TXT", f"v=DKIM1; k=ed25519; s=tlsrpt; p={ED_PUBLIC}")],
    },
)
SERVFAIL = (f"down._domainkey.{DOMAIN}",)

MESSAGE = (
    b"Received: from client.example.test by mx.example.test; Mon, 3 Mar 2025 10:00:00 +0000\r\n"
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: Quarterly report\r\n"
    b"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
    b"Message-ID: <q1.2025@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"The numbers are in.\r\n"
    b"-- \r\n"
    b"Alice\r\n"
)


def zone_dnsfunc(zone: Zone) -> Any:
    """dkimpy's ``dnsfunc`` answering from the zone's data, not the network."""

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        owner = name.decode("ascii").rstrip(".").lower()
        texts = [r.data for r in zone.records if r.owner == owner and r.type == "TXT"]
        return "".join(str(s) for s in texts[0]).encode("ascii") if texts else None

    return dnsfunc


def signed(
    message: bytes = MESSAGE,
    selector: str = "ed",
    algorithm: keys.Algorithm = "ed25519",
    pem: bytes | None = None,
    **kw: Any,
) -> bytes:
    header = sign(message, DOMAIN, selector, pem or PEMS[algorithm], algorithm, **kw)
    return header + message


class VerifyTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer([ZONE], servfail=SERVFAIL)
        host, port = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        resolver = client.Resolver(servers=[(host, port)], reactor=reactor)
        self.lookup = TwistedLookup(resolver, reactor, timeout=5)

    async def verify(self, message: bytes, **kw: Any) -> list[DKIMResult]:
        return await verify_all(message, self.lookup, **kw)

    async def one(self, message: bytes, **kw: Any) -> DKIMResult:
        results = await self.verify(message, **kw)
        self.assertEqual(len(results), 1, results)
        return results[0]

    # -- our signer, dkimpy's verifier, and back ---------------------------------

    def test_our_signatures_pass_dkimpy_verify(self) -> None:
        for algorithm, selector in (("ed25519", "ed"), ("rsa", "rsa")):
            message = signed(selector=selector, algorithm=cast(keys.Algorithm, algorithm))
            self.assertTrue(
                dkimpy.verify(message, dnsfunc=zone_dnsfunc(ZONE)), f"{algorithm}: dkimpy"
            )

    async def test_our_signatures_pass_our_verifier(self) -> None:
        for algorithm, selector in (("ed25519", "ed"), ("rsa", "rsa")):
            result = await self.one(
                signed(selector=selector, algorithm=cast(keys.Algorithm, algorithm))
            )
            self.assertEqual((result.result, result.reason), ("pass", ""), algorithm)
            self.assertEqual((result.domain, result.selector), (DOMAIN, selector))
            self.assertEqual(result.algorithm, f"{algorithm}-sha256")

    async def test_dkimpy_signatures_pass_our_verifier(self) -> None:
        # dkimpy's own defaults (relaxed/simple, its header list) and simple/simple
        for algorithm, selector in (("ed25519", "ed"), ("rsa", "rsa")):
            key = keys.parse_private_key(PEMS[algorithm]).dkimpy_key()
            for canon in ((b"relaxed", b"simple"), (b"simple", b"simple")):
                header = dkimpy.sign(
                    MESSAGE,
                    selector.encode(),
                    DOMAIN.encode(),
                    key,
                    signature_algorithm=f"{algorithm}-sha256".encode(),
                    canonicalize=canon,
                )
                result = await self.one(header + MESSAGE)
                self.assertEqual(result.result, "pass", (algorithm, canon, result.reason))
                self.assertEqual(result.identity, f"@{DOMAIN}")  # dkimpy writes i=

    def test_signed_fields_and_oversigned_from(self) -> None:
        header = sign(MESSAGE, DOMAIN, "ed", ED_PEM, "ed25519")
        tags = dkimpy.util.parse_tag_value(re.sub(rb"\s+", b"", header.split(b":", 1)[1]))
        self.assertEqual(tags[b"c"], b"relaxed/relaxed")
        self.assertEqual(
            tags[b"h"].split(b":"),
            # Received is not signed; From once more (oversigned)
            b"from:to:subject:date:message-id:mime-version:content-type:from".split(b":"),
        )
        self.assertTrue(header.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256;"))
        self.assertTrue(header.endswith(b"\r\n"))
        self.assertTrue(all(len(line) <= 78 for line in header.split(b"\r\n")))

    async def test_relaxed_survives_refolding_and_an_added_unsigned_field(self) -> None:
        message = signed()
        message = message.replace(
            b"Subject: Quarterly report", b"Subject:   Quarterly\r\n\t report  "
        )
        message = b"Received: by relay.example.net; Mon, 3 Mar 2025 10:01:00 +0000\r\n" + message
        self.assertEqual((await self.one(message)).result, "pass")

    async def test_lf_message_signed_in_lf_form(self) -> None:
        lf = MESSAGE.replace(b"\r\n", b"\n")
        message = signed(lf)
        self.assertNotIn(b"\r", message)
        self.assertEqual((await self.one(message)).result, "pass")

    # -- several signatures ------------------------------------------------------

    async def test_two_signatures_one_good_one_bad_give_two_results(self) -> None:
        good = signed()
        both = sign(good, DOMAIN, "wrong", ED_PEM, "ed25519") + good  # wrong key published
        results = await self.verify(both)
        self.assertEqual(
            [(r.result, r.selector, r.reason) for r in results],
            [("fail", "wrong", "signature mismatch"), ("pass", "ed", "")],
        )
        # told apart in Authentication-Results by header.b (RFC 6008)
        self.assertNotEqual(
            results[0].properties()["header.b"], results[1].properties()["header.b"]
        )

    async def test_rsa_and_ed25519_on_one_message(self) -> None:
        # RFC 8463 5: sign with both during the transition to Ed25519
        message = signed(signed(selector="rsa", algorithm="rsa"))
        results = await self.verify(message)
        self.assertEqual(
            [(r.result, r.algorithm) for r in results],
            [("pass", "ed25519-sha256"), ("pass", "rsa-sha256")],
        )

    async def test_signatures_beyond_the_limit_are_reported_not_verified(self) -> None:
        message = signed(signed(signed()))
        results = await self.verify(message, max_signatures=2)
        self.assertEqual([r.result for r in results], ["pass", "pass", "policy"])
        self.assertEqual(results[2].reason, "not verified: more than 2 signatures")

    async def test_a_large_message_gets_fewer_signatures_verified(self) -> None:
        """Each signature hashes the whole body: MAX_HASHED_BYTES bounds the
        work a message can cause (here: room for two hashes)."""
        message = signed(signed(signed()))
        self.patch(dkim_module, "MAX_HASHED_BYTES", 2 * len(message) + 1)
        results = await self.verify(message)
        self.assertEqual([r.result for r in results], ["pass", "pass", "policy"])
        self.assertEqual(
            results[2].reason,
            f"not verified: more than 2 signatures on a message of {len(message)} octets",
        )

    async def test_no_signature_no_result(self) -> None:
        self.assertEqual(await self.verify(MESSAGE), [])

    # -- mutations: fail ---------------------------------------------------------

    async def test_changed_signed_header_fails_signature_mismatch(self) -> None:
        for algorithm, selector in (("ed25519", "ed"), ("rsa", "rsa")):
            message = signed(selector=selector, algorithm=cast(keys.Algorithm, algorithm))
            message = message.replace(b"Subject: Quarterly report", b"Subject: Quarterly rep0rt")
            result = await self.one(message)
            self.assertEqual((result.result, result.reason), ("fail", "signature mismatch"))
            self.assertFalse(dkimpy.verify(message, dnsfunc=zone_dnsfunc(ZONE)))

    async def test_changed_body_byte_fails_body_hash(self) -> None:
        message = signed().replace(b"numbers are in", b"numbers are In")
        result = await self.one(message)
        self.assertEqual((result.result, result.reason), ("fail", "body hash mismatch"))

    async def test_added_second_from_fails_because_from_is_oversigned(self) -> None:
        message = signed()
        message = b"From: Mallory <ceo@example.test>\r\n" + message
        result = await self.one(message)
        self.assertEqual((result.result, result.reason), ("fail", "signature mismatch"))

    async def test_wrong_key_published_fails(self) -> None:
        result = await self.one(signed(selector="wrong"))
        self.assertEqual((result.result, result.reason), ("fail", "signature mismatch"))

    # -- x= (RFC 6376 3.5): policy -----------------------------------------------

    async def test_expired_signature_is_policy(self) -> None:
        message = signed(expires=3600)
        self.assertEqual((await self.one(message)).result, "pass")  # not yet expired
        later = task.Clock()
        later.advance(reactor.seconds() + 7200)
        result = await self.one(message, clock=later)
        self.assertEqual(result.result, "policy")
        self.assertTrue(result.reason.startswith("signature expired (x="), result.reason)

    async def test_expired_by_dkimpy_clock_is_policy_too(self) -> None:
        # signed at a clock long past: dkimpy's own x= check (system clock)
        # agrees with ours
        old = task.Clock()
        old.advance(1_000_000_000)
        result = await self.one(signed(clock=old, expires=60))
        self.assertEqual(result.result, "policy")

    # -- the key: permerror / temperror ------------------------------------------

    async def test_missing_key_record_is_permerror(self) -> None:
        result = await self.one(signed(selector="absent"))
        self.assertEqual(result.result, "permerror")
        self.assertEqual(
            result.reason, f"key not found: no TXT record at absent._domainkey.{DOMAIN}"
        )

    async def test_servfail_is_temperror(self) -> None:
        result = await self.one(signed(selector="down"))
        self.assertEqual(result.result, "temperror")
        self.assertIn("SERVFAIL", result.reason)

    async def test_revoked_key_is_permerror(self) -> None:
        result = await self.one(signed(selector="revoked"))
        self.assertEqual((result.result, result.reason), ("permerror", "key revoked (empty p=)"))

    async def test_bad_keys_are_permerror(self) -> None:
        cases = {
            "garbage": ("rsa", "bad key: could not parse RSA public key"),
            "ktype": ("ed25519", "bad key: k=rsa for a=ed25519-sha256"),
            "twice": ("ed25519", "bad key: 2 TXT records"),
            "web": ("ed25519", "bad key: not for e-mail (s=tlsrpt)"),
        }
        for selector, (algorithm, reason) in cases.items():
            result = await self.one(
                signed(selector=selector, algorithm=cast(keys.Algorithm, algorithm))
            )
            self.assertEqual(result.result, "permerror", selector)
            self.assertTrue(result.reason.startswith(reason), (selector, result.reason))

    # -- the signature field itself: neutral -------------------------------------

    async def test_malformed_signature_fields_are_neutral(self) -> None:
        message = signed()
        header_end = message.index(b"Received:")
        header, rest = message[:header_end], message[header_end:]
        cases = {
            "no bh=": re.sub(rb"bh=[^;]*;", b"", header),
            "From not in h=": header.replace(b"h=from:", b"h=").replace(b":from;", b";"),
            "tag-list syntax": header.replace(b"v=1;", b"v=1; ;;=;"),
            "unknown a=": header.replace(b"ed25519-sha256", b"ed448-sha512"),
        }
        for what, bad in cases.items():
            result = await self.one(bad + rest)
            self.assertEqual(result.result, "neutral", (what, result.reason))
            self.assertTrue(result.reason, what)

    # -- Authentication-Results --------------------------------------------------

    async def test_fragments_for_authentication_results(self) -> None:
        good = signed()
        results = await self.verify(signed(good, selector="absent"))
        absent, passed = results
        b8 = (passed.signature or "")[:8]
        quoted = b8 if "/" not in b8 else f'"{b8}"'  # "/" is a tspecial (RFC 2045 5.1)
        field = " ".join(authentication_results("mx.example.test", [passed.method()]).split())
        self.assertEqual(
            field,
            f"mx.example.test; dkim=pass header.d={DOMAIN} header.s=ed "
            f"header.a=ed25519-sha256 header.b={quoted}",
        )
        field = " ".join(authentication_results("mx.example.test", [absent.method()]).split())
        self.assertTrue(
            field.startswith(
                f'mx.example.test; dkim=permerror reason="key not found: no TXT record at '
                f'absent._domainkey.{DOMAIN}" header.d={DOMAIN} header.s=absent'
            ),
            field,
        )
        field = authentication_results("mx.example.test", [r.method() for r in results])
        self.assertIn("dkim=pass", field)
        self.assertIn(f"header.d={DOMAIN}", field)


class KeysTestCase(unittest.SynchronousTestCase):
    def test_generated_keys_and_their_records(self) -> None:
        self.assertEqual(len(keys.parse_private_key(ED_PEM).public), 44)  # 32 octets, RFC 8463 4.2
        self.assertTrue(ED_PEM.startswith(b"-----BEGIN PRIVATE KEY-----"))
        rsa_key = serialization.load_pem_private_key(RSA_PEM, None)
        self.assertEqual(cast(rsa.RSAPrivateKey, rsa_key).key_size, 2048)
        rec = keys.dns_record("Example.TEST.", "s1", ED_PUBLIC, "ed25519")
        self.assertEqual(rec.name, "s1._domainkey.example.test")
        self.assertEqual(rec.text, f"v=DKIM1; k=ed25519; p={ED_PUBLIC}")
        long = keys.dns_record(DOMAIN, "rsa", RSA_PUBLIC, "rsa").zone_line()
        pieces = re.findall(r'"([^"]*)"', long)
        self.assertGreater(len(pieces), 1)
        self.assertTrue(all(len(p) <= 255 for p in pieces))
        self.assertEqual("".join(pieces), f"v=DKIM1; k=rsa; p={RSA_PUBLIC}")

    def test_algorithm_must_match_the_key(self) -> None:
        with self.assertRaises(ValueError):
            sign(MESSAGE, DOMAIN, "ed", ED_PEM, "rsa")
        with self.assertRaises(ValueError):
            sign(MESSAGE, DOMAIN, "ed", ED_PEM, headers=("to", "subject"))

    def test_load_errors_say_what_is_wrong(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir()
        with self.assertRaisesRegex(keys.KeyFileError, "no such key file"):
            keys.load_private_key(tmp / "missing.pem")
        (tmp / "junk.pem").write_bytes(b"hello\n")
        with self.assertRaisesRegex(keys.KeyFileError, "junk.pem: not a PEM private key"):
            keys.load_private_key(tmp / "junk.pem")
        encrypted = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        (tmp / "enc.pem").write_bytes(encrypted)
        with self.assertRaisesRegex(keys.KeyFileError, "encrypted"):
            keys.load_private_key(tmp / "enc.pem")
        ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with self.assertRaisesRegex(keys.KeyFileError, "DKIM signs with RSA or Ed25519"):
            keys.parse_private_key(ec_pem, "ec.pem")
        # a PKCS#1 "RSA PRIVATE KEY" file loads too
        pkcs1 = cast(rsa.RSAPrivateKey, serialization.load_pem_private_key(RSA_PEM, None))
        traditional = pkcs1.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        self.assertEqual(keys.parse_private_key(traditional).algorithm, "rsa")

    def test_write_private_key_is_0600_and_never_replaces(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir()
        path = tmp / "k.pem"
        old = os.umask(0)
        try:
            keys.write_private_key(path, ED_PEM)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        self.assertEqual(keys.load_private_key(path).algorithm, "ed25519")
        with self.assertRaisesRegex(keys.KeyFileError, "already exists"):
            keys.write_private_key(path, RSA_PEM)
        self.assertEqual(path.read_bytes(), ED_PEM)


def mailgateway(tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    config = tmp / "gateway.toml"
    config.write_text(
        '[server]\nhostname="gw.example.test"\n'
        f'data_dir="{tmp / "var"}"\nlocal_domains=["{DOMAIN}"]\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "--config", str(config), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )


class KeygenCommandTestCase(unittest.TestCase):
    async def test_keygen_sign_verify_against_the_printed_record(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir()
        keydir = tmp / "keys"
        keydir.mkdir()
        for algorithm, selector in (("ed25519", "cli1"), ("rsa", "cli2")):
            done = mailgateway(
                tmp, "dkim", "keygen", DOMAIN, selector, "--algorithm", algorithm,
                "--dir", str(keydir),
            )  # fmt: skip
            self.assertEqual(done.returncode, 0, done.stderr)
            path = keydir / f"{DOMAIN}.{selector}.pem"
            self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
            self.assertIn(str(path), done.stderr)
            (line,) = done.stdout.splitlines()
            self.assertTrue(line.startswith(f"{selector}._domainkey.{DOMAIN}. IN TXT "), line)

            zone = Zone.from_text(f"$ORIGIN {DOMAIN}.\n{line}\n")
            server = DNSTestServer([zone])
            host, port = server.start(reactor)
            self.addCleanup(server.stop)
            lookup = TwistedLookup(
                client.Resolver(servers=[(host, port)], reactor=reactor), reactor
            )
            key = keys.load_private_key(path)
            self.assertEqual(key.algorithm, algorithm)
            message = sign(MESSAGE, DOMAIN, selector, key) + MESSAGE
            (result,) = await verify_all(message, lookup)
            self.assertEqual((result.result, result.selector), ("pass", selector), result.reason)
            self.assertTrue(dkimpy.verify(message, dnsfunc=zone_dnsfunc(zone)))

        again = mailgateway(tmp, "dkim", "keygen", DOMAIN, "cli1", "--dir", str(keydir))
        self.assertEqual(again.returncode, 73)  # EX_CANTCREAT: the key is not replaced
        self.assertIn("already exists", again.stderr)
        self.assertEqual(again.stdout, "")
