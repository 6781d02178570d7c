"""``mailgateway x400 ping PEER``: connect, bind, release -- each step timed.

The steps print as they happen::

    connected 127.0.0.1:10102 (1.2 ms)
    bound as mta.a.test to mta.b.test (3.4 ms)
    released (0.8 ms)

A step that fails ends the ping with the reason (a :class:`GatewayError`
from :mod:`gateway.x400.p1.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.config import X400Peer
from gateway.errors import GatewayError
from gateway.x400.p1.protocol import connect

__all__ = ["PingFailed", "ping"]


class PingFailed(Exception):
    """A step failed; the text says which and why."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def ping(
    reactor: Any,
    peer: X400Peer,
    local_name: str,
    say: Callable[[str], None],
    *,
    max_apdu: int = 64 << 20,
    ber_limits: dict[str, int] | None = None,
) -> None:
    """Connect to ``peer``, bind as ``local_name``, release; ``say`` each
    step.  Raises :class:`PingFailed`."""
    start = reactor.seconds()
    try:
        protocol = await connect(reactor, peer, local_name, max_apdu, ber_limits or {})
    except GatewayError as e:
        raise PingFailed(e.text) from None
    now = reactor.seconds()
    say(f"connected {peer.host}:{peer.port} ({_ms(now - start)})")
    start = now
    try:
        name = await protocol.bound
    except GatewayError as e:
        raise PingFailed(e.text) from None
    now = reactor.seconds()
    say(f"bound as {local_name} to {name} ({_ms(now - start)})")
    start = now
    await protocol.release()
    if not protocol.association.closed or protocol.association.state != "released":
        raise PingFailed(
            f"the release did not complete (association {protocol.association.state})"
        )
    say(f"released ({_ms(reactor.seconds() - start)})")
