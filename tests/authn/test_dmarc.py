"""DMARC (gateway.authn.dmarc, RFC 7489).

The pure parts (organisational domain, alignment, record parsing, From
domains) are table-driven; discovery and evaluation ask the records of
:class:`tests.dnszone.DNSTestServer` on 127.0.0.1 through
:class:`gateway.authn.dns.TwistedLookup`. Nothing queries the system
resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import reactor as global_reactor
from twisted.internet.defer import Deferred
from twisted.trial import unittest

from gateway.authn.dmarc import (
    DKIMOutcome,
    DMARCRecord,
    DMARCRecordError,
    DMARCResult,
    SPFOutcome,
    aligned,
    evaluate,
    from_domains,
    is_dmarc_record,
    organisational_domain,
    parse_record,
)
from gateway.authn.dns import Lookup, TwistedLookup
from gateway.authn.results import authentication_results
from gateway.config import DNSSettings
from tests.dnszone import DNSTestServer, Zone

reactor = cast(Any, global_reactor)

# ---------------------------------------------------------------------------
# Organisational domain (RFC 7489 3.2) and alignment (3.1)


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("example.com", "example.com"),
        ("mail.example.com", "example.com"),
        ("a.b.c.example.com", "example.com"),
        ("EXAMPLE.COM.", "example.com"),
        ("example.co.uk", "example.co.uk"),
        ("mail.example.co.uk", "example.co.uk"),
        ("co.uk", "co.uk"),  # a public suffix is its own
        ("com", "com"),
        ("sub.example.test", "example.test"),  # unknown TLD: one label
        ("bücher.example", "xn--bcher-kva.example"),
        ("a.bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_organisational_domain(domain: str, org: str) -> None:
    assert organisational_domain(domain) == org


@pytest.mark.parametrize("bad", ["", ".", "a..b", "x" * 64 + ".com"])
def test_organisational_domain_of_non_domain(bad: str) -> None:
    with pytest.raises(ValueError):
        organisational_domain(bad)


# (authenticated identifier, RFC5322.From domain, strict, relaxed)
ALIGNMENT = [
    # RFC 7489 B.1.1 / B.1.2: same domain, a child, an unrelated one
    ("example.com", "example.com", True, True),
    ("child.example.com", "example.com", False, True),
    ("example.com", "child.example.com", False, True),
    ("example.org", "example.com", False, False),
    ("sample.net", "example.com", False, False),
    # case and the final dot do not matter
    ("Example.COM.", "example.com", True, True),
    # siblings share the organisational domain
    ("a.example.com", "b.example.com", False, True),
    ("a.example.com", "a.example.com", True, True),
    # the PSL: co.uk is a public suffix, so these are different organisations
    ("example.co.uk", "example.co.uk", True, True),
    ("mail.example.co.uk", "example.co.uk", False, True),
    ("mail.example.co.uk", "news.example.co.uk", False, True),
    ("other.co.uk", "example.co.uk", False, False),
    ("co.uk", "example.co.uk", False, False),
    ("example.com", "example.co.uk", False, False),
    ("example.co.uk", "example.uk", False, False),
    # not domains at all
    ("", "example.com", False, False),
    ("example..com", "example.com", False, False),
]


@pytest.mark.parametrize(("ident", "author", "strict", "relaxed"), ALIGNMENT)
def test_alignment(ident: str, author: str, strict: bool, relaxed: bool) -> None:
    assert aligned(ident, author, "s") is strict
    assert aligned(ident, author, "r") is relaxed


_DOMAINS = st.sampled_from(
    [
        "example.com",
        "a.example.com",
        "b.a.example.com",
        "example.co.uk",
        "x.example.co.uk",
        "co.uk",
        "blogspot.com",
        "me.blogspot.com",
        "example.org",
        "EXAMPLE.com.",
    ]
)


@given(_DOMAINS, _DOMAINS)
def test_alignment_properties(one: str, two: str) -> None:
    assert aligned(one, one, "s")
    assert aligned(one, two, "s") == aligned(two, one, "s")
    assert aligned(one, two, "r") == aligned(two, one, "r")
    if aligned(one, two, "s"):  # strict implies relaxed
        assert aligned(one, two, "r")


# ---------------------------------------------------------------------------
# The record (RFC 7489 6.3, 6.4; Appendix B.2)


def test_appendix_b_2_1_monitoring_only() -> None:
    r = parse_record("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com")
    assert (r.p, r.sp, r.pct, r.adkim, r.aspf) == ("none", "none", 100, "r", "r")
    assert r.rua == ("mailto:dmarc-feedback@example.com",)
    assert (r.ruf, r.fo, r.rf, r.ri, r.warnings) == ((), ("0",), ("afrf",), 86400, ())


def test_appendix_b_2_2_third_party_reports() -> None:
    r = parse_record(
        "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
        "ruf=mailto:auth-reports@thirdparty.example.net"
    )
    assert r.ruf == ("mailto:auth-reports@thirdparty.example.net",)


def test_appendix_b_2_4_sampling_and_several_report_uris() -> None:
    r = parse_record(
        "v=DMARC1; p=quarantine; "
        "rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; "
        "pct=25"
    )
    assert (r.p, r.sp, r.pct) == ("quarantine", "quarantine", 25)
    assert r.rua == (
        "mailto:dmarc-feedback@example.com",
        "mailto:tld-test@thirdparty.example.net!10m",
    )


def test_every_tag() -> None:
    r = parse_record(
        "v=DMARC1;p=reject;sp=none;pct=50;adkim=s;aspf=s;"
        "rua=mailto:a@example.com;ruf=mailto:f@example.com;fo=1:d:s;rf=afrf;ri=3600;"
    )
    assert r == DMARCRecord(
        p="reject",
        sp="none",
        pct=50,
        adkim="s",
        aspf="s",
        rua=("mailto:a@example.com",),
        ruf=("mailto:f@example.com",),
        fo=("1", "d", "s"),
        rf=("afrf",),
        ri=3600,
        text=r.text,
    )


def test_white_space_case_and_unknown_tags() -> None:
    r = parse_record(" v = DMARC1 ;\tP = Reject ; ADKIM=S ; np=reject; x_future=1 ;; ")
    assert (r.p, r.sp, r.adkim, r.warnings) == ("reject", "reject", "s", ())


@pytest.mark.parametrize(
    "text",
    [
        "v=DMARC1; p=none",
        "v=DMARC1;p=none",
        "v=DMARC1",  # a DMARC record, though without a policy
        "  v =DMARC1 ; p=reject",
        "V=DMARC1; p=none",
    ],
)
def test_is_dmarc_record(text: str) -> None:
    assert is_dmarc_record(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=spf1 -all",
        "p=none; v=DMARC1",  # v must come first (6.3)
        "v=dmarc1; p=none",  # "DMARC1" is case-sensitive (6.4)
        "v=DMARC2; p=none",
        "v=DMARC10; p=none",
        "v=DMARC1p=none",
        "xv=DMARC1; p=none",
    ],
)
def test_not_dmarc_records(text: str) -> None:
    assert not is_dmarc_record(text)
    with pytest.raises(DMARCRecordError, match="v=DMARC1"):
        parse_record(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v=DMARC1", "no p tag"),
        ("v=DMARC1; p=bogus", "invalid p="),
        ("v=DMARC1; p=", "invalid p="),
        ("v=DMARC1; p=none; sp=discard", "invalid sp="),
        ("v=DMARC1; p=none; p=reject", "more than once"),
        ("v=DMARC1; p=none; garbage", "malformed tag-spec"),
        ("v=DMARC1; p=none; =x", "malformed tag-spec"),
        ("v=DMARC1; p=none; 1p=x", "malformed tag-spec"),
    ],
)
def test_syntax_errors(text: str, reason: str) -> None:
    with pytest.raises(DMARCRecordError, match=reason):
        parse_record(text)


def test_invalid_policy_with_valid_rua_counts_as_none() -> None:
    # RFC 7489 6.6.3 step 6
    r = parse_record("v=DMARC1; p=bogus; rua=mailto:r@example.com")
    assert (r.p, r.sp) == ("none", "none")
    assert any("p=none used" in w for w in r.warnings)
    with pytest.raises(DMARCRecordError):
        parse_record("v=DMARC1; p=bogus; rua=not-a-uri")


@pytest.mark.parametrize(
    ("text", "field", "default"),
    [
        ("v=DMARC1; p=reject; pct=101", "pct", 100),
        ("v=DMARC1; p=reject; pct=-1", "pct", 100),
        ("v=DMARC1; p=reject; pct=50%", "pct", 100),
        ("v=DMARC1; p=reject; adkim=x", "adkim", "r"),
        ("v=DMARC1; p=reject; aspf=strict", "aspf", "r"),
        ("v=DMARC1; p=reject; fo=2", "fo", ("0",)),
        ("v=DMARC1; p=reject; rf=a f", "rf", ("afrf",)),
        ("v=DMARC1; p=reject; ri=soon", "ri", 86400),
        ("v=DMARC1; p=reject; ri=99999999999", "ri", 86400),
    ],
)
def test_bad_optional_tags_fall_back_to_defaults(text: str, field: str, default: object) -> None:
    # RFC 7489 6.3: syntax errors in the remainder -> default values
    r = parse_record(text)
    assert r.p == "reject"
    assert getattr(r, field) == default
    assert r.warnings


def test_bad_report_uris_are_dropped() -> None:
    r = parse_record("v=DMARC1; p=none; rua=mailto:ok@example.com, nonsense ,mailto:x@y.z!5")
    assert r.rua == ("mailto:ok@example.com", "mailto:x@y.z!5")
    assert r.warnings == ("rua: invalid URI 'nonsense' ignored",)


@given(st.text(max_size=200))
def test_parse_record_raises_only_its_own_error(text: str) -> None:
    try:
        record = parse_record(text)
    except DMARCRecordError:
        return
    assert record.p in ("none", "quarantine", "reject")
    assert 0 <= record.pct <= 100


# ---------------------------------------------------------------------------
# From domains (RFC 7489 6.6.1)


@pytest.mark.parametrize(
    ("header", "domains"),
    [
        (b"From: Alice <alice@Example.COM>\r\n", ["example.com"]),
        (b"From: a@example.com, b@example.com\r\n", ["example.com", "example.com"]),
        (b"From: a@example.com, b@example.org\r\n", ["example.com", "example.org"]),
        (b"From: a@example.com\r\nFrom: b@example.org\r\n", ["example.com", "example.org"]),
        (b"From: undisclosed-recipients:;\r\n", []),
        (b"From: nobody\r\n", [""]),
        (b"Sender: s@example.com\r\n", []),
        (b"From: J\xc3\xb6rg <j@B\xc3\xbccher.example>\r\n", ["b\u00fccher.example"]),
        (b"From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\r\n", ["example.com"]),
        (b'From: "a@evil.example" <x@good.example>\r\n', ["good.example"]),
    ],
)
def test_from_domains(header: bytes, domains: list[str]) -> None:
    assert from_domains(header + b"Subject: x\r\n\r\nbody\r\n") == domains


# ---------------------------------------------------------------------------
# Discovery and evaluation against a zone on loopback

EXAMPLE_COM = Zone(
    "example.com",
    {
        "_dmarc": [("TXT", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com")],
        # own.example.com publishes its own record: no fallback for it
        "_dmarc.own": [("TXT", "v=DMARC1; p=none")],
        # a broken record at the From domain is used (and fails), not skipped
        "_dmarc.broken": [("TXT", "v=DMARC1; p=bogus")],
        "_dmarc.twice": [("TXT", "v=DMARC1; p=none"), ("TXT", "v=DMARC1; p=reject")],
        # records that are not DMARC records are dropped before counting
        "_dmarc.mixed": [("TXT", "v=spf1 -all"), ("TXT", "v=DMARC1; p=quarantine; pct=0")],
        # one record in several character-strings (RFC 7489 6.6.3 step 1)
        "_dmarc.split": [("TXT", "v=DMARC1; ", "p=reject; ", "adkim=s")],
        "_dmarc.strict": [("TXT", "v=DMARC1; p=reject; adkim=s; aspf=s")],
        "_dmarc.sampled": [("TXT", "v=DMARC1; p=reject; pct=25")],
        "_dmarc.sampledq": [("TXT", "v=DMARC1; p=quarantine; pct=25")],
        "_dmarc.nopolicy": [("TXT", "v=spf1 -all")],
    },
)
EXAMPLE_CO_UK = Zone(
    "example.co.uk",
    {"_dmarc": [("TXT", "v=DMARC1; p=quarantine")], "www": [("A", "127.0.0.1")]},
)
CO_UK = Zone("co.uk", {"_dmarc": [("TXT", "v=DMARC1; p=reject")]})  # never to be used
NOPOLICY = Zone("nopolicy.test", {"@": [("TXT", "v=spf1 -all")]})
TEMP = Zone("tempfail.test", {"_dmarc": [("TXT", "v=DMARC1; p=reject")]})
SERVFAIL = ("_dmarc.tempfail.test",)


class EvaluateTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DNSTestServer(
            [EXAMPLE_COM, EXAMPLE_CO_UK, CO_UK, NOPOLICY, TEMP], servfail=SERVFAIL
        )
        address = self.server.start(reactor)
        self.addCleanup(self.server.stop)
        self.lookup = TwistedLookup.from_settings(
            DNSSettings(servers=(address,), timeout=5.0), reactor
        )

    async def check(
        self,
        author: str | list[str],
        *,
        spf: list[SPFOutcome] | None = None,
        dkim: list[DKIMOutcome] | None = None,
        rand: Callable[[], float] | None = None,
    ) -> DMARCResult:
        def no_rand() -> float:
            raise AssertionError("pct sampling must not draw a number here")

        return await evaluate(author, spf or [], dkim or [], self.lookup, rand=rand or no_rand)

    # -- pass -----------------------------------------------------------------

    async def test_appendix_b_3_spf_and_dkim_pass(self) -> None:
        result = await self.check(
            "example.com",
            spf=[SPFOutcome("example.com", "pass")],
            dkim=[DKIMOutcome("example.com", "pass")],
        )
        assert result.result == "pass"
        assert result.policy == "none"
        assert result.requested == "reject"
        assert result.aligned == "both"
        assert result.record_domain == "example.com"
        assert result.record is not None
        assert result.record.rua == ("mailto:dmarc@example.com",)

    async def test_relaxed_dkim_alone_passes(self) -> None:
        result = await self.check(
            "example.com",
            spf=[SPFOutcome("bounces.esp.example", "pass")],
            dkim=[DKIMOutcome("other.test", "pass"), DKIMOutcome("mail.example.com", "pass")],
        )
        assert (result.result, result.aligned) == ("pass", "dkim")
        assert result.dkim == DKIMOutcome("mail.example.com", "pass")
        assert "DKIM mail.example.com" in result.reason

    async def test_relaxed_spf_alone_passes(self) -> None:
        result = await self.check(
            "example.com",
            spf=[SPFOutcome("bounce.example.com", "pass")],
            dkim=[DKIMOutcome("example.com", "fail")],
        )
        assert (result.result, result.aligned) == ("pass", "spf")

    async def test_helo_spf_counts_only_without_mail_from(self) -> None:
        helo = SPFOutcome("example.com", "pass", "helo")
        result = await self.check("example.com", spf=[helo])
        assert (result.result, result.spf) == ("pass", helo)
        result = await self.check(
            "example.com", spf=[helo, SPFOutcome("other.test", "pass", "mfrom")]
        )
        assert result.result == "fail"

    # -- fail -----------------------------------------------------------------

    async def test_no_aligned_pass_fails_with_the_policy(self) -> None:
        result = await self.check(
            "example.com",
            spf=[SPFOutcome("example.com", "softfail"), SPFOutcome("evil.test", "pass")],
            dkim=[DKIMOutcome("example.com", "fail"), DKIMOutcome("evil.test", "pass")],
        )
        assert (result.result, result.policy, result.aligned) == ("fail", "reject", None)
        assert result.sampled

    async def test_strict_alignment(self) -> None:
        ok = await self.check(
            "strict.example.com", dkim=[DKIMOutcome("strict.example.com", "pass")]
        )
        assert ok.result == "pass"
        parent = await self.check(
            "strict.example.com",
            spf=[SPFOutcome("example.com", "pass")],
            dkim=[DKIMOutcome("example.com", "pass")],
        )
        assert (parent.result, parent.policy) == ("fail", "reject")

    # -- discovery --------------------------------------------------------------

    async def test_falls_back_to_the_organisational_domain_and_sp(self) -> None:
        result = await self.check("deep.sub.example.com")
        assert result.record_domain == "example.com"
        assert result.result == "fail"
        assert result.requested == result.policy == "quarantine"
        # relaxed alignment with the organisational domain passes
        result = await self.check(
            "deep.sub.example.com", dkim=[DKIMOutcome("example.com", "pass")]
        )
        assert result.result == "pass"

    async def test_own_record_wins_over_the_organisational_one(self) -> None:
        result = await self.check("own.example.com")
        assert (result.record_domain, result.requested) == ("own.example.com", "none")
        assert (result.result, result.policy) == ("fail", "none")

    async def test_public_suffix_is_never_asked(self) -> None:
        # mail.example.co.uk -> _dmarc.example.co.uk, not _dmarc.co.uk
        result = await self.check("mail.example.co.uk")
        assert result.record_domain == "example.co.uk"
        assert result.policy == "quarantine"  # sp defaults to p

    async def test_no_record(self) -> None:
        for author in ("nopolicy.test", "www.nopolicy.test", "unknown.test"):
            result = await self.check(author, dkim=[DKIMOutcome(author, "fail")])
            assert (result.result, result.policy, result.record) == ("none", "none", None)

    async def test_non_dmarc_txt_records_are_ignored(self) -> None:
        # _dmarc.nopolicy.example.com holds only "v=spf1": fall back to example.com
        result = await self.check("nopolicy.example.com")
        assert result.record_domain == "example.com"
        mixed = await self.check("mixed.example.com")
        assert (mixed.record_domain, mixed.requested) == ("mixed.example.com", "quarantine")

    async def test_record_in_several_strings(self) -> None:
        result = await self.check("split.example.com", dkim=[DKIMOutcome("example.com", "pass")])
        assert result.record is not None
        assert result.record.adkim == "s"
        assert (result.result, result.policy) == ("fail", "reject")

    async def test_syntax_error_is_permerror_without_fallback(self) -> None:
        result = await self.check("broken.example.com")
        assert (result.result, result.policy) == ("permerror", "none")
        assert result.record_domain == "broken.example.com"
        assert "invalid p='bogus'" in result.reason

    async def test_two_records_are_permerror(self) -> None:
        result = await self.check("twice.example.com")
        assert (result.result, result.policy) == ("permerror", "none")
        assert "2 DMARC records" in result.reason

    # -- pct (RFC 7489 6.6.4) ---------------------------------------------------

    async def test_pct_selected(self) -> None:
        result = await self.check("sampled.example.com", rand=lambda: 0.1)
        assert (result.policy, result.sampled) == ("reject", True)

    async def test_pct_not_selected_gets_the_next_lower_policy(self) -> None:
        result = await self.check("sampled.example.com", rand=lambda: 0.25)
        assert (result.result, result.policy, result.sampled) == ("fail", "quarantine", False)
        assert "pct=25" in result.reason
        result = await self.check("sampledq.example.com", rand=lambda: 0.9)
        assert (result.policy, result.sampled) == ("none", False)

    async def test_pct_zero_never_applies_and_draws_nothing(self) -> None:
        result = await self.check("mixed.example.com")
        assert (result.result, result.policy, result.sampled) == ("fail", "none", False)

    async def test_pct_does_not_touch_a_pass(self) -> None:
        result = await self.check("sampled.example.com", dkim=[DKIMOutcome("example.com", "pass")])
        assert (result.result, result.policy) == ("pass", "none")

    # -- errors ---------------------------------------------------------------

    async def test_dns_temperror(self) -> None:
        result = await self.check("tempfail.test", dkim=[DKIMOutcome("tempfail.test", "pass")])
        assert (result.result, result.policy, result.record) == ("temperror", "none", None)
        assert "_dmarc.tempfail.test" in result.reason

    async def test_dns_temperror_at_the_organisational_domain(self) -> None:
        result = await self.check("mail.tempfail.test")
        assert result.result == "temperror"

    async def test_aligned_temperror_is_temperror_not_fail(self) -> None:
        result = await self.check(
            "example.com",
            spf=[SPFOutcome("example.com", "temperror")],
            dkim=[DKIMOutcome("example.com", "fail")],
        )
        assert (result.result, result.policy) == ("temperror", "none")
        assert "SPF example.com" in result.reason
        # ... but not when something aligned passed, nor for an unaligned one
        result = await self.check(
            "example.com",
            spf=[SPFOutcome("example.com", "temperror")],
            dkim=[DKIMOutcome("example.com", "pass")],
        )
        assert result.result == "pass"
        result = await self.check("example.com", dkim=[DKIMOutcome("evil.test", "temperror")])
        assert result.result == "fail"

    async def test_from_domain_must_be_exactly_one(self) -> None:
        for author in ([], ["example.com", "example.org"], [""], "", "a..b"):
            result = await evaluate(author, [], [], NoDNS())
            assert (result.result, result.policy) == ("permerror", "none"), author
            assert "6.6.1" in result.reason
        same = await self.check(["example.com", "EXAMPLE.com."])
        assert (same.result, same.from_domain) == ("fail", "example.com")

    async def test_from_domains_of_a_message(self) -> None:
        message = b"From: a@example.com, b@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
        result = await evaluate(from_domains(message), [], [], NoDNS())
        assert result.result == "permerror"
        assert "several domains" in result.reason

    async def test_internationalised_from_domain(self) -> None:
        result = await self.check("Bücher.example.com")
        assert result.from_domain == "xn--bcher-kva.example.com"
        assert result.record_domain == "example.com"

    # -- reporting ------------------------------------------------------------

    async def test_as_authentication_results_method(self) -> None:
        result = await self.check("example.com", dkim=[DKIMOutcome("example.com", "pass")])
        assert authentication_results("mx.example.net", [result.as_method()]) == (
            'mx.example.net;\r\n\tdmarc=pass reason="aligned DKIM example.com"'
            " header.from=example.com"
        )


class _NoDNS:
    def __getattr__(self, name: str) -> Callable[..., Deferred[Any]]:
        raise AssertionError(f"no DNS lookup expected ({name})")


def NoDNS() -> Lookup:
    """A Lookup that fails the test if asked anything."""
    return cast(Lookup, _NoDNS())
