"""The commands of the selected state (RFC 3501 6.4): CHECK, CLOSE, EXPUNGE,
SEARCH, FETCH, STORE, COPY and their UID forms, with UNSELECT (RFC 3691),
MOVE (RFC 6851), UID EXPUNGE / COPYUID (RFC 4315), ESEARCH (RFC 4731) and
CONDSTORE (RFC 7162)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.imap import wire
from gateway.imap.fetch import STRUCTURES, needs_content, render
from gateway.imap.search import (
    Content,
    Context,
    evaluate,
    header_names,
    max_modseq_key,
    needs_body,
)
from gateway.imap.session import IMAPSession, No, Result, ok
from gateway.imap.syntax import Command, Copy, Expunge, Fetch, FetchAtt, Search, Store
from gateway.interfaces import ISelectedFolder
from gateway.store.imapview import CopyResult, MessageInfo

__all__ = ["SelectedCommands"]

log = Logger()

_UID = FetchAtt("UID")
_FLAGS = FetchAtt("FLAGS")
_MODSEQ = FetchAtt("MODSEQ")
_CHARSETS = ("US-ASCII", "UTF-8")
_SEARCH_BATCH = 64


def _missing_to_none(failure: Failure) -> None:
    failure.trap(KeyError)  # expunged by someone else meanwhile
    return None


class SelectedCommands(IMAPSession):
    # -- RFC 3501 6.4.1 CHECK, 6.4.2 CLOSE, RFC 3691 UNSELECT ---------------------------------

    def cmd_CHECK(self, cmd: Command) -> Result:
        self.require_folder()
        return ok("Check completed.")  # the updates follow (RFC 3501 6.4.1)

    def cmd_CLOSE(self, cmd: Command) -> Result:
        folder = self.require_folder()
        if folder.readonly:
            self.close_folder()
            return ok("Close completed.")
        # RFC 3501 6.4.2: expunge silently, no EXPUNGE responses
        d: Deferred[Any] = folder.expunge(None)

        def closed(_: object) -> bytes:
            self.close_folder()
            return ok("Close completed.")

        def failed(failure: Failure) -> bytes:
            self.close_folder()
            return self.store_failed(failure, "CLOSE")

        return d.addCallbacks(closed, failed)

    def cmd_UNSELECT(self, cmd: Command) -> Result:
        self.require_folder()
        self.close_folder()
        return ok("Unselect completed.")

    # -- RFC 3501 6.4.3 EXPUNGE, RFC 4315 2.1 UID EXPUNGE ---------------------------------

    def cmd_EXPUNGE(self, cmd: Command) -> Result:
        folder = self._writable()
        uids = None
        if isinstance(cmd.args, Expunge):
            uids = [self.uids[i] for i in self.message_indexes(cmd.args.set, True)]
            if not uids:
                return ok("Expunge completed.")
        d: Deferred[Any] = folder.expunge(uids)
        d.addCallback(lambda _: self.poll())
        return d.addCallbacks(
            lambda _: ok("Expunge completed."), lambda f: self.store_failed(f, "EXPUNGE")
        )

    def _writable(self) -> ISelectedFolder:
        folder = self.require_folder()
        if folder.readonly:
            raise No("Mailbox is read-only", "READ-ONLY")
        return folder

    # -- RFC 3501 6.4.4 SEARCH, RFC 4731 ESEARCH, RFC 7162 3.1.5 -----------------------------

    def cmd_SEARCH(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Search)
        folder = self.require_folder()
        if args.charset is not None and args.charset not in _CHARSETS:
            raise No("Unsupported charset", "BADCHARSET (US-ASCII UTF-8)")
        if max_modseq_key(args.key):
            self.enable_condstore()
        messages: list[MessageInfo] = list(folder.messages)
        ctx = Context(len(messages), messages[-1].uid if messages else 0)
        key = args.key
        matched: list[int] = []
        undecided: list[int] = []
        for seq, info in enumerate(messages, 1):
            r = evaluate(key, seq, info, ctx, None)
            if r:
                matched.append(seq)
            elif r is None:
                undecided.append(seq)
        if not undecided:
            return self._search_result(cmd, args, messages, matched)
        return self._search_content(folder, cmd, args, messages, ctx, matched, undecided, 0)

    def _search_content(
        self,
        folder: ISelectedFolder,
        cmd: Command,
        args: Search,
        messages: list[MessageInfo],
        ctx: Context,
        matched: list[int],
        undecided: list[int],
        pos: int,
    ) -> Deferred[bytes | None]:
        """Read the messages only their content can decide, a batch at a
        time; header fields already in the folder's cache need no read."""
        names = header_names(args.key)
        if names is not None and pos == 0:
            still: list[int] = []
            for seq in undecided:
                known = _cached_headers(folder, messages[seq - 1].uid, names)
                if known is None:
                    still.append(seq)
                elif evaluate(args.key, seq, messages[seq - 1], ctx, Content(b"", known)):
                    matched.append(seq)
            undecided = still
            if not undecided:
                matched.sort()
                return succeed(self._search_result(cmd, args, messages, matched))
        batch = undecided[pos : pos + _SEARCH_BATCH]
        read = folder.read if needs_body(args.key) else folder.read_header
        reads = [read(messages[seq - 1].uid).addErrback(_missing_to_none) for seq in batch]
        d: Deferred[Any] = gatherResults(reads, consumeErrors=True)

        def decided(contents: list[bytes | None]) -> Result:
            for seq, data in zip(batch, contents, strict=True):
                if data is None:
                    continue
                content = Content(data)
                if evaluate(args.key, seq, messages[seq - 1], ctx, content):
                    matched.append(seq)
                for name in names or ():
                    folder.remember(
                        messages[seq - 1].uid, _HEADER_KEY + name, content.header(name)
                    )
            if pos + _SEARCH_BATCH < len(undecided):
                return self._search_content(
                    folder, cmd, args, messages, ctx, matched, undecided, pos + _SEARCH_BATCH
                )
            matched.sort()
            return self._search_result(cmd, args, messages, matched)

        return d.addCallbacks(decided, lambda f: self.store_failed(f, "SEARCH"))

    def _search_result(
        self, cmd: Command, args: Search, messages: list[MessageInfo], matched: list[int]
    ) -> bytes:
        numbers = [messages[seq - 1].uid for seq in matched] if cmd.uid else matched
        modseq = b""
        if max_modseq_key(args.key) and matched:
            # RFC 7162 3.1.5: the highest MODSEQ of the messages found
            modseq = b"%d" % max(messages[seq - 1].modseq for seq in matched)
        if args.returns is None:
            line = b"SEARCH" + b"".join(b" %d" % n for n in numbers)
            if modseq:
                line += b" (MODSEQ " + modseq + b")"
            self.untagged(line)
            return ok("Search completed.")
        # RFC 4731 3: ESEARCH, RETURN () meaning RETURN (ALL)
        returns = args.returns or ("ALL",)
        line = b'ESEARCH (TAG "' + cmd.tag.encode() + b'")'
        if cmd.uid:
            line += b" UID"
        for option in returns:
            if option == "COUNT":
                line += b" COUNT %d" % len(numbers)
            elif not numbers:
                continue
            elif option == "MIN":
                line += b" MIN %d" % min(numbers)
            elif option == "MAX":
                line += b" MAX %d" % max(numbers)
            elif option == "ALL":
                line += b" ALL " + wire.sequence_set(sorted(numbers))
        if modseq:
            line += b" MODSEQ " + modseq
        self.untagged(line)
        return ok("Search completed.")

    # -- RFC 3501 6.4.5 FETCH, RFC 7162 3.1.4 CHANGEDSINCE -----------------------------------

    def cmd_FETCH(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Fetch)
        folder = self.require_folder()
        indexes = self.message_indexes(args.set, cmd.uid)
        items = list(args.items)
        if args.changed_since is not None and _MODSEQ not in items:
            items.append(_MODSEQ)
        if _MODSEQ in items:
            self.enable_condstore()
        if cmd.uid and _UID not in items:
            items.insert(0, _UID)  # RFC 3501 6.4.8: UID FETCH always returns UID
        messages = folder.messages
        work = [(i + 1, messages[i]) for i in indexes]
        if args.changed_since is not None:
            since = args.changed_since
            work = [(seq, info) for seq, info in work if info.modseq > since]
        if folder.readonly or not any(att.sets_seen for att in items):
            return self._fetch_from(folder, work, items, frozenset(), 0, False)
        # RFC 3501 6.4.5: BODY[] sets \Seen; the changed flags are returned too
        unseen = [info.uid for _, info in work if "\\Seen" not in info.flags]
        if not unseen:
            return self._fetch_from(folder, work, items, frozenset(), 0, False)
        d: Deferred[Any] = folder.store(unseen, "+", frozenset({"\\Seen"}), None)

        def marked(result: tuple[list[MessageInfo], list[int]]) -> Result:
            updated = {info.uid: info for info in result[0]}
            new_work = [(seq, updated.get(info.uid, info)) for seq, info in work]
            return self._fetch_from(folder, new_work, items, frozenset(updated), 0, False)

        return d.addCallbacks(marked, lambda f: self.store_failed(f, "FETCH"))

    def _fetch_from(
        self,
        folder: ISelectedFolder,
        work: Sequence[tuple[int, MessageInfo]],
        items: list[FetchAtt],
        flagged: frozenset[int],
        pos: int,
        missing: bool,
    ) -> Result:
        """Render ``work[pos:]`` a batch at a time: batches whose messages
        need not be read render at once (one write for the whole FETCH when
        the structures are cached), others after their reads."""
        batch_size = self.config.fetch_batch
        structure_items = [
            att.name for att in items if att.section is None and att.name in STRUCTURES
        ]
        while pos < len(work):
            batch = work[pos : pos + batch_size]
            cached = [self._cached(folder, info.uid, structure_items) for _, info in batch]
            need = [needs_content(items, c) for c in cached]
            if any(need):
                reads = [
                    folder.read(info.uid).addErrback(_missing_to_none)
                    if wanted
                    else _already(None)
                    for (_, info), wanted in zip(batch, need, strict=True)
                ]
                d: Deferred[Any] = gatherResults(reads, consumeErrors=True)
                next_pos = pos + batch_size

                def got(
                    contents: list[bytes | None],
                    batch: Any = batch,
                    cached: Any = cached,
                    need: list[bool] = need,
                    next_pos: int = next_pos,
                ) -> Result:
                    gone = self._render_batch(
                        folder, batch, items, flagged, cached, contents, need
                    )
                    self.flush()
                    return self._fetch_from(
                        folder, work, items, flagged, next_pos, missing or gone
                    )

                return d.addCallbacks(got, lambda f: self.store_failed(f, "FETCH"))
            self._render_batch(folder, batch, items, flagged, cached, [None] * len(batch), need)
            pos += batch_size
        if missing:
            return b"NO [EXPUNGEISSUED] Some of the requested messages no longer exist."
        return ok("Fetch completed.")

    @staticmethod
    def _cached(folder: ISelectedFolder, uid: int, names: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for name in names:
            value = folder.cached(uid, STRUCTURES[name])
            if isinstance(value, str):
                found[name] = value.encode("latin-1")
        return found

    def _render_batch(
        self,
        folder: ISelectedFolder,
        batch: Sequence[tuple[int, MessageInfo]],
        items: list[FetchAtt],
        flagged: frozenset[int],
        cached: list[dict[str, bytes]],
        contents: list[bytes | None],
        need: list[bool],
    ) -> bool:
        """Queue the FETCH responses of one batch; True if a message that
        had to be read was gone."""
        gone = False
        extra = [_FLAGS, _MODSEQ] if self.condstore else [_FLAGS]
        for (seq, info), structures, content, wanted in zip(
            batch, cached, contents, need, strict=True
        ):
            if wanted and content is None:
                gone = True
                continue
            its = items
            if info.uid in flagged:
                its = items + [att for att in extra if att not in items]
            known = set(structures)
            self.queue(render(seq, info, its, content, structures))
            for name in structures.keys() - known:
                folder.remember(info.uid, STRUCTURES[name], structures[name].decode("latin-1"))
        return gone

    # -- RFC 3501 6.4.6 STORE, RFC 7162 3.1.3 UNCHANGEDSINCE ------------------------------

    def cmd_STORE(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Store)
        folder = self._writable()
        indexes = self.message_indexes(args.set, cmd.uid)
        if args.unchanged_since is not None:
            self.enable_condstore()
        uids = [self.uids[i] for i in indexes]
        if not uids:
            return ok("Store completed.")
        d: Deferred[Any] = folder.store(uids, args.mode, args.flags, args.unchanged_since)

        def stored(result: tuple[list[MessageInfo], list[int]]) -> bytes:
            infos, refused = result
            if not frozenset(folder.keywords) <= self.flags_sent:
                self.flags_response(folder)  # RFC 3501 7.2.6: a new keyword
            if not args.silent:
                for info in infos:
                    self.flag_update(info, uid=cmd.uid)
            code = None
            if refused:
                # RFC 7162 3.1.3: MODIFIED with the refused messages
                numbers = refused if cmd.uid else [self.uids.index(u) + 1 for u in refused]
                code = "MODIFIED " + wire.sequence_set(sorted(numbers)).decode()
            return ok("Conditional store failed." if refused else "Store completed.", code)

        return d.addCallbacks(stored, lambda f: self.store_failed(f, "STORE"))

    # -- RFC 3501 6.4.7 COPY, RFC 6851 MOVE, RFC 4315 COPYUID --------------------------

    def cmd_COPY(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Copy)
        move = cmd.name == "MOVE"
        folder = self._writable() if move else self.require_folder()
        indexes = self.message_indexes(args.set, cmd.uid)
        dest = self.mailbox_name(args.mailbox)
        uids = [self.uids[i] for i in indexes]
        if not uids:
            return ok(f"No messages to {cmd.name.lower()}.")
        d: Deferred[Any] = folder.copy(uids, dest, move)

        def copied(result: CopyResult) -> Result:
            code = None
            if result.dest_uids:
                code = (
                    f"COPYUID {result.uidvalidity} "
                    f"{wire.sequence_set(result.source_uids).decode()} "
                    f"{wire.sequence_set(result.dest_uids).decode()}"
                )
            if not move:
                return ok("Copy completed.", code)
            # RFC 6851 4.3: COPYUID untagged, before the EXPUNGEs
            if code:
                self.untagged(b"OK [" + code.encode() + b"] Moved UIDs.")
            return self.poll().addCallback(lambda _: ok("Move completed."))

        return d.addCallbacks(copied, lambda f: self.store_failed(f, cmd.name))

    cmd_MOVE = cmd_COPY


def _already(value: None) -> Deferred[bytes | None]:
    d: Deferred[bytes | None] = Deferred()
    d.callback(value)
    return d


# Cached header values for SEARCH: folder.remember(uid, "h:<name>", [...]).
_HEADER_KEY = "h:"


def _cached_headers(
    folder: ISelectedFolder, uid: int, names: frozenset[str]
) -> dict[str, list[str]] | None:
    """The cached values of every field in ``names``, or None if one is missing."""
    known: dict[str, list[str]] = {}
    for name in names:
        values = folder.cached(uid, _HEADER_KEY + name)
        if not isinstance(values, list):
            return None
        known[name] = values
    return known
