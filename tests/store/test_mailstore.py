"""POP3 maildrops over real Maildirs: locking, snapshot, UPDATE state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from zope.interface.verify import verifyObject

from gateway.auth.realm import MailUser
from gateway.envelope import Address
from gateway.interfaces import IMaildrop, IMaildropOpener, MaildropInUse
from gateway.store.maildir import deliver_blocking, ensure_maildir
from gateway.store.mailstore import MailStore, pop3_uidl
from tests.syncthreads import SyncPool, SyncReactor, result


@pytest.fixture
def store() -> MailStore:
    return MailStore(SyncReactor(), SyncPool())  # type: ignore[arg-type]


def user_with(tmp_path: Path, *bodies: bytes) -> MailUser:
    root = tmp_path / "example.test" / "alice"
    ensure_maildir(root)
    for n, body in enumerate(bodies):
        deliver_blocking(root, f"17000000{n:02}.M0Q{n}R0.host", [body])
    return MailUser(Address.parse("alice@example.test"), root)


def test_implements_the_interfaces(store: MailStore, tmp_path: Path) -> None:
    verifyObject(IMaildropOpener, store)
    drop = result(store.open_maildrop(user_with(tmp_path, b"a\r\n")))
    verifyObject(IMaildrop, drop)


def test_snapshot_sizes_are_crlf_octets_and_uidls_dovecot_style(
    store: MailStore, tmp_path: Path
) -> None:
    user = user_with(tmp_path, b"Subject: one\r\n\r\nbody\r\n", b"x\r\n")
    drop = result(store.open_maildrop(user))
    uidvalidity = store.folder(user.maildir).header.uidvalidity
    assert [(m.uidl, m.size) for m in drop.messages] == [
        (pop3_uidl(1, uidvalidity), 22),
        (pop3_uidl(2, uidvalidity), 3),
    ]
    assert pop3_uidl(1, 0x65A0B1C2) == "0000000165a0b1c2"
    assert result(drop.retrieve(0)) == b"Subject: one\r\n\r\nbody\r\n"
    assert os.listdir(user.maildir / "new") == []  # seen: moved to cur/


def test_second_pop3_session_gets_in_use_until_released(store: MailStore, tmp_path: Path) -> None:
    user = user_with(tmp_path, b"a\r\n")
    first = result(store.open_maildrop(user))
    with pytest.raises(MaildropInUse):
        result(store.open_maildrop(user))
    other = MailUser(Address.parse("bob@example.test"), tmp_path / "example.test" / "bob")
    result(store.open_maildrop(other)).release()  # another mailbox is not blocked
    first.release()
    first.release()  # idempotent
    result(store.open_maildrop(user)).release()


def test_commit_deletes_and_marks_seen_then_unlocks(store: MailStore, tmp_path: Path) -> None:
    user = user_with(tmp_path, b"one\r\n", b"two\r\n", b"three\r\n")
    drop = result(store.open_maildrop(user))
    uidls = [m.uidl for m in drop.messages]
    result(drop.commit(frozenset({0, 2}), frozenset({0, 1})))
    names = os.listdir(user.maildir / "cur")
    assert len(names) == 1 and names[0].endswith(":2,S")
    again = result(store.open_maildrop(user))  # lock released by commit
    assert [m.uidl for m in again.messages] == [uidls[1]]  # UIDL stable
    assert result(again.retrieve(0)) == b"two\r\n"


def test_mail_delivered_during_a_session_waits_for_the_next(
    store: MailStore, tmp_path: Path
) -> None:
    user = user_with(tmp_path, b"one\r\n")
    drop = result(store.open_maildrop(user))
    deliver_blocking(user.maildir, "1800000000.M0Qlate.host", [b"late\r\n"])
    assert len(drop.messages) == 1
    result(drop.commit(frozenset({0}), frozenset()))
    again = result(store.open_maildrop(user))
    assert [result(again.retrieve(i)) for i in range(len(again.messages))] == [b"late\r\n"]


def test_a_failed_open_releases_the_lock(store: MailStore, tmp_path: Path) -> None:
    blocker = tmp_path / "example.test"
    blocker.write_bytes(b"not a directory")
    user = MailUser(Address.parse("alice@example.test"), blocker / "alice")
    with pytest.raises(OSError):
        result(store.open_maildrop(user))
    with pytest.raises(OSError):  # not MaildropInUse
        result(store.open_maildrop(user))


def test_deletions_are_reported_for_the_quota(tmp_path: Path) -> None:
    told: list[Path] = []
    store = MailStore(SyncReactor(), SyncPool(), removed=told.append)  # type: ignore[arg-type]
    user = user_with(tmp_path, b"one\r\n", b"two\r\n")
    result(result(store.open_maildrop(user)).commit(frozenset(), frozenset({0})))
    assert told == []
    result(result(store.open_maildrop(user)).commit(frozenset({1}), frozenset()))
    assert told == [user.maildir]
