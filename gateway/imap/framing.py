"""Assembling complete IMAP commands from the byte stream (RFC 3501 2.2, 7.5).

A command is one or more lines: a line that ends with a literal announcement
``{n}`` (synchronising: the server must answer ``+`` first, RFC 3501 7.5) or
``{n+}`` (RFC 7888 LITERAL+: the data follows at once) is followed by ``n``
octets and then the rest of the command on the next line. :class:`Framer`
turns the stream into events: a complete command for the parser, a request
to send the continuation, or a refusal the server answers with NO/BAD.

Limits: a line longer than ``max_line`` is refused and skipped; a literal
above ``max_literal`` (or a command above ``max_command`` in total) is
refused *before* the client sends it when it is synchronising (NO
[TOOBIG]); a non-synchronising one cannot be refused in advance, so it is
read, discarded, and the command answered with BAD (RFC 7888 4). Memory
stays bounded by the limits. Pure code: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Complete", "Continue", "Framer", "Refused"]

_LITERAL_END = re.compile(rb"\{(\d{1,20})(\+?)\}\Z")
_TAG = re.compile(rb'([^\x00-\x20\x7f(){%*"\\+]+) ')
_TAIL = 32  # bytes of a skipped line kept to see a literal announcement at its end


@dataclass(frozen=True, slots=True)
class Complete:
    """A whole command, literals inline (``{n}`` CRLF data), no final CRLF."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Continue:
    """Send the continuation request for a synchronising literal (RFC 3501 7.5)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A command refused by the framer, already consumed.

    ``status`` is ``NO`` or ``BAD``; ``tag`` is None when the command's
    tag could not be read (the answer is then untagged).
    """

    tag: str | None
    status: str
    text: str
    code: str | None = None


Event = Complete | Continue | Refused


class _More:
    """Internal: keep going, the command is not complete yet."""


_MORE = _More()


def _tag_of(line: bytes) -> str | None:
    m = _TAG.match(line)
    return m.group(1).decode("ascii", "replace") if m else None


class Framer:
    """Splits the stream into commands (see the module docstring).

    Lines end with LF, an optional CR before it is dropped (RFC 3501 2.2
    says CRLF; bare LF from sloppy clients is accepted as Dovecot does).
    """

    def __init__(self, max_line: int, max_literal: int, max_command: int | None = None) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.max_command = max_command if max_command is not None else max_literal + 65536
        self._buf = bytearray()
        self._pos = 0
        self._reset()

    def _reset(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._tag: str | None = None
        self._literal = 0  # octets of literal data still to read
        self._error: Refused | None = None  # the command is being discarded
        self._skipping = False  # discarding the rest of an over-long line
        self._tail = b""

    @property
    def in_command(self) -> bool:
        """True while part of a command has been read."""
        return bool(self._parts) or self._literal > 0 or self._error is not None

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def take_rest(self) -> bytes:
        """Everything not yet consumed (RFC 3501 6.2.1, CVE-2011-0411: what
        was pipelined after STARTTLS is discarded, not executed)."""
        rest = bytes(self._buf[self._pos :])
        self._buf = bytearray()
        self._pos = 0
        self._reset()
        return rest

    def next_event(self) -> Event | None:
        """The next event, or None until more data arrives."""
        while True:
            if self._literal:
                if not self._read_literal():
                    return None
                continue
            if self._skipping:
                done = self._skip_line()
                if done is None:
                    return None
                if done:
                    continue  # a literal announced at the end of the skipped line
                error, self._error = self._error, None
                self._reset()
                return error
            event = self._read_line()
            if not isinstance(event, _More):
                return event

    # -- lines ----------------------------------------------------------------

    def _read_line(self) -> Event | _More | None:
        buf, pos = self._buf, self._pos
        lf = buf.find(b"\n", pos)
        if lf == -1:
            pending = len(buf) - pos - (1 if buf.endswith(b"\r") else 0)
            if pending > self.max_line:
                if not self._parts and self._error is None:
                    self._tag = _tag_of(bytes(buf[pos : pos + self.max_line]))
                self._start_skipping(bytes(buf[max(pos, len(buf) - _TAIL) :]))
                self._buf = bytearray()
                self._pos = 0
                return _MORE
            return None
        end = lf - 1 if lf > pos and buf[lf - 1] == 0x0D else lf
        line = bytes(buf[pos:end])
        self._pos = lf + 1
        if not self._parts and self._error is None:
            self._tag = _tag_of(line[: self.max_line])
        if len(line) > self.max_line:
            self._fail("BAD", "Command line too long")
            return self._after_line(line)
        if self._error is None and b"\x00" in line:
            self._fail("BAD", "NUL octets are not allowed in commands")
        return self._after_line(line)

    def _after_line(self, line: bytes) -> Event | _More:
        m = _LITERAL_END.search(line)
        if m is None:
            # the last line of the command
            error = self._error
            if error is not None:
                self._reset()
                return error
            self._parts.append(line)
            data = b"".join(self._parts)
            self._reset()
            return Complete(data)
        size, sync = int(m.group(1)), not m.group(2)
        too_big = size > self.max_literal or self._size + len(line) + size > self.max_command
        if sync and (too_big or self._error is not None):
            # RFC 3501 7.5 / RFC 7888 4: refuse before the client sends it;
            # the command ends here, the client will not send the data.
            error = self._error or self._refusal("NO", "Literal too big", "TOOBIG")
            self._reset()
            return error
        if too_big and self._error is None:
            self._fail("BAD", "Literal too big", "TOOBIG")
        self._literal = size
        if self._error is None:
            self._parts.append(line + b"\r\n")
            self._size += len(line) + 2
        if sync:
            return Continue()
        return _MORE

    def _read_literal(self) -> bool:
        """Consume literal data; True once the literal is complete."""
        avail = len(self._buf) - self._pos
        n = min(avail, self._literal)
        if n:
            if self._error is None:
                self._parts.append(bytes(self._buf[self._pos : self._pos + n]))
                self._size += n
            self._pos += n
            self._literal -= n
        return self._literal == 0

    # -- errors ----------------------------------------------------------------

    def _refusal(self, status: str, text: str, code: str | None = None) -> Refused:
        return Refused(self._tag, status, text, code)

    def _fail(self, status: str, text: str, code: str | None = None) -> None:
        """Discard the rest of this command, then answer with the error."""
        if self._error is None:
            self._error = self._refusal(status, text, code)
        self._parts = []
        self._size = 0

    def _start_skipping(self, tail: bytes) -> None:
        self._fail("BAD", "Command line too long")
        self._skipping = True
        self._tail = tail

    def _skip_line(self) -> bool | None:
        """Discard up to the end of the over-long line. None: not there yet;
        True: the line announced a non-synchronising literal, being skipped
        too; False: the command is over."""
        buf, pos = self._buf, self._pos
        lf = buf.find(b"\n", pos)
        if lf == -1:
            self._tail = (self._tail + bytes(buf[pos:]))[-_TAIL:]
            self._buf = bytearray()
            self._pos = 0
            return None
        self._tail = (self._tail + bytes(buf[pos:lf]))[-_TAIL:].rstrip(b"\r")
        self._pos = lf + 1
        self._skipping = False
        m = _LITERAL_END.search(self._tail)
        if m is not None and m.group(2):
            self._literal = int(m.group(1))
            return True
        return False
