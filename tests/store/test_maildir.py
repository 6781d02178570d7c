"""Tests for gateway.store.maildir: Maildir++ layout and idempotent delivery."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import cast

import pytest
from twisted.internet import reactor
from twisted.internet.interfaces import IReactorFromThreads
from twisted.python.threadpool import ThreadPool
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from gateway import fsutil
from gateway.envelope import Address
from gateway.interfaces import ILocalStore
from gateway.store.maildir import (
    DEFAULT_FOLDERS,
    MaildirStore,
    deliver_blocking,
    ensure_maildir,
    maildir_path,
    unique_name,
)

UNIQUE = unique_name(1700000000.25, "Q1abc", 0, "mail.example.test")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "example.test" / "alice"
    ensure_maildir(path)
    return path


def test_maildir_path_lowercases_local_part(tmp_path: Path) -> None:
    path = maildir_path(tmp_path, Address.parse("Alice@Example.TEST"))
    assert path == tmp_path / "example.test" / "alice"


@pytest.mark.parametrize("local", ["a/b", ".hidden", "..", "a\0b"])
def test_maildir_path_refuses_escapes(tmp_path: Path, local: str) -> None:
    # Address.parse would refuse some of these; build the value directly.
    with pytest.raises(ValueError):
        maildir_path(tmp_path, Address(local, "example.test"))


def test_maildir_path_refuses_bad_domain(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        maildir_path(tmp_path, Address("bob", "../etc"))


def test_ensure_maildir_layout(root: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        assert (root / sub).is_dir()
    for folder in DEFAULT_FOLDERS:
        for sub in ("cur", "new", "tmp"):
            assert (root / f".{folder}" / sub).is_dir()
        marker = root / f".{folder}" / "maildirfolder"
        assert marker.is_file() and marker.stat().st_size == 0
    assert (root / "subscriptions").read_bytes() == b"V\t2\n\nSent\nDrafts\nJunk\nTrash\n"
    assert root.stat().st_mode & 0o777 == 0o700
    assert (root / "new").stat().st_mode & 0o777 == 0o700


def test_ensure_maildir_idempotent_keeps_subscriptions(root: Path) -> None:
    (root / "subscriptions").write_bytes(b"V\t2\n\nSent\nLists\n")
    ensure_maildir(root)
    assert (root / "subscriptions").read_bytes() == b"V\t2\n\nSent\nLists\n"


def test_unique_name_deterministic_and_escaped() -> None:
    assert unique_name(1700000000.25, "ABC", 3, "h") == "1700000000.M250000QABCR3.h"
    assert unique_name(1700000000.25, "ABC", 3, "h") == unique_name(1700000000.25, "ABC", 3, "h")
    assert unique_name(1.0, "X", 0, "a/b:c") == "1.M0QXR0.a\\057b\\072c"
    assert unique_name(1.9999999, "X", 0, "h") == "2.M0QXR0.h"


def test_delivery_lands_in_new_with_size(root: Path) -> None:
    path = deliver_blocking(root, UNIQUE, [b"Received: x\r\n", b"Subject: hi\r\n\r\nbody\r\n"])
    data = b"Received: x\nSubject: hi\n\nbody\n"  # stored with LF line ends
    assert path == root / "new" / f"{UNIQUE},S={len(data)},W={len(data) + 4}"
    assert path.read_bytes() == data
    assert os.listdir(root / "tmp") == []


def test_second_delivery_writes_nothing(root: Path) -> None:
    first = deliver_blocking(root, UNIQUE, [b"one\r\n"])
    mtime = first.stat().st_mtime_ns
    again = deliver_blocking(root, UNIQUE, [b"one\r\n"])
    assert again == first
    assert first.stat().st_mtime_ns == mtime
    assert os.listdir(root / "new") == [first.name]


def test_second_delivery_finds_message_moved_to_cur(root: Path) -> None:
    first = deliver_blocking(root, UNIQUE, [b"one\r\n"])
    moved = root / "cur" / f"{first.name}:2,S"
    first.rename(moved)
    again = deliver_blocking(root, UNIQUE, [b"one\r\n"], check_cur=True)
    assert again == moved
    assert os.listdir(root / "new") == []
    assert os.listdir(root / "tmp") == []


def test_without_check_cur_cur_is_not_scanned(root: Path) -> None:
    first = deliver_blocking(root, UNIQUE, [b"one\r\n"])
    first.rename(root / "cur" / f"{first.name}:2,S")
    deliver_blocking(root, UNIQUE, [b"one\r\n"])
    assert len(os.listdir(root / "new")) == 1


def test_check_cur_does_not_match_longer_names(root: Path) -> None:
    (root / "cur" / f"{UNIQUE}x,S=3:2,").write_bytes(b"abc")
    path = deliver_blocking(root, UNIQUE, [b"one\r\n"], check_cur=True)
    assert path.parent.name == "new"


def test_write_failure_leaves_nothing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        deliver_blocking(root, UNIQUE, [b"data\r\n"])
    assert os.listdir(root / "new") == []
    assert os.listdir(root / "tmp") == []


def test_directory_fsync_failure_takes_file_back(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(fsutil, "fsync_directory", broken)
    with pytest.raises(OSError):
        deliver_blocking(root, UNIQUE, [b"data\r\n"])
    assert os.listdir(root / "new") == []
    assert os.listdir(root / "tmp") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_maildir_leaves_nothing_in_new(root: Path) -> None:
    (root / "new").chmod(0o500)
    try:
        with pytest.raises(OSError):
            deliver_blocking(root, UNIQUE, [b"data\r\n"])
    finally:
        (root / "new").chmod(0o700)
    assert os.listdir(root / "new") == []
    assert os.listdir(root / "tmp") == []


def test_refuses_unsafe_unique(root: Path) -> None:
    for bad in ("", "a/b", ".x", "a:2,S"):
        with pytest.raises(ValueError):
            deliver_blocking(root, bad, [b"x"])


class MaildirStoreTests(TestCase):
    """MaildirStore through a real thread pool."""

    def setUp(self) -> None:
        self.pool = ThreadPool(minthreads=1, maxthreads=3, name="maildir-test")
        self.pool.start()
        self.addCleanup(self.pool.stop)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.mail_dir = Path(tmp.name) / "mail"
        self.store = MaildirStore(self.mail_dir, cast(IReactorFromThreads, reactor), self.pool)

    def test_provides_interface(self) -> None:
        assert verifyObject(ILocalStore, self.store)

    async def test_deliver_creates_maildir_and_writes(self) -> None:
        user = Address.parse("Bob@example.test")
        path = await self.store.deliver(user, b"Subject: x\r\n\r\nhi\r\n", b"X-P: 1\r\n", UNIQUE)
        root = self.mail_dir / "example.test" / "bob"
        assert Path(path).parent == root / "new"
        assert Path(path).read_bytes() == b"X-P: 1\nSubject: x\n\nhi\n"
        assert (root / ".Junk" / "maildirfolder").exists()
        again = await self.store.deliver(
            user, b"Subject: x\r\n\r\nhi\r\n", b"X-P: 1\r\n", UNIQUE, check_cur=True
        )
        assert again == path

    async def test_deliver_unsafe_address_fails(self) -> None:
        with pytest.raises(ValueError):
            await self.store.deliver(Address(".x", "example.test"), b"x", b"", UNIQUE)
