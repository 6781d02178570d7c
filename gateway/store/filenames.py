"""Maildir file names: the unique base, size fields and flag letters.

Pure functions over names (no I/O), shared by delivery, the index and the
readers.

A name is ``<base>[:2,<letters>]`` (cr.yp.to/proto/maildir.html, "info
semantics"). The base is the unique part; Maildir++ and Dovecot append
``,S=<size>`` (octets on disk) and ``,W=<size>`` (octets with CRLF line
ends, Dovecot's "virtual size") to it. Letters after ``:2,`` are flags in
ASCII order: upper case are the standard ones (``D F P R S T``), lower case
``a``-``z`` are Dovecot keywords numbered by the folder's
``dovecot-keywords`` file. Letters we do not know are kept as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Maildir letter -> IMAP system flag (RFC 9051 2.3.2). ``P`` (passed) has
#: no IMAP flag; it is kept in the name untouched.
LETTER_FLAGS: dict[str, str] = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
FLAG_LETTERS: dict[str, str] = {flag.lower(): letter for letter, flag in LETTER_FLAGS.items()}

#: Dovecot numbers keywords 0-25 as the letters a-z.
MAX_KEYWORDS = 26


class BadName(ValueError):
    """Not a Maildir message file name (a dot file, or empty)."""


@dataclass(frozen=True, slots=True)
class MaildirName:
    """A parsed file name."""

    base: str
    letters: str  # the letters after ":2,", in order; "" if none
    has_info: bool  # the name carries ":2," (it lives in cur/)
    size: int | None  # ,S= from the base
    vsize: int | None  # ,W= from the base

    @property
    def name(self) -> str:
        return f"{self.base}:2,{self.letters}" if self.has_info else self.base


def _field(parts: list[str], key: str) -> int | None:
    for part in parts:
        if part.startswith(key) and part[len(key) :].isdigit():
            return int(part[len(key) :])
    return None


def parse_name(name: str) -> MaildirName:
    """Split ``name`` into its base, flag letters and size fields."""
    if not name or name.startswith("."):
        raise BadName(f"not a Maildir message name: {name!r}")
    base, colon, info = name.partition(":")
    letters = ""
    has_info = False
    if colon:
        if info.startswith("2,"):
            letters = info[2:]
            has_info = True
        else:  # experimental "1," info or garbage: keep it in the base
            base = name
    parts = base.split(",")[1:]
    return MaildirName(base, letters, has_info, _field(parts, "S="), _field(parts, "W="))


def flag_name(base: str, letters: Iterable[str]) -> str:
    """``base:2,<letters>`` with the letters unique and in ASCII order."""
    return f"{base}:2,{''.join(sorted(set(letters)))}"


def letters_to_flags(letters: str, keywords: list[str]) -> frozenset[str]:
    """IMAP flags and keywords named by Maildir ``letters``.

    ``keywords`` is the folder's keyword list (index = letter - ``a``); a
    lower-case letter with no keyword is dropped, as Dovecot does.
    """
    flags: set[str] = set()
    for letter in letters:
        if letter in LETTER_FLAGS:
            flags.add(LETTER_FLAGS[letter])
        elif "a" <= letter <= "z":
            number = ord(letter) - ord("a")
            if number < len(keywords):
                flags.add(keywords[number])
    return frozenset(flags)


def flags_to_letters(flags: Iterable[str], keywords: list[str], keep: str = "") -> str:
    """Maildir letters for IMAP ``flags``; ``keywords`` grows as needed.

    ``keep`` holds letters of an existing name: those with no IMAP meaning
    (``P`` and unknown ones) are carried over. Raises :class:`ValueError`
    when a new keyword would be the 27th of the folder.
    """
    letters = {c for c in keep if c not in LETTER_FLAGS and not "a" <= c <= "z"}
    folded = {k.lower(): i for i, k in enumerate(keywords)}
    for flag in flags:
        letter = FLAG_LETTERS.get(flag.lower())
        if letter is not None:
            letters.add(letter)
            continue
        if flag.startswith("\\"):
            continue  # \Recent and unknown system flags are not stored
        number = folded.get(flag.lower())
        if number is None:
            if len(keywords) >= MAX_KEYWORDS:
                raise ValueError(f"more than {MAX_KEYWORDS} keywords in one folder")
            keywords.append(flag)
            number = folded[flag.lower()] = len(keywords) - 1
        letters.add(chr(ord("a") + number))
    return "".join(sorted(letters))


def parse_keywords(text: str) -> list[str]:
    """Dovecot's ``dovecot-keywords``: lines ``<number> <keyword>``."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        number, _, keyword = line.partition(" ")
        if number.isdigit() and keyword and int(number) < MAX_KEYWORDS:
            found[int(number)] = keyword
    keywords: list[str] = []
    for position in range(MAX_KEYWORDS):  # a gap ends the usable list
        if position not in found:
            break
        keywords.append(found[position])
    return keywords


def format_keywords(keywords: list[str]) -> str:
    return "".join(f"{number} {keyword}\n" for number, keyword in enumerate(keywords))


def crlf_size(data: bytes) -> int:
    """Octets of ``data`` once every line ends in CRLF (RFC 1939 11, IMAP)."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def to_crlf(data: bytes) -> bytes:
    """``data`` with every line end (LF or CRLF) as CRLF."""
    if b"\r" not in data:  # the usual Maildir file; a one-byte search is memchr-fast
        return data.replace(b"\n", b"\r\n")
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data: bytes) -> bytes:
    """``data`` with CRLF line ends as LF, the Maildir convention."""
    return data.replace(b"\r\n", b"\n")
