"""The CRLF discipline of the SMTP wire: command lines, DATA, BDAT chunks.

This is the SMTP smuggling defence (RFC 5321 2.3.8, 4.1.1.4): only CRLF
ends a line and only ``<CRLF>.<CRLF>`` ends DATA. A bare LF or bare CR is
never taken as a line end; it makes the line (or the message) an error.
Pure code: bytes in, values out, streaming in bounded memory.
"""

from __future__ import annotations

import re

from gateway.smtp import codes
from gateway.smtp.codes import Reply

# RFC 5321 4.5.3.1.4 / 4.5.3.1.6 (both include the CRLF).
MAX_COMMAND_LINE = 512
MAX_TEXT_LINE = 1000

_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def find_bare_newline(data: bytes, *, final: bool = True) -> int | None:
    """Offset of the first LF not preceded by CR, or CR not followed by LF.

    A CR as the very last octet counts as bare when ``final`` is true; pass
    ``final=False`` for a piece whose continuation (which may start with the
    LF) has not arrived yet, e.g. a BDAT chunk that is not LAST (RFC 3030 2).
    """
    m = _BARE.search(data)
    if m is None:
        return None
    if not final and m.start() == len(data) - 1 and data[-1:] == b"\r":
        return None
    return m.start()


class LineError(Exception):
    """A bad line, already consumed; :attr:`reply` is the reply to send."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


class CommandBuffer:
    """Splits the command stream into lines ended by CRLF only.

    ``max_line`` includes the CRLF (RFC 5321 4.5.3.1.4). A line that is too
    long is refused as soon as that is known and the rest of it, up to its
    LF, is discarded as it arrives, so the buffer never holds much more than
    ``max_line`` octets of one line.
    """

    def __init__(self, max_line: int = MAX_COMMAND_LINE) -> None:
        if max_line < 3:
            raise ValueError("max_line must allow at least one octet and CRLF")
        self.max_line = max_line
        self._buf = bytearray()
        self._pos = 0
        self._skipping = False

    @property
    def pending(self) -> bool:
        """True if unconsumed bytes are buffered."""
        return len(self._buf) > self._pos

    @property
    def skipping(self) -> bool:
        """True while discarding the rest of a refused line."""
        return self._skipping

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        if self._skipping:
            i = data.find(b"\n")
            if i == -1:
                return
            self._skipping = False
            data = data[i + 1 :]
        self._buf += data

    def next_line(self) -> bytes | None:
        """The next complete line without its CRLF, or None if incomplete.

        Raises :class:`LineError` for a line with a bare LF or CR
        (BARE_NEWLINE), longer than ``max_line`` (LINE_TOO_LONG) or holding
        a NUL (NUL_IN_COMMAND); the bad line is consumed.
        """
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            return None
        lf = buf.find(b"\n", pos)
        if lf == -1:
            if len(buf) - pos >= self.max_line:
                self._discard_partial()
                raise LineError(codes.LINE_TOO_LONG)
            cr = buf.find(b"\r", pos)
            if cr != -1 and cr + 1 < len(buf):
                # A CR followed by something other than LF: refuse now rather
                # than wait for a line end a CR-only client never sends.
                self._discard_partial()
                raise LineError(codes.BARE_NEWLINE)
            return None
        self._pos = lf + 1
        if lf + 1 - pos > self.max_line:
            raise LineError(codes.LINE_TOO_LONG)
        if lf == pos or buf[lf - 1] != 0x0D:
            raise LineError(codes.BARE_NEWLINE)
        cr = buf.find(b"\r", pos, lf - 1)
        if cr != -1:
            raise LineError(codes.BARE_NEWLINE)
        if buf.find(b"\x00", pos, lf) != -1:
            raise LineError(codes.NUL_IN_COMMAND)
        return bytes(buf[pos : lf - 1])

    def take_rest(self) -> bytes:
        """Everything not yet consumed, emptying the buffer (and ending any
        skipping): for the switch to DATA/BDAT, and to discard input pipelined
        before a TLS handshake (RFC 3207 4.2, CVE-2011-0411)."""
        rest = bytes(self._buf[self._pos :])
        self._buf = bytearray()
        self._pos = 0
        self._skipping = False
        return rest

    def _discard_partial(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._skipping = True


class DataReader:
    """The message after ``354``, up to ``<CRLF>.<CRLF>`` (RFC 5321 4.1.1.4).

    The CRLF that ended the DATA command counts as the first CRLF, so a body
    of just ``.<CRLF>`` is empty. Lines are dot-unstuffed (RFC 5321 4.5.2)
    and kept with their CRLF; the terminator is not part of :attr:`content`.

    :attr:`error` is the problem to report at the end, if any. Independently of
    how the input was split into feeds, it is the most important problem
    found, in this order: BARE_NEWLINE (smuggling), NUL_IN_DATA,
    MESSAGE_TOO_BIG, TEXT_LINE_TOO_LONG. Once there is an error no more
    content is kept (what was kept is dropped), but the reader still looks
    for the terminator; memory stays bounded by ``max_size`` plus one line.

    Work is O(n) in the fed data: complete lines are checked in bulk with
    C-level searches; only the unfinished last line is carried between feeds.
    """

    _PRIORITY = (
        codes.BARE_NEWLINE,
        codes.NUL_IN_DATA,
        codes.MESSAGE_TOO_BIG,
        codes.TEXT_LINE_TOO_LONG,
    )

    def __init__(self, max_size: int, max_line: int = MAX_TEXT_LINE) -> None:
        if max_line < 3:
            raise ValueError("max_line must allow at least one octet and CRLF")
        self.max_size = max_size
        self.max_line = max_line
        self.done = False
        self.error: Reply | None = None
        self.size = 0  # unstuffed octets seen, terminator excluded
        self._content: list[bytes] = []
        self._tail = bytearray()  # the unfinished current line
        self._prev_crlf = True  # previous line ended with CRLF (or start of data)
        self._long = False  # current line already overflowed; _tail[:-1] counted
        # A line is too long when it has max_line octets or more before its
        # LF, plus one for a leading dot removed by unstuffing.
        self._long_line = re.compile(rb"^[^\n]{%d,}" % max_line, re.MULTILINE)

    @property
    def content(self) -> bytes:
        return b"".join(self._content)

    @property
    def buffered(self) -> int:
        """Octets held in memory (content kept plus the unfinished line)."""
        return sum(len(c) for c in self._content) + len(self._tail)

    def take_content(self) -> bytes:
        """The content kept so far, then forgotten (to stream it to a spool
        file); :attr:`size` keeps counting the whole message."""
        data = b"".join(self._content)
        self._content = []
        return data

    def feed(self, data: bytes) -> bytes | None:
        """Consume message data; None while the message continues, else the
        bytes after ``<CRLF>.<CRLF>`` (pipelined commands, maybe ``b""``)."""
        if self.done:
            return data
        last = data.rfind(b"\n")
        if last == -1:
            self._tail += data
            self._check_overflow()
            return None
        buf = bytes(self._tail) + data[: last + 1]
        rest = data[last + 1 :]
        self._tail = bytearray()
        start = 0
        if self._long:
            # The end of an overlong line: neither a terminator nor stuffed.
            lf = buf.find(b"\n")
            segment = buf[: lf + 1]
            self._check_segment(segment)
            self.size += len(segment) - 1  # its first octet was counted
            self._check_size()
            self._prev_crlf = segment.endswith(b"\r\n")
            self._long = False
            start = lf + 1
        if self._prev_crlf and buf.startswith(b".\r\n", start):
            end, after = start, start + 3
        else:
            k = buf.find(b"\r\n.\r\n", start)
            end, after = (len(buf), -1) if k == -1 else (k + 2, k + 5)
        if end > start:
            self._lines(buf[start:end])
        if after == -1:
            self._tail += rest
            self._check_overflow()
            return None
        self.done = True
        return buf[after:] + rest

    # -- internals --

    def _fail(self, reply: Reply) -> None:
        if self.error is None or self._PRIORITY.index(reply) < self._PRIORITY.index(self.error):
            self.error = reply
        self._content = []

    def _check_segment(self, segment: bytes) -> None:
        """Bare CR/LF and NUL checks on complete lines (ending with LF)."""
        crlf = segment.count(b"\r\n")
        if segment.count(b"\n") != crlf or segment.count(b"\r") != crlf:
            self._fail(codes.BARE_NEWLINE)
        if b"\x00" in segment:
            self._fail(codes.NUL_IN_DATA)

    def _check_size(self) -> None:
        if self.size > self.max_size:
            self._fail(codes.MESSAGE_TOO_BIG)

    def _lines(self, block: bytes) -> None:
        """Complete lines starting at a line start, terminator excluded."""
        self._check_segment(block)
        lead = self._prev_crlf and block.startswith(b".")
        for m in self._long_line.finditer(block):
            s = m.start()
            length = m.end() - s + 1  # with the LF
            unstuffed = lead if s == 0 else block[s - 2 : s] == b"\r\n"
            if unstuffed and block[s : s + 1] == b".":
                length -= 1
            if length > self.max_line:
                self._fail(codes.TEXT_LINE_TOO_LONG)
                break
        # RFC 5321 4.5.2: drop the first dot of every line that starts with one.
        stuffed = block.count(b"\r\n.") + (1 if lead else 0)
        self.size += len(block) - stuffed
        self._check_size()
        self._prev_crlf = block.endswith(b"\r\n")
        if self.error is None:
            if stuffed:
                block = block.replace(b"\r\n.", b"\r\n")
                if lead:
                    block = block[1:]
            self._content.append(block)

    def _check_overflow(self) -> None:
        """Bound the unfinished line: once it cannot fit any more, record the
        error, count and check what is there, and keep only its last octet
        (a CR whose LF may be next)."""
        limit = self.max_line + 1  # a leading dot does not count
        if len(self._tail) <= limit:
            return
        tail = bytes(self._tail)
        self._fail(codes.TEXT_LINE_TOO_LONG)
        if b"\r" in tail[:-1]:
            self._fail(codes.BARE_NEWLINE)
        if b"\x00" in tail:
            self._fail(codes.NUL_IN_DATA)
        if self._long:
            self.size += len(tail) - 1
        else:
            self.size += len(tail) - (1 if self._prev_crlf and tail.startswith(b".") else 0)
        self._check_size()
        self._long = True
        self._tail = bytearray(tail[-1:])


class ChunkReader:
    """One BDAT chunk (RFC 3030 2): exactly ``size`` octets, binary.

    With ``keep`` false the octets are counted and dropped: a chunk that
    would take the message past its size limit must still be read off the
    wire (RFC 3030 2: the reply follows the chunk), but never held.
    """

    def __init__(self, size: int, keep: bool = True) -> None:
        if size < 0:
            raise ValueError("chunk size must not be negative")
        self.size = size
        self.keep = keep
        self._buf = bytearray()
        self._seen = 0
        self.done = size == 0

    @property
    def chunk(self) -> bytes:
        return bytes(self._buf)

    def feed(self, data: bytes) -> bytes | None:
        """Consume chunk octets; None until complete, then the leftover."""
        if self.done:
            return data
        need = self.size - self._seen
        if self.keep:
            self._buf += data[:need]
        self._seen += min(need, len(data))
        if len(data) < need:
            return None
        self.done = True
        return data[need:]
