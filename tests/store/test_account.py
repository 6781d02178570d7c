"""The IMAP side of the store over real Maildirs (synchronous thread pool)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from zope.interface.verify import verifyObject

from gateway.auth.realm import MailUser
from gateway.envelope import Address
from gateway.interfaces import IMailAccount, IMailAccountOpener, ISelectedFolder
from gateway.store.account import Account, Selected
from gateway.store.imapview import FolderError
from gateway.store.maildir import deliver_blocking, ensure_maildir
from gateway.store.mailstore import MailStore
from gateway.store.quota import Quota, QuotaChecker
from tests.syncthreads import SyncPool, SyncReactor, result


def refused(d: Deferred[Any]) -> FolderError:
    with pytest.raises(FolderError) as e:
        result(d)
    return e.value


class Store(MailStore):
    def __init__(self, quota: QuotaChecker | None = None) -> None:
        super().__init__(SyncReactor(), SyncPool(), quota=quota)  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "example.test" / "alice"
    ensure_maildir(path)
    return path


@pytest.fixture
def account(root: Path) -> Account:
    store = Store()
    opened = store.open_account(MailUser(Address.parse("alice@example.test"), root))
    assert isinstance(opened, Account)
    return opened


def deliver(root: Path, n: int, body: bytes = b"Subject: s\r\n\r\nbody\r\n") -> None:
    deliver_blocking(root, f"{1_700_000_000 + n}.M0Q{n}R0.host", [body])


def test_interfaces(account: Account) -> None:
    verifyObject(IMailAccountOpener, account.store)
    verifyObject(IMailAccount, account)
    verifyObject(ISelectedFolder, result(account.select("INBOX", False)))


def test_default_folders_listed_with_special_use(account: Account) -> None:
    folders = {f.name: f for f in result(account.list_folders())}
    assert next(iter(folders)) == "INBOX"
    assert {n: f.special_use for n, f in folders.items()} == {
        "INBOX": None,
        "Drafts": "\\Drafts",
        "Junk": "\\Junk",
        "Sent": "\\Sent",
        "Trash": "\\Trash",
    }
    assert folders["Sent"].subscribed and not folders["INBOX"].subscribed


def test_create_nested_folder_parent_is_noselect_like_dovecot(
    account: Account, root: Path
) -> None:
    result(account.create("Lists.Twisted"))
    result(account.create("Entwürfe"))
    folders = {f.name: f for f in result(account.list_folders())}
    assert folders["Lists"].selectable is False and folders["Lists"].has_children
    assert folders["Lists.Twisted"].selectable and not folders["Lists.Twisted"].has_children
    assert (root / ".Lists.Twisted" / "cur").is_dir()
    assert (root / ".Entw&APw-rfe" / "maildirfolder").exists()
    assert refused(account.create("Lists.Twisted")).code == "ALREADYEXISTS"
    assert refused(account.create("inbox")).code == "ALREADYEXISTS"
    assert refused(account.create("a..b")).code == "CANNOT"


def test_subscriptions_in_dovecots_format(account: Account, root: Path) -> None:
    result(account.create("A.B"))
    result(account.subscribe("A.B", True))
    result(account.subscribe("Entwürfe", True))
    result(account.subscribe("Sent", False))
    text = (root / "subscriptions").read_text()
    assert text.startswith("V\t2\n\n")
    assert "A\tB\n" in text and "Entw&APw-rfe\n" in text and "Sent\n" not in text


def test_delete_refuses_inbox_and_parents_and_removes_folders(
    account: Account, root: Path
) -> None:
    result(account.create("A.B"))
    result(account.create("A"))
    assert refused(account.delete("INBOX")).code == "CANNOT"
    assert refused(account.delete("A")).code == "INUSE"
    result(account.delete("A.B"))
    result(account.delete("A"))
    assert not (root / ".A").exists() and not (root / ".A.B").exists()
    assert refused(account.delete("A")).code == "NONEXISTENT"
    assert not [n for n in os.listdir(root) if n.startswith("..")]


def test_rename_moves_children_and_keeps_uids(account: Account, root: Path) -> None:
    result(account.create("Old"))
    result(account.create("Old.Kid"))
    result(account.append("Old", b"Subject: x\r\n\r\ny\r\n", frozenset({"\\Seen"}), 1e9))
    before = result(account.status("Old"))
    result(account.rename("Old", "New"))
    names = {f.name for f in result(account.list_folders())}
    assert {"New", "New.Kid"} <= names and "Old" not in names
    after = result(account.status("New"))
    assert (after.messages, after.uidvalidity) == (1, before.uidvalidity)
    assert refused(account.rename("New", "Sent")).code == "ALREADYEXISTS"


def test_rename_inbox_moves_its_messages(account: Account, root: Path) -> None:
    deliver(root, 1)
    deliver(root, 2)
    result(account.rename("INBOX", "Archive"))
    assert result(account.status("INBOX")).messages == 0
    assert result(account.status("Archive")).messages == 2


def test_append_status_and_trycreate(account: Account) -> None:
    copied = result(account.append("Drafts", b"Subject: d\r\n\r\nx\r\n", frozenset(), None))
    status = result(account.status("Drafts"))
    assert copied.dest_uids == (1,) and copied.uidvalidity == status.uidvalidity
    assert (status.messages, status.unseen, status.uidnext) == (1, 1, 2)
    assert refused(account.append("Nope", b"x\r\n", frozenset(), None)).code == "TRYCREATE"


def test_append_over_quota_is_refused(root: Path) -> None:
    store = Store(QuotaChecker(lambda user: Quota(storage=10)))
    account = store.open_account(MailUser(Address.parse("alice@example.test"), root))
    error = refused(account.append("INBOX", b"x" * 100 + b"\r\n", frozenset(), None))
    assert error.code == "OVERQUOTA"


def test_select_gives_recent_to_one_session_only(account: Account, root: Path) -> None:
    deliver(root, 1)
    first = result(account.select("INBOX", False))
    second = result(account.select("INBOX", False))
    assert [m.recent for m in first.messages] == [True]
    assert [m.recent for m in second.messages] == [False]


def test_changes_report_expunge_add_and_flags_in_step(account: Account, root: Path) -> None:
    for n in range(3):
        deliver(root, n)
    mine: Selected = result(account.select("INBOX", False))
    other: Selected = result(account.select("INBOX", False))
    assert result(other.changes()).empty

    stored, refused_uids = result(mine.store([1], "+", frozenset({"\\Deleted"}), None))
    assert refused_uids == [] and "\\Deleted" in stored[0].flags
    assert result(mine.expunge(None)) == [1]
    deliver(root, 9)
    result(mine.store([2], "+", frozenset({"\\Flagged"}), None))

    changes = result(other.changes())
    assert changes.expunged == (1,)
    assert [m.uid for m in changes.added] == [4]
    assert [(m.uid, "\\Flagged" in m.flags) for m in changes.flags] == [(2, True)]
    assert [m.uid for m in other.messages] == [2, 3, 4]
    assert result(other.changes()).empty  # told once
    mine_changes = result(mine.changes())
    assert mine_changes.expunged == (1,) and not mine_changes.flags  # own STORE already applied


def test_store_unchangedsince_refuses_modified(account: Account, root: Path) -> None:
    deliver(root, 1)
    selected = result(account.select("INBOX", False))
    modseq = selected.messages[0].modseq
    result(selected.store([1], "+", frozenset({"\\Seen"}), None))
    changed, refused_uids = result(selected.store([1], "-", frozenset({"\\Seen"}), modseq))
    assert changed == [] and refused_uids == [1]


def test_examine_is_read_only(account: Account, root: Path) -> None:
    deliver(root, 1)
    examined = result(account.select("INBOX", True))
    assert refused(examined.store([1], "+", frozenset({"\\Seen"}), None)).code == "READ-ONLY"
    assert refused(examined.expunge(None)).code == "READ-ONLY"
    assert os.listdir(root / "new")  # EXAMINE does not move new/ to cur/


def test_copy_and_move_link_files_and_report_uids(account: Account, root: Path) -> None:
    for n in range(2):
        deliver(root, n, b"Subject: %d\r\n\r\nbody\r\n" % n)
    selected = result(account.select("INBOX", False))
    result(selected.store([2], "+", frozenset({"\\Flagged", "Work"}), None))
    copied = result(selected.copy([1, 2], "Trash", False))
    assert copied.source_uids == (1, 2) and copied.dest_uids == (1, 2)
    trash = result(account.select("Trash", False))
    assert [sorted(m.flags) for m in trash.messages] == [[], ["Work", "\\Flagged"]]
    assert result(trash.read(2)) == b"Subject: 1\r\n\r\nbody\r\n"
    moved = result(selected.copy([1], "Junk", True))
    assert moved.dest_uids == (1,)
    assert result(selected.changes()).expunged == (1,)
    assert refused(selected.copy([2], "Nowhere", False)).code == "TRYCREATE"


def test_cached_values_survive_a_restart(account: Account, root: Path) -> None:
    deliver(root, 1)
    selected = result(account.select("INBOX", False))
    selected.remember(1, "envelope", "(NIL)")
    assert selected.cached(1, "envelope") == "(NIL)"
    account.store.close()  # writes the cache into the index
    again = Store().open_account(MailUser(Address.parse("alice@example.test"), root))
    reopened = result(again.select("INBOX", False))
    assert reopened.cached(1, "envelope") == "(NIL)"
    assert reopened.cached(1, "other") is None


def test_watchers_hear_other_sessions_and_deliveries(account: Account, root: Path) -> None:
    deliver(root, 1)
    watching = result(account.select("INBOX", False))
    other = result(account.select("INBOX", False))
    woken: list[int] = []
    watching.watch(lambda: woken.append(1))
    result(other.store([1], "+", frozenset({"\\Seen"}), None))
    assert woken
    woken.clear()
    account.store.delivered(root)
    assert woken
    watching.close()
    woken.clear()
    result(other.store([1], "-", frozenset({"\\Seen"}), None))
    assert woken == []


def test_poll_wakes_watchers_for_mail_other_programs_drop(account: Account, root: Path) -> None:
    watching = result(account.select("INBOX", False))
    woken: list[int] = []
    watching.watch(lambda: woken.append(1))
    # dropped before the first poll: still noticed (the baseline is what the
    # index last matched, not what the first poll sees)
    (root / "new" / "1800000000.M1P1.other-mda").write_bytes(b"Subject: x\n\ny\n")
    os.utime(root / "new", ns=(0, 1_900_000_000_000_000_000))  # a distinct mtime
    account.store.poll_watched()
    assert woken
    changes = result(watching.changes())
    assert [m.uid for m in changes.added] == [1]
    account.store.poll_watched()  # may wake once for our own move to cur/
    woken.clear()
    account.store.poll_watched()
    assert woken == []  # nothing new since


def test_status_counts_messages_recent_in_an_open_session(account: Account, root: Path) -> None:
    deliver(root, 1)
    assert result(account.status("INBOX")).recent == 1  # nobody has seen it
    selected = result(account.select("INBOX", False))
    assert result(account.status("INBOX")).recent == 1  # \Recent in that session
    selected.close()
    assert result(account.status("INBOX")).recent == 0
