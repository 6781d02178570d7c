"""Idle SMTP client connections kept for the next message to the same host.

Postfix's connection cache, in small: after a transaction a healthy
connection is parked for ``idle`` seconds per (address, port, TLS policy,
credentials); the next transaction to the same place takes it instead of
connecting, greeting, EHLO-ing and starting TLS again. A parked connection
is closed (QUIT) when its time is up. The clock is injected.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from gateway.smtp.client import SMTPClientProtocol


class ConnectionCache:
    def __init__(self, clock: IReactorTime, idle: float = 2.0, per_key: int = 20) -> None:
        self.clock = clock
        self.idle = idle
        self.per_key = per_key
        self._idle: dict[Hashable, list[tuple[SMTPClientProtocol, IDelayedCall]]] = {}

    def take(self, key: Hashable) -> SMTPClientProtocol | None:
        """A parked, still usable connection for ``key``, or None."""
        parked = self._idle.get(key)
        while parked:
            protocol, timer = parked.pop()
            if timer.active():
                timer.cancel()
            if protocol.alive:
                return protocol
        return None

    def park(self, key: Hashable, protocol: SMTPClientProtocol) -> None:
        """Keep ``protocol`` for the next transaction, or QUIT it if full."""
        parked = self._idle.setdefault(key, [])
        if not protocol.alive or len(parked) >= self.per_key:
            protocol.quit()
            return
        timer = self.clock.callLater(self.idle, self._expire, key, protocol)
        parked.append((protocol, timer))

    def _expire(self, key: Hashable, protocol: SMTPClientProtocol) -> None:
        parked = self._idle.get(key, [])
        self._idle[key] = [(p, t) for p, t in parked if p is not protocol]
        protocol.quit()

    def close(self) -> None:
        """QUIT every parked connection (the service is stopping)."""
        for parked in self._idle.values():
            for protocol, timer in parked:
                if timer.active():
                    timer.cancel()
                protocol.quit()
        self._idle.clear()


def key_for(address: str, port: int, settings: Any) -> Hashable:
    return (address, port, settings.tls_policy, settings.credentials, settings.tls_hostname)
