"""ARC validation and sealing (gateway.authn.arc, RFC 8617).

dkimpy is the outside oracle both ways: chains sealed by its ``arc_sign``
pass our :func:`verify_chain`, and RSA chains sealed by our :func:`seal`
pass its ``arc_verify`` (with a ``dnsfunc`` reading the test zones' data).
Our validator asks DNS through :class:`TwistedLookup` at a
:class:`DNSTestServer` on loopback. Keys are made once per test run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import dkim as dkimpy
from twisted.internet import reactor as global_reactor
from twisted.internet import task
from twisted.names import client
from twisted.trial import unittest

from gateway.authn import arc, keys
from gateway.authn.arc import ARCResult, SealError, seal, verify_chain
from gateway.authn.dns import TwistedLookup
from gateway.authn.results import authentication_results
from tests.dnszone import DNSTestServer, Zone

try:
    import authres  # noqa: F401  (dkimpy's arc_sign needs it)

    HAVE_AUTHRES = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_AUTHRES = False

reactor = cast(Any, global_reactor)
DOMAIN = "example.test"
LISTS = "lists.example.org"
AUTHSERV = "mx.example.test"
NOW = 1_700_000_000

RSA_PEM, RSA_PUBLIC = keys.generate_key("rsa")
ED_PEM, ED_PUBLIC = keys.generate_key("ed25519")
OTHER_PEM, OTHER_PUBLIC = keys.generate_key("rsa")  # published under "wrong"
RSA = keys.parse_private_key(RSA_PEM)
ED = keys.parse_private_key(ED_PEM)


def record(domain: str, selector: str, public: str, algorithm: keys.Algorithm) -> str:
    return keys.dns_record(domain, selector, public, algorithm).text


ZONES = [
    Zone(
        DOMAIN,
        {
            "rsa._domainkey": [("TXT", record(DOMAIN, "rsa", RSA_PUBLIC, "rsa"))],
            "ed._domainkey": [("TXT", record(DOMAIN, "ed", ED_PUBLIC, "ed25519"))],
            # "wrong" publishes another key than the one it seals with
            "wrong._domainkey": [("TXT", record(DOMAIN, "wrong", OTHER_PUBLIC, "rsa"))],
            # t=s (RFC 6376 3.6.1): must not be read against ARC's numeric i=
            "strict._domainkey": [
                ("TXT", f"v=DKIM1; k=rsa; t=s; p={RSA_PUBLIC}"),
            ],
        },
    ),
    Zone(LISTS, {"ed._domainkey": [("TXT", record(LISTS, "ed", ED_PUBLIC, "ed25519"))]}),
]
SERVFAIL = (f"down._domainkey.{DOMAIN}",)
SILENT = (f"slow._domainkey.{DOMAIN}",)

MESSAGE = (
    b"Received: from client.example.test by mx.example.test; Mon, 3 Mar 2025 10:00:00 +0000\r\n"
    b"From: Alice <alice@example.test>\r\n"
    b"To: list@lists.example.org\r\n"
    b"Subject: Quarterly report\r\n"
    b"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
    b"Message-ID: <q1.2025@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"The numbers are in.\r\n"
)
RESULTS = authentication_results(
    AUTHSERV, [("spf", "pass", {"smtp.mailfrom": "alice@example.test"}, None)]
)


def zone_dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
    """dkimpy's ``dnsfunc`` answering from the zones' data, not the network."""
    owner = name.decode("ascii").rstrip(".").lower()
    for zone in ZONES:
        texts = [r.data for r in zone.records if r.owner == owner and r.type == "TXT"]
        if texts:
            return "".join(str(s) for s in texts[0]).encode("ascii")
    return None


def arc_fields(message: bytes) -> list[tuple[str, int]]:
    """(field name, i=) of each ARC field, top first."""
    out = []
    for name, value in dkimpy.rfc822_parse(message)[0]:
        if name.lower().startswith(b"arc-"):
            match = re.search(rb"i=(\d+)", value)
            assert match is not None
            out.append((name.decode(), int(match.group(1))))
    return out


def field_block(message: bytes, name: bytes, instance: int) -> bytes:
    """The raw text (with continuation lines) of the ARC field ``name`` i=."""
    pattern = re.escape(name) + rb": i=" + str(instance).encode() + rb";.*?\r\n(?=\S|\Z)"
    match = re.search(pattern, message, re.DOTALL)
    assert match is not None, (name, instance)
    return match.group(0)


class ARCTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer(ZONES, servfail=SERVFAIL, silent=SILENT)
        host, port = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        resolver = client.Resolver(servers=[(host, port)], timeout=(0.5,), reactor=reactor)
        self.lookup = TwistedLookup(resolver, reactor, timeout=2.0)
        self.clock = task.Clock()
        self.clock.advance(NOW)

    async def verify(self, message: bytes) -> ARCResult:
        return await verify_chain(message, self.lookup, clock=self.clock)

    async def hop(
        self,
        message: bytes,
        selector: str = "rsa",
        key: keys.PrivateKey = RSA,
        domain: str = DOMAIN,
        *,
        forward: bytes = b"",
        change: Callable[[bytes], bytes] | None = None,
    ) -> bytes:
        """What an ARC intermediary does: validate, make its ``change`` (a
        mailing list's, say; RFC 8617 5.1 step 1: before sealing), seal,
        prepend; then, as a forwarder, add ``forward`` (header fields the AMS
        does not cover)."""
        chain = await self.verify(message)
        if change is not None:
            message = change(message)
        results = authentication_results(
            AUTHSERV, [("spf", "pass", {"smtp.mailfrom": "alice@example.test"}, None)]
        )
        fields = seal(
            message,
            domain=domain,
            selector=selector,
            key=key,
            authserv_id=AUTHSERV,
            results=results,
            chain=chain,
            clock=self.clock,
        )
        return forward + fields + message

    async def chain_of(self, hops: int, **kw: Any) -> bytes:
        message = MESSAGE
        for n in range(hops):
            message = await self.hop(message, forward=f"X-Hop: {n + 1}\r\n".encode(), **kw)
        return message

    def assertResult(self, result: ARCResult, expected: ARCResult) -> None:
        self.assertEqual(result, expected)

    # -- interoperability with dkimpy -------------------------------------------

    async def test_chain_sealed_by_dkimpy_passes_ours(self) -> None:
        if not HAVE_AUTHRES:
            raise unittest.SkipTest("dkimpy's arc_sign needs the authres package")
        message = f"Authentication-Results: {RESULTS}\r\n".encode() + MESSAGE
        fields = dkimpy.arc_sign(
            message, b"rsa", DOMAIN.encode(), RSA_PEM, AUTHSERV.encode(), timestamp=NOW
        )
        message = b"".join(fields) + message
        self.assertEqual(dkimpy.arc_verify(message, dnsfunc=zone_dnsfunc)[0], b"pass")
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 1, oldest_pass=1, sealers=(DOMAIN,)),
        )
        # a second dkimpy hop, which reads arc=pass from its A-R for cv=
        ar = authentication_results(AUTHSERV, [("arc", "pass", {}, None)])
        message = f"Authentication-Results: {ar}\r\nX-Hop: 1\r\n".encode() + message
        fields = dkimpy.arc_sign(
            message, b"rsa", DOMAIN.encode(), RSA_PEM, AUTHSERV.encode(), timestamp=NOW
        )
        message = b"".join(fields) + message
        self.assertEqual(dkimpy.arc_verify(message, dnsfunc=zone_dnsfunc)[0], b"pass")
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 2, oldest_pass=1, sealers=(DOMAIN, DOMAIN)),
        )

    async def test_our_seal_passes_dkimpy_and_ours(self) -> None:
        fields = seal(
            MESSAGE,
            domain=DOMAIN,
            selector="rsa",
            key=RSA,
            authserv_id=AUTHSERV,
            results=RESULTS,
            chain=await self.verify(MESSAGE),
            clock=self.clock,
        )
        self.assertTrue(
            fields.startswith(b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.test;")
        )
        self.assertTrue(fields.endswith(b"\r\n"))
        self.assertNotIn(b"\r\n\r\n", fields)
        self.assertEqual(
            arc_fields(fields),
            [("ARC-Seal", 1), ("ARC-Message-Signature", 1), ("ARC-Authentication-Results", 1)],
        )
        ams = dkimpy.util.parse_tag_value(
            re.sub(
                rb"\s+", b"", field_block(fields, b"ARC-Message-Signature", 1).split(b":", 1)[1]
            )
        )
        self.assertEqual(ams[b"c"], b"relaxed/relaxed")
        self.assertEqual(ams[b"t"], str(NOW).encode())
        # Received is not signed; From is oversigned
        self.assertEqual(
            ams[b"h"].split(b":"),
            [
                b"from",
                b"to",
                b"subject",
                b"date",
                b"message-id",
                b"mime-version",
                b"content-type",
                b"from",
            ],
        )
        self.assertEqual(
            field_block(fields, b"ARC-Authentication-Results", 1),
            b"ARC-Authentication-Results: i=1; mx.example.test;\r\n"
            b"\tspf=pass smtp.mailfrom=alice@example.test;\r\n"
            b"\tarc=none\r\n",
        )
        message = fields + MESSAGE
        cv, results, reason = dkimpy.arc_verify(message, dnsfunc=zone_dnsfunc)
        self.assertEqual((cv, reason), (b"pass", "success"))
        self.assertEqual([(r["ams-valid"], r["as-valid"]) for r in results], [(True, True)])
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 1, oldest_pass=1, sealers=(DOMAIN,)),
        )

    async def test_ed25519_seal_passes_ours_but_dkimpy_knows_only_rsa(self) -> None:
        message = await self.hop(MESSAGE, "ed", ED)
        self.assertIn(b"ARC-Seal: i=1; cv=none; a=ed25519-sha256;", message)
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 1, oldest_pass=1, sealers=(DOMAIN,)),
        )
        # dkimpy's ARC_HASH_ALGORITHMS is rsa-sha256 only (a documented limitation)
        cv, _results, reason = dkimpy.arc_verify(message, dnsfunc=zone_dnsfunc)
        self.assertEqual((cv, reason), (b"fail", "unknown signature algorithm: b'ed25519-sha256'"))

    # -- chains -------------------------------------------------------------------

    async def test_chains_of_two_and_three_rsa_pass_both_validators(self) -> None:
        message = MESSAGE
        for n in (1, 2, 3):
            message = await self.hop(message, forward=f"X-Hop: {n}\r\n".encode())
            self.assertResult(
                await self.verify(message),
                ARCResult("pass", "", n, oldest_pass=1, sealers=(DOMAIN,) * n),
            )
            cv, results, reason = dkimpy.arc_verify(message, dnsfunc=zone_dnsfunc)
            self.assertEqual((cv, reason, len(results)), (b"pass", "success", n))
        self.assertIn(b"ARC-Seal: i=3; cv=pass;", message)
        self.assertIn(b"ARC-Seal: i=2; cv=pass;", message)
        self.assertIn(b"ARC-Authentication-Results: i=3; mx.example.test;", message)
        self.assertIn(b"\tarc=pass header.oldest-pass=1\r\n", message)

    async def test_mixed_sealers_and_algorithms(self) -> None:
        message = await self.hop(MESSAGE, "rsa", RSA, DOMAIN, forward=b"X-Hop: 1\r\n")
        message = await self.hop(message, "ed", ED, LISTS, forward=b"List-Id: <l.example.org>\r\n")
        message = await self.hop(message, "strict", RSA, DOMAIN)
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 3, oldest_pass=1, sealers=(DOMAIN, LISTS, DOMAIN)),
        )

    async def test_sets_in_unusual_order_still_pass(self) -> None:
        # instances are named by i=, not by position (RFC 8617 4.2.1)
        message = await self.chain_of(2)
        set1 = b"".join(
            field_block(message, n, 1)
            for n in (b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results")
        )
        moved = set1 + message.replace(set1, b"")
        self.assertNotEqual(moved, message)
        self.assertResult(
            await self.verify(moved),
            ARCResult("pass", "", 2, oldest_pass=1, sealers=(DOMAIN, DOMAIN)),
        )

    async def test_oldest_pass_is_the_lowest_instance_whose_ams_verifies(self) -> None:
        message = await self.hop(MESSAGE)
        # a list rewrites the subject: AMS 1 no longer verifies, the chain still does
        message = await self.hop(
            message, change=lambda m: m.replace(b"Subject: Q", b"Subject: [list] Q")
        )
        message = await self.hop(message, forward=b"X-Hop: 3\r\n")
        result = await self.verify(message)
        self.assertResult(result, ARCResult("pass", "", 3, oldest_pass=2, sealers=(DOMAIN,) * 3))
        self.assertEqual(result.method(), ("arc", "pass", {"header.oldest-pass": "2"}, None))
        self.assertEqual(
            authentication_results(AUTHSERV, [result.method("192.0.2.7")]),
            "mx.example.test;\r\n\tarc=pass header.oldest-pass=2 smtp.remote-ip=192.0.2.7",
        )

    async def test_oldest_pass_left_unknown_past_the_hashing_budget(self) -> None:
        """Each older AMS hashes the whole message again: past
        MAX_OLDEST_PASS_BYTES the (optional) oldest-pass is not computed."""
        message = await self.chain_of(3)
        self.patch(arc, "MAX_OLDEST_PASS_BYTES", len(message))  # one more hash only
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 3, oldest_pass=None, sealers=(DOMAIN,) * 3),
        )

    async def test_no_arc_sets_is_none(self) -> None:
        result = await self.verify(MESSAGE)
        self.assertResult(result, ARCResult("none"))
        self.assertEqual(result.method(), ("arc", "none", {}, None))
        self.assertEqual(result.cv, "none")

    # -- failures -------------------------------------------------------------------

    async def test_changed_body_after_last_seal_fails_ams(self) -> None:
        message = await self.chain_of(2)
        result = await self.verify(message.replace(b"numbers are in", b"numbers are on"))
        self.assertResult(
            result, ARCResult("fail", "ARC-Message-Signature i=2: body hash mismatch", 2)
        )
        self.assertEqual(
            result.method(),
            ("arc", "fail", {}, "ARC-Message-Signature i=2: body hash mismatch"),
        )

    async def test_changed_signed_header_fails_ams(self) -> None:
        message = await self.chain_of(2)
        result = await self.verify(message.replace(b"Subject: Quarterly", b"Subject: Monthly"))
        self.assertResult(
            result, ARCResult("fail", "ARC-Message-Signature i=2: signature mismatch", 2)
        )

    async def test_tampered_earlier_seal_fails(self) -> None:
        message = await self.chain_of(3)
        block = field_block(message, b"ARC-Seal", 1)
        tampered = message.replace(block, block.replace(f"t={NOW}".encode(), b"t=1600000000"))
        self.assertNotEqual(tampered, message)
        # every newer seal covers set 1 too: the newest is checked first
        self.assertResult(
            await self.verify(tampered),
            ARCResult("fail", "ARC-Seal i=3: signature mismatch", 3),
        )

    async def test_tampered_earlier_aar_fails(self) -> None:
        message = await self.chain_of(2)
        block = field_block(message, b"ARC-Authentication-Results", 1)
        tampered = message.replace(block, block.replace(b"spf=pass", b"spf=fail"))
        self.assertResult(
            await self.verify(tampered),
            ARCResult("fail", "ARC-Seal i=2: signature mismatch", 2),
        )

    async def test_missing_instance_is_a_gap(self) -> None:
        message = await self.chain_of(3)
        for name in (b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results"):
            message = message.replace(field_block(message, name, 2), b"")
        self.assertResult(
            await self.verify(message),
            ARCResult("fail", "no ARC set i=2 (instances must run 1..3 without gaps)", 3),
        )

    async def test_incomplete_set_fails(self) -> None:
        message = await self.chain_of(2)
        message = message.replace(field_block(message, b"ARC-Message-Signature", 1), b"")
        self.assertResult(
            await self.verify(message),
            ARCResult("fail", "ARC set i=1 has no ARC-Message-Signature", 2),
        )

    async def test_duplicate_instance_fails(self) -> None:
        message = await self.chain_of(2)
        block = field_block(message, b"ARC-Message-Signature", 2)
        self.assertResult(
            await self.verify(block + message),
            ARCResult("fail", "ARC set i=2 has 2 ARC-Message-Signature fields", 2),
        )
        # a whole second set 1 (from another message sealed the same way)
        other = await self.chain_of(1)
        set1 = b"".join(
            field_block(other, n, 1)
            for n in (b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results")
        )
        self.assertResult(
            await self.verify(set1 + message),
            ARCResult("fail", "ARC set i=1 has 2 ARC-Authentication-Results fields", 2),
        )

    async def test_wrong_cv_values_fail(self) -> None:
        message = await self.chain_of(2)
        block = field_block(message, b"ARC-Seal", 1)
        changed = message.replace(block, block.replace(b"cv=none", b"cv=pass"))
        self.assertResult(
            await self.verify(changed),
            ARCResult("fail", "ARC-Seal i=1 has cv=pass, expected cv=none", 2),
        )
        block = field_block(message, b"ARC-Seal", 2)
        changed = message.replace(block, block.replace(b"cv=pass", b"cv=none"))
        self.assertResult(
            await self.verify(changed),
            ARCResult("fail", "ARC-Seal i=2 has cv=none, expected cv=pass", 2),
        )

    async def test_cv_fail_is_propagated_and_ends_the_chain(self) -> None:
        message = await self.hop(MESSAGE)
        broken = message.replace(b"numbers are in", b"numbers are out")
        chain = await self.verify(broken)
        self.assertResult(
            chain, ARCResult("fail", "ARC-Message-Signature i=1: body hash mismatch", 1)
        )
        self.assertEqual(chain.cv, "fail")
        sealed = await self.hop(broken)
        self.assertIn(b"ARC-Seal: i=2; cv=fail;", sealed)
        self.assertIn(
            b'\tarc=fail reason="ARC-Message-Signature i=1: body hash mismatch"\r\n', sealed
        )
        result = await self.verify(sealed)
        self.assertResult(
            result, ARCResult("fail", "ARC-Seal i=2 reports cv=fail", 2, terminated=True)
        )
        # RFC 8617 5.1 step 2: nothing is added to a chain declared failed
        self.assertEqual(
            seal(
                sealed,
                domain=DOMAIN,
                selector="rsa",
                key=RSA,
                authserv_id=AUTHSERV,
                results=RESULTS,
                chain=result,
                clock=self.clock,
            ),
            b"",
        )
        # dkimpy agrees that the chain ended
        cv, _results, reason = dkimpy.arc_verify(sealed, dnsfunc=zone_dnsfunc)
        self.assertEqual(
            (cv, reason), (None, "ARC-Seal[2] reported failure, the chain is terminated")
        )
        # a cv=fail in the middle of a chain that went on regardless
        later = await self.chain_of(3)
        later_block = field_block(later, b"ARC-Seal", 2)
        spliced = later.replace(later_block, later_block.replace(b"cv=pass", b"cv=fail"))
        self.assertResult(
            await self.verify(spliced),
            ARCResult("fail", "ARC-Seal i=2 has cv=fail, expected cv=pass", 3),
        )

    async def test_wrong_key_published_fails(self) -> None:
        message = await self.hop(MESSAGE, "wrong", RSA)
        self.assertResult(
            await self.verify(message),
            ARCResult("fail", "ARC-Message-Signature i=1: signature mismatch", 1),
        )

    async def test_missing_key_record_fails(self) -> None:
        message = await self.hop(MESSAGE, "absent", RSA)
        self.assertResult(
            await self.verify(message),
            ARCResult(
                "fail",
                "ARC-Message-Signature i=1: key not found: "
                f"no TXT record at absent._domainkey.{DOMAIN}",
                1,
            ),
        )

    async def test_key_of_the_wrong_type_fails(self) -> None:
        message = await self.hop(MESSAGE, "rsa", ED)  # an ed25519 seal, an RSA record
        self.assertResult(
            await self.verify(message),
            ARCResult("fail", "ARC-Message-Signature i=1: bad key: k=rsa for a=ed25519-sha256", 1),
        )

    async def test_servfail_is_a_temporary_error(self) -> None:
        message = await self.hop(MESSAGE, "down", RSA)
        result = await self.verify(message)
        reason = (
            "ARC-Message-Signature i=1: temporary error: key lookup failed: "
            f"TXT down._domainkey.{DOMAIN}: server failure (SERVFAIL)"
        )
        self.assertResult(result, ARCResult("temperror", reason, 1))
        # in the message it is a failure (RFC 8617 5.2.1), the reason says why
        self.assertEqual(result.cv, "fail")
        self.assertEqual(result.method(), ("arc", "fail", {}, reason))
        sealed = await self.hop(message)
        self.assertIn(b"ARC-Seal: i=2; cv=fail;", sealed)

    async def test_timeout_is_a_temporary_error(self) -> None:
        message = await self.hop(MESSAGE, "slow", RSA)
        self.assertResult(
            await self.verify(message),
            ARCResult(
                "temperror",
                "ARC-Message-Signature i=1: temporary error: key lookup failed: "
                f"TXT slow._domainkey.{DOMAIN}: timed out",
                1,
            ),
        )

    async def test_a_definite_failure_wins_over_a_temporary_one(self) -> None:
        message = await self.hop(MESSAGE, "down", RSA)
        message = await self.hop(message, "rsa", RSA, forward=b"X-Hop: 2\r\n")
        self.assertIn(b"ARC-Seal: i=2; cv=fail;", message)  # hop 2 could not tell
        message = MESSAGE
        message = await self.hop(message, "down", RSA)
        # a sealer that could reach DNS saw a passing chain and said so
        fields = seal(
            message,
            domain=DOMAIN,
            selector="rsa",
            key=RSA,
            authserv_id=AUTHSERV,
            results=RESULTS,
            chain="pass",
            clock=self.clock,
        )
        message = fields + message
        self.assertResult(
            await self.verify(message),
            ARCResult(
                "temperror",
                "ARC-Seal i=1: temporary error: key lookup failed: "
                f"TXT down._domainkey.{DOMAIN}: server failure (SERVFAIL)",
                2,
            ),
        )
        self.assertResult(
            await self.verify(message.replace(b"numbers are in", b"numbers are up")),
            ARCResult("fail", "ARC-Message-Signature i=2: body hash mismatch", 2),
        )

    async def test_malformed_fields_fail(self) -> None:
        message = await self.chain_of(1)
        block = field_block(message, b"ARC-Seal", 1)
        cases = {
            block.replace(b"i=1;", b"i=x;"): "ARC-Seal without a valid i= tag (RFC 8617 4.2.1)",
            block.replace(b"i=1;", b"i=0;"): "ARC-Seal with i=0 (RFC 8617 4.2.1: 1 to 50)",
            block.replace(b"a=rsa-sha256", b"a=rsa-sha1"): (
                "ARC-Seal i=1: unsupported algorithm a=rsa-sha1"
            ),
            block.replace(b"a=rsa-sha256;", b"a=rsa-sha256; h=from;"): (
                "ARC-Seal i=1: h= is not allowed in an ARC-Seal (RFC 8617 4.1.3)"
            ),
            block.replace(b"s=rsa;", b""): "ARC-Seal i=1: s= is missing",
        }
        for replacement, reason in cases.items():
            result = await self.verify(message.replace(block, replacement))
            self.assertEqual((result.result, result.reason), ("fail", reason), replacement)
        aar = field_block(message, b"ARC-Authentication-Results", 1)
        result = await self.verify(message.replace(aar, aar.replace(b"i=1;", b"")))
        self.assertEqual(
            (result.result, result.reason),
            ("fail", "ARC-Authentication-Results without a valid i= tag (RFC 8617 4.1.1)"),
        )

    # -- the instance limit (RFC 8617 4.2.1) ----------------------------------------

    async def test_fifty_sets_at_most(self) -> None:
        message = MESSAGE
        for n in range(50):
            fields = seal(
                message,
                domain=DOMAIN,
                selector="ed",
                key=ED,
                authserv_id=AUTHSERV,
                results=RESULTS,
                chain="none" if n == 0 else "pass",
                clock=self.clock,
            )
            message = fields + message
        self.assertResult(
            await self.verify(message),
            ARCResult("pass", "", 50, oldest_pass=1, sealers=(DOMAIN,) * 50),
        )
        with self.assertRaises(SealError) as caught:
            seal(
                message,
                domain=DOMAIN,
                selector="ed",
                key=ED,
                authserv_id=AUTHSERV,
                results=RESULTS,
                chain="pass",
                clock=self.clock,
            )
        self.assertEqual(
            str(caught.exception),
            "the message already has 50 ARC sets; RFC 8617 4.2.1 allows at most 50",
        )
        fake = b"".join(
            field_block(message, n, 50).replace(b"i=50;", b"i=51;")
            for n in (b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results")
        )
        self.assertResult(
            await self.verify(fake + message),
            ARCResult("fail", "ARC set i=51: more than 50 ARC sets (RFC 8617 4.2.1)", 51),
        )

    # -- sealing details --------------------------------------------------------------

    def test_results_with_or_without_the_authserv_id(self) -> None:
        def aar(results: str, chain: Any = "none") -> bytes:
            fields = seal(
                MESSAGE,
                domain=DOMAIN,
                selector="ed",
                key=ED,
                authserv_id=AUTHSERV,
                results=results,
                chain=chain,
                clock=self.clock,
            )
            return field_block(fields, b"ARC-Authentication-Results", 1)

        with_id = aar(RESULTS)
        without_id = aar("spf=pass smtp.mailfrom=alice@example.test")
        self.assertEqual(with_id, without_id)
        # an arc= entry already there is kept, not doubled
        self.assertEqual(
            aar(f"{AUTHSERV}; spf=pass smtp.mailfrom=alice@example.test; arc=none"),
            b"ARC-Authentication-Results: i=1; mx.example.test;\r\n"
            b"\tspf=pass smtp.mailfrom=alice@example.test; arc=none\r\n",
        )
        self.assertEqual(
            aar(f"{AUTHSERV}; none"),
            b"ARC-Authentication-Results: i=1; mx.example.test;\r\n\tarc=none\r\n",
        )

    async def test_chain_must_fit_the_message(self) -> None:
        def attempt(message: bytes, chain: Any) -> bytes:
            return seal(
                message,
                domain=DOMAIN,
                selector="ed",
                key=ED,
                authserv_id=AUTHSERV,
                results=RESULTS,
                chain=chain,
                clock=self.clock,
            )

        with self.assertRaises(SealError) as caught:
            attempt(MESSAGE, "pass")
        self.assertEqual(
            str(caught.exception), "chain status pass, but the message has no ARC set"
        )
        sealed = await self.chain_of(1)
        with self.assertRaises(SealError) as caught:
            attempt(sealed, ARCResult("none"))
        self.assertEqual(
            str(caught.exception), "chain status none, but the message has 1 ARC sets"
        )
        # a failed chain with no readable instance cannot be continued
        self.assertEqual(attempt(MESSAGE, "fail"), b"")
        with self.assertRaises(SealError) as caught:
            attempt(MESSAGE, "temperror")  # an ARCResult would say cv=fail itself
        self.assertEqual(
            str(caught.exception), "chain status 'temperror' is not none, pass or fail"
        )

    def test_lf_message_gets_lf_fields(self) -> None:
        lf = MESSAGE.replace(b"\r\n", b"\n")
        fields = seal(
            lf,
            domain=DOMAIN,
            selector="ed",
            key=ED,
            authserv_id=AUTHSERV,
            results=RESULTS,
            chain="none",
            clock=self.clock,
        )
        self.assertNotIn(b"\r", fields)
        self.assertTrue(fields.endswith(b"\n"))
