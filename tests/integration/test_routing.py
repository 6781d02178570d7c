"""Routing through the running daemon: users, aliases, failures, duplicates."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.bus.history import find_message
from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"

USERS = (
    ALICE,
    BOB,
    CAROL,
    "dup1@example.test",
    "dup2@example.test",
    "dup3@example.test",
    "dup4@example.test",
)
ALIASES = {
    "a@example.test": ["b@example.test"],
    "b@example.test": [ALICE],
    "team@example.test": [BOB, CAROL],
    "x@example.test": ["y@example.test"],
    "y@example.test": ["x@example.test"],
    "dupteam@example.test": ["dup2@example.test", "dup3@example.test"],
}

_ids = itertools.count(1)


def send(daemon: Daemon, *recipients: str) -> str:
    """``mailgateway sendmail`` one message; returns its Message-ID."""
    mid = f"<routing-{next(_ids)}@client.example.test>"
    message = f"Subject: routing test\nMessage-ID: {mid}\n\nbody of {mid}\n".encode()
    result = daemon.cli("sendmail", *recipients, stdin=message)
    assert result.returncode == 0, result.stderr.decode()
    return mid


def track(daemon: Daemon, key: str) -> str:
    result = daemon.cli("track", key)
    return result.stdout.decode() if result.returncode == 0 else ""


def event_lines(output: str, event: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(rf"\s+\S+ \S+ UTC\s+{event}\b", line)]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the whole module: every test uses its own addresses."""
    d = Daemon(tmp_path_factory.mktemp("routing"))
    try:
        d.start()
        # Every user and alias is made with the CLI while the daemon runs.
        for user in USERS:
            d.add_user(user)
        for alias, targets in ALIASES.items():
            d.cli("alias", "add", alias, *targets, check=True)
        yield d
    finally:
        d.close()


def finished(daemon: Daemon, key: str) -> bool:
    """True once the message's history ends with it leaving the queue."""
    found: dict[str, list[dict[str, Any]]] = find_message(
        daemon.data_dir / "queue" / "history", key
    )
    if not found:
        return False
    # An outcome is in the history only after the message was adopted by the
    # bus; once it is also out of the live queue, the message is finished.
    outcomes = {"delivered", "failed", "deleted"}
    qids = {q for q, events in found.items() if any(e["ev"] in outcomes for e in events)}
    live = {m["qid"] for m in daemon.request({"op": "list"})}
    return bool(qids) and not qids & live


def wait_finished(daemon: Daemon, mid: str) -> str:
    """Wait until the message has left the queue; return ``track``'s output."""
    daemon.wait_for(lambda: finished(daemon, mid), what=f"{mid} to leave the queue")
    return track(daemon, mid)


def copies(daemon: Daemon, user: str, mid: str) -> list[bytes]:
    """The copies of message ``mid`` in ``user``'s Maildir."""
    found = [p.read_bytes() for p in daemon.messages(user)]
    return [data for data in found if mid.encode() in data]


def bodies(daemon: Daemon, user: str, mid: str) -> int:
    """How many copies of message ``mid`` are in ``user``'s Maildir."""
    return len(copies(daemon, user, mid))


def test_unknown_local_user_fails_with_5_1_1(shared: Daemon) -> None:
    daemon = shared
    mid = send(daemon, "nobody@example.test")
    out = wait_finished(daemon, mid)
    (failed,) = event_lines(out, "failed")
    assert "to=<nobody@example.test> 550 5.1.1" in failed, out
    assert not event_lines(out, "delivered")
    assert not (daemon.data_dir / "mail" / "example.test" / "nobody").exists()


def test_non_local_recipient_fails_with_5_4_4(shared: Daemon) -> None:
    daemon = shared
    mid = send(daemon, "someone@remote.example")
    out = wait_finished(daemon, mid)
    (failed,) = event_lines(out, "failed")
    assert "to=<someone@remote.example> 550 5.4.4" in failed, out
    assert "remote.example" in failed.split("5.4.4", 1)[1]  # the text names the domain


def test_alias_chain_delivers_once(shared: Daemon) -> None:
    daemon = shared
    mid = send(daemon, "a@example.test")
    out = wait_finished(daemon, mid)
    (delivered,) = event_lines(out, "delivered")
    assert f"to=<{ALICE}> 250 2.0.0" in delivered, out
    assert event_lines(out, "expanded"), out
    (copy,) = copies(daemon, ALICE, mid)
    assert f"Delivered-To: {ALICE}\n".encode() in copy


def test_alias_fanout_delivers_to_each(shared: Daemon) -> None:
    daemon = shared
    mid = send(daemon, "team@example.test")
    out = wait_finished(daemon, mid)
    assert len(event_lines(out, "delivered")) == 2, out
    for user in (BOB, CAROL):
        (copy,) = copies(daemon, user, mid)
        assert f"Delivered-To: {user}\n".encode() in copy


def test_alias_loop_fails_with_5_4_6(shared: Daemon) -> None:
    daemon = shared
    mid = send(daemon, "x@example.test")
    out = wait_finished(daemon, mid)
    (failed,) = event_lines(out, "failed")
    assert re.search(r"\b5\d\d 5\.4\.6\b", failed), out
    assert not event_lines(out, "delivered")


def test_exact_duplicate_recipients_deliver_once(shared: Daemon) -> None:
    daemon = shared
    user = "dup1@example.test"
    mid = send(daemon, user, user, f"<{user}>")
    out = wait_finished(daemon, mid)
    assert bodies(daemon, user, mid) == 1, out


def test_duplicates_after_folding_and_expansion_deliver_once_per_mailbox(
    shared: Daemon,
) -> None:
    daemon = shared
    mid = send(
        daemon,
        "dup2@example.test",
        "Dup2@example.test",
        "dup3@example.test",
        "dupteam@example.test",
    )
    wait_finished(daemon, mid)
    assert bodies(daemon, "dup2@example.test", mid) == 1
    assert bodies(daemon, "dup3@example.test", mid) == 1


def test_bus_delivers_duplicate_envelope_recipients_once(shared: Daemon) -> None:
    from gateway.envelope import Address, Envelope, Origin, Recipient

    daemon = shared
    user = "dup4@example.test"
    envelope = Envelope(
        Address.parse("sender@example.test"),
        (Recipient(Address.parse(user)), Recipient(Address.parse(user))),
        Origin("bus"),
    )
    mid = "<dup-envelope@client.example.test>"
    content = f"Subject: dup\r\nMessage-ID: {mid}\r\n\r\nbody\r\n".encode()
    qid = daemon.request({"op": "submit", "envelope": envelope.to_json()}, content)
    wait_finished(daemon, qid)
    assert bodies(daemon, user, mid) == 1


def test_users_and_aliases_added_while_running_are_used(daemon: Daemon) -> None:
    """A running daemon uses users and aliases the CLI adds, without a restart."""
    daemon.start()
    assert daemon.request({"op": "ping"}) == "pong"  # running: the CLI edits live files
    daemon.add_user("dora@example.test")
    daemon.cli("alias", "add", "helpdesk@example.test", "dora@example.test", check=True)

    direct = send(daemon, "dora@example.test")
    via_alias = send(daemon, "helpdesk@example.test")
    out = wait_finished(daemon, direct)
    assert "to=<dora@example.test> 250 2.0.0" in event_lines(out, "delivered")[0], out
    out = wait_finished(daemon, via_alias)
    assert event_lines(out, "expanded") and event_lines(out, "delivered"), out
    assert bodies(daemon, "dora@example.test", direct) == 1
    assert bodies(daemon, "dora@example.test", via_alias) == 1

    # Deleting them takes effect at once too.
    daemon.cli("alias", "del", "helpdesk@example.test", check=True)
    daemon.cli("user", "del", "dora@example.test", check=True)
    gone = send(daemon, "dora@example.test")
    out = wait_finished(daemon, gone)
    assert "to=<dora@example.test> 550 5.1.1" in event_lines(out, "failed")[0], out
    assert bodies(daemon, "dora@example.test", gone) == 0
    assert daemon.process is not None and daemon.process.poll() is None


def test_mail_right_after_user_add_is_delivered(daemon: Daemon) -> None:
    from gateway.envelope import Address, Envelope, Origin, Recipient
    from gateway.store.users import add_user

    daemon.start()
    user = "fresh@example.test"
    envelope = Envelope(None, (Recipient(Address.parse(user)),), Origin("bus"))

    # a first lookup of the user (it does not exist yet): 5.1.1, fine
    first = daemon.request({"op": "submit", "envelope": envelope.to_json()}, b"\r\nfirst\r\n")
    daemon.wait_for(lambda: finished(daemon, first), what="the first message to finish")

    # add the user exactly as `mailgateway user add` does, then mail it
    add_user(daemon.data_dir / "users", Address.parse(user), "{BLF-CRYPT}$2b$05$" + "x" * 53)
    second = daemon.request({"op": "submit", "envelope": envelope.to_json()}, b"\r\nsecond\r\n")
    out = wait_finished(daemon, second)
    assert event_lines(out, "delivered"), out
