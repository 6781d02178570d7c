"""gateway.authn.ratelimit: Rate, parse_rate and the token-bucket RateLimiter."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.trial import unittest

from gateway.authn.ratelimit import MAX_COUNT, UNITS, Rate, RateLimiter, parse_rate


def limiter(count: int, window: float, max_keys: int = 100_000) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    clock.advance(1_000_000.0)  # not at zero: times are absolute
    return RateLimiter(Rate(count, window), clock, max_keys), clock


class RateLimiterTests(unittest.SynchronousTestCase):
    def test_trips_exactly_at_count_plus_one(self) -> None:
        rl, _clock = limiter(3, 60.0)
        self.assertEqual([rl.check("a") for _ in range(3)], [None, None, None])
        # the fourth must wait for one token: window / count = 20 s
        self.assertEqual(rl.check("a"), 20.0)
        self.assertEqual(rl.check("a"), 20.0)  # refusals take nothing
        self.assertEqual(rl.remaining("a"), 0.0)

    def test_recovers_after_the_window(self) -> None:
        rl, clock = limiter(3, 60.0)
        for _ in range(3):
            self.assertIsNone(rl.check("a"))
        clock.advance(60.0)
        self.assertEqual(rl.remaining("a"), 3.0)
        self.assertEqual([rl.check("a") for _ in range(4)], [None, None, None, 20.0])

    def test_partial_recovery_refills_one_per_interval(self) -> None:
        rl, clock = limiter(3, 60.0)
        for _ in range(3):
            self.assertIsNone(rl.check("a"))
        clock.advance(5.0)
        self.assertEqual(rl.check("a"), 15.0)
        clock.advance(15.0)  # one token back after window / count
        self.assertEqual(rl.remaining("a"), 1.0)
        self.assertIsNone(rl.check("a"))
        self.assertEqual(rl.check("a"), 20.0)
        clock.advance(30.0)  # one and a half tokens back
        self.assertEqual(rl.remaining("a"), 1.5)
        self.assertIsNone(rl.check("a"))
        self.assertEqual(rl.check("a"), 10.0)
        self.assertEqual(rl.check("a", 2), 30.0)
        clock.advance(10.0)
        self.assertIsNone(rl.check("a"))

    def test_waiting_the_answer_is_always_enough(self) -> None:
        # 3600 / 7 is no exact float; waiting what check() said must do
        rl, clock = limiter(7, 3600.0)
        for _ in range(7):
            self.assertIsNone(rl.check("a"))
        for _ in range(1000):
            wait = rl.check("a")
            assert wait is not None
            self.assertAlmostEqual(wait, 3600.0 / 7, places=6)
            clock.advance(wait)
            self.assertIsNone(rl.check("a"))

    def test_amount(self) -> None:
        rl, clock = limiter(10, 60.0)  # one token per 6 s
        self.assertIsNone(rl.check("a", 6))
        self.assertEqual(rl.check("a", 5), 6.0)  # 6 + 5 = 11: one token short
        self.assertIsNone(rl.check("a", 4))
        self.assertEqual(rl.check("a", 1), 6.0)
        self.assertEqual(rl.check("a", 10), 60.0)
        clock.advance(60.0)
        self.assertIsNone(rl.check("a", 10))

    def test_amount_over_the_count_is_never_allowed(self) -> None:
        rl, clock = limiter(10, 60.0)
        self.assertEqual(rl.check("a", 11), 60.0)
        self.assertEqual(len(rl), 0)  # nothing counted, nothing remembered
        clock.advance(3600.0)
        self.assertEqual(rl.check("a", 11), 60.0)
        self.assertIsNone(rl.check("a", 10))

    def test_amount_must_be_positive(self) -> None:
        rl, _clock = limiter(10, 60.0)
        for amount in (0, -1):
            with self.assertRaises(ValueError):
                rl.check("a", amount)

    def test_peek_counts_nothing(self) -> None:
        rl, clock = limiter(3, 60.0)
        self.assertIsNone(rl.peek("a", 3))
        self.assertEqual(len(rl), 0)
        self.assertIsNone(rl.check("a", 2))
        self.assertIsNone(rl.peek("a"))
        self.assertEqual(rl.peek("a", 2), 20.0)
        self.assertEqual(rl.peek("a", 4), 60.0)
        self.assertEqual(rl.remaining("a"), 1.0)
        clock.advance(20.0)
        self.assertIsNone(rl.peek("a", 2))
        self.assertEqual(rl.remaining("a"), 2.0)
        with self.assertRaises(ValueError):
            rl.peek("a", 0)

    def test_peek_after_waiting_the_answer(self) -> None:
        rl, clock = limiter(7, 3600.0)
        self.assertIsNone(rl.check("a", 7))
        for _ in range(1000):
            wait = rl.peek("a")
            assert wait is not None
            clock.advance(wait)
            self.assertIsNone(rl.peek("a"))
            self.assertIsNone(rl.check("a"))

    def test_keys_are_independent(self) -> None:
        rl, _clock = limiter(2, 60.0)
        self.assertEqual([rl.check("a") for _ in range(3)], [None, None, 30.0])
        self.assertEqual([rl.check("b") for _ in range(3)], [None, None, 30.0])
        self.assertEqual([rl.check("A") for _ in range(3)], [None, None, 30.0])  # case matters
        self.assertEqual(rl.check("a"), 30.0)

    def test_max_keys_evicts_the_least_recently_used(self) -> None:
        rl, _clock = limiter(1, 60.0, max_keys=3)
        for key in "abc":
            self.assertIsNone(rl.check(key))
        self.assertEqual(rl.check("a"), 60.0)  # a refusal is a use: a is the newest
        self.assertIsNone(rl.check("d"))  # b, the least recently used, goes
        self.assertEqual(len(rl), 3)
        self.assertEqual([k in rl for k in "abcd"], [True, False, True, True])
        self.assertIsNone(rl.check("b"))  # forgotten: a full bucket again
        self.assertEqual([k in rl for k in "abcd"], [True, True, False, True])
        for i in range(100):
            rl.check(f"k{i}")
            self.assertLessEqual(len(rl), 3)

    def test_keys_idle_for_a_window_are_dropped(self) -> None:
        rl, clock = limiter(5, 60.0)
        for key in ("a", "b", "c"):
            self.assertIsNone(rl.check(key))
        clock.advance(30.0)
        self.assertIsNone(rl.check("c"))
        clock.advance(30.0)  # a and b: a window idle; c: half a window
        self.assertIsNone(rl.check("d"))
        self.assertEqual([k in rl for k in "abcd"], [False, False, True, True])
        self.assertEqual(len(rl), 2)

    def test_clock_stepping_back_refills_nothing(self) -> None:
        rl, clock = limiter(1, 60.0)
        self.assertIsNone(rl.check("a"))
        clock.rightNow -= 3600.0  # a wall clock set back
        self.assertEqual(rl.check("a"), 60.0)
        clock.rightNow += 3600.0 + 60.0
        self.assertIsNone(rl.check("a"))

    def test_max_keys_must_be_positive(self) -> None:
        with self.assertRaises(ValueError):
            RateLimiter(Rate(1, 1.0), Clock(), max_keys=0)


class RateTests(unittest.SynchronousTestCase):
    def test_str(self) -> None:
        self.assertEqual(
            [
                str(Rate(200, 3600.0)),
                str(Rate(10, 30.0)),
                str(Rate(5, 86400.0)),
                str(Rate(100, 600)),
                str(Rate(3, 90.0)),
                str(Rate(2, 1209600.0)),
                str(Rate(1, 0.5)),
                str(Rate(1, 1e-5)),
            ],
            ["200/1h", "10/30s", "5/1d", "100/10m", "3/90s", "2/2w", "1/0.5s", "1/0.00001s"],
        )

    def test_window_is_a_float(self) -> None:
        rate = Rate(100, 600)
        self.assertEqual(repr(rate), "Rate(count=100, window=600.0)")
        self.assertIs(type(rate.window), float)
        self.assertEqual(rate.interval, 6.0)

    def test_invalid(self) -> None:
        for count, window in [
            (0, 1.0),
            (-1, 1.0),
            (True, 1.0),
            (1.5, 1.0),
            (1, 0.0),
            (1, -1.0),
            (1, float("inf")),
            (1, float("nan")),
            (1, "1h"),
        ]:
            with self.assertRaises(ValueError, msg=(count, window)):
                Rate(count, window)  # type: ignore[arg-type]


class ParseRateTests(unittest.SynchronousTestCase):
    def test_good(self) -> None:
        cases = {
            "200/1h": (Rate(200, 3600.0), "200/1h"),
            "10/30s": (Rate(10, 30.0), "10/30s"),
            "5/1d": (Rate(5, 86400.0), "5/1d"),
            "100/600": (Rate(100, 600.0), "100/10m"),
            "3/m": (Rate(3, 60.0), "3/1m"),
            "3/H": (Rate(3, 3600.0), "3/1h"),
            "1/2W": (Rate(1, 1209600.0), "1/2w"),
            " 7 / 1.5h ": (Rate(7, 5400.0), "7/90m"),
            "7/0.1h": (Rate(7, 360.0), "7/6m"),
            "1/0.5s": (Rate(1, 0.5), "1/0.5s"),
            "007/90 s": (Rate(7, 90.0), "7/90s"),
            "1000000000/1s": (Rate(MAX_COUNT, 1.0), "1000000000/1s"),
        }
        for text, (rate, canonical) in cases.items():
            parsed = parse_rate(text)
            self.assertEqual(parsed, rate, text)
            self.assertEqual(str(parsed), canonical, text)

    def test_bad(self) -> None:
        cases = {
            "": "rate '': expected COUNT/WINDOW, like '200/1h'",
            "200": "rate '200': expected COUNT/WINDOW, like '200/1h'",
            "/1h": "rate '/1h': the count before '/' is missing",
            "5/": "rate '5/': the window after '/' is missing",
            "5/ ": "rate '5/ ': the window after '/' is missing",
            "x/1h": "rate 'x/1h': the count must be a whole number, got 'x'",
            "1.5/1h": "rate '1.5/1h': the count must be a whole number, got '1.5'",
            "-1/1h": "rate '-1/1h': the count must be a whole number, got '-1'",
            "\u0663/1h": "rate '\u0663/1h': the count must be a whole number, got '\u0663'",
            "0/1h": "rate '0/1h': the count must be at least 1",
            "1000000001/1h": "rate '1000000001/1h': the count must be at most 1000000000",
            "5/0": "rate '5/0': the window must be longer than zero",
            "5/0.0h": "rate '5/0.0h': the window must be longer than zero",
            "5/1x": "rate '5/1x': unknown unit 'x' in the window (use s, m, h, d or w)",
            "5/1hour": "rate '5/1hour': unknown unit 'hour' in the window (use s, m, h, d or w)",
            "5/1h30m": "rate '5/1h30m': the window must be a number with an optional unit, "
            "like '1h' or '600', got '1h30m'",
            "5/-1s": "rate '5/-1s': the window must be a number with an optional unit, "
            "like '1h' or '600', got '-1s'",
            "5/1/h": "rate '5/1/h': the window must be a number with an optional unit, "
            "like '1h' or '600', got '1/h'",
            "5/1.h": "rate '5/1.h': the window's number is not valid: '1.'",
            "5/1e3": "rate '5/1e3': the window must be a number with an optional unit, "
            "like '1h' or '600', got '1e3'",
            "5/" + "9" * 400 + "w": "rate '5/" + "9" * 400 + "w': the window is too long",
        }
        for text, message in cases.items():
            with self.assertRaises(ValueError, msg=text) as caught:
                parse_rate(text)
            self.assertEqual(str(caught.exception), message)

    def test_not_text(self) -> None:
        for value in (200, None, 3.5):
            with self.assertRaises(ValueError) as caught:
                parse_rate(value)  # type: ignore[arg-type]
            self.assertEqual(
                str(caught.exception), f"not a rate: {value!r} (expected text like '200/1h')"
            )

    @given(
        count=st.integers(1, MAX_COUNT),
        number=st.one_of(
            st.integers(1, 10**6).map(str),
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3).map(
                lambda d: f"{d:f}"
            ),
        ),
        unit=st.sampled_from(["", "s", "m", "h", "d", "w", "S", "M", "H", "D", "W"]),
    )
    def test_round_trip(self, count: int, number: str, unit: str) -> None:
        rate = parse_rate(f"{count}/{number}{unit}")
        self.assertEqual(rate.count, count)
        self.assertEqual(rate.window, float(Decimal(number) * UNITS[unit.lower() or "s"]))
        text = str(rate)
        self.assertEqual(parse_rate(text), rate)
        self.assertEqual(str(parse_rate(text)), text)

    @given(
        count=st.integers(1, MAX_COUNT),
        window=st.floats(min_value=1e-6, max_value=1e15, allow_nan=False, allow_infinity=False),
    )
    def test_any_rate_round_trips(self, count: int, window: float) -> None:
        rate = Rate(count, window)
        self.assertEqual(parse_rate(str(rate)), rate)
