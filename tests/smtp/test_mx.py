"""MX resolution (gateway.smtp.mx) against a real DNS server on loopback.

Every lookup goes to :class:`tests.dnszone.DNSTestServer` on 127.0.0.1
through ``resolver_from(DNSSettings(servers=...))``; nothing queries the
system resolver. The bad-host clock is a ``task.Clock``; the DNS traffic
runs on the real reactor.
"""

from __future__ import annotations

import random
import socket
import time
from typing import Any, cast

from twisted.internet import reactor as global_reactor
from twisted.internet import task
from twisted.internet.interfaces import IResolver
from twisted.internet.testing import MemoryReactorClock
from twisted.names import client, dns
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from gateway.config import DNSSettings
from gateway.errors import GatewayError
from gateway.smtp.mx import MXResolver, Target, resolver_from
from tests.dnszone import DNSTestServer, Zone, in_subprocess, run_in_thread, start_blackhole

reactor = cast(Any, global_reactor)

EXAMPLE = Zone(
    "example.test",
    {
        # Listed out of order on purpose.
        "@": [("MX", 20, "mx2"), ("MX", 10, "mx1"), ("MX", 30, "mx3")],
        "mx1": [("A", "127.0.0.11"), ("AAAA", "2001:db8::11")],
        "mx2": [("A", "127.0.0.12")],
        "mx3": [("AAAA", "2001:db8::13")],  # IPv6 only
        "equal": [
            ("MX", 20, "last"),
            *(("MX", 10, h) for h in ("a", "b", "c", "d", "e")),
            ("MX", 5, "first"),
        ],
        **{h: [("A", f"127.0.1.{i}")] for i, h in enumerate("abcde", 1)},
        "first": [("A", "127.0.1.10")],
        "last": [("A", "127.0.1.20")],
        "implicit": [("A", "127.0.0.21"), ("AAAA", "2001:db8::21")],
        "implicit6": [("AAAA", "2001:db8::22")],
        "nodata": [("TXT", "v=spf1 -all")],
        "null": [("MX", 0, ".")],
        "mixednull": [("MX", 0, "."), ("MX", 10, "mx2")],
        "alias": [("CNAME", "@")],  # the domain itself is a CNAME
        "aliasalias": [("CNAME", "alias")],
        "cnamemx": [("MX", 10, "mxalias")],
        "mxalias": [("CNAME", "mx1")],  # an MX host that is a CNAME
        "ext": [("MX", 10, "extmx")],
        "extmx": [("CNAME", "mail.other.test.")],  # ... into another zone
        "noaddr": [("MX", 10, "ghost"), ("MX", 20, "mx2")],
        "allghost": [("MX", 10, "ghost"), ("MX", 20, "ghost2")],
        "nodatamx": [("MX", 10, "nodata")],
        "dup": [("MX", 10, "mx2"), ("MX", 20, "mx2"), ("MX", 30, "implicit")],
        "shared": [("MX", 10, "mx2"), ("MX", 20, "mx2again")],
        "mx2again": [("A", "127.0.0.12")],
        "loop1": [("CNAME", "loop2")],
        "loop2": [("CNAME", "loop1")],
        **{f"long{i}": [("CNAME", f"long{i + 1}")] for i in range(9)},
        "long9": [("CNAME", "mx1")],  # 10 links: more than MAX_CNAME_CHAIN
        "slowmx": [("MX", 10, "slow")],
        "halfslow": [("MX", 10, "slow"), ("MX", 20, "mx2")],
        "brokenmx": [("MX", 10, "broken")],
    },
)
OTHER = Zone.from_text(
    """
    $ORIGIN other.test.
    $TTL 60
    mail    IN A    127.0.0.31
            IN AAAA 2001:db8::31
    """
)
SERVFAIL = ("servfail.example.test", "broken.example.test")
SILENT = ("silent.example.test", "slow.example.test")
TIMEOUT = 0.4  # seconds, for the tests that wait for one


def literal_only_resolver() -> IResolver:
    """A resolver that fails the test if it is asked anything."""

    class NoDNS:
        def query(self, *args: object, **kw: object) -> Any:
            raise AssertionError("address literals must not query DNS")

    return cast(IResolver, NoDNS())


class MXTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer([EXAMPLE, OTHER], servfail=SERVFAIL, silent=SILENT)
        self.address = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        self.clock = task.Clock()
        self.mx = self.resolver()

    def resolver(self, timeout: float = 2.0, **kw: Any) -> MXResolver:
        settings = DNSSettings(servers=(self.address,), timeout=timeout)
        return MXResolver(resolver_from(settings, reactor), self.clock, **kw)

    async def fails(self, domain: str, mx: MXResolver | None = None) -> GatewayError:
        try:
            targets = await (mx or self.mx).hosts(domain)
        except GatewayError as e:
            return e
        self.fail(f"{domain}: expected a GatewayError, got {targets}")

    # -- order -----------------------------------------------------------------

    async def test_preference_order_with_a_and_aaaa(self) -> None:
        targets = await self.mx.hosts("example.test")
        self.assertEqual(
            targets,
            [
                Target("mx1.example.test", "127.0.0.11", 25, 10),
                Target("mx1.example.test", "2001:db8::11", 25, 10),
                Target("mx2.example.test", "127.0.0.12", 25, 20),
                Target("mx3.example.test", "2001:db8::13", 25, 30),
            ],
        )

    async def test_domain_is_case_insensitive_and_may_end_with_a_dot(self) -> None:
        targets = await self.mx.hosts("Example.TEST.")
        self.assertEqual([t.address for t in targets][:1], ["127.0.0.11"])

    async def test_equal_preferences_shuffled_with_the_injected_random(self) -> None:
        equal = [f"{h}.example.test" for h in "abcde"]
        orders = set()
        for seed in range(8):
            mx = self.resolver(rng=random.Random(seed))
            targets = await mx.hosts("equal.example.test")
            hosts = [t.host for t in targets]
            self.assertEqual(hosts[0], "first.example.test")
            self.assertEqual(hosts[-1], "last.example.test")
            self.assertEqual(sorted(hosts[1:-1]), equal)
            self.assertEqual({t.preference for t in targets[1:-1]}, {10})
            # The same seed gives the same order: the group is shuffled once,
            # starting from name order.
            expected = list(equal)
            random.Random(seed).shuffle(expected)
            self.assertEqual(hosts[1:-1], expected)
            orders.add(tuple(hosts))
        self.assertGreater(len(orders), 1)

    async def test_a_host_listed_twice_is_kept_at_its_best_place(self) -> None:
        targets = await self.mx.hosts("dup.example.test")
        self.assertEqual(
            [(t.host, t.address, t.preference) for t in targets],
            [
                ("mx2.example.test", "127.0.0.12", 10),
                ("implicit.example.test", "127.0.0.21", 30),
                ("implicit.example.test", "2001:db8::21", 30),
            ],
        )

    async def test_an_address_reached_twice_is_tried_once(self) -> None:
        targets = await self.mx.hosts("shared.example.test")
        self.assertEqual(targets, [Target("mx2.example.test", "127.0.0.12", 25, 10)])

    # -- implicit MX, null MX, NXDOMAIN, NODATA -----------------------------------

    async def test_no_mx_falls_back_to_a_and_aaaa(self) -> None:
        self.assertEqual(
            await self.mx.hosts("implicit.example.test"),
            [
                Target("implicit.example.test", "127.0.0.21", 25, 0),
                Target("implicit.example.test", "2001:db8::21", 25, 0),
            ],
        )
        self.assertEqual(
            await self.mx.hosts("implicit6.example.test"),
            [Target("implicit6.example.test", "2001:db8::22", 25, 0)],
        )

    async def test_null_mx_is_a_permanent_failure(self) -> None:
        e = await self.fails("null.example.test")
        self.assertEqual((e.code, e.status), (556, "5.1.10"))
        self.assertFalse(e.temporary)
        self.assertIn("null MX", e.text)

    async def test_null_mx_beside_real_ones_is_ignored(self) -> None:
        self.assertEqual(
            await self.mx.hosts("mixednull.example.test"),
            [Target("mx2.example.test", "127.0.0.12", 25, 10)],
        )

    async def test_nxdomain(self) -> None:
        for domain in ("nosuch.example.test", "nosuch.invalid"):
            e = await self.fails(domain)
            self.assertEqual((e.code, e.status), (550, "5.1.2"), domain)
            self.assertIn("domain does not exist", e.text)

    async def test_nodata_for_mx_and_addresses(self) -> None:
        e = await self.fails("nodata.example.test")
        self.assertEqual((e.code, e.status), (550, "5.4.4"))
        self.assertIn("no MX and no address records", e.text)

    # -- CNAME -----------------------------------------------------------------

    async def test_domain_cname_is_followed_to_its_mx(self) -> None:
        want = await self.mx.hosts("example.test")
        self.assertEqual(await self.mx.hosts("alias.example.test"), want)
        self.assertEqual(await self.mx.hosts("aliasalias.example.test"), want)

    async def test_mx_host_that_is_a_cname(self) -> None:
        self.assertEqual(
            await self.mx.hosts("cnamemx.example.test"),
            [
                Target("mxalias.example.test", "127.0.0.11", 25, 10),
                Target("mxalias.example.test", "2001:db8::11", 25, 10),
            ],
        )

    async def test_cname_into_another_zone(self) -> None:
        self.assertEqual(
            await self.mx.hosts("ext.example.test"),
            [
                Target("extmx.example.test", "127.0.0.31", 25, 10),
                Target("extmx.example.test", "2001:db8::31", 25, 10),
            ],
        )

    async def test_cname_loop_is_temporary(self) -> None:
        e = await self.fails("loop1.example.test")
        self.assertEqual((e.code, e.status), (451, "4.4.3"))
        self.assertIn("CNAME loop", e.text)

    async def test_cname_chain_is_bounded(self) -> None:
        self.assertEqual(
            [t.address for t in await self.mx.hosts("long2.example.test")],
            ["127.0.0.11", "2001:db8::11"],  # 8 links
        )
        e = await self.fails("long0.example.test")
        self.assertEqual((e.code, e.status), (451, "4.4.3"))
        self.assertIn("longer than 8", e.text)

    # -- MX hosts without addresses ------------------------------------------------

    async def test_mx_host_without_address_is_skipped(self) -> None:
        self.assertEqual(
            await self.mx.hosts("noaddr.example.test"),
            [Target("mx2.example.test", "127.0.0.12", 25, 20)],
        )

    async def test_no_mx_host_with_an_address_is_deferred(self) -> None:
        for domain in ("allghost.example.test", "nodatamx.example.test"):
            e = await self.fails(domain)
            self.assertEqual((e.code, e.status), (451, "4.4.4"), domain)
            self.assertTrue(e.temporary)

    # -- temporary failures ----------------------------------------------------------

    async def test_servfail(self) -> None:
        e = await self.fails("servfail.example.test")
        self.assertEqual((e.code, e.status), (451, "4.4.3"))
        self.assertIn("SERVFAIL", e.text)
        e = await self.fails("brokenmx.example.test")  # the MX host's lookups fail
        self.assertEqual((e.code, e.status), (451, "4.4.3"))
        self.assertIn("broken.example.test", e.text)

    async def test_timeout_within_the_configured_time(self) -> None:
        mx = self.resolver(timeout=TIMEOUT)
        for domain in ("silent.example.test", "slowmx.example.test"):
            started = time.monotonic()
            e = await self.fails(domain, mx)
            elapsed = time.monotonic() - started
            self.assertEqual((e.code, e.status), (451, "4.4.3"), domain)
            self.assertIn("timed out", e.text)
            self.assertGreaterEqual(elapsed, TIMEOUT * 0.9)
            self.assertLess(elapsed, TIMEOUT * 2 + 0.5)  # MX, then A/AAAA in parallel

    async def test_a_slow_mx_host_is_skipped_when_another_answers(self) -> None:
        mx = self.resolver(timeout=TIMEOUT)
        self.assertEqual(
            await mx.hosts("halfslow.example.test"),
            [Target("mx2.example.test", "127.0.0.12", 25, 20)],
        )

    async def test_a_server_that_never_answers(self) -> None:
        port, number = start_blackhole(reactor)
        self.addCleanup(port.stopListening)
        settings = DNSSettings(servers=(("127.0.0.1", number),), timeout=TIMEOUT)
        mx = MXResolver(resolver_from(settings, reactor), self.clock)
        started = time.monotonic()
        e = await self.fails("example.test", mx)
        self.assertLess(time.monotonic() - started, TIMEOUT + 0.5)
        self.assertEqual((e.code, e.status), (451, "4.4.3"))

    # -- bad hosts --------------------------------------------------------------------

    async def test_bad_host_is_listed_last_until_it_expires(self) -> None:
        mx = self.resolver(bad_host_ttl=600)
        good = [t.address for t in await mx.hosts("example.test")]
        self.assertEqual(good[0], "127.0.0.11")
        mx.mark_bad("127.0.0.11")
        self.assertTrue(mx.is_bad("127.0.0.11"))
        self.assertEqual([t.address for t in await mx.hosts("example.test")], [*good[1:], good[0]])
        self.clock.advance(599)
        self.assertEqual([t.address for t in await mx.hosts("example.test")], [*good[1:], good[0]])
        self.clock.advance(1)
        self.assertFalse(mx.is_bad("127.0.0.11"))
        self.assertEqual([t.address for t in await mx.hosts("example.test")], good)

    async def test_only_bad_hosts_are_still_tried_in_order(self) -> None:
        good = [t.address for t in await self.mx.hosts("example.test")]
        for address in reversed(good):
            self.mx.mark_bad(address)
        self.mx.mark_bad("2001:0db8:0:0::13")  # the same address, written otherwise
        self.assertEqual([t.address for t in await self.mx.hosts("example.test")], good)
        self.assertTrue(self.mx.is_bad("2001:db8::13"))

    # -- the resolver itself ---------------------------------------------------------

    async def test_tcp_answers_too(self) -> None:
        resolver = client.Resolver(servers=[self.address], reactor=reactor)
        message = await resolver.queryTCP([dns.Query("example.test", dns.MX)])
        self.assertEqual(len(message.answers), 3)
        self.assertTrue(message.auth)
        # The client keeps its connection open: close it and see both ends go.
        for connection in resolver.connections:
            connection.transport.loseConnection()
        for _ in range(200):
            if not resolver.connections and not self.server.factory.connections:
                break
            await task.deferLater(reactor, 0.01)
        self.assertEqual((resolver.connections, self.server.factory.connections), ([], []))


class AddressLiteralTests(unittest.SynchronousTestCase):
    def setUp(self) -> None:
        self.mx = MXResolver(literal_only_resolver(), task.Clock())

    def test_ipv4_and_ipv6_literals_bypass_dns(self) -> None:
        for literal, address in (
            ("[192.0.2.1]", "192.0.2.1"),
            ("[IPv6:2001:db8::1]", "2001:db8::1"),
            ("[ipv6:2001:DB8:0::1]", "2001:db8::1"),
            ("[IPv6:::ffff:192.0.2.1]", "::ffff:c000:201"),
        ):
            self.assertEqual(
                self.successResultOf(self.mx.hosts(literal)), [Target(literal, address, 25, 0)]
            )

    def test_bad_literals_and_names(self) -> None:
        for bad in (
            "[192.0.2.256]",
            "[192.0.2.1",
            "[2001:db8::1]",  # needs the IPv6: tag
            "[IPv6:192.0.2.1]",
            "[IPv6:fe80::1%eth0]",
            "[x-tag:whatever]",
            "a..b.test",
            "",
            "x" * 64 + ".test",
        ):
            e = self.failureResultOf(self.mx.hosts(bad), GatewayError).value
            self.assertEqual((e.code, e.status), (550, "5.1.2"), bad)


class ResolverFromTests(unittest.SynchronousTestCase):
    def test_configured_servers_only(self) -> None:
        settings = DNSSettings(servers=(("127.0.0.1", 5353), ("::1", 53)), timeout=2.5)
        resolver = resolver_from(settings, MemoryReactorClock())
        verifyObject(IResolver, resolver)
        r = cast(Any, resolver)
        self.assertIsInstance(r, client.Resolver)
        self.assertEqual(r.servers, [("127.0.0.1", 5353), ("::1", 53)])
        self.assertIsNone(r.resolv)  # /etc/resolv.conf is not read
        self.assertEqual(tuple(r.dynServers), ())
        self.assertEqual(r.timeout, (2.5,))

    def test_system_resolver_when_none_configured(self) -> None:
        memory = MemoryReactorClock()  # built only, never asked
        resolver = resolver_from(DNSSettings(timeout=3.0), memory)
        verifyObject(IResolver, resolver)
        system = cast(Any, resolver).resolvers[-1]
        self.assertEqual(system.resolv, b"/etc/resolv.conf")
        self.assertEqual(system.timeout, (3.0,))


def raw_query(address: tuple[str, int], name: str, qtype: int) -> dns.Message:
    """One blocking UDP query to a test server (for the non-reactor modes)."""
    message = dns.Message(id=4242, recDes=1)
    message.queries = [dns.Query(name, qtype)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(message.toStr(), address)
        answer = dns.Message()
        answer.fromStr(s.recv(65535))
    return answer


class ZoneHelperTests(unittest.SynchronousTestCase):
    """tests/dnszone.py outside the trial reactor."""

    def test_zone_text_round_trip(self) -> None:
        text = EXAMPLE.to_text()
        self.assertEqual(Zone.from_text(text).records, EXAMPLE.records)
        zone = Zone.from_text('@ 120 IN TXT "v=DKIM1; k=rsa" "p=\\"x\\""\n', origin="k.test")
        (record,) = zone.records
        self.assertEqual(
            (record.owner, record.ttl, record.type, record.data),
            ("k.test", 120, "TXT", ("v=DKIM1; k=rsa", 'p="x"')),
        )

    def test_run_in_thread_answers_nxdomain_nodata_and_txt(self) -> None:
        with run_in_thread([EXAMPLE]) as address:
            nx = raw_query(address, "nosuch.example.test", dns.A)
            self.assertEqual(nx.rCode, dns.ENAME)
            self.assertTrue(nx.auth)
            self.assertEqual([rr.type for rr in nx.authority], [dns.SOA])
            nodata = raw_query(address, "nodata.example.test", dns.MX)
            self.assertEqual((nodata.rCode, nodata.answers), (dns.OK, []))
            self.assertEqual([rr.type for rr in nodata.authority], [dns.SOA])
            txt = raw_query(address, "nodata.example.test", dns.TXT)
            self.assertEqual(txt.answers[0].payload.data, [b"v=spf1 -all"])

    def test_subprocess_mode(self) -> None:
        with in_subprocess([OTHER]) as address:
            answer = raw_query(address, "mail.other.test", dns.AAAA)
            self.assertEqual(
                [socket.inet_ntop(socket.AF_INET6, rr.payload.address) for rr in answer.answers],
                ["2001:db8::31"],
            )
