"""RFC 2156 (MIXER) 4.2-4.4: RFC 822 addresses <-> X.400 O/R addresses.

Pure functions over :class:`~gateway.x400.orname.ORAddress` values and
address strings, driven by the four text tables of RFC 2156 Appendix F:

=================================  ==============  ==========================
table (Appendix F section)         line format     file in ``conf/x400/``
=================================  ==============  ==========================
domain -> O/R MCGAM (5)            ``domain#or#``  ``mcgam-domain-or.table``
O/R -> domain MCGAM (6)            ``or#domain#``  ``mcgam-or-domain.table``
domain -> O/R of gateway (7)       ``domain#or#``  ``gateway-domain-or.table``
O/R -> domain of gateway (8)       ``or#domain#``  ``gateway-or-domain.table``
=================================  ==============  ==========================

The O/R side is a ``dmn-or-address`` (``PRMD$UK\\.AC.ADMD$GOLD 400.C$GB``,
most significant rightmost, ``@`` for an omitted level).  Lookups are
case-independent longest matches.  :func:`rfc822_to_or` is RFC 2156 4.3.4
(Stage I, then Stage II with the ``RFC-822`` domain-defined attribute);
:func:`or_to_rfc822` is 4.3.5 (Mapping A for ``RFC-822``, else Mapping B).

Choices where the RFC leaves room (each has a test):

* 4.3.4 step 3 lists the characters allowed in a local part as
  PrintableString and ``{ } * $``; ``;`` is accepted too, because 4.1.3
  allows it as separator (``"S=x;O=y"@domain``).
* A source route (``@a,@b:user@host``) is never reduced: the whole route goes
  into ``RFC-822`` and the first domain (the one routed on) chooses the rest.
* A table line may skip hierarchy levels instead of writing ``@`` (RFC 2156
  App. F's own ``XEROX.COM#O$Xerox.ADMD$ATT.C$US#``); skipped levels are
  omitted ones.
* The preferred-gateway tables place a domain or O/R prefix only: below them
  nothing is allocated algorithmically (RFC 2156 4.3.5 example 4).
"""

from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import dataclass
from pathlib import Path

from gateway.x400.asn1 import upper_bounds as ub
from gateway.x400.orname import (
    PS_CHARS,
    ORAddress,
    ORAddressError,
    format_encoded_pn,
    format_std_or,
    parse_encoded_pn,
    parse_std_or,
    ps_decode,
    ps_encode,
)

__all__ = [
    "HIERARCHY",
    "DomainTable",
    "MappingError",
    "MappingTables",
    "ORTable",
    "Prefix",
    "TableError",
    "format_dmn_or_address",
    "or_to_rfc822",
    "parse_dmn_or_address",
    "rfc822_to_or",
]

# The MCGAM hierarchy of RFC 2156 4.2: C, ADMD, PRMD, O, then up to 4 OUs.
HIERARCHY = ("C", "ADMD", "PRMD", "O", "OU", "OU", "OU", "OU")
# Upper bounds checked when a domain label becomes an attribute (4.3.4 step 8).
_LEVEL_BOUNDS = (
    ub.ub_country_name_alpha_length,
    ub.ub_domain_name_length,
    ub.ub_domain_name_length,
    ub.ub_organization_name_length,
) + (ub.ub_organizational_unit_name_length,) * ub.ub_organizational_units

#: A point in the hierarchy: values from C downwards, ``None`` = omitted.
Prefix = tuple[str | None, ...]

_DOMAIN_SYNTAX = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")  # RFC 2156 4.2
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")  # RFC 5322
_RFC822_DDA = ("RFC-822", "RFC822C1", "RFC822C2", "RFC822C3")  # RFC 2156 4.3.2


class MappingError(ValueError):
    """An address that cannot be mapped at all (e.g. over 512 characters)."""


class TableError(ValueError):
    """A mapping table line that does not follow RFC 2156 Appendix F."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}:{line}: {reason}")


def _is_domain_syntax(label: str) -> bool:
    return _DOMAIN_SYNTAX.fullmatch(label) is not None


def _norm(value: str | None, level: int) -> str | None:
    """Lookup form of one value (RFC 2156 4.3.5 Mapping B step 1)."""
    if value is None:
        return None
    value = " ".join(value.split()).casefold()
    if level == 1 and value == "":
        return " "  # a zero-length ADMD is looked up as a single space
    return value


def _norm_prefix(prefix: Prefix) -> Prefix:
    return tuple(_norm(v, i) for i, v in enumerate(prefix))


def hierarchy_of(addr: ORAddress) -> Prefix:
    """C, ADMD, PRMD, O, OU1..OU4 of ``addr``, trailing omitted levels dropped."""
    levels: list[str | None] = [addr.country, addr.admd, addr.prmd, addr.organisation]
    levels.extend(addr.org_units)
    while levels and levels[-1] is None:
        levels.pop()
    return tuple(levels)


def _without_levels(addr: ORAddress, count: int) -> ORAddress:
    """``addr`` with the first ``count`` hierarchy levels removed."""
    return dataclasses.replace(
        addr,
        country=None if count > 0 else addr.country,
        admd=None if count > 1 else addr.admd,
        prmd=None if count > 2 else addr.prmd,
        organisation=None if count > 3 else addr.organisation,
        org_units=addr.org_units[max(count - 4, 0) :],
    )


def _from_prefix(prefix: Prefix, dda: tuple[tuple[str, str], ...] = ()) -> ORAddress:
    padded = list(prefix) + [None] * (4 - len(prefix))
    return ORAddress(
        country=padded[0],
        admd=padded[1],
        prmd=padded[2],
        organisation=padded[3],
        org_units=tuple(v for v in prefix[4:] if v is not None),
        dda=dda,
    )


# --- Appendix F tables --------------------------------------------------------


def parse_dmn_or_address(
    text: str, *, allow_dda: bool = False
) -> tuple[Prefix, tuple[tuple[str, str], ...]]:
    """Parse an Appendix F ``dmn-or-address`` into (hierarchy prefix, DDAs).

    ``dmn-part = attribute "$" value``, parts joined by ``.`` (``\\.`` is a
    literal dot), most significant rightmost; value ``@`` = omitted level;
    ``~TYPE`` is a domain-defined attribute (only with ``allow_dda``).
    """
    parts = re.split(r"(?<!\\)\.", text)
    levels: list[str | None] = []
    dda: list[tuple[str, str]] = []
    for part in reversed(parts):
        key, sep, raw = part.partition("$")
        if not sep:
            raise ORAddressError(None, f"{part!r} is not attribute$value")
        value: str | None = None if raw == "@" else raw.replace("\\.", ".")
        if key.startswith("~"):
            if not allow_dda or value is None:
                raise ORAddressError(key, "domain-defined attribute not allowed here")
            dda.insert(0, (key[1:].replace("\\.", "."), value))
            continue
        if dda:
            raise ORAddressError(key, "domain-defined attributes must be least significant")
        key = key.upper()
        if key not in HIERARCHY:
            raise ORAddressError(key, "only C, ADMD, PRMD, O and OU may be used (App. F 3a)")
        start = len(levels) if key != "OU" else max(len(levels), 4)
        positions = [i for i in range(start, len(HIERARCHY)) if HIERARCHY[i] == key]
        if not positions:
            raise ORAddressError(key, "out of hierarchical order C, ADMD, PRMD, O, OU")
        levels.extend([None] * (positions[0] - len(levels)))  # skipped = omitted
        levels.append(value)
    prefix = tuple(levels)
    _from_prefix(prefix, tuple(dda))  # X.411 checks: PrintableString, upper bounds
    return prefix, tuple(dda)


def format_dmn_or_address(prefix: Prefix, dda: tuple[tuple[str, str], ...] = ()) -> str:
    """The Appendix F ``dmn-or-address`` text of a prefix (and DDAs): the
    inverse of :func:`parse_dmn_or_address`."""
    parts = [f"~{t.replace('.', chr(92) + '.')}${v.replace('.', chr(92) + '.')}" for t, v in dda]
    for key, value in reversed(list(zip(HIERARCHY, prefix, strict=False))):
        parts.append(f"{key}$" + ("@" if value is None else value.replace(".", "\\.")))
    return ".".join(parts)


def _table_lines(text: str, source: str) -> list[tuple[int, str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue  # App. F 5: lines starting with "#" are comments
        fields = line.rstrip().split("#")
        if len(fields) != 3 or fields[2] != "":
            raise TableError(source, number, "expected two fields each ending in '#'")
        rows.append((number, fields[0], fields[1]))
    return rows


def _check_domain(domain: str, source: str, number: int) -> str:
    if not all(_is_domain_syntax(label) for label in domain.split(".")):
        raise TableError(source, number, f"{domain!r} is not domain-syntax (RFC 2156 4.2)")
    return domain


@dataclass(frozen=True)
class DomainEntry:
    domain: str
    prefix: Prefix
    dda: tuple[tuple[str, str], ...]
    line: int


@dataclass(frozen=True)
class DomainTable:
    """Domain -> O/R table (Appendix F 5 or 7), keyed case-independently."""

    entries: dict[str, DomainEntry]
    source: str = "<table>"

    @classmethod
    def parse(cls, text: str, source: str = "<table>", *, gateway: bool = False) -> DomainTable:
        entries: dict[str, DomainEntry] = {}
        for number, key, value in _table_lines(text, source):
            domain = _check_domain(key, source, number)
            try:
                prefix, dda = parse_dmn_or_address(value, allow_dda=gateway)
            except ORAddressError as exc:
                raise TableError(source, number, str(exc)) from None
            if domain.casefold() in entries:
                raise TableError(source, number, f"{domain!r} is listed twice")
            entries[domain.casefold()] = DomainEntry(domain, prefix, dda, number)
        return cls(entries, source)

    def lookup(self, domain: str) -> tuple[list[str], DomainEntry] | None:
        """Longest match on label boundaries: (unmatched labels, entry)."""
        labels = domain.split(".")
        for i in range(len(labels)):
            entry = self.entries.get(".".join(labels[i:]).casefold())
            if entry is not None:
                return labels[:i], entry
        return None


@dataclass(frozen=True)
class ORTable:
    """O/R -> domain table (Appendix F 6 or 8), keyed on the lookup form."""

    entries: dict[Prefix, tuple[str, Prefix, int]]
    source: str = "<table>"

    @classmethod
    def parse(cls, text: str, source: str = "<table>") -> ORTable:
        entries: dict[Prefix, tuple[str, Prefix, int]] = {}
        for number, key, value in _table_lines(text, source):
            try:
                prefix, _ = parse_dmn_or_address(key)
            except ORAddressError as exc:
                raise TableError(source, number, str(exc)) from None
            domain = _check_domain(value, source, number)
            if _norm_prefix(prefix) in entries:
                raise TableError(source, number, f"{key!r} is listed twice")
            entries[_norm_prefix(prefix)] = (domain, prefix, number)
        return cls(entries, source)

    def lookup(self, addr: ORAddress) -> tuple[int, str] | None:
        """Longest matching prefix of ``addr``: (levels matched, domain)."""
        hit = self.match(addr)
        return None if hit is None else (hit[0], hit[1])

    def match(self, addr: ORAddress) -> tuple[int, str, int] | None:
        """As :meth:`lookup`, with the table line that matched."""
        levels = hierarchy_of(addr)
        padded = _norm_prefix(levels + (None,) * (len(HIERARCHY) - len(levels)))
        for n in range(len(HIERARCHY), 0, -1):
            hit = self.entries.get(padded[:n])
            if hit is not None:
                return n, hit[0], hit[2]
        return None


@dataclass(frozen=True)
class MappingTables:
    """The four Appendix F tables a gateway maps with."""

    domain_to_or: DomainTable
    or_to_domain: ORTable
    domain_to_gateway: DomainTable
    or_to_gateway: ORTable

    FILES = (
        "mcgam-domain-or.table",
        "mcgam-or-domain.table",
        "gateway-domain-or.table",
        "gateway-or-domain.table",
    )

    def __post_init__(self) -> None:
        # App. F 7 and 8: a key may not be in both the MCGAM and the gateway table.
        for key, entry in self.domain_to_gateway.entries.items():
            if key in self.domain_to_or.entries:
                src = self.domain_to_gateway.source
                raise TableError(src, entry.line, f"{entry.domain!r} is also an MCGAM")
        for norm, (_, prefix, line) in self.or_to_gateway.entries.items():
            if norm in self.or_to_domain.entries:
                src = self.or_to_gateway.source
                raise TableError(src, line, f"{prefix!r} is also an MCGAM")

    @classmethod
    def from_text(
        cls,
        domain_to_or: str = "",
        or_to_domain: str = "",
        domain_to_gateway: str = "",
        or_to_gateway: str = "",
    ) -> MappingTables:
        return cls(
            DomainTable.parse(domain_to_or, cls.FILES[0]),
            ORTable.parse(or_to_domain, cls.FILES[1]),
            DomainTable.parse(domain_to_gateway, cls.FILES[2], gateway=True),
            ORTable.parse(or_to_gateway, cls.FILES[3]),
        )

    @classmethod
    def load(cls, directory: Path) -> MappingTables:
        """Read the four tables from ``directory`` (a missing file is empty)."""
        paths = [directory / name for name in cls.FILES]
        texts = [p.read_text(encoding="ascii") if p.exists() else "" for p in paths]
        return cls(
            DomainTable.parse(texts[0], str(paths[0])),
            ORTable.parse(texts[1], str(paths[1])),
            DomainTable.parse(texts[2], str(paths[2]), gateway=True),
            ORTable.parse(texts[3], str(paths[3])),
        )


# --- X.400 -> RFC 822 (RFC 2156 4.3.5) ---------------------------------------


def _local_part(text: str) -> str:
    """``text`` as an RFC 822 local-part: a dot-atom or else a quoted-string."""
    atoms = text.split(".")
    if all(atoms) and all(c in _ATEXT for c in text.replace(".", "")):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lhs_text(lhs: ORAddress) -> str:
    only_pn = lhs == ORAddress(
        surname=lhs.surname,
        given_name=lhs.given_name,
        initials=lhs.initials,
        generation_qualifier=lhs.generation_qualifier,
    )
    pn = format_encoded_pn(lhs) if only_pn else None
    return _local_part(pn if pn is not None else format_std_or(lhs))


def or_to_rfc822(addr: ORAddress, tables: MappingTables, gateway_domain: str) -> str:
    """Map an O/R address to an RFC 822 addr-spec (RFC 2156 4.3.5).

    ``gateway_domain`` is the local gateway's domain, used on the right of
    ``"/C=.../"@gateway_domain`` when nothing better is known.
    """
    rfc822 = [(t.upper(), v) for t, v in addr.dda if t.upper() in _RFC822_DDA]
    if [t for t, _ in rfc822].count("RFC-822") == 1:
        # Mapping A: decode the DDA (and its continuations), drop the rest.
        text = "".join(v for key in _RFC822_DDA for t, v in rfc822 if t == key)
        try:
            return ps_decode(text)
        except ORAddressError as exc:
            raise MappingError(f"RFC-822 attribute: {exc.reason}") from None
    whole = _local_part(format_std_or(addr)) + "@" + gateway_domain
    if not addr.is_mnemonic:
        return whole  # Mapping B step 5
    levels = hierarchy_of(addr)
    hit = tables.or_to_domain.lookup(addr)
    if hit is not None:
        matched, domain = hit
        labels: list[str] = []
        consumed = matched
        for value in levels[matched:]:
            # Stop at an omitted level or a value that is not domain-syntax.
            if value is None or not _is_domain_syntax(value):
                break
            labels.insert(0, value)
            consumed += 1
        lhs = _without_levels(addr, consumed)
        if lhs == ORAddress() and labels:  # the local-part cannot be null
            labels.pop(0)
            lhs = _without_levels(addr, consumed - 1)
        domain = ".".join([*labels, domain])
        if lhs != ORAddress() and "." in domain:  # one label does not route
            return _lhs_text(lhs) + "@" + domain
    hit = tables.or_to_gateway.lookup(addr)
    if hit is not None:
        lhs = _without_levels(addr, hit[0])
        if lhs != ORAddress():
            return _lhs_text(lhs) + "@" + hit[1]
    return whole


# --- RFC 822 -> X.400 (RFC 2156 4.3.4) ---------------------------------------


def _split_addr_spec(address: str) -> tuple[str | None, str | None, str | None]:
    """(unquoted local part, domain, routed-on domain) of an addr-spec.

    A source route gives local part ``None`` and its first domain.
    """
    if address.startswith("@"):
        route = address.split(":", 1)[0]
        return None, None, route.split(",", 1)[0][1:]
    local: list[str] = []
    pos = 0
    quoted = False
    while pos < len(address):
        c = address[pos]
        if quoted and c == "\\" and pos + 1 < len(address):
            local.append(address[pos + 1])
            pos += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "@" and not quoted:
            domain = address[pos + 1 :]
            return "".join(local), domain, domain
        else:
            local.append(c)
        pos += 1
    return None, None, None


def _domain_attributes(domain: str | None, table: DomainTable) -> ORAddress | None:
    """RFC 2156 4.3.4 step 8: the attributes a domain gives through an MCGAM."""
    if domain is None:
        return None
    hit = table.lookup(domain)
    if hit is None:
        return None
    extra, entry = hit
    levels = list(entry.prefix)
    for label in reversed(extra):
        if not _is_domain_syntax(label) or len(levels) >= len(HIERARCHY):
            return None
        if len(label) > _LEVEL_BOUNDS[len(levels)]:
            return None
        levels.append(label)
    try:
        return _from_prefix(tuple(levels))
    except ORAddressError:
        return None


def _merge(lhs: ORAddress, rhs: ORAddress) -> ORAddress:
    """Merge LHS and domain attributes (RFC 2156 4.3.4 step 8)."""
    if lhs.admd is not None:
        return dataclasses.replace(lhs, country=rhs.country)
    if lhs.prmd is not None:
        return dataclasses.replace(lhs, country=rhs.country, admd=rhs.admd)
    if lhs.organisation is not None:
        return dataclasses.replace(lhs, country=rhs.country, admd=rhs.admd, prmd=rhs.prmd)
    return dataclasses.replace(
        lhs,
        country=rhs.country,
        admd=rhs.admd,
        prmd=rhs.prmd,
        organisation=rhs.organisation,
        org_units=rhs.org_units + lhs.org_units,
    )


def _stage_one(local: str, domain: str, tables: MappingTables) -> ORAddress | None:
    if local.startswith(" ") or local.endswith(" ") or "  " in local:
        return None  # step 2
    if not all(c in PS_CHARS or c in "{}*$;" for c in local):
        return None  # step 3 (";" accepted, see the module docstring)
    try:
        lhs = parse_std_or(local)  # step 4
    except ORAddressError:
        pn = parse_encoded_pn(local)
        if pn is None:
            return None
        try:
            lhs = ORAddress(given_name=pn[0], initials=pn[1], surname=pn[2])
        except ORAddressError:
            return None  # step 5: over an upper bound
    if lhs.is_valid_x400:
        return lhs  # step 6
    if lhs.country is not None or not lhs.is_mnemonic:
        return None  # step 7: C never comes from the LHS
    rhs = _domain_attributes(domain, tables.domain_to_or)
    if rhs is None:
        return None
    try:
        merged = _merge(lhs, rhs)
    except ORAddressError:
        return None  # step 9: e.g. more than four OUs
    return merged if merged.is_valid_x400 else None


def rfc822_to_or(
    address: str,
    tables: MappingTables,
    gateway: ORAddress,
    *,
    use_gateway_table: bool = True,
) -> ORAddress:
    """Map an RFC 822 addr-spec to an O/R address (RFC 2156 4.3.4).

    ``gateway`` is the local gateway's O/R address, the context of last
    resort for an ``RFC-822`` attribute.  ``use_gateway_table`` selects the
    "domain -> O/R of preferred gateway" table for IPMS and SMTP recipient
    addresses; pass ``False`` for the SMTP return address, which always
    names the local gateway.  Raises :class:`MappingError` if the address is
    longer than the 512 characters four domain-defined attributes can hold.
    """
    local, domain, routed = _split_addr_spec(address)
    if local is not None and domain is not None:
        mapped = _stage_one(local, domain, tables)
        if mapped is not None:
            return mapped
    # Stage II: the whole address in the RFC-822 domain-defined attribute.
    try:
        encoded = ps_encode(address)
    except ORAddressError as exc:
        raise MappingError(f"{address!r}: {exc.reason}") from None
    size = ub.ub_domain_defined_attribute_value_length
    if len(encoded) > size * len(_RFC822_DDA):
        raise MappingError(f"{address!r} is longer than 512 characters when ps-encoded")
    chunks = tuple(
        (key, encoded[i * size : (i + 1) * size])
        for i, key in enumerate(_RFC822_DDA)
        if encoded[i * size : (i + 1) * size]
    )
    context = _domain_attributes(routed, tables.domain_to_or)
    if context is None and use_gateway_table and routed is not None:
        hit = tables.domain_to_gateway.lookup(routed)
        if hit is not None:
            context = _from_prefix(hit[1].prefix, hit[1].dda)
    if context is None:
        context = gateway
    try:
        return dataclasses.replace(context, dda=context.dda + chunks)
    except ORAddressError as exc:
        raise MappingError(f"{address!r}: {exc}") from None
