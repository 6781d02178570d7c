"""The mailbox commands of the authenticated state (RFC 3501 6.3):
SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
STATUS, APPEND, with NAMESPACE (RFC 2342), LIST-EXTENDED basics (RFC 5258),
SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348) and APPENDUID (RFC 4315)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from gateway.imap import wire
from gateway.imap.listing import SEPARATOR, matcher, parents
from gateway.imap.session import IMAPSession, No, Result, ok
from gateway.imap.syntax import Append, Command, ListArgs, MailboxArg, Rename, Select, Status
from gateway.interfaces import ISelectedFolder
from gateway.store.imapview import CopyResult, FolderInfo, FolderStatus

__all__ = ["MailboxCommands"]


class MailboxCommands(IMAPSession):
    # -- RFC 3501 6.3.1 SELECT, 6.3.2 EXAMINE -------------------------------------------

    def cmd_SELECT(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Select)
        account = self.require_account()
        # RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected
        if self.folder is not None:
            self.close_folder()
            # RFC 7162 3.2.11: what follows is about the new mailbox
            self.untagged(b"OK [CLOSED] Previous mailbox closed.")
        name = self.mailbox_name(args.mailbox)
        if args.condstore:
            self.condstore = True  # RFC 7162 3.1.8; SELECT reports HIGHESTMODSEQ itself
        d: Deferred[Any] = account.select(name, cmd.name == "EXAMINE")

        def opened(folder: ISelectedFolder) -> bytes | None:
            if self.closing:
                folder.close()
                return None
            self.open_folder(folder)
            self.select_responses(folder)
            code = "READ-ONLY" if folder.readonly else "READ-WRITE"
            return ok(f"{cmd.name.capitalize()} completed.", code)

        return d.addCallbacks(opened, lambda f: self.store_failed(f, cmd.name))

    def select_responses(self, folder: ISelectedFolder) -> None:
        """RFC 3501 6.3.1 untagged data, in Dovecot's order."""
        self.flags_response(folder)
        messages = folder.messages
        self.untagged(b"%d EXISTS" % len(messages))
        self.recent_count = sum(1 for m in messages if m.recent)
        self.untagged(b"%d RECENT" % self.recent_count)
        for seq, info in enumerate(messages, 1):
            if "\\Seen" not in info.flags:
                self.untagged(b"OK [UNSEEN %d] First unseen." % seq)
                break
        self.untagged(b"OK [UIDVALIDITY %d] UIDs valid." % folder.uidvalidity)
        self.untagged(b"OK [UIDNEXT %d] Predicted next UID." % folder.uidnext)
        if self.condstore:
            if folder.highest_modseq:
                self.untagged(b"OK [HIGHESTMODSEQ %d] Highest" % folder.highest_modseq)
            else:
                self.untagged(b"OK [NOMODSEQ] No permanent modsequences")  # RFC 7162 3.1.2

    cmd_EXAMINE = cmd_SELECT

    # -- RFC 3501 6.3.3 CREATE, 6.3.4 DELETE, 6.3.5 RENAME -------------------------------

    def cmd_CREATE(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, MailboxArg)
        account = self.require_account()
        name = self.mailbox_name(args.mailbox)
        # RFC 3501 6.3.3: a trailing separator only says children will follow
        if name.endswith(SEPARATOR):
            name = name.rstrip(SEPARATOR)
        self._check_name(name)
        if name == "INBOX":
            raise No("INBOX always exists", "ALREADYEXISTS")
        return self._done(account.create(name), "Create completed.", "CREATE")

    @staticmethod
    def _check_name(name: str) -> None:
        if not name or "" in name.split(SEPARATOR):
            raise No("Invalid mailbox name", "CANNOT")
        if "%" in name or "*" in name:
            raise No("Mailbox names cannot contain wildcards", "CANNOT")

    def cmd_DELETE(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, MailboxArg)
        account = self.require_account()
        name = self.mailbox_name(args.mailbox)
        if name == "INBOX":
            raise No("INBOX cannot be deleted", "CANNOT")
        if self.folder is not None and self.folder.name == name:
            self.close_folder()  # deleting the selected mailbox deselects it
        return self._done(account.delete(name), "Delete completed.", "DELETE")

    def cmd_RENAME(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Rename)
        account = self.require_account()
        old = self.mailbox_name(args.old)
        new = self.mailbox_name(args.new).rstrip(SEPARATOR)
        self._check_name(new)
        if new == "INBOX":
            raise No("INBOX already exists", "ALREADYEXISTS")
        return self._done(account.rename(old, new), "Rename completed.", "RENAME")

    # -- RFC 3501 6.3.6 SUBSCRIBE, 6.3.7 UNSUBSCRIBE ---------------------------------------

    def cmd_SUBSCRIBE(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, MailboxArg)
        account = self.require_account()
        name = self.mailbox_name(args.mailbox)
        subscribe = cmd.name == "SUBSCRIBE"
        return self._done(
            account.subscribe(name, subscribe), f"{cmd.name.capitalize()} completed.", cmd.name
        )

    cmd_UNSUBSCRIBE = cmd_SUBSCRIBE

    def _done(self, d: Deferred[Any], text: str, what: str) -> Deferred[bytes | None]:
        return d.addCallbacks(lambda _: ok(text), lambda f: self.store_failed(f, what))

    # -- RFC 3501 6.3.8 LIST, 6.3.9 LSUB, RFC 5258 ------------------------------------------

    def cmd_LIST(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, ListArgs)
        account = self.require_account()
        lsub = cmd.name == "LSUB"
        try:
            reference = wire.decode_mailbox(args.reference)
            patterns = [wire.decode_mailbox(p) for p in args.patterns]
        except wire.InvalidMailboxName:
            return ok(f"{cmd.name} completed.")  # nothing can match (Dovecot answers OK too)
        if not lsub and patterns == [""]:
            # RFC 3501 6.3.8: the hierarchy delimiter and the root of the reference
            root = reference.split(SEPARATOR)[0] + SEPARATOR if SEPARATOR in reference else ""
            self.untagged(b'LIST (\\Noselect) "." ' + wire.encode_mailbox(root))
            return ok("List completed.")
        d: Deferred[Any] = account.list_folders()

        def listed(folders: list[FolderInfo]) -> bytes:
            if lsub:
                self._lsub(folders, reference, patterns[0])
            else:
                self._list(folders, reference, patterns, args)
            return ok(f"{cmd.name.capitalize()} completed.")

        return d.addCallbacks(listed, lambda f: self.store_failed(f, cmd.name))

    cmd_LSUB = cmd_LIST

    def _list(
        self, folders: list[FolderInfo], reference: str, patterns: list[str], args: ListArgs
    ) -> None:
        regexes = [matcher(reference, p) for p in patterns]
        select, returns = args.select_options, args.return_options
        subscribed_only = "SUBSCRIBED" in select
        show_subscribed = subscribed_only or "SUBSCRIBED" in returns
        special_only = "SPECIAL-USE" in select
        recursive = "RECURSIVEMATCH" in select
        matched = [f for f in folders if any(r.fullmatch(f.name) for r in regexes)]
        childinfo: set[str] = set()
        if recursive and subscribed_only:
            # RFC 5258 3.5: a parent that matches, unsubscribed itself but
            # with subscribed children, is listed with CHILDINFO
            names = {f.name for f in matched}
            for f in folders:
                if f.subscribed:
                    childinfo.update(p for p in parents(f.name) if p in names)
        for f in matched:
            if subscribed_only and not f.subscribed and f.name not in childinfo:
                continue
            if special_only and f.special_use is None:
                continue
            attrs: list[str] = []
            if not f.selectable:
                attrs.append("\\Noselect")
            attrs.append("\\HasChildren" if f.has_children else "\\HasNoChildren")
            if show_subscribed and f.subscribed:
                attrs.append("\\Subscribed")
            if f.special_use:
                attrs.append(f.special_use)
            line = b"LIST " + wire.flag_list(attrs) + b' "." ' + wire.encode_mailbox(f.name)
            if f.name in childinfo:
                line += b' ("CHILDINFO" ("SUBSCRIBED"))'
            self.untagged(line)

    def _lsub(self, folders: list[FolderInfo], reference: str, pattern: str) -> None:
        regex = matcher(reference, pattern)
        subscribed = [f for f in folders if f.subscribed]
        names = {f.name for f in subscribed}
        shown: set[str] = set()
        for f in subscribed:
            if regex.fullmatch(f.name):
                shown.add(f.name)
                attrs = [] if f.selectable else ["\\Noselect"]
                self.untagged(
                    b"LSUB " + wire.flag_list(attrs) + b' "." ' + wire.encode_mailbox(f.name)
                )
            elif "%" in pattern:
                # RFC 3501 6.3.9: an unsubscribed parent matched by "%" is
                # listed \Noselect
                for parent in parents(f.name):
                    if parent not in names and parent not in shown and regex.fullmatch(parent):
                        shown.add(parent)
                        self.untagged(b'LSUB (\\Noselect) "." ' + wire.encode_mailbox(parent))

    # -- RFC 2342 NAMESPACE -----------------------------------------------------------------

    def cmd_NAMESPACE(self, cmd: Command) -> Result:
        self.untagged(b'NAMESPACE (("" ".")) NIL NIL')
        return ok("Namespace completed.")

    # -- RFC 3501 6.3.10 STATUS ---------------------------------------------------------

    def cmd_STATUS(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Status)
        account = self.require_account()
        name = self.mailbox_name(args.mailbox)
        if "HIGHESTMODSEQ" in args.items:
            self.enable_condstore()  # RFC 7162 3.1
        d: Deferred[Any] = account.status(name)

        def got(status: FolderStatus) -> bytes:
            values = {
                "MESSAGES": status.messages,
                "RECENT": status.recent,
                "UIDNEXT": status.uidnext,
                "UIDVALIDITY": status.uidvalidity,
                "UNSEEN": status.unseen,
                "HIGHESTMODSEQ": status.highest_modseq,
            }
            items = " ".join(f"{item} {values[item]}" for item in args.items)
            self.untagged(b"STATUS " + wire.encode_mailbox(name) + b" (" + items.encode() + b")")
            return ok("Status completed.")

        return d.addCallbacks(got, lambda f: self.store_failed(f, "STATUS"))

    # -- RFC 3501 6.3.11 APPEND, RFC 4315 APPENDUID ---------------------------------------

    def cmd_APPEND(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Append)
        account = self.require_account()
        name = self.mailbox_name(args.mailbox)
        if not args.message:
            raise No("Cannot append an empty message")
        d: Deferred[Any] = account.append(name, args.message, args.flags, args.date)

        def appended(result: CopyResult) -> Deferred[bytes | None] | bytes:
            code = None
            if result.dest_uids:
                code = f"APPENDUID {result.uidvalidity} {result.dest_uids[0]}"
            answer = ok("Append completed.", code)
            if self.folder is not None and self.folder.name == name:
                # RFC 3501 6.3.11: the client should learn of it now
                return self.poll().addCallback(lambda _: answer)
            return answer

        def failed(failure: Failure) -> bytes:
            return self.store_failed(failure, "APPEND")

        return d.addCallbacks(appended, failed)
