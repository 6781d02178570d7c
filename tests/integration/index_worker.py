"""Child process of test_index_crash: delivers and flags messages until killed.

Usage: python -m tests.integration.index_worker MAILDIR SEED

Loops forever: delivers a message into new/ as local delivery does, syncs
the folder (new files get UIDs; moved to cur/), and changes the flags of a
random message. Prints, flushed, after each step is done:

    uid <uid> <base>          a UID the index assigned
    want <uid> <letters>      about to set these flag letters
    flags <uid> <letters>     done
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from gateway.store.folder import Folder
from gateway.store.maildir import deliver_blocking, ensure_maildir

FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "\\Deleted", "\\Draft", "Work", "$Label1"]


def main() -> None:
    root, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    ensure_maildir(root)
    folder = Folder(root)
    folder.sync()
    counter = 0
    out = sys.stdout
    while True:
        counter += 1
        deliver_blocking(root, f"{seed}.{counter:06}.M0Qcrash.host", [b"Subject: x\r\n\r\nb\r\n"])
        known = {r.uid for r in folder.messages()}
        folder.sync(move_new=rng.random() < 0.5)
        for record in folder.messages():
            if record.uid not in known:
                out.write(f"uid {record.uid} {record.base}\n")
        out.flush()
        records = folder.messages()
        if not records:
            continue
        target = rng.choice(records)
        wanted = frozenset(rng.sample(FLAGS, rng.randint(0, 3)))
        out.write(f"want {target.uid} {sorted(wanted)!r}\n")
        out.flush()
        result = folder.set_flags([target.uid], lambda _old, w=wanted: w)
        if target.uid in result:
            out.write(f"flags {target.uid} {sorted(result[target.uid])!r}\n")
            out.flush()


if __name__ == "__main__":
    main()
