"""``mailgateway dns check DOMAIN``, run as the installed command runs.

The command asks a :class:`DNSTestServer` on loopback (``[dns] servers``),
served from a thread of the test process; the system resolver is never
asked. Keys are made once per test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.authn import keys
from tests.cli.cli_helpers import mailgateway, write_config
from tests.dnszone import Zone, run_in_thread

RSA_PEM, RSA_PUBLIC = keys.generate_key("rsa")
ED_PEM, ED_PUBLIC = keys.generate_key("ed25519")
OTHER_PEM, OTHER_PUBLIC = keys.generate_key("ed25519")

RSA_LINE = keys.dns_record("example.test", "r2025", RSA_PUBLIC, "rsa").zone_line()
ED_LINE = keys.dns_record("example.test", "e2026", ED_PUBLIC, "ed25519").zone_line()
DMARC = "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.test"

GOOD = Zone(
    "example.test",
    {
        "@": [("MX", 10, "gw"), ("TXT", "v=spf1 mx -all"), ("TXT", "site-verification=abc")],
        "gw": [("A", "192.0.2.25"), ("AAAA", "2001:db8::25")],
        "r2025._domainkey": [
            ("TXT", keys.dns_record("example.test", "r2025", RSA_PUBLIC, "rsa").text)
        ],
        # the same key written otherwise: no v=, no spaces, p= split by a space
        "e2026._domainkey": [("TXT", f"k=ed25519;p={ED_PUBLIC[:20]} {ED_PUBLIC[20:]}")],
        "_dmarc": [("TXT", DMARC)],
        # a subdomain: signed by example.test, example.test's DMARC record applies
        "sub": [
            ("MX", 5, "gw"),
            ("MX", 20, "backup.example.net."),
            ("TXT", "v=spf1 a:gw.example.test -all"),
        ],
    },
)
BAD = Zone(
    "bad.test",
    {
        "@": [("MX", 10, "mx.elsewhere.test."), ("TXT", "v=spf1 ip4:198.51.100.0/24 -all")],
        "s1._domainkey": [
            ("TXT", keys.dns_record("bad.test", "s1", OTHER_PUBLIC, "ed25519").text)
        ],
        "s3._domainkey": [("TXT", f"v=DKIM1; p={ED_PUBLIC}")],  # k= defaults to rsa
        "_dmarc": [("TXT", "v=spf1 -all")],  # not a DMARC record
    },
)

ODD = Zone(
    "odd.test",
    {
        "@": [("MX", 0, "."), ("TXT", "v=spf1 mx -all"), ("TXT", "v=spf1 a -all")],
        "old._domainkey": [("TXT", "v=DKIM1; k=ed25519; h=sha1; s=tlsrpt; p=")],
        "_dmarc": [("TXT", "v=DMARC1; p=none; pct=150")],
        # an SPF record whose include cannot be resolved now
        "flaky": [("MX", 10, "gw.example.test."), ("TXT", "v=spf1 include:_spf.flaky.test -all")],
    },
)


@pytest.fixture(scope="module")
def dns_server() -> Iterator[tuple[str, int]]:
    with run_in_thread(
        [GOOD, BAD, ODD], servfail=["_dmarc.flaky.test", "_spf.flaky.test"]
    ) as address:
        yield address


@pytest.fixture
def config(tmp_path: Path, dns_server: tuple[str, int]) -> Path:
    host, port = dns_server
    for name, pem in (("rsa", RSA_PEM), ("ed", ED_PEM)):
        keys.write_private_key(tmp_path / f"{name}.pem", pem)
    return write_config(
        tmp_path,
        f'[dns]\nservers = ["{host}:{port}"]\ntimeout = "3s"\n'
        + key_table("example.test", "r2025", tmp_path / "rsa.pem")
        + key_table("example.test", "e2026", tmp_path / "ed.pem", sign=False)
        + key_table("bad.test", "s1", tmp_path / "ed.pem")
        + key_table("bad.test", "s2", tmp_path / "rsa.pem")
        + key_table("bad.test", "s3", tmp_path / "ed.pem", sign=False)
        + key_table("odd.test", "old", tmp_path / "ed.pem", sign=False),
    )


def key_table(domain: str, selector: str, key: Path, sign: bool = True) -> str:
    return (
        f'[[dkim.keys]]\ndomain = "{domain}"\nselector = "{selector}"\n'
        f'key = "{key}"\nsign = {str(sign).lower()}\n'
    )


def test_a_correct_zone_is_all_ok(config: Path) -> None:
    done = mailgateway(config, "dns", "check", "Example.TEST.")
    sub = mailgateway(config, "dns", "check", "sub.example.test")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "MX",
        "  should publish: example.test. IN MX 10 gw.example.test.",
        "  publishes:      example.test. IN MX 10 gw.example.test.",
        "  OK",
        "",
        "SPF",
        '  should publish: example.test. IN TXT "v=spf1 mx -all"',
        '  publishes:      example.test. IN TXT "v=spf1 mx -all"',
        "  OK: pass for 192.0.2.25 (mx), 2001:db8::25 (mx)",
        "",
        "DKIM r2025 (rsa, signs)",
        f"  should publish: {RSA_LINE}",
        f"  publishes:      {RSA_LINE}",
        "  OK",
        "",
        "DKIM e2026 (ed25519, published only)",
        f"  should publish: {ED_LINE}",
        "  publishes:      e2026._domainkey.example.test. IN TXT "
        f'"k=ed25519;p={ED_PUBLIC[:20]} {ED_PUBLIC[20:]}"',
        "  OK",
        "",
        "DMARC",
        f'  should publish: _dmarc.example.test. IN TXT "{DMARC}"',
        f'  publishes:      _dmarc.example.test. IN TXT "{DMARC}"',
        "  OK: policy reject, subdomains quarantine",
        "",
        "example.test: all 5 records OK",
    ]
    assert (sub.returncode, sub.stderr) == (0, "")
    assert sub.stdout.splitlines() == [
        "MX",
        "  should publish: sub.example.test. IN MX 5 gw.example.test.",
        "  publishes:      sub.example.test. IN MX 5 gw.example.test.",
        "                  sub.example.test. IN MX 20 backup.example.net.",
        "  OK",
        "",
        "SPF",
        '  should publish: sub.example.test. IN TXT "v=spf1 a:gw.example.test -all"',
        '  publishes:      sub.example.test. IN TXT "v=spf1 a:gw.example.test -all"',
        "  OK: pass for 192.0.2.25 (a:gw.example.test), 2001:db8::25 (a:gw.example.test)",
        "",
        "DKIM",
        "  should publish: nothing: mail from sub.example.test is signed by d=example.test"
        " (relaxed alignment)",
        "  OK: check example.test for its key records",
        "",
        "DMARC",
        f'  should publish: _dmarc.example.test. IN TXT "{DMARC}"',
        f'  publishes:      _dmarc.example.test. IN TXT "{DMARC}"',
        "  OK: _dmarc.example.test applies to sub.example.test: policy quarantine",
        "",
        "sub.example.test: all 4 records OK",
    ]


def test_every_difference_is_named(config: Path) -> None:
    done = mailgateway(config, "dns", "check", "bad.test")
    assert (done.returncode, done.stderr) == (1, "")
    s1 = keys.dns_record("bad.test", "s1", ED_PUBLIC, "ed25519").zone_line()
    s1_now = keys.dns_record("bad.test", "s1", OTHER_PUBLIC, "ed25519").zone_line()
    s2 = keys.dns_record("bad.test", "s2", RSA_PUBLIC, "rsa").zone_line()
    s3 = keys.dns_record("bad.test", "s3", ED_PUBLIC, "ed25519").zone_line()
    assert done.stdout.splitlines() == [
        "MX",
        "  should publish: bad.test. IN MX 10 gw.example.test.",
        "  publishes:      bad.test. IN MX 10 mx.elsewhere.test.",
        "  DIFFERS: no MX points at gw.example.test (mail goes to mx.elsewhere.test)",
        "",
        "SPF",
        '  should publish: bad.test. IN TXT "v=spf1 a:gw.example.test ip4:198.51.100.0/24 -all"',
        '  publishes:      bad.test. IN TXT "v=spf1 ip4:198.51.100.0/24 -all"',
        "  DIFFERS: does not authorise 192.0.2.25 (fail, matched -all),"
        " 2001:db8::25 (fail, matched -all)",
        "",
        "DKIM s1 (ed25519, signs)",
        f"  should publish: {s1}",
        f"  publishes:      {s1_now}",
        "  DIFFERS: p= is another public key",
        "",
        "DKIM s2 (rsa, signs)",
        f"  should publish: {s2}",
        "  publishes:      nothing",
        "  MISSING",
        "",
        "DKIM s3 (ed25519, published only)",
        f"  should publish: {s3}",
        f'  publishes:      s3._domainkey.bad.test. IN TXT "v=DKIM1; p={ED_PUBLIC}"',
        "  DIFFERS: k=rsa (the default), the key is ed25519",
        "",
        "DMARC",
        '  should publish: _dmarc.bad.test. IN TXT "v=DMARC1; p=quarantine;'
        ' rua=mailto:postmaster@bad.test"',
        '  publishes:      _dmarc.bad.test. IN TXT "v=spf1 -all"',
        "  MISSING",
        "",
        "bad.test: 6 of 6 records missing or different",
    ]


def test_no_key_configured_and_nothing_published(config: Path) -> None:
    done = mailgateway(config, "dns", "check", "nowhere.test")  # NXDOMAIN everywhere
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines() == [
        "MX",
        "  should publish: nowhere.test. IN MX 10 gw.example.test.",
        "  publishes:      nothing",
        "  MISSING",
        "",
        "SPF",
        '  should publish: nowhere.test. IN TXT "v=spf1 mx -all"',
        "  publishes:      nothing",
        "  MISSING",
        "",
        "DKIM",
        "  should publish: a key record: no [[dkim.keys]] for nowhere.test in the configuration",
        "  MISSING: mail from nowhere.test is not signed"
        " (`mailgateway dkim keygen nowhere.test SELECTOR`)",
        "",
        "DMARC",
        '  should publish: _dmarc.nowhere.test. IN TXT "v=DMARC1; p=quarantine;'
        ' rua=mailto:postmaster@nowhere.test"',
        "  publishes:      nothing",
        "  MISSING",
        "",
        "nowhere.test: 4 of 4 records missing or different",
    ]


def test_unusable_records(config: Path) -> None:
    done = mailgateway(config, "dns", "check", "odd.test")
    assert (done.returncode, done.stderr) == (1, "")
    old = keys.dns_record("odd.test", "old", ED_PUBLIC, "ed25519").zone_line()
    assert done.stdout.splitlines() == [
        "MX",
        "  should publish: odd.test. IN MX 10 gw.example.test.",
        "  publishes:      odd.test. IN MX 0 .",
        "  DIFFERS: a null MX (RFC 7505): the domain says it accepts no mail",
        "",
        "SPF",
        '  should publish: odd.test. IN TXT "v=spf1 mx -all"',
        '  publishes:      odd.test. IN TXT "v=spf1 mx -all"',
        '                  odd.test. IN TXT "v=spf1 a -all"',
        "  DIFFERS: 2 SPF records: a permerror for every check (RFC 7208 4.5)",
        "",
        "DKIM old (ed25519, published only)",
        f"  should publish: {old}",
        '  publishes:      old._domainkey.odd.test. IN TXT "v=DKIM1; k=ed25519; h=sha1;'
        ' s=tlsrpt; p="',
        "  DIFFERS: p= is empty: the key is revoked (RFC 6376 3.6.1);"
        " h=sha1 does not allow sha256; s=tlsrpt does not include email",
        "",
        "DMARC",
        '  should publish: _dmarc.odd.test. IN TXT "v=DMARC1; p=none; pct=150"',
        '  publishes:      _dmarc.odd.test. IN TXT "v=DMARC1; p=none; pct=150"',
        "  OK: policy none (monitoring only)",
        "  note: pct='150' is not a number from 0 to 100; 100 used",
        "",
        "odd.test: 3 of 4 records missing or different",
    ]


def test_servfail_is_a_temporary_failure(config: Path) -> None:
    for domain, failed in (
        ("flaky.test", "TXT _dmarc.flaky.test: server failure (SERVFAIL)"),
        # SPF's temperror (RFC 7208 2.6.6) is a temporary failure too
        (
            "flaky.odd.test",
            "SPF check of flaky.odd.test for 192.0.2.25: TXT lookup for _spf.flaky.test:"
            " TXT _spf.flaky.test: server failure (SERVFAIL)",
        ),
    ):
        done = mailgateway(config, "dns", "check", domain)
        assert (done.returncode, done.stdout) == (75, ""), done.stderr  # EX_TEMPFAIL
        assert done.stderr.splitlines() == [
            f"mailgateway: DNS lookup failed temporarily: {failed}; try again later"
        ]


def test_unusable_key_file_and_bad_domain(config: Path, tmp_path: Path) -> None:
    (tmp_path / "rsa.pem").unlink()
    done = mailgateway(config, "dns", "check", "bad.test")
    assert (done.returncode, done.stdout) == (78, "")  # EX_CONFIG
    assert done.stderr.splitlines() == [
        f"mailgateway: dkim.keys[3].key: {tmp_path / 'rsa.pem'}: no such key file"
    ]
    done = mailgateway(config, "dns", "check", "not..a.domain")
    assert (done.returncode, done.stdout) == (64, "")  # EX_USAGE
    assert done.stderr == "mailgateway: 'not..a.domain' is not a domain name\n"
