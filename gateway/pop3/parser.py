"""POP3 command lines (RFC 1939 3, RFC 2449 3): pure parsing, no I/O.

A command is a case-insensitive keyword of three or four letters, then
arguments separated by spaces. The CRLF discipline and the line length
limit (RFC 2449 4: 255 octets including CRLF) are applied before a line
gets here; this module sees one line without its CRLF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Command", "POP3SyntaxError", "parse_command"]

_KEYWORD = re.compile(rb"[A-Za-z]{3,4}")
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


class POP3SyntaxError(ValueError):
    """A line that is no POP3 command; ``str(error)`` is the ``-ERR`` text."""


@dataclass(frozen=True, slots=True)
class Command:
    """One parsed command line.

    ``verb`` is the keyword in upper case; ``args`` the space-separated
    arguments (runs of spaces count as one, as most servers are lenient
    there); ``rest`` everything after the first space, verbatim, for PASS,
    whose single argument may itself contain spaces (RFC 1939 7).
    """

    verb: str
    args: tuple[bytes, ...]
    rest: bytes


def parse_command(line: bytes) -> Command:
    """Parse one command line (without CRLF) or raise :class:`POP3SyntaxError`."""
    if not line:
        raise POP3SyntaxError("Empty command")
    if _CONTROL.search(line) is not None:
        raise POP3SyntaxError("Control characters are not allowed in commands")
    keyword, _, rest = line.partition(b" ")
    if _KEYWORD.fullmatch(keyword) is None:
        raise POP3SyntaxError("Unknown command")
    # only SP can separate here: every other whitespace octet is a control character
    return Command(keyword.decode("ascii").upper(), tuple(rest.split()), rest)
