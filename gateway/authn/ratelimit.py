"""Rate limits: at most ``count`` units (messages, recipients) per ``window``.

A :class:`Rate` is written ``COUNT/WINDOW`` (:func:`parse_rate`), e.g.
``"200/1h"``; a :class:`RateLimiter` keeps one such limit for many keys (a
client IP, a user, a sender domain) and says, per request, either "allowed"
(and counts it) or how long to wait.

Grammar
-------
::

    rate   = count "/" window             ; white space allowed around each part
    count  = 1*DIGIT                      ; a whole number, 1 to 1000000000
    window = number [unit] / unit         ; "1h", "30s", "600", "h" (= "1h")
    number = 1*DIGIT ["." 1*DIGIT]        ; no sign, no exponent
    unit   = "s" / "m" / "h" / "d" / "w"  ; seconds, minutes, hours, days, weeks
                                          ; (case-insensitive; none: seconds)

The units are those of durations elsewhere in the configuration
(``gateway.config.parse_duration``). ``str(rate)`` gives the canonical form
back: the window in the largest unit that divides it, ``"200/1h"``,
``"10/30s"``, ``"5/1d"``, ``"100/10m"`` for ``"100/600"``; ``parse_rate`` of
it is the same :class:`Rate`.

Algorithm
---------
A token bucket, kept the way GCRA keeps it (one number per key and the time
it was last updated): a key's bucket holds ``count`` tokens and refills
continuously at ``count / window`` tokens a second; a request of ``amount``
takes ``amount`` tokens or, when there are not that many, is refused with the
exact time until there will be. So ``"200/1h"`` lets a client send 200
messages at once, then one every 18 seconds; a client that stays under the
limit is never delayed, and one that has used everything has it all back
after ``window``.

Chosen over the alternatives because it is exact with O(1) state per key
(a float and a time): a sliding window log keeps a time per message (too
heavy for 100 000 keys), and the sliding-window counter (two fixed windows,
the previous one weighted) is an estimate, over- or under-counting by up to
half the limit depending on where the traffic falls in the fixed windows,
and needs up to two windows to recover from a burst. The price of the token
bucket: within any interval of ``window`` seconds a client can get up to
about twice ``count`` through (a full bucket, then the refill), while its
long-run rate is exactly ``count / window``; a message limit is about the
long-run rate and the burst, which is what the bucket bounds.

Memory
------
Keys are kept in least-recently-used order. A key that has not been seen for
``window`` seconds has a full bucket again, which is the same as not being
known, so such keys are dropped (a few at each :meth:`RateLimiter.check`,
oldest first); beyond ``max_keys`` the least recently used key is dropped
even if its bucket is not full yet: under a flood of distinct keys the
limiter forgets (lets through) the oldest rather than growing without bound.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from twisted.internet.interfaces import IReactorTime

__all__ = ["MAX_COUNT", "UNITS", "Rate", "RateLimiter", "parse_rate"]

MAX_COUNT: Final = 1_000_000_000
UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Largest first: the unit str(Rate) writes the window in.
_DESCENDING: Final = sorted(UNITS.items(), key=lambda item: -item[1])
# Float slack (in tokens) when comparing a bucket's level with its size, so
# that waiting exactly the time check() asked for is always enough.
_EPSILON: Final = 1e-9
# Expired keys dropped per check(), at most (keeps check() O(1)).
_SWEEP: Final = 8

_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_WINDOW_RE: Final = re.compile(r"([0-9.]*)\s*([A-Za-z]*)", re.ASCII)


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` per ``window`` seconds."""

    count: int
    window: float  # seconds

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(
                f"a rate's count must be a whole number of at least 1: {self.count!r}"
            )
        if isinstance(self.window, bool) or not isinstance(self.window, int | float):
            raise ValueError(f"a rate's window must be a number of seconds: {self.window!r}")
        if not math.isfinite(self.window) or self.window <= 0:
            raise ValueError(f"a rate's window must be a positive number: {self.window!r}")
        object.__setattr__(self, "window", float(self.window))  # Rate(200, 3600) too

    def __str__(self) -> str:
        window = self.window
        if window.is_integer():
            for unit, seconds in _DESCENDING:
                if window % seconds == 0:
                    return f"{self.count}/{int(window) // seconds}{unit}"
        # Not a whole number of seconds: the exact decimal, without exponent.
        return f"{self.count}/{Decimal(repr(window)):f}s"

    @property
    def interval(self) -> float:
        """Seconds for one unit to come back (the refill period)."""
        return self.window / self.count


def parse_rate(text: str) -> Rate:
    """The :class:`Rate` that ``text`` writes (see the module's grammar).

    Raises ValueError with a message naming what is wrong, quoting ``text``.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a rate: {text!r} (expected text like '200/1h')")
    shown = repr(text)
    count_text, slash, window_text = text.partition("/")
    count_text, window_text = count_text.strip(), window_text.strip()
    if not slash:
        raise ValueError(f"rate {shown}: expected COUNT/WINDOW, like '200/1h'")
    if not count_text:
        raise ValueError(f"rate {shown}: the count before '/' is missing")
    if not window_text:
        raise ValueError(f"rate {shown}: the window after '/' is missing")
    if not count_text.isascii() or not count_text.isdigit():
        raise ValueError(f"rate {shown}: the count must be a whole number, got {count_text!r}")
    if len(count_text.lstrip("0")) > len(str(MAX_COUNT)) or int(count_text) > MAX_COUNT:
        raise ValueError(f"rate {shown}: the count must be at most {MAX_COUNT}")
    count = int(count_text)
    if count < 1:
        raise ValueError(f"rate {shown}: the count must be at least 1")

    match = _WINDOW_RE.fullmatch(window_text)
    if match is None:
        raise ValueError(
            f"rate {shown}: the window must be a number with an optional unit, like '1h' "
            f"or '600', got {window_text!r}"
        )
    number_text, unit = match[1], match[2].lower()
    if unit not in ("", *UNITS):
        raise ValueError(
            f"rate {shown}: unknown unit {match[2]!r} in the window (use s, m, h, d or w)"
        )
    if not number_text:
        number = Decimal(1)
    elif _NUMBER_RE.fullmatch(number_text) is None:
        raise ValueError(f"rate {shown}: the window's number is not valid: {number_text!r}")
    else:
        try:
            number = Decimal(number_text)
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            raise ValueError(f"rate {shown}: the window's number is not valid") from None
    window = float(number * UNITS[unit or "s"])
    if window <= 0:
        raise ValueError(f"rate {shown}: the window must be longer than zero")
    if not math.isfinite(window):
        raise ValueError(f"rate {shown}: the window is too long")
    return Rate(count, window)


class RateLimiter:
    """One :class:`Rate` applied to each key separately (a token bucket per
    key, see the module's documentation), on ``clock``'s time."""

    def __init__(self, rate: Rate, clock: IReactorTime, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1: {max_keys!r}")
        self.rate = rate
        self.clock = clock
        self.max_keys = max_keys
        # key -> (tokens used, time of that level); least recently used first.
        self._used: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        """The number of keys remembered."""
        return len(self._used)

    def __contains__(self, key: object) -> bool:
        return key in self._used

    def check(self, key: str, amount: int = 1) -> float | None:
        """Take ``amount`` for ``key``: None when allowed (and counted);
        otherwise the seconds until ``amount`` would be allowed, and nothing
        is counted. An ``amount`` over the rate's count is never allowed; its
        answer is the whole window."""
        now = self.clock.seconds()
        self._sweep(now)
        wait, used = self._wait(key, amount, now)
        if wait is not None:
            if amount <= self.rate.count:
                # Only a known key can be refused (amount <= count): it is now
                # the most recently used; its level as of now is the same bucket.
                self._used[key] = (used, now)
                self._used.move_to_end(key)
            return wait
        self._used[key] = (used + amount, now)
        self._used.move_to_end(key)
        while len(self._used) > self.max_keys:
            self._used.popitem(last=False)
        return None

    def peek(self, key: str, amount: int = 1) -> float | None:
        """What :meth:`check` would answer now, counting nothing: to ask
        several limiters first and count in each only when all allow."""
        return self._wait(key, amount, self.clock.seconds())[0]

    def remaining(self, key: str) -> float:
        """How much ``key`` could take now (nothing is counted); a fraction
        when the next unit is on its way back. Prefer :meth:`peek` to decide:
        it allows for float rounding as :meth:`check` does."""
        return self.rate.count - self._level(key, self.clock.seconds())

    def _wait(self, key: str, amount: int, now: float) -> tuple[float | None, float]:
        """(check's answer, tokens ``key`` has used as of ``now``)."""
        if amount < 1:
            raise ValueError(f"amount must be at least 1: {amount!r}")
        count = self.rate.count
        if amount > count:
            return self.rate.window, 0.0
        used = self._level(key, now)
        if used + amount > count + _EPSILON:
            return (used + amount - count) * self.rate.interval, used
        return None, used

    def _level(self, key: str, now: float) -> float:
        """Tokens ``key`` has used, as of ``now``."""
        entry = self._used.get(key)
        if entry is None:
            return 0.0
        used, then = entry
        # max(): a wall clock may step back; the bucket just does not refill.
        refilled = max(0.0, now - then) / self.rate.interval
        return max(0.0, used - refilled)

    def _sweep(self, now: float) -> None:
        """Drop a few keys not seen for a whole window: their buckets are
        full, as if they were unknown."""
        window = self.rate.window
        for _ in range(_SWEEP):
            if not self._used:
                return
            key, (_used, then) = next(iter(self._used.items()))
            if now - then < window:
                return
            del self._used[key]
