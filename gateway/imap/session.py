"""What every IMAP command family shares: configuration, session state,
output buffering, and keeping the selected folder's sequence numbers in
step with the client (RFC 3501 5.5, 7.4.1).

:class:`IMAPSession` is the base of the protocol class; the command
families (:mod:`gateway.imap.commands_mailbox`,
:mod:`gateway.imap.commands_selected`) and :mod:`gateway.imap.server`
build on it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.imap import wire
from gateway.imap.fetch import flags_item
from gateway.imap.syntax import Command, SequenceSet
from gateway.interfaces import IMailAccount, IMailAccountOpener, ISelectedFolder
from gateway.limits import ConnectionLimiter
from gateway.session import ListenerConfig, ServerSession
from gateway.store.imapview import Changes, FolderError, MessageInfo

__all__ = ["Bad", "IMAPConfig", "IMAPSession", "No", "Result", "State"]

log = Logger()

# RFC 3501 2.3.2 system flags a client may set (\Recent is the server's).
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


class State(Enum):
    """RFC 3501 3: the states of an IMAP connection."""

    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


def _default_user_sessions() -> ConnectionLimiter:
    return ConnectionLimiter(1 << 30, 20)


@dataclass(kw_only=True)
class IMAPConfig(ListenerConfig):
    """Everything the protocols of an IMAP listener share.

    The fields of :class:`~gateway.session.ListenerConfig` (``tls`` is
    offered through STARTTLS, RFC 3501 6.2.1; ``implicit_tls`` makes it
    imaps; ``trusted_networks`` / ``plaintext_auth`` say where passwords
    may be sent without TLS, RFC 3501 6.2.3 LOGINDISABLED), and:

    - ``opener`` (required): the store's
      :class:`~gateway.interfaces.IMailAccountOpener`.
    - ``user_sessions``: sessions per user (a :class:`ConnectionLimiter`
      keyed by user, ``per_ip`` being the limit); share one between imap
      and imaps.
    - ``max_line``: a command line (without literals); ``max_literal``: one
      literal (also the APPENDLIMIT, RFC 7889); ``max_command``: a whole
      command with its literals (default ``max_literal`` + 64 KiB).
    - ``timeout``: autologout after login (RFC 3501 5.4: at least 30
      minutes); ``login_timeout`` before login; ``idle_timeout`` while in
      IDLE (RFC 2177: clients re-IDLE every 29 minutes);
      ``idle_keepalive``: seconds between ``* OK Still here`` in IDLE (0:
      none).
    - ``max_errors``: BAD responses per session before disconnecting.
    - ``fetch_batch``: messages read and rendered per write in FETCH.
    """

    opener: IMailAccountOpener
    user_sessions: ConnectionLimiter = field(default_factory=_default_user_sessions)
    max_line: int = 65536
    max_literal: int = 50 * 1024 * 1024
    max_command: int | None = None
    timeout: float = 1800.0
    login_timeout: float = 180.0
    idle_timeout: float = 3600.0
    idle_keepalive: float = 120.0
    max_errors: int = 20
    fetch_batch: int = 64


class No(Exception):
    """Refuse the command with a tagged NO (RFC 3501 7.1.2)."""

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


class Bad(Exception):
    """Refuse the command with a tagged BAD (RFC 3501 7.1.3)."""

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


# A handler's answer: the tagged status without the tag ("OK ...", "NO
# ..."), None when the handler already answered, or a Deferred of either.
Result = bytes | None | Deferred[bytes | None]


def ok(text: str, code: str | None = None) -> bytes:
    return b"OK " + (b"[" + code.encode() + b"] " if code else b"") + text.encode()


def no(text: str, code: str | None = None) -> bytes:
    return b"NO " + (b"[" + code.encode() + b"] " if code else b"") + text.encode()


class IMAPSession(ServerSession[IMAPConfig]):
    """Session state and the helpers the command families share."""

    protocol_name = "imap"

    def __init__(self, config: IMAPConfig) -> None:
        super().__init__(config)
        self.state = State.NOT_AUTHENTICATED
        self.user = ""
        self.account: IMailAccount | None = None
        self.folder: ISelectedFolder | None = None
        self.uids: list[int] = []  # UIDs in sequence order, as the client knows them
        self.recent_count = 0  # the last RECENT the client was told
        self.flags_sent: frozenset[str] = frozenset()  # keywords in the last FLAGS
        self.condstore = False  # RFC 7162 3.1 enabled
        self.dirty = False  # the watch said the folder changed
        self._polling: Deferred[None] | None = None
        self._out: list[bytes] = []

    # -- output ------------------------------------------------------------------

    def untagged(self, line: bytes) -> None:
        """Queue ``* line``; everything queued goes out in one write."""
        self._out.append(b"* " + line + b"\r\n")

    def queue(self, data: bytes) -> None:
        self._out.append(data)

    def flush(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out = []
            if self.transport is not None and not self.closing:
                self.transport.write(data)

    # -- arguments -----------------------------------------------------------------

    @staticmethod
    def mailbox_name(raw: bytes) -> str:
        try:
            return wire.decode_mailbox(raw)
        except wire.InvalidMailboxName as e:
            raise No(str(e), "CANNOT") from None

    def require_folder(self) -> ISelectedFolder:
        if self.folder is None:
            raise Bad("No mailbox selected")
        return self.folder

    def require_account(self) -> IMailAccount:
        if self.account is None:
            raise Bad("Not logged in")
        return self.account

    def message_indexes(self, seqs: SequenceSet, uid: bool) -> list[int]:
        """Indexes into the folder's messages named by ``seqs``.

        RFC 3501 6.4.8: UIDs that do not exist are ignored. Message
        sequence numbers must exist (RFC 3501 9: ``*`` in an empty mailbox
        is an error too), else BAD.
        """
        if uid:
            return seqs.uid_indexes(self.uids)
        count = len(self.uids)
        if seqs.max_number() > count or (count == 0 and seqs.has_star()):
            raise Bad("Invalid message sequence number")
        return [n - 1 for n in seqs.sequence_numbers(count)]

    # -- errors from the store -----------------------------------------------------

    def store_failed(self, failure: Failure, what: str) -> bytes:
        """RFC 5530: a FolderError becomes NO with its code; anything else
        is logged and answered NO [SERVERBUG]."""
        if failure.check(FolderError):
            error: FolderError = failure.value  # type: ignore[assignment]
            return no(error.text, error.code or None)
        if failure.check(KeyError):
            return no("Some of the requested messages no longer exist", "EXPUNGEISSUED")
        log.failure(
            "imap: {ip}: {user}: {what} failed",
            failure,
            ip=self.client_ip,
            user=self.user,
            what=what,
        )
        return no("Internal error, try again later", "SERVERBUG")

    # -- the selected folder ---------------------------------------------------------

    def open_folder(self, folder: ISelectedFolder) -> None:
        self.folder = folder
        self.state = State.SELECTED
        self.uids = [m.uid for m in folder.messages]
        self.dirty = False
        folder.watch(self.folder_changed)

    def close_folder(self) -> None:
        folder, self.folder = self.folder, None
        if folder is not None:
            folder.watch(None)
            folder.close()
        self.uids = []
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    def folder_changed(self) -> None:
        """ISelectedFolder.watch: something changed (another session, a
        delivery). Noted for the next command; pushed at once in IDLE."""
        self.dirty = True

    def flags_response(self, folder: ISelectedFolder) -> None:
        """RFC 3501 7.2.6 FLAGS, and PERMANENTFLAGS (7.1) with it."""
        keywords = sorted(folder.keywords)
        self.flags_sent = frozenset(keywords)
        self.untagged(b"FLAGS " + wire.flag_list([*SYSTEM_FLAGS, *keywords]))
        if folder.readonly:
            self.untagged(b"OK [PERMANENTFLAGS ()] Read-only mailbox.")
        else:
            flags = wire.flag_list([*SYSTEM_FLAGS, *keywords, "\\*"])
            self.untagged(b"OK [PERMANENTFLAGS " + flags + b"] Flags permitted.")

    def poll(self) -> Deferred[None]:
        """RFC 3501 7.4.1: fetch the folder's changes and queue the
        untagged EXPUNGE / EXISTS / RECENT / FETCH responses."""
        folder = self.require_folder()
        self.dirty = False
        d: Deferred[Any] = folder.changes()

        def failed(failure: Failure) -> None:
            log.failure(
                "imap: {ip}: {user}: sync failed", failure, ip=self.client_ip, user=self.user
            )

        return d.addCallbacks(self.apply_changes, failed)

    def apply_changes(self, changes: Changes) -> None:
        folder = self.folder
        if folder is None or changes.empty:
            return
        old = self.uids
        if changes.expunged:
            # RFC 3501 7.4.1: highest first, so no number shifts under the client
            gone = set(changes.expunged)
            for seq in range(len(old), 0, -1):
                if old[seq - 1] in gone:
                    self.untagged(b"%d EXPUNGE" % seq)
        messages: list[MessageInfo] = folder.messages
        self.uids = uids = [m.uid for m in messages]
        recent = sum(1 for m in messages if m.recent)
        if changes.added:
            self.untagged(b"%d EXISTS" % len(uids))  # RFC 3501 7.3.1
        if changes.added or recent != self.recent_count:
            self.untagged(b"%d RECENT" % recent)  # RFC 3501 7.3.2: when it changes
            self.recent_count = recent
        keywords = frozenset(folder.keywords)
        if not keywords <= self.flags_sent:
            self.flags_response(folder)
        for info in changes.flags:
            self.flag_update(info, uid=False)

    def flag_update(self, info: MessageInfo, uid: bool) -> None:
        """``* n FETCH (FLAGS ...)`` for a message whose flags changed
        (RFC 3501 7.4.2; with UID and MODSEQ once CONDSTORE is enabled,
        RFC 7162 3.2)."""
        i = bisect.bisect_left(self.uids, info.uid)
        if i >= len(self.uids) or self.uids[i] != info.uid:
            return  # not (or no longer) known to the client
        items = flags_item(info)
        if uid or self.condstore:
            items = b"UID %d " % info.uid + items
        if self.condstore:
            items += b" MODSEQ (%d)" % info.modseq
        self.untagged(b"%d FETCH (" % (i + 1) + items + b")")

    def message_at(self, index: int) -> MessageInfo:
        folder = self.require_folder()
        info: MessageInfo = folder.messages[index]
        return info

    # -- hooks the server provides -----------------------------------------------------

    def capabilities(self) -> list[str]:
        raise NotImplementedError

    def enable_condstore(self) -> None:
        """RFC 7162 3.1: a CONDSTORE enabling command; the first one while a
        mailbox is selected announces its HIGHESTMODSEQ."""
        if self.condstore:
            return
        self.condstore = True
        if self.folder is not None:
            self.untagged(b"OK [HIGHESTMODSEQ %d] Highest" % self.folder.highest_modseq)


Handler = Callable[[Command], Result]
