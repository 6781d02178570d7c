"""Evaluating SEARCH keys (RFC 3501 6.4.4, RFC 7162 3.1.5): pure code.

Keys are evaluated in two passes so that a message is read only when a key
needs it: :func:`evaluate` with ``content=None`` answers from what the index
knows (:class:`~gateway.store.imapview.MessageInfo`: flags, size, dates,
UID, MODSEQ) and returns None ("cannot tell") where a header or the body
matters and the rest of the expression does not already decide; the server
then reads those messages and evaluates again with a :class:`Content`.
"""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.imap import message
from gateway.imap.syntax import (
    AllKey,
    AndKey,
    DateKey,
    FlagKey,
    HeaderKey,
    ModSeqKey,
    NotKey,
    OrKey,
    RecentKey,
    SearchKey,
    SetKey,
    SizeKey,
    TextKey,
)
from gateway.store.imapview import MessageInfo

__all__ = ["Content", "Context", "evaluate", "header_names", "max_modseq_key", "needs_body"]


@dataclass(frozen=True, slots=True)
class Context:
    """What ``*`` means: the number of messages and the highest UID."""

    count: int
    max_uid: int


def _utc_date(timestamp: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date()


class Content:
    """One message's bytes, with what SEARCH derives from it computed once."""

    __slots__ = ("_body", "_data", "_header_text", "_headers", "_sent")

    def __init__(self, data: bytes, headers: dict[str, list[str]] | None = None) -> None:
        """``headers``: values already known (casefolded, by lower-case name),
        e.g. from the folder's cache; then ``data`` may be empty."""
        self._data = data
        self._headers: dict[str, list[str]] = dict(headers or {})
        self._body: str | None = None
        self._header_text: str | None = None
        self._sent: datetime.date | bool | None = False

    def header(self, name: str) -> list[str]:
        key = name.lower()
        values = self._headers.get(key)
        if values is None:
            values = [v.casefold() for v in message.header_values(self._data, name)]
            self._headers[key] = values
        return values

    def body(self) -> str:
        if self._body is None:
            self._body = message.body_text(self._data).casefold()
        return self._body

    def header_text(self) -> str:
        """The whole header, unfolded, plus the decoded values of the
        fields people search in, for TEXT."""
        if self._header_text is None:
            end = self._data.find(b"\r\n\r\n")
            raw = self._data if end == -1 else self._data[:end]
            text = raw.decode("utf-8", "replace").replace("\r\n ", " ").replace("\r\n\t", " ")
            decoded = [v for name in ("Subject", "From", "To", "Cc") for v in self.header(name)]
            self._header_text = (text.casefold() + "\n" + "\n".join(decoded)).casefold()
        return self._header_text

    def sent(self) -> datetime.date | None:
        """RFC 3501 6.4.4 SENT*: the date of the Date: header, ignoring the
        time and the zone (the date as written)."""
        if self._sent is False:
            self._sent = None
            for value in self.header("Date"):
                parsed = email.utils.parsedate_tz(value)
                if parsed is not None:
                    try:
                        self._sent = datetime.date(parsed[0], parsed[1], parsed[2])
                    except ValueError:
                        continue
                    break
        return self._sent  # type: ignore[return-value]


def _compare(op: str, have: datetime.date, want: datetime.date) -> bool:
    if op == "BEFORE":
        return have < want
    if op == "ON":
        return have == want
    return have >= want  # SINCE


def evaluate(
    key: SearchKey, seq: int, info: MessageInfo, ctx: Context, content: Content | None
) -> bool | None:
    """Does message ``seq`` match? None: only its content can tell."""
    if isinstance(key, FlagKey):
        return (key.flag in info.flags) == key.present
    if isinstance(key, AndKey):
        result: bool | None = True
        for sub in key.keys:
            r = evaluate(sub, seq, info, ctx, content)
            if r is False:
                return False
            if r is None:
                result = None
        return result
    if isinstance(key, SetKey):
        if key.uid:
            return key.set.contains(info.uid, ctx.max_uid)
        return key.set.contains(seq, ctx.count)
    if isinstance(key, AllKey):
        return True
    if isinstance(key, NotKey):
        r = evaluate(key.key, seq, info, ctx, content)
        return None if r is None else not r
    if isinstance(key, OrKey):
        left = evaluate(key.left, seq, info, ctx, content)
        if left is True:
            return True
        right = evaluate(key.right, seq, info, ctx, content)
        if right is True:
            return True
        return None if left is None or right is None else False
    if isinstance(key, RecentKey):
        return info.recent == key.present
    if isinstance(key, SizeKey):
        return info.size > key.size if key.larger else info.size < key.size
    if isinstance(key, ModSeqKey):
        return info.modseq >= key.modseq
    if isinstance(key, DateKey):
        if not key.sent:
            return _compare(key.op, _utc_date(info.internal_date), key.date)
        if content is None:
            return None
        sent = content.sent()
        if sent is None:
            sent = _utc_date(info.internal_date)  # no usable Date: as Dovecot does
        return _compare(key.op, sent, key.date)
    if content is None:
        return None
    if isinstance(key, HeaderKey):
        values = content.header(key.name)
        needle = key.value.casefold()
        return any(needle in v for v in values)
    if isinstance(key, TextKey):
        needle = key.value.casefold()
        if needle in content.body():
            return True
        return key.headers and needle in content.header_text()
    raise AssertionError(f"unknown search key {key!r}")


def leaves(key: SearchKey) -> Iterator[SearchKey]:
    """The keys that are not AND, OR or NOT, anywhere in ``key``."""
    if isinstance(key, AndKey):
        for part in key.keys:
            yield from leaves(part)
    elif isinstance(key, NotKey):
        yield from leaves(key.key)
    elif isinstance(key, OrKey):
        yield from leaves(key.left)
        yield from leaves(key.right)
    else:
        yield key


def max_modseq_key(key: SearchKey) -> bool:
    """True if the search uses MODSEQ (RFC 7162 3.1.5: the response then
    carries the highest MODSEQ of the matches)."""
    return any(isinstance(leaf, ModSeqKey) for leaf in leaves(key))


def needs_body(key: SearchKey) -> bool:
    """True if deciding ``key`` may need more than the header (BODY, TEXT):
    otherwise SEARCH reads only each message's header."""
    return any(isinstance(leaf, TextKey) for leaf in leaves(key))


def header_names(key: SearchKey) -> frozenset[str] | None:
    """The header fields (lower case) that deciding ``key`` may need, or
    None if it may need more than header fields (BODY, TEXT). The values
    of these fields can be cached per message, so that a repeated SEARCH
    FROM reads nothing."""
    names: set[str] = set()
    for leaf in leaves(key):
        if isinstance(leaf, TextKey):
            return None
        if isinstance(leaf, HeaderKey):
            names.add(leaf.name.lower())
        elif isinstance(leaf, DateKey) and leaf.sent:
            names.add("date")
    return frozenset(names)
