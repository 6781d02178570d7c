"""The Sender Policy Framework: RFC 7208's check_host() function.

:func:`check_host` evaluates the SPF record of a domain for a client address,
asynchronously, asking DNS only through :class:`gateway.authn.dns.Lookup`
(never blocking the reactor). :func:`check_mailfrom` and :func:`check_helo`
derive its arguments from the SMTP session for the two identities RFC 7208
2.3 and 2.4 check. The result is data (:class:`SPFResult`): the result name,
the mechanism that matched, the explanation of a ``fail`` and the problem of
a ``permerror``/``temperror``; :func:`received_spf_header` and
:func:`method` format it for the Received-SPF (RFC 7208 9.1) and
Authentication-Results (RFC 8601 2.7.2) header fields.

Implemented (section numbers of RFC 7208):

- 4.3 initial processing: a malformed or single-label domain (or an address
  literal) gives ``none``; a sender without local part is ``postmaster``.
- 4.4, 4.5 record lookup and selection: TXT only (the SPF RR type is gone);
  records starting ``v=spf1`` then a space or their end; more than one is a
  ``permerror``. DNS timeouts and SERVFAIL are ``temperror``.
- 4.6 the whole record is parsed before it is evaluated, so a syntax error
  anywhere is a ``permerror``; its message names the position (1-based
  character offset in the record) and the term.
- 5 mechanisms ``all include a mx ptr ip4 ip6 exists`` with dual CIDR
  lengths; 6 modifiers ``redirect`` and ``exp`` (at most once each); unknown
  modifiers are checked for syntax and ignored.
- 4.6.4 limits: at most :data:`MAX_DNS_TERMS` terms that query DNS
  (include, a, mx, ptr, exists, redirect), at most :data:`MAX_VOID_LOOKUPS`
  void lookups (NXDOMAIN or no answer), at most :data:`MAX_MX_NAMES` MX
  records per ``mx`` (more is a ``permerror``), at most :data:`MAX_PTR_NAMES`
  PTR names looked at (the rest ignored).
- 7 macros ``%{s l o d i p h c r t v}`` with digit and ``r`` transformers,
  delimiters, upper-case letters URL-escaped, ``%% %_ %-``; ``c r t`` only in
  explanation text. An expanded domain longer than 253 octets loses labels
  from the left (7.3).
- 6.2 ``exp=``: only for ``fail``, only from the record that gave the result
  (not from an ``include``'d one; a ``redirect`` target's own); any problem
  with the explanation (DNS error, not exactly one TXT record, syntax, non
  ASCII) falls back to the default explanation.

An IPv4-mapped IPv6 client address (``::ffff:192.0.2.1``) is checked as the
IPv4 address it maps.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, cast
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from gateway.authn.dns import DNSError, Lookup
from gateway.authn.results import Method

Result = Literal["none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"]
Identity = Literal["mailfrom", "helo"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_DNS_TERMS: Final = 10  # RFC 7208 4.6.4
MAX_VOID_LOOKUPS: Final = 2  # RFC 7208 4.6.4
MAX_MX_NAMES: Final = 10  # RFC 7208 4.6.4
MAX_PTR_NAMES: Final = 10  # RFC 7208 4.6.4
MAX_DOMAIN_LENGTH: Final = 253

QUALIFIERS: Final[dict[str, Result]] = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS: Final = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
_DNS_MECHANISMS: Final = frozenset({"include", "a", "mx", "ptr", "exists"})


# ---------------------------------------------------------------------------
# The result


@dataclass(frozen=True, slots=True)
class SPFResult:
    """The outcome of one check.

    ``mechanism`` is the directive that matched as written (``"-all"``,
    ``"ip4:192.0.2.0/24"``), None when none did (the default ``neutral``, or a
    ``redirect``'s target decided without a match); ``explanation`` is the
    expanded ``exp=`` text (or the default) for ``fail`` only; ``problem``
    says what went wrong for ``permerror``, ``temperror`` and ``none``."""

    result: Result
    ip: str
    domain: str
    sender: str
    helo: str
    receiver: str
    identity: Identity = "mailfrom"
    mechanism: str | None = None
    explanation: str | None = None
    problem: str | None = None


class SPFSyntaxError(ValueError):
    """A record (or macro string) that does not follow RFC 7208 12's ABNF;
    ``position`` is the 1-based character offset of the error."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.position = position


# ---------------------------------------------------------------------------
# Macro strings (RFC 7208 7)


@dataclass(frozen=True, slots=True)
class Macro:
    """One ``%{...}`` macro-expand: letter (lower case), whether it was upper
    case (URL-escape the value), the digit transformer (0: all parts),
    reversal and the delimiters (default ``.``)."""

    letter: str
    escape: bool = False
    keep: int = 0
    reverse: bool = False
    delimiters: str = "."


MacroString = tuple[str | Macro, ...]

_LETTERS: Final = "slodipvh"
_EXP_LETTERS: Final = "slodipvhcrt"  # RFC 7208 7.2: c, r, t only in "exp" text
_MACRO: Final = re.compile(r"%\{([A-Za-z])([0-9]*)([rR]?)([.\-+,/_=]*)\}")
_LITERAL: Final = re.compile(r"[\x21-\x24\x26-\x7e]+")  # macro-literal: VCHAR but "%"


def parse_macro_string(text: str, *, explanation: bool = False, offset: int = 1) -> MacroString:
    """``text`` as a macro-string (or, with ``explanation``, an
    explanation-string, which may also hold spaces and the letters c, r, t).
    Raises :class:`SPFSyntaxError` (``offset``: the position of ``text[0]``)."""
    letters = _EXP_LETTERS if explanation else _LETTERS
    out: list[str | Macro] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%":
            two = text[i : i + 2]
            if two == "%%":
                out.append("%")
                i += 2
            elif two == "%_":
                out.append(" ")
                i += 2
            elif two == "%-":
                out.append("%20")
                i += 2
            else:
                m = _MACRO.match(text, i)
                if m is None:
                    raise SPFSyntaxError(f"bad macro in {text!r}", offset + i)
                letter, digits, reverse, delimiters = m.groups()
                if letter.lower() not in letters:
                    raise SPFSyntaxError(f"macro letter {letter!r} not allowed", offset + i)
                if digits and int(digits) == 0:
                    raise SPFSyntaxError("macro transformer 0", offset + i)
                out.append(
                    Macro(
                        letter.lower(),
                        letter.isupper(),
                        int(digits) if digits else 0,
                        bool(reverse),
                        delimiters or ".",
                    )
                )
                i = m.end()
            continue
        if explanation and c == " ":
            out.append(" ")
            i += 1
            continue
        m = _LITERAL.match(text, i)
        if m is None:
            raise SPFSyntaxError(f"character {c!r} not allowed", offset + i)
        out.append(m.group())
        i = m.end()
    return tuple(out)


_TOPLABEL: Final = re.compile(
    r"\.(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])\.?"
)


def parse_domain_spec(text: str, *, offset: int = 1) -> MacroString:
    """``text`` as a domain-spec: a macro-string ending in a macro-expand or
    in ``.`` toplabel (RFC 7208 7.1, 12)."""
    if not text:
        raise SPFSyntaxError("empty domain-spec", offset)
    tokens = parse_macro_string(text, offset=offset)
    if isinstance(tokens[-1], Macro) or text.endswith(("%%", "%_", "%-")):
        return tokens  # domain-end = macro-expand
    suffix = ""
    for token in reversed(tokens):
        if isinstance(token, Macro):
            break
        suffix = token + suffix
    tail = re.search(r"(\.[^.]*\.?)$", suffix)
    if tail is None or not _TOPLABEL.fullmatch(tail.group(1)):
        raise SPFSyntaxError(f"domain-spec {text!r} does not end in a valid top label", offset)
    return tokens


@dataclass(frozen=True, slots=True)
class MacroContext:
    """What the macro letters expand to (RFC 7208 7.3); ``p`` is filled in
    by the evaluator when a macro needs it."""

    sender: str
    local: str
    sender_domain: str
    domain: str
    ip: IPAddress
    helo: str
    receiver: str = "unknown"
    timestamp: int = 0
    p: str = "unknown"


def _letter_value(letter: str, ctx: MacroContext) -> str:
    ip = ctx.ip
    if letter == "s":
        return ctx.sender
    if letter == "l":
        return ctx.local
    if letter == "o":
        return ctx.sender_domain
    if letter == "d":
        return ctx.domain
    if letter == "i":
        if isinstance(ip, ipaddress.IPv6Address):
            return ".".join(ip.exploded.replace(":", ""))
        return str(ip)
    if letter == "c":
        return str(ip)
    if letter == "v":
        return "ip6" if isinstance(ip, ipaddress.IPv6Address) else "in-addr"
    if letter == "h":
        return ctx.helo
    if letter == "r":
        return ctx.receiver or "unknown"
    if letter == "t":
        return str(ctx.timestamp)
    return ctx.p  # "p"


def expand(tokens: MacroString, ctx: MacroContext) -> str:
    """The macro-string ``tokens`` expanded in ``ctx`` (RFC 7208 7.3)."""
    out: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            out.append(token)
            continue
        value = _letter_value(token.letter, ctx)
        parts = re.split("[" + re.escape(token.delimiters) + "]", value)
        if token.reverse:
            parts.reverse()
        if token.keep:
            parts = parts[-token.keep :]
        value = ".".join(parts)
        if token.escape:  # RFC 7208 7.3: URL-escape all but the unreserved characters
            value = quote(value, safe="")
        out.append(value)
    return "".join(out)


def _truncate(name: str) -> str:
    """RFC 7208 7.3: drop labels from the left until at most 253 octets."""
    while len(name.rstrip(".")) > MAX_DOMAIN_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name


# ---------------------------------------------------------------------------
# Records (RFC 7208 4.6, 5, 6, 12)


@dataclass(frozen=True, slots=True)
class Directive:
    """One mechanism with its qualifier. ``domain`` is the parsed
    domain-spec (None: the current domain); ``network`` for ip4/ip6."""

    qualifier: str
    mechanism: str
    text: str
    position: int
    domain: MacroString | None = None
    cidr4: int = 32
    cidr6: int = 128
    network: IPNetwork | None = None


@dataclass(frozen=True, slots=True)
class Record:
    directives: tuple[Directive, ...]
    redirect: MacroString | None = None
    exp: MacroString | None = None
    unknown: tuple[tuple[str, MacroString], ...] = field(default=())


_VERSION: Final = "v=spf1"
_MODIFIER: Final = re.compile(r"([A-Za-z][A-Za-z0-9\-_.]*)=(.*)", re.S)
_DIRECTIVE: Final = re.compile(r"([+\-?~]?)([A-Za-z][A-Za-z0-9]*)(.*)", re.S)
_CIDR: Final = r"(0|[1-9][0-9]{0,2})"
_DUAL_CIDR: Final = re.compile(rf"(?:/{_CIDR})?(?://{_CIDR})?")
_DOMAIN_AND_CIDR: Final = re.compile(rf"(.*?)(?:/{_CIDR})?(?://{_CIDR})?", re.S)


def is_spf_record(txt: bytes) -> bool:
    """RFC 7208 4.5: the version ``v=spf1`` (any case), then a space or the end."""
    head = txt[:7].lower()
    return head == b"v=spf1" or head == b"v=spf1 "


def parse_record(text: str) -> Record:
    """A ``v=spf1`` record; raises :class:`SPFSyntaxError`."""
    if not (text[:6].lower() == _VERSION and (len(text) == 6 or text[6] == " ")):
        raise SPFSyntaxError("not a v=spf1 record", 1)
    directives: list[Directive] = []
    modifiers: dict[str, MacroString] = {}
    unknown: list[tuple[str, MacroString]] = []
    for m in re.finditer(r"[^ ]+", text[6:]):
        term, position = m.group(), m.start() + 7
        mod = _MODIFIER.fullmatch(term)
        if mod is not None:
            name, value = mod.group(1).lower(), mod.group(2)
            value_at = position + len(mod.group(1)) + 1
            if name in ("redirect", "exp"):
                if name in modifiers:
                    raise SPFSyntaxError(f"{name}= given twice", position)
                modifiers[name] = parse_domain_spec(value, offset=value_at)
            else:  # RFC 7208 6: unknown modifiers are ignored, but must parse
                unknown.append((name, parse_macro_string(value, offset=value_at)))
            continue
        directives.append(_parse_directive(term, position))
    return Record(
        tuple(directives), modifiers.get("redirect"), modifiers.get("exp"), tuple(unknown)
    )


def _cidr(value: str | None, limit: int, position: int) -> int | None:
    if value is None:
        return None
    n = int(value)
    if n > limit:
        raise SPFSyntaxError(f"CIDR length /{n} out of range 0-{limit}", position)
    return n


def _parse_directive(term: str, position: int) -> Directive:
    m = _DIRECTIVE.fullmatch(term)
    if m is None:
        raise SPFSyntaxError(f"unknown term {term!r}", position)
    qualifier, name, rest = m.group(1) or "+", m.group(2).lower(), m.group(3)
    if name not in MECHANISMS:
        raise SPFSyntaxError(f"unknown mechanism {m.group(2)!r}", position)
    at = position + len(m.group(1)) + len(name)  # where ``rest`` starts

    def bad(why: str) -> SPFSyntaxError:
        return SPFSyntaxError(f"{why} in {term!r}", position)

    if name == "all":
        if rest:
            raise bad("'all' takes no argument")
        return Directive(qualifier, name, term, position)

    if name in ("include", "exists", "ptr"):
        if name == "ptr" and not rest:
            return Directive(qualifier, name, term, position)
        if not rest.startswith(":"):
            raise bad(f"'{name}' needs ':' and a domain")
        domain = parse_domain_spec(rest[1:], offset=at + 1)
        return Directive(qualifier, name, term, position, domain)

    if name in ("a", "mx"):
        domain_spec: MacroString | None = None
        if rest.startswith(":"):
            dm = _DOMAIN_AND_CIDR.fullmatch(rest[1:])
            assert dm is not None  # (.*?) matches anything
            domain_spec = parse_domain_spec(dm.group(1), offset=at + 1)
            c4, c6 = dm.group(2), dm.group(3)
        else:
            cm = _DUAL_CIDR.fullmatch(rest)
            if cm is None:
                raise bad("bad CIDR length")
            c4, c6 = cm.group(1), cm.group(2)
        cidr4 = _cidr(c4, 32, position)
        cidr6 = _cidr(c6, 128, position)
        return Directive(
            qualifier,
            name,
            term,
            position,
            domain_spec,
            32 if cidr4 is None else cidr4,
            128 if cidr6 is None else cidr6,
        )

    # ip4 / ip6
    if not rest.startswith(":"):
        raise bad(f"'{name}' needs ':' and a network")
    address, slash, length = rest[1:].partition("/")
    limit = 32 if name == "ip4" else 128
    if slash and not re.fullmatch(_CIDR, length):
        raise bad("bad CIDR length")
    prefix = _cidr(length, limit, position) if slash else limit
    try:
        if "%" in address:  # no IPv6 zone index
            raise ValueError(address)
        ip: IPAddress = (
            ipaddress.IPv4Address(address) if name == "ip4" else ipaddress.IPv6Address(address)
        )
        network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    except ValueError:
        raise bad("bad address") from None
    return Directive(qualifier, name, term, position, network=network)


# ---------------------------------------------------------------------------
# Domains (RFC 7208 4.3)


def valid_domain(domain: str) -> bool:
    """RFC 7208 4.3: a multi-label domain name of valid length, not an
    address literal."""
    name = domain[:-1] if domain.endswith(".") else domain
    if not name or len(name) > MAX_DOMAIN_LENGTH or name.startswith("["):
        return False
    if not name.isascii():
        return False
    labels = name.split(".")
    return len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


# ---------------------------------------------------------------------------
# Evaluation


class _PermError(Exception):
    pass


class _TempError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Verdict:
    result: Result
    mechanism: str | None
    exp: MacroString | None  # the exp= of the record that decided
    domain: str  # that record's domain


@dataclass(slots=True)
class _Check:
    """One check_host() run: its fixed inputs and the shared limits."""

    lookup: Lookup
    ip: IPAddress
    sender: str
    local: str
    sender_domain: str
    helo: str
    receiver: str
    timestamp: int
    dns_terms: int = 0
    voids: int = 0
    p: str | None = None

    # -- helpers ---------------------------------------------------------

    def context(self, domain: str, p: str = "unknown") -> MacroContext:
        return MacroContext(
            self.sender,
            self.local,
            self.sender_domain,
            domain,
            self.ip,
            self.helo,
            self.receiver,
            self.timestamp,
            p,
        )

    async def expand(self, tokens: MacroString, domain: str) -> str:
        p = "unknown"
        if any(isinstance(t, Macro) and t.letter == "p" for t in tokens):
            p = await self.p_value(domain)
        return expand(tokens, self.context(domain, p))

    async def target(self, tokens: MacroString | None, domain: str) -> str:
        if tokens is None:
            return domain
        return _truncate(await self.expand(tokens, domain))

    def count_term(self, what: str) -> None:
        self.dns_terms += 1
        if self.dns_terms > MAX_DNS_TERMS:
            raise _PermError(f"more than {MAX_DNS_TERMS} DNS-querying terms (at {what})")

    def void(self, what: str) -> None:
        self.voids += 1
        if self.voids > MAX_VOID_LOOKUPS:
            raise _PermError(f"more than {MAX_VOID_LOOKUPS} void lookups (at {what})")

    async def addresses(self, name: str) -> list[str]:
        """A or AAAA (as the client's address); [] for a name that cannot be
        asked; a temporary failure is _TempError."""
        try:
            if isinstance(self.ip, ipaddress.IPv6Address):
                return await self.lookup.aaaa(name)
            return await self.lookup.a(name)
        except DNSError as e:
            if e.temporary:
                raise _TempError(str(e)) from None
            return []

    def matches(self, addresses: Sequence[str], cidr4: int, cidr6: int) -> bool:
        prefix = cidr6 if isinstance(self.ip, ipaddress.IPv6Address) else cidr4
        for address in addresses:
            try:
                network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
            except ValueError:
                continue
            if self.ip in network:
                return True
        return False

    async def validated_names(self) -> list[str] | None:
        """RFC 7208 5.5: the PTR names of the client whose A/AAAA records
        hold its address (at most MAX_PTR_NAMES looked at); None when the PTR
        lookup itself answered nothing."""
        try:
            names = await self.lookup.ptr(str(self.ip))
        except DNSError:
            return []  # RFC 7208 5.5: a DNS error on the PTR lookup: no match
        if not names:
            return None
        valid: list[str] = []
        for name in names[:MAX_PTR_NAMES]:
            try:
                found = await self.addresses(name)
            except _TempError:
                continue  # RFC 7208 5.5: a failing A lookup skips that name
            if self.matches(found, 32, 128):
                valid.append(name)
        return valid

    async def p_value(self, domain: str) -> str:
        """The %{p} macro (RFC 7208 7.3): a validated name, preferably the
        domain or a subdomain of it; "unknown" if none."""
        if self.p is None:
            names = await self.validated_names() or []
            target = domain.lower().rstrip(".")
            best = [n for n in names if _within(n, target)]
            self.p = (best or names or ["unknown"])[0].rstrip(".")
        return self.p

    # -- check_host() ------------------------------------------------------

    async def record(self, domain: str, void_counts: bool) -> Record | None:
        try:
            txts = await self.lookup.txt(domain)
        except DNSError as e:
            if e.temporary:
                raise _TempError(f"TXT lookup for {domain}: {e}") from None
            return None
        if not txts and void_counts:
            self.void(f"TXT {domain}")
        records = [t for t in txts if is_spf_record(t)]
        if not records:
            return None
        if len(records) > 1:
            raise _PermError(f"{domain}: {len(records)} v=spf1 records (RFC 7208 4.5)")
        try:
            text = records[0].decode("ascii")
        except UnicodeDecodeError:
            raise _PermError(f"{domain}: the SPF record is not ASCII (RFC 7208 3.1)") from None
        try:
            return parse_record(text)
        except SPFSyntaxError as e:
            raise _PermError(f"{domain}: syntax error: {e}: {text!r}") from None

    async def evaluate(self, domain: str, nested: bool) -> _Verdict:
        record = await self.record(domain, void_counts=nested)
        if record is None:
            return _Verdict("none", None, None, domain)
        for directive in record.directives:
            if await self.match(directive, domain):
                return _Verdict(
                    QUALIFIERS[directive.qualifier], directive.text, record.exp, domain
                )
        if record.redirect is not None:
            # RFC 7208 6.1: the result of the target is the result.
            self.count_term("redirect")
            target = await self.target(record.redirect, domain)
            verdict = await self.evaluate(target, nested=True)
            if verdict.result == "none":
                raise _PermError(f"redirect={target}: no SPF record there")
            return verdict
        return _Verdict("neutral", None, record.exp, domain)  # RFC 7208 4.7

    async def match(self, d: Directive, domain: str) -> bool:
        if d.mechanism in _DNS_MECHANISMS:
            self.count_term(d.text)
        if d.mechanism == "all":
            return True
        if d.mechanism in ("ip4", "ip6"):
            return d.network is not None and self.ip in d.network
        target = await self.target(d.domain, domain)
        if d.mechanism == "include":  # RFC 7208 5.2
            verdict = await self.evaluate(target, nested=True)
            if verdict.result == "none":
                raise _PermError(f"include:{target}: no SPF record there")
            return verdict.result == "pass"
        if d.mechanism == "a":  # RFC 7208 5.3
            found = await self.addresses(target)
            if not found:
                self.void(d.text)
            return self.matches(found, d.cidr4, d.cidr6)
        if d.mechanism == "mx":  # RFC 7208 5.4
            try:
                exchanges = await self.lookup.mx(target)
            except DNSError as e:
                if e.temporary:
                    raise _TempError(str(e)) from None
                exchanges = []
            if not exchanges:
                self.void(d.text)
            if len(exchanges) > MAX_MX_NAMES:
                raise _PermError(f"{d.text}: more than {MAX_MX_NAMES} MX records at {target}")
            for _preference, host in sorted(exchanges):
                if host and self.matches(await self.addresses(host), d.cidr4, d.cidr6):
                    return True
            return False
        if d.mechanism == "ptr":  # RFC 7208 5.5
            names = await self.validated_names()
            if names is None:
                self.void(d.text)
                return False
            wanted = target.lower().rstrip(".")
            return any(_within(n, wanted) for n in names)
        # exists, RFC 7208 5.7
        try:
            found_any = await self.lookup.exists(target)
        except DNSError as e:
            if e.temporary:
                raise _TempError(str(e)) from None
            found_any = False
        if not found_any:
            self.void(d.text)
        return found_any

    async def explanation(self, verdict: _Verdict) -> str | None:
        """RFC 7208 6.2: the expanded exp= text, None on any problem."""
        if verdict.exp is None:
            return None
        try:
            name = await self.target(verdict.exp, verdict.domain)
            txts = await self.lookup.txt(name)
        except (DNSError, _TempError, _PermError):
            return None
        if len(txts) != 1:
            return None
        try:
            tokens = parse_macro_string(txts[0].decode("ascii"), explanation=True)
            return await self.expand(tokens, verdict.domain)
        except (UnicodeDecodeError, SPFSyntaxError, _TempError, _PermError):
            return None


def _within(name: str, domain: str) -> bool:
    name = name.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def check_host(
    ip: str,
    domain: str,
    sender: str,
    helo: str,
    lookup: Lookup,
    *,
    receiver: str,
    identity: Identity = "mailfrom",
    default_explanation: str | None = None,
    clock: IReactorTime | None = None,
) -> Deferred[SPFResult]:
    """RFC 7208 4: the SPF result for client ``ip`` and ``domain``.

    ``sender`` is the checked identity as an address (``postmaster@helo`` for
    the HELO identity); ``helo`` the HELO/EHLO argument (``%{h}``);
    ``receiver`` the checking host's domain (``%{r}``, the Received-SPF
    ``receiver=``); ``default_explanation`` the explanation of a ``fail``
    whose record gives none (macro-expanded like ``exp=`` text); ``clock``
    gives ``%{t}`` (the global reactor when None). Never fails: DNS and
    record problems are ``temperror``/``permerror`` results.
    """
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    local, at, sender_domain = sender.rpartition("@")
    if not at:
        sender_domain = sender
    if not local:  # RFC 7208 4.3
        local = "postmaster"
        sender = f"{local}@{sender_domain}"
    if clock is None:
        from twisted.internet import reactor

        clock = cast(IReactorTime, reactor)
    check = _Check(
        lookup,
        address,
        sender,
        local,
        sender_domain,
        helo,
        receiver,
        int(clock.seconds()),
    )
    name = domain[:-1] if domain.endswith(".") else domain

    def result(
        value: Result,
        mechanism: str | None = None,
        explanation: str | None = None,
        problem: str | None = None,
    ) -> SPFResult:
        return SPFResult(
            value,
            str(address),
            name,
            sender,
            helo,
            receiver,
            identity,
            mechanism,
            explanation,
            problem,
        )

    async def run() -> SPFResult:
        if not valid_domain(domain):
            return result("none", problem=f"{domain!r} is not a valid domain (RFC 7208 4.3)")
        try:
            verdict = await check.evaluate(name, nested=False)
        except _PermError as e:
            return result("permerror", problem=str(e))
        except _TempError as e:
            return result("temperror", problem=str(e))
        if verdict.result == "none":
            return result("none", problem=f"no SPF record at {name}")
        explanation = None
        if verdict.result == "fail":
            explanation = await check.explanation(verdict)
            if explanation is None and default_explanation is not None:
                try:
                    tokens = parse_macro_string(default_explanation, explanation=True)
                    explanation = await check.expand(tokens, verdict.domain)
                except (SPFSyntaxError, _TempError, _PermError):
                    explanation = default_explanation
        return result(verdict.result, verdict.mechanism, explanation)

    return Deferred.fromCoroutine(run())


def check_mailfrom(
    ip: str,
    mail_from: str,
    helo: str,
    lookup: Lookup,
    *,
    receiver: str,
    default_explanation: str | None = None,
    clock: IReactorTime | None = None,
) -> Deferred[SPFResult]:
    """The MAIL FROM identity (RFC 7208 2.4): the domain of ``mail_from``;
    with the null reverse-path (``""``) the HELO identity instead,
    ``postmaster@helo`` (RFC 7208 2.4)."""
    if not mail_from:
        return check_helo(
            ip,
            helo,
            lookup,
            receiver=receiver,
            default_explanation=default_explanation,
            clock=clock,
        )
    domain = mail_from.rpartition("@")[2]
    return check_host(
        ip,
        domain,
        mail_from,
        helo,
        lookup,
        receiver=receiver,
        default_explanation=default_explanation,
        clock=clock,
    )


def check_helo(
    ip: str,
    helo: str,
    lookup: Lookup,
    *,
    receiver: str,
    default_explanation: str | None = None,
    clock: IReactorTime | None = None,
) -> Deferred[SPFResult]:
    """The HELO identity (RFC 7208 2.3): check_host() for the HELO domain
    with the sender ``postmaster@helo``."""
    return check_host(
        ip,
        helo,
        f"postmaster@{helo}",
        helo,
        lookup,
        receiver=receiver,
        identity="helo",
        default_explanation=default_explanation,
        clock=clock,
    )


# ---------------------------------------------------------------------------
# Header fields


_DOT_ATOM: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*"
)


def _value(text: str) -> str:
    """``text`` as a dot-atom, or a quoted-string when it is not one."""
    if _DOT_ATOM.fullmatch(text):
        return text
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment_text(text: str) -> str:
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return cleaned.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


_COMMENTS: Final[dict[str, str]] = {
    "pass": "domain of {s} designates {ip} as permitted sender",
    "fail": "domain of {s} does not designate {ip} as permitted sender",
    "softfail": "domain of transitioning {s} does not designate {ip} as permitted sender",
    "neutral": "{ip} is neither permitted nor denied by domain of {s}",
    "none": "domain of {s} does not designate permitted sender hosts",
    "temperror": "error in processing during lookup of {s}",
    "permerror": "error in processing the SPF record of {s}",
}


def received_spf_header(result: SPFResult) -> str:
    """The value of a Received-SPF header field (RFC 7208 9.1), on one line:
    the result, a comment, then ``client-ip envelope-from helo receiver
    identity`` and, when known, ``mechanism`` and ``problem``."""
    who = result.sender if result.identity == "mailfrom" else result.helo
    comment = _COMMENTS[result.result].format(s=who, ip=result.ip)
    pairs = [
        ("client-ip", result.ip),
        ("envelope-from", result.sender),
        ("helo", result.helo),
        ("receiver", result.receiver),
        ("identity", result.identity),
    ]
    if result.mechanism is not None:
        pairs.append(("mechanism", result.mechanism))
    if result.problem is not None and result.result in ("permerror", "temperror"):
        pairs.append(("problem", result.problem))
    kv = "; ".join(f"{k}={_value(v)}" for k, v in pairs)
    return f"{result.result} ({_comment_text(f'{result.receiver}: {comment}')}) {kv};"


def method(result: SPFResult) -> Method:
    """The ``spf`` method for :func:`gateway.authn.results.authentication_results`
    (RFC 8601 2.7.2): ``smtp.mailfrom`` (or ``smtp.helo`` for the HELO
    identity), the problem as the reason for the errors."""
    reason = result.problem if result.result in ("permerror", "temperror") else None
    if result.identity == "helo":
        return ("spf", result.result, {"smtp.helo": result.helo}, reason)
    return ("spf", result.result, {"smtp.mailfrom": result.sender}, reason)


__all__ = [
    "MAX_DNS_TERMS",
    "MAX_MX_NAMES",
    "MAX_PTR_NAMES",
    "MAX_VOID_LOOKUPS",
    "Directive",
    "Identity",
    "Macro",
    "MacroContext",
    "Record",
    "Result",
    "SPFResult",
    "SPFSyntaxError",
    "check_helo",
    "check_host",
    "check_mailfrom",
    "expand",
    "is_spf_record",
    "method",
    "parse_domain_spec",
    "parse_macro_string",
    "parse_record",
    "received_spf_header",
    "valid_domain",
]
