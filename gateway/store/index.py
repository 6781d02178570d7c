"""The per-folder index: UIDs, MODSEQs and cached message data in SQLite.

One SQLite database per folder (``mailgateway-index.sqlite`` in the folder's
directory; not a dot file, so Dovecot ignores it) records, per message file
base name, its UID, current file name, sizes, flag letters, MODSEQ and
INTERNALDATE, plus a cache slot for parsed structure, and per folder its
UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ (RFC 9051 2.3.1.1, RFC 7162 3).

The Maildir stays the authority for which messages exist and their flags:
the index is what gives them stable UIDs and saves reading every file. It
is written in WAL mode with ``synchronous=NORMAL``: a process killed at any
point leaves it consistent, and whatever the Maildir changed meanwhile is
found by the next sync (see :mod:`gateway.store.folder`). A database that
cannot be opened or read raises :class:`IndexDamaged`; the folder then
rebuilds it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INDEX_FILE = "mailgateway-index.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    uid INTEGER PRIMARY KEY,
    base TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    subdir TEXT NOT NULL,
    size INTEGER NOT NULL,
    vsize INTEGER NOT NULL,
    letters TEXT NOT NULL,
    modseq INTEGER NOT NULL,
    idate REAL NOT NULL,
    cache BLOB
);
"""


class IndexDamaged(Exception):
    """The index database cannot be used; it must be rebuilt."""


@dataclass(slots=True)
class Record:
    """What the index knows of one message."""

    uid: int
    base: str
    name: str
    subdir: str  # "new" or "cur"
    size: int  # octets on disk
    vsize: int  # octets with CRLF line ends
    letters: str
    modseq: int
    idate: float  # INTERNALDATE, seconds since the epoch


@dataclass(slots=True)
class Header:
    uidvalidity: int
    uidnext: int
    highest_modseq: int


class FolderIndex:
    """The SQLite file of one folder. Not thread-safe: the folder locks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            version = self._meta("version")
            if version is not None and version != SCHEMA_VERSION:
                raise IndexDamaged(f"{path}: schema version {version}, expected {SCHEMA_VERSION}")
            self._db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.Error as e:
            raise IndexDamaged(f"{path}: {e}") from e

    def close(self) -> None:
        self._db.close()

    def _meta(self, key: str) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def header(self) -> Header | None:
        """The folder header, or None for a new (empty) index."""
        try:
            uidvalidity = self._meta("uidvalidity")
            if uidvalidity is None:
                return None
            return Header(
                uidvalidity, self._meta("uidnext") or 1, self._meta("highest_modseq") or 1
            )
        except sqlite3.Error as e:
            raise IndexDamaged(f"{self.path}: {e}") from e

    def records(self) -> list[Record]:
        try:
            rows = self._db.execute(
                "SELECT uid, base, name, subdir, size, vsize, letters, modseq, idate "
                "FROM messages ORDER BY uid"
            ).fetchall()
        except sqlite3.Error as e:
            raise IndexDamaged(f"{self.path}: {e}") from e
        return [Record(*row) for row in rows]

    @contextmanager
    def transaction(self) -> Iterator[Writer]:
        """All changes inside are committed together, or none are."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield Writer(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def caches(self) -> dict[int, dict[str, Any]]:
        """Every message's cached values (JSON objects), by UID."""
        out: dict[int, dict[str, Any]] = {}
        try:
            rows = self._db.execute(
                "SELECT uid, cache FROM messages WHERE cache IS NOT NULL"
            ).fetchall()
        except sqlite3.Error as e:
            raise IndexDamaged(f"{self.path}: {e}") from e
        for uid, blob in rows:
            try:
                value = json.loads(blob)
            except ValueError:
                continue  # a damaged cache entry is recomputed
            if isinstance(value, dict):
                out[int(uid)] = value
        return out


class Writer:
    """Changes made inside :meth:`FolderIndex.transaction`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def set_header(self, header: Header) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("version", SCHEMA_VERSION),
                ("uidvalidity", header.uidvalidity),
                ("uidnext", header.uidnext),
                ("highest_modseq", header.highest_modseq),
            ],
        )

    def add(self, record: Record) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO messages "
            "(uid, base, name, subdir, size, vsize, letters, modseq, idate) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.uid,
                record.base,
                record.name,
                record.subdir,
                record.size,
                record.vsize,
                record.letters,
                record.modseq,
                record.idate,
            ),
        )

    def rename(self, record: Record) -> None:
        self._db.execute(
            "UPDATE messages SET name = ?, subdir = ?, letters = ?, modseq = ? WHERE uid = ?",
            (record.name, record.subdir, record.letters, record.modseq, record.uid),
        )

    def store_cache(self, uid: int, values: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE messages SET cache = ? WHERE uid = ?",
            (json.dumps(values, separators=(",", ":")), uid),
        )

    def remove(self, uids: list[int]) -> None:
        self._db.executemany("DELETE FROM messages WHERE uid = ?", [(uid,) for uid in uids])
