"""gateway.authn.spf: macros and parsing (pure), then check_host() against
zones served by tests.dnszone on loopback."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from twisted.internet import reactor as global_reactor
from twisted.internet import task
from twisted.names import client
from twisted.trial import unittest

from gateway.authn.dns import TwistedLookup
from gateway.authn.results import authentication_results
from gateway.authn.spf import (
    MacroContext,
    SPFResult,
    SPFSyntaxError,
    check_helo,
    check_host,
    check_mailfrom,
    expand,
    method,
    parse_domain_spec,
    parse_macro_string,
    parse_record,
    received_spf_header,
)
from tests.dnszone import DNSTestServer, Zone

reactor = cast(Any, global_reactor)


# ---------------------------------------------------------------------------
# Macros: RFC 7208 7.4, verbatim


def rfc_context(ip: str = "192.0.2.3") -> MacroContext:
    return MacroContext(
        sender="strong-bad@email.example.com",
        local="strong-bad",
        sender_domain="email.example.com",
        domain="email.example.com",
        ip=ipaddress.ip_address(ip),
        helo="mx.example.org",
        receiver="example.net",
        timestamp=1234567890,
        p="mx.example.org",
    )


def x(macro_string: str, ip: str = "192.0.2.3", *, explanation: bool = False) -> str:
    return expand(parse_macro_string(macro_string, explanation=explanation), rfc_context(ip))


class RFC7208MacroExamples(unittest.SynchronousTestCase):
    """RFC 7208 7.4 (sender strong-bad@email.example.com, IPv4 192.0.2.3,
    IPv6 2001:db8::cb01, PTR name mx.example.org)."""

    def test_single_macros(self) -> None:
        examples = {
            "%{s}": "strong-bad@email.example.com",
            "%{o}": "email.example.com",
            "%{d}": "email.example.com",
            "%{d4}": "email.example.com",
            "%{d3}": "email.example.com",
            "%{d2}": "example.com",
            "%{d1}": "com",
            "%{dr}": "com.example.email",
            "%{d2r}": "example.email",
            "%{l}": "strong-bad",
            "%{l-}": "strong.bad",
            "%{lr}": "strong-bad",
            "%{lr-}": "bad.strong",
            "%{l1r-}": "strong",
        }
        for macro, expansion in examples.items():
            self.assertEqual(x(macro), expansion, macro)

    def test_macro_strings(self) -> None:
        examples = {
            "%{ir}.%{v}._spf.%{d2}": "3.2.0.192.in-addr._spf.example.com",
            "%{lr-}.lp._spf.%{d2}": "bad.strong.lp._spf.example.com",
            "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}": (
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"
            ),
            "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}": ("3.2.0.192.in-addr.strong.lp._spf.example.com"),
            "%{d2}.trusted-domains.example.net": "example.com.trusted-domains.example.net",
        }
        for macro, expansion in examples.items():
            self.assertEqual(x(macro), expansion, macro)

    def test_ipv6(self) -> None:
        self.assertEqual(
            x("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
        )


class MacroTests(unittest.SynchronousTestCase):
    def test_escapes(self) -> None:
        self.assertEqual(x("a%%b%_c%-d"), "a%b c%20d")

    def test_upper_case_is_url_escaped(self) -> None:
        ctx = MacroContext(
            "~jack&jill=up-a_b3.c@x.test",
            "~jack&jill=up-a_b3.c",
            "x.test",
            "x.test",
            ipaddress.ip_address("192.0.2.1"),
            "h.test",
        )
        self.assertEqual(expand(parse_macro_string("l=%{L}"), ctx), "l=~jack%26jill%3Dup-a_b3.c")

    def test_exp_only_letters(self) -> None:
        self.assertEqual(
            x("%{c} %{r} %{t}", "2001:db8::cb01", explanation=True),
            "2001:db8::cb01 example.net 1234567890",
        )
        for letter in "crt":
            with self.assertRaises(SPFSyntaxError):
                parse_macro_string(f"%{{{letter}}}.example.com")

    def test_multiple_delimiters(self) -> None:
        ctx = MacroContext(
            "foo-bar+zip+quux@x.test",
            "foo-bar+zip+quux",
            "x.test",
            "x.test",
            ipaddress.ip_address("192.0.2.1"),
            "h.test",
        )
        self.assertEqual(expand(parse_macro_string("%{l2r+-}"), ctx), "bar.foo")

    def test_syntax_errors(self) -> None:
        for bad in ("%", "%x", "%{x}", "%{d0}", "%(ir)", "%{d", "a b", "é", "a\x00"):
            with self.assertRaises(SPFSyntaxError, msg=bad):
                parse_macro_string(bad)

    def test_domain_end(self) -> None:
        for good in ("example.com", "example.com.", "%{d}", "a.%{d}", "foo.xn--zckzah", "x.1a"):
            parse_domain_spec(good)
        for bad in (
            "",
            "foo-bar",
            "abc.123",
            "example.-com",
            "museum",
            "example.com:8080",
            "%{d}.",
            "1.2.3.4",
        ):
            with self.assertRaises(SPFSyntaxError, msg=bad):
                parse_domain_spec(bad)


# ---------------------------------------------------------------------------
# Parsing records


class ParseTests(unittest.SynchronousTestCase):
    def test_terms(self) -> None:
        record = parse_record(
            "v=spf1 a mx/24 ptr:Example.com ip4:192.0.2.0/24 ip6:2001:db8::/32 "
            "a:x.example.com/24//64 ~include:i.example.com ?exists:%{i}.e.example.com "
            "-all exp=exp.example.com redirect=r.example.com foo=bar"
        )
        kinds = [(d.qualifier, d.mechanism) for d in record.directives]
        self.assertEqual(
            kinds,
            [
                ("+", "a"),
                ("+", "mx"),
                ("+", "ptr"),
                ("+", "ip4"),
                ("+", "ip6"),
                ("+", "a"),
                ("~", "include"),
                ("?", "exists"),
                ("-", "all"),
            ],
        )
        self.assertEqual(record.directives[1].cidr4, 24)
        self.assertEqual((record.directives[5].cidr4, record.directives[5].cidr6), (24, 64))
        self.assertEqual(str(record.directives[4].network), "2001:db8::/32")
        self.assertIsNotNone(record.exp)
        self.assertIsNotNone(record.redirect)
        self.assertEqual([name for name, _ in record.unknown], ["foo"])

    def test_errors_name_the_position(self) -> None:
        cases = {
            "v=spf1 ip4:1.2.3.4 -all moo": 25,
            "v=spf1 -all.": 8,
            "v=spf1 a/33": 8,
            "v=spf1 a//129": 8,
            "v=spf1 a/24/64": 8,
            "v=spf1 ptr/0": 8,
            "v=spf1 include": 8,
            "v=spf1 include:": 16,
            "v=spf1 ip4:1.2.3": 8,
            "v=spf1 ip4:01.2.3.4": 8,
            "v=spf1 ip6:fe80::1%eth0": 8,
            "v=spf1 exp=a.example exp=b.example": 22,
            "v=spf1 redirect:x.example": 8,
            "v=spf1 1up=foo": 8,
            "v=spf1 =all": 8,
            "v=spf1 foo=%abc": 12,
            "v=spf1 a:ctrl.example.com\rptr": 26,
        }
        for text, position in cases.items():
            with self.assertRaises(SPFSyntaxError, msg=text) as caught:
                parse_record(text)
            self.assertEqual(caught.exception.position, position, text)
            self.assertIn(f"position {position}", str(caught.exception))

    def test_case_and_spaces(self) -> None:
        self.assertEqual(len(parse_record("V=SpF1  A   -ALL ").directives), 2)
        with self.assertRaises(SPFSyntaxError):
            parse_record("v=spf10")


# ---------------------------------------------------------------------------
# check_host() against a loopback zone

SPF = Zone(
    "spf.test",
    {
        "mail": [("A", "192.0.2.10"), ("AAAA", "2001:db8::10")],
        "mail2": [("A", "192.0.2.20")],
        "all-pass": [("TXT", "v=spf1 +all")],
        "all-fail": [("TXT", "v=spf1 -all")],
        "softfail": [("TXT", "v=spf1 ~all")],
        "neutral": [("TXT", "v=spf1 ?all")],
        "default": [("TXT", "v=spf1 ip4:198.51.100.1")],
        "nospf": [("TXT", "hello")],
        "two": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 +all")],
        "syntax": [("TXT", "v=spf1 ip4:192.0.2.10 -all moo")],
        "ip4": [("TXT", "v=spf1 ip4:192.0.2.0/28 -all")],
        "ip6": [("TXT", "v=spf1 ip6:2001:db8::/64 -all")],
        "a": [("TXT", "v=spf1 a:mail.spf.test -all")],
        "a-cidr": [("TXT", "v=spf1 a:mail2.spf.test/24 -all")],
        "a-own": [("TXT", "v=spf1 a -all"), ("A", "192.0.2.30")],
        "mx": [("TXT", "v=spf1 mx -all"), ("MX", 10, "mail"), ("MX", 20, "mail2")],
        "mx-null": [("TXT", "v=spf1 mx -all"), ("MX", 0, ".")],
        "mx-many": [
            ("TXT", "v=spf1 mx -all"),
            *(("MX", i, f"mx{i}") for i in range(11)),
        ],
        "ptr": [("TXT", "v=spf1 ptr -all")],
        "ptr-other": [("TXT", "v=spf1 ptr:elsewhere.test -all")],
        "host.ptr": [("A", "192.0.2.40")],
        "40.2.0.192.in-addr.arpa.": [("PTR", "host.ptr.spf.test.")],
        "41.2.0.192.in-addr.arpa.": [("PTR", "host.ptr.spf.test.")],  # does not validate
        "exists": [("TXT", "v=spf1 exists:%{ir}.list.spf.test -all")],
        "10.2.0.192.list": [("A", "127.0.0.2")],
        "include": [("TXT", "v=spf1 include:ip4.spf.test ~all")],
        "include-none": [("TXT", "v=spf1 include:nospf.spf.test ~all")],
        "include-temp": [("TXT", "v=spf1 include:broken.spf.test ~all")],
        "include-perm": [("TXT", "v=spf1 include:syntax.spf.test ~all")],
        "redirect": [("TXT", "v=spf1 redirect=ip4.spf.test")],
        "redirect-none": [("TXT", "v=spf1 redirect=nospf.spf.test")],
        "exp": [("TXT", "v=spf1 -all exp=why.spf.test")],
        "why": [("TXT", "%{i} is not one of %{d}'s designated mail servers.")],
        "a-broken": [("TXT", "v=spf1 a:broken.spf.test -all")],
        "a-slow": [("TXT", "v=spf1 a:slow.spf.test -all")],
        "ten": [("TXT", "v=spf1 " + "a " * 10 + "-all"), ("A", "192.0.2.77")],
        "eleven": [("TXT", "v=spf1 " + "a " * 11 + "-all"), ("A", "192.0.2.77")],
        "inc-chain": [("TXT", "v=spf1 include:ten.spf.test -all")],
        "voids2": [("TXT", "v=spf1 a:n1.spf.test a:n2.spf.test ?all")],
        "voids3": [("TXT", "v=spf1 a:n1.spf.test a:n2.spf.test a:n3.spf.test ?all")],
        "loop": [("TXT", "v=spf1 include:loop.spf.test -all")],
        "helo": [("TXT", "v=spf1 a -all"), ("A", "192.0.2.50")],
    },
)


class CheckHostTests(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer([SPF], servfail=["broken.spf.test"], silent=["slow.spf.test"])
        address = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        resolver = client.Resolver(servers=[address], timeout=(0.5,), reactor=reactor)
        self.lookup = TwistedLookup(resolver, reactor, timeout=2.0)
        self.clock = task.Clock()

    async def check(self, domain: str, ip: str = "192.0.2.10", **kw: Any) -> SPFResult:
        return await check_host(
            ip,
            f"{domain}.spf.test",
            f"user@{domain}.spf.test",
            "client.test",
            self.lookup,
            receiver="mx.receiver.test",
            clock=self.clock,
            **kw,
        )

    async def assertResult(self, domain: str, result: str, ip: str = "192.0.2.10") -> SPFResult:
        outcome = await self.check(domain, ip)
        self.assertEqual(outcome.result, result, f"{domain} {ip}: {outcome}")
        return outcome

    async def test_all_qualifiers(self) -> None:
        self.assertEqual((await self.assertResult("all-pass", "pass")).mechanism, "+all")
        self.assertEqual((await self.assertResult("all-fail", "fail")).mechanism, "-all")
        await self.assertResult("softfail", "softfail")
        await self.assertResult("neutral", "neutral")
        self.assertIsNone((await self.assertResult("default", "neutral")).mechanism)

    async def test_record_selection(self) -> None:
        await self.assertResult("nospf", "none")
        await self.assertResult("nothere", "none")
        outcome = await self.assertResult("two", "permerror")
        self.assertIn("2 v=spf1 records", outcome.problem or "")
        outcome = await self.assertResult("syntax", "permerror")
        self.assertIn("position 28", outcome.problem or "")

    async def test_invalid_domain_is_none(self) -> None:
        for domain in ("single", "a..b", "[192.0.2.1]", "x" * 64 + ".test"):
            outcome = await check_host(
                "192.0.2.1",
                domain,
                f"u@{domain}",
                "h",
                self.lookup,
                receiver="r.test",
                clock=self.clock,
            )
            self.assertEqual(outcome.result, "none", domain)

    async def test_ip4_ip6(self) -> None:
        await self.assertResult("ip4", "pass", "192.0.2.15")
        await self.assertResult("ip4", "fail", "192.0.2.16")
        await self.assertResult("ip4", "pass", "::ffff:192.0.2.15")  # IPv4-mapped
        await self.assertResult("ip6", "pass", "2001:db8::99")
        await self.assertResult("ip6", "fail", "2001:db8:1::1")
        await self.assertResult("ip6", "fail", "192.0.2.15")

    async def test_a(self) -> None:
        await self.assertResult("a", "pass")
        await self.assertResult("a", "pass", "2001:db8::10")
        await self.assertResult("a", "fail", "192.0.2.11")
        await self.assertResult("a-cidr", "pass", "192.0.2.200")
        await self.assertResult("a-own", "pass", "192.0.2.30")

    async def test_mx(self) -> None:
        await self.assertResult("mx", "pass", "192.0.2.10")
        await self.assertResult("mx", "pass", "192.0.2.20")
        await self.assertResult("mx", "fail", "192.0.2.21")
        await self.assertResult("mx-null", "fail")
        outcome = await self.assertResult("mx-many", "permerror")
        self.assertIn("more than 10 MX", outcome.problem or "")

    async def test_ptr(self) -> None:
        # host.ptr.spf.test validates (its A is the client) and is under ptr.spf.test
        await self.assertResult("ptr", "pass", "192.0.2.40")
        await self.assertResult("ptr", "fail", "192.0.2.41")  # name does not validate
        await self.assertResult("ptr-other", "fail", "192.0.2.40")
        await self.assertResult("ptr", "fail", "192.0.2.99")  # no PTR at all

    async def test_exists(self) -> None:
        await self.assertResult("exists", "pass", "192.0.2.10")
        await self.assertResult("exists", "fail", "192.0.2.11")

    async def test_include(self) -> None:
        await self.assertResult("include", "pass", "192.0.2.1")
        await self.assertResult("include", "softfail", "198.51.100.1")
        await self.assertResult("include-none", "permerror")
        await self.assertResult("include-temp", "temperror")
        await self.assertResult("include-perm", "permerror")

    async def test_redirect(self) -> None:
        outcome = await self.assertResult("redirect", "pass", "192.0.2.1")
        self.assertEqual(outcome.mechanism, "ip4:192.0.2.0/28")
        await self.assertResult("redirect", "fail", "198.51.100.1")
        await self.assertResult("redirect-none", "permerror")

    async def test_exp(self) -> None:
        outcome = await self.assertResult("exp", "fail")
        self.assertEqual(
            outcome.explanation,
            "192.0.2.10 is not one of exp.spf.test's designated mail servers.",
        )
        outcome = await self.check("all-fail", default_explanation="%{d} says no")
        self.assertEqual(outcome.explanation, "all-fail.spf.test says no")
        self.assertIsNone((await self.check("all-pass")).explanation)

    async def test_dns_failures_are_temperror(self) -> None:
        outcome = await self.assertResult("a-broken", "temperror")
        self.assertIn("SERVFAIL", outcome.problem or "")
        outcome = await self.assertResult("a-slow", "temperror")
        self.assertIn("timed out", outcome.problem or "")
        await self.assertResult("broken", "temperror")

    async def test_dns_term_limit(self) -> None:
        await self.assertResult("ten", "fail", "192.0.2.99")  # 10 terms: fine
        outcome = await self.assertResult("eleven", "permerror", "192.0.2.99")
        self.assertIn("more than 10", outcome.problem or "")
        await self.assertResult("inc-chain", "permerror", "192.0.2.99")  # 1 + 10
        await self.assertResult("loop", "permerror")

    async def test_void_limit(self) -> None:
        await self.assertResult("voids2", "neutral")
        outcome = await self.assertResult("voids3", "permerror")
        self.assertIn("void", outcome.problem or "")

    async def test_helo_and_mailfrom(self) -> None:
        outcome = await check_helo(
            "192.0.2.50", "helo.spf.test", self.lookup, receiver="r.test", clock=self.clock
        )
        self.assertEqual((outcome.result, outcome.identity), ("pass", "helo"))
        self.assertEqual(outcome.sender, "postmaster@helo.spf.test")
        outcome = await check_mailfrom(
            "192.0.2.50", "", "helo.spf.test", self.lookup, receiver="r.test", clock=self.clock
        )
        self.assertEqual((outcome.result, outcome.identity), ("pass", "helo"))
        outcome = await check_mailfrom(
            "192.0.2.1",
            "@ip4.spf.test",
            "h.test",
            self.lookup,
            receiver="r.test",
            clock=self.clock,
        )
        self.assertEqual((outcome.result, outcome.sender), ("pass", "postmaster@ip4.spf.test"))


# ---------------------------------------------------------------------------
# Header fields


class HeaderTests(unittest.SynchronousTestCase):
    def result(self, **kw: Any) -> SPFResult:
        fields: dict[str, Any] = dict(
            result="pass",
            ip="192.0.2.1",
            domain="example.com",
            sender="myname@example.com",
            helo="foo.example.com",
            receiver="mybox.example.org",
            mechanism="ip4:192.0.2.0/24",
        )
        fields.update(kw)
        return SPFResult(**fields)

    def test_received_spf(self) -> None:
        self.assertEqual(
            received_spf_header(self.result()),
            "pass (mybox.example.org: domain of myname@example.com designates 192.0.2.1 as"
            ' permitted sender) client-ip=192.0.2.1; envelope-from="myname@example.com";'
            " helo=foo.example.com; receiver=mybox.example.org; identity=mailfrom;"
            ' mechanism="ip4:192.0.2.0/24";',
        )

    def test_received_spf_problem_quoted(self) -> None:
        header = received_spf_header(
            self.result(
                result="permerror",
                ip="2001:db8::1",
                mechanism=None,
                problem='syntax "bad" (at position 3)',
            )
        )
        self.assertTrue(header.startswith("permerror (mybox.example.org: error in "))
        self.assertIn('client-ip="2001:db8::1";', header)
        self.assertIn('problem="syntax \\"bad\\" (at position 3)";', header)

    def test_authentication_results(self) -> None:
        def field(result: SPFResult) -> str:
            return " ".join(
                authentication_results("mx.test", [method(result)]).split()
            )  # unfolded

        self.assertEqual(
            field(self.result()), "mx.test; spf=pass smtp.mailfrom=myname@example.com"
        )
        self.assertEqual(
            field(self.result(identity="helo", result="none")),
            "mx.test; spf=none smtp.helo=foo.example.com",
        )
        self.assertEqual(  # not a token: quoted (RFC 8601 2.2 pvalue, RFC 2045 value)
            field(self.result(sender="Macro Error@example.com", result="fail")),
            'mx.test; spf=fail smtp.mailfrom="Macro Error@example.com"',
        )
        self.assertEqual(
            field(self.result(result="temperror", problem="TXT x: timed out")),
            'mx.test; spf=temperror reason="TXT x: timed out" smtp.mailfrom=myname@example.com',
        )
