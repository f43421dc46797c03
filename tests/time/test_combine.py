"""Periods combined with & and | (Rocketry's All/Any of periods), and conditions over them."""

from __future__ import annotations

import pickle
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.conds import IsPeriod, TaskExecutable
from skylaunch.testing import run_for, simulated_app
from skylaunch.time import All, Any, TimeOfDay, TimeOfMonth, TimeOfWeek, never
from skylaunch.time.periods import MAX_UTC

HEL = ZoneInfo("Europe/Helsinki")
WINDOW = TimeOfDay("10:00", "12:00")
MONDAY = TimeOfWeek.on("Mon")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HEL)  # type: ignore[misc]


def test_and_is_the_overlap_of_its_parts() -> None:
    period = WINDOW & MONDAY
    assert period == All(MONDAY, WINDOW)  # the order of the parts does not matter
    assert local(2024, 1, 8, 11) in period  # Monday 11:00
    assert local(2024, 1, 9, 11) not in period  # Tuesday
    assert local(2024, 1, 8, 12) not in period  # right-open
    span = period.rollforward(local(2024, 1, 3, 11))
    assert (span.start, span.end) == (local(2024, 1, 8, 10), local(2024, 1, 8, 12))
    back = period.rollback(local(2024, 1, 3, 11))
    assert (back.start, back.end) == (local(2024, 1, 1, 10), local(2024, 1, 1, 12))
    assert period.next_boundary(local(2024, 1, 8, 11)) == local(2024, 1, 8, 12)


def test_or_is_the_union_and_merges_touching_parts() -> None:
    period = TimeOfDay("10:00", "12:00") | TimeOfDay("11:00", "14:00") | TimeOfWeek.on("Sun")
    assert isinstance(period, Any)
    assert len(period.periods) == 3
    span = period.rollforward(local(2024, 1, 3, 9))
    assert (span.start, span.end) == (local(2024, 1, 3, 10), local(2024, 1, 3, 14))
    sunday = period.rollback(local(2024, 1, 7, 11))  # Sunday: the whole day holds 10-14
    assert (sunday.start, sunday.end) == (local(2024, 1, 7), local(2024, 1, 8))
    assert local(2024, 1, 3, 13) in period
    assert local(2024, 1, 3, 15) not in period


def test_parts_that_never_overlap_make_an_empty_period() -> None:
    period = MONDAY & TimeOfWeek.on("Tue")
    assert local(2024, 1, 8, 11) not in period
    assert period.rollforward(local(2024, 1, 8)).start == MAX_UTC
    assert period.next_boundary(local(2024, 1, 8)) is None
    assert TimeOfDay() & never == All(TimeOfDay(), never)


def test_combined_periods_pickle_print_and_refuse_non_periods() -> None:
    period = WINDOW & (MONDAY | TimeOfMonth.on("1st"))
    assert pickle.loads(pickle.dumps(period)) == period
    assert "TimeOfDay('10:00', '12:00')" in repr(period)
    with pytest.raises(TypeError, match="takes periods"):
        All(WINDOW, "Mon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no string syntax"):
        str(IsPeriod(period))


def test_a_condition_over_a_combined_period_runs_once_per_overlap() -> None:
    app = simulated_app(start="2024-01-05 00:00", tz="Europe/Helsinki")
    runs: list[datetime] = []

    @app.task(TaskExecutable(WINDOW & MONDAY), execution="main")
    def weekly_report() -> None:
        runs.append(app.session.clock.now())

    run_for(app, "10 days")
    assert [(r.day, r.hour) for r in runs] == [(8, 10)]


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 23),
    st.integers(1, 23),
    st.integers(1, 7),
    st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2025, 1, 1)),
)
def test_membership_agrees_with_the_parts(
    start: int, length: int, day: int, naive: datetime
) -> None:
    hours = TimeOfDay(start, (start + length) % 24 or None)
    week = TimeOfWeek.on(day)
    dt = naive.replace(tzinfo=HEL)
    assert (dt in (hours & week)) == (dt in hours and dt in week)
    assert (dt in (hours | week)) == (dt in hours or dt in week)
    span = (hours & week).rollforward(dt)
    if span.start < MAX_UTC:
        assert span.start.astimezone(HEL) in hours
        assert span.start.astimezone(HEL) in week


def test_always_is_reduced_as_rocketry_did() -> None:
    from skylaunch.time import always

    assert (always & always) is always
    assert (WINDOW & always) is WINDOW
    assert (always & WINDOW) is WINDOW
    assert (always | WINDOW) is always
    assert (WINDOW | always) is always
    # in an All, always changes nothing; in an Any, it is the whole
    assert All(WINDOW, always, MONDAY) == All(WINDOW, MONDAY)
    assert All(always).periods == (always,)
    assert Any(WINDOW, All(WINDOW, MONDAY), always) == Any(always)
    assert Any(WINDOW, always).periods == (always,)


def test_combined_roll_reads_as_rocketry_from_the_asked_instant() -> None:
    # the parts are rolled without recording the instant; the combination's answer records it
    both = All(TimeOfDay("08:00", "18:00"), TimeOfDay("10:00", "14:00"))
    rolled = both.rollforward(datetime(2024, 1, 1, 12, tzinfo=HEL))
    assert rolled.start == datetime(2024, 1, 1, 10, tzinfo=HEL)
    assert (rolled.left, rolled.right) == (
        datetime(2024, 1, 1, 12, tzinfo=HEL),
        datetime(2024, 1, 1, 14, tzinfo=HEL),
    )
    either = Any(TimeOfDay("08:00", "09:00"), TimeOfDay("09:00", "10:00"))
    back = either.rollback(datetime(2024, 1, 1, 9, 30, tzinfo=HEL))
    assert (back.left, back.right, back.closed) == (
        datetime(2024, 1, 1, 8, tzinfo=HEL),
        datetime(2024, 1, 1, 9, 30, tzinfo=HEL),
        "left",
    )
