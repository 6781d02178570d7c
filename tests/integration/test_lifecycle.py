"""Lifecycle and faults: stopped daemon, SIGTERM, bad input, full disks."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.control_client import ControlRequestFailed
from gateway.envelope import Address, Envelope, Origin, Recipient
from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"
EX_DATAERR = 65
EX_TEMPFAIL = 75


def drop_files(daemon: Daemon) -> list[Path]:
    """Complete maildrop files waiting for pickup (not tmp/ or corrupt/)."""
    root = daemon.data_dir / "maildrop"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))


def tmp_drop_files(daemon: Daemon) -> list[Path]:
    tmp = daemon.data_dir / "maildrop" / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def copies(daemon: Daemon, user: str, marker: str) -> int:
    return sum(marker.encode() in p.read_bytes() for p in daemon.messages(user))


def sendmail(
    daemon: Daemon, user: str, tag: str, lines: int = 1
) -> subprocess.CompletedProcess[bytes]:
    message = f"Subject: {tag}\nMessage-ID: <{tag}@client.example.test>\n\n"
    message += f"body {tag} {'x' * 70}\n" * lines
    return daemon.cli("sendmail", user, stdin=message.encode())


def queued(daemon: Daemon) -> dict[str, dict]:
    return {m["qid"]: m for m in daemon.request({"op": "list"})}


def test_sendmail_while_stopped_is_delivered_at_next_start(daemon: Daemon) -> None:
    daemon.start()
    daemon.add_user(ALICE)
    assert daemon.stop() == -15

    result = sendmail(daemon, ALICE, "while-stopped")
    assert result.returncode == 0, result.stderr.decode()
    (_waiting,) = drop_files(daemon)  # durable in the maildrop, nobody took it
    assert not tmp_drop_files(daemon)
    assert daemon.messages(ALICE) == []

    daemon.start()
    daemon.wait_for(lambda: daemon.messages(ALICE), what="delivery after start")
    assert copies(daemon, ALICE, "<while-stopped@client.example.test>") == 1
    daemon.wait_for(lambda: not drop_files(daemon), what="the drop file to be removed")

    def tracked() -> str:
        return daemon.cli("track", "<while-stopped@client.example.test>").stdout.decode()

    daemon.wait_for(lambda: re.search(r"UTC\s+delivered\b", tracked()), what="the outcome")
    assert "protocol=sendmail" in tracked()


def test_sigterm_is_clean_and_deferred_mail_survives(daemon: Daemon) -> None:
    daemon.start()
    daemon.add_user(ALICE)
    blocker = daemon.maildir(ALICE)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a Maildir\n")
    assert sendmail(daemon, ALICE, "survivor").returncode == 0

    found: list[str] = []

    def deferred() -> bool:
        for qid, m in queued(daemon).items():
            if m["recipients"][0]["status"] == "deferred":
                found.append(qid)
                return True
        return False

    daemon.wait_for(deferred, what="a deferred message")
    qid = found[0]

    assert daemon.stop() == -15
    log = daemon.log()
    assert "Received SIGTERM" in log
    assert log.rstrip().endswith("Server Shut Down.")
    assert "Traceback" not in log

    daemon.start()
    listing = daemon.cli("queue", "list", check=True).stdout.decode()
    assert re.search(rf"^{qid}\s", listing, re.MULTILINE), listing
    assert f"{ALICE}  [deferred]" in listing
    assert f"{qid}: recovered from the spool" in daemon.log()

    # and it is still deliverable
    blocker.unlink()
    daemon.cli("queue", "retry", qid, check=True)
    daemon.wait_for(lambda: qid not in queued(daemon), what="delivery after restart")
    assert copies(daemon, ALICE, "<survivor@client.example.test>") == 1


def test_malformed_message_is_refused_and_nothing_dropped(daemon: Daemon) -> None:
    # the daemon is stopped: anything written to the maildrop would stay there
    message = b"Subject: fine\nFrom: a@example.test\nthis line is not a header\n\nbody\n"
    result = daemon.cli("sendmail", ALICE, stdin=message)
    assert result.returncode == EX_DATAERR
    err = result.stderr.decode()
    assert "line 3" in err and "this line is not a header" in err, err
    assert drop_files(daemon) == []
    assert tmp_drop_files(daemon) == []

    # a header line without a colon right at the top, too
    result = daemon.cli("sendmail", ALICE, stdin=b"Not-a-header\n\nbody\n")
    assert result.returncode == EX_DATAERR and "line 1" in result.stderr.decode()
    assert drop_files(daemon) == [] and tmp_drop_files(daemon) == []

    # the same text after the blank line is body, and fine
    daemon.start()
    daemon.add_user(ALICE)
    ok = daemon.cli("sendmail", ALICE, stdin=b"Subject: ok\n\nthis line is not a header\n")
    assert ok.returncode == 0, ok.stderr.decode()
    daemon.wait_for(lambda: daemon.messages(ALICE), what="the well-formed message")
    (only,) = daemon.messages(ALICE)
    assert b"this line is not a header" in only.read_bytes()


# -- full disk -------------------------------------------------------------


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) command")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs on {path}: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> Path:
    """Fill the filesystem of ``directory`` with one file until ENOSPC."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            while True:
                try:
                    if f.write(b"\0" * chunk) != chunk:
                        break
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    return filler


def submit(daemon: Daemon, content: bytes) -> str:
    envelope = Envelope(
        Address.parse("sender@example.test"), (Recipient(Address.parse(ALICE)),), Origin("bus")
    )
    qid: str = daemon.request({"op": "submit", "envelope": envelope.to_json()}, content)
    return qid


def big_message(tag: str) -> bytes:
    # larger than any slack left in a partly written page of the spool files
    return (
        f"Subject: {tag}\r\nMessage-ID: <{tag}@example.test>\r\n\r\n".encode()
        + (b"x" * 76 + b"\r\n") * 400
    )


def http_ok(daemon: Daemon) -> bool:
    url = f"http://127.0.0.1:{daemon.http_port}/healthz"
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status == 200 and response.read() == b"ok\n"


def test_full_queue_disk_refuses_with_452_and_loses_nothing(daemon: Daemon) -> None:
    queue_dir = daemon.data_dir / "queue"
    with tiny_tmpfs(queue_dir):
        try:
            daemon.start()
            daemon.add_user(ALICE)
            first = submit(daemon, big_message("before-full"))
            daemon.wait_for(lambda: first not in queued(daemon), what="the first delivery")
            assert copies(daemon, ALICE, "<before-full@example.test>") == 1

            filler = fill(queue_dir)

            # a direct submission is refused with a temporary error
            with pytest.raises(ControlRequestFailed) as refused:
                submit(daemon, big_message("while-full"))
            assert refused.value.temporary is True
            assert str(refused.value).startswith("452 4.3.1"), str(refused.value)
            assert "not queued" in daemon.log()

            # sendmail still accepts (into the maildrop, another filesystem);
            # the pickup cannot queue it and keeps the file. (Large enough not
            # to fit in the slack of the journal's last page.)
            result = sendmail(daemon, ALICE, "dropped-while-full", lines=400)
            assert result.returncode == 0, result.stderr.decode()
            daemon.wait_for(
                lambda: "submit failed, will retry" in daemon.log(),
                what="a failed pickup attempt",
            )
            assert len(drop_files(daemon)) == 1

            # the daemon keeps running and says so
            assert daemon.request({"op": "ping"}) == "pong"
            assert http_ok(daemon)
            assert daemon.process is not None and daemon.process.poll() is None
            assert copies(daemon, ALICE, "<while-full@example.test>") == 0

            # free the space: the next submission works and is delivered,
            # and so is the message that waited in the maildrop
            filler.unlink()
            after = submit(daemon, big_message("after-full"))
            daemon.wait_for(lambda: after not in queued(daemon), what="delivery after freeing")
            assert copies(daemon, ALICE, "<after-full@example.test>") == 1
            daemon.wait_for(
                lambda: copies(daemon, ALICE, "<dropped-while-full@client.example.test>") == 1,
                what="the maildrop message",
            )
            daemon.wait_for(lambda: not drop_files(daemon), what="an empty maildrop")
            assert copies(daemon, ALICE, "<while-full@example.test>") == 0  # was refused

            # and the spool is consistent after the episode
            assert daemon.stop() == -15
            daemon.start()
            assert "spool recovery" not in daemon.log()
            assert queued(daemon) == {}
            assert len(daemon.messages(ALICE)) == 3
        finally:
            daemon.close()


def test_full_maildrop_makes_sendmail_tempfail(daemon: Daemon) -> None:
    maildrop = daemon.data_dir / "maildrop"
    with tiny_tmpfs(maildrop):
        try:
            daemon.start()
            daemon.add_user(ALICE)
            (maildrop / "tmp").mkdir(exist_ok=True)
            filler = fill(maildrop / "tmp")  # tmp/ is never picked up

            result = sendmail(daemon, ALICE, "maildrop-full")
            assert result.returncode == EX_TEMPFAIL, result
            err = result.stderr.decode()
            assert f"cannot write to {maildrop}" in err, err
            # nothing half-written is left behind to be picked up
            assert drop_files(daemon) == []
            assert [p.name for p in tmp_drop_files(daemon)] == ["filler"]

            filler.unlink()
            result = sendmail(daemon, ALICE, "maildrop-free")
            assert result.returncode == 0, result.stderr.decode()
            daemon.wait_for(lambda: daemon.messages(ALICE), what="delivery after freeing")
            assert copies(daemon, ALICE, "<maildrop-free@client.example.test>") == 1
            assert copies(daemon, ALICE, "<maildrop-full@client.example.test>") == 0
        finally:
            daemon.close()


def test_full_disk_submission_is_delivered_exactly_as_acknowledged(daemon: Daemon) -> None:
    """The disk fills between the journal write and the history write: the
    answer to the client (452 or a queue id) must match what is delivered."""
    queue_dir = daemon.data_dir / "queue"
    page = 4096
    with tiny_tmpfs(queue_dir):
        try:
            daemon.start()
            daemon.add_user(ALICE)
            warm = submit(daemon, big_message("warm-up"))
            daemon.wait_for(lambda: warm not in queued(daemon), what="the warm-up delivery")

            # Arrange: the history file ends on a page boundary (a blank line,
            # which readers skip), the disk is full, then exactly enough pages
            # are freed for the journal record but none for the history line.
            (history,) = sorted((queue_dir / "history").iterdir())
            used = history.stat().st_size % page
            if used:
                with history.open("ab") as f:
                    f.write(b" " * (page - used - 1) + b"\n")
            (segment,) = sorted((queue_dir / "journal").iterdir())
            filler = fill(queue_dir)
            message = big_message("refused")
            slack = (page - segment.stat().st_size % page) % page
            pages = -(-(len(message) + 600 - slack) // page)
            os.truncate(filler, max(0, (filler.stat().st_size // page - pages) * page))

            try:
                submit(daemon, message)
            except ControlRequestFailed as e:
                assert str(e).startswith("452 4.3.1")
                expected = 0  # refused: the client keeps it, we must never deliver it
            else:
                expected = 1  # acknowledged: the journal has it, the history may not

            filler.unlink()
            assert daemon.stop() == -15
            daemon.start()
            daemon.wait_for(lambda: queued(daemon) == {}, what="an empty queue after restart")
            assert copies(daemon, ALICE, "<refused@example.test>") == expected
        finally:
            daemon.close()
