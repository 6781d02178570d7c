from __future__ import annotations

from gateway.bus.retry import RetrySchedule


def test_backoff_doubles_and_caps() -> None:
    schedule = RetrySchedule(first=300, maximum=3600, factor=2, lifetime=5 * 86400)
    assert [schedule.delay(n) for n in range(1, 8)] == [300, 600, 1200, 2400, 3600, 3600, 3600]


def test_last_try_at_expiry_then_give_up() -> None:
    schedule = RetrySchedule(first=300, maximum=3600, factor=2, lifetime=1000)
    assert schedule.next_attempt(now=100, accepted_at=0, attempts=1) == 400
    assert schedule.next_attempt(now=900, accepted_at=0, attempts=3) == 1000
    assert schedule.next_attempt(now=1000, accepted_at=0, attempts=4) is None
