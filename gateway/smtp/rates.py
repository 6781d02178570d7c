"""Rate limits of the SMTP server (``[rates]``): messages and recipients per
time window, per client IP (unauthenticated sessions), per authenticated
user and per sender domain.

A message counts at MAIL, a recipient at RCPT (as Postfix's anvil counts
them). Beyond a limit the command gets ``450 4.7.1`` (RFC 3463 X.7.1:
delivery not authorized, temporary: the client retries later) naming the
limit and when to try again; nothing is counted for a refused command, so
a client that backs off recovers as the window slides.
"""

from __future__ import annotations

import math
from dataclasses import fields

from twisted.internet.interfaces import IReactorTime

from gateway.authn.ratelimit import RateLimiter
from gateway.config import RateSettings
from gateway.smtp.codes import Reply, reply

__all__ = ["SMTPRates"]


class SMTPRates:
    """The configured limiters, asked at MAIL and RCPT."""

    def __init__(self, settings: RateSettings, clock: IReactorTime) -> None:
        self.limiters: dict[str, RateLimiter] = {}
        for f in fields(settings):
            rate = getattr(settings, f.name)
            if rate is not None:
                self.limiters[f.name] = RateLimiter(rate, clock)

    def __bool__(self) -> bool:
        return bool(self.limiters)

    def mail(self, ip: str, user: str | None, sender_domain: str | None) -> Reply | None:
        """Count one message; a refusal when a limit is reached."""
        return self._take("messages", ip, user, sender_domain)

    def rcpt(self, ip: str, user: str | None, sender_domain: str | None) -> Reply | None:
        """Count one recipient; a refusal when a limit is reached."""
        return self._take("recipients", ip, user, sender_domain)

    def _take(
        self, unit: str, ip: str, user: str | None, sender_domain: str | None
    ) -> Reply | None:
        keys: list[tuple[str, str, str]] = []
        if user is not None:
            keys.append((f"user_{unit}", user.lower(), user))
        else:
            keys.append((f"ip_{unit}", ip, f"[{ip}]"))
        if sender_domain:
            keys.append((f"sender_domain_{unit}", sender_domain.lower(), sender_domain))
        wanted = [(self.limiters[n], k, who) for n, k, who in keys if n in self.limiters]
        for limiter, key, who in wanted:  # all must allow before any counts
            wait = limiter.peek(key)
            if wait is not None:
                return _refusal(unit, limiter, wait, who)
        for limiter, key, _who in wanted:
            limiter.check(key)
        return None


def _refusal(unit: str, limiter: RateLimiter, wait: float, who: str) -> Reply:
    count, window = limiter.rate.count, str(limiter.rate).partition("/")[2]
    return reply(
        450,
        "4.7.1",
        f"Rate limit reached: at most {count} {unit} per {window} from {who}; "
        f"try again in {max(1, math.ceil(wait))} s",
    )
