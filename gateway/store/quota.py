"""Mailbox quotas: bytes and messages per user, both optional.

The limit of a user is the configured default (``[delivery] quota_storage``
and ``quota_messages``) unless the users file gives one in Dovecot's
passwd-file extra fields, so a Dovecot user list keeps its quotas::

    alice@example.org:{BLF-CRYPT}...::::::userdb_quota_rule=*:storage=1G \
        userdb_quota_rule2=*:messages=5000

(one line in the file; extra fields are separated by spaces)

(``storage`` takes the size units of our config: ``512K``, ``100M``, ``1G``
or plain bytes; ``*:ignore`` or ``storage=0`` lifts the limit.)

Usage counts every message file of the Maildir and its folders, by the
``,S=`` size in its name (or ``stat``). It is cached per mailbox for a
couple of seconds and bumped by each delivery, so the check at RCPT time and
at delivery costs a directory scan at most every few seconds per mailbox.
Over quota, SMTP answers 452 4.2.2 at RCPT time (RFC 3463 X.2.2) and
delivery is deferred with the same status, so the message bounces only when
the queue lifetime is over.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twisted.logger import Logger

from gateway.config import parse_size
from gateway.envelope import Address, AddressError
from gateway.errors import GatewayError
from gateway.store.filenames import BadName, parse_name
from gateway.store.users import UserFile

log = Logger()

#: How long a scanned usage is trusted (deliveries in between are added).
USAGE_TTL = 2.0


@dataclass(frozen=True, slots=True)
class Quota:
    storage: int | None = None  # bytes
    messages: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.storage is None and self.messages is None


def over_quota() -> GatewayError:
    return GatewayError(452, "4.2.2", "Mailbox full (over quota)")


def parse_rules(fields: tuple[str, ...], default: Quota) -> Quota:
    """The quota named by passwd-file ``fields`` (uid, gid, …, extra fields).

    Unknown extra fields are ignored; a malformed rule raises ValueError.
    """
    extra = ":".join(fields[5:]).split()
    storage, messages = default.storage, default.messages
    for item in extra:
        key, _, value = item.partition("=")
        if not key.startswith("userdb_quota_rule"):
            continue
        mailbox, _, rule = value.partition(":")
        if mailbox != "*":
            continue  # per-folder rules are not supported: whole mailbox only
        if rule == "ignore":
            storage = messages = None
            continue
        name, _, amount = rule.partition("=")
        if name == "storage":
            storage = None if amount in ("0", "") else parse_size(amount)
        elif name == "messages":
            count = int(amount)
            messages = count if count > 0 else None
        else:
            raise ValueError(f"unknown quota rule {rule!r}")
    return Quota(storage, messages)


def usage(maildir: Path) -> tuple[int, int]:
    """(bytes, messages) of every message in ``maildir`` and its folders."""
    total = count = 0
    folders = [maildir]
    try:
        with os.scandir(maildir) as entries:
            folders += [Path(e.path) for e in entries if e.name.startswith(".") and e.is_dir()]
    except FileNotFoundError:
        return 0, 0
    for folder in folders:
        for sub in ("cur", "new"):
            try:
                with os.scandir(folder / sub) as entries:
                    for entry in entries:
                        try:
                            size = parse_name(entry.name).size
                            if size is None:
                                size = entry.stat().st_size
                        except (BadName, FileNotFoundError):
                            continue
                        total += size
                        count += 1
            except FileNotFoundError:
                continue
    return total, count


class QuotaChecker:
    """Answers "may ``size`` more bytes go into this mailbox?" (thread-safe)."""

    def __init__(
        self,
        limit_of: Callable[[str], Quota],
        clock: Callable[[], float] = time.monotonic,
        scan: Callable[[Path], tuple[int, int]] = usage,
    ) -> None:
        self._limit_of = limit_of
        self._clock = clock
        self._scan = scan
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[float, int, int]] = {}

    def check(self, user: str, maildir: Path, size: int = 0) -> None:
        """Raise the 452 4.2.2 :class:`GatewayError` if ``size`` does not fit."""
        quota = self._limit_of(user)
        if quota.unlimited:
            return
        used, messages = self._usage(maildir)
        # size 0 (RCPT time, size unknown): is there any room left at all?
        if quota.storage is not None and (used >= quota.storage or used + size > quota.storage):
            raise over_quota()
        if quota.messages is not None and messages >= quota.messages:
            raise over_quota()

    def refusal(self, user: str, maildir: Path) -> GatewayError | None:
        """The error for a mailbox with no room left (RCPT time), else None."""
        try:
            self.check(user, maildir)
        except GatewayError as e:
            return e
        return None

    def added(self, maildir: Path, size: int) -> None:
        """Count a delivery into the cached usage until the next scan."""
        with self._lock:
            cached = self._cache.get(maildir)
            if cached is not None:
                self._cache[maildir] = (cached[0], cached[1] + size, cached[2] + 1)

    def forget(self, maildir: Path) -> None:
        """Drop the cached usage (mail was removed): the next check scans."""
        with self._lock:
            self._cache.pop(maildir, None)

    def _usage(self, maildir: Path) -> tuple[int, int]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(maildir)
        if cached is not None and now - cached[0] < USAGE_TTL:
            return cached[1], cached[2]
        used, messages = self._scan(maildir)
        with self._lock:
            self._cache[maildir] = (now, used, messages)
        return used, messages


def limits_from(users: UserFile, default: Quota) -> Callable[[str], Quota]:
    """The quota of a user: their users-file rules, else ``default``."""

    def limit_of(user: str) -> Quota:
        try:
            entry = users.entry(Address.parse(user))
        except AddressError:
            return default
        if entry is None:
            return default
        try:
            return parse_rules(entry.fields, default)
        except ValueError as e:
            log.error("{file}:{line}: {error}", file=str(users.path), line=entry.line, error=e)
            return default

    return limit_of
