"""Debian's isync (mbsync), run once against an IMAP server on loopback.

Not a test module. :func:`mbsync` writes an mbsyncrc for one account into
a scratch directory (mbsync keeps its sync state there too, so calling it
again with the same ``state_dir`` continues the same pairing), syncs every
folder both ways (``Create Both``, ``Remove Both``, ``Expunge Both``) and
returns what it printed. The local side is a Maildir tree (``Verbatim``
sub-folders, INBOX at ``local/INBOX``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MBSYNC = shutil.which("mbsync") or "/usr/bin/mbsync"


@dataclass
class SyncRun:
    returncode: int
    output: str


def mbsync(
    port: int,
    user: str,
    password: str,
    local: Path,
    state_dir: Path,
    *,
    ca: Path,
    host: str = "localhost",
    tls: str = "IMAPS",
    timeout: float = 120.0,
) -> SyncRun:
    """One ``mbsync -a`` run; ``tls`` is mbsync's SSLType (IMAPS, STARTTLS)."""
    local.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    config = state_dir / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount test
Host {host}
Port {port}
User {user}
Pass "{password}"
SSLType {tls}
CertificateFile {ca}

IMAPStore remote
Account test

MaildirStore near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :near:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState {state_dir}/
Sync All
"""
    )
    config.chmod(0o600)
    result = subprocess.run(
        [MBSYNC, "-c", str(config), "-a"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return SyncRun(result.returncode, result.stdout + result.stderr)


def maildir_messages(folder: Path) -> dict[str, str]:
    """File name -> Maildir flag letters of every message in ``folder``."""
    out = {}
    for sub in ("cur", "new"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            name, _, info = path.name.partition(":2,")
            out[name] = info
    return out
