"""What IMAP needs from a message's MIME structure (pure: bytes in, bytes out).

RFC 3501 7.4.2: ENVELOPE, BODYSTRUCTURE/BODY and BODY[section]<partial>,
plus the pieces SEARCH needs (header fields, body text, sent date). Every
function takes the whole message with CRLF line ends, as the store returns
it, and never raises on malformed input: a broken message still gets a
well-formed answer (a text/plain part, NIL fields).

The results of :func:`envelope` and :func:`bodystructure` are wire-ready
IMAP syntax (parenthesised lists with quoted strings or literals), so the
server writes them as they are.

The MIME tree comes from one pass of a byte-offset scanner (:func:`parse`)
that follows Dovecot's message parser where RFC 2046 leaves room: a
delimiter line is ``--`` plus the longest active boundary of the part or
any ancestor (so a missing close delimiter ends at the parent's), a
boundary line also ends a part's header, a multipart without parts gets
an empty text/plain child. The ENVELOPE and BODYSTRUCTURE output is
byte-for-byte what Dovecot 2.3 sends for the same message (checked by
tests/imap/test_message_vs_dovecot.py), including its address parser's
``MISSING_MAILBOX``/``MISSING_DOMAIN`` placeholders and its whitespace
clean-up of Subject and display names.

Input with bare LF line ends is converted to CRLF first, so offsets,
sizes and sections are those of the CRLF form the server sends.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
from dataclasses import dataclass, field
from email.header import decode_header, make_header

# Deeper multiparts and message/rfc822 parts are leaves (text/plain), so a
# hostile message cannot make the parser recurse without bound.
MAX_DEPTH = 100

_CRLF = b"\r\n"
_WSP = b" \t"

# --------------------------------------------------------------------------
# The MIME tree


@dataclass(slots=True)
class Field:
    """One header field: ``name`` as written (trailing blanks dropped),
    ``value`` after the colon with leading blanks dropped and folding
    CRLFs removed, ``raw`` the field's lines as they are (CRLF-terminated
    except maybe at the end of the message)."""

    name: bytes
    value: bytes
    raw: bytes


@dataclass(slots=True)
class Part:
    """One MIME entity: the header is ``[start, header_end)`` (with its
    blank line, if any), the body ``[body_start, body_end)`` without the
    CRLF that belongs to a following delimiter line."""

    start: int
    header_end: int
    body_start: int
    body_end: int
    fields: list[Field]
    mtype: bytes | None = None  # as written; None: no usable Content-Type
    subtype: bytes | None = None
    params: list[tuple[bytes, bytes]] = field(default_factory=list)
    multipart: bool = False
    rfc822: bool = False
    children: list[Part] = field(default_factory=list)
    message: Part | None = None  # the encapsulated message of message/rfc822
    eoh: bool = True  # the header ends with a blank line

    def get(self, name: bytes) -> Field | None:
        """The first field called ``name`` (lower case)."""
        for f in self.fields:
            if f.name.lower() == name:
                return f
        return None

    def last(self, name: bytes) -> Field | None:
        """The last field called ``name`` (lower case)."""
        for f in reversed(self.fields):
            if f.name.lower() == name:
                return f
        return None

    def is_text(self) -> bool:
        return not self.rfc822 and (self.mtype is None or self.mtype.lower() == b"text")


@dataclass(slots=True)
class _Delimiter:
    line: int  # offset of the "--boundary" line
    index: int  # which boundary of the stack it matched
    close: bool  # "--boundary--"
    after: int  # offset of the next line
    end: int  # where the content before it ends (the CRLF before belongs to it)


class _Parser:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.size = len(buf)

    def delimiter(self, pos: int, bounds: list[bytes]) -> _Delimiter | None:
        """The first delimiter line at or after line start ``pos``."""
        if not bounds:
            return None
        buf = self.buf
        start = pos
        line = pos if buf.startswith(b"--", pos) else -1
        while True:
            if line < 0:
                found = buf.find(b"\r\n--", pos)
                if found < 0:
                    return None
                line = found + 2
            best = -1
            best_len = -1
            for i, b in enumerate(bounds):
                # Dovecot: the longest matching boundary, the innermost of equals.
                if len(b) >= best_len and buf.startswith(b, line + 2):
                    best, best_len = i, len(b)
            if best >= 0:
                tail = line + 2 + best_len
                close = buf.startswith(b"--", tail)
                eol = buf.find(_CRLF, tail)
                after = self.size if eol < 0 else eol + 2
                return _Delimiter(line, best, close, after, line - 2 if line > start else line)
            pos = line
            line = -1

    def header(
        self, pos: int, bounds: list[bytes]
    ) -> tuple[list[Field], int, int, _Delimiter | None]:
        """Parse the header at ``pos``: (fields, header_end, body_start,
        delimiter that cut the header short or None)."""
        buf, size = self.buf, self.size
        fields: list[Field] = []
        cut: _Delimiter | None = None
        if buf.startswith(_CRLF, pos):
            return fields, pos + 2, pos + 2, None
        blank = buf.find(b"\r\n\r\n", pos)
        end = size if blank < 0 else blank + 2  # end of the last field line
        if bounds and (buf.startswith(b"--", pos) or buf.find(b"\r\n--", pos, end) >= 0):
            d = self.delimiter(pos, bounds)
            if d is not None and d.line < end:
                end = d.end
                cut = d
        offset = pos
        field_start = pos
        while offset < end:
            eol = buf.find(_CRLF, offset, end)
            nxt = end if eol < 0 else eol + 2
            line = buf[offset : nxt if eol < 0 else eol]
            if line[:1] in (b" ", b"\t") and fields:
                last = fields[-1]
                last.value += _CRLF + line
                last.raw = buf[field_start:nxt]
            else:
                colon = line.find(b":")
                if colon < 0:
                    name, value = line.rstrip(_WSP), b""
                else:
                    name, value = line[:colon].rstrip(_WSP), line[colon + 1 :].lstrip(_WSP)
                field_start = offset
                fields.append(Field(name, value, buf[offset:nxt]))
            offset = nxt
        if cut is not None:
            return fields, end, end, cut
        if blank < 0:
            return fields, size, size, None
        return fields, blank + 4, blank + 4, None

    def entity(
        self, pos: int, bounds: list[bytes], depth: int, digest_child: bool
    ) -> tuple[Part, _Delimiter | None]:
        fields, header_end, body_start, cut = self.header(pos, bounds)
        part = Part(pos, header_end, body_start, body_start, fields)
        buf = self.buf
        part.eoh = buf.startswith(_CRLF, header_end - 2) and (
            header_end - pos == 2 or buf.startswith(b"\r\n\r\n", header_end - 4)
        )
        if digest_child:
            part.mtype, part.subtype, part.rfc822 = b"message", b"rfc822", True
        ctype = part.get(b"content-type")
        boundary: bytes | None = None
        if ctype is not None:
            _content_type(part, ctype.value)
            for key, value in part.params:
                if key.lower() == b"boundary":
                    boundary = value
                    break
        if depth >= MAX_DEPTH and (part.multipart or part.rfc822):
            part.mtype, part.subtype, part.params = b"text", b"plain", []
            part.multipart = part.rfc822 = False
        if cut is not None:  # a delimiter line ended the header: no body
            if part.rfc822:
                part.message = Part(body_start, body_start, body_start, body_start, [])
            return part, cut
        d: _Delimiter | None
        if part.multipart and boundary:
            stack = [*bounds, boundary]
            own = len(stack) - 1
            digest = (part.subtype or b"").lower() == b"digest"
            d = self.delimiter(body_start, stack)
            while d is not None and d.index == own and not d.close:
                child, d = self.entity(d.after, stack, depth + 1, digest)
                part.children.append(child)
            if d is not None and d.index == own:  # close delimiter: the epilogue
                d = self.delimiter(d.after, bounds)
        elif part.rfc822:
            inner, d = self.entity(body_start, bounds, depth + 1, False)
            part.message = inner
        else:
            d = self.delimiter(body_start, bounds)
        part.body_end = self._body_end(body_start, d)
        if part.rfc822 and part.message is not None:
            _clip(part.message, part.body_end)
        return part, d

    def _body_end(self, body_start: int, d: _Delimiter | None) -> int:
        if d is None:
            return self.size
        return max(body_start, d.end)


def _clip(part: Part, end: int) -> None:
    """An encapsulated message ends where its message/rfc822 part ends."""
    part.body_end = min(part.body_end, end)
    if part.message is not None:
        _clip(part.message, end)


def _crlf(message: bytes) -> bytes:
    """``message`` with every line ending as CRLF (bare LF converted)."""
    if b"\r" not in message:  # one-byte search: memchr-fast
        return message.replace(b"\n", _CRLF)
    lf = message.count(b"\n")
    if lf == 0 or lf == message.count(_CRLF):
        return message
    return message.replace(_CRLF, b"\n").replace(b"\n", _CRLF)


def parse(message: bytes) -> tuple[bytes, Part]:
    """The CRLF form of ``message`` and its MIME tree (offsets into it)."""
    buf = _crlf(message)
    root, _ = _Parser(buf).entity(0, [], 0, False)
    return buf, root


# --------------------------------------------------------------------------
# RFC 822 tokens, after Dovecot's rfc822-parser.c


def _atext_table() -> tuple[bytes, bytes]:
    atext = bytearray(256)
    token = bytearray(256)
    for c in range(256):
        ch = bytes([c])
        if c >= 128 or ch.isalnum() or ch in b"!#$%&'*+-/=?^_`{|}~":
            atext[c] = 1
            token[c] = 0 if ch in b"/=?" else 1
    token[ord(".")] = 1
    return bytes(atext), bytes(token)


_ATEXT, _TOKEN = _atext_table()


class _Tokens:
    """A cursor over a header value (Dovecot's rfc822_parser_context).

    Methods return 1 (more data follows), 0 (at the end) or -1 (error)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)
        self.last_comment = b""

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < self.end else -1

    def skip_comment(self) -> int:
        data = self.data
        self.last_comment = b""
        level = 1
        self.pos += 1
        start = self.pos
        out = b""
        while self.pos < self.end:
            c = data[self.pos]
            if c == 0x28:  # (
                level += 1
            elif c == 0x29:  # )
                level -= 1
                if level == 0:
                    self.last_comment = out + data[start : self.pos]
                    self.pos += 1
                    return 1 if self.pos < self.end else 0
            elif c == 0x5C:  # backslash
                out += data[start : self.pos]
                start = self.pos + 1
                self.pos += 1
                if self.pos >= self.end:
                    return -1
            self.pos += 1
        return -1

    def skip_lwsp(self) -> int:
        data = self.data
        while self.pos < self.end:
            c = data[self.pos]
            if c in (0x20, 0x09, 0x0D, 0x0A):
                self.pos += 1
                continue
            if c != 0x28:
                break
            if self.skip_comment() < 0:
                return -1
        return 1 if self.pos < self.end else 0

    def _run(self, table: bytes, extra: int = -1) -> bytes:
        start = self.pos
        data = self.data
        while self.pos < self.end and (table[data[self.pos]] or data[self.pos] == extra):
            self.pos += 1
        return data[start : self.pos]

    def atom(self) -> tuple[int, bytes]:
        if self.pos >= self.end or not _ATEXT[self.data[self.pos]]:
            return -1, b""
        word = self._run(_ATEXT)
        if self.pos >= self.end:
            return 0, word
        return self.skip_lwsp(), word

    def dot_atom(self) -> tuple[int, bytes]:
        if self.pos >= self.end or not _ATEXT[self.data[self.pos]]:
            return -1, b""
        out = b""
        while True:
            out += self._run(_ATEXT)
            if self.pos >= self.end:
                return 0, out
            ret = self.skip_lwsp()
            if ret <= 0:
                return ret, out
            if self.data[self.pos] != 0x2E:  # .
                return 1, out
            self.pos += 1
            out += b"."
            ret = self.skip_lwsp()
            if ret <= 0:
                return ret, out

    def mime_token(self) -> tuple[int, bytes]:
        word = self._run(_TOKEN)
        if self.pos >= self.end:
            return 0, word
        return self.skip_lwsp(), word

    def quoted_string(self) -> tuple[int, bytes]:
        data = self.data
        self.pos += 1
        start = self.pos
        out = b""
        while self.pos < self.end:
            c = data[self.pos]
            if c == 0x22:  # "
                out += data[start : self.pos]
                self.pos += 1
                return self.skip_lwsp(), out
            if c == 0x0A:  # folding: drop the (CR)LF
                chunk = data[start : self.pos]
                if chunk.endswith(b"\r"):
                    chunk = chunk[:-1]
                out += chunk
                start = self.pos + 1
            elif c == 0x5C:
                self.pos += 1
                if self.pos >= self.end:
                    return -1, out
                out += data[start : self.pos - 1]
                start = self.pos
            self.pos += 1
        return -1, out

    def _atom_or_dot(self) -> tuple[int, bytes]:
        word = self._run(_ATEXT, 0x2E)
        if self.pos >= self.end:
            return 0, word
        return self.skip_lwsp(), word

    def phrase(self) -> tuple[int, bytes]:
        if self.pos >= self.end:
            return 0, b""
        if self.data[self.pos] == 0x2E:
            return -1, b""
        out = b""
        while True:
            if self.data[self.pos] == 0x22:
                ret, word = self.quoted_string()
            else:
                ret, word = self._atom_or_dot()
            out += word
            if ret <= 0:
                return ret, out
            c = self.data[self.pos]
            if not _ATEXT[c] and c not in (0x22, 0x2E):
                break
            out += b" "
        return self.skip_lwsp(), out

    def domain_literal(self) -> tuple[int, bytes]:
        data = self.data
        start = self.pos
        while self.pos < self.end:
            c = data[self.pos]
            if c == 0x5C:
                self.pos += 1
                if self.pos >= self.end:
                    break
            elif c == 0x5D:  # ]
                self.pos += 1
                return self.skip_lwsp(), data[start : self.pos]
            self.pos += 1
        return -1, b""

    def domain(self) -> tuple[int, bytes]:
        self.pos += 1  # "@"
        if self.skip_lwsp() <= 0:
            return -1, b""
        if self.data[self.pos] == 0x5B:  # [
            return self.domain_literal()
        return self.dot_atom()

    def content_param(self) -> tuple[int, bytes, bytes]:
        if self.pos >= self.end:
            return 0, b"", b""
        if self.data[self.pos] != 0x3B:  # ;
            return -1, b"", b""
        self.pos += 1
        if self.skip_lwsp() <= 0:
            return -1, b"", b""
        ret, key = self.mime_token()
        if ret <= 0 or self.data[self.pos] != 0x3D:  # =
            return -1, b"", b""
        self.pos += 1
        value = b""
        ret = self.skip_lwsp()
        if ret <= 0:
            pass
        elif self.data[self.pos] == 0x22:
            ret, value = self.quoted_string()
        elif self.data[self.pos] == 0x3D:  # name==?utf-8?b?...?=
            start = self.pos
            while self.pos < self.end and self.data[self.pos] not in b"; \t\r\n":
                self.pos += 1
            value = self.data[start : self.pos]
        else:
            ret, value = self.mime_token()
        return (-1 if ret < 0 else 1), key, value


def _rfc2231(tokens: _Tokens) -> list[tuple[bytes, bytes]]:
    """Content-Type/-Disposition parameters, RFC 2231 continuations merged
    (``key*`` when any piece is extended), as Dovecot's rfc2231_parse."""
    result: list[tuple[bytes, bytes]] = []
    pieces: list[tuple[bytes, int, bool, bytes]] = []
    while True:
        ret, key, value = tokens.content_param()
        if ret == 0:
            break
        if ret < 0:
            if tokens.pos >= tokens.end:
                break
            tokens.pos += 1
            continue
        star = key.find(b"*")
        if star < 0:
            result.append((key, value))
            continue
        rest = key[star + 1 :]
        digits = b""
        while rest[:1].isdigit():
            digits, rest = digits + rest[:1], rest[1:]
        extended = rest == b"*"
        if rest not in (b"", b"*") or (not digits and not extended):
            result.append((key, value))
            continue
        pieces.append((key[:star], int(digits or b"0"), extended, value))
    if not pieces:
        return result
    pieces.sort(key=lambda p: (p[0].lower(), p[1]))
    i = 0
    while i < len(pieces):
        name = pieces[i][0].lower()
        j = i
        while j < len(pieces) and pieces[j][0].lower() == name:
            j += 1
        group = pieces[i:j]
        extended = any(p[2] for p in group)
        if [p[1] for p in group] != list(range(len(group))):
            for key, idx, ext, value in group:
                result.append((key + b"*%d" % idx + (b"*" if ext else b""), value))
        else:
            out = b"''" if extended and not group[0][2] else b""
            for _key, _idx, ext, value in group:
                out += _pct(value) if extended and not ext else value
            result.append((group[0][0] + (b"*" if extended else b""), out))
        i = j
    return result


def _pct(value: bytes) -> bytes:
    return b"".join(
        bytes([c]) if _TOKEN[c] and c < 128 and c not in b"*'%" else b"%%%02X" % c for c in value
    )


def _content_type(part: Part, value: bytes) -> None:
    tokens = _Tokens(value)
    tokens.skip_lwsp()
    ret, mtype = tokens.mime_token()
    subtype = b""
    ok = ret > 0 and tokens.data[tokens.pos] == 0x2F  # /
    if ok:
        tokens.pos += 1
        if tokens.skip_lwsp() > 0:
            ret, subtype = tokens.mime_token()
    if not mtype:
        return
    part.mtype, part.subtype = mtype, subtype
    full = mtype.lower() + b"/" + subtype.lower()
    part.rfc822 = full == b"message/rfc822"
    part.multipart = mtype.lower() == b"multipart" and ok
    part.params = _rfc2231(tokens) if ok else []


# --------------------------------------------------------------------------
# IMAP strings, as Dovecot's imap-quote.c writes them


def _literal(value: bytes) -> bytes:
    return b"{%d}\r\n%s" % (len(value), value)


def _nstring(value: bytes | None) -> bytes:
    """A quoted string, or a literal when it has CR, LF or 8-bit octets
    (or more than four characters to escape, as Dovecot does)."""
    if value is None:
        return b"NIL"
    value = value.replace(b"\0", b"\xef\xbf\xbd")
    if b"\r" in value or b"\n" in value or not value.isascii():
        return _literal(value)
    escapes = value.count(b"\\") + value.count(b'"')
    if escapes > 4:
        return _literal(value)
    if escapes:
        value = value.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + value + b'"'


def _for_humans(value: bytes) -> bytes:
    """Dovecot's imap_append_string_for_humans: runs of blanks and line
    breaks become one space, leading and trailing ones go, NUL becomes
    U+FFFD; any change, quote, backslash or 8-bit octet makes a literal."""
    value = value.replace(b"\0", b"\xef\xbf\xbd")
    spaced = value.replace(b"\t", b" ").replace(b"\r", b" ").replace(b"\n", b" ")
    clean = b" ".join(w for w in spaced.split(b" ") if w)
    if clean == value and value.isascii() and b'"' not in value and b"\\" not in value:
        return b'"' + value + b'"'
    if not clean:
        return b'""'
    return _literal(clean)


def _unfold(value: bytes) -> bytes:
    return value.replace(_CRLF, b"") if b"\r\n" in value else value


# --------------------------------------------------------------------------
# Addresses, after Dovecot's message-address.c (fill_missing on)


@dataclass(slots=True)
class _Address:
    name: bytes | None = None
    route: bytes | None = None
    mailbox: bytes | None = None
    domain: bytes | None = None


class _AddressParser:
    def __init__(self, value: bytes) -> None:
        self.t = _Tokens(value)
        self.addr = _Address()
        self.out: list[_Address] = []

    def add(self) -> None:
        self.out.append(self.addr)
        self.addr = _Address()

    def add_fixed(self) -> None:
        if self.addr.mailbox is None:
            self.addr.mailbox = b"MISSING_MAILBOX"
        if self.addr.domain is None:
            self.addr.domain = b"MISSING_DOMAIN"
        self.add()

    def local_part(self) -> int:
        t = self.t
        if t.peek() == 0x22:
            ret, word = t.quoted_string()
        else:
            ret, word = t.dot_atom()
        if ret < 0:
            return -1
        self.addr.mailbox = word
        return ret

    def domain(self) -> int:
        ret, word = self.t.domain()
        if ret < 0:
            return -1
        self.addr.domain = word
        return ret

    def domain_list(self) -> int:
        t = self.t
        out = b""
        while True:
            if t.pos >= t.end:
                return 0
            if t.data[t.pos] != 0x40:  # @
                break
            if out:
                out += b","
            out += b"@"
            ret, word = t.domain()
            out += word
            if ret <= 0:
                return ret
            while t.skip_lwsp() > 0 and t.data[t.pos] == 0x2C:
                t.pos += 1
        self.addr.route = out
        return 1

    def angle_addr(self) -> int:
        t = self.t
        t.pos += 1  # <
        ret = t.skip_lwsp()
        if ret <= 0:
            return ret
        if t.data[t.pos] == 0x3E:  # "<>": both parts missing
            t.pos += 1
            return t.skip_lwsp()
        if t.data[t.pos] == 0x40:
            if self.domain_list() <= 0 or t.peek() != 0x3A:  # :
                self.addr.route = b"INVALID_ROUTE"
                return -1
            t.pos += 1
            ret = t.skip_lwsp()
            if ret <= 0:
                return ret
        ret = self.local_part()
        if ret <= 0:
            return ret
        if t.data[t.pos] == 0x40:
            ret = self.domain()
            if ret <= 0:
                return ret
        if t.data[t.pos] != 0x3E:  # >
            return -1
        t.pos += 1
        return t.skip_lwsp()

    def name_addr(self) -> int:
        t = self.t
        ret, name = t.phrase()
        if ret <= 0 or t.data[t.pos] != 0x3C:  # <
            return -1
        self.addr.name = name or None
        if self.angle_addr() < 0:
            self.addr.domain = b"SYNTAX_ERROR"
        return 1 if t.pos < t.end else 0

    def addr_spec(self) -> int:
        t = self.t
        t.last_comment = b""
        ret = self.local_part()
        if ret != 0 and t.peek() == 0x40:
            ret2 = self.domain()
            if ret2 <= 0:
                ret = ret2
        if t.last_comment:
            self.addr.name = t.last_comment
        return ret

    def mailbox(self) -> int:
        t = self.t
        start = t.pos
        ret = self.name_addr()
        if ret < 0:
            t.pos = start
            self.addr = _Address()
            ret = self.addr_spec()
        self.add_fixed()
        return ret

    def group(self) -> int:
        t = self.t
        ret, name = t.phrase()
        if ret <= 0 or t.data[t.pos] != 0x3A:
            return -1
        t.pos += 1
        ret = t.skip_lwsp()
        self.addr.mailbox = name
        self.add()
        if ret > 0 and t.data[t.pos] != 0x3B:  # ;
            while True:
                if self.mailbox() <= 0:
                    ret = -1
                    break
                if t.data[t.pos] != 0x2C:  # ,
                    break
                t.pos += 1
                if t.skip_lwsp() <= 0:
                    ret = -1
                    break
        if ret >= 0:
            if t.peek() != 0x3B:
                ret = -1
            else:
                t.pos += 1
                ret = t.skip_lwsp()
        self.add()  # end of group: all NIL
        return 0 if ret == 0 else 1

    def address(self) -> int:
        t = self.t
        start = t.pos
        ret = self.group()
        if ret < 0:
            t.pos = start
            self.addr = _Address()
            ret = self.mailbox()
        return ret

    def parse(self) -> list[_Address]:
        t = self.t
        if t.skip_lwsp() <= 0:
            return []
        while True:
            if self.address() == 0:
                break
            if t.peek() != 0x2C:
                break
            t.pos += 1
            ret = t.skip_lwsp()
            if ret <= 0:
                if ret < 0:
                    self.add_fixed()
                break
        return self.out


def parse_addresses(value: bytes) -> list[tuple[bytes | None, ...]]:
    """``value`` (an address list header value) as RFC 3501 address
    tuples ``(name, adl, mailbox, host)``, groups as Dovecot gives them."""
    try:
        found = _AddressParser(value).parse()
    except IndexError:  # a cursor ran off the end: keep what was parsed
        found = []
    return [(a.name, a.route, a.mailbox, a.domain) for a in found]


def _address_list(f: Field | None) -> bytes:
    if f is None:
        return b"NIL"
    try:
        found = _AddressParser(f.value).parse()
    except IndexError:
        found = []
    if not found:
        return b"NIL"
    out = [
        b"("
        + (b"NIL" if a.name is None else _for_humans(a.name))
        + b" "
        + _nstring(a.route)
        + b" "
        + _nstring(a.mailbox)
        + b" "
        + _nstring(a.domain)
        + b")"
        for a in found
    ]
    return b"(" + b"".join(out) + b")"


# --------------------------------------------------------------------------
# ENVELOPE


def _envelope(part: Part) -> bytes:
    def last(name: bytes) -> Field | None:
        return part.last(name)

    def string(name: bytes) -> bytes:
        f = last(name)
        return b"NIL" if f is None else _nstring(_unfold(f.value))

    subject = last(b"subject")
    from_ = _address_list(last(b"from"))
    sender = _address_list(last(b"sender"))
    reply_to = _address_list(last(b"reply-to"))
    items = [
        string(b"date"),
        b"NIL" if subject is None else _for_humans(subject.value),
        from_,
        from_ if sender == b"NIL" else sender,
        from_ if reply_to == b"NIL" else reply_to,
        _address_list(last(b"to")),
        _address_list(last(b"cc")),
        _address_list(last(b"bcc")),
        string(b"in-reply-to"),
        string(b"message-id"),
    ]
    return b"(" + b" ".join(items) + b")"


def envelope(message: bytes) -> bytes:
    """RFC 3501 7.4.2 ENVELOPE: ``(date subject from sender reply-to to cc
    bcc in-reply-to message-id)``, addresses as ``((name adl mailbox host)
    ...)`` with RFC 3501 group syntax, sender/reply-to defaulting to from."""
    try:
        _, root = parse(message)
        return _envelope(root)
    except Exception:  # never fail a FETCH over one message
        return b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


# --------------------------------------------------------------------------
# BODYSTRUCTURE / BODY

_EMPTY_PART = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'
_EMPTY_EXT = b" NIL NIL NIL NIL"


def _params(params: list[tuple[bytes, bytes]], text: bool) -> bytes:
    items = [_nstring(k) + b" " + _nstring(v) for k, v in params]
    if text and not any(k.lower() == b"charset" for k, _ in params):
        items.append(b'"charset" "us-ascii"')
    return b"(" + b" ".join(items) + b")" if items else b"NIL"


def _field_string(part: Part, name: bytes) -> bytes:
    f = part.get(name)
    return b"NIL" if f is None else _nstring(_unfold(f.value))


def _extension(part: Part) -> list[bytes]:
    """disposition, language, location (common to both kinds of part)."""
    out: list[bytes] = []
    disp = part.get(b"content-disposition")
    if disp is None:
        out.append(b"NIL")
    else:
        t = _Tokens(disp.value)
        t.skip_lwsp()
        _, kind = t.mime_token()
        params = _rfc2231(t)
        out.append(b"(" + _nstring(kind) + b" " + _params(params, False) + b")")
    lang = part.get(b"content-language")
    langs: list[bytes] = []
    if lang is not None:
        t = _Tokens(lang.value)
        t.skip_lwsp()
        while True:
            ret, word = t.atom()
            if ret < 0:
                break
            langs.append(word)
            if t.peek() != 0x2C:
                break
            t.pos += 1
            t.skip_lwsp()
    out.append(b"(" + b" ".join(_nstring(x) for x in langs) + b")" if langs else b"NIL")
    out.append(_field_string(part, b"content-location"))
    return out


def _structure(buf: bytes, part: Part, ext: bool) -> bytes:
    if part.multipart:
        if part.children:
            inner = b"".join(_structure(buf, c, ext) for c in part.children)
        else:
            inner = _EMPTY_PART + (_EMPTY_EXT if ext else b"") + b")"
        subtype = part.subtype if part.subtype else b"x-unknown"
        out = inner + b" " + _nstring(subtype)
        if ext:
            out += b" " + b" ".join([_params(part.params, False), *_extension(part)])
        return b"(" + out + b")"
    body = buf[part.body_start : part.body_end]
    text = part.is_text()
    if part.rfc822:
        head = b'"message" "rfc822"'
    else:
        mtype = part.mtype if part.mtype is not None else b"text"
        default = b"plain" if text else b"unknown"
        subtype = part.subtype if part.subtype is not None else default
        head = _nstring(mtype) + b" " + _nstring(subtype)
    cte = part.get(b"content-transfer-encoding")
    encoding = b'"7bit"'
    if cte is not None:
        t = _Tokens(cte.value)
        t.skip_lwsp()
        _, token = t.mime_token()
        encoding = _nstring(token)
    items = [
        head,
        _params(part.params, text),
        _field_string(part, b"content-id"),
        _field_string(part, b"content-description"),
        encoding,
        b"%d" % len(body),
    ]
    if text:
        items.append(b"%d" % body.count(b"\n"))
    elif part.rfc822:
        start = part.body_start
        encapsulated = part.message or Part(start, start, start, start, [])
        items.append(_envelope(encapsulated))
        items.append(_structure(buf, encapsulated, ext))
        items.append(b"%d" % body.count(b"\n"))
    if ext:
        items.append(_field_string(part, b"content-md5"))
        items.extend(_extension(part))
    return b"(" + b" ".join(items) + b")"


def bodystructure(message: bytes, extensible: bool = True) -> bytes:
    """RFC 3501 7.4.2 BODYSTRUCTURE (``extensible``) or BODY (not): nested
    multiparts and message/rfc822 (with the encapsulated envelope and
    structure), sizes in octets and lines as on the wire."""
    try:
        buf, root = parse(message)
        return _structure(buf, root, extensible)
    except Exception:  # never fail a FETCH over one message
        return _EMPTY_PART + (_EMPTY_EXT if extensible else b"") + b")"


# --------------------------------------------------------------------------
# BODY[section]


def find_part(root: Part, path: tuple[int, ...]) -> Part | None:
    """The part ``path`` names (RFC 3501 6.4.5), or None. Part 1 of a
    non-multipart entity is the entity itself; a message/rfc822 part with
    more numbers after it stands for its encapsulated message."""
    part: Part | None = root
    for i, num in enumerate(path):
        if part is None:
            return None
        if part.multipart:
            part = part.children[num - 1] if 0 < num <= len(part.children) else None
        elif num != 1 or (i + 1 < len(path) and not part.rfc822):
            return None
        if part is not None and part.rfc822 and i + 1 < len(path):
            part = part.message
    return part


def _header_fields(buf: bytes, part: Part, fields: tuple[str, ...], keep: bool) -> bytes:
    wanted = {f.lower().encode("ascii", "replace") for f in fields}
    out = []
    for f in part.fields:
        if (f.name.lower() in wanted) == keep:
            out.append(f.raw)
    # Dovecot adds the blank line only where the header had one.
    return b"".join(out) + (_CRLF if part.eoh else b"")


def section(
    message: bytes, part: tuple[int, ...], text: str | None, fields: tuple[str, ...] = ()
) -> bytes:
    """RFC 3501 6.4.5 BODY[section] content, before any <partial>.

    ``part`` is the part number path (``()`` for the whole message), ``text``
    is None (the part's content), ``"HEADER"``, ``"HEADER.FIELDS"``,
    ``"HEADER.FIELDS.NOT"`` (with ``fields``, case-insensitive), ``"MIME"``
    or ``"TEXT"``. A part that does not exist gives b"" (the server sends
    an empty string, as other servers do).
    """
    try:
        buf, root = parse(message)
        found = find_part(root, part)
        if found is None:
            return b""
        kind = text.upper() if text is not None else None
        if kind is None:
            return buf if not part else buf[found.body_start : found.body_end]
        if kind == "MIME":
            return buf[found.start : found.header_end] if part else b""
        if part:
            if not found.rfc822 or found.message is None:
                return b""
            found = found.message
        if kind == "HEADER":
            return buf[found.start : found.header_end]
        if kind == "TEXT":
            return buf[found.body_start : found.body_end]
        if kind in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            return _header_fields(buf, found, fields, kind == "HEADER.FIELDS")
        return b""
    except Exception:  # never fail a FETCH over one message
        return b""


# --------------------------------------------------------------------------
# SEARCH helpers


def _decode_words(value: bytes) -> str:
    raw = value.decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(raw)))
    except Exception:
        return raw


def header_values(message: bytes, name: str) -> list[str]:
    """Every value of header field ``name`` (unfolded, RFC 2047 decoded to
    Unicode) of the top-level header, for SEARCH HEADER/FROM/TO/CC/BCC/SUBJECT."""
    try:
        # Only the top-level header is needed: parse that, not the MIME tree.
        end = message.find(b"\n\r\n")
        if end < 0:
            end = message.find(b"\n\n")
        head = _crlf(message if end < 0 else message[: end + 1])
        fields = _Parser(head).header(0, [])[0]
    except Exception:
        return []
    wanted = name.lower().encode("utf-8", "replace")
    return [_decode_words(_unfold(f.value).strip()) for f in fields if f.name.lower() == wanted]


def _decode_body(part: Part, body: bytes) -> str:
    cte = part.get(b"content-transfer-encoding")
    encoding = cte.value.strip().lower() if cte is not None else b""
    if encoding == b"base64":
        try:
            body = base64.b64decode(b"".join(body.split()) + b"==", validate=False)
        except (binascii.Error, ValueError):
            body = b""
    elif encoding == b"quoted-printable":
        body = binascii.a2b_qp(body)
    charset = "us-ascii"
    for key, value in part.params:
        if key.lower() == b"charset":
            charset = value.decode("ascii", "replace").strip() or charset
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        charset = "utf-8"
    if charset.lower() in ("us-ascii", "ascii"):
        charset = "utf-8"  # 8-bit text mislabelled as ASCII is usually UTF-8
    try:
        return body.decode(charset, "replace")
    except Exception:
        return body.decode("utf-8", "replace")


def body_text(message: bytes) -> str:
    """The decoded text of every text/* part (transfer encoding and charset
    undone), for SEARCH BODY; SEARCH TEXT is header text plus this."""
    try:
        buf, root = parse(message)
    except Exception:
        return ""
    out: list[str] = []
    stack = [root]
    while stack:
        part = stack.pop()
        if part.multipart:
            stack.extend(reversed(part.children))
        elif part.rfc822:
            if part.message is not None:
                stack.append(part.message)
        elif part.is_text():
            out.append(_decode_body(part, buf[part.body_start : part.body_end]))
    return "\n".join(out)


def sent_date(message: bytes) -> float | None:
    """The Date: header as seconds since the epoch, or None (SEARCH SENT*)."""
    try:
        _, root = parse(message)
        f = root.get(b"date")
        if f is None:
            return None
        parsed = email.utils.parsedate_tz(_unfold(f.value).decode("latin-1"))
        if parsed is None:
            return None
        return float(email.utils.mktime_tz(parsed))
    except Exception:
        return None
