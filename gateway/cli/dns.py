"""``mailgateway dns check DOMAIN``: the DNS records DOMAIN needs for this gateway.

For each kind of record, what DOMAIN should publish (zone-file lines to
paste), what DNS has now, and the verdict (``OK``, ``MISSING`` or
``DIFFERS: why``):

MX
    an MX record pointing at this gateway (``[server] hostname``); other MX
    hosts beside it are fine (backups), a null MX (RFC 7505) is not.
SPF
    one ``v=spf1`` TXT record at DOMAIN that authorises the gateway: it is
    evaluated (RFC 7208 check_host) for each address DNS gives the gateway's
    hostname (A and AAAA), rather than compared as text. Suggested: ``v=spf1
    mx -all``, or the present record with ``a:HOSTNAME`` added.
DKIM
    for every ``[[dkim.keys]]`` key of DOMAIN, signing or published only
    (``sign = false``, key rotation), the key record at
    ``SELECTOR._domainkey.DOMAIN`` (RFC 6376 3.6.1, 3.6.2.1): its p= and k=
    must be the key's. A subdomain without keys of its own is fine when a
    parent domain signs for it (relaxed alignment, RFC 7489 3.1.1).
DMARC
    a ``v=DMARC1`` TXT record at ``_dmarc.DOMAIN`` (RFC 7489 6.1; for a
    subdomain, its organisational domain's record applies when it has none,
    6.6.3), whose policy is shown. Suggested: ``v=DMARC1; p=quarantine;
    rua=mailto:postmaster@DOMAIN``.

DNS is asked as the gateway asks it (``[dns]``). Exit status: 0 when every
record is OK, 1 when one is missing or differs, 75 (EX_TEMPFAIL) when a DNS
lookup failed temporarily (SERVFAIL, timeout), 78 (EX_CONFIG) when a key
file of ``[[dkim.keys]]`` cannot be read, 64 (EX_USAGE) for a DOMAIN that
is not a domain name.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from dkim import util as dkim_util
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from gateway.authn import dmarc, spf
from gateway.authn.dkim import key_name
from gateway.authn.dns import DNSError, Lookup, TwistedLookup
from gateway.authn.keys import KeyFileError, dns_record, load_private_key
from gateway.authn.signer import signing_domain
from gateway.cli.errors import error
from gateway.cli.main import EX_CONFIG, EX_OK, EX_TEMPFAIL, EX_USAGE

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["EX_DIFFERS", "Check", "check_domain", "register"]

#: Something is missing or differs (as diff(1) says "the inputs differ").
EX_DIFFERS: Final = 1
MX_PREFERENCE: Final = 10
_INDENT: Final = "  "
_WSP = re.compile(rb"\s+")

Status = Literal["OK", "MISSING", "DIFFERS"]
T = TypeVar("T")


@dataclass(slots=True)
class Check:
    """The verdict on one record (kind): what should be there, what is."""

    title: str  # "MX", "SPF", "DKIM r2025 (rsa, signs)", "DMARC"
    should: list[str]  # zone-file lines, or one line of words
    publishes: list[str] | None  # zone-file lines; [] nothing; None: not asked
    status: Status
    why: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def lines(self) -> list[str]:
        out = [self.title]
        out += _labelled("should publish: ", self.should)
        if self.publishes is not None:
            out += _labelled("publishes:      ", self.publishes or ["nothing"])
        out.append(_INDENT + (f"{self.status}: {self.why}" if self.why else self.status))
        out += [f"{_INDENT}note: {n}" for n in self.notes]
        return out


def _labelled(label: str, values: list[str]) -> list[str]:
    pad = " " * len(label)
    return [f"{_INDENT}{label if i == 0 else pad}{v}" for i, v in enumerate(values)]


def _txt_line(name: str, text: str) -> str:
    """A TXT record as a zone-file line; character-strings of at most 255
    octets (RFC 1035 3.3.14), ``"`` and ``\\`` escaped."""
    pieces = [text[i : i + 255] for i in range(0, len(text), 255)] or [""]
    quoted = " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in pieces)
    return f"{name}. IN TXT {quoted}"


def _decode(txt: bytes) -> str:
    return txt.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# The checks


async def check_mx(domain: str, hostname: str, lookup: Lookup) -> Check:
    records = sorted(await lookup.mx(domain))
    published = [f"{domain}. IN MX {pref} {host + '.' if host else '.'}" for pref, host in records]
    ours = [(p, h) for p, h in records if h.lower().rstrip(".") == hostname]
    should = [f"{domain}. IN MX {MX_PREFERENCE} {hostname}."]
    if ours:
        pref, host = ours[0]
        return Check("MX", [f"{domain}. IN MX {pref} {host}."], published, "OK")
    if not records:
        return Check("MX", should, published, "MISSING")
    if all(not h for _p, h in records):
        why = "a null MX (RFC 7505): the domain says it accepts no mail"
    else:
        others = ", ".join(h or "." for _p, h in records)
        why = f"no MX points at {hostname} (mail goes to {others})"
    return Check("MX", should, published, "DIFFERS", why)


async def check_spf(domain: str, hostname: str, lookup: Lookup, clock: Any) -> Check:
    suggested = "v=spf1 mx -all"
    records = [_decode(t) for t in await lookup.txt(domain) if spf.is_spf_record(t)]
    published = [_txt_line(domain, r) for r in records]
    if not records:
        return Check("SPF", [_txt_line(domain, suggested)], published, "MISSING")
    if len(records) > 1:
        why = f"{len(records)} SPF records: a permerror for every check (RFC 7208 4.5)"
        return Check("SPF", [_txt_line(domain, suggested)], published, "DIFFERS", why)
    (record,) = records
    addresses = await lookup.a(hostname) + await lookup.aaaa(hostname)
    if not addresses:
        why = f"{hostname} has no A or AAAA record: nothing to authorise"
        return Check("SPF", [_txt_line(domain, record)], published, "DIFFERS", why)
    passed: list[str] = []
    failed: list[str] = []
    broken: str | None = None
    for ip in addresses:
        result = await spf.check_host(
            ip, domain, f"postmaster@{domain}", hostname, lookup, receiver=hostname, clock=clock
        )
        if result.result == "temperror":
            raise DNSError(f"SPF check of {domain} for {ip}: {result.problem}", temporary=True)
        if result.result == "pass":
            passed.append(f"{ip} ({result.mechanism})")
        elif result.result == "permerror":
            broken = result.problem
        else:
            matched = f"matched {result.mechanism}" if result.mechanism else "nothing matched"
            failed.append(f"{ip} ({result.result}, {matched})")
    if broken is not None:
        why = f"permerror: {broken}"
        return Check("SPF", [_txt_line(domain, suggested)], published, "DIFFERS", why)
    if failed:
        words = record.split(" ", 1)
        fixed = " ".join([words[0], f"a:{hostname}", *words[1:]])
        why = "does not authorise " + ", ".join(failed)
        return Check("SPF", [_txt_line(domain, fixed)], published, "DIFFERS", why)
    return Check(
        "SPF", [_txt_line(domain, record)], published, "OK", "pass for " + ", ".join(passed)
    )


def _key_differences(record: bytes, public: str, algorithm: str) -> list[str]:
    """What is wrong with key record ``record`` for the key ``public`` of
    ``algorithm`` (RFC 6376 3.6.1), compared tag by tag."""
    try:
        tags = dkim_util.parse_tag_value(record)
    except dkim_util.InvalidTagValueList as e:
        return [f"not a key record (RFC 6376 3.6.1): {e}"]
    wrong: list[str] = []
    version = tags.get(b"v", b"DKIM1").strip()
    if version != b"DKIM1":
        wrong.append(f"v={_decode(version)}, not DKIM1")
    k = _decode(tags.get(b"k", b"rsa").strip())
    if k != algorithm:
        wrong.append(f"k={k}{'' if b'k' in tags else ' (the default)'}, the key is {algorithm}")
    if b"p" not in tags:
        wrong.append("no p= tag")
    else:
        p = _WSP.sub(b"", tags[b"p"])
        if not p:
            wrong.append("p= is empty: the key is revoked (RFC 6376 3.6.1)")
        elif p != public.encode("ascii"):
            wrong.append("p= is another public key")
    if b"h" in tags and b"sha256" not in [h.strip() for h in tags[b"h"].split(b":")]:
        wrong.append(f"h={_decode(tags[b'h'])} does not allow sha256")
    services = [s.strip() for s in tags.get(b"s", b"*").split(b":")]
    if b"*" not in services and b"email" not in services:
        wrong.append(f"s={_decode(tags[b's'])} does not include email")
    return wrong


async def check_dkim(domain: str, settings: Settings, lookup: Lookup) -> list[Check]:
    configured = [
        (index, key)
        for index, key in enumerate(settings.dkim.keys)
        if key.domain.rstrip(".").lower() == domain
    ]
    if not configured:
        signing = {k.domain for k in settings.dkim.keys if k.sign}
        parent = signing_domain(domain, signing)
        if parent is not None:
            should = [f"nothing: mail from {domain} is signed by d={parent} (relaxed alignment)"]
            return [Check("DKIM", should, None, "OK", f"check {parent} for its key records")]
        should = [f"a key record: no [[dkim.keys]] for {domain} in the configuration"]
        why = f"mail from {domain} is not signed (`mailgateway dkim keygen {domain} SELECTOR`)"
        return [Check("DKIM", should, None, "MISSING", why)]
    checks: list[Check] = []
    for index, key in configured:
        try:
            private = load_private_key(key.key)
        except KeyFileError as e:
            raise KeyFileError(f"dkim.keys[{index}].key: {e}") from None
        expected = dns_record(domain, key.selector, private.public, private.algorithm)
        name = key_name(domain, key.selector)
        records = await lookup.txt(name)
        published = [_txt_line(name, _decode(r)) for r in records]
        role = "signs" if key.sign else "published only"
        title = f"DKIM {key.selector} ({private.algorithm}, {role})"
        should = [expected.zone_line()]
        if not records:
            checks.append(Check(title, should, published, "MISSING"))
        elif len(records) > 1:
            why = f"{len(records)} TXT records at {name} (RFC 6376 3.6.2.2: undefined)"
            checks.append(Check(title, should, published, "DIFFERS", why))
        elif wrong := _key_differences(records[0], private.public, private.algorithm):
            checks.append(Check(title, should, published, "DIFFERS", "; ".join(wrong)))
        else:
            checks.append(Check(title, should, published, "OK"))
    return checks


async def _dmarc_records(name: str, lookup: Lookup) -> tuple[list[str], list[str]]:
    """(the DMARC records at ``name``, every TXT record there as zone lines)."""
    texts = [_decode(t) for t in await lookup.txt(name)]
    return [t for t in texts if dmarc.is_dmarc_record(t)], [_txt_line(name, t) for t in texts]


def _policy(record: dmarc.DMARCRecord, subdomain: bool) -> str:
    policy = record.sp if subdomain else record.p
    words = f"policy {policy}"
    if not subdomain and record.sp != record.p:
        words += f", subdomains {record.sp}"
    if record.pct != 100:
        words += f", applied to {record.pct}%"
    if policy == "none":
        words += " (monitoring only)"
    return words


async def check_dmarc(domain: str, lookup: Lookup) -> Check:
    name = f"_dmarc.{domain}"
    suggested = _txt_line(name, f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}")
    records, published = await _dmarc_records(name, lookup)
    subdomain = False
    if not records:
        org = dmarc.organisational_domain(domain)
        if org == domain:
            return Check("DMARC", [suggested], published, "MISSING")
        # RFC 7489 6.6.3: the organisational domain's record applies
        records, org_published = await _dmarc_records(f"_dmarc.{org}", lookup)
        if len(records) != 1:
            return Check("DMARC", [suggested], published, "MISSING")
        name, published, subdomain = f"_dmarc.{org}", published + org_published, True
    if len(records) > 1:
        why = f"{len(records)} DMARC records at {name}: none applies (RFC 7489 6.6.3)"
        return Check("DMARC", [suggested], published, "DIFFERS", why)
    try:
        record = dmarc.parse_record(records[0])
    except dmarc.DMARCRecordError as e:
        return Check("DMARC", [suggested], published, "DIFFERS", str(e))
    why = _policy(record, subdomain)
    if subdomain:
        why = f"{name} applies to {domain}: {why}"
    return Check(
        "DMARC", [_txt_line(name, records[0])], published, "OK", why, list(record.warnings)
    )


async def check_domain(domain: str, settings: Settings, lookup: Lookup, clock: Any) -> list[Check]:
    """Every check of ``domain`` (lower case, no final dot), in output order.
    Raises :class:`DNSError` (temporary) and :class:`KeyFileError`."""
    hostname = settings.hostname.rstrip(".").lower()
    checks = [await check_mx(domain, hostname, lookup)]
    checks.append(await check_spf(domain, hostname, lookup, clock))
    checks += await check_dkim(domain, settings, lookup)
    checks.append(await check_dmarc(domain, lookup))
    return checks


def report(domain: str, checks: list[Check]) -> list[str]:
    """The output: one block per check, then a summary line."""
    out: list[str] = []
    for check in checks:
        out += [*check.lines(), ""]
    bad = sum(not c.ok for c in checks)
    if bad:
        out.append(f"{domain}: {bad} of {len(checks)} records missing or different")
    else:
        out.append(f"{domain}: all {len(checks)} records OK")
    return out


# ---------------------------------------------------------------------------
# The command


def register(subparsers: Any) -> None:
    """Add the ``dns`` command and its ``check`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dns",
        help="the DNS records of a mail domain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="dns_command", required=True, metavar="<subcommand>")
    check = sub.add_parser(
        "check",
        help="compare the MX, SPF, DKIM and DMARC records of DOMAIN with what it needs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("domain", help="the mail domain, e.g. example.org")
    check.set_defaults(func=dns_check)


def _run(work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run ``work(reactor)`` on a private reactor until it is done."""
    from twisted.internet.selectreactor import SelectReactor

    reactor = SelectReactor()
    outcome: list[T | Failure] = []

    def start() -> None:
        done = Deferred.fromCoroutine(work(reactor))
        done.addBoth(outcome.append)
        done.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    (result,) = outcome
    if isinstance(result, Failure):
        result.raiseException()
    return result


def dns_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        domain = dmarc.normalise_domain(str(args.domain))
    except ValueError as e:
        error(str(e))
        return EX_USAGE

    async def work(reactor: Any) -> list[Check]:
        lookup = TwistedLookup.from_settings(settings.dns, reactor)
        return await check_domain(domain, settings, lookup, reactor)

    try:
        checks = _run(work)
    except KeyFileError as e:
        error(str(e))
        return EX_CONFIG
    except DNSError as e:
        if e.temporary:
            error(f"DNS lookup failed temporarily: {e}; try again later")
            return EX_TEMPFAIL
        error(str(e))
        return EX_USAGE
    print("\n".join(report(domain, checks)))
    return EX_OK if all(c.ok for c in checks) else EX_DIFFERS
