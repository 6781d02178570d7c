"""The local delivery agent: writes into users' Maildirs.

Mail the gateway found suspect (``Envelope.junk`` holds the reason) gets an
``X-Mailgateway-Junk: <reason>`` field and is filed in the user's Junk
folder (special use ``\\Junk``, RFC 6154), created if missing. A user whose
users-file entry says ``userdb_mailgateway_junk=inbox``
(:data:`gateway.store.users.JUNK_FIELD`; POP3 users, who only see INBOX)
gets it in INBOX instead, with the Subject prefixed by ``[delivery]
junk_subject_tag`` (``[Junk] original subject``).
"""

from __future__ import annotations

import email.errors
import errno
import re
from collections.abc import Callable
from email.header import decode_header, make_header

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent, ILocalStore
from gateway.message import FOLD_WIDTH, JUNK_FIELD, fold_header_field, header_block
from gateway.store.folders import INBOX
from gateway.store.maildir import JUNK_FOLDER, unique_name
from gateway.store.users import DEFAULT_JUNK_MODE, JunkMode

log = Logger()

#: The field naming why a message was filed as junk.
JUNK_HEADER = JUNK_FIELD
DEFAULT_JUNK_TAG = "[Junk]"

# RFC 5322 3.2.5 unstructured text has no control characters (CR, LF, NUL…).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# A Subject field at the start of a header line (RFC 5322 3.6.5; obsolete
# syntax allows white space before the colon, 4.5).
_SUBJECT = re.compile(rb"(?:\A|\n)(subject[ \t]*:)", re.IGNORECASE)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
# RFC 2047 2: a line holding an encoded-word is at most 76 characters.
_ENCODED_WORD_LINE = 76


def trace_headers(sender: Address | None, recipient: Address) -> bytes:
    """``Return-Path`` (RFC 5321 4.4) and ``Delivered-To`` added at final delivery."""
    return_path = "" if sender is None else str(sender)
    return f"Return-Path: <{return_path}>\r\nDelivered-To: {recipient}\r\n".encode()


def junk_header(reason: str) -> bytes:
    """``X-Mailgateway-Junk: <reason>``, folded (RFC 5322 2.2.3), CRLF-ended;
    control characters in ``reason`` become spaces."""
    return fold_header_field(JUNK_HEADER, _CONTROL.sub(" ", reason)).encode("utf-8")


def _subject_text(raw: bytes) -> str:
    """The unfolded, RFC 2047-decoded text of a raw Subject value."""
    text = _FOLD.sub(b"", raw).decode("utf-8", "replace").strip()
    try:
        return str(make_header(decode_header(text))).strip()
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        return text


def tag_subject(content: bytes, tag: str) -> tuple[bytes, bytes]:
    """``(field, content)``: the Subject of ``content`` prefixed by ``tag``.

    The first Subject field's raw bytes stay as they are after the inserted
    ``tag`` and a space (encoded-words, folding, 8-bit text), so unfolding
    gives ``Subject: <tag> <original>``; when the first line would grow
    past 78 columns (76 with an encoded-word, RFC 2047 2) the original
    value is folded onto its own line instead. An empty Subject becomes
    ``Subject: <tag>``. A Subject that already starts with ``tag`` (also
    when RFC 2047-encoded; case-insensitive) is left alone. Without a
    Subject, ``content`` is unchanged and ``field`` is a ``Subject: <tag>``
    field for the caller to add; else ``field`` is ``b""``.
    """
    if not tag.strip():
        return b"", content
    encoded_tag = tag.encode("utf-8")
    header = header_block(content)
    match = _SUBJECT.search(header)
    if match is None:
        return fold_header_field("Subject", tag).encode("utf-8"), content
    start, colon = match.start(1), match.end(1)
    end = colon  # the end of the field's value, before its line end
    while True:
        newline = header.find(b"\n", end)
        if newline < 0:
            end = len(header)
            break
        if header[newline + 1 : newline + 2] in (b" ", b"\t"):
            end = newline + 1
            continue
        end = newline - 1 if header[newline - 1 : newline] == b"\r" else newline
        break
    value = header[colon:end]
    if _subject_text(value).casefold().startswith(tag.strip().casefold()):
        return b"", content
    if not value.strip():
        value = b" " + encoded_tag
    else:
        first, *folded = re.split(rb"(\r?\n)", value, maxsplit=1)
        separated = value[:1] in (b" ", b"\t", b"\r", b"\n")
        inserted = b" " + encoded_tag + (b"" if separated else b" ")
        width = _ENCODED_WORD_LINE if b"=?" in first else FOLD_WIDTH
        if first.strip() and colon - start + len(inserted) + len(first) > width:
            # the field's own line end (LF-only messages stay LF-only)
            own = b"\n" if content[end : end + 1] == b"\n" else b"\r\n"
            line_end = folded[0] if folded else own
            value = b" " + encoded_tag + line_end + (value if separated else b" " + value)
        else:
            value = inserted + value
    return b"", content[:colon] + value + content[end:]


def error_for(failure: Failure) -> GatewayError:
    """Map a store failure to a temporary delivery error (RFC 3463)."""
    value = failure.value
    if isinstance(value, GatewayError):
        return value
    if isinstance(value, OSError):
        if value.errno == errno.EDQUOT:
            return GatewayError(452, "4.2.2", "Mailbox full")
        if value.errno == errno.ENOSPC:
            return GatewayError(452, "4.3.1", "Mail system full")
        return GatewayError(451, "4.3.0", f"Mailbox unavailable: {value.strerror}")
    return GatewayError(451, "4.3.0", "Local delivery failed")


@implementer(IDeliveryAgent)
class LocalDeliveryAgent:
    name = "local"

    def __init__(
        self,
        store: ILocalStore,
        hostname: str,
        junk_tag: str = DEFAULT_JUNK_TAG,
        junk_mode: Callable[[Address], JunkMode] | None = None,
    ) -> None:
        """``junk_tag`` is ``[delivery] junk_subject_tag``; ``junk_mode``
        says where a user's suspect mail goes (``"folder"`` or ``"inbox"``:
        :meth:`gateway.store.users.UserFile.junk_mode`); without it, always
        the Junk folder."""
        self.store = store
        self.hostname = hostname
        self.junk_tag = junk_tag
        self.junk_mode = junk_mode

    def deliver(self, job: DeliveryJob) -> Deferred[list[Outcome]]:  # type: ignore[override]
        attempts = [self._one(job, target) for target in job.targets]
        d: Deferred[list[tuple[bool, Outcome]]] = DeferredList(attempts, consumeErrors=True)
        return d.addCallback(lambda results: [outcome for _ok, outcome in results])

    def _mode(self, user: Address) -> JunkMode:
        if self.junk_mode is None:
            return DEFAULT_JUNK_MODE
        try:
            return self.junk_mode(user)
        except Exception:
            log.failure("junk mode of {user}", user=str(user))
            return DEFAULT_JUNK_MODE

    def _one(self, job: DeliveryJob, target: Target) -> Deferred[Outcome]:
        unique = unique_name(job.accepted_at, job.qid, target.index, self.hostname)
        prefix = trace_headers(job.envelope.sender, target.address)
        content = job.content
        folder = INBOX
        text = "Delivered to mailbox"
        reason = job.envelope.junk
        if reason is not None:
            prefix += junk_header(reason)
            if self._mode(target.address) == "inbox":
                subject, content = tag_subject(content, self.junk_tag)
                prefix += subject
                text = "Delivered to mailbox (INBOX, Subject tagged as junk)"
            else:
                folder = JUNK_FOLDER
                text = f"Delivered to mailbox ({JUNK_FOLDER})"
        d = self.store.deliver(
            target.address, content, prefix, unique, job.recovered, folder=folder
        )

        def delivered(path: str) -> Outcome:
            return Outcome(target, Result.DELIVERED, 250, "2.0.0", text, path)

        def failed(failure: Failure) -> Outcome:
            error = error_for(failure)
            log.error(
                "{qid}: local delivery to {rcpt} failed: {error}",
                qid=job.qid,
                rcpt=str(target.address),
                error=str(error),
            )
            return Outcome.from_error(target, error)

        return d.addCallbacks(delivered, failed)
