"""The local delivery agent with suspect mail: Junk folder, or INBOX with a tag."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.auth.realm import MailUser
from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.bus.local import (
    JUNK_HEADER,
    LocalDeliveryAgent,
    junk_header,
    tag_subject,
)
from gateway.envelope import Address, Envelope, Recipient
from gateway.message import get_header, header_fields
from gateway.store.account import Account, Selected
from gateway.store.maildir import JUNK_FOLDER, MaildirStore, maildir_path
from gateway.store.mailstore import MailStore
from gateway.store.quota import Quota, QuotaChecker
from gateway.store.users import JunkMode, UserFile
from tests.syncthreads import InlinePool, SyncPool, SyncReactor, result

ALICE = Address.parse("alice@example.test")
BOB = Address.parse("bob@example.test")
SENDER = Address.parse("spammer@bad.test")
HOST = "mail.example.test"
MESSAGE = b"From: spammer@bad.test\r\nSubject: Cheap pills\r\n\r\nbuy now\r\n"
REASON = "DMARC fail (p=quarantine) for bad.test"


def job(
    content: bytes = MESSAGE,
    junk: str | None = REASON,
    *rcpts: Address,
    recovered: bool = False,
) -> DeliveryJob:
    rcpts = rcpts or (ALICE,)
    envelope = Envelope(SENDER, tuple(Recipient(a) for a in rcpts), junk=junk)
    targets = tuple(Target(i, a) for i, a in enumerate(rcpts))
    return DeliveryJob("Q1A2B3", envelope, 1_700_000_000.25, content, targets, recovered)


class Setup:
    def __init__(
        self,
        tmp_path: Path,
        modes: dict[str, JunkMode] | None = None,
        quota: QuotaChecker | None = None,
        tag: str = "[Junk]",
    ) -> None:
        self.mail_dir = tmp_path / "mail"
        self.mailstore = MailStore(SyncReactor(), SyncPool())  # type: ignore[arg-type]
        self.maildirs = MaildirStore(
            self.mail_dir,
            SyncReactor(),  # type: ignore[arg-type]
            InlinePool(),  # type: ignore[arg-type]
            quota=quota,
            delivered=self.mailstore.delivered,
        )
        table = modes or {}
        mode = None if modes is None else (lambda a: table.get(a.key(), "folder"))
        self.agent = LocalDeliveryAgent(self.maildirs, HOST, junk_tag=tag, junk_mode=mode)

    def root(self, user: Address = ALICE) -> Path:
        return maildir_path(self.mail_dir, user)

    def deliver(self, j: DeliveryJob) -> list[Outcome]:
        outcomes: list[Outcome] = result(self.agent.deliver(j))
        return outcomes

    def only(self, directory: Path) -> bytes:
        (name,) = os.listdir(directory)
        return (directory / name).read_bytes()

    def account(self, user: Address = ALICE) -> Account:
        opened = self.mailstore.open_account(MailUser(user, self.root(user)))
        assert isinstance(opened, Account)
        return opened


def names(content: bytes) -> list[str]:
    return [name for name, _ in header_fields(content)]


# --- the Junk folder -----------------------------------------------------------------


def test_junk_goes_to_the_junk_folder_with_the_reason(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    (outcome,) = s.deliver(job())
    root = s.root()
    assert outcome.result is Result.DELIVERED
    assert (outcome.code, outcome.status) == (250, "2.0.0")
    assert outcome.text == "Delivered to mailbox (Junk)"
    assert outcome.detail is not None
    assert Path(outcome.detail).parent == root / ".Junk" / "new"
    assert os.listdir(root / "new") == []
    stored = s.only(root / ".Junk" / "new")
    assert stored == (
        b"Return-Path: <spammer@bad.test>\n"
        b"Delivered-To: alice@example.test\n"
        b"X-Mailgateway-Junk: DMARC fail (p=quarantine) for bad.test\n"
        b"From: spammer@bad.test\nSubject: Cheap pills\n\nbuy now\n"
    )


def test_clean_mail_is_unchanged_and_goes_to_inbox(tmp_path: Path) -> None:
    s = Setup(tmp_path, {"alice@example.test": "inbox"})
    (outcome,) = s.deliver(job(junk=None))
    assert outcome.text == "Delivered to mailbox"
    stored = s.only(s.root() / "new")
    assert JUNK_HEADER.encode() not in stored
    assert b"Subject: Cheap pills\n" in stored
    assert os.listdir(s.root() / ".Junk" / "new") == []


def test_an_empty_reason_is_still_junk(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    (outcome,) = s.deliver(job(junk=""))
    assert outcome.text == "Delivered to mailbox (Junk)"
    assert get_header(s.only(s.root() / ".Junk" / "new"), JUNK_HEADER) == ""


def test_a_long_reason_is_folded_and_cannot_inject_fields(tmp_path: Path) -> None:
    reason = (
        "listed on zen.spamhaus.org (127.0.0.2: https://www.spamhaus.org/query/ip/192.0.2.1) "
        "and on bl.example.test (127.0.0.4: see https://bl.example.test/lookup?ip=192.0.2.1)"
        "\r\nX-Injected: yes"
    )
    s = Setup(tmp_path)
    s.deliver(job(junk=reason))
    stored = s.only(s.root() / ".Junk" / "new")
    header = stored.split(b"\n\n")[0]
    assert all(len(line) <= 78 for line in header.split(b"\n"))
    assert names(stored)[:4] == ["Return-Path", "Delivered-To", JUNK_HEADER, "From"]
    assert "X-Injected" not in names(stored)
    value = get_header(stored, JUNK_HEADER)
    assert value == " ".join(reason.replace("\r\n", " ").split())


def test_the_junk_folder_is_created_when_the_user_deleted_it(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    s.deliver(job(junk=None))  # makes the Maildir
    account = s.account()
    result(account.delete(JUNK_FOLDER))
    (outcome,) = s.deliver(job())
    assert outcome.result is Result.DELIVERED
    listed = {f.name: f for f in result(account.list_folders())}
    assert listed[JUNK_FOLDER].special_use == "\\Junk"
    assert listed[JUNK_FOLDER].subscribed
    selected: Selected = result(account.select(JUNK_FOLDER, False))
    assert len(selected.messages) == 1


def test_redelivery_writes_nothing_twice(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    (first,) = s.deliver(job())
    (again,) = s.deliver(job())
    assert again.detail == first.detail
    # a reader moved it to cur/ and flagged it; the message is recovered after a crash
    selected: Selected = result(s.account().select(JUNK_FOLDER, False))
    result(selected.store([1], "+", frozenset({"\\Seen"}), None))
    (recovered,) = s.deliver(job(recovered=True))
    assert recovered.result is Result.DELIVERED
    assert recovered.detail is not None and "/.Junk/cur/" in recovered.detail
    assert os.listdir(s.root() / ".Junk" / "new") == []
    assert len(os.listdir(s.root() / ".Junk" / "cur")) == 1


def test_each_recipient_gets_its_own_copy_and_mode(tmp_path: Path) -> None:
    s = Setup(tmp_path, {"bob@example.test": "inbox"})
    alice, bob = s.deliver(job(MESSAGE, REASON, ALICE, BOB))
    assert alice.text == "Delivered to mailbox (Junk)"
    assert bob.text == "Delivered to mailbox (INBOX, Subject tagged as junk)"
    assert b"Delivered-To: alice@example.test" in s.only(s.root(ALICE) / ".Junk" / "new")
    stored = s.only(s.root(BOB) / "new")
    assert b"Delivered-To: bob@example.test" in stored
    assert get_header(stored, "Subject") == "[Junk] Cheap pills"
    assert os.listdir(s.root(BOB) / ".Junk" / "new") == []


def test_quota_refusal_defers(tmp_path: Path) -> None:
    s = Setup(tmp_path, quota=QuotaChecker(lambda user: Quota(storage=50)))
    (outcome,) = s.deliver(job())
    assert outcome.result is Result.DEFERRED
    assert (outcome.code, outcome.status) == (452, "4.2.2")


def test_an_imap_session_with_junk_selected_sees_it(tmp_path: Path) -> None:
    s = Setup(tmp_path)
    s.deliver(job(junk=None))
    selected: Selected = result(s.account().select(JUNK_FOLDER, False))
    woken: list[bool] = []
    selected.watch(lambda: woken.append(True))
    s.deliver(job(b"Subject: second\r\n\r\nx\r\n"))
    assert woken
    changes = result(selected.changes())
    assert len(changes.added) == 1
    assert b"X-Mailgateway-Junk: " in result(selected.read(changes.added[0].uid))


def test_users_file_mode(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(
        "alice@example.test:{PLAIN}x::::::userdb_mailgateway_junk=inbox\nbob@example.test:{PLAIN}y\n"
    )
    s = Setup(tmp_path)
    s.agent = LocalDeliveryAgent(s.maildirs, HOST, junk_mode=UserFile(users).junk_mode)
    alice, bob = s.deliver(job(MESSAGE, REASON, ALICE, BOB))
    assert "INBOX" in alice.text and "Junk" in bob.text
    assert get_header(s.only(s.root(ALICE) / "new"), "Subject") == "[Junk] Cheap pills"


def test_a_failing_mode_lookup_falls_back_to_the_folder(tmp_path: Path) -> None:
    def broken(user: Address) -> JunkMode:
        raise RuntimeError("boom")

    s = Setup(tmp_path)
    s.agent = LocalDeliveryAgent(s.maildirs, HOST, junk_mode=broken)
    (outcome,) = s.deliver(job())
    assert outcome.text == "Delivered to mailbox (Junk)"


# --- INBOX with a tagged Subject (POP3 users) ----------------------------------------


def test_inbox_mode_tags_the_subject_after_the_trace_fields(tmp_path: Path) -> None:
    s = Setup(tmp_path, {"alice@example.test": "inbox"}, tag="[SPAM]")
    (outcome,) = s.deliver(job())
    assert outcome.detail is not None and Path(outcome.detail).parent == s.root() / "new"
    assert s.only(s.root() / "new") == (
        b"Return-Path: <spammer@bad.test>\n"
        b"Delivered-To: alice@example.test\n"
        b"X-Mailgateway-Junk: DMARC fail (p=quarantine) for bad.test\n"
        b"From: spammer@bad.test\nSubject: [SPAM] Cheap pills\n\nbuy now\n"
    )


def test_inbox_mode_without_subject_adds_one(tmp_path: Path) -> None:
    s = Setup(tmp_path, {"alice@example.test": "inbox"})
    s.deliver(job(b"From: x@bad.test\r\n\r\nbody\r\n"))
    stored = s.only(s.root() / "new")
    assert names(stored) == ["Return-Path", "Delivered-To", JUNK_HEADER, "Subject", "From"]
    assert get_header(stored, "Subject") == "[Junk]"


def test_inbox_mode_redelivery_is_idempotent(tmp_path: Path) -> None:
    s = Setup(tmp_path, {"alice@example.test": "inbox"})
    (first,) = s.deliver(job())
    (again,) = s.deliver(job(recovered=True))
    assert again.detail == first.detail
    assert len(os.listdir(s.root() / "new")) == 1


# --- tag_subject edge cases ----------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"Subject: hello\r\n\r\nb", b"Subject: [Junk] hello\r\n\r\nb"),
        # LF-only messages, no space after the colon, odd case and white space
        (b"subject:hello\n\nb", b"subject: [Junk] hello\n\nb"),
        (b"SUBJECT :  two  spaces\r\n\r\nb", b"SUBJECT : [Junk]  two  spaces\r\n\r\nb"),
        # folded: the fold stays where it was
        (
            b"From: a\r\nSubject: first part\r\n\tsecond part\r\nTo: b\r\n\r\nx",
            b"From: a\r\nSubject: [Junk] first part\r\n\tsecond part\r\nTo: b\r\n\r\nx",
        ),
        (b"Subject:\r\n folded at once\r\n\r\nx", b"Subject: [Junk]\r\n folded at once\r\n\r\nx"),
        # encoded-words stay as they are, separated by a space (RFC 2047 5)
        (
            b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nx",
            b"Subject: [Junk] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nx",
        ),
        # 8-bit (RFC 6532) text is kept byte for byte
        ("Subject: Grüße\r\n\r\nx".encode(), "Subject: [Junk] Grüße\r\n\r\nx".encode()),
        # empty: just the tag
        (b"Subject:\r\n\r\nx", b"Subject: [Junk]\r\n\r\nx"),
        (b"Subject:   \r\n\r\nx", b"Subject: [Junk]\r\n\r\nx"),
        # only the first Subject, and only in the header
        (b"Subject: a\r\nSubject: b\r\n\r\nx", b"Subject: [Junk] a\r\nSubject: b\r\n\r\nx"),
        (
            b"X-Subject: a\r\nSubject: b\r\n\r\nSubject: c",
            b"X-Subject: a\r\nSubject: [Junk] b\r\n\r\nSubject: c",
        ),
        # the last field of a message without body
        (b"To: b\r\nSubject: end", b"To: b\r\nSubject: [Junk] end"),
    ],
)
def test_tag_subject(before: bytes, after: bytes) -> None:
    assert tag_subject(before, "[Junk]") == (b"", after)


@pytest.mark.parametrize(
    "subject",
    [
        b"Subject: [Junk] already",
        b"Subject: [junk] lower case",
        b"Subject:[Junk]",
        b"Subject:\r\n [Junk] folded",
        b"Subject: =?utf-8?B?W0p1bmtdIGjDqWxsbw==?=",  # "[Junk] héllo"
        b"Subject: =?iso-8859-1?q?=5BJunk=5D_caf=E9?=",
    ],
)
def test_tag_subject_does_not_tag_twice(subject: bytes) -> None:
    message = b"From: a\r\n" + subject + b"\r\n\r\nbody\r\n"
    assert tag_subject(message, "[Junk]") == (b"", message)


def test_tag_subject_without_subject() -> None:
    message = b"From: a\r\nTo: b\r\n\r\nSubject: in the body\r\n"
    assert tag_subject(message, "[Junk]") == (b"Subject: [Junk]\r\n", message)
    assert tag_subject(b"\r\nbody only", "[Junk]") == (b"Subject: [Junk]\r\n", b"\r\nbody only")


def test_tag_subject_folds_rather_than_overlong_lines() -> None:
    long = b"Subject: " + b"word " * 13 + b"end\r\n\r\nx"  # 77 columns
    tagged = tag_subject(long, "[Junk]")[1]
    assert tagged.startswith(b"Subject: [Junk]\r\n word word")
    assert get_header(tagged, "Subject") == "[Junk] " + "word " * 13 + "end"
    # an encoded-word line stays within 76 columns (RFC 2047 2)
    word = b"=?UTF-8?B?" + b"QUJD" * 14 + b"?="  # 68 characters
    tagged = tag_subject(b"Subject: " + word + b"\n\nx", "[Junk]")[1]
    assert tagged == b"Subject: [Junk]\n " + word + b"\n\nx"
    # no space after the colon: one is added on the continuation line
    tagged = tag_subject(b"Subject:" + b"x" * 80 + b"\r\n\r\n", "[Junk]")[1]
    assert tagged == b"Subject: [Junk]\r\n " + b"x" * 80 + b"\r\n\r\n"


def test_tag_subject_with_an_empty_tag_changes_nothing() -> None:
    assert tag_subject(MESSAGE, "") == (b"", MESSAGE)
    assert tag_subject(b"From: a\r\n\r\n", " ") == (b"", b"From: a\r\n\r\n")


def test_tag_subject_with_an_undecodable_encoded_word() -> None:
    message = b"Subject: =?x-unknown?q?abc?=\r\n\r\n"
    assert tag_subject(message, "[Junk]")[1] == b"Subject: [Junk] =?x-unknown?q?abc?=\r\n\r\n"


def test_junk_header() -> None:
    assert junk_header("DNSBL\tlisted") == b"X-Mailgateway-Junk: DNSBL listed\r\n"
    assert junk_header("") == b"X-Mailgateway-Junk:\r\n"
