"""Delivery into a folder other than INBOX: the Junk folder (special use \\Junk)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.auth.realm import MailUser
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.store.account import Account, Selected
from gateway.store.folders import SPECIAL_USE, BadFolderName
from gateway.store.maildir import (
    JUNK_FOLDER,
    MaildirStore,
    deliver_blocking,
    ensure_folder,
    ensure_maildir,
    maildir_path,
)
from gateway.store.mailstore import MailStore
from gateway.store.quota import Quota, QuotaChecker
from tests.syncthreads import InlinePool, SyncPool, SyncReactor, result

ALICE = Address.parse("alice@example.test")
UNIQUE = "1700000000.M1Qabc123R0.mail.example.test"
MESSAGE = b"Subject: junk\r\n\r\nbuy now\r\n"
PREFIX = b"Return-Path: <s@x.test>\r\nDelivered-To: alice@example.test\r\n"


def subscriptions(root: Path) -> list[str]:
    lines = (root / "subscriptions").read_text().split("\n")
    assert lines[:2] == ["V\t2", ""]
    return [line for line in lines[2:] if line]


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def root(mail_dir: Path) -> Path:
    return maildir_path(mail_dir, ALICE)


@pytest.fixture
def mailstore() -> MailStore:
    return MailStore(SyncReactor(), SyncPool())  # type: ignore[arg-type]


def account_of(mailstore: MailStore, root: Path) -> Account:
    opened = mailstore.open_account(MailUser(ALICE, root))
    assert isinstance(opened, Account)
    return opened


def maildirs(
    mail_dir: Path,
    mailstore: MailStore | None = None,
    quota: QuotaChecker | None = None,
    delivered: Callable[[Path], None] | None = None,
) -> MaildirStore:
    if delivered is None and mailstore is not None:
        delivered = mailstore.delivered
    return MaildirStore(
        mail_dir,
        SyncReactor(),  # type: ignore[arg-type]
        InlinePool(),  # type: ignore[arg-type]
        quota=quota,
        delivered=delivered,
    )


def files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# --- ensure_folder -------------------------------------------------------------


def test_junk_folder_is_the_special_use_one() -> None:
    assert JUNK_FOLDER == "Junk"
    assert SPECIAL_USE[JUNK_FOLDER] == "\\Junk"


def test_ensure_folder_inbox_is_the_root(root: Path) -> None:
    ensure_maildir(root)
    assert ensure_folder(root, "INBOX") == root
    assert ensure_folder(root, "inbox") == root


def test_ensure_folder_leaves_an_existing_folder_alone(root: Path) -> None:
    ensure_maildir(root)
    # the user unsubscribed Junk: a delivery must not subscribe it again
    (root / "subscriptions").write_text("V\t2\n\nSent\n")
    (root / ".Junk" / "new" / "kept").write_bytes(b"x")
    assert ensure_folder(root, JUNK_FOLDER) == root / ".Junk"
    assert subscriptions(root) == ["Sent"]
    assert files(root / ".Junk" / "new") == ["kept"]


def test_ensure_folder_creates_a_missing_folder_like_imap_create(
    root: Path, mailstore: MailStore
) -> None:
    ensure_maildir(root)
    account = account_of(mailstore, root)
    result(account.delete(JUNK_FOLDER))  # also unsubscribes it
    assert not (root / ".Junk").exists()
    assert "Junk" not in subscriptions(root)

    directory = ensure_folder(root, JUNK_FOLDER)

    assert directory == root / ".Junk"
    assert files(directory) == ["cur", "maildirfolder", "new", "tmp"]
    assert (directory / "maildirfolder").stat().st_size == 0
    assert (directory / "maildirfolder").stat().st_mode & 0o777 == 0o600
    assert (directory / "cur").stat().st_mode & 0o777 == 0o700
    assert subscriptions(root).count("Junk") == 1
    # the IMAP view lists it as before: \Junk, subscribed, selectable
    listed = {f.name: f for f in result(account.list_folders())}
    junk = listed[JUNK_FOLDER]
    assert junk.special_use == "\\Junk" and junk.subscribed and junk.selectable
    assert not junk.has_children
    # and a second call changes nothing
    ensure_folder(root, JUNK_FOLDER)
    assert subscriptions(root).count("Junk") == 1


def test_ensure_folder_where_only_tmp_is_missing(root: Path) -> None:
    ensure_maildir(root)
    os.rmdir(root / ".Junk" / "tmp")
    ensure_folder(root, JUNK_FOLDER)
    assert (root / ".Junk" / "tmp").is_dir()


def test_ensure_folder_nested_unicode_name_in_dovecots_encoding(
    root: Path, mailstore: MailStore
) -> None:
    ensure_maildir(root)
    directory = ensure_folder(root, "Spam.Entwürfe")
    assert directory == root / ".Spam.Entw&APw-rfe"
    assert subscriptions(root)[-1] == "Spam\tEntw&APw-rfe"
    listed = {f.name: f for f in result(account_of(mailstore, root).list_folders())}
    assert listed["Spam.Entwürfe"].subscribed
    assert not listed["Spam"].selectable and listed["Spam"].has_children


def test_ensure_folder_writes_a_missing_or_empty_subscriptions_file(root: Path) -> None:
    ensure_maildir(root)
    os.rmdir(root / ".Junk" / "tmp")
    os.rmdir(root / ".Junk" / "cur")
    (root / "subscriptions").write_bytes(b"")
    ensure_folder(root, JUNK_FOLDER)
    assert subscriptions(root) == ["Junk"]


def test_ensure_folder_refuses_bad_names(root: Path) -> None:
    ensure_maildir(root)
    for bad in ("a..b", "../x", "a/b", ".hidden"):
        with pytest.raises(BadFolderName):
            ensure_folder(root, bad)


# --- MaildirStore.deliver(folder=...) ------------------------------------------


def test_deliver_into_junk_of_a_new_user(mail_dir: Path, root: Path) -> None:
    store = maildirs(mail_dir)
    path = Path(result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER)))
    assert path.parent == root / ".Junk" / "new"
    assert path.name.startswith(UNIQUE + ",S=")
    assert path.read_bytes() == (PREFIX + MESSAGE).replace(b"\r\n", b"\n")
    assert files(root / "new") == []  # nothing in INBOX
    assert files(root / ".Junk" / "tmp") == []


def test_deliver_into_a_deleted_junk_folder_creates_it(
    mail_dir: Path, root: Path, mailstore: MailStore
) -> None:
    ensure_maildir(root)
    account = account_of(mailstore, root)
    result(account.delete(JUNK_FOLDER))
    path = Path(result(maildirs(mail_dir).deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder="Junk")))
    assert path.parent == root / ".Junk" / "new"
    selected: Selected = result(account.select(JUNK_FOLDER, False))
    assert [m.uid for m in selected.messages] == [1]
    assert "Junk" in subscriptions(root)


def test_second_delivery_into_junk_writes_nothing(mail_dir: Path, root: Path) -> None:
    store = maildirs(mail_dir)
    first = result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER))
    again = result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER))
    assert again == first
    assert len(files(root / ".Junk" / "new")) == 1


def test_recovered_delivery_finds_the_message_a_reader_moved_to_cur(
    mail_dir: Path, root: Path, mailstore: MailStore
) -> None:
    store = maildirs(mail_dir, mailstore)
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER))
    selected: Selected = result(account_of(mailstore, root).select(JUNK_FOLDER, False))
    result(selected.store([1], "+", frozenset({"\\Seen"}), None))
    (moved,) = files(root / ".Junk" / "cur")
    assert moved.startswith(UNIQUE) and moved.endswith(":2,S")

    again = result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, True, folder=JUNK_FOLDER))

    assert again == str(root / ".Junk" / "cur" / moved)
    assert files(root / ".Junk" / "new") == []
    assert [m.uid for m in result(selected.changes()).added] == []


def test_the_same_unique_in_inbox_and_junk_are_separate(mail_dir: Path, root: Path) -> None:
    """Idempotency is per folder: the name in INBOX says nothing of Junk."""
    store = maildirs(mail_dir)
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE))
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, True, folder=JUNK_FOLDER))
    assert len(files(root / "new")) == len(files(root / ".Junk" / "new")) == 1


def test_quota_counts_and_limits_junk_like_inbox(mail_dir: Path, root: Path) -> None:
    quota = QuotaChecker(lambda user: Quota(messages=2))
    store = maildirs(mail_dir, quota=quota)
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER))
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE + "x"))
    with pytest.raises(GatewayError) as full:
        result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE + "y", folder=JUNK_FOLDER))
    assert (full.value.code, full.value.status) == (452, "4.2.2")
    # a redelivery of what is there is no new mail: not refused
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER))

    small = QuotaChecker(lambda user: Quota(storage=20))
    with pytest.raises(GatewayError):
        result(
            maildirs(mail_dir, quota=small).deliver(
                Address.parse("bob@example.test"), MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER
            )
        )
    assert files(maildir_path(mail_dir, Address.parse("bob@example.test")) / ".Junk" / "new") == []


def test_delivered_is_told_the_junk_folder(mail_dir: Path, root: Path) -> None:
    told: list[Path] = []
    store = maildirs(mail_dir, delivered=told.append)
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder=JUNK_FOLDER))
    result(store.deliver(ALICE, MESSAGE, PREFIX, UNIQUE + "x"))
    assert told == [root / ".Junk", root]


def test_a_session_with_junk_selected_is_woken_and_sees_the_message(
    mail_dir: Path, root: Path, mailstore: MailStore
) -> None:
    ensure_maildir(root)
    account = account_of(mailstore, root)
    junk: Selected = result(account.select(JUNK_FOLDER, False))
    inbox: Selected = result(account.select("INBOX", False))
    woken: list[str] = []
    junk.watch(lambda: woken.append("junk"))
    inbox.watch(lambda: woken.append("inbox"))

    deliver_blocking(root, "1700000000.M0Qold.host", [MESSAGE])  # an INBOX message, unseen
    result(maildirs(mail_dir, mailstore).deliver(ALICE, MESSAGE, PREFIX, UNIQUE, folder="Junk"))

    assert woken == ["junk"]
    changes = result(junk.changes())
    assert [(m.uid, m.recent) for m in changes.added] == [(1, True)]
    body = result(junk.read(1))
    assert body == PREFIX + MESSAGE
    status = result(account.status(JUNK_FOLDER))
    assert (status.messages, status.unseen) == (1, 1)
