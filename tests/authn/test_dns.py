"""gateway.authn.dns.TwistedLookup against tests.dnszone on loopback."""

from __future__ import annotations

from typing import Any, cast

from twisted.internet import reactor as global_reactor
from twisted.names import client
from twisted.trial import unittest

from gateway.authn.dns import DNSError, Lookup, TwistedLookup, query_name
from gateway.config import DNSSettings
from tests.dnszone import DNSTestServer, Zone

reactor = cast(Any, global_reactor)

ZONE = Zone(
    "example.test",
    {
        "@": [
            ("TXT", "v=spf1 ", "-all"),  # two strings, joined without separator
            ("TXT", "other"),
            ("MX", 10, "mx1"),
            ("MX", 20, "mx2.other.test."),
            ("A", "192.0.2.1"),
            ("AAAA", "2001:db8::1"),
        ],
        "mx1": [("A", "192.0.2.11"), ("A", "192.0.2.12")],
        "alias": [("CNAME", "@")],
        "alias2": [("CNAME", "alias")],
        "outside": [("CNAME", "host.other.test.")],
        "loop1": [("CNAME", "loop2")],
        "loop2": [("CNAME", "loop1")],
        "nodata": [("A", "192.0.2.9")],
        "null": [("MX", 0, ".")],
        "1.2.0.192.in-addr.arpa.": [("PTR", "Host.Example.test.")],
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.": [
            ("PTR", "v6.example.test.")
        ],
        "long": [("TXT", "x" * 600)],  # split into 255-octet strings by the zone
    },
)
OTHER = Zone("other.test", {"host": [("A", "192.0.2.50"), ("TXT", "there")]})


class TwistedLookupTests(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer(
            [ZONE, OTHER], servfail=["broken.example.test"], silent=["slow.example.test"]
        )
        self.address = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        resolver = client.Resolver(servers=[self.address], timeout=(0.5,), reactor=reactor)
        self.lookup: Lookup = TwistedLookup(resolver, reactor, timeout=2.0)

    async def test_txt_joins_strings(self) -> None:
        self.assertEqual(sorted(await self.lookup.txt("example.test")), [b"other", b"v=spf1 -all"])
        self.assertEqual(await self.lookup.txt("long.example.test."), [b"x" * 600])

    async def test_nxdomain_and_nodata_are_empty(self) -> None:
        self.assertEqual(await self.lookup.txt("nothere.example.test"), [])
        self.assertEqual(await self.lookup.txt("nodata.example.test"), [])
        self.assertEqual(await self.lookup.a("nothere.example.test"), [])
        self.assertEqual(await self.lookup.mx("nodata.example.test"), [])
        self.assertFalse(await self.lookup.exists("nothere.example.test"))
        self.assertFalse(await self.lookup.exists("null.example.test"))

    async def test_addresses(self) -> None:
        self.assertEqual(await self.lookup.a("example.test"), ["192.0.2.1"])
        self.assertEqual(await self.lookup.aaaa("example.test"), ["2001:db8::1"])
        self.assertEqual(
            sorted(await self.lookup.a("mx1.example.test")), ["192.0.2.11", "192.0.2.12"]
        )
        self.assertTrue(await self.lookup.exists("mx1.example.test"))

    async def test_mx(self) -> None:
        self.assertEqual(
            sorted(await self.lookup.mx("example.test")),
            [(10, "mx1.example.test"), (20, "mx2.other.test")],
        )
        self.assertEqual(await self.lookup.mx("null.example.test"), [(0, "")])

    async def test_ptr(self) -> None:
        self.assertEqual(await self.lookup.ptr("192.0.2.1"), ["Host.Example.test"])
        self.assertEqual(await self.lookup.ptr("2001:db8::1"), ["v6.example.test"])
        self.assertEqual(await self.lookup.ptr("192.0.2.99"), [])

    async def test_cname_followed(self) -> None:
        self.assertEqual(await self.lookup.a("alias2.example.test"), ["192.0.2.1"])
        self.assertEqual(await self.lookup.txt("outside.example.test"), [b"there"])

    async def test_cname_loop_is_temporary(self) -> None:
        with self.assertRaises(DNSError) as caught:
            await self.lookup.a("loop1.example.test")
        self.assertTrue(caught.exception.temporary)

    async def test_servfail_is_temporary(self) -> None:
        with self.assertRaises(DNSError) as caught:
            await self.lookup.txt("broken.example.test")
        self.assertTrue(caught.exception.temporary)
        self.assertIn("SERVFAIL", str(caught.exception))

    async def test_timeout_is_temporary(self) -> None:
        with self.assertRaises(DNSError) as caught:
            await self.lookup.txt("slow.example.test")
        self.assertTrue(caught.exception.temporary)
        self.assertIn("timed out", str(caught.exception))

    async def test_bad_names_are_permanent(self) -> None:
        for name in ("a..example.test", "x" * 64 + ".example.test", "é.example.test", ""):
            with self.assertRaises(DNSError) as caught:
                await self.lookup.a(name)
            self.assertFalse(caught.exception.temporary, name)

    async def test_from_settings(self) -> None:
        lookup = TwistedLookup.from_settings(
            DNSSettings(servers=(self.address,), timeout=0.5), reactor
        )
        self.assertEqual(await lookup.a("example.test"), ["192.0.2.1"])


class QueryNameTests(unittest.SynchronousTestCase):
    def test_valid(self) -> None:
        self.assertEqual(query_name("Example.TEST."), b"Example.TEST")
        self.assertEqual(query_name("a" * 63 + ".test"), b"a" * 63 + b".test")

    def test_too_long(self) -> None:
        name = ".".join(["a" * 63] * 4)  # 255 octets
        with self.assertRaises(DNSError):
            query_name(name)
