"""Per-client limits shared by every protocol server (SMTP, POP3, IMAP).

Pure bookkeeping: no I/O, and time comes from an injected clock, so the
protocols decide what to answer and the tests advance a ``task.Clock``.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

__all__ = ["AuthThrottle", "ConnectionLimiter", "no_delay"]


class ConnectionLimiter:
    """Counts connections overall and per client IP.

    One instance is shared by all the listeners it should cover (e.g. every
    SMTP listener); :meth:`acquire` at connect, :meth:`release` once at loss.
    """

    def __init__(self, total: int, per_ip: int) -> None:
        self.total = total
        self.per_ip = per_ip
        self.count = 0
        self.by_ip: dict[str, int] = {}

    def acquire(self, ip: str) -> bool:
        if self.count >= self.total or self.by_ip.get(ip, 0) >= self.per_ip:
            return False
        self.count += 1
        self.by_ip[ip] = self.by_ip.get(ip, 0) + 1
        return True

    def release(self, ip: str) -> None:
        self.count -= 1
        left = self.by_ip.get(ip, 1) - 1
        if left:
            self.by_ip[ip] = left
        else:
            self.by_ip.pop(ip, None)


class AuthThrottle:
    """Failed logins per client IP in a sliding window of ``window`` seconds."""

    def __init__(self, clock: IReactorTime, window: float) -> None:
        self.clock = clock
        self.window = window
        self.failures: dict[str, list[float]] = {}

    def count(self, ip: str) -> int:
        now = self.clock.seconds()
        recent = [t for t in self.failures.get(ip, []) if now - t < self.window]
        if recent:
            self.failures[ip] = recent
        else:
            self.failures.pop(ip, None)
        return len(recent)

    def fail(self, ip: str) -> int:
        self.failures.setdefault(ip, []).append(self.clock.seconds())
        return self.count(ip)


def no_delay(transport: object) -> None:
    """Turn off Nagle's algorithm on a TCP transport (also under TLS).

    A request/response protocol answers each command with one write; with
    Nagle's algorithm the tail of a large answer can wait for the client's
    delayed ACK (40 ms on Linux). Anything that is not TCP is left alone.
    """
    while transport is not None:
        set_no_delay = getattr(transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)
            return
        transport = getattr(transport, "transport", None)  # TLSMemoryBIOProtocol
