"""Queue administration (list/show/hold/release/retry/delete) and tracing.

A message stays deferred when a regular file sits where the recipient's
Maildir directory should be: local delivery then fails with 451 4.3.0 and
the default retry schedule (5 minutes) keeps it queued for the test.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

DAVE = "dave@example.test"
EX_DATAERR = 65


def block_maildir(daemon: Daemon, user: str) -> None:
    path = daemon.maildir(user)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.rmtree(path)
    path.write_text("a regular file where the Maildir should be\n")


def unblock_maildir(daemon: Daemon, user: str) -> None:
    daemon.maildir(user).unlink()


def send(daemon: Daemon, user: str, tag: str) -> str:
    mid = f"<{tag}@client.example.test>"
    message = f"Subject: {tag}\nMessage-ID: {mid}\n\nbody {tag}\n".encode()
    result = daemon.cli("sendmail", user, stdin=message)
    assert result.returncode == 0, result.stderr.decode()
    return mid


def queued(daemon: Daemon) -> dict[str, dict]:
    return {m["qid"]: m for m in daemon.request({"op": "list"})}


def wait_deferred(daemon: Daemon, mid: str) -> str:
    """Wait until message ``mid`` is queued with a deferred recipient; its qid."""
    found: list[str] = []

    def deferred() -> bool:
        if not found:
            out = daemon.cli("track", mid).stdout.decode()
            if not re.search(r"UTC\s+deferred\b", out):
                return False
            match = re.search(r"^Queue-ID (\S+)$", out, re.MULTILINE)
            assert match, out
            found.append(match.group(1))
        # the history line is durable a moment before the daemon applies the
        # event to its in-memory state: wait for the queue to say so too
        entry = queued(daemon).get(found[0])
        return entry is not None and entry["recipients"][0]["status"] == "deferred"

    daemon.wait_for(deferred, what=f"{mid} to be deferred")
    return found[0]


def list_entry(output: str, qid: str) -> str:
    """The lines of ``queue list`` output about ``qid`` (header + recipients)."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(qid + " "):
            block = [line]
            for more in lines[i + 1 :]:
                if not more.startswith("    "):
                    break
                block.append(more)
            return "\n".join(block)
    return ""


def cli_ok(daemon: Daemon, *args: str) -> str:
    result = daemon.cli(*args)
    assert result.returncode == 0, (args, result.stderr.decode())
    return result.stdout.decode()


@pytest.fixture
def running(daemon: Daemon) -> Iterator[Daemon]:
    daemon.start()
    daemon.add_user(DAVE)
    block_maildir(daemon, DAVE)
    yield daemon


def test_deferred_hold_release_retry_delivers(running: Daemon) -> None:
    daemon = running
    mid = send(daemon, DAVE, "deferred-1")
    qid = wait_deferred(daemon, mid)

    # queue list: the message with its deferred recipient
    entry = list_entry(cli_ok(daemon, "queue", "list"), qid)
    assert entry, "message missing from queue list"
    assert f"{DAVE}  [deferred]" in entry
    assert "(held)" not in entry

    # queue show: the 451 4.3.0 error and the next attempt
    show = cli_ok(daemon, "queue", "show", qid)
    assert f"Queue-ID: {qid}" in show
    assert f"Message-ID: {mid}" in show
    assert "Held: no" in show
    (rcpt,) = [line for line in show.splitlines() if line.startswith("Recipient 0:")]
    assert f"{DAVE} [deferred] attempts=1" in rcpt, show
    assert re.search(r"next=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rcpt), show
    assert "last=451 4.3.0 " in rcpt, show

    # track: accepted, deferred (with the error and the next attempt)
    track = cli_ok(daemon, "track", qid)
    assert re.search(r"UTC\s+accepted\b", track), track
    (deferred,) = [line for line in track.splitlines() if re.search(r"UTC\s+deferred\b", line)]
    assert f"to=<{DAVE}> 451 4.3.0" in deferred and "next attempt" in deferred

    # hold
    assert f"{qid}: hold done" in cli_ok(daemon, "queue", "hold", qid)
    assert "(held)" in list_entry(cli_ok(daemon, "queue", "list"), qid)
    assert "Held: yes" in cli_ok(daemon, "queue", "show", qid)

    # release
    assert f"{qid}: release done" in cli_ok(daemon, "queue", "release", qid)
    entry = list_entry(cli_ok(daemon, "queue", "list"), qid)
    assert entry and "(held)" not in entry

    # fix the mailbox, retry now: delivered, queue empty
    unblock_maildir(daemon, DAVE)
    assert f"{qid}: retry done" in cli_ok(daemon, "queue", "retry", qid)
    daemon.wait_for(lambda: qid not in queued(daemon), what="the message to leave the queue")
    (copy,) = daemon.messages(DAVE)
    assert mid.encode() in copy.read_bytes()
    assert cli_ok(daemon, "queue", "list").strip() == "Mail queue is empty"

    events = [
        m.group(1)
        for m in re.finditer(r"(?m)^\s+\S+ \S+ UTC\s+(\w+)", cli_ok(daemon, "track", mid))
    ]
    assert events == ["accepted", "deferred", "held", "released", "retry", "delivered"]


def test_delete_deferred_message(running: Daemon) -> None:
    daemon = running
    mid = send(daemon, DAVE, "to-delete")
    qid = wait_deferred(daemon, mid)

    assert f"{qid}: delete done" in cli_ok(daemon, "queue", "delete", qid)
    assert qid not in queued(daemon)
    assert not list_entry(cli_ok(daemon, "queue", "list"), qid)
    track = cli_ok(daemon, "track", mid)
    assert re.search(r"UTC\s+deleted\b", track), track

    # the mailbox works again: still nothing arrives for the deleted one
    unblock_maildir(daemon, DAVE)
    sentinel = send(daemon, DAVE, "after-delete")
    daemon.wait_for(lambda: daemon.messages(DAVE), what="the sentinel message")
    (copy,) = daemon.messages(DAVE)
    assert sentinel.encode() in copy.read_bytes()
    assert not re.search(r"UTC\s+delivered\b", cli_ok(daemon, "track", qid))

    # a second delete of the same qid: it is gone
    again = daemon.cli("queue", "delete", qid)
    assert again.returncode != 0
    assert f"no message {qid} in the queue" in again.stderr.decode()


def test_offline_hold_and_delete_take_effect_at_start(running: Daemon) -> None:
    daemon = running
    keep_mid = send(daemon, DAVE, "offline-hold")
    drop_mid = send(daemon, DAVE, "offline-delete")
    keep = wait_deferred(daemon, keep_mid)
    drop = wait_deferred(daemon, drop_mid)

    assert daemon.stop() == -15
    assert not daemon.control_socket.exists() or not _answers(daemon)

    # offline: the CLI takes the spool lock itself
    out = cli_ok(daemon, "queue", "hold", keep)
    assert f"{keep}: hold done" in out and "next start" in out
    out = cli_ok(daemon, "queue", "delete", drop)
    assert f"{drop}: delete done" in out and "next start" in out
    listing = cli_ok(daemon, "queue", "list")
    assert "(held)" in list_entry(listing, keep)
    assert not list_entry(listing, drop)
    assert "Held: yes" in cli_ok(daemon, "queue", "show", keep)
    assert re.search(r"UTC\s+deleted\b", cli_ok(daemon, "track", drop))

    # the mailbox is fixed while the daemon is down; start it again
    unblock_maildir(daemon, DAVE)
    daemon.start()
    assert "(held)" in list_entry(cli_ok(daemon, "queue", "list"), keep)
    assert drop not in queued(daemon)
    # retry now: a held message is still not delivered
    cli_ok(daemon, "queue", "retry", keep)

    sentinel = send(daemon, DAVE, "offline-sentinel")
    daemon.wait_for(lambda: daemon.messages(DAVE), what="the sentinel message")
    (copy,) = daemon.messages(DAVE)
    assert sentinel.encode() in copy.read_bytes()
    assert queued(daemon)[keep]["held"] is True
    assert not re.search(r"UTC\s+delivered\b", cli_ok(daemon, "track", drop))

    # release: now it goes
    cli_ok(daemon, "queue", "release", keep)
    daemon.wait_for(lambda: keep not in queued(daemon), what="the released message")
    contents = [p.read_bytes() for p in daemon.messages(DAVE)]
    assert sum(keep_mid.encode() in c for c in contents) == 1
    assert sum(drop_mid.encode() in c for c in contents) == 0
    assert len(contents) == 2


def _answers(daemon: Daemon) -> bool:
    try:
        daemon.request({"op": "ping"})
    except Exception:
        return False
    return True


def test_queue_show_unknown_qid(daemon: Daemon) -> None:
    daemon.start()
    online = daemon.cli("queue", "show", "NOSUCHQID")
    assert online.returncode == EX_DATAERR
    assert "no message NOSUCHQID in the queue" in online.stderr.decode()
    held = daemon.cli("queue", "hold", "NOSUCHQID")
    assert held.returncode != 0 and "NOSUCHQID" in held.stderr.decode()

    daemon.stop()
    offline = daemon.cli("queue", "show", "NOSUCHQID")
    assert offline.returncode == EX_DATAERR
    assert "no message NOSUCHQID in the queue" in offline.stderr.decode()
    tracked = daemon.cli("track", "NOSUCHQID")
    assert tracked.returncode != 0
    assert "no message NOSUCHQID" in tracked.stderr.decode()
