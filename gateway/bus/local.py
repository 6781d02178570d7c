"""The local delivery agent: writes into users' Maildirs."""

from __future__ import annotations

import errno

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.bus.agents import DeliveryJob, Outcome, Result, Target
from gateway.envelope import Address
from gateway.errors import GatewayError
from gateway.interfaces import IDeliveryAgent, ILocalStore
from gateway.store.maildir import unique_name

log = Logger()


def trace_headers(sender: Address | None, recipient: Address) -> bytes:
    """``Return-Path`` (RFC 5321 4.4) and ``Delivered-To`` added at final delivery."""
    return_path = "" if sender is None else str(sender)
    return f"Return-Path: <{return_path}>\r\nDelivered-To: {recipient}\r\n".encode()


def error_for(failure: Failure) -> GatewayError:
    """Map a store failure to a temporary delivery error (RFC 3463)."""
    value = failure.value
    if isinstance(value, GatewayError):
        return value
    if isinstance(value, OSError):
        if value.errno == errno.EDQUOT:
            return GatewayError(452, "4.2.2", "Mailbox full")
        if value.errno == errno.ENOSPC:
            return GatewayError(452, "4.3.1", "Mail system full")
        return GatewayError(451, "4.3.0", f"Mailbox unavailable: {value.strerror}")
    return GatewayError(451, "4.3.0", "Local delivery failed")


@implementer(IDeliveryAgent)
class LocalDeliveryAgent:
    name = "local"

    def __init__(self, store: ILocalStore, hostname: str) -> None:
        self.store = store
        self.hostname = hostname

    def deliver(self, job: DeliveryJob) -> Deferred[list[Outcome]]:  # type: ignore[override]
        attempts = [self._one(job, target) for target in job.targets]
        d: Deferred[list[tuple[bool, Outcome]]] = DeferredList(attempts, consumeErrors=True)
        return d.addCallback(lambda results: [outcome for _ok, outcome in results])

    def _one(self, job: DeliveryJob, target: Target) -> Deferred[Outcome]:
        unique = unique_name(job.accepted_at, job.qid, target.index, self.hostname)
        prefix = trace_headers(job.envelope.sender, target.address)
        d = self.store.deliver(target.address, job.content, prefix, unique, job.recovered)

        def delivered(path: str) -> Outcome:
            return Outcome(target, Result.DELIVERED, 250, "2.0.0", "Delivered to mailbox", path)

        def failed(failure: Failure) -> Outcome:
            error = error_for(failure)
            log.error(
                "{qid}: local delivery to {rcpt} failed: {error}",
                qid=job.qid,
                rcpt=str(target.address),
                error=str(error),
            )
            return Outcome.from_error(target, error)

        return d.addCallbacks(delivered, failed)
