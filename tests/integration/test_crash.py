"""Crash test: kill -9 the daemon at random moments while mail is submitted.

Every message whose submission was acknowledged (the control socket
answered with a queue id, or ``mailgateway sendmail`` exited 0) must end up
in the right Maildir exactly once; a message that was not acknowledged may
be there once or not at all, never twice.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from pathlib import Path

import pytest

from gateway.cli.control_client import ControlRequestFailed, DaemonUnavailable
from gateway.envelope import Address, Envelope, Origin, Recipient
from tests.integration.daemon import Daemon

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 1000
USERS = [f"user{i}@example.test" for i in range(5)]
SENDMAIL_EVERY = 10  # one message in ten goes through sendmail's drop directory
_MID = re.compile(rb"^Message-ID: <([^>]+)>", re.MULTILINE | re.IGNORECASE)


def message(token: str) -> bytes:
    body = (f"token {token}\r\n" * 60).encode()  # about 4 KiB with headers
    return (
        f"From: crash@remote.test\r\nMessage-ID: <{token}>\r\nSubject: {token}\r\n\r\n"
    ).encode() + body


class Load:
    """Submits TOTAL acknowledged messages, whatever happens to the daemon."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # token -> user
        self.unacked: dict[str, str] = {}
        self.counter = 0
        self.errors: list[str] = []

    def next_token(self) -> tuple[str, str] | None:
        with self.lock:
            if len(self.acked) >= TOTAL:
                return None
            self.counter += 1
            n = self.counter
        return f"crash-{n}@test", USERS[n % len(USERS)]

    def run(self) -> None:
        rng = random.Random()
        while (item := self.next_token()) is not None:
            token, user = item
            try:
                if rng.randrange(SENDMAIL_EVERY) == 0:
                    result = self.daemon.cli(
                        "sendmail", "-f", "crash@remote.test", user, stdin=message(token)
                    )
                    ok = result.returncode == 0
                else:
                    env = Envelope(
                        Address.parse("crash@remote.test"),
                        (Recipient(Address.parse(user)),),
                        Origin("test"),
                    )
                    self.daemon.request(
                        {"op": "submit", "envelope": env.to_json()}, message(token)
                    )
                    ok = True
            except (DaemonUnavailable, ConnectionError, OSError, ControlRequestFailed):
                ok = False
            except Exception as e:  # anything else is a bug: remember it
                self.errors.append(repr(e))
                ok = False
            with self.lock:
                (self.acked if ok else self.unacked)[token] = user
            if not ok:
                threading.Event().wait(0.05)  # the daemon is restarting


def delivered(daemon: Daemon) -> Counter[tuple[str, str]]:
    seen: Counter[tuple[str, str]] = Counter()
    for user in USERS:
        for path in daemon.messages(user):
            match = _MID.search(Path(path).read_bytes())
            assert match, f"delivered file without our Message-ID: {path}"
            seen[(match.group(1).decode(), user)] += 1
    return seen


def test_kill_9_loses_and_duplicates_nothing(daemon: Daemon) -> None:
    daemon.start()
    for user in USERS:
        daemon.add_user(user)
    load = Load(daemon)
    threads = [threading.Thread(target=load.run, daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    rng = random.Random(2156)
    kills = 0
    while any(t.is_alive() for t in threads):
        threading.Event().wait(rng.uniform(0.3, 1.5))
        if not any(t.is_alive() for t in threads):
            break
        daemon.kill()
        kills += 1
        daemon.start()
    for t in threads:
        t.join(60)
    assert load.errors == []
    assert kills >= 3, "the load finished before the daemon was killed enough"
    maildrop = daemon.data_dir / "maildrop"

    def drained() -> bool:
        waiting = [p for p in maildrop.iterdir() if p.is_file()]
        return not waiting and daemon.request({"op": "list"}) == []

    daemon.wait_for(drained, timeout=120, what="the maildrop and the queue to drain")
    assert not list((maildrop / "corrupt").glob("*")), "a drop file was judged corrupt"
    seen = delivered(daemon)
    lost = [t for t, u in load.acked.items() if seen[(t, u)] == 0]
    duplicated = [t for t, u in load.acked.items() if seen[(t, u)] > 1]
    unacked_twice = [t for t, u in load.unacked.items() if seen[(t, u)] > 1]
    strays = [k for k in seen if k[0] not in load.acked and k[0] not in load.unacked]
    print(f"crash test: {len(load.acked)} acknowledged, {len(load.unacked)} not, {kills} kills")
    assert len(load.acked) >= TOTAL
    assert lost == []
    assert duplicated == []
    assert unacked_twice == []
    assert strays == []
