"""The folder index over a real Maildir (tmp_path): UIDs, flags, rebuilds."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gateway.store import folder as folder_module
from gateway.store.folder import Folder
from gateway.store.index import INDEX_FILE


def drop(root: Path, name: str, data: bytes = b"Subject: x\n\nbody\n", sub: str = "new") -> Path:
    for d in ("cur", "new", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    path = root / sub / name
    path.write_bytes(data)
    return path


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def uids_and_names(folder: Folder) -> list[tuple[int, str]]:
    return [(r.uid, r.name) for r in folder.messages()]


def test_new_files_get_uids_in_name_order_and_move_to_cur(tmp_path: Path) -> None:
    drop(tmp_path, "200.b")
    drop(tmp_path, "100.a")
    folder = Folder(tmp_path, Clock())
    assert folder.sync(move_new=True) == []
    assert uids_and_names(folder) == [(1, "100.a:2,"), (2, "200.b:2,")]
    assert sorted(os.listdir(tmp_path / "cur")) == ["100.a:2,", "200.b:2,"]
    assert os.listdir(tmp_path / "new") == []
    assert folder.header.uidnext == 3
    assert folder.recent == {1, 2}


def test_sizes_from_the_name_or_from_the_file(tmp_path: Path) -> None:
    drop(tmp_path, "1.a,S=17,W=20", b"Subject: x\n\nbody\n")
    drop(tmp_path, "2.b", b"a\r\nb\n")
    folder = Folder(tmp_path)
    folder.sync()
    first, second = folder.messages()
    assert (first.size, first.vsize) == (17, 20)
    assert (second.size, second.vsize) == (5, 6)


def test_uids_and_flags_survive_a_restart(tmp_path: Path) -> None:
    for n in range(5):
        drop(tmp_path, f"{n}.m")
    clock = Clock()
    folder = Folder(tmp_path, clock)
    folder.sync(move_new=True)
    folder.set_flags([2, 4], lambda f: f | {"\\Seen", "Work"})
    uidvalidity = folder.header.uidvalidity
    before = [(r.uid, r.base, folder.flags(r), r.modseq) for r in folder.messages()]
    folder.close()

    again = Folder(tmp_path, clock)
    again.sync()
    assert again.header.uidvalidity == uidvalidity
    assert [(r.uid, r.base, again.flags(r), r.modseq) for r in again.messages()] == before
    assert again.flags(again.messages()[1]) == {"\\Seen", "Work"}
    assert (tmp_path / "dovecot-keywords").read_text() == "0 Work\n"
    assert sorted(os.listdir(tmp_path / "cur"))[1] == "1.m:2,Sa"


def test_changes_by_other_programs_are_picked_up(tmp_path: Path) -> None:
    drop(tmp_path, "1.m")
    drop(tmp_path, "2.m")
    folder = Folder(tmp_path)
    folder.sync(move_new=True)
    modseq = folder.header.highest_modseq
    os.rename(tmp_path / "cur" / "1.m:2,", tmp_path / "cur" / "1.m:2,FS")  # a reader flags it
    os.unlink(tmp_path / "cur" / "2.m:2,")  # another expunges
    drop(tmp_path, "3.m")  # and a delivery agent drops one
    assert folder.sync() == [2]
    records = folder.messages()
    assert [(r.uid, r.name) for r in records] == [(1, "1.m:2,FS"), (3, "3.m")]
    assert folder.flags(records[0]) == {"\\Flagged", "\\Seen"}
    assert records[0].modseq > modseq
    assert folder.header.highest_modseq >= records[1].modseq > records[0].modseq - 1


def test_unchanged_directories_are_not_listed_again(tmp_path: Path) -> None:
    drop(tmp_path, "1.m")
    drop(tmp_path, "2.m")
    folder = Folder(tmp_path)
    folder.sync(move_new=True)
    for sub in ("new", "cur"):  # settled: older than the settle window
        os.utime(tmp_path / sub, (1_000_000_000.5, 1_000_000_000.5))
    folder.sync()  # records the settled mtimes
    listed: list[set[str] | None] = []
    original = folder._list

    def counting(subs: set[str] | None = None) -> dict[str, tuple[str, object]]:
        listed.append(subs)
        return original(subs)  # type: ignore[return-value]

    folder._list = counting  # type: ignore[method-assign,assignment]
    folder.sync()
    assert listed == []
    # our own flag change (a STORE) keeps the index in step: no listing
    folder.set_flags([1], lambda f: f | {"\\Seen"})
    folder.sync()
    assert listed == []
    # a delivery by another program: only new/ is listed
    drop(tmp_path, "3.m")
    os.utime(tmp_path / "new", (1_000_000_001.5, 1_000_000_001.5))
    folder.sync()
    assert listed == [{"new"}]
    assert [r.uid for r in folder.messages()] == [1, 2, 3]
    # another program flags a message in cur/: cur/ is listed
    name = next(n for n in os.listdir(tmp_path / "cur") if n.startswith("2.m"))
    os.rename(tmp_path / "cur" / name, tmp_path / "cur" / "2.m:2,F")
    os.utime(tmp_path / "cur", (1_000_000_002.5, 1_000_000_002.5))
    folder.sync()
    assert listed[-1] == {"cur"}
    assert folder.flags(folder.messages()[1]) == {"\\Flagged"}


def test_a_restart_does_not_read_indexed_files_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(10_000):  # the 10,000-message folder
        drop(tmp_path, f"{n:05}.m", b"no size in the name\n")
    folder = Folder(tmp_path)
    folder.sync()
    folder.close()

    def no_reading(data: bytes) -> int:
        raise AssertionError("file read again")

    monkeypatch.setattr(folder_module, "crlf_size", no_reading)
    again = Folder(tmp_path)
    again.sync()
    assert len(again.messages()) == 10_000
    assert {r.vsize for r in again.messages()} == {21}


def test_a_lost_index_is_rebuilt_with_a_new_uidvalidity(tmp_path: Path) -> None:
    drop(tmp_path, "1.m")
    drop(tmp_path, "2.m")
    clock = Clock()
    folder = Folder(tmp_path, clock)
    folder.sync()
    old = folder.header.uidvalidity
    folder.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    again = Folder(tmp_path, clock)
    again.sync()
    assert again.header.uidvalidity > old
    assert [r.uid for r in again.messages()] == [1, 2]


def test_a_damaged_index_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    drop(tmp_path, "1.m")
    folder = Folder(tmp_path, Clock())
    folder.sync()
    folder.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    (tmp_path / INDEX_FILE).write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    again = Folder(tmp_path, Clock())
    again.sync()
    assert [r.uid for r in again.messages()] == [1]
    assert any(p.name.startswith(f"{INDEX_FILE}.damaged-") for p in tmp_path.iterdir())
    with sqlite3.connect(tmp_path / INDEX_FILE) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (1,)


def test_dovecot_uids_are_taken_over(tmp_path: Path) -> None:
    drop(tmp_path, "1732800001.a,S=17:2,S", sub="cur")
    drop(tmp_path, "1732800002.b,S=17:2,", sub="cur")
    drop(tmp_path, "1732800003.c")  # arrived after Dovecot last looked
    (tmp_path / "dovecot-uidlist").write_text(
        "3 V1234 N12 Gabc\n7 :1732800001.a,S=17\n11 W20 :1732800002.b,S=17\n"
    )
    folder = Folder(tmp_path)
    folder.sync()
    assert folder.header.uidvalidity == 1234
    assert [(r.uid, r.base) for r in folder.messages()] == [
        (7, "1732800001.a,S=17"),
        (11, "1732800002.b,S=17"),
        (12, "1732800003.c"),
    ]
    assert folder.header.uidnext == 13


def test_append_is_durable_and_gets_the_next_uid(tmp_path: Path) -> None:
    drop(tmp_path, "1.m")
    folder = Folder(tmp_path)
    folder.sync()
    uid = folder.append(b"Subject: a\n\nb\n", {"\\Seen", "$Label1"}, 1_700_000_000.0, "u1")
    assert uid == 2
    path = folder.path(uid)
    assert path.name == "u1,S=14,W=17:2,Sa"
    assert path.stat().st_mtime == 1_700_000_000.0
    assert folder.read(uid) == b"Subject: a\n\nb\n"
    assert folder.messages()[-1].idate == 1_700_000_000.0


def test_read_follows_a_rename_by_another_session(tmp_path: Path) -> None:
    drop(tmp_path, "1.m", b"hello\n")
    folder = Folder(tmp_path)
    folder.sync(move_new=True)
    os.rename(tmp_path / "cur" / "1.m:2,", tmp_path / "cur" / "1.m:2,S")
    assert folder.read(1) == b"hello\n"
    os.unlink(tmp_path / "cur" / "1.m:2,S")
    with pytest.raises(KeyError):
        folder.read(1)


def test_expunge_removes_files_then_index_rows(tmp_path: Path) -> None:
    for n in range(3):
        drop(tmp_path, f"{n}.m")
    folder = Folder(tmp_path)
    folder.sync(move_new=True)
    assert folder.expunge([1, 3, 99]) == [1, 3]
    assert os.listdir(tmp_path / "cur") == ["1.m:2,"]
    folder.close()
    again = Folder(tmp_path)
    again.sync()
    assert [r.uid for r in again.messages()] == [2]


def test_readers_never_see_half_written_mail_while_delivery_runs(tmp_path: Path) -> None:
    """Delivery (tmp/ then rename) in one thread, sync + read + flag changes
    in another, as a POP3 or IMAP session does: every message read is whole,
    UIDs only grow, and each message keeps its UID."""
    import threading

    from gateway.store.maildir import deliver_blocking, ensure_maildir

    ensure_maildir(tmp_path)
    bodies = {
        n: b"Subject: %d\r\n\r\n" % n + b"x" * (n * 37 % 5000) + b"\r\nend\r\n" for n in range(300)
    }
    done = threading.Event()

    def deliver() -> None:
        for n, body in bodies.items():
            deliver_blocking(tmp_path, f"{1_700_000_000 + n}.M0Q{n}R0.host", [body])
        done.set()

    thread = threading.Thread(target=deliver)
    thread.start()
    folder = Folder(tmp_path)
    seen: dict[int, str] = {}
    while True:
        finished = done.is_set()
        folder.sync(move_new=True)
        for record in folder.messages():
            assert seen.setdefault(record.uid, record.base) == record.base
            data = folder.read(record.uid)
            number = int(data.split(b"\n", 1)[0].split()[1])
            assert data == bodies[number].replace(b"\r\n", b"\n"), f"message {number} not whole"
        if folder.messages():
            folder.set_flags([folder.messages()[-1].uid], lambda f: f | {"\\Seen"})
        if finished:
            break
    thread.join()
    assert len(folder.messages()) == 300
    assert sorted(seen) == list(range(1, 301))


def test_read_header_stops_at_the_blank_line(tmp_path: Path) -> None:
    drop(tmp_path, "1.m", b"Subject: a\nFrom: b\n\nbody\n" + b"x" * 200_000)
    drop(tmp_path, "2.m", b"Subject: crlf\r\n\r\nbody\r\n")
    drop(tmp_path, "3.m", b"Subject: no body at all\n")
    drop(tmp_path, "4.m", b"X-Long: " + b"y" * 100_000 + b"\n\nbody\n")  # header > one chunk
    folder = Folder(tmp_path)
    folder.sync()
    assert folder.read_header_nowait(1) == b"Subject: a\nFrom: b\n\n"
    assert folder.read_header_nowait(2) == b"Subject: crlf\r\n\r\n"
    assert folder.read_header_nowait(3) == b"Subject: no body at all\n"
    assert folder.read_header_nowait(4) == b"X-Long: " + b"y" * 100_000 + b"\n\n"
    assert folder.read_header_nowait(99) is None
