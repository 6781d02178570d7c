from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import GatewayError
from gateway.store.maildir import deliver_blocking, ensure_maildir
from gateway.store.quota import Quota, QuotaChecker, limits_from, parse_rules, usage
from gateway.store.users import UserFile

EXTRA = ("", "", "", "", "")  # uid gid gecos home shell


def test_rules_from_dovecot_extra_fields() -> None:
    default = Quota(1000, 10)
    assert parse_rules((*EXTRA, "userdb_quota_rule=*", "storage=1M"), default) == Quota(
        1 << 20, 10
    )
    fields = (*EXTRA, "userdb_quota_rule=*", "storage=2K userdb_quota_rule2=*", "messages=5")
    assert parse_rules(fields, default) == Quota(2048, 5)
    assert parse_rules((*EXTRA, "userdb_quota_rule=*", "ignore"), default) == Quota()
    assert parse_rules((*EXTRA, "other=1"), default) == default
    assert parse_rules(("1000", "1000"), default) == default
    with pytest.raises(ValueError):
        parse_rules((*EXTRA, "userdb_quota_rule=*", "bogus=1"), default)


def test_usage_counts_every_folder(tmp_path: Path) -> None:
    ensure_maildir(tmp_path)
    deliver_blocking(tmp_path, "1.a", [b"12345\n"])
    deliver_blocking(tmp_path / ".Sent", "2.b", [b"123\n"])
    (tmp_path / "cur" / "3.c").write_bytes(b"1234567")  # no S= in the name: stat
    assert usage(tmp_path) == (6 + 4 + 7, 3)
    assert usage(tmp_path / "missing") == (0, 0)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_checker_caches_the_scan_and_counts_deliveries(tmp_path: Path) -> None:
    scans: list[Path] = []
    state = {"bytes": 900, "messages": 1}

    def scan(path: Path) -> tuple[int, int]:
        scans.append(path)
        return state["bytes"], state["messages"]

    clock = Clock()
    checker = QuotaChecker(lambda user: Quota(1000, 3), clock, scan)
    checker.check("a@x", tmp_path, 100)
    with pytest.raises(GatewayError) as e:
        checker.check("a@x", tmp_path, 101)
    assert (e.value.code, e.value.status) == (452, "4.2.2")
    checker.added(tmp_path, 100)  # now exactly full
    refusal = checker.refusal("a@x", tmp_path)
    assert refusal is not None and refusal.status == "4.2.2"
    assert len(scans) == 1
    clock.now = 10.0  # the cache expires: scan again
    state["bytes"] = 0
    assert checker.refusal("a@x", tmp_path) is None
    assert len(scans) == 2
    state["messages"] = 3
    clock.now = 20.0
    assert checker.refusal("a@x", tmp_path) is not None  # message count reached


def test_unlimited_users_are_never_scanned(tmp_path: Path) -> None:
    def scan(path: Path) -> tuple[int, int]:
        raise AssertionError("scanned")

    QuotaChecker(lambda user: Quota(), scan=scan).check("a@x", tmp_path, 1 << 40)


def test_limits_from_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(
        "alice@example.test:{PLAIN}x::::::userdb_quota_rule=*:storage=10K\n"
        "bob@example.test:{PLAIN}x\n"
        "carol@example.test:{PLAIN}x::::::userdb_quota_rule=*:nonsense=1\n"
    )
    limit_of = limits_from(UserFile(path), Quota(messages=7))
    assert limit_of("alice@example.test") == Quota(10240, 7)
    assert limit_of("bob@example.test") == Quota(None, 7)
    assert limit_of("carol@example.test") == Quota(None, 7)  # logged, default
    assert limit_of("nobody@example.test") == Quota(None, 7)
    assert limit_of("not an address") == Quota(None, 7)


def test_delivery_over_quota_is_refused_but_a_redelivery_is_not(tmp_path: Path) -> None:
    ensure_maildir(tmp_path)
    checker = QuotaChecker(lambda user: Quota(storage=10))

    def admit(size: int) -> None:
        checker.check("a@x", tmp_path, size)
        checker.added(tmp_path, size)

    first = deliver_blocking(tmp_path, "1.a", [b"123456\r\n"], admit=admit)  # 7 bytes as LF
    with pytest.raises(GatewayError):
        deliver_blocking(tmp_path, "2.b", [b"123456\r\n"], admit=admit)
    assert not list((tmp_path / "tmp").iterdir())
    # the same message again (a crash before its outcome was recorded): no check
    assert deliver_blocking(tmp_path, "1.a", [b"123456\r\n"], admit=admit) == first


def test_forget_makes_the_next_check_scan(tmp_path: Path) -> None:
    scans: list[int] = []

    def scan(path: Path) -> tuple[int, int]:
        scans.append(1)
        return 0, 0

    checker = QuotaChecker(lambda user: Quota(messages=5), Clock(), scan)
    checker.check("a@x", tmp_path)
    checker.check("a@x", tmp_path)
    checker.forget(tmp_path)
    checker.check("a@x", tmp_path)
    assert len(scans) == 2
