"""Maildir++ delivery into local users' mailboxes.

Layout follows D. J. Bernstein's Maildir specification
(https://cr.yp.to/proto/maildir.html) with the Maildir++ extensions used by
Courier and Dovecot: folders are dot-directories (``.Sent``) holding their own
``cur/ new/ tmp/`` and an empty ``maildirfolder`` file, ``,S=<size>`` in a
file name gives its size in bytes, and ``:2,<flags>`` marks a message that a
reader has moved to ``cur/``.

A message is written to ``tmp/``, fsynced, renamed into ``new/`` and the
directory fsynced, so a returned path is durable. Delivery goes into the
INBOX, or into another folder (``Junk`` for suspect mail), which is created
first if it is missing. Delivery is idempotent by
its deterministic unique name: a redelivery after a crash (written, but the
outcome not yet recorded) finds the earlier file and writes nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.fsutil import DirectorySyncer, atomic_write, durable_write, fsync_directory
from gateway.interfaces import ILocalStore
from gateway.store.filenames import crlf_size, to_lf
from gateway.store.folders import INBOX, SEPARATOR, SPECIAL_USE, folder_directory, is_inbox

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorFromThreads
    from twisted.python.threadpool import ThreadPool

    from gateway.envelope import Address
    from gateway.store.quota import QuotaChecker

#: Folders every new Maildir gets (Dovecot's usual special-use set).
DEFAULT_FOLDERS: tuple[str, ...] = ("Sent", "Drafts", "Junk", "Trash")

#: The folder suspect mail is filed in: the one of special use ``\\Junk``
#: (RFC 6154), ``.Junk/`` on disk.
JUNK_FOLDER: str = next(name for name, use in SPECIAL_USE.items() if use == "\\Junk")

#: Dovecot's subscriptions file header (subscription-file.c, version 2):
#: ``V<TAB>2`` and an empty line, then one mailbox name per line.
_SUBSCRIPTIONS_HEADER = b"V\t2\n\n"

_DIR_MODE = 0o700
_FILE_MODE = 0o600

# Serialises first-time creation of a Maildir between pool threads.
_create_lock = threading.Lock()


def maildir_path(mail_dir: Path, address: Address) -> Path:
    """The Maildir root of ``address``: ``mail_dir/<domain>/<local part>``.

    The local part is lower-cased (as :meth:`Address.key` does). Raises
    :class:`ValueError` for a local part or domain that could escape
    ``mail_dir`` or clash with Maildir++ folder names.
    """
    local = address.local.lower()
    domain = address.domain
    for label, part in (("local part", local), ("domain", domain)):
        if not part or "/" in part or "\0" in part or part.startswith("."):
            raise ValueError(f"unsafe {label} for a mailbox path: {part!r}")
    return mail_dir / domain / local


def _make_dirs(root: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(mode=_DIR_MODE, exist_ok=True)


def _make_folder(folder: Path) -> None:
    """Create the Maildir++ folder directory ``folder`` (``cur new tmp`` and
    the empty ``maildirfolder`` file), fsynced; the caller fsyncs the root."""
    folder.mkdir(mode=_DIR_MODE, exist_ok=True)
    _make_dirs(folder)
    marker = folder / "maildirfolder"
    if not marker.exists():
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, _FILE_MODE))
    fsync_directory(folder)


def ensure_maildir(root: Path) -> None:
    """Create the Maildir++ at ``root`` with its default folders, if needed.

    Creates ``cur new tmp``, the folders :data:`DEFAULT_FOLDERS` (each a
    Maildir with an empty ``maildirfolder`` file) and Dovecot's
    ``subscriptions`` file listing them. Idempotent; when the Maildir exists
    (``tmp/`` and ``subscriptions`` present) it costs two ``stat`` calls. An
    existing ``subscriptions`` file is never rewritten.
    """
    subscriptions = root / "subscriptions"
    if (root / "tmp").is_dir() and subscriptions.exists():
        return
    with _create_lock:
        root.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        root.mkdir(mode=_DIR_MODE, exist_ok=True)
        _make_dirs(root)
        for name in DEFAULT_FOLDERS:
            _make_folder(root / f".{name}")
        if not subscriptions.exists():
            body = b"".join(name.encode() + b"\n" for name in DEFAULT_FOLDERS)
            atomic_write(subscriptions, _SUBSCRIPTIONS_HEADER + body, _FILE_MODE)
        # Make the new directory entries themselves durable.
        fsync_directory(root)
        fsync_directory(root.parent)


def _subscribe(root: Path, name: str) -> None:
    """Add ``name`` to Dovecot's ``subscriptions`` file of ``root`` unless
    it is listed (the format :class:`gateway.store.account.Account` reads
    and writes: modified UTF-7, TAB as hierarchy separator)."""
    line = name.encode("imap4-utf-7").replace(SEPARATOR.encode(), b"\t")
    path = root / "subscriptions"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    data = data or _SUBSCRIPTIONS_HEADER
    lines = data.split(b"\n")
    if line in (lines[2:] if lines[0].startswith(b"V\t") else lines):
        return
    if data and not data.endswith(b"\n"):
        data += b"\n"
    atomic_write(path, data + line + b"\n", _FILE_MODE)


def ensure_folder(root: Path, name: str) -> Path:
    """The directory of folder ``name`` of the Maildir ``root``, created
    first if it is missing; ``root`` itself for INBOX.

    ``root`` must exist (:func:`ensure_maildir`). A folder is created the
    way IMAP CREATE does it (:meth:`gateway.store.account.Account.create`):
    ``cur new tmp`` and ``maildirfolder``, fsynced, its index made by the
    first reader. A folder created here is also subscribed (as Dovecot's
    ``lda_mailbox_autosubscribe`` does), so clients that show subscribed
    folders only see mail filed there. An existing folder costs two
    ``stat`` calls and is left as it is (subscribed or not). Raises
    :class:`~gateway.store.folders.BadFolderName` for a bad name.
    """
    if is_inbox(name):
        return root
    directory = folder_directory(root, name)
    if (directory / "tmp").is_dir() and (directory / "cur").is_dir():
        return directory
    with _create_lock:
        if not (directory / "cur").is_dir():
            _make_folder(directory)
            fsync_directory(root)
            _subscribe(root, name)
        else:  # a reader made it meanwhile, or only tmp/ was missing
            _make_dirs(directory)
    return directory


def _escape_name_part(text: str) -> str:
    # cr.yp.to/proto/maildir.html: "/" becomes \057 and ":" becomes \072.
    return text.replace("/", "\\057").replace(":", "\\072")


def unique_name(accepted_at: float, qid: str, index: int, hostname: str) -> str:
    """The deterministic Maildir name of one (message, recipient) pair.

    ``{sec}.M{usec}Q{qid}R{index}.{host}``: the time the message was
    accepted, its queue id and the recipient's index, so a redelivery of the
    same recipient produces the same name. ``/`` and ``:`` in the host (and
    queue id) are escaped as ``\\057`` and ``\\072`` as the Maildir spec asks.
    """
    sec, usec = divmod(round(accepted_at * 1_000_000), 1_000_000)
    return f"{sec}.M{usec}Q{_escape_name_part(qid)}R{index}.{_escape_name_part(hostname)}"


def _matches(name: str, unique: str) -> bool:
    """True if ``name`` is ``unique`` plus Maildir++ ``,`` or ``:2,`` suffixes."""
    return name == unique or name.startswith((unique + ",", unique + ":"))


def _find_existing(directory: Path, unique: str) -> Path | None:
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if _matches(entry.name, unique):
                    return Path(entry.path)
    except FileNotFoundError:
        return None
    return None


def deliver_blocking(
    root: Path,
    unique: str,
    chunks: Sequence[bytes],
    check_cur: bool = False,
    sync: Callable[[Path], None] | None = None,
    admit: Callable[[int], None] | None = None,
) -> Path:
    """Write ``b"".join(chunks)`` as ``new/<unique>,S=<size>,W=<vsize>`` under ``root``.

    Line ends are stored as LF, the Maildir convention that Dovecot, mutt
    and Postfix's ``virtual`` use; readers turn them back into CRLF.

    Blocking (run it in a thread). Idempotent: if ``new/`` already holds the
    exact name, returns it and writes nothing. With ``check_cur`` (messages
    recovered after a restart) it also scans ``cur/`` (where a reader may
    have moved and flagged it, ``…:2,S``) and ``new/`` (in case the size
    differs) once each. Otherwise writes ``tmp/<unique>``, fsyncs it, renames
    it into ``new/`` and fsyncs ``new/`` (through ``sync``, a
    :meth:`DirectorySyncer.sync`, when given). ``admit(size)`` is called
    before a new file is written and may refuse it by raising (the quota
    check). Raises :class:`OSError` on failure,
    leaving neither the tmp file nor a file in ``new/``.
    """
    if not unique or "/" in unique or ":" in unique or "\0" in unique or unique[0] == ".":
        raise ValueError(f"bad Maildir unique name: {unique!r}")
    data = to_lf(b"".join(chunks))
    # Maildir++ S=: octets on disk; Dovecot's W=: octets with CRLF line ends.
    final = root / "new" / f"{unique},S={len(data)},W={crlf_size(data)}"
    if os.path.lexists(final):
        return final
    if check_cur:
        for sub in ("cur", "new"):
            found = _find_existing(root / sub, unique)
            if found is not None:
                return found

    if admit is not None:  # only for a message not yet there (quota: may raise)
        admit(len(data))
    # If new/ cannot be fsynced, the file is taken back: a retry does the full cycle.
    durable_write(
        root / "tmp" / unique, final, (data,), _FILE_MODE, replace=False, sync_directory=sync
    )
    return final


@dataclass(slots=True)
class _Delivery:
    user: Address
    chunks: tuple[bytes, bytes]
    unique: str
    check_cur: bool
    deferred: Deferred[str] | None  # None in the delivery process (gateway.store.deliverer)
    folder: str = INBOX


_BATCH = 64


def write_batch(
    mail_dir: Path,
    batch: list[_Delivery],
    syncer: DirectorySyncer,
    quota: QuotaChecker | None = None,
    delivered: Callable[[Path], None] | None = None,
) -> list[tuple[_Delivery, str | Failure]]:
    """Write ``batch`` (blocking): each file written and fsynced, then each
    directory that received files fsynced once (shared through ``syncer``);
    the path of each, or its failure. ``delivered(folder)`` is told of each
    folder that received mail."""
    written: list[tuple[_Delivery, Path | Failure]] = []
    for job in batch:
        try:
            root = maildir_path(mail_dir, job.user)
            ensure_maildir(root)
            target = ensure_folder(root, job.folder)
            admit = None if quota is None else _admitter(quota, job, root)
            path = deliver_blocking(target, job.unique, job.chunks, job.check_cur, _no_sync, admit)
        except Exception:
            written.append((job, Failure()))
        else:
            written.append((job, path))
    synced: dict[Path, Failure | None] = {}
    for _job, outcome in written:
        if isinstance(outcome, Path) and outcome.parent not in synced:
            try:
                syncer.sync(outcome.parent)
            except OSError:
                # the entry may not be durable: fail it; a retry finds the
                # file by its name and syncs the directory again
                synced[outcome.parent] = Failure()
            else:
                synced[outcome.parent] = None
                if delivered is not None:
                    delivered(outcome.parent.parent)
    return [
        (
            job,
            outcome if isinstance(outcome, Failure) else synced[outcome.parent] or str(outcome),
        )
        for job, outcome in written
    ]


def _admitter(quota: QuotaChecker, job: _Delivery, root: Path) -> Callable[[int], None]:
    def admit(size: int) -> None:
        quota.check(str(job.user), root, size)  # raises 452 4.2.2
        quota.added(root, size)

    return admit


def _no_sync(directory: Path) -> None:
    """The directory fsync is done once per batch instead (see MaildirStore)."""


@implementer(ILocalStore)
class MaildirStore:
    """:class:`ILocalStore` writing into ``mail_dir/<domain>/<user>/`` Maildirs.

    Deliveries queue up and a few workers of ``pool`` take them in batches:
    each file is written and fsynced, then each directory that received
    files is fsynced once for the whole batch (shared between workers by a
    :class:`DirectorySyncer`), and the batch's results go back to the
    reactor in one call. Under load this saves a thread hand-off and a
    directory fsync per message; no Deferred fires before its own file and
    directory entry are durable.
    """

    def __init__(
        self,
        mail_dir: Path,
        reactor: IReactorFromThreads,
        pool: ThreadPool,
        workers: int = 2,
        quota: QuotaChecker | None = None,
        delivered: Callable[[Path], None] | None = None,
    ) -> None:
        """``delivered(directory)`` is told (from a pool thread) after mail
        landed in a folder, so IMAP IDLE sessions hear of it at once: the
        folder's directory, which is the Maildir root for INBOX
        (:meth:`gateway.store.mailstore.MailStore.delivered`)."""
        self.mail_dir = mail_dir
        self.quota = quota
        self.delivered = delivered
        self._reactor = reactor
        self._pool = pool
        self._max_workers = workers
        self._workers = 0
        self._pending: list[_Delivery] = []
        self._lock = threading.Lock()
        self._syncer = DirectorySyncer()

    def deliver(
        self,
        user: Address,
        content: bytes,
        prefix: bytes,
        unique: str,
        check_cur: bool = False,
        folder: str = INBOX,
    ) -> Deferred[str]:
        """Deliver ``prefix + content`` into ``folder`` (INBOX by default)
        of ``user``, creating the folder if it is missing
        (:func:`ensure_folder`).

        Fires with the file's path once durable; fails with
        :class:`OSError` (or :class:`ValueError` for an unsafe address or
        folder name). The quota counts the whole mailbox, whatever folder.
        """
        d: Deferred[str] = Deferred()
        with self._lock:
            self._pending.append(_Delivery(user, (prefix, content), unique, check_cur, d, folder))
            start = self._workers < self._max_workers
            if start:
                self._workers += 1
        if start:
            self._pool.callInThread(self._drain)
        return d

    def _drain(self) -> None:
        """A worker: take batches until nothing is pending."""
        while True:
            with self._lock:
                batch, self._pending = self._pending[:_BATCH], self._pending[_BATCH:]
                if not batch:
                    self._workers -= 1
                    return
            results = self._write(batch)
            self._reactor.callFromThread(self._fire, results)

    def _write(self, batch: list[_Delivery]) -> list[tuple[_Delivery, str | Failure]]:
        return write_batch(self.mail_dir, batch, self._syncer, self.quota, self.delivered)

    @staticmethod
    def _fire(results: list[tuple[_Delivery, str | Failure]]) -> None:
        for job, outcome in results:
            assert job.deferred is not None
            if isinstance(outcome, Failure):
                job.deferred.errback(outcome)
            else:
                job.deferred.callback(outcome)
