"""Periods that are not cycles: the past X, spans of offsets, a fixed span, always/never, cron."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from skylaunch.time import TimeSpanDelta as ExportedTimeSpanDelta
from skylaunch.time.periods import MAX_UTC, MIN_UTC, TimePeriod
from skylaunch.time.spans import Cron, StaticInterval, TimeDelta, TimeSpanDelta, always, never

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
    assert str(period) == "between 2024-01-01 00:00:00+00:00 and 2024-01-02 00:00:00+00:00"


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


def test_a_cron_date_with_no_match_left_before_year_10000_is_an_empty_span_ahead() -> None:
    # February 29th: 9996 is the last leap year datetime can hold.
    leap = Cron.from_expr("0 0 29 2 *")
    assert span(leap, utc(9995, 6, 1)) == (utc(9996, 2, 29), utc(9996, 2, 29, 0, 1))
    assert span(leap, utc(9996, 3, 1)) == (MAX_UTC, MAX_UTC)
    assert span(leap, MAX_UTC) == (MAX_UTC, MAX_UTC)
    assert span(leap, utc(9999, 1, 1), back=True) == (utc(9996, 2, 29), utc(9996, 2, 29, 0, 1))
    assert leap.expr.next_after_or_none(utc(9996, 3, 1)) is None
    with pytest.raises(ValueError, match="has no match after"):
        leap.expr.next_after(utc(9996, 3, 1))


US = timedelta(microseconds=1)


def test_time_span_delta_is_built_as_in_rocketry() -> None:
    assert ExportedTimeSpanDelta is TimeSpanDelta
    span_ = TimeSpanDelta("2:00:00", "3:00:00")
    assert (span_.near, span_.far) == (timedelta(hours=2), timedelta(hours=3))
    assert TimeSpanDelta(near="2 hours", far=timedelta(hours=3)) == span_
    assert (TimeSpanDelta().near, TimeSpanDelta().far) == (timedelta(0), None)
    assert TimeSpanDelta(5).near == timedelta(seconds=5)  # numbers are seconds, as everywhere
    assert TimeSpanDelta("2 days") != TimeSpanDelta("3 days")
    assert TimeSpanDelta("1 day", "2 days") != TimeSpanDelta("5 hours", "2 days")
    assert TimeSpanDelta("1 hour") != TimeDelta("1 hour")


@pytest.mark.parametrize(
    ("near", "far", "back", "expected"),
    [
        # Rocketry's own tables (tests/time/delta/span/test_roll.py), ends included.
        ("1:00:00", "1:20:30", False, (utc(2020, 1, 1, 11), utc(2020, 1, 1, 11, 20, 30) + US)),
        ("1:00:00", None, False, (utc(2020, 1, 1, 11), MAX_UTC)),
        (None, "1:20:30", False, (utc(2020, 1, 1, 10), utc(2020, 1, 1, 11, 20, 30) + US)),
        ("1:00:00", "1:20:30", True, (utc(2020, 1, 1, 8, 39, 30), utc(2020, 1, 1, 9) + US)),
        ("1:20:30", None, True, (MIN_UTC, utc(2020, 1, 1, 8, 39, 30) + US)),
        (None, "1:20:30", True, (utc(2020, 1, 1, 8, 39, 30), utc(2020, 1, 1, 10) + US)),
    ],
)
def test_time_span_delta_rolls_from_the_instant(
    near: str | None, far: str | None, back: bool, expected: tuple[datetime, datetime]
) -> None:
    assert span(TimeSpanDelta(near, far), utc(2020, 1, 1, 10), back=back) == expected


def test_time_span_delta_rolls_clamp_at_the_ends_of_time() -> None:
    assert TimeSpanDelta("1 day", "2 days").rollback(utc(1, 1, 1, 12)).start == MIN_UTC
    assert TimeSpanDelta("1 day").rollforward(MAX_UTC - timedelta(hours=1)).start == MAX_UTC


REF = utc(2020, 1, 1, 12)


@pytest.mark.parametrize(
    ("dt", "inside"),
    [
        # Rocketry's table (tests/time/delta/span/test_contains.py): 1 to 2 hours either side.
        (utc(2020, 1, 1, 10), True),
        (utc(2020, 1, 1, 11), True),
        (utc(2020, 1, 1, 10, 30), True),
        (utc(2020, 1, 1, 13), True),
        (utc(2020, 1, 1, 14), True),
        (utc(2020, 1, 1, 13, 30), True),
        (utc(2020, 1, 1, 9, 59, 59, 999999), False),
        (utc(2020, 1, 1, 11, 0, 0, 1), False),
        (utc(2020, 1, 1, 12, 59, 59, 999999), False),
        (utc(2020, 1, 1, 14, 0, 0, 1), False),
        (REF, False),
    ],
)
def test_time_span_delta_membership_around_a_reference(dt: datetime, inside: bool) -> None:
    assert (dt in TimeSpanDelta("1:00:00", "2:00:00", REF)) is inside
    assert (dt.astimezone(HEL) in TimeSpanDelta("1 hour", "2 hours").use_reference(REF)) is inside


def test_time_span_delta_next_boundary_around_a_reference() -> None:
    period = TimeSpanDelta("1 hour", "2 hours", REF)
    flips = [utc(2020, 1, 1, 10), utc(2020, 1, 1, 11) + US, utc(2020, 1, 1, 13)]
    flips.append(utc(2020, 1, 1, 14) + US)
    seen: list[datetime] = []
    at: datetime | None = utc(2020, 1, 1, 6)
    while at is not None:
        inside = at in period
        at = period.next_boundary(at)
        if at is not None:
            assert (at in period) is not inside  # membership flips exactly there
            assert (at - US in period) is inside
            seen.append(at)
    assert seen == flips
    # near = 0: one window through the reference; far = None: open on both sides
    assert TimeSpanDelta(0, "1 hour", REF).next_boundary(REF) == REF + timedelta(hours=1) + US
    assert REF in TimeSpanDelta(0, "1 hour", REF)
    assert TimeSpanDelta("1 hour", None, REF).next_boundary(utc(2020, 1, 1, 12, 30)) == utc(
        2020, 1, 1, 13
    )
    assert TimeSpanDelta("1 hour", None, REF).next_boundary(utc(2020, 1, 1, 13)) is None


def test_time_span_delta_without_reference_floats_like_time_delta() -> None:
    assert WED_9 in TimeSpanDelta(0, "1 hour")
    assert WED_9 in TimeSpanDelta()
    assert WED_9 not in TimeSpanDelta("1 hour", "2 hours")
    assert TimeSpanDelta("1 hour", "2 hours").next_boundary(WED_9) is None


def test_time_span_delta_is_an_immutable_hashable_picklable_value() -> None:
    plain = TimeSpanDelta("1 hour", "2 hours")
    anchored = plain.use_reference(REF)
    for period in (plain, anchored, TimeSpanDelta("10 minutes")):
        assert pickle.loads(pickle.dumps(period)) == period
        assert hash(pickle.loads(pickle.dumps(period))) == hash(period)
    assert anchored != plain
    assert len({plain, TimeSpanDelta(3600, 7200), anchored}) == 2
    with pytest.raises(AttributeError, match="immutable"):
        plain.near = timedelta(0)  # type: ignore[misc]
    assert repr(plain) == "TimeSpanDelta(near='1 hour', far='2 hours')"
    assert repr(TimeSpanDelta()) == "TimeSpanDelta(near='0 seconds')"
    assert repr(anchored) == f"TimeSpanDelta(near='1 hour', far='2 hours', reference={REF!r})"
    assert str(plain) == "1 hour to 2 hours"
    assert str(TimeSpanDelta("1 hour")) == "1 hour or more"
    assert str(anchored) == "1 hour to 2 hours from 2020-01-01T12:00:00+00:00"


def test_time_span_delta_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"far \(1 hour\) is nearer than near \(2 hours\)"):
        TimeSpanDelta("2 hours", "1 hour")
    with pytest.raises(ValueError, match="negative"):
        TimeSpanDelta(-60)
    with pytest.raises(TypeError, match="reference must be a datetime"):
        TimeSpanDelta("1 hour", reference="2020-01-01")  # type: ignore[arg-type]


def test_timedelta_takes_rocketrys_future_and_reference() -> None:
    ref = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    span = TimeDelta("1 hour", "30 minutes", reference=ref)
    assert span == TimeDelta(past="1 hour", future="30 minutes", reference=ref)
    assert span == TimeDelta("1 hour").use_reference(ref).__class__("1 hour", "30 minutes", ref)
    assert datetime(2024, 1, 1, 11, tzinfo=timezone.utc) in span
    assert datetime(2024, 1, 1, 12, 30, tzinfo=timezone.utc) in span  # both ends included
    assert datetime(2024, 1, 1, 10, 59, tzinfo=timezone.utc) not in span
    assert span.next_boundary(datetime(2024, 1, 1, 12, tzinfo=timezone.utc)) == datetime(
        2024, 1, 1, 12, 30, 0, 1, tzinfo=timezone.utc
    )
    ahead = TimeDelta(0, "30 minutes").rollforward(ref)
    assert (ahead.start, ahead.end) == (ref, ref + timedelta(minutes=30, microseconds=1))
    assert TimeDelta("1 hour").rollforward(ref) == TimeDelta("1 hour").rollback(ref)
    assert pickle.loads(pickle.dumps(span)) == span


# -- naive datetimes held by a period: wall times in the zone of the instant asked about --------


def test_a_naive_reference_is_a_wall_time_in_the_zone_asked_about() -> None:
    span = TimeDelta("1 hour", reference=datetime(2024, 1, 1, 12))
    assert span.reference == datetime(2024, 1, 1, 12)  # kept as given: the period is exact
    assert datetime(2024, 1, 1, 11, 30, tzinfo=HEL) in span
    assert datetime(2024, 1, 1, 11, 30, tzinfo=UTC) in span
    assert datetime(2024, 1, 1, 10, 30, tzinfo=HEL) not in span
    # One instant, two zones: 09:30 UTC is 11:30 in Helsinki.
    assert datetime(2024, 1, 1, 9, 30, tzinfo=UTC) not in span
    assert datetime(2024, 1, 1, 9, 30, tzinfo=UTC).astimezone(HEL) in span
    assert span.next_boundary(datetime(2024, 1, 1, 11, tzinfo=HEL)) == datetime(
        2024, 1, 1, 12, 0, 0, 1, tzinfo=HEL
    )
    around = TimeSpanDelta("1 hour", "2 hours", reference=datetime(2024, 1, 1, 12))
    assert datetime(2024, 1, 1, 13, 30, tzinfo=HEL) in around
    assert datetime(2024, 1, 1, 13, 30, tzinfo=UTC) in around
    assert datetime(2024, 1, 1, 10, 30, tzinfo=HEL) in around
    assert datetime(2024, 1, 1, 11, 30, tzinfo=HEL) not in around  # nearer than an hour
    assert pickle.loads(pickle.dumps(around)) == around


def test_static_interval_keeps_naive_ends_and_reads_them_in_the_zone_asked_about() -> None:
    period = StaticInterval(datetime(2024, 3, 31, 3, 30), datetime(2024, 3, 31, 12))
    assert period.start == datetime(2024, 3, 31, 3, 30)
    assert period == StaticInterval(datetime(2024, 3, 31, 3, 30), datetime(2024, 3, 31, 12))
    # In Helsinki 03:30 falls in the spring-forward gap: the span starts when the gap ends.
    seen = period.rollforward(datetime(2024, 3, 31, 2, tzinfo=HEL))
    assert (seen.start, seen.end) == (
        datetime(2024, 3, 31, 1, tzinfo=UTC),
        datetime(2024, 3, 31, 12, tzinfo=HEL),
    )
    assert datetime(2024, 3, 31, 4, 1, tzinfo=HEL) in period
    assert datetime(2024, 3, 31, 3, tzinfo=UTC) not in period  # 03:30-12:00 UTC there
    assert datetime(2024, 3, 31, 3, tzinfo=UTC).astimezone(HEL) in period
    assert period.next_boundary(datetime(2024, 3, 31, 1, tzinfo=UTC)) == datetime(
        2024, 3, 31, 3, 30, tzinfo=UTC
    )
    assert pickle.loads(pickle.dumps(period)) == period
    with pytest.raises(ValueError, match="before its start"):
        StaticInterval(datetime(2024, 1, 2), datetime(2024, 1, 1))
    aware_ends = StaticInterval(datetime(2024, 1, 1, 2, tzinfo=HEL), None)
    assert aware_ends.start == datetime(2024, 1, 1, tzinfo=UTC)  # aware ends are stored in UTC


def test_static_interval_from_iso_text_prints_as_rocketry() -> None:
    period = StaticInterval("2022-08-01", "2022-08-10 12:00")
    assert period == StaticInterval(datetime(2022, 8, 1), datetime(2022, 8, 10, 12))
    assert str(period) == "between 2022-08-01 00:00:00 and 2022-08-10 12:00:00"
    assert repr(period) == (
        "StaticInterval(start=datetime.datetime(2022, 8, 1, 0, 0), "
        "end=datetime.datetime(2022, 8, 10, 12, 0))"
    )
    assert (
        eval(repr(period), {"StaticInterval": StaticInterval, "datetime": __import__("datetime")})
        == period
    )
    with pytest.raises(ValueError, match="ISO"):
        StaticInterval("first of August")
    with pytest.raises(TypeError):
        StaticInterval(20220801)  # type: ignore[arg-type]


def test_past_x_reads_its_included_end_as_rocketry_right() -> None:
    noon = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    past = TimeDelta("1 hour").rollback(noon)
    assert past.end == noon + timedelta(microseconds=1)  # half-open, holding noon
    assert (past.left, past.right) == (noon - timedelta(hours=1), noon)
    ahead = TimeDelta("1 hour", "30 minutes").rollforward(noon)
    assert (ahead.left, ahead.right) == (noon, noon + timedelta(minutes=30))
    assert (TimeDelta().rollforward(noon).left, TimeDelta().rollforward(noon).right) == (noon, noon)
    span = TimeSpanDelta("1 hour", "2 hours")
    back = span.rollback(noon)
    assert (back.left, back.right) == (noon - timedelta(hours=2), noon - timedelta(hours=1))
    open_ahead = TimeSpanDelta("1 hour").rollforward(noon)
    assert (open_ahead.left, open_ahead.right) == (noon + timedelta(hours=1), MAX_UTC)
