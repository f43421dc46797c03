"""Periods that are not cycles: the past X, a fixed span, always/never, cron minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from skylaunch.time.periods import MAX_UTC, MIN_UTC, TimePeriod
from skylaunch.time.spans import Cron, StaticInterval, TimeDelta, always, never

UTC = timezone.utc
HEL = ZoneInfo("Europe/Helsinki")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# 2024-01-10 is a Wednesday.
WED_9 = utc(2024, 1, 10, 9)


def span(period: TimePeriod, dt: datetime, *, back: bool = False) -> tuple[datetime, datetime]:
    interval = period.rollback(dt) if back else period.rollforward(dt)
    return interval.start, interval.end


def test_time_delta_is_the_past_x() -> None:
    past = TimeDelta("1 hour")
    assert span(past, WED_9, back=True) == (utc(2024, 1, 10, 8), WED_9 + timedelta(microseconds=1))
    assert span(past, WED_9) == span(past, WED_9, back=True)
    assert WED_9 in past
    assert past.next_boundary(WED_9) is None
    assert TimeDelta(3600) == past == TimeDelta(timedelta(hours=1))
    assert TimeDelta("1 day").rollback(utc(1, 1, 1, 1)).start == MIN_UTC


def test_static_interval() -> None:
    period = StaticInterval(utc(2024, 1, 1), utc(2024, 1, 2))
    assert span(period, utc(2023, 1, 1)) == (utc(2024, 1, 1), utc(2024, 1, 2))
    assert span(period, utc(2025, 1, 1)) == (MAX_UTC, MAX_UTC)
    assert span(period, utc(2025, 1, 1), back=True) == (utc(2024, 1, 1), utc(2024, 1, 2))
    assert span(period, utc(2023, 1, 1), back=True) == (MIN_UTC, MIN_UTC)
    assert utc(2024, 1, 1, 12) in period
    assert utc(2024, 1, 2) not in period
    assert period.next_boundary(utc(2023, 1, 1)) == utc(2024, 1, 1)
    assert period.next_boundary(utc(2024, 1, 1)) == utc(2024, 1, 2)
    assert period.next_boundary(utc(2024, 1, 2)) is None
    assert StaticInterval().next_boundary(WED_9) is None
    assert str(period) == "between 2024-01-01T00:00:00+00:00 and 2024-01-02T00:00:00+00:00"


def test_always_and_never() -> None:
    assert WED_9 in always
    assert WED_9 not in never
    assert span(always, WED_9) == (MIN_UTC, MAX_UTC)
    assert span(always, WED_9, back=True) == (MIN_UTC, MAX_UTC)
    assert never.rollforward(WED_9).is_empty
    assert never.rollback(WED_9).is_empty
    assert always.next_boundary(WED_9) is None
    assert never.next_boundary(WED_9) is None


def test_cron_period_minutes_are_separate_intervals() -> None:
    every = Cron()
    assert span(every, utc(2024, 1, 1, 9, 0, 30)) == (utc(2024, 1, 1, 9), utc(2024, 1, 1, 9, 1))
    assert every.next_boundary(utc(2024, 1, 1, 9, 0, 30)) is None
    quarter = Cron.from_expr("*/15 * * * *")
    assert quarter == Cron("*/15")
    assert span(quarter, utc(2024, 1, 1, 9, 7)) == (utc(2024, 1, 1, 9, 15), utc(2024, 1, 1, 9, 16))
    assert span(quarter, utc(2024, 1, 1, 9, 7), back=True) == (
        utc(2024, 1, 1, 9),
        utc(2024, 1, 1, 9, 1),
    )
    assert utc(2024, 1, 1, 9, 15, 59) in quarter
    assert utc(2024, 1, 1, 9, 16) not in quarter
    assert quarter.next_boundary(utc(2024, 1, 1, 9, 15, 1)) == utc(2024, 1, 1, 9, 16)
    assert Cron.from_expr("0 0 2 1 *").rollback(utc(1, 1, 1, 12)).is_empty
    # The spring-gap minute becomes the first minute after the gap.
    gap = Cron.from_expr("30 3 * * *")
    assert span(gap, datetime(2024, 3, 31, 4, 0, 30, tzinfo=HEL)) == (
        utc(2024, 3, 31, 1),
        utc(2024, 3, 31, 1, 1),
    )
