"""What the bus hands to a delivery agent, and what it gets back."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.envelope import Address, Envelope, Recipient
from gateway.errors import GatewayError


class Result(enum.StrEnum):
    DELIVERED = "delivered"
    RELAYED = "relayed"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Target:
    index: int  # the recipient's index in the message state
    address: Address


def recipient_for(envelope: Envelope, target: Target) -> Recipient:
    """The envelope recipient (with its NOTIFY and ORCPT) ``target`` is; a
    bare one when the envelope does not list it."""
    for recipient in envelope.recipients:
        if recipient.address == target.address:
            return recipient
    return Recipient(target.address)


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    qid: str
    envelope: Envelope
    accepted_at: float
    content: bytes
    targets: tuple[Target, ...]
    recovered: bool  # the message was recovered after a restart (check for a previous copy)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result for one target: status, SMTP/enhanced code, diagnostic."""

    target: Target
    result: Result
    code: int
    status: str
    text: str
    detail: str | None = None  # mailbox path, remote MTA...
    tls: str | None = None  # how the relay hop was protected: "TLSv1.3 ...", "none"

    @classmethod
    def from_error(cls, target: Target, error: GatewayError) -> Outcome:
        result = Result.DEFERRED if error.temporary else Result.FAILED
        return cls(target, result, error.code, error.status, error.text)
