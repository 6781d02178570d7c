"""Value types the store hands to POP3 (see gateway.interfaces.IMaildrop)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MaildropMessage:
    """One message of a POP3 snapshot.

    ``uidl`` is the RFC 1939 7 unique-id (printable ASCII 0x21-0x7E, at most
    70 characters), stable across sessions; ``size`` is the message size in
    octets with CRLF line ends.
    """

    uidl: str
    size: int
