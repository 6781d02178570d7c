"""Value types the store hands to IMAP (see gateway.interfaces.IMailAccount).

IMAP names are Unicode here (``"Entwürfe"``); the protocol converts to and
from modified UTF-7 on the wire. The hierarchy separator is ``.``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class FolderError(Exception):
    """A folder operation refused (the message says why, for a NO reply).

    ``code`` is an RFC 5530 response code without brackets, or "" (e.g.
    ``"NONEXISTENT"``, ``"ALREADYEXISTS"``, ``"TRYCREATE"``, ``"CANNOT"``,
    ``"LIMIT"``, ``"OVERQUOTA"``).
    """

    def __init__(self, text: str, code: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.code = code


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """One LIST entry."""

    name: str
    selectable: bool = True  # False: \\Noselect (a parent that only has children)
    has_children: bool = False  # RFC 3348
    subscribed: bool = False
    special_use: str | None = None  # RFC 6154: "\\Sent", "\\Drafts", "\\Junk", "\\Trash"


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """RFC 3501 6.3.10 STATUS items (and RFC 7162 HIGHESTMODSEQ)."""

    messages: int
    recent: int
    uidnext: int
    uidvalidity: int
    unseen: int
    highest_modseq: int


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """What a selected folder knows of one message without reading it."""

    uid: int
    flags: frozenset[str]  # system flags ("\\Seen"...) and keywords; \\Recent excluded
    size: int  # RFC822.SIZE: octets with CRLF line ends
    internal_date: float  # seconds since the epoch
    modseq: int
    recent: bool = False  # \\Recent for this session (RFC 3501 2.3.2)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in a selected folder since the session last looked.

    ``expunged`` are UIDs gone (the session turns them into EXPUNGE
    responses with its own sequence numbers, highest first or by
    recomputing); ``added`` are new messages in UID order (EXISTS, RECENT);
    ``flags`` are messages whose flags (or MODSEQ) changed (FETCH FLAGS).
    """

    expunged: tuple[int, ...] = ()
    added: tuple[MessageInfo, ...] = ()
    flags: tuple[MessageInfo, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.expunged or self.added or self.flags)


@dataclass(frozen=True, slots=True)
class CopyResult:
    """RFC 4315 COPYUID / APPENDUID data."""

    uidvalidity: int
    source_uids: tuple[int, ...] = field(default_factory=tuple)
    dest_uids: tuple[int, ...] = field(default_factory=tuple)
