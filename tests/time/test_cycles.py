"""Cycles (time of second ... month): intervals, membership and boundaries, DST days, month ends."""

from __future__ import annotations

import calendar
import pickle
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.time.combine import Any
from skylaunch.time.cycles import (
    TimeOfDay,
    TimeOfHour,
    TimeOfMinute,
    TimeOfMonth,
    TimeOfSecond,
    TimeOfWeek,
    TimeOfYear,
    _days_in_month,
    _month_words,
)
from skylaunch.time.periods import AnchoredInterval, Interval, PositionTypeError, TimePeriod
from skylaunch.time.spans import Cron, TimeDelta, always, never

UTC = timezone.utc
HEL = ZoneInfo("Europe/Helsinki")
NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def span(period: TimePeriod, dt: datetime, *, back: bool = False) -> tuple[datetime, datetime]:
    interval = period.rollback(dt) if back else period.rollforward(dt)
    return interval.start, interval.end


# 2024-01-10 is a Wednesday.
WED_9 = utc(2024, 1, 10, 9)


@pytest.mark.parametrize(
    ("period", "forward", "backward"),
    [
        (TimeOfDay("10:00", "12:00"), (utc(2024, 1, 10, 10), utc(2024, 1, 10, 12)), (utc(2024, 1, 9, 10), utc(2024, 1, 9, 12))),
        (TimeOfDay(10, 12), (utc(2024, 1, 10, 10), utc(2024, 1, 10, 13)), (utc(2024, 1, 9, 10), utc(2024, 1, 9, 13))),
        (TimeOfDay("10", "12"), (utc(2024, 1, 10, 10), utc(2024, 1, 10, 13)), (utc(2024, 1, 9, 10), utc(2024, 1, 9, 13))),
        (TimeOfDay("8am", "2pm"), (utc(2024, 1, 10, 8), utc(2024, 1, 10, 14)), (utc(2024, 1, 10, 8), utc(2024, 1, 10, 14))),
        (TimeOfDay("22:00", "02:00"), (utc(2024, 1, 10, 22), utc(2024, 1, 11, 2)), (utc(2024, 1, 9, 22), utc(2024, 1, 10, 2))),
        (TimeOfDay.starting("10:00"), (utc(2024, 1, 9, 10), utc(2024, 1, 10, 10)), (utc(2024, 1, 9, 10), utc(2024, 1, 10, 10))),
        (TimeOfDay(), (utc(2024, 1, 10), utc(2024, 1, 11)), (utc(2024, 1, 10), utc(2024, 1, 11))),
        (TimeOfDay.at("11:00"), (utc(2024, 1, 10, 11), utc(2024, 1, 10, 12)), (utc(2024, 1, 9, 11), utc(2024, 1, 9, 12))),
        (TimeOfDay.at("23:30"), (utc(2024, 1, 10, 23, 30), utc(2024, 1, 11, 0, 30)), (utc(2024, 1, 9, 23, 30), utc(2024, 1, 10, 0, 30))),
        (TimeOfDay.before("12:00"), (utc(2024, 1, 10), utc(2024, 1, 10, 12)), (utc(2024, 1, 10), utc(2024, 1, 10, 12))),
        (TimeOfDay.after("10:00"), (utc(2024, 1, 10, 10), utc(2024, 1, 11)), (utc(2024, 1, 9, 10), utc(2024, 1, 10))),
        (TimeOfWeek.on("Mon"), (utc(2024, 1, 15), utc(2024, 1, 16)), (utc(2024, 1, 8), utc(2024, 1, 9))),
        (TimeOfWeek("Mon", "Tue"), (utc(2024, 1, 15), utc(2024, 1, 17)), (utc(2024, 1, 8), utc(2024, 1, 10))),
        (TimeOfWeek(1, 2), (utc(2024, 1, 15), utc(2024, 1, 17)), (utc(2024, 1, 8), utc(2024, 1, 10))),
        (TimeOfWeek("Fri", "Mon"), (utc(2024, 1, 12), utc(2024, 1, 16)), (utc(2024, 1, 5), utc(2024, 1, 9))),
        (TimeOfWeek("Wed 08:00", "Wed 10:00"), (utc(2024, 1, 10, 8), utc(2024, 1, 10, 10)), (utc(2024, 1, 10, 8), utc(2024, 1, 10, 10))),
        (TimeOfWeek.on("Sun 12:00"), (utc(2024, 1, 14, 12), utc(2024, 1, 15, 12)), (utc(2024, 1, 7, 12), utc(2024, 1, 8, 12))),
        (TimeOfMonth("1st", "5th"), (utc(2024, 2, 1), utc(2024, 2, 6)), (utc(2024, 1, 1), utc(2024, 1, 6))),
        (TimeOfMonth.on("10th"), (utc(2024, 1, 10), utc(2024, 1, 11)), (utc(2024, 1, 10), utc(2024, 1, 11))),
        (TimeOfMonth("3rd 12:30", None), (utc(2024, 1, 3, 12, 30), utc(2024, 2, 1)), (utc(2024, 1, 3, 12, 30), utc(2024, 2, 1))),
        (TimeOfHour("15:00", "30:00"), (utc(2024, 1, 10, 9, 15), utc(2024, 1, 10, 9, 30)), (utc(2024, 1, 10, 8, 15), utc(2024, 1, 10, 8, 30))),
        (TimeOfHour(15, 30), (utc(2024, 1, 10, 9, 15), utc(2024, 1, 10, 9, 31)), (utc(2024, 1, 10, 8, 15), utc(2024, 1, 10, 8, 31))),
        (TimeOfHour.at("45:00"), (utc(2024, 1, 10, 9, 45), utc(2024, 1, 10, 9, 46)), (utc(2024, 1, 10, 8, 45), utc(2024, 1, 10, 8, 46))),
        (TimeOfMinute("10", "20"), (utc(2024, 1, 10, 9, 0, 10), utc(2024, 1, 10, 9, 0, 20)), (utc(2024, 1, 10, 8, 59, 10), utc(2024, 1, 10, 8, 59, 20))),
        (TimeOfMinute(10, 20), (utc(2024, 1, 10, 9, 0, 10), utc(2024, 1, 10, 9, 0, 21)), (utc(2024, 1, 10, 8, 59, 10), utc(2024, 1, 10, 8, 59, 21))),
        (TimeOfMinute.at("30"), (utc(2024, 1, 10, 9, 0, 30), utc(2024, 1, 10, 9, 0, 31)), (utc(2024, 1, 10, 8, 59, 30), utc(2024, 1, 10, 8, 59, 31))),
        (TimeOfSecond(500, None), (utc(2024, 1, 10, 9, 0, 0, 500_000), utc(2024, 1, 10, 9, 0, 1)), (utc(2024, 1, 10, 8, 59, 59, 500_000), utc(2024, 1, 10, 9))),
    ],
)  # fmt: skip
def test_roll_tables(
    period: TimePeriod,
    forward: tuple[datetime, datetime],
    backward: tuple[datetime, datetime],
) -> None:
    assert span(period, WED_9) == forward
    assert span(period, WED_9, back=True) == backward


def test_boundaries_are_right_open() -> None:
    window = TimeOfDay("10:00", "12:00")
    assert utc(2024, 1, 10, 10) in window
    assert utc(2024, 1, 10, 11, 59, 59, 999_999) in window
    assert utc(2024, 1, 10, 12) not in window
    assert window.next_boundary(utc(2024, 1, 10, 10)) == utc(2024, 1, 10, 12)
    assert window.next_boundary(utc(2024, 1, 10, 12)) == utc(2024, 1, 11, 10)
    assert span(window, utc(2024, 1, 10, 12), back=True) == (
        utc(2024, 1, 10, 10),
        utc(2024, 1, 10, 12),
    )


def test_monday_midnight_starts_the_week() -> None:
    week = TimeOfWeek()
    monday = utc(2024, 1, 15)
    assert span(week, monday) == (monday, utc(2024, 1, 22))
    assert span(week, monday - timedelta(microseconds=1)) == (utc(2024, 1, 8), monday)


def test_month_ends_and_leap_day() -> None:
    assert span(TimeOfMonth(), utc(2024, 2, 29, 23)) == (utc(2024, 2, 1), utc(2024, 3, 1))
    assert span(TimeOfMonth(), utc(2023, 2, 28, 23)) == (utc(2023, 2, 1), utc(2023, 3, 1))
    # The 31st is absent from short months; windows ending on it end at the month's end.
    assert span(TimeOfMonth.on("31st"), utc(2024, 2, 10)) == (utc(2024, 3, 31), utc(2024, 4, 1))
    assert span(TimeOfMonth.on("29th"), utc(2023, 2, 10)) == (utc(2023, 3, 29), utc(2023, 3, 30))
    assert span(TimeOfMonth.on("29th"), utc(2024, 2, 10)) == (utc(2024, 2, 29), utc(2024, 3, 1))
    assert span(TimeOfMonth("28th", None), utc(2024, 2, 10)) == (utc(2024, 2, 28), utc(2024, 3, 1))
    assert span(TimeOfMonth("28th", "31st"), utc(2024, 4, 29)) == (
        utc(2024, 4, 28),
        utc(2024, 5, 1),
    )
    # Wrapping over a month without a 30th: only the head (1st, 2nd) is there in March.
    wrap = TimeOfMonth("30th", "2nd")
    assert span(wrap, utc(2024, 2, 10)) == (utc(2024, 3, 1), utc(2024, 3, 3))
    assert span(wrap, utc(2024, 2, 10), back=True) == (utc(2024, 1, 30), utc(2024, 2, 3))
    assert span(wrap, utc(2024, 3, 10)) == (utc(2024, 3, 30), utc(2024, 4, 3))


# -- DST ------------------------------------------------------------------------------------------


def test_day_is_local_midnight_to_midnight_on_dst_days() -> None:
    short = span(TimeOfDay(), datetime(2024, 3, 31, 12, tzinfo=HEL))
    assert short == (utc(2024, 3, 30, 22), utc(2024, 3, 31, 21))
    assert short[1] - short[0] == timedelta(hours=23)
    long = span(TimeOfDay(), datetime(2024, 11, 3, 12, tzinfo=NY))
    assert long == (utc(2024, 11, 3, 4), utc(2024, 11, 4, 5))
    assert long[1] - long[0] == timedelta(hours=25)


def test_window_keeps_wall_clock_across_dst() -> None:
    window = TimeOfDay("10:00", "12:00")
    before = span(window, datetime(2024, 3, 30, 9, tzinfo=HEL))
    after = span(window, datetime(2024, 3, 31, 9, tzinfo=HEL))
    assert before == (utc(2024, 3, 30, 8), utc(2024, 3, 30, 10))
    assert after == (utc(2024, 3, 31, 7), utc(2024, 3, 31, 9))


def test_gap_times_move_to_end_of_gap() -> None:
    # Helsinki: 03:00 -> 04:00 on 2024-03-31 (01:00 UTC).
    window = TimeOfDay("03:30", "05:00")
    assert span(window, datetime(2024, 3, 31, 1, tzinfo=HEL)) == (
        utc(2024, 3, 31, 1),
        utc(2024, 3, 31, 2),
    )
    # A window wholly inside the gap happens at the first instant after it, for its nominal
    # length, so a daily run is moved, never skipped.
    vanished = TimeOfDay.at("03:00")
    assert span(vanished, datetime(2024, 3, 31, 0, 30, tzinfo=HEL)) == (
        utc(2024, 3, 31, 1),
        utc(2024, 3, 31, 2),
    )
    assert span(TimeOfDay("03:10", "03:20"), datetime(2024, 3, 31, tzinfo=HEL)) == (
        utc(2024, 3, 31, 1),
        utc(2024, 3, 31, 1, 10),
    )
    # ... and the day after it is back at its wall-clock place.
    assert span(vanished, datetime(2024, 3, 31, 5, tzinfo=HEL)) == (
        utc(2024, 4, 1, 0),
        utc(2024, 4, 1, 1),
    )


def test_ambiguous_time_takes_first_occurrence() -> None:
    # New York: 02:00 EDT -> 01:00 EST on 2024-11-03; 01:30 happens at 05:30 and 06:30 UTC.
    window = TimeOfDay("01:30", "03:00")
    assert span(window, datetime(2024, 11, 3, tzinfo=NY)) == (
        utc(2024, 11, 3, 5, 30),
        utc(2024, 11, 3, 8),
    )
    second = datetime(2024, 11, 3, 1, 15, fold=1, tzinfo=NY)  # 06:15 UTC, inside
    assert second in window
    assert TimeOfDay.at("01:00").rollforward(datetime(2024, 11, 3, tzinfo=NY)) == Interval(
        utc(2024, 11, 3, 5), utc(2024, 11, 3, 7)
    )


def test_hour_cycles_are_real_hours_in_the_repeated_hour() -> None:
    second_pass = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NY)
    assert span(TimeOfHour(), second_pass) == (utc(2024, 11, 3, 6), utc(2024, 11, 3, 7))
    assert span(TimeOfHour("15:00", "45:00"), second_pass) == (
        utc(2024, 11, 3, 6, 15),
        utc(2024, 11, 3, 6, 45),
    )


def test_half_hour_zone_aligns_hours_to_local_clock() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    assert span(TimeOfHour.at("00:00"), datetime(2024, 1, 1, 10, 20, tzinfo=kolkata)) == (
        utc(2024, 1, 1, 5, 30),
        utc(2024, 1, 1, 5, 31),
    )


def test_fixed_offset_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert span(TimeOfDay(), datetime(2024, 1, 1, 1, tzinfo=plus2)) == (
        utc(2023, 12, 31, 22),
        utc(2024, 1, 1, 22),
    )


# -- construction, printing, value semantics --------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "text", "rep"),
    [
        (TimeOfDay("10:00", "12:00"), "between 10:00 and 12:00", "TimeOfDay('10:00', '12:00')"),
        (TimeOfDay(None, "12:00"), "before 12:00", "TimeOfDay(None, '12:00')"),
        (TimeOfDay("10:00", None), "after 10:00", "TimeOfDay('10:00', None)"),
        (TimeOfDay(10, 23), "after 10:00", "TimeOfDay('10:00', None)"),
        (TimeOfDay("00:00", "12:00"), "before 12:00", "TimeOfDay(None, '12:00')"),
        (TimeOfDay.at("11:00"), "at 11:00", "TimeOfDay.at('11:00')"),
        (TimeOfDay.starting("10:00"), "starting 10:00", "TimeOfDay.starting('10:00')"),
        (TimeOfDay("10:00", "10:00"), "starting 10:00", "TimeOfDay.starting('10:00')"),
        (TimeOfDay(), "", "TimeOfDay()"),
        (TimeOfDay("00:00", "24:00"), "", "TimeOfDay()"),
        (TimeOfDay("10:00:30.5", "12:00"), "between 10:00:30.5 and 12:00", "TimeOfDay('10:00:30.5', '12:00')"),
        (TimeOfWeek("Tue", "Fri"), "between Tue and Fri", "TimeOfWeek('Tue', 'Fri')"),
        (TimeOfWeek("Tue 10:00", "Fri 15:30"), "between Tue 10:00 and Fri 15:30", "TimeOfWeek('Tue 10:00', 'Fri 15:30')"),
        (TimeOfWeek.on("Monday"), "on Mon", "TimeOfWeek.at('Mon')"),
        (TimeOfMonth("2nd", "3rd"), "between 2nd and 3rd", "TimeOfMonth('2nd', '3rd')"),
        (TimeOfMonth.on(21), "on 21st", "TimeOfMonth.at('21st')"),
        (TimeOfMonth("11th 10:00", None), "after 11th 10:00", "TimeOfMonth('11th 10:00', None)"),
        (TimeOfHour("15:00", "30:00"), "between 15:00 and 30:00", "TimeOfHour('15:00', '30:00')"),
        (TimeOfMinute("30.5", None), "after 30.5", "TimeOfMinute('30.5', None)"),
        (TimeOfSecond(250, 500), "between 250 and 501", "TimeOfSecond('250', '501')"),
        (TimeDelta("90 minutes"), "1 hour 30 minutes", "TimeDelta('1 hour 30 minutes')"),
        (Cron("*/5"), "*/5 * * * *", "Cron.from_expr('*/5 * * * *')"),
        (always, "always", "always"),
        (never, "never", "never"),
    ],
)  # fmt: skip
def test_str_repr_and_round_trips(period: TimePeriod, text: str, rep: str) -> None:
    assert str(period) == text
    assert repr(period) == rep
    namespace = {
        c.__name__: c
        for c in (
            TimeOfDay,
            TimeOfWeek,
            TimeOfMonth,
            TimeOfHour,
            TimeOfMinute,
            TimeOfSecond,
            TimeDelta,
            Cron,
        )
    }
    assert eval(rep, {**namespace, "always": always, "never": never}) == period
    assert pickle.loads(pickle.dumps(period)) == period
    assert hash(pickle.loads(pickle.dumps(period))) == hash(period)


def test_equal_when_built_equal() -> None:
    assert TimeOfDay(10, 12) == TimeOfDay("10:00", "13:00")
    assert TimeOfDay.at("11:00") == TimeOfDay.on("11:00")
    # equal instants, equal periods (as Rocketry), though they print differently
    assert TimeOfDay.at("11:00") == TimeOfDay("11:00", "12:00")
    assert hash(TimeOfDay.at("11:00")) == hash(TimeOfDay("11:00", "12:00"))
    assert str(TimeOfDay.at("11:00")) != str(TimeOfDay("11:00", "12:00"))
    assert TimeOfDay.at("23:00") == TimeOfDay("23:00", None)
    assert TimeOfDay.at("11:00") != TimeOfDay("11:00", "12:01")
    assert TimeOfDay("10:00", "12:00") != TimeOfHour("10:00", "12:00")
    assert len({TimeOfDay(), TimeOfDay(None, None), TimeOfDay.starting("00:00")}) == 1
    assert isinstance(TimeOfDay.at("11:00"), TimeOfDay)
    assert TimeOfDay().offsets == (timedelta(0), timedelta(0))
    assert TimeOfDay.at("11:00").kind == "at"


def test_immutable() -> None:
    period = TimeOfDay("10:00", "12:00")
    with pytest.raises(AttributeError, match="immutable"):
        period._start = 0  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del period._start
    with pytest.raises(AttributeError):
        Interval(WED_9, WED_9).start = WED_9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "error", "fragment"),
    [
        (lambda: TimeOfDay("25:00"), ValueError, "'25:00'"),
        (lambda: TimeOfDay(24), ValueError, "24"),
        (lambda: TimeOfDay("24:00", None), ValueError, "start 1 day"),
        (lambda: TimeOfDay(1.5), TypeError, "1.5"),
        (lambda: TimeOfWeek("Funday"), ValueError, "Funday"),
        (lambda: TimeOfWeek(8), ValueError, "8"),
        (lambda: TimeOfMonth("32nd"), ValueError, "32"),
        (lambda: TimeOfMonth(2.0), TypeError, "2.0"),
        (lambda: TimeOfHour("61:00"), ValueError, "61:00"),
        (lambda: TimeOfHour(1.5), TypeError, "1.5"),
        (lambda: TimeOfMinute(60), ValueError, "60"),
        (lambda: TimeOfSecond(1000), ValueError, "1000"),
        (lambda: TimeOfDay.between("10:00", None), ValueError, "both bounds"),
        (lambda: TimeDelta("soon"), ValueError, "soon"),
    ],
)
def test_bad_bounds_are_named(build: object, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        build()  # type: ignore[operator]


# -- properties -------------------------------------------------------------------------------------

_PERIODS = st.sampled_from(
    [
        TimeOfDay("10:00", "12:00"),
        TimeOfDay("22:00", "02:00"),
        TimeOfDay("03:30", "04:30"),
        TimeOfDay("01:30", "02:30"),
        TimeOfDay.at("23:30"),
        TimeOfDay.starting("10:00"),
        TimeOfDay(),
        TimeOfWeek("Fri 18:00", "Mon 06:00"),
        TimeOfWeek.on("Sun"),
        TimeOfMonth("28th", "3rd"),
        TimeOfMonth.on("31st"),
        TimeOfMonth("30th", None),
        TimeOfHour("50:00", "10:00"),
        TimeOfMinute(10, 20),
        TimeOfSecond(100, 200),
        Cron.from_expr("*/20 1-3 * * *"),
        Cron.from_expr("30 2 * * *"),
    ]
)
_ZONES = st.sampled_from([UTC, HEL, NY, timezone(timedelta(hours=-3, minutes=-30))])
_INSTANTS = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(period=_PERIODS, instant=_INSTANTS, zone=_ZONES)
def test_roll_consistency(period: TimePeriod, instant: datetime, zone: timezone) -> None:
    dt = instant.astimezone(zone)
    forward = period.rollforward(dt)
    backward = period.rollback(dt)
    assert forward.start < forward.end
    assert backward.start < backward.end
    if dt in period:
        assert dt in forward
        assert forward == backward
    else:
        assert forward.start > instant
        assert backward.end <= instant


@settings(max_examples=200, deadline=None)
@given(
    period=_PERIODS,
    instant=_INSTANTS,
    zone=_ZONES,
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=5),
)
def test_membership_constant_until_next_boundary(
    period: TimePeriod, instant: datetime, zone: timezone, fractions: list[float]
) -> None:
    dt = instant.astimezone(zone)
    boundary = period.next_boundary(dt)
    inside = dt in period
    if boundary is None:
        for days in (1, 40, 400):
            assert ((dt + timedelta(days=days)) in period) is inside
        return
    assert boundary > instant
    for fraction in fractions:
        probe = instant + (boundary - instant) * fraction
        if probe < boundary:
            assert (probe.astimezone(zone) in period) is inside
    assert (boundary.astimezone(zone) in period) is not inside


_ANCHORED = _PERIODS.filter(lambda p: not isinstance(p, Cron))


@settings(max_examples=200, deadline=None)
@given(period=_ANCHORED, instant=_INSTANTS, zone=_ZONES, step=st.integers(-90, 90))
def test_cached_answers_equal_the_computed_ones(
    period: AnchoredInterval, instant: datetime, zone: timezone, step: int
) -> None:
    # Warm the cache near the instant (a few days away either side), then ask.
    period.rollforward((instant + timedelta(days=step / 30)).astimezone(zone))
    dt = instant.astimezone(zone)
    assert period.rollforward(dt) == period._rollforward_slow(dt)
    assert period.rollback(dt) == period._rollback_slow(dt)
    assert (dt in period) is (period._rollforward_slow(dt).start <= instant)


def test_window_wholly_in_the_gap_is_moved_not_skipped_for_every_zone_day() -> None:
    # New York: 02:00 -> 03:00 on 2024-03-10 (07:00 UTC).
    window = TimeOfDay("02:15", "02:45")
    assert span(window, datetime(2024, 3, 10, tzinfo=NY)) == (
        utc(2024, 3, 10, 7),
        utc(2024, 3, 10, 7, 30),
    )
    assert datetime(2024, 3, 10, 3, 10, tzinfo=NY) in window
    assert window.next_boundary(datetime(2024, 3, 10, 1, tzinfo=NY)) == utc(2024, 3, 10, 7)


# -- the last day of the month ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (utc(2024, 2, 10), utc(2024, 2, 29), utc(2024, 3, 1)),  # leap February
        (utc(2025, 2, 10), utc(2025, 2, 28), utc(2025, 3, 1)),
        (utc(2024, 4, 30, 12), utc(2024, 4, 30), utc(2024, 5, 1)),  # inside: this interval
        (utc(2024, 5, 1), utc(2024, 5, 31), utc(2024, 6, 1)),
        # Helsinki's last Sunday of March 2024 is the 31st: a 23-hour last day
        (
            datetime(2024, 3, 30, 12, tzinfo=HEL),
            datetime(2024, 3, 31, tzinfo=HEL),
            datetime(2024, 4, 1, tzinfo=HEL),
        ),
    ],
)
def test_last_day_of_month(now: datetime, start: datetime, end: datetime) -> None:
    last = TimeOfMonth.on("last")
    assert last.rollforward(now) == Interval(start, end)
    assert (now in last) is (start <= now < end)
    assert last.next_boundary(now) == (end if now >= start else start)
    assert last.rollback(end - timedelta(microseconds=1)) == Interval(start, end)


def test_last_day_value_semantics_and_errors() -> None:
    last = TimeOfMonth.at("last")
    assert last == TimeOfMonth.on("Last Day") != TimeOfMonth.on("31st")
    assert hash(last) == hash(TimeOfMonth.on("last"))
    assert str(last) == "on last"
    assert repr(last) == "TimeOfMonth.at('last')"
    assert pickle.loads(pickle.dumps(last)) == last
    for build in (
        lambda: TimeOfMonth.between("last", "3rd"),
        lambda: TimeOfMonth.after("last"),
        lambda: TimeOfMonth.starting("last"),
    ):
        with pytest.raises(ValueError, match="only accepted alone"):
            build()


def test_time_point_is_rocketrys_spelling_of_at() -> None:
    assert TimeOfWeek("Mon", time_point=True) == TimeOfWeek.at("Mon")
    assert TimeOfMonth("1st", time_point=True) == TimeOfMonth.on("1st")
    assert TimeOfDay("10:00", starting=True) == TimeOfDay.starting("10:00")
    with pytest.raises(ValueError, match=r"write TimeOfDay\.starting"):
        TimeOfDay("10:00", "12:00", starting=True)
    with pytest.raises(ValueError, match=r"write TimeOfDay\.at"):
        TimeOfDay("10:00", "12:00", time_point=True)


def test_time_of_year_by_whole_months() -> None:
    from skylaunch.time import TimeOfYear

    hel = ZoneInfo("Europe/Helsinki")
    spring = TimeOfYear("Feb", "Mar")
    span = spring.rollforward(datetime(2024, 3, 15, tzinfo=hel))
    assert (span.start, span.end) == (
        datetime(2024, 2, 1, tzinfo=hel),
        datetime(2024, 4, 1, tzinfo=hel),
    )
    winter = TimeOfYear("Nov", "Feb")  # wraps the new year, February whole (leap day too)
    assert datetime(2024, 2, 29, 23, tzinfo=hel) in winter
    assert datetime(2024, 3, 1, tzinfo=hel) not in winter
    assert TimeOfYear.on(7) == TimeOfYear.on("July") == TimeOfYear("Jul", time_point=True)
    assert datetime(2023, 7, 31, 23, 59, tzinfo=hel) in TimeOfYear.on("Jul")
    assert TimeOfYear().rollback(datetime(2024, 6, 1, tzinfo=hel)).start == datetime(
        2024, 1, 1, tzinfo=hel
    )
    assert pickle.loads(pickle.dumps(winter)) == winter
    with pytest.raises(ValueError, match="month"):
        TimeOfYear("Foo")


def test_is_full_as_rocketry_answers_it() -> None:
    assert TimeOfDay().is_full()
    assert TimeOfDay.starting("10:00").is_full()
    assert TimeOfDay("00:00", "24:00").is_full()
    assert not TimeOfDay("10:00", "12:00").is_full()
    assert not TimeOfWeek.on("Mon").is_full()


# -- create_range: every n-th unit of the cycle (Rocketry's) ---------------------------------


@pytest.mark.parametrize(
    ("cls", "units"),
    [(TimeOfMinute, 60), (TimeOfHour, 60), (TimeOfDay, 24), (TimeOfWeek, 7), (TimeOfMonth, 31)],
)
@pytest.mark.parametrize("step", [1, 2, 3, 100])
def test_create_range_takes_every_nth_unit(cls: type[TimeOfDay], units: int, step: int) -> None:
    every = cls.create_range(step=step)
    assert isinstance(every, Any)
    assert len(every.periods) == -(-units // step)


def test_create_range_is_those_units_and_slices_by_position() -> None:
    every_second_hour = TimeOfDay.create_range(step=2)
    assert every_second_hour == Any(*(TimeOfDay.at(f"{h:02d}:00") for h in range(0, 24, 2)))
    assert datetime(2024, 1, 1, 2, 30, tzinfo=UTC) in every_second_hour
    assert datetime(2024, 1, 1, 3, 30, tzinfo=UTC) not in every_second_hour
    midweek = TimeOfWeek.create_range("Tue", "Fri")
    assert midweek == Any(TimeOfWeek.at("Tue"), TimeOfWeek.at("Wed"), TimeOfWeek.at("Thu"))
    assert TimeOfYear.create_range(step=3) == Any(
        *(TimeOfYear.at(m) for m in ("Jan", "Apr", "Jul", "Oct"))
    )
    with pytest.raises(ValueError, match="not a unit's position"):
        TimeOfDay.create_range("10:30")
    with pytest.raises(ValueError, match="empty"):
        TimeOfWeek.create_range(5, 2)
    with pytest.raises(TypeError, match="no units"):
        TimeOfSecond.create_range(step=2)


# -- Rocketry's forms ---------------------------------------------------------------------------


def test_right_closed_window_holds_its_end_instant() -> None:
    window = TimeOfDay("08:00", "09:00", right_closed=True)
    assert utc(2024, 1, 1, 9) in window
    assert utc(2024, 1, 1, 9, 0, 0, 1) not in window
    assert utc(2024, 1, 1, 9) not in TimeOfDay("08:00", "09:00")
    assert window.rollforward(utc(2024, 1, 1, 7)).end == utc(2024, 1, 1, 9, 0, 0, 1)
    assert utc(2024, 1, 1, 9) in TimeOfDay(None, "09:00", right_closed=True)
    with pytest.raises(ValueError, match="needs an end"):
        TimeOfDay("08:00", right_closed=True)


def test_every_time_of_x_is_an_anchored_interval() -> None:
    classes = set(AnchoredInterval.__subclasses__())
    assert classes == {
        TimeOfSecond,
        TimeOfMinute,
        TimeOfHour,
        TimeOfDay,
        TimeOfWeek,
        TimeOfMonth,
        TimeOfYear,
    }
    for cls in classes:
        assert cls().is_full()
        assert repr(cls()) == f"{cls.__name__}()"


@pytest.mark.parametrize("cls", [TimeOfHour, TimeOfDay, TimeOfWeek, TimeOfMonth, TimeOfYear])
def test_float_position_is_a_type_error_and_a_value_error(cls: type[AnchoredInterval]) -> None:
    with pytest.raises(PositionTypeError) as raised:
        cls(2.5, None)
    assert isinstance(raised.value, TypeError)
    assert isinstance(raised.value, ValueError)  # what Rocketry raised


def test_time_of_hour_in_quarters() -> None:
    assert TimeOfHour("1 quarter", "3 quarter") == TimeOfHour("15:00", "45:00")
    assert TimeOfHour("2q", None) == TimeOfHour("30:00", None)


@pytest.mark.parametrize("year", [1, 1900, 2000, 2023, 2024, 2100, 9999])
def test_month_lengths_are_those_of_the_calendar_module(year: int) -> None:
    for month in range(1, 13):
        assert _days_in_month(year, month) == calendar.monthrange(year, month)[1]


def test_month_names_are_those_of_the_calendar_module() -> None:
    abbr, full = _month_words()
    assert abbr == [calendar.month_abbr[i].lower() for i in range(1, 13)]
    assert full == [calendar.month_name[i].lower() for i in range(1, 13)]
    assert TimeOfYear("feb", "March") == TimeOfYear(2, 3)
    assert TimeOfYear._format(6 * 31 * 86_400_000_000) == "Jul"
