"""The aliases file: parsing, reloading, and CLI rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface.verify import verifyObject

from gateway.envelope import Address
from gateway.fsutil import atomic_write
from gateway.interfaces import IAliasTable
from gateway.store.aliases import (
    AliasExists,
    AliasFile,
    AliasFileError,
    NoSuchAlias,
    add_alias,
    delete_alias,
    list_aliases,
    parse_aliases,
    read_aliases,
)


def A(text: str) -> Address:
    return Address.parse(text)


SAMPLE = """\
# aliases
postmaster@example.test   alice@example.test
Team@example.test: bob@example.test, carol@elsewhere.example
list@example.test:dave@example.test,erin@example.test  frank@example.test
"""


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_parse_formats() -> None:
    aliases, errors = parse_aliases(SAMPLE, "aliases")
    assert errors == []
    assert aliases["postmaster@example.test"].targets == (A("alice@example.test"),)
    team = aliases["team@example.test"]
    assert str(team.alias) == "Team@example.test"
    assert team.targets == (A("bob@example.test"), A("carol@elsewhere.example"))
    assert [str(t) for t in aliases["list@example.test"].targets] == [
        "dave@example.test",
        "erin@example.test",
        "frank@example.test",
    ]


def test_parse_dedupes_targets() -> None:
    aliases, _ = parse_aliases("a@example.test b@x.example, B@X.example\n", "f")
    assert aliases["a@example.test"].targets == (A("b@x.example"),)


def test_parse_errors_name_lines() -> None:
    text = (
        "ok@example.test x@example.test\n"  # 1
        "lonely@example.test\n"  # 2 no targets
        "empty@example.test:\n"  # 3 no targets
        "bad alias here\n"  # 4 bad alias
        "t@example.test good@example.test, not-an-address\n"  # 5 bad target
        "OK@example.test y@example.test\n"  # 6 duplicate
    )
    aliases, errors = parse_aliases(text, "/etc/aliases")
    assert list(aliases) == ["ok@example.test"]
    assert [e.split(": ", 1)[0] for e in errors] == [f"/etc/aliases:{n}" for n in (2, 3, 4, 5, 6)]
    assert "no targets" in errors[0] and "no targets" in errors[1]
    assert "bad alias" in errors[2]
    assert "bad target" in errors[3] and "not-an-address" in errors[3]
    assert "duplicate alias" in errors[4] and "line 1" in errors[4]


@settings(max_examples=200)
@given(st.text())
def test_parse_never_raises(text: str) -> None:
    _, errors = parse_aliases(text, "f")
    assert all(e.startswith("f:") for e in errors)


def test_alias_file_targets(tmp_path: Path) -> None:
    path = tmp_path / "aliases"
    path.write_text(SAMPLE)
    table = AliasFile(path)
    assert verifyObject(IAliasTable, table)
    assert table.targets(A("TEAM@example.test")) == (
        A("bob@example.test"),
        A("carol@elsewhere.example"),
    )
    assert table.targets(A("alice@example.test")) is None
    assert AliasFile(tmp_path / "missing").targets(A("team@example.test")) is None


def test_reload_after_external_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "aliases"
    clock = Clock()
    path.write_text(SAMPLE)
    table = AliasFile(path, now=clock, interval=1.0)
    assert table.targets(A("postmaster@example.test")) == (A("alice@example.test"),)
    atomic_write(path, b"postmaster@example.test bob@example.test\n")
    assert table.targets(A("postmaster@example.test")) == (A("alice@example.test"),)
    clock.t += 1
    assert table.targets(A("postmaster@example.test")) == (A("bob@example.test"),)
    assert table.targets(A("team@example.test")) is None
    path.write_text("junk\n")
    table.reload()
    assert table.targets(A("postmaster@example.test")) is None
    assert table.errors == [f"{path}:1: alias has no targets"]


def test_add_alias_new_and_existing(tmp_path: Path) -> None:
    path = tmp_path / "aliases"
    path.write_text(SAMPLE)
    assert add_alias(path, A("new@example.test"), [A("x@example.test")]) == (A("x@example.test"),)
    result = add_alias(path, A("team@example.test"), [A("BOB@example.test"), A("z@z.example")])
    assert result == (A("bob@example.test"), A("carol@elsewhere.example"), A("z@z.example"))
    lines = path.read_text().splitlines()
    assert lines[0] == "# aliases"
    assert lines[1] == "postmaster@example.test   alice@example.test"  # untouched
    assert lines[2] == "Team@example.test  bob@example.test, carol@elsewhere.example, z@z.example"
    assert lines[-1] == "new@example.test  x@example.test"
    with pytest.raises(AliasExists):
        add_alias(path, A("team@example.test"), [A("z@z.example")])
    entries = {str(e.alias): e.targets for e in list_aliases(path)}
    assert entries["new@example.test"] == (A("x@example.test"),)


def test_add_alias_refuses_unwritable(tmp_path: Path) -> None:
    with pytest.raises(AliasFileError):
        add_alias(tmp_path / "a", A("x@example.test"), [A('"a b"@example.test')])
    with pytest.raises(AliasFileError):
        add_alias(tmp_path / "a", A("x@example.test"), [])


def test_delete_alias(tmp_path: Path) -> None:
    path = tmp_path / "aliases"
    path.write_text(SAMPLE + "broken line\n")
    delete_alias(path, A("TEAM@example.test"))
    text = path.read_text()
    assert "Team@" not in text and "broken line" in text
    with pytest.raises(NoSuchAlias):
        delete_alias(path, A("team@example.test"))
    aliases, errors = read_aliases(path)
    assert len(aliases) == 2 and len(errors) == 1
