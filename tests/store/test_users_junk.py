"""The per-user junk option in the users file (``userdb_mailgateway_junk``)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher

from gateway.envelope import Address
from gateway.store.quota import Quota, parse_rules
from gateway.store.users import (
    DEFAULT_JUNK_MODE,
    JUNK_FIELD,
    NoSuchUser,
    UserFile,
    UserFileError,
    extra_fields,
    junk_mode,
    parse_users,
    read_lines,
    set_junk_mode,
    set_password,
)

ALICE = Address.parse("alice@example.test")
BOB = Address.parse("bob@example.test")


def fields_of(line: str) -> tuple[str, ...]:
    users, errors = parse_users(line, "users")
    assert errors == []
    (entry,) = users.values()
    return entry.fields


def test_the_field_is_a_dovecot_userdb_field() -> None:
    # "userdb_" sends it to Dovecot's userdb (not the passdb, which steers
    # authentication); "mailgateway_" keeps it clear of Dovecot's settings
    assert JUNK_FIELD == "userdb_mailgateway_junk"
    assert DEFAULT_JUNK_MODE == "folder"


@pytest.mark.parametrize(
    ("line", "mode"),
    [
        ("a@example.test:{PLAIN}x", None),
        ("a@example.test:{PLAIN}x::::::", None),
        ("a@example.test:{PLAIN}x::::::userdb_mailgateway_junk=inbox", "inbox"),
        ("a@example.test:{PLAIN}x::::::userdb_mailgateway_junk=FOLDER", "folder"),
        (
            "a@example.test:{PLAIN}x:1000:1000:A:/home/a:/bin/sh:"
            "userdb_quota_rule=*:storage=1G userdb_mailgateway_junk=inbox nopassword",
            "inbox",
        ),
        # the last one wins, as with Dovecot's extra fields
        (
            "a@example.test:{PLAIN}x::::::userdb_mailgateway_junk=inbox "
            "userdb_mailgateway_junk=folder",
            "folder",
        ),
        # other keys that merely look alike are not ours
        ("a@example.test:{PLAIN}x::::::mailgateway_junk=inbox userdb_junk=inbox", None),
    ],
)
def test_junk_mode_parse(line: str, mode: str | None) -> None:
    assert junk_mode(fields_of(line)) == mode


def test_junk_mode_bad_value() -> None:
    with pytest.raises(ValueError, match="userdb_mailgateway_junk=spam: must be folder or inbox"):
        junk_mode(fields_of("a@example.test:{PLAIN}x::::::userdb_mailgateway_junk=spam"))


def test_extra_fields_keep_colons_in_values() -> None:
    fields = fields_of("a@example.test:{PLAIN}x::::::userdb_quota_rule=*:storage=1G  b=c")
    assert extra_fields(fields) == ["userdb_quota_rule=*:storage=1G", "b=c"]
    assert extra_fields(fields_of("a@example.test:{PLAIN}x")) == []


def test_user_file_junk_mode(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(
        "Alice@example.test:{PLAIN}x::::::userdb_mailgateway_junk=inbox\nbob@example.test:{PLAIN}y\n"
    )
    users = UserFile(path)
    assert users.junk_mode(Address.parse("ALICE@example.test")) == "inbox"
    assert users.junk_mode(BOB) == "folder"
    assert users.junk_mode(Address.parse("nobody@example.test")) == "folder"


def test_user_file_bad_junk_value_is_logged_and_the_default_used(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# users\nalice@example.test:{PLAIN}x::::::userdb_mailgateway_junk=maybe\n")
    events: list[LogEvent] = []
    observer = cast(ILogObserver, events.append)
    globalLogPublisher.addObserver(observer)
    try:
        assert UserFile(path).junk_mode(ALICE) == "folder"
    finally:
        globalLogPublisher.removeObserver(observer)
    texts = [formatEvent(e) for e in events if e.get("log_namespace") == "gateway.store.users"]
    assert texts == [f"{path}:2: userdb_mailgateway_junk=maybe: must be folder or inbox"]


# --- set_junk_mode: the CLI's rewrite -----------------------------------------------


def test_set_and_remove_round_trip_gives_the_line_back(tmp_path: Path) -> None:
    path = tmp_path / "users"
    original = ["# users", "alice@example.test:{PLAIN}x", "bob@example.test:{PLAIN}y"]
    path.write_text("\n".join(original) + "\n")

    set_junk_mode(path, ALICE, "inbox")
    assert read_lines(path) == [
        "# users",
        "alice@example.test:{PLAIN}x::::::userdb_mailgateway_junk=inbox",
        "bob@example.test:{PLAIN}y",
    ]
    assert UserFile(path).junk_mode(ALICE) == "inbox"

    set_junk_mode(path, Address.parse("ALICE@example.test"), "folder")
    assert read_lines(path)[1] == "alice@example.test:{PLAIN}x::::::userdb_mailgateway_junk=folder"

    set_junk_mode(path, ALICE, None)
    assert read_lines(path) == original


def test_set_keeps_every_other_field_and_extra_field(tmp_path: Path) -> None:
    path = tmp_path / "users"
    line = (
        "alice@example.test:{PLAIN}x:1000:1000:Alice A:/home/alice:/bin/sh:"
        "userdb_quota_rule=*:storage=1G userdb_mailgateway_junk=folder "
        "userdb_quota_rule2=*:messages=9"
    )
    path.write_text(line + "\n")

    set_junk_mode(path, ALICE, "inbox")

    (written,) = read_lines(path)
    assert written == line.replace("junk=folder", "junk=inbox")  # in place
    fields = fields_of(written)
    assert junk_mode(fields) == "inbox"
    # the quota rules still read the same
    assert parse_rules(fields, Quota()) == Quota(storage=1 << 30, messages=9)

    set_junk_mode(path, ALICE, None)
    (written,) = read_lines(path)
    assert written == (
        "alice@example.test:{PLAIN}x:1000:1000:Alice A:/home/alice:/bin/sh:"
        "userdb_quota_rule=*:storage=1G userdb_quota_rule2=*:messages=9"
    )


def test_set_pads_a_short_line_to_the_extra_fields_column(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice@example.test:{PLAIN}x:1000:1000\n")
    set_junk_mode(path, ALICE, "inbox")
    assert read_lines(path) == [
        "alice@example.test:{PLAIN}x:1000:1000::::userdb_mailgateway_junk=inbox"
    ]
    set_junk_mode(path, ALICE, None)
    assert read_lines(path) == ["alice@example.test:{PLAIN}x:1000:1000"]


def test_set_replaces_duplicates_by_one(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(
        "alice@example.test:{PLAIN}x::::::a=1 userdb_mailgateway_junk=inbox b=2 "
        "userdb_mailgateway_junk=folder\n"
    )
    set_junk_mode(path, ALICE, "inbox")
    assert read_lines(path) == [
        "alice@example.test:{PLAIN}x::::::a=1 userdb_mailgateway_junk=inbox b=2"
    ]


def test_set_unchanged_leaves_the_line_as_written(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice@example.test:{PLAIN}x::::::a=1   userdb_mailgateway_junk=inbox\n")
    set_junk_mode(path, ALICE, "inbox")
    assert read_lines(path) == [
        "alice@example.test:{PLAIN}x::::::a=1   userdb_mailgateway_junk=inbox"
    ]


def test_set_password_keeps_the_junk_option(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice@example.test:{PLAIN}x\n")
    set_junk_mode(path, ALICE, "inbox")
    set_password(path, ALICE, "{PLAIN}new")
    assert read_lines(path) == ["alice@example.test:{PLAIN}new::::::userdb_mailgateway_junk=inbox"]


def test_set_refuses_unknown_users_and_modes(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice@example.test:{PLAIN}x\n")
    with pytest.raises(NoSuchUser):
        set_junk_mode(path, BOB, "inbox")
    with pytest.raises(UserFileError):
        set_junk_mode(path, ALICE, "spam")  # type: ignore[arg-type]
    assert read_lines(path) == ["alice@example.test:{PLAIN}x"]


def test_the_daemon_sees_the_change(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("alice@example.test:{PLAIN}x\n")
    users = UserFile(path)
    assert users.junk_mode(ALICE) == "folder"
    set_junk_mode(path, ALICE, "inbox")
    users.reload()
    assert users.junk_mode(ALICE) == "inbox"
