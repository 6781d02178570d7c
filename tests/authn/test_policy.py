"""gateway.authn.policy: the verdict rules, the keys that decide, combining."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.authn.policy import Facts, Verdict, combine, decide, delivered_as
from gateway.config import AuthnSettings, load

BASE = Facts(client_ip="192.0.2.7", sender="bob@remote.test", from_addresses=("bob@remote.test",))


def settings(tmp_path: Path, text: str) -> AuthnSettings:
    config = tmp_path / "gateway.toml"
    config.write_text('[server]\nlocal_domains = ["example.test", "other.test"]\n' + text)
    return load(config).authn


@pytest.fixture
def strict(tmp_path: Path) -> AuthnSettings:
    return settings(
        tmp_path,
        "[authn]\n"
        'spf_fail = "junk"\n'
        'spf_softfail = "junk"\n'
        'unauthenticated = "junk"\n'
        'temperror = "defer"\n'
        'allow = ["boss@partner.test", "friends.test", "@exact.test", "198.51.100.0/24"]\n'
        'block = ["spam.test", "203.0.113.5"]\n'
        '[authn.domains."other.test"]\n'
        'dmarc_reject = "junk"\n'
        'allow = ["2001:db8::/32"]\n'
        'block = ["bob@remote.test"]\n',
    )


def facts(**changes: object) -> Facts:
    from dataclasses import replace

    return replace(BASE, **changes)  # type: ignore[arg-type]


def test_defaults_reject_dmarc_reject_and_junk_quarantine(tmp_path: Path) -> None:
    s = settings(tmp_path, "")
    reject = decide(
        facts(dmarc="fail", dmarc_policy="reject", dmarc_domain="remote.test", dmarc_reason="x"),
        s,
        "example.test",
    )
    assert reject == Verdict(
        "reject", "authn.dmarc_reject", "DMARC policy of remote.test is reject: x"
    )
    quarantine = decide(
        facts(dmarc="fail", dmarc_policy="quarantine", dmarc_domain="remote.test"), s
    )
    assert quarantine == Verdict(
        "junk", "authn.dmarc_quarantine", "DMARC policy of remote.test is quarantine"
    )
    # p=none (or pct sampled it away): nothing from DMARC; by default SPF fail is accepted
    assert decide(facts(dmarc="fail", dmarc_policy="none", spf="fail"), s).action == "accept"


def test_dmarc_pass_accepts_even_with_spf_fail(strict: AuthnSettings) -> None:
    verdict = decide(facts(dmarc="pass", dmarc_domain="remote.test", spf="fail"), strict)
    assert verdict == Verdict("accept", "dmarc", "DMARC pass for remote.test")


def test_spf_rules(strict: AuthnSettings) -> None:
    fail = decide(facts(spf="fail", dkim_pass=("remote.test",)), strict)
    assert fail == Verdict(
        "junk", "authn.spf_fail", "SPF fail for bob@remote.test from [192.0.2.7]"
    )
    soft = decide(facts(spf="softfail", dkim_pass=("remote.test",)), strict)
    assert (soft.action, soft.rule) == ("junk", "authn.spf_softfail")
    assert decide(facts(spf="pass"), strict) == Verdict("accept", "default", "no rule applies")


def test_unauthenticated(strict: AuthnSettings) -> None:
    verdict = decide(facts(spf="none", spf_helo="none"), strict)
    assert verdict == Verdict(
        "junk", "authn.unauthenticated", "neither SPF nor DKIM authenticates the sender"
    )
    assert decide(facts(spf="none", dkim_pass=("remote.test",)), strict).action == "accept"
    assert decide(facts(spf="neutral", spf_helo="pass"), strict).action == "accept"


def test_temperror_defers_only_when_configured(tmp_path: Path, strict: AuthnSettings) -> None:
    verdict = decide(facts(dmarc="temperror"), strict)
    assert verdict == Verdict(
        "defer", "authn.temperror", "a DNS lookup failed temporarily; try again later"
    )
    assert decide(facts(spf="temperror"), strict).action == "defer"
    # a passing DKIM signature makes an SPF lookup failure irrelevant
    assert decide(facts(spf="temperror", dkim_pass=("remote.test",)), strict).action == "accept"
    lenient = settings(tmp_path, "")
    assert decide(facts(dmarc="temperror", spf="pass"), lenient).action == "accept"


def test_allow_wins_over_everything(strict: AuthnSettings) -> None:
    bad = {
        "dmarc": "fail",
        "dmarc_policy": "reject",
        "spf": "fail",
        "dnsbl": ("bl.test 127.0.0.2",),
    }
    assert decide(facts(sender="boss@partner.test", **bad), strict) == Verdict(
        "accept", "authn.allow", "boss@partner.test is on the allow list"
    )
    # a domain entry covers its subdomains, "@domain" only itself
    assert decide(facts(sender="x@mail.friends.test", **bad), strict).action == "accept"
    assert decide(facts(sender="x@exact.test", **bad), strict).action == "accept"
    assert decide(facts(sender="x@sub.exact.test", **bad), strict).action == "reject"
    # the From header counts as well as the envelope
    assert decide(facts(from_addresses=("Boss@Partner.test",), **bad), strict).action == "accept"
    assert decide(facts(client_ip="198.51.100.9", **bad), strict).rule == "authn.allow"


def test_block_list(strict: AuthnSettings) -> None:
    assert decide(facts(sender="a@spam.test", dmarc="pass"), strict) == Verdict(
        "reject", "authn.block", "spam.test is on the block list"
    )
    assert decide(facts(client_ip="203.0.113.5", dmarc="pass"), strict).rule == "authn.block"
    # the null sender is matched by From only
    assert decide(facts(sender=None, from_addresses=("x@spam.test",)), strict).action == "reject"


def test_per_domain_overrides_and_lists(strict: AuthnSettings) -> None:
    failing = facts(dmarc="fail", dmarc_policy="reject", dmarc_domain="remote.test")
    assert decide(failing, strict, "example.test").action == "reject"
    # other.test's block list names bob@remote.test: it wins there only
    assert decide(failing, strict, "other.test") == Verdict(
        "reject", 'authn.domains."other.test".block', "bob@remote.test is on the block list"
    )
    alice = facts(
        sender="alice@remote.test",
        from_addresses=("alice@remote.test",),
        dmarc="fail",
        dmarc_policy="reject",
        dmarc_domain="remote.test",
    )
    assert decide(alice, strict, "other.test") == Verdict(
        "junk", 'authn.domains."other.test".dmarc_reject', "DMARC policy of remote.test is reject"
    )
    # keys the domain does not set come from [authn]
    assert (
        decide(
            facts(spf="fail", sender="c@remote.test", from_addresses=()), strict, "other.test"
        ).rule
        == "authn.spf_fail"
    )
    v6 = facts(client_ip="2001:db8::5", sender="c@spam.test")
    assert decide(v6, strict, "other.test").rule == 'authn.domains."other.test".allow'
    assert decide(v6, strict, "example.test").rule == "authn.block"


def test_dnsbl_and_dnswl(strict: AuthnSettings) -> None:
    listed = facts(dnsbl=("bl.test 127.0.0.2 (listed)",), dmarc="pass")
    assert decide(listed, strict) == Verdict(
        "reject", "authn.dnsbl", "client [192.0.2.7] is listed: bl.test 127.0.0.2 (listed)"
    )
    assert decide(facts(dnsbl=("bl.test",), dnswl=("wl.test",), spf="pass"), strict).action == (
        "accept"
    )


def test_combine() -> None:
    reject = Verdict("reject", "authn.dmarc_reject", "r")
    junk = Verdict("junk", "authn.dmarc_quarantine", "q")
    accept = Verdict("accept", "default", "no rule applies")
    defer = Verdict("defer", "authn.temperror", "t")
    assert combine([reject, reject]) == reject
    assert combine([defer]) == defer
    assert combine([reject, accept]) is None  # each recipient's own verdict
    assert combine([reject, defer]) is None
    assert combine([junk]) is None
    assert delivered_as(reject) == "junk" and delivered_as(accept) == "inbox"
    assert delivered_as(junk) == "junk" and delivered_as(defer) == "inbox"


def test_trusted_arc_sealer_overrides_dmarc_failure(tmp_path: Path) -> None:
    s = settings(tmp_path, '[authn]\narc_trusted = ["lists.test"]\n')
    failing = facts(dmarc="fail", dmarc_policy="reject", dmarc_domain="remote.test")
    assert decide(replace(failing, arc_sealers=("Lists.test",)), s) == Verdict(
        "accept",
        "authn.arc_trusted",
        "DMARC fail for remote.test overridden: ARC chain sealed by Lists.test passes",
    )
    # an untrusted sealer, or no chain, changes nothing
    assert decide(replace(failing, arc_sealers=("other.test",)), s).action == "reject"
    assert decide(failing, s).action == "reject"
