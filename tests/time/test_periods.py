"""Intervals: what every period returns (UTC, half-open, aware datetimes only)."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from skylaunch.time.cycles import TimeOfDay
from skylaunch.time.periods import Interval

UTC = timezone.utc
HEL = ZoneInfo("Europe/Helsinki")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# 2024-01-10 is a Wednesday.
WED_9 = utc(2024, 1, 10, 9)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        TimeOfDay().rollforward(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        Interval(datetime(2024, 1, 1), WED_9)
    with pytest.raises(ValueError, match="before its start"):
        Interval(WED_9, WED_9 - timedelta(1))


def test_interval_is_utc_and_half_open() -> None:
    interval = Interval(datetime(2024, 1, 1, 2, tzinfo=HEL), datetime(2024, 1, 1, 3, tzinfo=HEL))
    assert interval.start.tzinfo is UTC
    assert interval.start == utc(2024, 1, 1)
    assert datetime(2024, 1, 1, 2, tzinfo=HEL) in interval
    assert datetime(2024, 1, 1, 3, tzinfo=HEL) not in interval
    assert Interval(WED_9, WED_9).is_empty
    assert pickle.loads(pickle.dumps(interval)) == interval


def test_naive_datetimes_are_refused_with_the_fix_for_rocketry_code() -> None:
    from datetime import datetime as dt

    from skylaunch.time import Cron, TimeOfDay

    with pytest.raises(ValueError, match=r"Rocketry read naive ones as local time.*astimezone"):
        dt(2024, 1, 1, 11) in TimeOfDay("10:00", "12:00")  # noqa: B015
    with pytest.raises(ValueError, match=r"Rocketry read naive ones as local time"):
        Cron.from_expr("0 * * * *").rollforward(dt(2024, 1, 1, 11))
