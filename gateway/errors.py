"""One error type that carries protocol meaning.

Every failure that can reach a sender (an SMTP reply, a DSN, an X.400
non-delivery report) is a :class:`GatewayError`: an SMTP reply code, an
RFC 3463 enhanced status code and a diagnostic text, plus the X.400 reason
and diagnostic codes where the failure came from (or goes to) X.400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class X400Codes:
    """X.411 NonDeliveryReasonCode and NonDeliveryDiagnosticCode."""

    reason: int
    diagnostic: int | None = None


@dataclass(frozen=True)
class GatewayError(Exception):
    """A failure with SMTP code, RFC 3463 enhanced status and text."""

    code: int
    status: str
    text: str
    x400: X400Codes | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"SMTP reply code out of range: {self.code}")
        klass = self.status.split(".", 1)[0]
        if klass not in ("2", "4", "5") or str(self.code)[0] != klass:
            raise ValueError(
                f"enhanced status {self.status} does not match reply code {self.code}"
            )

    @property
    def temporary(self) -> bool:
        """RFC 5321 4.2.1: 4yz is transient, 5yz permanent."""
        return self.code < 500

    def __str__(self) -> str:
        return f"{self.code} {self.status} {self.text}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "status": self.status, "text": self.text}
        if self.x400 is not None:
            data["x400"] = [self.x400.reason, self.x400.diagnostic]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GatewayError:
        x400 = data.get("x400")
        return cls(
            int(data["code"]),
            str(data["status"]),
            str(data["text"]),
            X400Codes(int(x400[0]), None if x400[1] is None else int(x400[1])) if x400 else None,
        )


def temporary(status: str, text: str, code: int = 451) -> GatewayError:
    return GatewayError(code, status, text)


def permanent(status: str, text: str, code: int = 550) -> GatewayError:
    return GatewayError(code, status, text)


# Failures the bus itself produces (RFC 3463 codes).
SPOOL_UNAVAILABLE = GatewayError(452, "4.3.1", "Insufficient system storage, try again later")
UNKNOWN_USER = GatewayError(550, "5.1.1", "No such user here")
NO_ROUTE = GatewayError(550, "5.4.4", "Unable to route: no delivery agent for this destination")
ALIAS_LOOP = GatewayError(554, "5.4.6", "Routing loop detected in alias expansion")
ALIAS_TOO_DEEP = GatewayError(554, "5.4.6", "Alias expansion exceeds the maximum depth")
EXPIRED = GatewayError(554, "5.4.7", "Delivery time expired")
ADMIN_DELETED = GatewayError(550, "5.0.0", "Deleted from the queue by the administrator")
