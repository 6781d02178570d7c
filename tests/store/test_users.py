"""The users passwd-file: parsing, reloading, and CLI rewrites."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface.verify import verifyObject

from gateway.envelope import Address
from gateway.fsutil import atomic_write
from gateway.interfaces import IUserDirectory
from gateway.store.users import (
    NoSuchUser,
    UserExists,
    UserFile,
    UserFileError,
    add_user,
    delete_user,
    list_users,
    parse_users,
    read_users,
    set_password,
)

ALICE = Address.parse("alice@example.test")
SAMPLE = """\
# local users
Alice@example.test:{PLAIN}one:1000:1000:Alice A:/home/alice:/bin/sh:userdb_quota_rule=*:storage=1G

bob@example.test:{PLAIN}two
"""


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_parse_keeps_fields_and_folds_case() -> None:
    users, errors = parse_users(SAMPLE, "users")
    assert errors == []
    assert sorted(users) == ["alice@example.test", "bob@example.test"]
    alice = users["alice@example.test"]
    assert str(alice.address) == "Alice@example.test"
    assert alice.password == "{PLAIN}one"
    assert alice.fields[:5] == ("1000", "1000", "Alice A", "/home/alice", "/bin/sh")
    assert alice.line == 2


def test_parse_errors_name_file_and_line() -> None:
    text = "ok@example.test:{PLAIN}x\nno-colon-here\nnot an address:{PLAIN}x\nOK@example.test:y\n"
    users, errors = parse_users(text, "/etc/users")
    assert list(users) == ["ok@example.test"]
    assert len(errors) == 3
    assert errors[0].startswith("/etc/users:2: ")
    assert errors[1].startswith("/etc/users:3: bad user address")
    assert errors[2].startswith("/etc/users:4: duplicate user") and "line 1" in errors[2]


def test_parse_non_utf8_line_is_an_error() -> None:
    text = b"a@example.test:{PLAIN}\xff\nb@example.test:x\n".decode("utf-8", "surrogateescape")
    users, errors = parse_users(text, "u")
    assert list(users) == ["b@example.test"]
    assert errors == ["u:1: line is not valid UTF-8"]


@settings(max_examples=200)
@given(st.text())
def test_parse_never_raises(text: str) -> None:
    _, errors = parse_users(text, "u")
    assert all(e.startswith("u:") for e in errors)


def test_user_file_lookups(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(SAMPLE)
    users = UserFile(path)
    assert verifyObject(IUserDirectory, users)
    assert users.exists(Address.parse("ALICE@Example.Test"))
    assert users.canonical(ALICE) == Address("Alice", "example.test")
    assert users.password_hash("alice@example.test") == "{PLAIN}one"
    assert users.password_hash("nobody@example.test") is None
    assert users.password_hash("not an address") is None
    assert not users.exists(Address.parse("carol@example.test"))


def test_missing_file_means_no_users(tmp_path: Path) -> None:
    users = UserFile(tmp_path / "nope")
    assert not users.exists(ALICE)
    assert list(users) == []


def test_bad_line_is_skipped_and_logged(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("garbage\nalice@example.test:{PLAIN}x\n")
    users = UserFile(path)
    assert users.exists(ALICE)
    assert users.errors == [f"{path}:1: need at least user:password"]


def test_reload_after_external_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "users"
    clock = Clock()
    path.write_text("alice@example.test:{PLAIN}x\n")
    users = UserFile(path, now=clock, interval=1.0)
    assert users.exists(ALICE)
    atomic_write(path, b"bob@example.test:{PLAIN}y\n")
    clock.t += 0.5
    assert users.exists(ALICE)  # not checked again within the second
    clock.t += 0.5
    assert not users.exists(ALICE)
    assert users.exists(Address.parse("bob@example.test"))
    path.unlink()
    clock.t += 1
    assert not users.exists(Address.parse("bob@example.test"))


def test_reload_sees_same_size_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "users"
    clock = Clock()
    path.write_text("alice@example.test:{PLAIN}x\n")
    users = UserFile(path, now=clock, interval=1.0)
    assert users.password_hash("alice@example.test") == "{PLAIN}x"
    with open(path, "r+") as f:  # in place: same inode, same size
        f.write("alice@example.test:{PLAIN}z\n")
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000))
    clock.t += 1
    assert users.password_hash("alice@example.test") == "{PLAIN}z"


def test_explicit_reload(tmp_path: Path) -> None:
    path = tmp_path / "users"
    clock = Clock()
    path.write_text("alice@example.test:{PLAIN}x\n")
    users = UserFile(path, now=clock, interval=1.0)
    assert users.exists(ALICE)
    path.write_text("")
    assert users.exists(ALICE)  # a hit is trusted for up to a second
    users.reload()
    assert not users.exists(ALICE)


def test_refresh_checks_the_file_now(tmp_path: Path) -> None:
    path = tmp_path / "users"
    clock = Clock()
    users = UserFile(path, now=clock, interval=1.0)
    assert not users.exists(ALICE)
    path.write_text("alice@example.test:{PLAIN}x\n")
    assert not users.exists(ALICE)  # within the interval, the view is kept
    users.refresh()
    assert users.exists(ALICE)


def test_unreadable_file_keeps_previous_users(tmp_path: Path) -> None:
    path = tmp_path / "users"
    clock = Clock()
    path.write_text("alice@example.test:{PLAIN}x\n")
    users = UserFile(path, now=clock, interval=1.0)
    assert users.exists(ALICE)
    path.unlink()
    path.mkdir()  # reading fails with IsADirectoryError
    clock.t += 1
    assert users.exists(ALICE)


def test_add_user(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "users"
    add_user(path, ALICE, "{PLAIN}x")
    assert path.read_text() == "alice@example.test:{PLAIN}x\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(UserExists, match="already exists"):
        add_user(path, Address.parse("ALICE@example.test"), "{PLAIN}y")
    add_user(path, Address.parse("bob@example.test"), "{PLAIN}y")
    assert [str(e.address) for e in list_users(path)] == ["alice@example.test", "bob@example.test"]


def test_add_appends_after_unterminated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# no newline at end")
    add_user(path, ALICE, "{PLAIN}x")
    assert path.read_text() == "# no newline at end\nalice@example.test:{PLAIN}x\n"


def test_set_password_keeps_other_fields_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_bytes(SAMPLE.encode() + b"bad line \xff\n")
    set_password(path, ALICE, "{PLAIN}new")
    lines = path.read_bytes().splitlines()
    expected = SAMPLE.encode().splitlines()
    expected[1] = expected[1].replace(b"{PLAIN}one", b"{PLAIN}new")
    assert lines == [*expected, b"bad line \xff"]
    with pytest.raises(NoSuchUser):
        set_password(path, Address.parse("carol@example.test"), "{PLAIN}x")


def test_delete_user(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(SAMPLE)
    delete_user(path, ALICE)
    assert path.read_text() == "# local users\n\nbob@example.test:{PLAIN}two\n"
    with pytest.raises(NoSuchUser, match="no such user"):
        delete_user(path, ALICE)


def test_unstorable_values_refused(tmp_path: Path) -> None:
    path = tmp_path / "users"
    with pytest.raises(UserFileError, match="':'"):
        add_user(path, ALICE, "{PLAIN}a:b")
    with pytest.raises(UserFileError):
        add_user(path, Address.parse('"a:b"@example.test'), "{PLAIN}x")
    assert not path.exists()


def test_read_users_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("junk\nalice@example.test:x\n")
    users, errors = read_users(path)
    assert [str(u.address) for u in users] == ["alice@example.test"]
    assert errors == [f"{path}:1: need at least user:password"]


def test_daemon_sees_cli_change(tmp_path: Path) -> None:
    path = tmp_path / "users"
    clock = Clock()
    users = UserFile(path, now=clock, interval=1.0)
    assert not users.exists(ALICE)
    add_user(path, ALICE, "{PLAIN}x")
    clock.t += 1
    assert users.exists(ALICE)
    set_password(path, ALICE, "{PLAIN}y")
    clock.t += 1
    assert users.password_hash(str(ALICE)) == "{PLAIN}y"
