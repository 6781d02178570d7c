"""DMARC (RFC 7489): policy discovery, record parsing, identifier alignment
and the verdict for one message.

The SPF and DKIM checks run first; their verdicts come in as plain data
(:class:`SPFOutcome`, :class:`DKIMOutcome`), so this module depends on
neither. :func:`evaluate` asks DNS for the policy record through
:class:`gateway.authn.dns.Lookup` and returns a :class:`DMARCResult`: the
DMARC result (RFC 7489 11.2: pass, fail, none, temperror, permerror), the
disposition to apply after ``pct`` sampling (6.6.4), which identifier
aligned, the record used and a reason. Acting on it (quarantine, reject) is
the caller's business: the verdict is data.

The organisational domain (3.2) comes from the Public Suffix List of the
``publicsuffixlist`` package, ICANN and private sections both.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import TYPE_CHECKING, Final, Literal

from twisted.internet.defer import Deferred

from gateway.authn.dns import DNSError, Lookup

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

    from gateway.authn.results import Method

__all__ = [
    "DKIMOutcome",
    "DMARCRecord",
    "DMARCRecordError",
    "DMARCResult",
    "SPFOutcome",
    "aligned",
    "evaluate",
    "from_domains",
    "is_dmarc_record",
    "normalise_domain",
    "organisational_domain",
    "parse_record",
]

Policy = Literal["none", "quarantine", "reject"]
Mode = Literal["r", "s"]  # relaxed, strict (RFC 7489 3.1)
Result = Literal["pass", "fail", "none", "temperror", "permerror"]

POLICIES: Final[tuple[Policy, ...]] = ("none", "quarantine", "reject")
# RFC 7489 6.6.4: a failing message not selected by "pct" gets the next policy
# down.
_LOWER: Final[dict[Policy, Policy]] = {
    "reject": "quarantine",
    "quarantine": "none",
    "none": "none",
}
DEFAULT_RI: Final = 86400


# ---------------------------------------------------------------------------
# The inputs: what SPF and DKIM found


@dataclass(frozen=True, slots=True)
class SPFOutcome:
    """One SPF verdict (RFC 7208 2.6): the domain checked and the result
    (``pass``, ``fail``, ``softfail``, ``neutral``, ``none``, ``temperror``,
    ``permerror``). ``scope`` is the identity checked: ``mfrom`` (the
    RFC5321.MailFrom domain; for a null reverse-path, RFC 7208 2.4 checks
    postmaster@<HELO domain> and that is still ``mfrom``) or ``helo``."""

    domain: str
    result: str
    scope: Literal["mfrom", "helo"] = "mfrom"


@dataclass(frozen=True, slots=True)
class DKIMOutcome:
    """One DKIM signature's verdict (RFC 6376, RFC 8601 2.7.1): its ``d=``
    domain and the result (``pass``, ``fail``, ``neutral``, ``temperror``,
    ``permerror``, ...)."""

    domain: str
    result: str


# ---------------------------------------------------------------------------
# Domains


_psl: PublicSuffixList | None = None
# Letters, digits, hyphens (RFC 1035 2.3.1) and the underscores some names in
# use carry; no address literals.
_LDH = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


def _public_suffix_list() -> PublicSuffixList:
    global _psl
    if _psl is None:  # loading the list takes a while: once, on first use
        from publicsuffixlist import PublicSuffixList

        _psl = PublicSuffixList()
    return _psl


def normalise_domain(domain: str) -> str:
    """``domain`` lower case, without a final dot, its U-labels as A-labels
    (IDNA, so it can be compared with names from DNS and the PSL). Raises
    :class:`ValueError` for what is not a domain name."""
    name = domain.strip().rstrip(".").lower()
    if not name or ".." in name or name.startswith("."):
        raise ValueError(f"{domain!r} is not a domain name")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise ValueError(f"{domain!r} is not a valid internationalised name: {e}") from None
    if not _LDH.fullmatch(name):
        raise ValueError(f"{domain!r} is not a domain name")
    if any(len(label) > 63 for label in name.split(".")) or len(name) > 253:
        raise ValueError(f"{domain!r} is too long for a domain name")
    return name


def organisational_domain(domain: str, psl: PublicSuffixList | None = None) -> str:
    """The Organizational Domain of ``domain`` (RFC 7489 3.2): its public
    suffix plus one label. A domain that is itself a public suffix (or has no
    label to add) is its own organisational domain."""
    name = normalise_domain(domain)
    org = (psl or _public_suffix_list()).privatesuffix(name)
    return str(org) if org else name


def aligned(identifier: str, from_domain: str, mode: Mode) -> bool:
    """Whether an authenticated ``identifier`` aligns with the RFC5322.From
    domain (RFC 7489 3.1.1, 3.1.2): in strict mode the two are the same name;
    in relaxed mode their organisational domains are the same."""
    try:
        ident = normalise_domain(identifier)
        author = normalise_domain(from_domain)
    except ValueError:
        return False
    if mode == "s":
        return ident == author
    return organisational_domain(ident) == organisational_domain(author)


def from_addresses(message: bytes) -> list[str]:
    """Every mailbox address in every From field of ``message``, in order."""
    # 8-bit header text is UTF-8 (RFC 6532 3.2); other octets stay escaped
    # and fail as domain names later.
    text = message.decode("utf-8", "surrogateescape")
    headers = HeaderParser(policy=compat32).parsestr(text, headersonly=True)
    values = [str(v) for v in headers.get_all("From", [])]
    return [address for _name, address in getaddresses(values) if address]


def from_domains(message: bytes) -> list[str]:
    """The domain of every mailbox in every From field of ``message`` (RFC
    7489 6.6.1), lower case, in order; ``""`` for a mailbox without one.
    :func:`evaluate` wants exactly one distinct domain in this list."""
    return domains_of(from_addresses(message))


def domains_of(addresses: Iterable[str]) -> list[str]:
    """The domain of each address as :func:`from_domains` gives it."""
    out: list[str] = []
    for address in addresses:
        local, at, domain = address.rpartition("@")
        out.append(domain.strip().rstrip(".").lower() if at and local else "")
    return out


# ---------------------------------------------------------------------------
# The record (RFC 7489 6.3, 6.4)


class DMARCRecordError(ValueError):
    """A DMARC record (it starts with ``v=DMARC1``) that cannot be used as a
    policy (RFC 7489 6.6.3 step 6); the message says why."""


@dataclass(frozen=True, slots=True)
class DMARCRecord:
    """A parsed DMARC policy record; tag names as in RFC 7489 6.3. ``sp``
    defaults to ``p``; invalid optional tags fall back to their defaults and
    are listed in ``warnings`` (6.3: "syntax errors in the remainder of the
    record SHOULD be discarded in favor of default values")."""

    p: Policy
    sp: Policy
    pct: int = 100
    adkim: Mode = "r"
    aspf: Mode = "r"
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    fo: tuple[str, ...] = ("0",)
    rf: tuple[str, ...] = ("afrf",)
    ri: int = DEFAULT_RI
    text: str = ""
    warnings: tuple[str, ...] = ()


# RFC 7489 6.4: dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31
_VERSION = re.compile(r"[ \t\r\n]*[vV][ \t]*=[ \t]*DMARC1[ \t\r\n]*(?:;|\Z)")
_TAG = re.compile(r"[ \t\r\n]*([A-Za-z][A-Za-z0-9_]*)[ \t\r\n]*=(.*)", re.DOTALL)
# RFC 3986 3.1 scheme ":" then visible characters but "," (RFC 7489 6.2: a
# comma in a URI must be %-encoded), then 6.4's optional size limit "!10m".
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[!-+\--~]+?(?:![0-9]+[kmgtKMGT]?)?")
_FO = re.compile(r"[01ds]")
_RF = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def is_dmarc_record(text: str) -> bool:
    """Whether a TXT record is a DMARC record at all: it starts with
    ``v=DMARC1`` (RFC 7489 6.6.3 step 3; "DMARC1" is case-sensitive in the
    ABNF of 6.4, the tag name is not)."""
    return _VERSION.match(text) is not None


def _tags(text: str) -> dict[str, str]:
    """The tag-list (RFC 6376 3.2, which RFC 7489 6.3 uses): name -> value,
    names lower case, values stripped of surrounding white space. Empty
    tag-specs (``;;``) are tolerated; a spec without ``=`` or a duplicate
    name makes the whole list invalid."""
    tags: dict[str, str] = {}
    for spec in text.split(";"):
        if not spec.strip(" \t\r\n"):
            continue
        match = _TAG.fullmatch(spec)
        if match is None:
            raise DMARCRecordError(f"malformed tag-spec {spec.strip()!r}")
        name = match.group(1).lower()
        if name in tags:
            raise DMARCRecordError(f"tag {name!r} occurs more than once (RFC 6376 3.2)")
        tags[name] = match.group(2).strip(" \t\r\n")
    return tags


def _uris(value: str, tag: str, warnings: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in value.split(","):
        uri = item.strip(" \t\r\n")
        if _URI.fullmatch(uri):
            out.append(uri)
        else:
            warnings.append(f"{tag}: invalid URI {uri!r} ignored")
    return tuple(out)


def _policy(value: str | None) -> Policy | None:
    if value is None:
        return None
    for policy in POLICIES:
        if value.lower() == policy:
            return policy
    return None


def _mode(tags: dict[str, str], tag: str, warnings: list[str]) -> Mode:
    value = tags.get(tag, "r").lower()
    if value == "s":
        return "s"
    if value != "r":
        warnings.append(f"{tag}={value!r} is not r or s; relaxed used")
    return "r"


def _number(tags: dict[str, str], tag: str, default: int, top: int, warnings: list[str]) -> int:
    value = tags.get(tag)
    if value is None:
        return default
    if value.isascii() and value.isdigit() and int(value) <= top:
        return int(value)
    warnings.append(f"{tag}={value!r} is not a number from 0 to {top}; {default} used")
    return default


def _list(
    tags: dict[str, str],
    tag: str,
    pattern: re.Pattern[str],
    default: tuple[str, ...],
    warnings: list[str],
) -> tuple[str, ...]:
    value = tags.get(tag)
    if value is None:
        return default
    items = tuple(item.strip(" \t\r\n").lower() for item in value.split(":"))
    if all(pattern.fullmatch(item) for item in items):
        return items
    warnings.append(f"{tag}={value!r} is not valid; {':'.join(default)} used")
    return default


def parse_record(text: str) -> DMARCRecord:
    """Parse a DMARC record (RFC 7489 6.3, 6.4).

    Raises :class:`DMARCRecordError` when it is not one (no leading
    ``v=DMARC1``), when the tag-list is malformed, and when ``p`` is missing
    or invalid (or ``sp`` invalid) and no valid ``rua`` URI is given; with a
    valid ``rua`` such a record counts as ``p=none`` (6.6.3 step 6). Unknown
    tags are ignored (6.3).
    """
    if not is_dmarc_record(text):
        raise DMARCRecordError("not a DMARC record: it must start with v=DMARC1")
    tags = _tags(text)
    warnings: list[str] = []
    rua = _uris(tags["rua"], "rua", warnings) if "rua" in tags else ()
    ruf = _uris(tags["ruf"], "ruf", warnings) if "ruf" in tags else ()
    p = _policy(tags.get("p"))
    sp = _policy(tags.get("sp")) if "sp" in tags else p
    if p is None or sp is None:
        problem = (
            "no p tag"
            if "p" not in tags
            else f"invalid p={tags['p']!r}"
            if p is None
            else f"invalid sp={tags['sp']!r}"
        )
        if not rua:
            raise DMARCRecordError(f"{problem} (RFC 7489 6.6.3)")
        warnings.append(f"{problem}; p=none used since rua is valid (RFC 7489 6.6.3 step 6)")
        p = sp = "none"
    return DMARCRecord(
        p=p,
        sp=sp,
        pct=_number(tags, "pct", 100, 100, warnings),
        adkim=_mode(tags, "adkim", warnings),
        aspf=_mode(tags, "aspf", warnings),
        rua=rua,
        ruf=ruf,
        fo=_list(tags, "fo", _FO, ("0",), warnings),
        rf=_list(tags, "rf", _RF, ("afrf",), warnings),
        ri=_number(tags, "ri", DEFAULT_RI, 2**32 - 1, warnings),
        text=text,
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------
# Discovery (RFC 7489 6.6.3)


@dataclass(frozen=True, slots=True)
class _Found:
    """What one ``_dmarc`` name held: the DMARC records (others dropped)."""

    name: str
    records: tuple[str, ...]


class _Temporary(Exception):
    pass


async def _records_at(domain: str, lookup: Lookup) -> _Found:
    name = f"_dmarc.{domain}"
    try:
        answers = await lookup.txt(name)
    except DNSError as e:
        if e.temporary:
            raise _Temporary(f"{name}: {e}") from None
        answers = []  # a name that cannot be asked holds no record
    texts = (raw.decode("utf-8", "replace") for raw in answers)
    return _Found(name, tuple(t for t in texts if is_dmarc_record(t)))


async def _discover(domain: str, lookup: Lookup) -> _Found | None:
    """The DMARC records for the From domain ``domain`` (already
    normalised): those of ``_dmarc.<domain>`` or, when there are none there,
    of ``_dmarc.<organisational domain>``. ``None`` when neither has one.
    Raises :class:`_Temporary` on a temporary DNS failure."""
    found = await _records_at(domain, lookup)
    if found.records:
        return found
    org = organisational_domain(domain)
    if org != domain:
        found = await _records_at(org, lookup)
        if found.records:
            return found
    return None


# ---------------------------------------------------------------------------
# The verdict


@dataclass(frozen=True, slots=True)
class DMARCResult:
    """The DMARC verdict for one message.

    ``result``: RFC 7489 11.2. ``policy``: the disposition to apply, after
    ``pct`` sampling ("none" unless the message failed). ``requested``: the
    policy the record asks for this From domain (``p``, or ``sp`` for a
    subdomain of the organisational domain whose record was used).
    ``spf`` / ``dkim``: the passing outcome that aligned, if any.
    """

    result: Result
    from_domain: str
    policy: Policy = "none"
    requested: Policy | None = None
    record: DMARCRecord | None = None
    record_domain: str | None = None
    spf: SPFOutcome | None = None
    dkim: DKIMOutcome | None = None
    sampled: bool = True
    reason: str = ""

    @property
    def aligned(self) -> Literal["dkim", "spf", "both", None]:
        """Which authenticated identifier aligned, if any."""
        if self.dkim and self.spf:
            return "both"
        return "dkim" if self.dkim else "spf" if self.spf else None

    def as_method(self) -> Method:
        """``("dmarc", result, {"header.from": ...}, reason)`` for
        :func:`gateway.authn.results.authentication_results` (RFC 7489 11.2
        registers the ``header.from`` property)."""
        properties = {"header.from": self.from_domain} if self.from_domain else {}
        return ("dmarc", self.result, properties, self.reason or None)


def _spf_in_scope(spf: Iterable[SPFOutcome]) -> list[SPFOutcome]:
    """The SPF outcomes DMARC uses (RFC 7489 4.1): those of the MAIL FROM
    identity; the HELO ones only when there is no MAIL FROM outcome at all
    (a null reverse-path checked as HELO by the caller)."""
    outcomes = list(spf)
    mfrom = [o for o in outcomes if o.scope == "mfrom"]
    return mfrom or [o for o in outcomes if o.scope == "helo"]


def _distinct_from(from_domain: str | Sequence[str]) -> str:
    """The single From domain, normalised (RFC 7489 6.6.1); ValueError when
    there are none, several different ones, or it is not a domain."""
    candidates = [from_domain] if isinstance(from_domain, str) else list(from_domain)
    if not candidates:
        raise ValueError("no RFC5322.From domain")
    if any(not c for c in candidates):
        raise ValueError("an RFC5322.From address without a domain")
    domains = {normalise_domain(c) for c in candidates}
    if len(domains) > 1:
        raise ValueError(f"RFC5322.From has several domains: {', '.join(sorted(domains))}")
    return domains.pop()


def _select(
    record: DMARCRecord, requested: Policy, rand: Callable[[], float]
) -> tuple[Policy, bool]:
    """The policy applied to a failing message after ``pct`` sampling (RFC
    7489 6.6.4): ``rand`` in [0, 1) is drawn only when 0 < pct < 100."""
    if record.pct >= 100:
        sampled = True
    elif record.pct <= 0:
        sampled = False
    else:
        sampled = rand() * 100 < record.pct
    return (requested if sampled else _LOWER[requested]), sampled


async def _evaluate(
    from_domain: str | Sequence[str],
    spf: Sequence[SPFOutcome],
    dkim: Sequence[DKIMOutcome],
    lookup: Lookup,
    rand: Callable[[], float],
) -> DMARCResult:
    shown = from_domain if isinstance(from_domain, str) else ",".join(from_domain)
    try:
        author = _distinct_from(from_domain)
    except ValueError as e:
        return DMARCResult("permerror", shown, reason=f"{e} (RFC 7489 6.6.1)")

    try:
        found = await _discover(author, lookup)
    except _Temporary as e:
        return DMARCResult("temperror", author, reason=f"DNS: {e}")
    if found is None:
        return DMARCResult("none", author, reason="no DMARC policy published")
    record_domain = found.name.removeprefix("_dmarc.")
    if len(found.records) > 1:
        return DMARCResult(
            "permerror",
            author,
            record_domain=record_domain,
            reason=f"{found.name}: {len(found.records)} DMARC records (RFC 7489 6.6.3 step 5)",
        )
    try:
        record = parse_record(found.records[0])
    except DMARCRecordError as e:
        return DMARCResult(
            "permerror", author, record_domain=record_domain, reason=f"{found.name}: {e}"
        )
    requested = record.p if record_domain == author else record.sp

    base = DMARCResult(
        "fail", author, requested=requested, record=record, record_domain=record_domain
    )

    # RFC 7489 3.1, 4.2: a pass of either mechanism with an aligned identifier.
    dkim_ok = [d for d in dkim if d.result == "pass" and aligned(d.domain, author, record.adkim)]
    spf_scope = _spf_in_scope(spf)
    spf_ok = [
        s for s in spf_scope if s.result == "pass" and aligned(s.domain, author, record.aspf)
    ]
    if dkim_ok or spf_ok:
        which = " and ".join(
            f"{kind} {outcomes[0].domain}"
            for kind, outcomes in (("DKIM", dkim_ok), ("SPF", spf_ok))
            if outcomes
        )
        return replace(
            base,
            result="pass",
            dkim=dkim_ok[0] if dkim_ok else None,
            spf=spf_ok[0] if spf_ok else None,
            reason=f"aligned {which}",
        )

    # A temporary failure of an aligned identifier could still become a pass.
    pending = [
        f"DKIM {d.domain}"
        for d in dkim
        if d.result == "temperror" and aligned(d.domain, author, record.adkim)
    ] + [
        f"SPF {s.domain}"
        for s in spf_scope
        if s.result == "temperror" and aligned(s.domain, author, record.aspf)
    ]
    if pending:
        return replace(
            base, result="temperror", reason=f"temporary error for aligned {', '.join(pending)}"
        )

    policy, sampled = _select(record, requested, rand)
    reason = f"no aligned SPF or DKIM pass; p={requested}"
    if not sampled:
        reason += f", not selected by pct={record.pct}"
    return replace(base, policy=policy, sampled=sampled, reason=reason)


def evaluate(
    from_domain: str | Sequence[str],
    spf: Sequence[SPFOutcome],
    dkim: Sequence[DKIMOutcome],
    lookup: Lookup,
    *,
    rand: Callable[[], float] = random.random,
) -> Deferred[DMARCResult]:
    """The DMARC verdict for a message (RFC 7489 6.6).

    ``from_domain``: the RFC5322.From domain, or the domains of all its
    mailboxes (:func:`from_domains`); anything but exactly one distinct
    domain is a ``permerror`` (6.6.1). ``spf``, ``dkim``: what those checks
    found. ``rand`` gives a float in [0, 1) for ``pct`` sampling.

    Results: ``none`` without a policy record; ``temperror`` when DNS failed
    temporarily, or when no aligned identifier passed but an aligned one had
    a temporary error (a retry could pass); ``permerror`` for a record that
    cannot be used (several records, syntax) or a bad From; otherwise
    ``pass`` or ``fail``. Never fails with an exception for what the message
    or DNS holds.
    """
    return Deferred.fromCoroutine(_evaluate(from_domain, spf, dkim, lookup, rand))
