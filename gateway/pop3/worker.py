"""A POP3 worker process: ``python -m gateway.pop3.worker`` (started by the
main process, :class:`gateway.workers.WorkerPool`, never by hand).

It reads the same configuration as the main process, checks passwords
itself (the users file), serves POP3 and POP3S on the listening sockets it
inherits (``--listener pop3=3``), opens maildrops through the main
process's ``maildrop`` socket (``--store``, :mod:`gateway.store.remote`) and
reads the message files itself. Its log events go to stdout as JSON for the
main process to write; it exits on SIGTERM, and when its stdin (a pipe from
the main process) closes.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

log = Logger(namespace="gateway.pop3.worker")  # also when run as __main__


class _ParentWatch(Protocol):
    """stdin: a pipe the main process never writes to; its end is the main
    process's."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.reactor.running:
            log.info("main process gone; stopping")
            self.reactor.stop()


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gateway.pop3.worker")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--store", required=True, help="the main process's maildrop socket")
    parser.add_argument("--name", default="pop3-worker")
    parser.add_argument(
        "--listener", action="append", default=[], help="NAME=FD of an inherited listening socket"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    from twisted.internet import reactor as installed

    reactor: Any = installed
    from twisted.internet import stdio
    from twisted.internet.threads import deferToThread

    from gateway.auth.realm import build_portal
    from gateway.config import load
    from gateway.limits import AuthThrottle
    from gateway.service import ReaderParts, pop3_factories
    from gateway.store.remote import RemoteMaildropOpener
    from gateway.store.users import UserFile
    from gateway.tls import ensure_certificate, server_tls_factory
    from gateway.workers import log_to_parent

    settings = load(args.config)
    log_to_parent(settings.log_level)
    # the main process generated the certificate, if it had to, before starting us
    certificate = ensure_certificate(settings.tls, settings.tls_dir, settings.hostname)
    parts = ReaderParts(
        hostname=settings.hostname,
        portal=build_portal(UserFile(settings.users_file), settings.mail_dir),
        opener=RemoteMaildropOpener(reactor, args.store, deferToThread),
        auth_throttle=AuthThrottle(reactor, settings.smtp.auth_failure_window),
        tls=server_tls_factory(certificate, settings.tls.min_version, reactor.seconds),
    )
    factories = pop3_factories(settings, parts, reactor)
    for spec in args.listener:
        name, _, fd_text = spec.partition("=")
        fd = int(fd_text)
        family = _family(fd)
        reactor.adoptStreamPort(fd, family, factories[name])
        os.close(fd)  # adoptStreamPort took its own copy
        log.info("serving {listener}", listener=name)
    standard_io: Any = stdio.StandardIO  # (typeshed-wise the Windows one)
    standard_io(_ParentWatch(reactor), stdin=0, stdout=os.open(os.devnull, os.O_WRONLY))
    reactor.run()
    return 0


def _family(fd: int) -> int:
    """The address family of the socket ``fd`` (left open)."""
    probe = socket.socket(fileno=fd)
    try:
        return int(probe.family)
    finally:
        probe.detach()


if __name__ == "__main__":
    raise SystemExit(main())
