"""The X.400 file channel: MTS-APDUs exchanged as files with a legacy system.

Some X.400 systems do not speak P1 over the network but hand messages over
as files.  A file channel is a pair of directories: an inbound one where the
legacy system drops BER-encoded MTS-APDUs (X.411 ``MTS-APDU``: a message, a
report or a probe, one per file) and an outbound one where the gateway
writes them.

Inbound directory ``<in>/`` (read by :class:`FileChannelPoller`)::

    <in>/NAME.ber          complete files, dropped by the legacy system
    <in>/work/NAME.ber     claimed by the gateway, being processed
    <in>/done/NAME.ber     durably queued on the bus
    <in>/failed/NAME.ber   refused; <in>/failed/NAME.ber.reason says why

The legacy system's convention (maildir-like): a file is complete when it
appears in ``<in>/`` with a name ending in ``.ber``.  Write it under
another name -- ``NAME.tmp`` in ``<in>/``, or anything in ``<in>/tmp/`` --
and rename it to ``<in>/NAME.ber`` when it is whole (same file system, so
the rename is atomic).  Everything else in ``<in>/`` is ignored: other
suffixes, names starting with ``.``, names with control characters or
longer than 200 characters before ``.ber``, directories.

The gateway claims a file by linking it into ``work/`` and unlinking it
from ``<in>/``: ``link`` never replaces an existing name, so two pollers of
the same directory (an old and a new daemon overlapping during a restart)
never take the same file, and a file of a name still in ``work/`` waits in
``<in>/`` until that one has left (the directory's file system must have
hard links).  It then reads it (at most
``max_size`` octets), translates it (:func:`ingest`) and submits the result
to the bus.  Only when the bus says the message is durable does the file
move to ``done/``.  A file that cannot be accepted -- too large, not BER,
not an MTS-APDU, a probe, a translation error -- moves to ``failed/`` with
a one-line ``.reason`` file (the BER error and its offset, the translation
error with its RFC 3463 status ...).  A name already taken in ``done/`` or
``failed/`` gets ``~1``, ``~2`` ... before ``.ber``.

When the bus cannot take the message (the submit Deferred fails) the file
stays in ``work/`` and is submitted again at the next scan.  At start the
poller takes over whatever ``work/`` holds (a crash mid-way) and processes
it again.  So nothing is lost; a message is submitted twice only if the
daemon stopped between the bus accepting it and the move to ``done/``, and
even then it is queued once: the queue id is derived from the file's
contents (:func:`file_qid`), and the bus does not queue again a queue id it
knows (:meth:`gateway.interfaces.IMessageBus.submit`).  (Once the bus has
finished with a message and forgotten its id, a second copy of the same
file would be a second message.)  Taking over ``work/`` at start assumes no
other poller of the same directory is still running.

Probes are refused into ``failed/`` ("probes are not
supported by the file channel"): answering one needs a report about
deliverability that only the router could give, and the legacy system is
better told by its operator than by a made-up delivery report.

Outbound directory ``<out>/`` (written by :class:`FileChannelAgent`)::

    <out>/tmp/NAME.ber     being written (never complete to a reader)
    <out>/NAME.ber         complete and durable: the legacy system takes it

Each file is written in ``tmp/``, fsynced, renamed into ``<out>/`` and the
directory fsynced (:func:`gateway.fsutil.durable_write`), so a file with a
``.ber`` name in ``<out>/`` is always complete.  ``NAME`` is
``<qid>.<digest of the targets>``: the same job written again (a restart
before the bus recorded the outcome) finds its file, while it is still in
``<out>/``, and does not write a second copy.

The directory work is small and synchronous: the poller does it in the
reactor thread (like :class:`gateway.bus.maildrop.MaildropPickup`); the
agent does it in a thread pool when given one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.bus.agents import DeliveryJob, Outcome, Result
from gateway.envelope import Envelope, Origin
from gateway.fsutil import durable_write, fsync_directory
from gateway.interfaces import IDeliveryAgent
from gateway.polling import PollingService
from gateway.x400.model import Probe, Report
from gateway.x400.msgid import format_mts_id
from gateway.x400.outbound import Outgoing, outgoing
from gateway.x400.p1codec import APDUError, decode_apdu

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorThreads, IReactorTime
    from twisted.python.threadpool import ThreadPool

    from gateway.x400.context import Gateway
    from gateway.x400.p1.inbound import Judge, Submission

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FileChannelAgent",
    "FileChannelPoller",
    "IngestError",
    "Ingested",
    "file_qid",
    "ingest",
]

SUFFIX = ".ber"
WORK, DONE, FAILED, TMP = "work", "done", "failed", "tmp"
REASON_SUFFIX = ".reason"
DEFAULT_MAX_SIZE = 64 << 20  # as the default [x400] max_total
ORIGIN_PROTOCOL = "x400-file"
PROBES_REFUSED = "probes are not supported by the file channel"
# Inbound names the channel takes: no leading dot, no control characters
# (the name goes into log lines), room for the "~N" and ".reason" it may add.
_NAME = re.compile(r"[^.\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,199}\.ber")
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_INTERPERSONAL = (2, 22)  # X.420: P2 (1984) and P22 (1988) content types


# --- inbound: one file to one bus submission -------------------------------------


class IngestError(ValueError):
    """A file that cannot be accepted; the message is the one-line reason."""


@dataclass(frozen=True)
class Ingested:
    """What an inbound file becomes on the bus: the SMTP envelope and the
    Internet message (CR LF), the queue id to submit it under, what it was
    (``message``; ``report``: a DSN; ``notification``: an IPN as an MDN)
    and its X.400 identifier (MTS-identifier or report-identifier) for the
    log."""

    kind: Literal["message", "report", "notification"]
    envelope: Envelope
    content: bytes
    qid: str
    identifier: str


def file_qid(data: bytes) -> str:
    """The queue id of an inbound file: ``X`` and 16 hex digits of the
    SHA-256 of its contents, so that submitting the same file again after a
    crash is recognised by the bus (module docstring)."""
    return "X" + hashlib.sha256(data).hexdigest()[:16].upper()


def ingest(
    data: bytes,
    gw: Gateway,
    limits: Mapping[str, int] | None = None,
    *,
    judge: Judge | None = None,
    max_message_size: int | None = None,
) -> Ingested:
    """Translate one inbound MTS-APDU for the bus, as P1 does
    (:func:`gateway.x400.p1.inbound.to_internet`): a message with
    interpersonal content becomes an Internet message (RFC 2156 4.6.2, 5.3),
    an IPN an MDN (5.3.5), a report a DSN (5.3.8) addressed to the report
    destination.  ``limits`` are the BER limits (``max_depth``,
    ``max_length``, ``max_total``).  A probe is serviced with a report
    (RFC 2156 5.3.9, :func:`~gateway.x400.p1.inbound.probe_report`) when
    ``judge`` is given, else refused (:data:`PROBES_REFUSED`).  Raises
    :class:`IngestError` saying what was wrong; nothing else for any input.
    """
    from gateway.x400.p1.inbound import probe_report, to_internet
    from gateway.x400.p1.protocol import TransferRefused

    ber = dict(limits or {})
    try:
        apdu = decode_apdu(data, **ber)
    except APDUError as exc:
        raise IngestError(str(exc)) from None
    if isinstance(apdu, Probe) and judge is None:
        raise IngestError(PROBES_REFUSED)
    submission: Submission | None
    try:
        if isinstance(apdu, Probe):
            assert judge is not None
            submission = probe_report(apdu, gw, judge, max_message_size)
        else:
            submission = to_internet(apdu, gw, ber)
    except TransferRefused as exc:
        raise IngestError(_one_line(exc.reason)) from None
    assert submission is not None  # only a probe gives None
    if isinstance(apdu, Report):
        identifier = format_mts_id(apdu.identifier)
    else:
        identifier = format_mts_id(apdu.envelope.identifier)
    kind: Literal["message", "report", "notification"] = "message"
    if submission.kind == "ipn":
        kind = "notification"
    elif submission.kind.endswith("report"):  # a report's DSN, a probe's report
        kind = "report"
    envelope = submission.envelope(Origin(ORIGIN_PROTOCOL))
    return Ingested(kind, envelope, submission.content, file_qid(data), identifier)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- moving files without replacing any --------------------------------------------


def _numbered(name: str, n: int) -> str:
    if n == 0:
        return name
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
    return f"{stem}~{n}{SUFFIX}"


def _link_new(src: Path, directory: Path, name: str) -> Path:
    """Hard-link ``src`` into ``directory`` under ``name`` or the first free
    ``name~N``; a name that already is ``src`` (a crash after the link) is
    used again.  Does not remove ``src``."""
    for n in range(10_000):
        dest = directory / _numbered(name, n)
        try:
            os.link(src, dest)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if os.path.samefile(src, dest):
                    return dest
            continue
        return dest
    raise OSError(errno.EEXIST, f"no free name for {name} in {directory}")


# --- the inbound poller -------------------------------------------------------------

#: ``submit(envelope, content, qid)``: :meth:`gateway.bus.bus.MessageBus.submit`.
Submit = Callable[[Envelope, bytes, str], defer.Deferred[str]]


class FileChannelPoller(PollingService):
    """Picks up the MTS-APDU files of ``directory`` (module docstring).

    ``gw_factory()`` gives the :class:`~gateway.x400.context.Gateway` for
    each file (a fresh clock reading).  ``submit(envelope, content, qid)``
    hands the result to the bus -- :meth:`gateway.bus.bus.MessageBus.submit`
    -- and fires once it is durable.  ``reactor`` provides the clock of the
    scans, every ``interval`` seconds.  ``max_size`` is the largest file
    read, ``limits`` the BER limits of the decoders; at most
    ``max_in_flight`` submissions are pending at once.
    """

    log = Logger()
    what = "x400 file channel"

    def __init__(
        self,
        directory: Path,
        gw_factory: Callable[[], Gateway],
        submit: Submit,
        reactor: IReactorTime,
        *,
        interval: float = 1.0,
        max_size: int = DEFAULT_MAX_SIZE,
        limits: Mapping[str, int] | None = None,
        max_in_flight: int = 16,
        judge: Judge | None = None,
        max_message_size: int | None = None,
    ) -> None:
        """``judge`` and ``max_message_size``: see :func:`ingest` (probes)."""
        super().__init__(reactor, interval, max_in_flight)
        self.judge = judge
        self.max_message_size = max_message_size
        self.directory = directory
        self.gw_factory = gw_factory
        self.submit = submit
        self.reactor = reactor
        self.max_size = max_size
        self.limits = dict(limits or {})
        self.work = directory / WORK
        self.done = directory / DONE
        self.failed = directory / FAILED
        self._owned: set[str] = set()  # names in work/ this poller is responsible for

    # -- service

    def prepare(self) -> None:
        try:
            self.recover()
        except OSError as e:
            self.log.error(
                "x400 file channel {dir}: cannot recover work/: {error}",
                dir=str(self.directory),
                error=e,
            )

    # -- scanning

    def recover(self) -> None:
        """Take over the files left in ``work/`` (a crash mid-way): they are
        processed again at the next scan.  A file also still in ``<in>/``
        (a crash between the claim's link and unlink) is unlinked there."""
        self._make_dirs()
        for name in self._names(self.work):
            twin = self.directory / name
            with contextlib.suppress(FileNotFoundError):
                if os.path.samefile(twin, self.work / name):
                    twin.unlink()
            self._owned.add(name)
            self.log.info("x400 file channel: {file} recovered from work/", file=name)

    def scan(self) -> None:
        """One pass: retry our files in ``work/``, claim new ones.  Never
        raises (logs instead)."""
        try:
            self._scan()
        except Exception:
            self.log.failure("x400 file channel scan of {dir} failed", dir=str(self.directory))

    def _scan(self) -> None:
        self._make_dirs()
        for name in sorted(self._owned):
            if len(self._in_flight) >= self.max_in_flight:
                return
            if name not in self._in_flight:
                self._process(name)
        for name in self._names(self.directory):
            if len(self._in_flight) >= self.max_in_flight:
                return
            if name not in self._owned and self._claim(name):
                self._process(name)

    def _make_dirs(self) -> None:
        for d in (self.work, self.done, self.failed):
            d.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    @staticmethod
    def _names(directory: Path) -> list[str]:
        with os.scandir(directory) as it:
            return sorted(
                e.name for e in it if _NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False)
            )

    def _claim(self, name: str) -> bool:
        """Move ``<in>/name`` to ``work/name`` unless someone else did or
        the name is still in use in ``work/``."""
        src, dest = self.directory / name, self.work / name
        try:
            os.link(src, dest)
        except (FileExistsError, FileNotFoundError):
            return False  # busy in work/, or taken by another poller
        try:
            src.unlink()
        except FileNotFoundError:
            pass  # another poller's recovery unlinked it: the file is ours in work/
        except OSError as e:
            self.log.error("x400 file channel {file}: cannot claim: {error}", file=name, error=e)
            with contextlib.suppress(OSError):
                dest.unlink()
            return False
        self._owned.add(name)
        return True

    # -- one file

    def _process(self, name: str) -> None:
        path = self.work / name
        try:
            data = self._read(path)
        except IngestError as e:
            self._refuse(name, str(e))
            return
        except FileNotFoundError:
            self._owned.discard(name)
            return
        except OSError as e:
            self.log.error("x400 file channel {file}: cannot read: {error}", file=name, error=e)
            return
        try:
            result = ingest(
                data,
                self.gw_factory(),
                self.limits,
                judge=self.judge,
                max_message_size=self.max_message_size,
            )
        except IngestError as e:
            self._refuse(name, str(e))
            return
        except Exception as e:  # a bug: keep the file, in failed/, and say so
            self.log.failure("x400 file channel {file}: cannot translate", file=name)
            self._refuse(name, f"internal error translating the file: {e!r}")
            return
        d: defer.Deferred[Any] = defer.maybeDeferred(
            self.submit, result.envelope, result.content, result.qid
        )
        self._in_flight[name] = d  # before callbacks: submit may fire synchronously
        d.addCallbacks(
            self._submitted, self._failed, callbackArgs=(name, result), errbackArgs=(name,)
        )
        d.addBoth(self._settled, name)

    def _read(self, path: Path) -> bytes:
        with path.open("rb") as f:
            data = f.read(self.max_size + 1)
        if len(data) > self.max_size:
            size = os.stat(path).st_size
            raise IngestError(f"file is {size} octets, more than the limit of {self.max_size}")
        return data

    def _submitted(self, qid: str, name: str, result: Ingested) -> None:
        path = self.work / name
        try:
            dest = _link_new(path, self.done, name)
            fsync_directory(self.done)
            path.unlink()
            fsync_directory(self.work)
        except OSError as e:
            self.log.error(
                "x400 file channel {file}: queued as {qid} but not moved to done/ "
                "(will be submitted again): {error}",
                file=name,
                qid=qid,
                error=e,
            )
            return
        self._owned.discard(name)
        self.log.info(
            "x400 file channel {file}: {kind} {ident} queued as {qid}, moved to {dest}",
            file=name,
            kind=result.kind,
            ident=result.identifier,
            qid=qid,
            dest=str(dest),
        )

    def _failed(self, failure: Failure, name: str) -> None:
        self.log.warn(
            "x400 file channel {file}: submit failed, will retry: {error}",
            file=name,
            error=failure.getErrorMessage(),
        )

    def _settled(self, result: object, name: str) -> None:
        self._in_flight.pop(name, None)
        if isinstance(result, Failure):  # pragma: no cover - callbacks catch all
            self.log.failure("x400 file channel {file}: unexpected error", result, file=name)

    def _refuse(self, name: str, reason: str) -> None:
        """Move ``work/name`` to ``failed/`` with its ``.reason`` file."""
        path = self.work / name
        reason = _one_line(reason)
        try:
            dest = _link_new(path, self.failed, name)
            note = dest.with_name(dest.name + REASON_SUFFIX)
            durable_write(
                note.with_name(f".{note.name}.tmp"), note, (reason.encode() + b"\n",), _FILE_MODE
            )
            path.unlink()
            fsync_directory(self.work)
        except OSError as e:
            self.log.error(
                "x400 file channel {file}: refused ({reason}) but cannot be moved to failed/: "
                "{error}",
                file=name,
                reason=reason,
                error=e,
            )
            return
        self._owned.discard(name)
        self.log.error(
            "x400 file channel {file}: refused, moved to {dest}: {reason}",
            file=name,
            dest=str(dest),
            reason=reason,
        )


# --- the outbound agent -------------------------------------------------------------


@implementer(IDeliveryAgent)
class FileChannelAgent:
    """Writes messages for X.400 as MTS-APDU files into ``directory``.

    The message becomes an X.400 message for all targets
    (:func:`gateway.x400.translate.internet_to_message`, for a 1984 peer
    with ``peer_1984``); a DSN (null reverse-path) addressed to an X.400
    user becomes a report for that target
    (:func:`gateway.x400.reports.dsn_to_reports`), and goes as a message
    too when 5.1.8.3 says so.  ``gw_factory()`` gives the gateway for each
    job.  With ``reactor`` and ``pool`` the work runs in the thread pool.
    Outcomes: relayed (250 2.0.0) once the file is durable; a translation
    error fails the targets with its status; a file system error defers
    them (451 4.3.0).
    """

    def __init__(
        self,
        directory: Path,
        gw_factory: Callable[[], Gateway],
        *,
        name: str = "x400-file",
        peer_1984: bool = False,
        reactor: IReactorThreads | None = None,
        pool: ThreadPool | None = None,
    ) -> None:
        self.directory = directory
        self.gw_factory = gw_factory
        self.name = name
        self.peer_1984 = peer_1984
        self._reactor = reactor
        self._pool = pool

    def deliver(self, job: DeliveryJob) -> defer.Deferred[list[Outcome]]:  # type: ignore[override]
        if self._reactor is not None and self._pool is not None:
            return deferToThreadPool(self._reactor, self._pool, self.deliver_now, job)
        return defer.maybeDeferred(self.deliver_now, job)

    def deliver_now(self, job: DeliveryJob) -> list[Outcome]:
        """:meth:`deliver`, synchronously: one outcome per target, in order."""
        gw = self.gw_factory()
        outcomes: dict[int, Outcome] = {}
        for item in outgoing(job, list(job.targets), gw, peer_1984=self.peer_1984):
            if item.error is not None:
                for t in item.targets:
                    outcomes[t.index] = Outcome.from_error(t, item.error)
                continue
            try:
                path = self._write(job.qid, item)
            except OSError as e:
                text = f"cannot write to the X.400 file channel {self.directory}: {e}"
                for t in item.targets:
                    outcomes[t.index] = Outcome(t, Result.DEFERRED, 451, "4.3.0", text)
                continue
            text = f"written to the X.400 file channel {self.directory}"
            for t in item.targets:
                outcomes[t.index] = Outcome(
                    t, Result.RELAYED, 250, "2.0.0", text, detail=str(path)
                )
        return [outcomes[t.index] for t in job.targets]

    def _write(self, qid: str, item: Outgoing) -> Path:
        """Write ``item`` as ``<out>/<name>.ber`` (via ``tmp/``) unless that
        file is there already (the same job written before a restart)."""
        assert item.apdu is not None
        # the same targets of the same message in the same form: not the
        # APDU bytes, which hold the time of the conversion
        key = f"{item.kind}:" + ",".join(str(t.index) for t in item.targets)
        safe = qid if re.fullmatch(r"[A-Za-z0-9]{1,64}", qid) else _digest(qid.encode())
        name = f"{safe}.{_digest(key.encode())}{SUFFIX}"
        final = self.directory / name
        if final.exists():
            return final
        tmp_dir = self.directory / TMP
        tmp_dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        durable_write(
            tmp_dir / name, final, (item.apdu,), _FILE_MODE, exclusive=False, replace=False
        )
        return final


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
