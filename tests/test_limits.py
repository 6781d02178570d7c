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


class _TCP:
    def __init__(self) -> None:
        self.no_delay: bool | None = None

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.no_delay = enabled


class _TLSWrapper:
    def __init__(self, transport: object) -> None:
        self.transport = transport


def test_no_delay_reaches_tcp_through_a_tls_wrapper() -> None:
    from gateway.limits import no_delay

    tcp = _TCP()
    no_delay(_TLSWrapper(tcp))
    assert tcp.no_delay is True
    plain = _TCP()
    no_delay(plain)
    assert plain.no_delay is True
    no_delay(object())  # not TCP (a unix socket, a test transport): left alone
