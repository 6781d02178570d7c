"""gateway.config: the [authn], [dnsbl], [rates] and [dkim] sections."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from gateway.authn.ratelimit import Rate
from gateway.config import ConfigError, load

MINIMAL = '[server]\nlocal_domains = ["example.test", "other.test"]\n'


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(MINIMAL + text)
    return path


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load(config(tmp_path, text))
    return str(raised.value).split(": ", 1)[1]


def test_defaults(tmp_path: Path) -> None:
    settings = load(config(tmp_path, ""))
    assert settings.authn.enabled and settings.authn.dmarc and settings.authn.arc
    assert settings.authn.policy.dmarc_reject == "reject"
    assert settings.authn.policy.dmarc_quarantine == "junk"
    assert settings.authn.policy.spf_fail == "accept"
    assert settings.dnsbl.zones == () and settings.dkim.keys == ()
    assert settings.rates.ip_messages is None
    assert settings.delivery.junk_subject_tag == "[Junk]"


def test_everything(tmp_path: Path) -> None:
    settings = load(
        config(
            tmp_path,
            "[authn]\n"
            'authserv_id = "MX.Example.test"\n'
            'spf_fail = "junk"\n'
            'temperror = "defer"\n'
            'allow = ["Boss@Partner.test", "friends.test", "@exact.test", "2001:db8::/32"]\n'
            'block = ["203.0.113.7"]\n'
            'arc_seal = "example.test"\n'
            '[authn.domains."Other.test"]\n'
            'dmarc_reject = "junk"\n'
            'block = ["spam.test"]\n'
            "[dnsbl]\n"
            'zones = ["bl.test"]\n'
            'allow_zones = ["wl.test"]\n'
            'cache = "5m"\n'
            "[rates]\n"
            'ip_messages = "100/1h"\n'
            'user_recipients = "2000/1d"\n'
            "[dkim]\n"
            'expires = "7d"\n'
            "[[dkim.keys]]\n"
            'domain = "example.test"\nselector = "2026a"\nkey = "k1.pem"\n'
            "[[dkim.keys]]\n"
            'domain = "example.test"\nselector = "2026b"\nkey = "k2.pem"\nsign = false\n',
        )
    )
    authn = settings.authn
    assert authn.authserv_id == "mx.example.test"
    assert authn.allow.addresses == frozenset({"boss@partner.test"})
    assert authn.allow.domains == ("friends.test", "@exact.test")
    assert authn.allow.networks == (ipaddress.ip_network("2001:db8::/32"),)
    assert authn.block.networks == (ipaddress.ip_network("203.0.113.7/32"),)
    # a domain's table overrides what it names; the rest is [authn]'s
    other = authn.policy_for("OTHER.test")
    assert (other.dmarc_reject, other.spf_fail, other.temperror) == ("junk", "junk", "defer")
    assert authn.policy_for("example.test").dmarc_reject == "reject"
    assert authn.domains["other.test"].block.domains == ("spam.test",)
    assert settings.dnsbl.zones == ("bl.test",) and settings.dnsbl.cache == 300.0
    assert settings.rates.ip_messages == Rate(100, 3600.0)
    assert settings.rates.user_recipients == Rate(2000, 86400.0)
    keys = settings.dkim.keys
    assert [(k.selector, k.sign, k.key.name) for k in keys] == [
        ("2026a", True, "k1.pem"),
        ("2026b", False, "k2.pem"),
    ]
    assert settings.dkim.expires == 7 * 86400


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[authn]\ndmarc_reject = "bounce"\n', "authn.dmarc_reject: expected one of"),
        ('[authn]\ntemperror = "junk"\n', "authn.temperror: expected one of 'defer', 'accept'"),
        ('[authn]\nallow = ["a@"]\n', "authn.allow: not an address: 'a@'"),
        ('[authn]\nblock = "x.test"\n', "authn.block: expected an array of addresses"),
        ('[authn.domains."x.test"]\nspf = true\n', "authn.domains.x.test.spf: unknown key"),
        ('[authn]\narc_seal = "example.test"\n', "authn.arc_seal: no [[dkim.keys]] entry"),
        ('[rates]\nip_messages = "lots"\n', "rates.ip_messages: rate 'lots'"),
        ('[[dkim.keys]]\ndomain = "example.test"\n', "dkim.keys.0.selector: missing"),
        (
            '[[dkim.keys]]\ndomain = "example.test"\nselector = "bad_sel"\nkey = "k"\n',
            "dkim.keys.0.selector: not a DKIM selector",
        ),
        (
            '[[dkim.keys]]\ndomain = "example.test"\nselector = "a"\nkey = "k"\n'
            '[[dkim.keys]]\ndomain = "example.test"\nselector = "A"\nkey = "k2"\n',
            "dkim.keys.1.selector: selector 'a' of example.test is listed twice",
        ),
        ('[dnsbl]\nzones = ["not a zone"]\n', "dnsbl.zones"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text).startswith(message)
