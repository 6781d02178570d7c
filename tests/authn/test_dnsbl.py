"""gateway.authn.dnsbl against block and allow lists served by tests.dnszone."""

from __future__ import annotations

from typing import Any, cast

from twisted.internet import defer
from twisted.internet import reactor as global_reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.names import client
from twisted.trial import unittest

from gateway.authn.dns import DNSError, Lookup, TwistedLookup
from gateway.authn.dnsbl import DNSBLChecker, DNSBLResult, Listing, query_name
from tests.dnszone import DNSTestServer, Zone

reactor = cast(Any, global_reactor)

V6 = "2001:db8::99"
V6_NAME = "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"

BLOCK = Zone(
    "bl.test",
    {
        "99.2.0.192": [("A", "127.0.0.2"), ("TXT", "listed: see http://bl.test/192.0.2.99")],
        "98.2.0.192": [("A", "127.0.0.4"), ("A", "127.0.0.2")],  # no TXT
        "97.2.0.192": [("A", "127.0.0.2"), ("TXT", "caf\u00e9\tbar\r\nbaz"), ("TXT", "second")],
        "96.2.0.192": [("A", "127.0.0.2"), ("TXT", "x" * 300)],
        "77.2.0.192": [("A", "10.0.0.1")],  # a hijacked answer, not a listing
        "76.2.0.192": [("A", "10.0.0.1"), ("A", "127.0.0.3")],
        f"{V6_NAME}": [("A", "127.0.0.3"), ("TXT", "v6 listed")],
    },
)
REFUSING = Zone(
    "refuse.test",
    {
        "99.2.0.192": [("A", "127.255.255.254")],
        "98.2.0.192": [("A", "127.255.255.255"), ("A", "127.0.0.2")],
    },
)
ALLOW = Zone(
    "wl.test",
    {
        "10.2.0.192": [("A", "127.0.15.2"), ("TXT", "https://wl.test/192.0.2.10")],
        "99.2.0.192": [("A", "127.0.0.255")],  # dnswl.org: query refused
        "11.2.0.192": [("A", "127.0.0.255")],
    },
)


class CountingLookup:
    """A :class:`Lookup` that records the questions it passes on."""

    def __init__(self, inner: Lookup, fail_txt: bool = False) -> None:
        self.inner = inner
        self.fail_txt = fail_txt
        self.asked: list[tuple[str, str]] = []

    def a(self, name: str) -> Deferred[list[str]]:
        self.asked.append(("A", name))
        return self.inner.a(name)

    def txt(self, name: str) -> Deferred[list[bytes]]:
        self.asked.append(("TXT", name))
        if self.fail_txt:
            return defer.fail(DNSError(f"TXT {name}: server failure (SERVFAIL)", temporary=True))
        return self.inner.txt(name)

    def aaaa(self, name: str) -> Deferred[list[str]]:
        raise AssertionError("not asked")

    def mx(self, name: str) -> Deferred[list[tuple[int, str]]]:
        raise AssertionError("not asked")

    def ptr(self, address: str) -> Deferred[list[str]]:
        raise AssertionError("not asked")

    def exists(self, name: str) -> Deferred[bool]:
        raise AssertionError("not asked")


LISTED_99 = Listing("bl.test", ("127.0.0.2",), "listed: see http://bl.test/192.0.2.99")
ALLOWED_10 = Listing("wl.test", ("127.0.15.2",), "https://wl.test/192.0.2.10")


class DNSBLCheckerTests(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer(
            [BLOCK, REFUSING, ALLOW],
            servfail=["99.2.0.192.broken.test", "10.2.0.192.broken.test"],
            silent=["99.2.0.192.slow.test"],
        )
        address = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        resolver = client.Resolver(servers=[address], timeout=(0.5,), reactor=reactor)
        self.lookup = CountingLookup(TwistedLookup(resolver, reactor, timeout=2.0))
        self.clock = Clock()
        self.clock.advance(1000.0)

    def checker(
        self,
        zones: tuple[str, ...] = ("bl.test",),
        allow: tuple[str, ...] = ("wl.test",),
        **kwargs: Any,
    ) -> DNSBLChecker:
        return DNSBLChecker(self.lookup, zones, allow, self.clock, **kwargs)

    async def test_listed_with_reason(self) -> None:
        result = await self.checker().check("192.0.2.99")
        self.assertEqual(
            result,
            DNSBLResult(
                listed=(LISTED_99,),
                allowed=(),
                errors=("wl.test: query refused by the list (return code 127.0.0.255)",),
            ),
        )
        self.assertEqual(
            self.lookup.asked,
            [
                ("A", "99.2.0.192.bl.test"),
                ("A", "99.2.0.192.wl.test"),
                ("TXT", "99.2.0.192.bl.test"),
            ],
        )

    async def test_not_listed(self) -> None:
        result = await self.checker().check("192.0.2.1")
        self.assertEqual(result, DNSBLResult((), (), ()))
        self.assertEqual(
            self.lookup.asked, [("A", "1.2.0.192.bl.test"), ("A", "1.2.0.192.wl.test")]
        )

    async def test_allow_listed(self) -> None:
        result = await self.checker().check("192.0.2.10")
        self.assertEqual(result, DNSBLResult((), (ALLOWED_10,), ()))

    async def test_several_codes_and_no_txt(self) -> None:
        result = await self.checker(allow=()).check("192.0.2.98")
        self.assertEqual(
            result,
            DNSBLResult((Listing("bl.test", ("127.0.0.2", "127.0.0.4"), None),), (), ()),
        )

    async def test_reason_text_made_printable(self) -> None:
        result = await self.checker(allow=()).check("192.0.2.97")
        self.assertEqual(
            result.listed, (Listing("bl.test", ("127.0.0.2",), "caf?? bar baz; second"),)
        )
        result = await self.checker(allow=()).check("192.0.2.96")
        self.assertEqual(result.listed, (Listing("bl.test", ("127.0.0.2",), "x" * 252 + "..."),))

    async def test_ipv6(self) -> None:
        result = await self.checker().check(V6)
        self.assertEqual(
            result, DNSBLResult((Listing("bl.test", ("127.0.0.3",), "v6 listed"),), (), ())
        )
        self.assertEqual(self.lookup.asked[0], ("A", f"{V6_NAME}.bl.test"))

    async def test_ipv4_mapped_is_checked_as_ipv4(self) -> None:
        checker = self.checker(allow=())
        result = await checker.check("::ffff:192.0.2.99")
        self.assertEqual(result, DNSBLResult((LISTED_99,), (), ()))
        self.assertEqual(self.lookup.asked[0], ("A", "99.2.0.192.bl.test"))
        # one cache entry for both spellings
        self.assertIs(await checker.check("192.0.2.99"), result)
        self.assertEqual(len(self.lookup.asked), 2)

    async def test_answer_outside_loopback_ignored(self) -> None:
        checker = self.checker(allow=())
        self.assertEqual(
            await checker.check("192.0.2.77"),
            DNSBLResult(
                (), (), ("bl.test: answer 10.0.0.1 outside 127.0.0.0/8 ignored (RFC 5782 2.3)",)
            ),
        )
        self.assertEqual(
            await checker.check("192.0.2.76"),
            DNSBLResult(
                (Listing("bl.test", ("127.0.0.3",), None),),
                (),
                ("bl.test: answer 10.0.0.1 outside 127.0.0.0/8 ignored (RFC 5782 2.3)",),
            ),
        )

    async def test_refused_is_an_error_not_a_listing(self) -> None:
        checker = self.checker(zones=("refuse.test", "bl.test"), allow=())
        self.assertEqual(
            await checker.check("192.0.2.99"),
            DNSBLResult(
                (LISTED_99,),
                (),
                ("refuse.test: query refused by the list (return code 127.255.255.254)",),
            ),
        )
        self.assertEqual(
            await checker.check("192.0.2.98"),
            DNSBLResult(
                (
                    Listing("refuse.test", ("127.0.0.2",), None),
                    Listing("bl.test", ("127.0.0.2", "127.0.0.4"), None),
                ),
                (),
                ("refuse.test: query refused by the list (return code 127.255.255.255)",),
            ),
        )

    async def test_dnswl_refusal_does_not_allow(self) -> None:
        # 127.0.0.255 is only a refusal for allow lists
        self.assertEqual(
            await self.checker(zones=(), allow=("wl.test",)).check("192.0.2.11"),
            DNSBLResult((), (), ("wl.test: query refused by the list (return code 127.0.0.255)",)),
        )
        self.assertEqual(
            await self.checker(zones=("wl.test",), allow=()).check("192.0.2.11"),
            DNSBLResult((Listing("wl.test", ("127.0.0.255",), None),), (), ()),
        )

    async def test_servfail_is_an_error(self) -> None:
        checker = self.checker(zones=("broken.test", "bl.test"), allow=("wl.test", "broken.test"))
        self.assertEqual(
            await checker.check("192.0.2.10"),
            DNSBLResult(
                (),
                (ALLOWED_10,),
                (
                    "broken.test: A 10.2.0.192.broken.test: server failure (SERVFAIL)",
                    "broken.test: A 10.2.0.192.broken.test: server failure (SERVFAIL)",
                ),
            ),
        )

    async def test_timeout_is_an_error(self) -> None:
        result = await self.checker(zones=("slow.test", "bl.test"), allow=()).check("192.0.2.99")
        self.assertEqual(
            result,
            DNSBLResult((LISTED_99,), (), ("slow.test: A 99.2.0.192.slow.test: timed out",)),
        )

    async def test_txt_failure_keeps_the_listing(self) -> None:
        self.lookup.fail_txt = True
        result = await self.checker(allow=()).check("192.0.2.99")
        self.assertEqual(
            result,
            DNSBLResult(
                (Listing("bl.test", ("127.0.0.2",), None),),
                (),
                (
                    "bl.test: reason text (TXT) not available: "
                    "TXT 99.2.0.192.bl.test: server failure (SERVFAIL)",
                ),
            ),
        )

    async def test_not_an_address(self) -> None:
        result = await self.checker().check("mail.example.test")
        self.assertEqual(result, DNSBLResult((), (), ("not an IP address: 'mail.example.test'",)))
        self.assertEqual(self.lookup.asked, [])

    async def test_no_zones(self) -> None:
        result = await self.checker(zones=(), allow=()).check("192.0.2.99")
        self.assertEqual(result, DNSBLResult((), (), ()))
        self.assertEqual(self.lookup.asked, [])

    async def test_zone_names_normalised(self) -> None:
        checker = self.checker(zones=("BL.test.", "bl.test"), allow=())
        self.assertEqual(checker.zones, ("bl.test",))
        self.assertEqual(await checker.check("192.0.2.99"), DNSBLResult((LISTED_99,), (), ()))
        with self.assertRaises(ValueError):
            self.checker(zones=(".",))

    async def test_cache_hit_and_expiry(self) -> None:
        checker = self.checker()
        first = await checker.check("192.0.2.10")
        self.assertEqual(first, DNSBLResult((), (ALLOWED_10,), ()))
        self.assertEqual(len(self.lookup.asked), 3)  # A bl, A wl, TXT wl
        self.clock.advance(599.0)
        self.assertIs(await checker.check("192.0.2.10"), first)
        self.assertEqual(len(self.lookup.asked), 3)
        self.clock.advance(1.0)  # cache_ttl (600 s) over
        self.assertEqual(await checker.check("192.0.2.10"), first)
        self.assertEqual(len(self.lookup.asked), 6)

    async def test_negative_results_cached(self) -> None:
        checker = self.checker(cache_ttl=30.0)
        self.assertEqual(await checker.check("192.0.2.1"), DNSBLResult((), (), ()))
        self.clock.advance(29.0)
        self.assertEqual(await checker.check("192.0.2.1"), DNSBLResult((), (), ()))
        self.assertEqual(len(self.lookup.asked), 2)
        self.clock.advance(1.0)
        await checker.check("192.0.2.1")
        self.assertEqual(len(self.lookup.asked), 4)

    async def test_results_with_errors_cached_shorter(self) -> None:
        checker = self.checker(zones=("broken.test",), allow=())
        expected = DNSBLResult(
            (), (), ("broken.test: A 99.2.0.192.broken.test: server failure (SERVFAIL)",)
        )
        self.assertEqual(await checker.check("192.0.2.99"), expected)
        self.clock.advance(59.0)
        self.assertEqual(await checker.check("192.0.2.99"), expected)
        self.assertEqual(len(self.lookup.asked), 1)
        self.clock.advance(1.0)  # error_ttl (60 s) over
        self.assertEqual(await checker.check("192.0.2.99"), expected)
        self.assertEqual(len(self.lookup.asked), 2)

    async def test_cache_bounded(self) -> None:
        checker = self.checker(allow=(), max_entries=2)
        for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3"):
            await checker.check(ip)
        self.assertEqual(len(checker), 2)
        self.assertEqual(len(self.lookup.asked), 3)
        await checker.check("192.0.2.1")  # used recently: kept
        self.assertEqual(len(self.lookup.asked), 3)
        await checker.check("192.0.2.2")  # least recently used: dropped
        self.assertEqual(
            [name for _type, name in self.lookup.asked],
            ["1.2.0.192.bl.test", "2.2.0.192.bl.test", "3.2.0.192.bl.test", "2.2.0.192.bl.test"],
        )

    async def test_concurrent_checks_share_the_lookups(self) -> None:
        checker = self.checker()
        first, second = checker.check("192.0.2.99"), checker.check("192.0.2.99")
        self.assertNoResult(first)
        self.assertNoResult(second)
        results = await defer.gatherResults([first, second])
        self.assertIs(results[0], results[1])
        self.assertEqual(results[0].listed, (LISTED_99,))
        self.assertEqual(
            self.lookup.asked,
            [
                ("A", "99.2.0.192.bl.test"),
                ("A", "99.2.0.192.wl.test"),
                ("TXT", "99.2.0.192.bl.test"),
            ],
        )

    async def test_cancelling_one_caller_leaves_the_others(self) -> None:
        checker = self.checker()
        first, second = checker.check("192.0.2.10"), checker.check("192.0.2.10")
        first.cancel()
        self.failureResultOf(first, defer.CancelledError)
        self.assertEqual(await second, DNSBLResult((), (ALLOWED_10,), ()))
        self.assertEqual(len(self.lookup.asked), 3)
        self.assertEqual(len(checker), 1)


class BrokenLookup(CountingLookup):
    def a(self, name: str) -> Deferred[list[str]]:
        self.asked.append(("A", name))
        if name.startswith("1."):
            raise RuntimeError("synchronous bug")
        return defer.succeed(["127.0.0.2"])

    def txt(self, name: str) -> Deferred[list[bytes]]:
        return defer.succeed([b"why"])


class SynchronousLookupTests(unittest.SynchronousTestCase):
    def test_lookup_raising_is_an_error(self) -> None:
        lookup = BrokenLookup(cast(Lookup, None))
        checker = DNSBLChecker(lookup, ["bl.test"], [], Clock())
        self.assertEqual(
            self.successResultOf(checker.check("192.0.2.1")),
            DNSBLResult((), (), ("bl.test: RuntimeError: synchronous bug",)),
        )
        # answers available at once: the result is too
        self.assertEqual(
            self.successResultOf(checker.check("192.0.2.2")),
            DNSBLResult((Listing("bl.test", ("127.0.0.2",), "why"),), (), ()),
        )

    def test_invalid_parameters(self) -> None:
        with self.assertRaises(ValueError):
            DNSBLChecker(BrokenLookup(cast(Lookup, None)), [""], [], Clock())
        with self.assertRaises(ValueError):
            DNSBLChecker(BrokenLookup(cast(Lookup, None)), [], [], Clock(), max_entries=0)


class QueryNameTests(unittest.SynchronousTestCase):
    def test_ipv4(self) -> None:
        self.assertEqual(query_name("192.0.2.99", "bl.test"), "99.2.0.192.bl.test")
        self.assertEqual(query_name("192.0.2.99", "bl.test."), "99.2.0.192.bl.test")
        # RFC 5782 2.1's example
        self.assertEqual(
            query_name("192.168.42.23", "dnsxl.example.com"), "23.42.168.192.dnsxl.example.com"
        )

    def test_ipv6(self) -> None:
        # RFC 5782 2.4's example
        self.assertEqual(
            query_name("2001:db8:1:2:3:4:567:89ab", "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com",
        )
        self.assertEqual(query_name(V6, "bl.test"), f"{V6_NAME}.bl.test")
        self.assertEqual(query_name("::1", "z").count("."), 32)

    def test_ipv4_mapped(self) -> None:
        self.assertEqual(query_name("::ffff:192.0.2.99", "bl.test"), "99.2.0.192.bl.test")

    def test_invalid(self) -> None:
        for ip in ("example.test", "192.0.2.256", "192.0.2", "", "2001:db8::1::2", "1.2.3.4/32"):
            with self.assertRaises(ValueError) as caught:
                query_name(ip, "bl.test")
            self.assertEqual(str(caught.exception), f"not an IP address: {ip!r}")
        with self.assertRaises(ValueError):
            query_name("192.0.2.1", ".")
