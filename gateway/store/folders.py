"""Folder names and their Maildir++ directories.

``INBOX`` is the Maildir root; any other folder is a dot-directory named by
the full hierarchy with ``.`` as separator (``Lists.Twisted`` lives in
``.Lists.Twisted/``), each name in IMAP's modified UTF-7 (RFC 3501 5.1.3)
as Dovecot writes them, so a Maildir is shared with Dovecot as is.
"""

from __future__ import annotations

from pathlib import Path

import twisted.mail.imap4  # noqa: F401  (registers the "imap4-utf-7" codec)

SEPARATOR = "."
INBOX = "INBOX"

#: RFC 6154 special-use roles of the default folders.
SPECIAL_USE: dict[str, str] = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Junk": "\\Junk",
    "Trash": "\\Trash",
}


class BadFolderName(ValueError):
    """A folder name that cannot be stored (the message says why)."""


def is_inbox(name: str) -> bool:
    return name.upper() == INBOX  # RFC 3501 5.1: INBOX is case-insensitive


def folder_directory(root: Path, name: str) -> Path:
    """The directory holding folder ``name`` (Unicode) of the Maildir ``root``."""
    if is_inbox(name):
        return root
    parts = name.split(SEPARATOR)
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\0" in part:
            raise BadFolderName(f"bad folder name: {name!r}")
    encoded = name.encode("imap4-utf-7").decode("ascii")
    return root / f".{encoded}"


def folder_name(directory_name: str) -> str:
    """The Unicode name of the folder in dot-directory ``directory_name``."""
    if not directory_name.startswith(".") or directory_name in (".", ".."):
        raise BadFolderName(f"not a Maildir++ folder directory: {directory_name!r}")
    try:
        return directory_name[1:].encode("ascii").decode("imap4-utf-7")
    except (UnicodeError, ValueError) as e:
        raise BadFolderName(f"bad folder directory name {directory_name!r}: {e}") from None
