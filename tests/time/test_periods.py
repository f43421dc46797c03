"""Intervals: what every period returns (UTC, half-open); naive datetimes as wall times."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from skylaunch.time.cycles import TimeOfDay
from skylaunch.time.periods import MAX_UTC, MIN_UTC, Interval, aware, naive_zone

UTC = timezone.utc
HEL = ZoneInfo("Europe/Helsinki")
NYC = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# 2024-01-10 is a Wednesday.
WED_9 = utc(2024, 1, 10, 9)


@pytest.fixture
def helsinki_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The system's local zone is Helsinki for the test (TZ and tzset), then restored."""
    monkeypatch.setenv("TZ", "Europe/Helsinki")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_datetimes_are_local_time_without_a_bound_zone(helsinki_local: None) -> None:
    # As Rocketry: 11:00 local (Helsinki, UTC+2 in winter) is 09:00 UTC.
    assert TimeOfDay("10:00", "12:00").rollforward(datetime(2024, 1, 1, 11)) == Interval(
        utc(2024, 1, 1, 8), utc(2024, 1, 1, 10)
    )
    assert Interval(datetime(2024, 1, 1), datetime(2024, 1, 2)).start == utc(2023, 12, 31, 22)
    assert datetime(2024, 7, 1, 11) in TimeOfDay("10:00", "12:00")  # summer: UTC+3
    assert aware(datetime(2024, 7, 1, 11)) == utc(2024, 7, 1, 8)


def test_naive_local_time_in_a_gap_is_the_end_of_the_gap(helsinki_local: None) -> None:
    # 2024-03-31 03:00 -> 04:00 in Helsinki: 03:30 does not happen; it is read as 04:00 (01:00 UTC).
    assert aware(datetime(2024, 3, 31, 3, 30)) == utc(2024, 3, 31, 1)
    # 2024-10-27 04:00 -> 03:00: 03:30 happens twice; the first (summer time) is meant.
    assert aware(datetime(2024, 10, 27, 3, 30)).astimezone(UTC) == utc(2024, 10, 27, 0, 30)


def test_a_bound_zone_reads_naive_datetimes_and_dst_edges() -> None:
    with naive_zone(HEL):
        assert TimeOfDay("10:00", "12:00").rollforward(datetime(2024, 1, 1, 11)) == Interval(
            utc(2024, 1, 1, 8), utc(2024, 1, 1, 10)
        )
        assert aware(datetime(2024, 3, 31, 3, 30)) == utc(2024, 3, 31, 1)  # gap: its end
        assert aware(datetime(2024, 3, 31, 3, 30)).tzinfo is HEL
    with naive_zone(NYC):
        # 2024-11-03 01:30 happens twice in New York: the first, EDT (05:30 UTC).
        assert aware(datetime(2024, 11, 3, 1, 30)).astimezone(UTC) == utc(2024, 11, 3, 5, 30)
        # the day of the fall-back is 25 hours long, read from a naive instant in it
        day = TimeOfDay().rollforward(datetime(2024, 11, 3, 12))
        assert day.end - day.start == timedelta(hours=25)
    assert aware(datetime(2024, 1, 1, 11), UTC) == utc(2024, 1, 1, 11)  # given zone wins
    assert aware(WED_9) is WED_9  # aware ones are left alone


def test_a_bound_clock_is_read_each_time() -> None:
    class Zoned:
        tz: timezone | ZoneInfo = HEL

    clock = Zoned()
    with naive_zone(clock):
        assert aware(datetime(2024, 1, 1, 12)) == utc(2024, 1, 1, 10)
        clock.tz = NYC
        assert aware(datetime(2024, 1, 1, 12)) == utc(2024, 1, 1, 17)


def test_interval_order_is_still_checked() -> None:
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


def test_rocketry_code_with_naive_datetimes_runs() -> None:
    from datetime import datetime as dt

    from skylaunch.time import Cron, TimeOfDay

    with naive_zone(UTC):
        assert dt(2024, 1, 1, 11) in TimeOfDay("10:00", "12:00")
        assert Cron.from_expr("0 * * * *").rollforward(dt(2024, 1, 1, 11, 30)).start == utc(
            2024, 1, 1, 12
        )


# -- Rocketry's reading of an interval: left / right / closed ------------------------------------


def test_made_interval_reads_as_rocketry_left_closed() -> None:
    span = Interval(utc(2024, 1, 1, 10), utc(2024, 1, 1, 12))
    assert (span.left, span.right, span.closed) == (span.start, span.end, "left")
    assert Interval(utc(2024, 1, 1), utc(2024, 1, 2), closed="left") == Interval(
        utc(2024, 1, 1), utc(2024, 1, 2)
    )
    with pytest.raises(ValueError, match="half-open"):
        Interval(utc(2024, 1, 1), utc(2024, 1, 2), closed="both")
    with pytest.raises(AttributeError):
        span.start = utc(2024, 1, 1)  # type: ignore[misc]


def test_rollforward_left_is_the_asked_instant_inside() -> None:
    window = TimeOfDay("10:00", "12:00")
    inside = window.rollforward(utc(2024, 1, 1, 11))
    # skylaunch's whole interval, Rocketry's part from the instant on
    assert (inside.start, inside.end) == (utc(2024, 1, 1, 10), utc(2024, 1, 1, 12))
    assert (inside.left, inside.right, inside.closed) == (
        utc(2024, 1, 1, 11),
        utc(2024, 1, 1, 12),
        "left",
    )
    before = window.rollforward(utc(2024, 1, 1, 9))
    assert (before.left, before.right) == (utc(2024, 1, 1, 10), utc(2024, 1, 1, 12))
    # equality reads start/end: the view is not part of the value
    assert inside == Interval(utc(2024, 1, 1, 10), utc(2024, 1, 1, 12))


def test_rollback_right_is_the_asked_instant_and_a_point_at_the_start_is_closed() -> None:
    window = TimeOfDay("10:00", "12:00")
    middle = window.rollback(utc(2024, 1, 1, 11))
    assert (middle.left, middle.right, middle.closed) == (
        utc(2024, 1, 1, 10),
        utc(2024, 1, 1, 11),
        "left",
    )
    at_start = window.rollback(utc(2024, 1, 1, 10))
    assert (at_start.left, at_start.right, at_start.closed) == (
        utc(2024, 1, 1, 10),
        utc(2024, 1, 1, 10),
        "both",
    )
    after = window.rollback(utc(2024, 1, 1, 13))
    assert (after.left, after.right, after.closed) == (
        utc(2024, 1, 1, 10),
        utc(2024, 1, 1, 12),
        "left",
    )


def test_rocketry_reading_is_in_the_asked_instants_form() -> None:
    window = TimeOfDay("10:00", "12:00")
    with naive_zone(HEL):
        rolled = window.rollforward(datetime(2024, 1, 1, 11))
    assert rolled.start == datetime(2024, 1, 1, 10, tzinfo=HEL)
    assert rolled.left == datetime(2024, 1, 1, 11)
    assert rolled.right == datetime(2024, 1, 1, 12)
    in_nyc = window.rollforward(datetime(2024, 1, 1, 9, tzinfo=NYC))
    assert in_nyc.left == datetime(2024, 1, 1, 10, tzinfo=NYC)
    assert in_nyc.left.tzinfo is NYC


def test_open_ends_read_as_period_min_and_max() -> None:
    from skylaunch.time import TimePeriod, TimeSpanDelta, always

    assert TimePeriod.min == MIN_UTC.replace(tzinfo=None)
    assert TimeSpanDelta.max == MAX_UTC.replace(tzinfo=None)
    naive = datetime(2024, 1, 1)
    whole = always.rollback(naive)
    assert (whole.left, whole.right) == (TimePeriod.min, naive)
    aware_whole = always.rollforward(utc(2024, 1, 1))
    assert (aware_whole.left, aware_whole.right) == (utc(2024, 1, 1), MAX_UTC)


def test_pickled_rolled_interval_is_the_plain_interval() -> None:
    rolled = TimeOfDay("10:00", "12:00").rollforward(utc(2024, 1, 1, 11))
    again = pickle.loads(pickle.dumps(rolled))
    assert again == rolled
    assert again.left == again.start
