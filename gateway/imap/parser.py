"""The IMAP command parser (RFC 3501 9, with the extensions we offer).

Pure code: :func:`parse_command` takes one complete command as the framer
(:mod:`gateway.imap.framing`) assembled it, literals included (each
``{n}`` or ``{n+}`` followed by CRLF and its ``n`` octets, the line ends
between parts normalised to CRLF), and returns a :class:`Command` or raises
:class:`ParseError` (answered with BAD). No other exception escapes, for
any input.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable

from gateway.imap.syntax import (
    STAR,
    AllKey,
    AndKey,
    Append,
    Args,
    Authenticate,
    Command,
    Copy,
    DateKey,
    Enable,
    Expunge,
    Fetch,
    FetchAtt,
    FlagKey,
    HeaderKey,
    Id,
    ListArgs,
    Login,
    MailboxArg,
    ModSeqKey,
    NoArgs,
    NotKey,
    OrKey,
    ParseError,
    RecentKey,
    Rename,
    Search,
    SearchKey,
    Section,
    Select,
    SequenceSet,
    SetKey,
    SizeKey,
    Status,
    Store,
    TextKey,
)

__all__ = ["MAX_NESTING", "SYSTEM_FLAGS", "ParseError", "Reader", "parse_command"]

MAX_NUMBER = 2**32 - 1  # RFC 3501 9 number
MAX_MODSEQ = 2**63 - 1  # RFC 7162 7 mod-sequence-value
MAX_NESTING = 50  # parenthesised search keys, against deep recursion
MAX_ID_FIELDS = 30  # RFC 2971 3.3

# RFC 3501 9: ATOM-CHAR is any CHAR except atom-specials ( ) { SP CTL % *
# " \ ]. ASTRING-CHAR adds "]", list-char adds % * ]. Octets above 0x7F are
# let through here so that an 8-bit mailbox name fails the modified UTF-7
# check with NO (RFC 3501 5.1.3), not with BAD.
_ATOM = re.compile(rb'[^\x00-\x20\x7f(){%*"\\\]]+')
_ASTRING_ATOM = re.compile(rb'[^\x00-\x20\x7f(){%*"\\]+')
_LIST_ATOM = re.compile(rb'[^\x00-\x20\x7f(){"\\]+')
_TAG = re.compile(rb'[^\x00-\x20\x7f(){%*"\\+]+')
_QUOTED = re.compile(rb'"((?:[^"\\\r\n]|\\["\\])*)"')
_LITERAL = re.compile(rb"\{(\d{1,10})(\+?)\}\r\n")
_NUMBER = re.compile(rb"\d{1,20}")
_SEQ_SET = re.compile(rb"(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*")
_FETCH_NAME = re.compile(rb"[A-Za-z0-9.]+")
_UNESCAPE = re.compile(rb"\\([\"\\])")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_DATE = re.compile(rb"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_DATE_TIME = re.compile(
    rb'"([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"'
)

MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}

# RFC 3501 2.3.2: the system flags, by their upper-cased name. \Recent
# cannot be set by a client (STORE, APPEND).
SYSTEM_FLAGS = {
    f.upper(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
}


class Reader:
    """A cursor over one command with the RFC 3501 9 token rules."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    # -- primitives -----------------------------------------------------------

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def peek(self, n: int = 1) -> bytes:
        return self.data[self.pos : self.pos + n]

    def take(self, literal: bytes) -> bool:
        """Consume ``literal`` (case-insensitive) if it comes next."""
        end = self.pos + len(literal)
        if self.data[self.pos : end].upper() == literal:
            self.pos = end
            return True
        return False

    def expect(self, literal: bytes, what: str | None = None) -> None:
        if not self.take(literal):
            raise ParseError(f"Expected {what or literal.decode()!s}")

    def sp(self) -> None:
        if self.data[self.pos : self.pos + 1] != b" ":
            raise ParseError("Missing argument" if self.at_end() else "Expected a space")
        self.pos += 1

    def end(self) -> None:
        if not self.at_end():
            raise ParseError("Unexpected extra arguments")

    def _match(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        m = pattern.match(self.data, self.pos)
        if m is None:
            raise ParseError(f"Expected {what}" if not self.at_end() else "Missing argument")
        self.pos = m.end()
        return m.group()

    # -- RFC 3501 9 tokens ------------------------------------------------------

    def atom(self) -> bytes:
        return self._match(_ATOM, "an atom")

    def word(self) -> str:
        """An atom as an upper-cased keyword."""
        return self.atom().decode("ascii", "replace").upper()

    def number(self, limit: int = MAX_NUMBER, nonzero: bool = False) -> int:
        value = int(self._match(_NUMBER, "a number"))
        if value > limit or (nonzero and value == 0):
            raise ParseError("Number out of range")
        return value

    def quoted(self) -> bytes:
        m = _QUOTED.match(self.data, self.pos)
        if m is None:
            raise ParseError("Invalid quoted string")
        self.pos = m.end()
        return _UNESCAPE.sub(rb"\1", m.group(1))

    def literal(self) -> bytes:
        m = _LITERAL.match(self.data, self.pos)
        if m is None:
            raise ParseError("Invalid literal")
        size = int(m.group(1))
        start = m.end()
        if start + size > len(self.data):
            raise ParseError("Literal shorter than announced")
        self.pos = start + size
        return self.data[start : self.pos]

    def string(self) -> bytes:
        """RFC 3501 9 string: quoted or literal."""
        c = self.peek()
        if c == b'"':
            return self.quoted()
        if c == b"{":
            return self.literal()
        raise ParseError("Expected a string" if c else "Missing argument")

    def astring(self) -> bytes:
        c = self.peek()
        if c in (b'"', b"{"):
            return self.string()
        return self._match(_ASTRING_ATOM, "a string")

    def nstring(self) -> bytes | None:
        if self.peek(3).upper() == b"NIL" and not _ASTRING_ATOM.match(self.data, self.pos + 3):
            self.pos += 3
            return None
        return self.string()

    def list_mailbox(self) -> bytes:
        c = self.peek()
        if c in (b'"', b"{"):
            return self.string()
        return self._match(_LIST_ATOM, "a mailbox pattern")

    def sequence_set(self) -> SequenceSet:
        text = self._match(_SEQ_SET, "a sequence set")
        ranges: list[tuple[int, int]] = []
        for item in text.split(b","):
            a, _, b = item.partition(b":")
            first = _seq_number(a)
            ranges.append((first, _seq_number(b) if b else first))
        return SequenceSet(tuple(ranges))

    def parenthesised(self) -> bool:
        return self.take(b"(")

    def words_list(self) -> list[str]:
        """``(`` [atom *(SP atom)] ``)`` as upper-cased words."""
        self.expect(b"(")
        words: list[str] = []
        if self.take(b")"):
            return words
        while True:
            words.append(self.word())
            if self.take(b")"):
                return words
            self.sp()

    def flag(self) -> str:
        r"""RFC 3501 9 flag: a system flag, ``\`` atom, or a keyword atom."""
        if self.take(b"\\"):
            name = "\\" + self.atom().decode("ascii", "replace")
            if name.upper() == "\\RECENT" or name.upper() not in SYSTEM_FLAGS:
                raise ParseError(f"Invalid system flag {name}")
            return SYSTEM_FLAGS[name.upper()]
        atom = self.atom()
        try:
            return atom.decode("ascii")
        except UnicodeDecodeError:
            raise ParseError("Keywords must be ASCII") from None

    def flag_list(self) -> frozenset[str]:
        self.expect(b"(")
        flags: set[str] = set()
        if self.take(b")"):
            return frozenset()
        while True:
            flags.add(self.flag())
            if self.take(b")"):
                return frozenset(flags)
            self.sp()

    def date(self) -> datetime.date:
        """RFC 3501 9 date: DD-Mon-YYYY, optionally quoted."""
        quoted = self.take(b'"')
        m = _DATE.match(self.data, self.pos)
        if m is None:
            raise ParseError("Invalid date, expected DD-Mon-YYYY")
        self.pos = m.end()
        if quoted:
            self.expect(b'"')
        month = MONTHS.get(m.group(2).decode("ascii").upper())
        try:
            if month is None:
                raise ValueError(m.group(2))
            return datetime.date(int(m.group(3)), month, int(m.group(1)))
        except ValueError:
            raise ParseError("Invalid date") from None

    def date_time(self) -> float:
        """RFC 3501 9 date-time: ``"dd-Mon-yyyy hh:mm:ss +zzzz"`` as epoch seconds."""
        m = _DATE_TIME.match(self.data, self.pos)
        if m is None:
            raise ParseError("Invalid date-time")
        self.pos = m.end()
        day, mon, year, hh, mm, ss, sign, zh, zm = (g.decode("ascii") for g in m.groups())
        month = MONTHS.get(mon.upper())
        try:
            if month is None or int(zm) > 59:
                raise ValueError(mon)
            offset = datetime.timedelta(hours=int(zh), minutes=int(zm))
            tz = datetime.timezone(-offset if sign == "-" else offset)
            when = datetime.datetime(
                int(year), month, int(day.strip()), int(hh), int(mm), int(ss), tzinfo=tz
            )
        except ValueError:
            raise ParseError("Invalid date-time") from None
        return when.timestamp()


def _seq_number(text: bytes) -> int:
    if text == b"*":
        return STAR
    if len(text) > 10 or int(text) == 0 or int(text) > MAX_NUMBER:
        raise ParseError("Invalid sequence number")
    return int(text)


# -- commands ------------------------------------------------------------------------


def parse_command(data: bytes) -> Command:
    """Parse one complete command (see the module docstring)."""
    r = Reader(data)
    m = _TAG.match(data)
    if m is None:
        raise ParseError("Invalid tag" if data.strip() else "Empty command")
    tag = m.group().decode("ascii", "replace")
    r.pos = m.end()
    try:
        r.sp()
        name = r._match(_FETCH_NAME, "a command name").decode("ascii").upper()
        uid = False
        if name == "UID":
            uid = True
            r.sp()
            name = r._match(_FETCH_NAME, "a command name").decode("ascii").upper()
            if name not in _UID_COMMANDS:
                raise ParseError(f"Unknown command UID {name}")
        parser = _COMMANDS.get(name)
        if parser is None:
            raise ParseError(f"Unknown command {name[:30]}")
        args = parser(r)
        r.end()
        _check_args(name, uid, args)
        return Command(tag, name, args, uid)
    except ParseError as e:
        e.tag = tag
        raise
    except RecursionError:
        raise ParseError("Too deeply nested", tag) from None


def _no_args(r: Reader) -> NoArgs:
    return NoArgs()


def _login(r: Reader) -> Login:
    r.sp()
    user = r.astring()
    r.sp()
    return Login(user, r.astring())


def _authenticate(r: Reader) -> Authenticate:
    r.sp()
    mechanism = r.word()
    initial = None
    if not r.at_end():
        r.sp()
        # RFC 4959 3: base64, or "=" for an empty initial response
        initial = r._match(_BASE64, "base64")
        if not initial:
            raise ParseError("Invalid initial response")
    return Authenticate(mechanism, initial)


def _mailbox(r: Reader) -> MailboxArg:
    r.sp()
    return MailboxArg(r.astring())


def _select(r: Reader) -> Select:
    r.sp()
    mailbox = r.astring()
    condstore = False
    if not r.at_end():
        r.sp()
        # RFC 4466 2.1 select-params; RFC 7162 3.1.8 CONDSTORE is the one we know
        for param in r.words_list():
            if param != "CONDSTORE":
                raise ParseError(f"Unknown SELECT parameter {param}")
            condstore = True
    return Select(mailbox, condstore)


def _rename(r: Reader) -> Rename:
    r.sp()
    old = r.astring()
    r.sp()
    return Rename(old, r.astring())


_LIST_SELECT = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
_LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE"})


def _list(r: Reader) -> ListArgs:
    r.sp()
    select: frozenset[str] = frozenset()
    extended = False
    if r.peek() == b"(":
        # RFC 5258 3: list-select-opts
        extended = True
        select = frozenset(r.words_list())
        unknown = select - _LIST_SELECT
        if unknown:
            raise ParseError(f"Unknown LIST selection option {min(unknown)}")
        if select == {"RECURSIVEMATCH"}:
            raise ParseError("RECURSIVEMATCH needs another selection option")  # RFC 5258 3.1
        r.sp()
    reference = r.astring()
    r.sp()
    if r.peek() == b"(":
        extended = True
        r.expect(b"(")
        patterns = [r.list_mailbox()]
        while not r.take(b")"):
            r.sp()
            patterns.append(r.list_mailbox())
    else:
        patterns = [r.list_mailbox()]
    returns: frozenset[str] = frozenset()
    if not r.at_end():
        r.sp()
        r.expect(b"RETURN")
        r.sp()
        extended = True
        returns = frozenset(r.words_list())
        unknown = returns - _LIST_RETURN
        if unknown:
            raise ParseError(f"Unknown LIST return option {min(unknown)}")
    return ListArgs(reference, tuple(patterns), select, returns, extended)


def _lsub(r: Reader) -> ListArgs:
    r.sp()
    reference = r.astring()
    r.sp()
    return ListArgs(reference, (r.list_mailbox(),))


_STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"}
)


def _status(r: Reader) -> Status:
    r.sp()
    mailbox = r.astring()
    r.sp()
    items = r.words_list()
    if not items:
        raise ParseError("STATUS needs at least one item")
    for item in items:
        if item not in _STATUS_ITEMS:
            raise ParseError(f"Unknown STATUS item {item}")
    return Status(mailbox, tuple(dict.fromkeys(items)))


def _append(r: Reader) -> Append:
    r.sp()
    mailbox = r.astring()
    r.sp()
    flags: frozenset[str] = frozenset()
    date = None
    if r.peek() == b"(":
        flags = r.flag_list()
        r.sp()
    if r.peek() == b'"':
        date = r.date_time()
        r.sp()
    if r.peek() != b"{":
        raise ParseError("APPEND needs the message as a literal")
    return Append(mailbox, flags, date, r.literal())


def _enable(r: Reader) -> Enable:
    caps = []
    r.sp()
    caps.append(r.word())
    while not r.at_end():
        r.sp()
        caps.append(r.word())
    return Enable(tuple(caps))


def _id(r: Reader) -> Id:
    r.sp()
    if r.take(b"NIL"):
        return Id(None)
    r.expect(b"(")
    fields: list[tuple[str, str | None]] = []
    if r.take(b")"):
        return Id(())
    while True:
        key = r.string().decode("utf-8", "replace")
        r.sp()
        value = r.nstring()
        fields.append((key, None if value is None else value.decode("utf-8", "replace")))
        if len(fields) > MAX_ID_FIELDS:
            raise ParseError("Too many ID fields")
        if r.take(b")"):
            return Id(tuple(fields))
        r.sp()


def _copy(r: Reader) -> Copy:
    r.sp()
    seqs = r.sequence_set()
    r.sp()
    return Copy(seqs, r.astring())


def _uid_expunge(r: Reader) -> Expunge | NoArgs:
    if r.at_end():
        return NoArgs()
    r.sp()
    return Expunge(r.sequence_set())


# -- FETCH (RFC 3501 6.4.5, RFC 7162 3.1.4) ----------------------------------------

_FETCH_MACROS = {
    # RFC 3501 6.4.5
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_FETCH_SIMPLE = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
    }
)


def _fetch(r: Reader) -> Fetch:
    r.sp()
    seqs = r.sequence_set()
    r.sp()
    items: list[FetchAtt] = []
    if r.take(b"("):
        while True:
            items.append(_fetch_att(r))
            if r.take(b")"):
                break
            r.sp()
    else:
        start = r.pos
        word = r._match(_FETCH_NAME, "a fetch item").decode("ascii").upper()
        macro = _FETCH_MACROS.get(word)
        if macro is not None and r.peek() != b"[":
            items.extend(FetchAtt(name) for name in macro)
        else:
            r.pos = start
            items.append(_fetch_att(r))
    changed_since = None
    if not r.at_end():
        r.sp()
        # RFC 4466 2.2 fetch-modifiers; RFC 7162 3.1.4 CHANGEDSINCE
        r.expect(b"(")
        while True:
            r.expect(b"CHANGEDSINCE", "CHANGEDSINCE")
            r.sp()
            changed_since = r.number(MAX_MODSEQ)
            if r.take(b")"):
                break
            r.sp()
    return Fetch(seqs, tuple(dict.fromkeys(items)), changed_since)


def _fetch_att(r: Reader) -> FetchAtt:
    name = r._match(_FETCH_NAME, "a fetch item").decode("ascii").upper()
    if r.peek() != b"[":
        if name not in _FETCH_SIMPLE:
            raise ParseError(f"Unknown fetch item {name[:30]}")
        return FetchAtt(name)
    if name not in ("BODY", "BODY.PEEK"):
        raise ParseError(f"Unknown fetch item {name[:30]}")
    section = _section(r)
    partial = None
    if r.take(b"<"):
        origin = r.number()
        r.expect(b".")
        length = r.number(nonzero=True)
        r.expect(b">")
        partial = (origin, length)
    return FetchAtt("BODY", section, name == "BODY.PEEK", partial)


def _section(r: Reader) -> Section:
    """RFC 3501 9 section: ``[`` [section-spec] ``]``."""
    r.expect(b"[")
    if r.take(b"]"):
        return Section()
    part: list[int] = []
    text: str | None = None
    fields: tuple[str, ...] = ()
    while r.peek().isdigit():
        part.append(r.number(nonzero=True))
        if not r.take(b"."):
            break
    if not part or r.data[r.pos - 1 : r.pos] == b".":
        word = r._match(re.compile(rb"[A-Za-z.]+"), "a section").decode("ascii").upper()
        if word in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            r.sp()
            r.expect(b"(")
            names = [r.astring().decode("ascii", "replace").upper()]
            while not r.take(b")"):
                r.sp()
                names.append(r.astring().decode("ascii", "replace").upper())
            fields = tuple(names)
        elif word not in ("HEADER", "TEXT") and not (word == "MIME" and part):
            raise ParseError(f"Invalid section {word[:30]}")
        text = word
    r.expect(b"]")
    return Section(tuple(part), text, fields)


# -- STORE (RFC 3501 6.4.6, RFC 7162 3.1.3) ------------------------------------------


def _store(r: Reader) -> Store:
    r.sp()
    seqs = r.sequence_set()
    r.sp()
    unchanged_since = None
    if r.take(b"("):
        r.expect(b"UNCHANGEDSINCE", "UNCHANGEDSINCE")
        r.sp()
        unchanged_since = r.number(MAX_MODSEQ)
        r.expect(b")")
        r.sp()
    mode = ""
    if r.take(b"+"):
        mode = "+"
    elif r.take(b"-"):
        mode = "-"
    r.expect(b"FLAGS", "FLAGS, +FLAGS or -FLAGS")
    silent = r.take(b".SILENT")
    r.sp()
    if r.peek() == b"(":
        flags = r.flag_list()
    else:
        found = {r.flag()}
        while not r.at_end():
            r.sp()
            found.add(r.flag())
        flags = frozenset(found)
    return Store(seqs, mode, silent, flags, unchanged_since)


# -- SEARCH (RFC 3501 6.4.4, RFC 4731, RFC 7162 3.1.5) -------------------------------

_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_HEADER_KEYS = {"FROM": "From", "TO": "To", "CC": "Cc", "BCC": "Bcc", "SUBJECT": "Subject"}
_DATE_KEYS = {
    "BEFORE": ("BEFORE", False),
    "ON": ("ON", False),
    "SINCE": ("SINCE", False),
    "SENTBEFORE": ("BEFORE", True),
    "SENTON": ("ON", True),
    "SENTSINCE": ("SINCE", True),
}
_SEARCH_RETURN = frozenset({"MIN", "MAX", "ALL", "COUNT"})


def _search(r: Reader) -> Search:
    r.sp()
    returns: tuple[str, ...] | None = None
    charset = None
    if r.take(b"RETURN "):
        options = r.words_list()
        for option in options:
            if option not in _SEARCH_RETURN:
                raise ParseError(f"Unknown SEARCH return option {option}")
        returns = tuple(dict.fromkeys(options))
        r.sp()
    if r.take(b"CHARSET "):
        charset = r.astring().decode("ascii", "replace").upper()
        r.sp()
    keys = [_search_key(r, 0)]
    while not r.at_end():
        r.sp()
        keys.append(_search_key(r, 0))
    return Search(keys[0] if len(keys) == 1 else AndKey(tuple(keys)), charset, returns)


def _text(r: Reader) -> str:
    return r.astring().decode("utf-8", "replace")


def _search_key(r: Reader, depth: int) -> SearchKey:
    if depth > MAX_NESTING:
        raise ParseError("Search keys nested too deeply")
    if r.take(b"("):
        keys = [_search_key(r, depth + 1)]
        while not r.take(b")"):
            r.sp()
            keys.append(_search_key(r, depth + 1))
        return keys[0] if len(keys) == 1 else AndKey(tuple(keys))
    c = r.peek()
    if c.isdigit() or c == b"*":
        return SetKey(r.sequence_set(), uid=False)
    word = r.word()
    if word == "ALL":
        return AllKey()
    flag = _FLAG_KEYS.get(word)
    if flag is not None:
        return FlagKey(*flag)
    if word in ("KEYWORD", "UNKEYWORD"):
        r.sp()
        return FlagKey(r.atom().decode("ascii", "replace"), word == "KEYWORD")
    if word == "NEW":
        return AndKey((RecentKey(True), FlagKey("\\Seen", False)))
    if word == "OLD":
        return RecentKey(False)
    if word == "RECENT":
        return RecentKey(True)
    header = _HEADER_KEYS.get(word)
    if header is not None:
        r.sp()
        return HeaderKey(header, _text(r))
    if word == "HEADER":
        r.sp()
        name = r.astring().decode("ascii", "replace")
        r.sp()
        return HeaderKey(name, _text(r))
    if word in ("BODY", "TEXT"):
        r.sp()
        return TextKey(_text(r), headers=word == "TEXT")
    date = _DATE_KEYS.get(word)
    if date is not None:
        r.sp()
        return DateKey(date[0], r.date(), date[1])
    if word in ("LARGER", "SMALLER"):
        r.sp()
        return SizeKey(word == "LARGER", r.number())
    if word == "UID":
        r.sp()
        return SetKey(r.sequence_set(), uid=True)
    if word == "NOT":
        r.sp()
        return NotKey(_search_key(r, depth + 1))
    if word == "OR":
        r.sp()
        left = _search_key(r, depth + 1)
        r.sp()
        return OrKey(left, _search_key(r, depth + 1))
    if word == "MODSEQ":
        r.sp()
        if r.peek() == b'"':
            # RFC 7162 3.1.5: entry-name SP entry-type-req, accepted and ignored
            r.quoted()
            r.sp()
            entry_type = r.word()
            if entry_type not in ("PRIV", "SHARED", "ALL"):
                raise ParseError("Invalid MODSEQ entry type")
            r.sp()
        return ModSeqKey(r.number(MAX_MODSEQ))
    raise ParseError(f"Unknown search key {word[:30]}")


_COMMANDS: dict[str, Callable[[Reader], Args]] = {
    # RFC 3501 6.1 any state
    "CAPABILITY": _no_args,
    "NOOP": _no_args,
    "LOGOUT": _no_args,
    # RFC 3501 6.2 not authenticated
    "STARTTLS": _no_args,
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    # RFC 3501 6.3 authenticated
    "SELECT": _select,
    "EXAMINE": _select,
    "CREATE": _mailbox,
    "DELETE": _mailbox,
    "RENAME": _rename,
    "SUBSCRIBE": _mailbox,
    "UNSUBSCRIBE": _mailbox,
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    # RFC 3501 6.4 selected
    "CHECK": _no_args,
    "CLOSE": _no_args,
    "EXPUNGE": _uid_expunge,
    "SEARCH": _search,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    # extensions
    "MOVE": _copy,  # RFC 6851
    "UNSELECT": _no_args,  # RFC 3691
    "IDLE": _no_args,  # RFC 2177
    "NAMESPACE": _no_args,  # RFC 2342
    "ENABLE": _enable,  # RFC 5161
    "ID": _id,  # RFC 2971
}
_UID_COMMANDS = frozenset({"COPY", "MOVE", "FETCH", "SEARCH", "STORE", "EXPUNGE"})


def _check_args(name: str, uid: bool, args: Args) -> None:
    """EXPUNGE takes a set only as UID EXPUNGE (RFC 4315 2.1)."""
    if name == "EXPUNGE" and (uid != isinstance(args, Expunge)):
        raise ParseError("UID EXPUNGE needs a UID set" if uid else "EXPUNGE takes no arguments")
