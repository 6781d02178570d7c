"""Message identifiers both ways: RFC 822 msg-id <-> X.420 IPMIdentifier
(RFC 2156 4.7.3) and msg-id -> X.411 MTSIdentifier (4.6.3), plus the
``mts-msg-id`` text ``[global-id;local]`` of 5.3.6.

An Internet msg-id travels in X.400 as the ps-encoding of its text without
``<>`` (4.7.3.1); an X.400 identifier travels on the Internet as
``<URI*std-or@MHS>`` (4.7.3.2).  Both are recognised on the way back, so a
message that crosses several gateways keeps its identifier.

Decisions:

- The ``@MHS`` form is written with the local part quoted whenever it holds
  an O/R address (``<"147*/S=Dietrich/O=Siemens/ADMD=DBP/C=DE/"@MHS>``, the
  4.7.3.2 example), because a std-or may hold spaces and other specials;
  without one it is quoted only if it is not a dot-atom
  (``<PC1000-910530172027-57D8*@MHS>``, 5.3.4.2).  Both forms, quoted or
  not, are accepted.
- A user-relative identifier is cut to 64 characters (X.420
  ub-local-ipm-identifier, 5.1.3 says truncate) without splitting a
  ``(..)`` escape, so that it still decodes.
- A phrase (4.7.3.5) is stored ps-encoded like a msg-id, so that any ASCII
  phrase maps back exactly.
- Characters outside ASCII, which ps-encoding cannot carry, become ``?``.
"""

from __future__ import annotations

import hashlib
import re
import string

from gateway.x400.asn1 import upper_bounds as ub
from gateway.x400.asn1.ipms_upper_bounds import ub_local_ipm_identifier
from gateway.x400.context import Gateway
from gateway.x400.mapping import MappingError
from gateway.x400.model import GlobalDomainId, IPMIdentifier, MTSIdentifier
from gateway.x400.orname import (
    ORAddress,
    ORAddressError,
    format_std_or,
    is_printable,
    parse_std_or,
    ps_decode,
    ps_encode,
)

__all__ = [
    "format_mts_id",
    "generated_mts_id",
    "ipm_id_to_msgid",
    "ipm_id_to_phrase_or_msgid",
    "msgid_to_ipm_id",
    "mts_id_from_msgid",
    "parse_mts_id",
    "parse_reference_list",
    "split_msg_id",
]

_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_DOT_ATOM = re.compile(r"[%s]+(?:\.[%s]+)*" % ((re.escape("".join(sorted(_ATEXT))),) * 2))
_QTEXT = re.compile(r'"((?:[^"\\\r\n]|\\[\x00-\x7f])*)"')
_DOMAIN_LITERAL = re.compile(r"\[(?:[^\[\]\\\r\n]|\\[\x00-\x7f])*\]")
MHS_DOMAIN = "MHS"


def _ascii(text: str) -> str:
    return "".join(c if c.isascii() else "?" for c in text)


def _cut_ps(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, not inside a ``(..)`` escape."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    opening = cut.rfind("(")
    if opening != -1 and ")" not in cut[opening:]:
        cut = cut[:opening]
    return cut


def _quote_local(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_msg_id(text: str) -> tuple[str, str] | None:
    """(unquoted local part, domain) if ``text`` is an 822 msg-id
    ``<local@domain>`` (local a dot-atom or quoted-string, domain a dot-atom
    or domain-literal), else ``None``."""
    text = text.strip()
    if len(text) < 5 or text[0] != "<" or text[-1] != ">":
        return None
    inner = text[1:-1]
    if inner.startswith('"'):
        m = _QTEXT.match(inner)
        if m is None:
            return None
        local = re.sub(r"\\(.)", r"\1", m.group(1))
        rest = inner[m.end() :]
    else:
        at = inner.rfind("@")
        if at <= 0 or not _DOT_ATOM.fullmatch(inner[:at]):
            return None
        local, rest = inner[:at], inner[at:]
    if not rest.startswith("@"):
        return None
    domain = rest[1:]
    if not (_DOT_ATOM.fullmatch(domain) or _DOMAIN_LITERAL.fullmatch(domain)):
        return None
    return local, domain


def _mhs_form(local: str, domain: str) -> IPMIdentifier | None:
    """4.7.3.3: ``[printablestring] "*" [std-or-address]`` at ``MHS``."""
    if domain.upper() != MHS_DOMAIN or "*" not in local:
        return None
    uri, _, user_text = local.partition("*")
    if not is_printable(uri):
        return None
    user: ORAddress | None = None
    if user_text:
        try:
            user = parse_std_or(user_text)
        except ORAddressError:
            return None
    return IPMIdentifier(user=user, local=uri or None)


def _encoded_uri(text: str) -> str:
    return _cut_ps(ps_encode(_ascii(text)), ub_local_ipm_identifier)


def msgid_to_ipm_id(msgid: str) -> IPMIdentifier:
    """IPMIdentifier of an 822 msg-id (RFC 2156 4.7.3.3).

    ``<URI*std-or@MHS>`` (quoted or not) gives the X.400 identifier back;
    anything else is an Internet identifier: no user, the user-relative
    identifier the ps-encoded msg-id without ``<>``.
    """
    text = msgid.strip()
    parts = split_msg_id(text)
    if parts is not None:
        ident = _mhs_form(*parts)
        if ident is not None:
            return ident
    inner = text[1:-1] if text.startswith("<") and text.endswith(">") else text
    return IPMIdentifier(local=_encoded_uri(inner))


def _internet_msgid(ident: IPMIdentifier) -> str | None:
    """4.7.3.4: the msg-id an RFC 822 generated identifier stands for."""
    if ident.user is not None or ident.local is None:
        return None
    candidate = "<" + ps_decode(ident.local, strict=False) + ">"
    return candidate if split_msg_id(candidate) is not None else None


def ipm_id_to_msgid(ident: IPMIdentifier) -> str:
    """The 822 msg-id of an IPMIdentifier (RFC 2156 4.7.3.4, 4.7.3.2)."""
    internet = _internet_msgid(ident)
    if internet is not None:
        return internet
    id_loc = (ident.local or "") + "*"
    if ident.user is not None:
        return "<" + _quote_local(id_loc + format_std_or(ident.user)) + "@" + MHS_DOMAIN + ">"
    local = id_loc if _DOT_ATOM.fullmatch(id_loc) else _quote_local(id_loc)
    return "<" + local + "@" + MHS_DOMAIN + ">"


def _phrase(text: str) -> str:
    words = text.split(" ")
    if all(w and all(c in _ATEXT or c == "." for c in w) for w in words):
        return text
    return _quote_local(text)


def ipm_id_to_phrase_or_msgid(ident: IPMIdentifier) -> str:
    """In-Reply-To/References form (4.7.3.5): an identifier with no user whose
    URI is not a msg-id becomes a phrase instead of ``<URI*@MHS>``."""
    if ident.user is None and ident.local is not None and _internet_msgid(ident) is None:
        return _phrase(ps_decode(ident.local, strict=False))
    return ipm_id_to_msgid(ident)


def _reference_tokens(value: str) -> list[tuple[str, str]]:
    """("id", msg-id text) and ("word", word) tokens; comments skipped."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    n = len(value)
    while pos < n:
        c = value[pos]
        if c.isspace() or c == ",":
            pos += 1
        elif c == "(":
            depth = 0
            while pos < n:
                if value[pos] == "\\":
                    pos += 1
                elif value[pos] == "(":
                    depth += 1
                elif value[pos] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                pos += 1
            pos += 1
        elif c == "<":
            end = pos + 1
            quoted = False
            while end < n and (quoted or value[end] != ">"):
                if value[end] == "\\" and quoted:
                    end += 1
                elif value[end] == '"':
                    quoted = not quoted
                end += 1
            tokens.append(("id", value[pos : end + 1]))
            pos = end + 1
        elif c == '"':
            m = _QTEXT.match(value, pos)
            if m is None:
                tokens.append(("word", value[pos + 1 :]))
                break
            tokens.append(("word", re.sub(r"\\(.)", r"\1", m.group(1))))
            pos = m.end()
        else:
            end = pos
            while end < n and not value[end].isspace() and value[end] not in '(<",':
                end += 1
            tokens.append(("word", value[pos:end]))
            pos = end
    return tokens


def parse_reference_list(value: str) -> list[IPMIdentifier]:
    """IPMIdentifiers of an In-Reply-To:/References: value: each msg-id, and
    each run of phrase words between them as one phrase (4.7.3.5)."""
    out: list[IPMIdentifier] = []
    words: list[str] = []

    def flush() -> None:
        if words:
            out.append(IPMIdentifier(local=_encoded_uri(" ".join(words))))
            words.clear()

    for kind, text in _reference_tokens(" ".join(value.split())):
        if kind == "id":
            flush()
            out.append(msgid_to_ipm_id(text))
        else:
            words.append(text)
    flush()
    return out


# --- MTS identifiers (RFC 2156 4.6.3, 5.3.6 mts-msg-id) -----------------------


def format_mts_id(ident: MTSIdentifier) -> str:
    """``mts-msg-id``: ``"[" global-id ";" *text "]"`` (5.3.6)."""
    return "[" + format_std_or(ident.domain.as_or()) + ";" + ident.local + "]"


def parse_mts_id(text: str) -> MTSIdentifier | None:
    """The MTSIdentifier of an ``mts-msg-id``, or ``None`` if it is not one."""
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1]
    split = inner.find("/;")
    split = split + 1 if split != -1 else inner.find(";")
    if split == -1:
        return None
    try:
        addr = parse_std_or(inner[:split])
    except ORAddressError:
        return None
    if addr.country is None or addr != ORAddress(addr.country, addr.admd, addr.prmd):
        return None
    local = inner[split + 1 :]
    if len(local) > ub.ub_local_id_length or not local.isascii():
        return None
    return MTSIdentifier(GlobalDomainId(addr.country, addr.admd or " ", addr.prmd), local)


def mts_id_from_msgid(msgid: str, gw: Gateway) -> MTSIdentifier:
    """MTSIdentifier of a Message-ID (RFC 2156 4.6.3).

    The msg-id is mapped like an address; its C, ADMD and PRMD give the
    global domain identifier (the gateway's own when it gives none).  The
    local identifier is the msg-id with its ``<>``, cut to 32 characters.
    """
    text = _ascii(" ".join(msgid.split()))
    if not text.startswith("<"):
        text = "<" + text + ">"
    domain = gw.global_domain
    parts = split_msg_id(text)
    if parts is not None:
        try:
            addr = gw.to_or(text[1:-1])
        except (MappingError, ORAddressError):
            addr = None
        if addr is not None and addr.country is not None:
            domain = GlobalDomainId(addr.country, addr.admd or " ", addr.prmd)
    return MTSIdentifier(domain, text[: ub.ub_local_id_length])


def generated_mts_id(gw: Gateway, seed: bytes) -> MTSIdentifier:
    """An MTSIdentifier made up by the gateway when there is no Message-ID
    (or there are Resent- fields, 5.1.6): the conversion time and a digest
    of ``seed`` (the message), within the gateway's global domain."""
    digest = hashlib.sha256(seed + gw.now.isoformat().encode()).hexdigest()[:16]
    return MTSIdentifier(gw.global_domain, f"{gw.now:%y%m%d%H%M%S}.{digest}")
