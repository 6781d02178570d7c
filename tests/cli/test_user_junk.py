"""``mailgateway user set ADDRESS --junk folder|inbox|default``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gateway.cli import users as user_cli
from gateway.cli.main import EX_NOUSER, EX_OK, EX_USAGE
from gateway.config import load
from gateway.envelope import Address
from gateway.store.users import UserFile, read_lines

ALICE = Address.parse("alice@example.test")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\nhostname="mail.example.test"\n'
        f'data_dir="{tmp_path / "var"}"\n'
        'local_domains=["example.test"]\n'
    )
    users = load(path).users_file
    users.parent.mkdir(parents=True, exist_ok=True)
    users.write_text(
        "# users\n"
        "alice@example.test:{PLAIN}x:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n"
        "bob@example.test:{PLAIN}y\n"
    )
    return path


def run(config: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mailgateway")
    sub = parser.add_subparsers(dest="command", required=True)
    user_cli.register(sub)
    args = parser.parse_args(argv)
    status: int = args.func(args, load(config))
    return status


def lines(config: Path) -> list[str]:
    return read_lines(load(config).users_file)


def test_set_junk_inbox_then_folder_then_default(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "user", "set", "Alice@Example.Test", "--junk", "inbox") == EX_OK
    assert "INBOX" in capsys.readouterr().err
    assert lines(config)[1] == (
        "alice@example.test:{PLAIN}x:1000:1000::/home/alice::"
        "userdb_quota_rule=*:storage=1G userdb_mailgateway_junk=inbox"
    )
    users = UserFile(load(config).users_file)
    assert users.junk_mode(ALICE) == "inbox"

    assert run(config, "user", "set", "alice@example.test", "--junk", "folder") == EX_OK
    assert "Junk folder" in capsys.readouterr().err
    assert lines(config)[1].endswith(" userdb_mailgateway_junk=folder")

    assert run(config, "user", "set", "alice@example.test", "--junk", "default") == EX_OK
    assert lines(config) == [
        "# users",
        "alice@example.test:{PLAIN}x:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G",
        "bob@example.test:{PLAIN}y",
    ]


def test_set_junk_on_a_bare_line(config: Path) -> None:
    assert run(config, "user", "set", "bob@example.test", "--junk", "inbox") == EX_OK
    assert lines(config)[2] == "bob@example.test:{PLAIN}y::::::userdb_mailgateway_junk=inbox"
    assert run(config, "user", "set", "bob@example.test", "--junk", "default") == EX_OK
    assert lines(config)[2] == "bob@example.test:{PLAIN}y"


def test_set_unknown_user(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = lines(config)
    assert run(config, "user", "set", "carol@example.test", "--junk", "inbox") == EX_NOUSER
    assert "carol@example.test: no such user" in capsys.readouterr().err
    assert lines(config) == before


def test_set_non_local_address(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "user", "set", "x@elsewhere.test", "--junk", "inbox") == EX_USAGE
    assert "not a local domain" in capsys.readouterr().err


def test_set_without_an_option(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "user", "set", "alice@example.test") == EX_USAGE
    assert "nothing to set" in capsys.readouterr().err


def test_set_bad_junk_value_is_a_usage_error(config: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(config, "user", "set", "alice@example.test", "--junk", "spam")
    assert exit_.value.code == 2  # argparse: invalid choice
