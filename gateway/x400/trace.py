"""Trace both ways: X.411 trace <-> ``X400-Received:`` (RFC 2156 5.3.7),
Internet trace -> X.411 trace (5.1.6, 5.1.7) and MIXER loop counting (5.1.5).

``X400-Received:`` grammar (5.3.7)::

    x400-trace  = "by" md-and-mta ";" [ "deferred until" date-time ";" ]
                  [ "converted" "(" encoded-info ")" ";" ]
                  [ "attempted" md-or-mta ";" ] action-list ";" arrival-time
    md-and-mta  = [ "mta" mta "in" ] global-id      ; mta = 822 word
    md-or-mta   = "MD" global-id / "MTA" mta
    action      = "Redirected" / "Expanded" / "Relayed" / "Rerouted"

Fields are written with `` ; `` between the parts, as the 5.3.7 examples,
and read with any spacing.  Encoded information types are written with the
5.3.3.1 words (``IA5-Text``, ``G3-Fax``...) and extended ones as EBNF
object identifiers (``(1)(3)(6)(1)(7)(1)(3)(5)``); the legacy words of the
RFC's own examples (``ia5``, ``g3fax``, ``undefined``) and dotted OIDs are
read too.

Decisions:

- Internet -> X.400: all ``X400-Received:`` fields are taken to be older
  than all ``Received:`` fields.  A message that left X.400 through a MIXER
  gateway carries its whole X.400 trace as ``X400-Received:`` below the
  gateway's ``Received:``; later Internet hops add ``Received:`` above it.
- An ``X400-Received:`` naming an MTA stands for an internal trace element
  and, when the domain changes, also for the external one that 5.3.7 folded
  into it.
- Loops (5.1.5): a ``Received:`` carrying the MIXER comment is one
  conversion to the Internet; a trace element whose converted EITs hold
  ``eit-mixer`` is one conversion to X.400.  More than five is a loop.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Literal

from gateway.x400.asn1 import upper_bounds as ub
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import GlobalDomainId, TraceElement
from gateway.x400.orname import ORAddress, ORAddressError, format_std_or, parse_std_or
from gateway.x400.timefmt import format_x400_time, parse_rfc5322_date, parse_x400_time

__all__ = [
    "CONTENT_TYPE_LABELS",
    "EIT_MIXER",
    "MIXER_RECEIVED_COMMENT",
    "format_content_type",
    "format_eits",
    "format_global_id",
    "format_labelled_integer",
    "format_oid",
    "format_x400_received",
    "global_id_of_domain",
    "is_looping",
    "merged_trace",
    "mixer_conversions",
    "mixer_trace_conversions",
    "parse_content_type",
    "parse_eits",
    "parse_global_id",
    "parse_labelled_integer",
    "parse_oid",
    "parse_x400_received",
    "split_trace",
    "trace_from_internet",
]

#: RFC 2156 App. D: the MIXER pseudo encoded information type.
EIT_MIXER = "1.3.6.1.7.1.3.5"
#: The comment of the one Received: line the gateway adds (5.3.7).
MIXER_RECEIVED_COMMENT = "(MIXER Conversion following RFC 2156)"
_MIXER_MARK = re.compile(r"\(\s*MIXER\s+Conversion\b", re.IGNORECASE)
MAX_CONVERSIONS = 5

# X.411 BuiltInEncodedInformationTypes names <-> RFC 2156 5.3.3.1 words.
EIT_WORDS = {
    "unknown": "Undefined",
    "telex": "Telex",
    "ia5-text": "IA5-Text",
    "g3-facsimile": "G3-Fax",
    "g4-class-1": "TIF0",
    "teletex": "Teletex",
    "videotex": "Videotex",
    "voice": "Voice",
    "sfd": "SFD",
    "mixed-mode": "TIF1",
}
_EIT_INPUT = {word.lower(): name for name, word in EIT_WORDS.items()} | {
    # the RFC 1327 era words of the RFC 2156 examples, and the X.411 names
    "undefined": "unknown",
    "ia5": "ia5-text",
    "g3fax": "g3-facsimile",
    "tlx": "telex",
    "ttx": "teletex",
    "tif0": "g4-class-1",
    "tif1": "mixed-mode",
    **{name: name for name in EIT_WORDS},
}

_ACTIONS = {"relayed", "rerouted", "expanded", "redirected"}


# --- object identifiers and EITs (RFC 2156 3.3.7, 5.3.3.1) ---------------------


def format_oid(oid: str) -> str:
    """EBNF ``object-identifier`` of a dotted OID: ``(2)(6)(1)(11)(0)``."""
    return "".join(f"({arc})" for arc in oid.split("."))


_OID_COMP = re.compile(r"\s*([A-Za-z0-9-]*)\s*\(\s*(\d+)\s*\)\s*")


def parse_oid(text: str) -> str | None:
    """Dotted OID of an EBNF object-identifier (labels ignored) or of a
    dotted OID; ``None`` if ``text`` is neither."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)+", text):
        return text
    arcs: list[str] = []
    pos = 0
    while pos < len(text):
        m = _OID_COMP.match(text, pos)
        if m is None or m.end() == pos:
            return None
        arcs.append(str(int(m.group(2))))
        pos = m.end()
    return ".".join(arcs) if len(arcs) >= 2 else None


def format_labelled_integer(value: int, labels: dict[int, str]) -> str:
    """RFC 2156 3.3.6 ``labelled-integer``: ``[key-string] "(" number ")"``."""
    label = labels.get(value)
    return f"{label} ({value})" if label else f"({value})"


def parse_labelled_integer(text: str) -> int | None:
    """The number of a ``labelled-integer`` (any key-string), else None."""
    match = re.search(r"\(\s*(\d+)\s*\)", text)
    return int(match.group(1)) if match else None


# X.411 BuiltInContentType, with the MIXER labels for the two P2 types.
CONTENT_TYPE_LABELS = {
    0: "unidentified",
    1: "external",
    2: "P2-1984",
    22: "P2-1988",
    35: "edi-messaging",
    40: "voice-messaging",
}


def format_content_type(content_type: int | str) -> str:
    """``mts-content-type`` (5.3.6, the X400-Content-Type of a message and
    of a report): a labelled integer or an OID."""
    if isinstance(content_type, int):
        return format_labelled_integer(content_type, CONTENT_TYPE_LABELS)
    return format_oid(content_type)


def parse_content_type(text: str) -> int | str | None:
    """The content type of an ``mts-content-type``: ``P2`` (legacy, 2), an
    object identifier (``(2)(6)(1)`` or dotted), or a labelled integer."""
    text = text.strip()
    if text.upper() == "P2":
        return 2
    oid = parse_oid(text)
    if oid is not None:
        return oid
    return parse_labelled_integer(text)


def format_eits(eits: Iterable[str]) -> str:
    """``encoded-info``: 5.3.3.1 words for built-in types, else OIDs."""
    return ", ".join(EIT_WORDS.get(e, format_oid(e) if "." in e else e) for e in eits)


def _split_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for pos, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_eits(text: str) -> tuple[str, ...]:
    """EIT names of an ``encoded-info`` list; ``ValueError`` names a bad one."""
    out: list[str] = []
    for item in _split_commas(text):
        name = _EIT_INPUT.get(item.lower())
        if name is None:
            name = parse_oid(item)
        if name is None:
            raise ValueError(f"unknown encoded information type {item!r}")
        out.append(name)
    return tuple(out)


# --- global domain identifiers (5.3.3.2) ---------------------------------------


def format_global_id(gdi: GlobalDomainId) -> str:
    return format_std_or(gdi.as_or())


def parse_global_id(text: str) -> GlobalDomainId:
    """GlobalDomainId of a std-or holding only C, ADMD and PRMD."""
    try:
        addr = parse_std_or(text.strip())
    except ORAddressError as exc:
        raise ValueError(f"bad global-id {text.strip()!r}: {exc}") from None
    if addr.country is None:
        raise ValueError(f"global-id {text.strip()!r} has no C")
    if addr != ORAddress(addr.country, addr.admd, addr.prmd):
        raise ValueError(f"global-id {text.strip()!r} has attributes other than C, ADMD, PRMD")
    return GlobalDomainId(addr.country, addr.admd or " ", addr.prmd)


# --- X400-Received: ----------------------------------------------------------------

_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")  # RFC 822 atom: "." is a special


def _word(text: str) -> str:
    if _ATOM.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _actions(elem: TraceElement) -> str:
    words = [elem.action.capitalize()]
    if "dl-operation" in elem.other_actions:
        words.append("Expanded")
    if "redirected" in elem.other_actions:
        words.append("Redirected")
    return ", ".join(words)


def _date(raw: str, fallback: datetime | None, what: str) -> str:
    when = parse_x400_time(raw)
    if when is None:
        if fallback is None:
            raise ValueError(f"unreadable {what} {raw!r}")
        when = fallback
    return format_datetime(when)


def format_x400_received(elem: TraceElement, *, fallback: datetime | None = None) -> str:
    """The ``X400-Received:`` value of one trace element (5.3.7).

    A time that cannot be read is written as ``fallback`` (the conversion
    time); without one it raises ``ValueError``.
    """
    parts = ["by " + (f"mta {_word(elem.mta)} in " if elem.mta else "")]
    parts[0] += format_global_id(elem.domain)
    if elem.deferred is not None:
        parts.append("deferred until " + _date(elem.deferred, fallback, "deferred time"))
    if elem.converted_eits:
        parts.append(f"converted ({format_eits(elem.converted_eits)})")
    if elem.attempted_mta is not None:
        parts.append("attempted MTA " + _word(elem.attempted_mta))
    elif elem.attempted_domain is not None:
        parts.append("attempted MD " + format_global_id(elem.attempted_domain))
    parts.append(_actions(elem))
    parts.append(_date(elem.arrival, fallback, "arrival time"))
    return " ; ".join(parts)


def _split_semicolons(value: str) -> list[str]:
    parts: list[str] = []
    start, quoted, depth, pos = 0, False, 0, 0
    while pos < len(value):
        c = value[pos]
        if c == "\\" and quoted:
            pos += 1
        elif c == '"':
            quoted = not quoted
        elif c == "(" and not quoted:
            depth += 1
        elif c == ")" and not quoted:
            depth -= 1
        elif c == ";" and not quoted and depth == 0:
            parts.append(value[start:pos].strip())
            start = pos + 1
        pos += 1
    if quoted:
        raise ValueError("unterminated quoted string")
    parts.append(value[start:].strip())
    return parts


def _read_word(text: str) -> tuple[str, str]:
    """(word, rest) of an 822 word at the start of ``text``."""
    text = text.lstrip()
    if text.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        if m is None:
            raise ValueError("unterminated quoted string")
        return re.sub(r"\\(.)", r"\1", m.group(1)), text[m.end() :]
    m = re.match(r"[^\s\"]+", text)
    if m is None:
        raise ValueError("missing MTA name")
    return m.group(0), text[m.end() :]


def _mta_name(name: str) -> str:
    if not name or len(name) > ub.ub_mta_name_length or not name.isascii():
        raise ValueError(f"bad MTA name {name!r} (IA5, 1..{ub.ub_mta_name_length} characters)")
    return name


def _x400_date(text: str, what: str) -> str:
    when = parse_rfc5322_date(text)
    if when is None:
        raise ValueError(f"unreadable {what} {text!r}")
    return format_x400_time(when)


def parse_x400_received(value: str) -> TraceElement:
    """The trace element of an ``X400-Received:`` value (5.3.7).

    Raises ``ValueError`` saying what is wrong (missing ``by``, bad
    global-id, unknown action, unreadable date...).
    """
    text = re.sub(r"\r?\n[ \t]*", " ", value).strip()  # unfold; quoted text kept
    try:
        return _parse_x400_received(text)
    except ValueError as exc:
        raise ValueError(f"bad X400-Received: {exc}: {text!r}") from None


def _parse_x400_received(text: str) -> TraceElement:
    parts = _split_semicolons(text)
    if len(parts) < 3:
        raise ValueError("needs 'by ...', an action list and an arrival time separated by ';'")
    head, *middle, action_text, arrival_text = parts
    m = re.match(r"by\s+", head, re.IGNORECASE)
    if m is None:
        raise ValueError("does not start with 'by'")
    rest = head[m.end() :]
    mta: str | None = None
    m = re.match(r"mta\s+", rest, re.IGNORECASE)
    if m is not None:
        mta, rest = _read_word(rest[m.end() :])
        mta = _mta_name(mta)
        m = re.match(r"\s*in\s+", rest, re.IGNORECASE)
        if m is None:
            raise ValueError("'by mta <name>' without 'in <global-id>'")
        rest = rest[m.end() :]
    domain = parse_global_id(rest)
    deferred: str | None = None
    converted: tuple[str, ...] | None = None
    attempted_domain: GlobalDomainId | None = None
    attempted_mta: str | None = None
    for part in middle:
        low = part.lower()
        if m := re.match(r"deferred\s+until\s+", part, re.IGNORECASE):
            deferred = _x400_date(part[m.end() :], "deferred time")
        elif low.startswith("converted"):
            inner = part[len("converted") :].strip()
            if not (inner.startswith("(") and inner.endswith(")")):
                raise ValueError(f"'converted' without '(...)': {part!r}")
            converted = parse_eits(inner[1:-1])
        elif m := re.match(r"attempted\s+(md|mta)\s+", part, re.IGNORECASE):
            if m.group(1).lower() == "md":
                attempted_domain = parse_global_id(part[m.end() :])
            else:
                word, tail = _read_word(part[m.end() :])
                if tail.strip():
                    raise ValueError(f"junk after the attempted MTA: {tail.strip()!r}")
                attempted_mta = _mta_name(word)
        elif part == "":
            raise ValueError("empty part between ';'")
        else:
            raise ValueError(f"unknown part {part!r}")
    words = [w.strip().lower() for w in action_text.split(",")]
    bad = [w for w in words if w not in _ACTIONS]
    if bad:
        raise ValueError(f"unknown action {bad[0]!r} (Relayed, Rerouted, Expanded, Redirected)")
    action: Literal["relayed", "rerouted"] = "rerouted" if "rerouted" in words else "relayed"
    other: set[Literal["redirected", "dl-operation"]] = set()
    if "expanded" in words:
        other.add("dl-operation")
    if "redirected" in words:
        other.add("redirected")
    return TraceElement(
        domain=domain,
        arrival=_x400_date(arrival_text, "arrival time"),
        action=action,
        mta=mta,
        attempted_domain=attempted_domain,
        attempted_mta=attempted_mta,
        deferred=deferred,
        converted_eits=converted,
        other_actions=frozenset(other),
    )


# --- merging and splitting -----------------------------------------------------


def _same_but_mta(internal: TraceElement, external: TraceElement) -> bool:
    return dataclasses.replace(internal, mta=None, attempted_mta=None) == external and (
        internal.attempted_mta is None
    )


def merged_trace(
    external: Sequence[TraceElement], internal: Sequence[TraceElement]
) -> list[TraceElement]:
    """One trace list of external and internal trace (5.3.7), newest first.

    Both inputs are oldest first (X.411 SEQUENCE order).  The internal
    elements of a domain follow the external element of that domain's
    visit; an external element identical to the first internal one but for
    the MTA is left out.  Internal elements of no listed domain keep their
    place before the next external element, or go last.
    """
    out: list[TraceElement] = []
    i = 0
    for k, ext in enumerate(external):
        later = {e.domain for e in external[k:]}
        while i < len(internal) and internal[i].domain not in later:
            out.append(internal[i])
            i += 1
        run: list[TraceElement] = []
        while i < len(internal) and internal[i].domain == ext.domain:
            run.append(internal[i])
            i += 1
        if not (run and _same_but_mta(run[0], ext)):
            out.append(ext)
        out.extend(run)
    out.extend(internal[i:])
    out.reverse()
    return out


def split_trace(
    elements: Iterable[TraceElement],
) -> tuple[tuple[TraceElement, ...], tuple[TraceElement, ...]]:
    """(external, internal) of a merged list, oldest first (reverse of
    :func:`merged_trace`): an MTA element is internal trace, and stands for
    the external element of its domain too when the domain changes."""
    external: list[TraceElement] = []
    internal: list[TraceElement] = []
    for elem in elements:
        if elem.mta is None:
            external.append(elem)
            continue
        internal.append(elem)
        if not external or external[-1].domain != elem.domain:
            external.append(dataclasses.replace(elem, mta=None, attempted_mta=None))
    return tuple(external), tuple(internal)


# --- Internet -> X.400 (5.1.6, 5.1.7) -------------------------------------------

_BY = re.compile(r"\bby\s+([^\s;()]+)", re.IGNORECASE)


def global_id_of_domain(domain: str, gw: Gateway) -> GlobalDomainId | None:
    """C/ADMD/PRMD a domain gives through an MCGAM (4.3.4 step 8), if any."""
    hit = gw.tables.domain_to_or.lookup(domain.strip(".[]"))
    if hit is None:
        return None
    extra, entry = hit
    levels = list(entry.prefix)
    for label in reversed(extra):
        if len(levels) >= 3:
            break
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", label):
            return None
        if len(label) > (ub.ub_country_name_alpha_length if not levels else 16):
            return None
        levels.append(label)
    if len(levels) < 2 or levels[0] is None:
        return None
    try:
        ORAddress(country=levels[0], admd=levels[1], prmd=levels[2] if len(levels) > 2 else None)
    except ORAddressError:
        return None
    return GlobalDomainId(levels[0], levels[1] or " ", levels[2] if len(levels) > 2 else None)


def _received_parts(line: str) -> tuple[str | None, datetime | None]:
    """("by" host, date) of a Received: value."""
    text = " ".join(line.split())
    head, sep, date_text = text.rpartition(";")
    m = _BY.search(head if sep else text)
    when = parse_rfc5322_date(date_text) if sep else None
    return (m.group(1) if m else None), when


def _domain_of(mailbox: str) -> str | None:
    address = mailbox.strip().strip("<>")
    return address.rpartition("@")[2] or None if "@" in address else None


def trace_from_internet(
    received: list[str],
    x400_received: list[str],
    date: datetime,
    gw: Gateway,
    *,
    mail_from: str | None = None,
    eits: tuple[str, ...] = ("ia5-text",),
) -> tuple[tuple[TraceElement, ...], tuple[TraceElement, ...]]:
    """(external, internal) X.411 trace, oldest first, of an Internet message
    (5.1.6, 5.1.7), ending with the gateway's own element.

    ``received`` and ``x400_received`` are field values top to bottom, as in
    the header.  ``date`` is the ``Date:`` (or latest ``Resent-Date:``);
    ``mail_from`` (the SMTP originator) gives the first element's domain and
    MTA.  ``eits`` are the EITs of the converted message (``eit-mixer`` is
    added).  An ``X400-Received:`` that cannot be parsed is skipped here (the
    header line itself is kept in the rfc-822-field-list).
    """
    external: list[TraceElement] = []
    internal: list[TraceElement] = []
    parsed: list[TraceElement] = []
    for value in reversed(x400_received):
        try:
            parsed.append(parse_x400_received(value))
        except ValueError:
            continue
    if parsed:
        ext, inner = split_trace(parsed)
        external.extend(ext)
        internal.extend(inner)
    else:
        origin_domain = _domain_of(mail_from) if mail_from else None
        gdi = gw.global_domain
        if mail_from and "@" in mail_from:
            try:
                addr = gw.to_or(mail_from.strip("<>"), return_address=True)
                if addr.country is not None:
                    gdi = GlobalDomainId(addr.country, addr.admd or " ", addr.prmd)
            except (MappingError, ORAddressError):
                pass
        first = TraceElement(domain=gdi, arrival=format_x400_time(date))
        external.append(first)
        if origin_domain:
            internal.append(dataclasses.replace(first, mta=origin_domain[: ub.ub_mta_name_length]))
    last_time = external[-1].arrival
    for line in reversed(received):
        host, when = _received_parts(line)
        arrival = format_x400_time(when) if when is not None else last_time
        last_time = arrival
        gdi = (global_id_of_domain(host, gw) if host else None) or gw.global_domain
        if external[-1].domain != gdi:
            external.append(TraceElement(domain=gdi, arrival=arrival))
        if host:
            internal.append(
                TraceElement(domain=gdi, arrival=arrival, mta=host[: ub.ub_mta_name_length])
            )
    converted = tuple(dict.fromkeys((*eits, EIT_MIXER)))
    own = TraceElement(
        domain=gw.global_domain, arrival=format_x400_time(gw.now), converted_eits=converted
    )
    external.append(own)
    internal.append(dataclasses.replace(own, mta=gw.mta_name[: ub.ub_mta_name_length]))
    return tuple(external), tuple(internal)


# --- loops (5.1.5) -----------------------------------------------------------------


def mixer_conversions(received: list[str]) -> int:
    """How many ``Received:`` values carry a MIXER conversion comment."""
    return sum(1 for line in received if _MIXER_MARK.search(line))


def mixer_trace_conversions(trace: Iterable[TraceElement]) -> int:
    """How many trace elements record a MIXER conversion (``eit-mixer``)."""
    return sum(1 for e in trace if e.converted_eits and EIT_MIXER in e.converted_eits)


def is_looping(count: int) -> bool:
    """More than five MIXER conversions in one direction is a loop (5.1.5)."""
    return count > MAX_CONVERSIONS
