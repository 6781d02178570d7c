"""The Authentication-Results header field (RFC 8601).

Three pure functions:

- :func:`authentication_results` formats the field value from the checks'
  verdicts, quoting what must be quoted (RFC 8601 2.2, RFC 2045 5.1) and
  folding it the way ``Received:`` is folded (one result per line,
  continuations starting with a TAB);
- :func:`remove_forged` deletes every Authentication-Results field that
  claims our authserv-id, which a border MTA must do before adding its own
  (RFC 8601 5), and leaves every other byte of the message as it was;
- :func:`parse_authserv_id` reads the authserv-id from a field value,
  skipping leading comments and folding white space.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from gateway.message import JUNK_FIELD

FIELD_NAME = "Authentication-Results"
MAX_WIDTH = 78  # RFC 5322 2.1.1 "SHOULD" line length

# One result: (method, result, properties, reason). ``method`` may carry a
# version ("dkim/1", RFC 8601 2.2 methodspec); ``properties`` maps
# "ptype.property" (e.g. "smtp.mailfrom", "header.d") to its value.
Method = tuple[str, str, Mapping[str, str], str | None]

# RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
_TSPECIALS = '()<>@,;:\\"/[]?='
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# RFC 5321 Keyword / Ldh-str, as RFC 8601 2.2 uses it for method, result,
# ptype and property names.
_KEYWORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_METHOD = re.compile(rf"({_KEYWORD.pattern})(?:/([0-9]+))?")
_PROPERTY = re.compile(rf"({_KEYWORD.pattern})\.({_KEYWORD.pattern}(?:\.{_KEYWORD.pattern})*)")
# RFC 8601 2.2 pvalue: [ [ local-part ] "@" ] domain-name, written bare. Only
# a dot-atom local part of token characters is written bare (no "=", "/" or
# "?", which a careless reader could split on); other values are quoted.
_U8 = r"\x80-\U0010ffff"  # UTF-8 (RFC 6532 3.2)
_ATEXT = rf"[A-Za-z0-9!#$%&'*+\-^_`{{|}}~{_U8}]+"
_LETDIG = rf"[A-Za-z0-9{_U8}]"
_DOMAIN = rf"{_LETDIG}(?:[A-Za-z0-9\-.{_U8}]*{_LETDIG})?"
_ADDRESS = re.compile(rf"(?:{_ATEXT}(?:\.{_ATEXT})*)?@{_DOMAIN}")
# What must never reach a header: CR, LF and the other controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------------------
# Formatting (RFC 8601 2.2)


def _quoted(text: str) -> str:
    """``text`` as an RFC 5322 quoted-string; controls (CR and LF among them,
    which would end the field) are replaced by spaces."""
    text = _CONTROL.sub(" ", text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(text: str) -> str:
    """RFC 2045 ``value`` (token or quoted-string)."""
    return text if _TOKEN.fullmatch(text) else _quoted(text)


def _pvalue(text: str) -> str:
    """RFC 8601 2.2 ``pvalue``: a token, an address or domain written bare
    (``smtp.mailfrom=user@example.net``), anything else quoted."""
    if _TOKEN.fullmatch(text) or _ADDRESS.fullmatch(text):
        return text
    return _quoted(text)


def _checked(pattern: re.Pattern[str], text: str, what: str) -> str:
    if not pattern.fullmatch(text):
        raise ValueError(f"{what} {text!r} is not valid in Authentication-Results (RFC 8601 2.2)")
    return text


def _resinfo(method: Method) -> list[str]:
    """The words of one ``resinfo`` (RFC 8601 2.2), without the leading ";"."""
    name, result, properties, reason = method
    _checked(_METHOD, name, "method")
    words = [f"{name}={_checked(_KEYWORD, result, 'result')}"]
    if reason is not None:
        words.append(f"reason={_quoted(reason)}")
    for key, value in properties.items():
        _checked(_PROPERTY, key, "property")
        words.append(f"{key}={_pvalue(value)}")
    return words


def _fold(lines: list[list[str]], first: int) -> str:
    """Words into physical lines of at most MAX_WIDTH characters where
    possible: each logical line on a line of its own, continuations starting
    with a TAB (RFC 5322 2.2.3), a logical line too long for one line folded
    further between its words (never inside one). ``first`` is the width the
    field name takes on the first line."""
    out: list[str] = []
    for words in lines:
        line, width = ("", first) if not out else ("\t", 0)
        for word in words:
            if line in ("", "\t"):
                line += word
            elif width + len(line) + 1 + len(word) > MAX_WIDTH:
                out.append(line)
                line, width = "\t" + word, 0
            else:
                line += " " + word
        out.append(line)
    return "\r\n".join(out)


def authentication_results(
    authserv_id: str, methods: Sequence[Method], *, version: int | None = None
) -> str:
    """The Authentication-Results field value (RFC 8601 2.2), folded, without
    the field name and without the final CRLF.

    ``methods`` are ``(method, result, properties, reason)``; no methods at
    all gives ``authserv-id; none`` (RFC 8601 2.2 no-result). Values that are
    not tokens (nor addresses or domains, for properties) are quoted; the
    reason is always quoted. Names that are not RFC 8601 keywords and an
    authserv-id that is not a single token raise :class:`ValueError`, since
    they come from the program, not from the message.
    """
    _checked(_TOKEN, authserv_id, "authserv-id")
    head = [authserv_id] if version is None else [authserv_id, str(version)]
    lines: list[list[str]] = [head]
    if not methods:
        lines[0][-1] += "; none"
    else:
        lines[0][-1] += ";"
        for i, method in enumerate(methods):
            words = _resinfo(method)
            if i < len(methods) - 1:
                words[-1] += ";"
            lines.append(words)
    return _fold(lines, len(FIELD_NAME) + 2)


def authentication_results_header(
    authserv_id: str, methods: Sequence[Method], *, version: int | None = None
) -> bytes:
    """The whole field, ``Authentication-Results: ...`` ending with CRLF,
    ready to be prepended to a message (UTF-8, RFC 6532, if a value is)."""
    value = authentication_results(authserv_id, methods, version=version)
    return f"{FIELD_NAME}: {value}\r\n".encode()


# ---------------------------------------------------------------------------
# Reading the authserv-id (RFC 8601 2.2, 2.5)


def _skip_cfws(text: str, i: int) -> int:
    """Index of the first character at or after ``i`` that is neither white
    space nor inside a comment (RFC 5322 3.2.2 CFWS; comments nest and may
    hold quoted-pairs). An unclosed comment runs to the end."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if depth:
            if c == "\\":
                i += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        elif c == "(":
            depth = 1
        elif c not in " \t\r\n":
            return i
        i += 1
    return n


def parse_authserv_id(value: str) -> str | None:
    """The authserv-id at the start of an Authentication-Results field value
    (RFC 8601 2.2: ``[CFWS] authserv-id``): a token, or a quoted-string
    returned unquoted. ``None`` when the value starts with neither."""
    i = _skip_cfws(value, 0)
    if i < len(value) and value[i] == '"':
        out: list[str] = []
        i += 1
        while i < len(value):
            c = value[i]
            if c == "\\" and i + 1 < len(value):
                out.append(value[i + 1])
                i += 2
                continue
            if c == '"':
                return "".join(out)
            if c not in "\r\n":  # FWS inside the quotes unfolds to its WSP
                out.append(c)
            i += 1
        return None  # unterminated quoted-string
    # A token; 8-bit octets are allowed for UTF-8 ids (RFC 8601 2.5, RFC 6532).
    j = i
    while j < len(value) and value[j] not in _TSPECIALS and ord(value[j]) > 0x20:
        if value[j] == "\x7f":
            break
        j += 1
    return value[i:j] or None


# ---------------------------------------------------------------------------
# Removing forged fields (RFC 8601 5)

_AR_NAME = re.compile(rb"authentication-results[ \t]*:", re.IGNORECASE)


_LINE_END = re.compile(rb"\r\n|\n|\r")


def _header_fields(message: bytes) -> tuple[list[bytes], int]:
    """The header section split into fields (each with its continuation
    lines and line ends, exactly as in the message), and the offset where the
    header section ends (the empty line, if any, is not part of it).

    CRLF, a bare LF and a bare CR all end a line here: whichever a later
    reader takes for a line end, a field it sees is a field seen here."""
    fields: list[bytes] = []
    offset = 0
    n = len(message)
    while offset < n:
        match = _LINE_END.search(message, offset)
        end = n if match is None else match.end()
        line = message[offset:end]
        if match is not None and match.start() == offset:
            break  # the empty line that ends the header section
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line  # RFC 5322 2.2.3: a folded continuation
        else:
            fields.append(line)
        offset = end
    return fields, offset


# Fields only this gateway may write: a message arriving with them has them
# removed (the Junk verdict header of gateway.bus.local).
OWN_FIELDS: Final = (JUNK_FIELD,)
_OWN_NAME = re.compile(
    rb"(?:" + b"|".join(re.escape(n.encode()) for n in OWN_FIELDS) + rb")[ \t]*:", re.IGNORECASE
)


def remove_forged(message: bytes, authserv_id: str) -> bytes:
    """``message`` without the Authentication-Results fields that carry
    ``authserv_id`` (compared without regard to case, RFC 8601 5 and 2.5),
    nor any of :data:`OWN_FIELDS`.

    Everything else, other Authentication-Results fields included, is kept
    byte for byte; a message without such a field is returned unchanged.
    """
    ours = authserv_id.lower()
    fields, end = _header_fields(message)
    kept: list[bytes] = []
    for field in fields:
        if _OWN_NAME.match(field):
            continue
        match = _AR_NAME.match(field)
        if match is not None:
            value = field[match.end() :].decode("utf-8", "surrogateescape")
            found = parse_authserv_id(value)
            if found is not None and found.lower() == ours:
                continue
        kept.append(field)
    if len(kept) == len(fields):
        return message
    return b"".join(kept) + message[end:]
