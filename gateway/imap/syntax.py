"""The values the IMAP command parser produces (RFC 3501 9, and extensions).

Frozen value types only, no behaviour beyond small helpers: the parser
(:mod:`gateway.imap.parser`) builds them, the server and the search
evaluator read them. Mailbox names stay as the bytes the client sent
(modified UTF-7, RFC 3501 5.1.3); the server decodes them so that an
invalid name is answered with NO, not BAD.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "STAR",
    "Command",
    "FetchAtt",
    "ParseError",
    "Section",
    "SequenceSet",
]

STAR = 0  # "*" in a sequence set (RFC 3501 9 seq-number); real numbers are >= 1


class ParseError(Exception):
    """A command the parser cannot accept: the server answers ``BAD``.

    ``tag`` is the command's tag when it could be read (else the reply is
    untagged, ``* BAD``).
    """

    def __init__(self, text: str, tag: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.tag = tag


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """RFC 3501 9 sequence-set: ranges of numbers, ``*`` as :data:`STAR`.

    Ranges are kept as given (``5:3`` is the same as ``3:5``, RFC 3501 9);
    :meth:`resolve` maps them onto actual numbers.
    """

    ranges: tuple[tuple[int, int], ...]

    def bounds(self, star: int) -> Iterator[tuple[int, int]]:
        """Each range as (low, high) with ``*`` replaced by ``star``."""
        for a, b in self.ranges:
            a = star if a == STAR else a
            b = star if b == STAR else b
            yield (a, b) if a <= b else (b, a)

    def has_star(self) -> bool:
        return any(STAR in r for r in self.ranges)

    def max_number(self) -> int:
        """The highest explicit number (``*`` not counted)."""
        return max((max(a, b) for a, b in self.ranges), default=0)

    def contains(self, n: int, star: int) -> bool:
        return any(lo <= n <= hi for lo, hi in self.bounds(star))

    def sequence_numbers(self, count: int) -> list[int]:
        """Sorted, distinct sequence numbers in 1..``count`` (RFC 3501 9:
        ``*`` is the number of messages)."""
        if len(self.ranges) == 1:
            lo, hi = next(self.bounds(count))
            return list(range(max(lo, 1), min(hi, count) + 1))
        wanted: set[int] = set()
        for lo, hi in self.bounds(count):
            wanted.update(range(max(lo, 1), min(hi, count) + 1))
        return sorted(wanted)

    def uid_indexes(self, uids: Sequence[int]) -> list[int]:
        """Indexes into ``uids`` (ascending) of the UIDs in this set.

        RFC 3501 6.4.8: ``*`` is the highest UID in use, so ``n:*`` always
        includes the last message; UIDs that do not exist are ignored.
        """
        if not uids:
            return []
        star = uids[-1]
        found: set[int] = set()
        for lo, hi in self.bounds(star):
            first = bisect.bisect_left(uids, lo)
            last = bisect.bisect_right(uids, hi)
            found.update(range(first, last))
        return sorted(found)


# -- FETCH (RFC 3501 6.4.5, 7.4.2) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """RFC 3501 6.4.5 section-spec: ``part`` numbers, then ``text`` (None,
    HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, MIME, TEXT) and the field
    names of HEADER.FIELDS(.NOT), as sent (upper-cased)."""

    part: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[str, ...] = ()

    def spec(self) -> str:
        """The section as a FETCH response names it (RFC 3501 7.4.2)."""
        parts = [".".join(str(p) for p in self.part)] if self.part else []
        if self.text is not None:
            text = self.text
            if self.fields:
                text += " (" + " ".join(_header_name(f) for f in self.fields) + ")"
            parts.append(text)
        return ".".join(parts)


def _header_name(name: str) -> str:
    """A header field name in a FETCH response: an astring (RFC 3501 9)."""
    if name and all(c.isalnum() or c in "-_" for c in name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class FetchAtt:
    """One RFC 3501 fetch-att.

    ``name`` is ENVELOPE, FLAGS, INTERNALDATE, RFC822, RFC822.HEADER,
    RFC822.SIZE, RFC822.TEXT, BODY (the structure without extensions),
    BODYSTRUCTURE, UID, MODSEQ (RFC 7162), or BODY[] for a section
    (``section`` set; ``peek`` for BODY.PEEK; ``partial`` as (origin,
    length)).
    """

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None

    def response_name(self) -> str:
        """How the FETCH response labels this item (RFC 3501 7.4.2:
        BODY.PEEK is answered as BODY, a partial with its origin only)."""
        if self.section is None:
            return self.name
        label = "BODY[" + self.section.spec() + "]"
        if self.partial is not None:
            label += f"<{self.partial[0]}>"
        return label

    @property
    def sets_seen(self) -> bool:
        """RFC 3501 6.4.5: BODY[...], RFC822 and RFC822.TEXT set \\Seen."""
        return (self.section is not None and not self.peek) or self.name in (
            "RFC822",
            "RFC822.TEXT",
        )

    @property
    def needs_content(self) -> bool:
        return self.section is not None or self.name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT")


# -- SEARCH (RFC 3501 6.4.4) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllKey:
    """ALL (and the empty conjunction)."""


@dataclass(frozen=True, slots=True)
class FlagKey:
    """ANSWERED/DELETED/DRAFT/FLAGGED/SEEN, their UN- forms, KEYWORD and
    UNKEYWORD: ``flag`` set or not."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class RecentKey:
    """RECENT / OLD (``present`` False); NEW is RECENT UNSEEN."""

    present: bool = True


@dataclass(frozen=True, slots=True)
class DateKey:
    """BEFORE/ON/SINCE (``sent`` False: the internal date) and SENTBEFORE/
    SENTON/SENTSINCE (the Date: header), comparing dates only."""

    op: str  # "BEFORE", "ON", "SINCE"
    date: datetime.date
    sent: bool = False


@dataclass(frozen=True, slots=True)
class SizeKey:
    """LARGER n / SMALLER n (RFC822.SIZE)."""

    larger: bool
    size: int


@dataclass(frozen=True, slots=True)
class HeaderKey:
    """HEADER name string, and FROM/TO/CC/BCC/SUBJECT: case-insensitive
    substring of a top-level header field's value (empty matches any
    message that has the field)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class TextKey:
    """BODY string (``headers`` False) or TEXT string (headers and body)."""

    value: str
    headers: bool


@dataclass(frozen=True, slots=True)
class SetKey:
    """A sequence set (``uid`` False) or UID sequence-set."""

    set: SequenceSet
    uid: bool


@dataclass(frozen=True, slots=True)
class ModSeqKey:
    """RFC 7162 3.1.5 MODSEQ: messages with a MODSEQ at or above ``modseq``."""

    modseq: int


@dataclass(frozen=True, slots=True)
class NotKey:
    key: SearchKey


@dataclass(frozen=True, slots=True)
class OrKey:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class AndKey:
    """A parenthesised list, or the top-level list of keys."""

    keys: tuple[SearchKey, ...]


SearchKey = (
    AllKey
    | FlagKey
    | RecentKey
    | DateKey
    | SizeKey
    | HeaderKey
    | TextKey
    | SetKey
    | ModSeqKey
    | NotKey
    | OrKey
    | AndKey
)


# -- command arguments --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoArgs:
    """CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK, CLOSE, UNSELECT, EXPUNGE,
    IDLE, NAMESPACE."""


@dataclass(frozen=True, slots=True)
class Login:
    user: bytes
    password: bytes


@dataclass(frozen=True, slots=True)
class Authenticate:
    mechanism: str
    initial: bytes | None  # RFC 4959 SASL-IR; "=" is kept as is


@dataclass(frozen=True, slots=True)
class MailboxArg:
    """CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE."""

    mailbox: bytes


@dataclass(frozen=True, slots=True)
class Select:
    """SELECT / EXAMINE, with RFC 7162 3.1.8 ``(CONDSTORE)``."""

    mailbox: bytes
    condstore: bool = False


@dataclass(frozen=True, slots=True)
class Rename:
    old: bytes
    new: bytes


@dataclass(frozen=True, slots=True)
class ListArgs:
    """LIST / LSUB (RFC 3501 6.3.8-9) with RFC 5258 options."""

    reference: bytes
    patterns: tuple[bytes, ...]
    select_options: frozenset[str] = frozenset()
    return_options: frozenset[str] = frozenset()
    extended: bool = False  # selection options or RETURN were given


@dataclass(frozen=True, slots=True)
class Status:
    mailbox: bytes
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Append:
    mailbox: bytes
    flags: frozenset[str]
    date: float | None
    message: bytes


@dataclass(frozen=True, slots=True)
class Search:
    key: SearchKey
    charset: str | None = None
    returns: tuple[str, ...] | None = None  # RFC 4731 RETURN (); () means ALL


@dataclass(frozen=True, slots=True)
class Fetch:
    set: SequenceSet
    items: tuple[FetchAtt, ...]
    changed_since: int | None = None  # RFC 7162 3.1.4


@dataclass(frozen=True, slots=True)
class Store:
    set: SequenceSet
    mode: str  # "+", "-" or "" (replace)
    silent: bool
    flags: frozenset[str]
    unchanged_since: int | None = None  # RFC 7162 3.1.3


@dataclass(frozen=True, slots=True)
class Copy:
    """COPY and MOVE (RFC 6851)."""

    set: SequenceSet
    mailbox: bytes


@dataclass(frozen=True, slots=True)
class Expunge:
    """UID EXPUNGE (RFC 4315 2.1)."""

    set: SequenceSet


@dataclass(frozen=True, slots=True)
class Enable:
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Id:
    """RFC 2971: the client's fields, or None for NIL."""

    fields: tuple[tuple[str, str | None], ...] | None


Args = (
    NoArgs
    | Login
    | Authenticate
    | MailboxArg
    | Select
    | Rename
    | ListArgs
    | Status
    | Append
    | Search
    | Fetch
    | Store
    | Copy
    | Expunge
    | Enable
    | Id
)


@dataclass(frozen=True, slots=True)
class Command:
    """One complete command: ``name`` upper-cased; ``uid`` for the UID
    forms (RFC 3501 6.4.8), whose ``name`` is the inner command."""

    tag: str
    name: str
    args: Args
    uid: bool = False

    @property
    def label(self) -> str:
        return "UID " + self.name if self.uid else self.name
