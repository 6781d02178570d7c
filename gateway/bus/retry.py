"""The retry schedule: when to try a deferred recipient again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff: ``first * factor**(attempts-1)``, capped at ``maximum``.

    With the defaults (5 min, x2, cap 1 h, lifetime 5 days) the retries come
    after 5, 10, 20, 40, 60, 60... minutes, as Postfix's
    ``minimal_backoff_time``/``maximal_backoff_time`` do.
    """

    first: float = 300.0
    maximum: float = 3600.0
    factor: float = 2.0
    lifetime: float = 5 * 86400.0

    def delay(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` failed tries (>= 1)."""
        exponent = max(attempts - 1, 0)
        delay = self.first
        for _ in range(exponent):
            delay *= self.factor
            if delay >= self.maximum:
                return self.maximum
        return min(delay, self.maximum)

    def next_attempt(self, now: float, accepted_at: float, attempts: int) -> float | None:
        """When to try again, or None when the queue lifetime is over."""
        expires = accepted_at + self.lifetime
        if now >= expires:
            return None
        return min(now + self.delay(attempts), expires)
