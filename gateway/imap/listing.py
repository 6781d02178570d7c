"""LIST / LSUB pattern matching (RFC 3501 6.3.8-9, RFC 5258): pure code.

The hierarchy separator is ``.``; ``*`` matches anything, ``%`` anything
but the separator. ``INBOX`` is case-insensitive (RFC 3501 5.1), so a
pattern starting with it in any case is matched as ``INBOX``.
"""

from __future__ import annotations

import re

__all__ = ["SEPARATOR", "matcher"]

SEPARATOR = "."


def _canonical_inbox(name: str) -> str:
    if name[:5].upper() == "INBOX" and (len(name) == 5 or name[5] in ".%*"):
        return "INBOX" + name[5:]
    return name


def matcher(reference: str, pattern: str) -> re.Pattern[str]:
    """A regex matching the folder names that ``reference`` + ``pattern``
    selects (RFC 3501 6.3.8: the reference is prefixed, as Dovecot does
    when it does not end with the separator and the pattern starts with
    one, only one separator is kept)."""
    if reference and pattern.startswith(SEPARATOR) and reference.endswith(SEPARATOR):
        pattern = pattern[1:]
    full = _canonical_inbox(reference + pattern)
    out = []
    for c in full:
        if c == "*":
            out.append(".*")
        elif c == "%":
            out.append("[^.]*")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def parents(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]``."""
    parts = name.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]
