"""Connection and failed-login limits shared by the protocol servers."""

from __future__ import annotations

from twisted.internet import task

from gateway.limits import AuthThrottle, ConnectionLimiter


def test_connection_limiter() -> None:
    limiter = ConnectionLimiter(total=3, per_ip=2)
    assert limiter.acquire("a") and limiter.acquire("a")
    assert not limiter.acquire("a")
    assert limiter.acquire("b")
    assert not limiter.acquire("c")
    limiter.release("a")
    assert limiter.acquire("c")
    for ip in ("a", "b", "c"):
        limiter.release(ip)
    assert limiter.count == 0 and limiter.by_ip == {}


def test_auth_throttle_window() -> None:
    clock = task.Clock()
    throttle = AuthThrottle(clock, window=10.0)
    assert throttle.fail("a") == 1
    clock.advance(6)
    assert throttle.fail("a") == 2
    assert throttle.count("b") == 0
    clock.advance(5)
    assert throttle.count("a") == 1
    clock.advance(5)
    assert throttle.count("a") == 0 and throttle.failures == {}
