"""The relay's cache of idle SMTP client connections."""

from __future__ import annotations

from twisted.internet.task import Clock

from gateway.bus.connections import ConnectionCache


class FakeProtocol:
    def __init__(self) -> None:
        self.alive = True
        self.quits = 0

    def quit(self) -> None:
        self.quits += 1
        self.alive = False


def test_a_parked_connection_is_reused_then_expires() -> None:
    clock = Clock()
    cache = ConnectionCache(clock, idle=2.0)
    first = FakeProtocol()
    cache.park("mx:25", first)  # type: ignore[arg-type]
    assert cache.take("mx:25") is first
    assert cache.take("mx:25") is None  # taken: not shared
    cache.park("mx:25", first)  # type: ignore[arg-type]
    clock.advance(2.1)
    assert first.quits == 1 and cache.take("mx:25") is None
    assert not clock.getDelayedCalls()


def test_dead_connections_are_skipped_and_the_cache_is_bounded() -> None:
    clock = Clock()
    cache = ConnectionCache(clock, idle=5.0, per_key=1)
    dead, spare, extra = FakeProtocol(), FakeProtocol(), FakeProtocol()
    cache.park("k", spare)  # type: ignore[arg-type]
    cache.park("k", extra)  # type: ignore[arg-type]
    assert extra.quits == 1  # over the limit: closed at once
    spare.alive = False  # the server hung up meanwhile
    assert cache.take("k") is None
    cache.park("other", dead)  # type: ignore[arg-type]
    cache.close()
    assert dead.quits == 1 and not clock.getDelayedCalls()
