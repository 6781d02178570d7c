"""The folder index survives kill -9 during delivery and flag changes.

A child process (index_worker) delivers messages, syncs and changes flags in
a loop and reports each step once it is done; it is killed with SIGKILL at
random moments and restarted. At the end every UID it reported still names
the same message, UIDVALIDITY never changed, and every message carries the
flags last reported for it (or, for the one change in flight at a kill,
the flags it was about to set).
"""

from __future__ import annotations

import ast
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from gateway.store.folder import Folder

ROOT = Path(__file__).resolve().parents[2]
KILLS = 25


class Observed:
    def __init__(self) -> None:
        self.uids: dict[int, str] = {}  # uid -> base
        self.flags: dict[int, set[tuple[str, ...]]] = {}  # uid -> acceptable flag sets

    def feed(self, line: str, in_flight: dict[int, tuple[str, ...]]) -> None:
        kind, uid_text, rest = line.split(" ", 2)
        uid = int(uid_text)
        if kind == "uid":
            assert self.uids.setdefault(uid, rest) == rest, f"UID {uid} reused"
            self.flags.setdefault(uid, {()})
        elif kind == "want":
            in_flight[uid] = tuple(ast.literal_eval(rest))
        elif kind == "flags":
            self.flags[uid] = {tuple(ast.literal_eval(rest))}
            in_flight.pop(uid, None)


def run_once(maildir: Path, seed: int, observed: Observed, rng: random.Random) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.index_worker", str(maildir), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    fd = child.stdout.fileno()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    deadline = time.monotonic() + rng.uniform(0.2, 0.8)
    while time.monotonic() < deadline and child.poll() is None:
        drain()
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    drain()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL, "the worker died on its own"
    text = b"".join(chunks).decode()
    in_flight: dict[int, tuple[str, ...]] = {}
    complete = text.split("\n")[:-1]  # a torn last line was never "done"
    for line in complete:
        observed.feed(line, in_flight)
    for uid, wanted in in_flight.items():
        observed.flags.setdefault(uid, {()}).add(wanted)
        # the next run may build on either: keep both acceptable until it reports


def test_uids_and_flags_survive_kill_9(tmp_path: Path) -> None:
    maildir = tmp_path / "example.test" / "user"
    rng = random.Random(1006)
    observed = Observed()
    uidvalidities = set()
    for n in range(KILLS):
        run_once(maildir, n, observed, rng)
        folder = Folder(maildir)
        folder.sync()
        uidvalidities.add(folder.header.uidvalidity)
        check(folder, observed)
        folder.close()
    assert len(observed.uids) > 100, "the worker did too little to test anything"
    assert len(uidvalidities) == 1


def check(folder: Folder, observed: Observed) -> None:
    records = {r.uid: r for r in folder.messages()}
    for uid, base in observed.uids.items():
        assert uid in records, f"UID {uid} lost"
        assert records[uid].base == base, f"UID {uid} now names {records[uid].base}"
        flags = tuple(sorted(folder.flags(records[uid])))
        assert flags in observed.flags[uid], f"UID {uid}: {flags} not in {observed.flags[uid]}"
        observed.flags[uid] = {flags}  # what the next run starts from
    bases = [r.base for r in records.values()]
    assert len(bases) == len(set(bases))
