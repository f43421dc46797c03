"""Conditions on the scheduler itself: passes made, time running, when it (re)started."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from skylaunch.conds import (
    All,
    SchedulerCycles,
    SchedulerRunning,
    SchedulerStarted,
    daily,
    every,
    parse_condition,
    scheduler_cycles,
    scheduler_running,
    scheduler_started,
)
from skylaunch.conds.base import Condition, Context
from skylaunch.exc import ConditionParseError
from skylaunch.testing import is_due, run_for, run_until, runs, simulated_app
from skylaunch.time import StaticInterval, TimeDelta, TimeOfDay, TimeSpanDelta

UTC = timezone.utc


def hm(values: list[datetime]) -> list[str]:
    return [v.strftime("%d %H:%M") for v in values]


def test_cycles_compare_as_in_rocketry() -> None:
    assert str(SchedulerCycles() > 3) == "scheduler has more than 3 cycles"
    assert str(SchedulerCycles() < 3) == "scheduler has less than 3 cycles"
    assert str(SchedulerCycles() == 3) == "scheduler has 3 cycles"  # type: ignore[comparison-overlap]
    # counts are whole numbers: >= and <= are the string syntax's > and <
    assert (SchedulerCycles() >= 3) == (SchedulerCycles() > 2)
    assert (SchedulerCycles() <= 3) == (SchedulerCycles() < 4)
    assert str(SchedulerCycles()) == "scheduler has more than 0 cycles"  # bare: any pass
    assert parse_condition("scheduler has 5 cycles") == (SchedulerCycles() == 5)
    assert str(SchedulerCycles() != 5) == "~(scheduler has 5 cycles)"
    with pytest.raises(TypeError, match="whole number"):
        SchedulerCycles() > 1.5  # noqa: B015
    with pytest.raises(ValueError, match="never negative"):
        SchedulerCycles() > -1  # noqa: B015


def test_cycle_helpers_need_a_bound() -> None:
    with pytest.raises(ValueError, match="needs more_than"):
        scheduler_cycles()
    with pytest.raises(ValueError, match="needs more_than"):
        scheduler_running()


def test_cycles_strings_parse_back() -> None:
    for cond in (
        scheduler_cycles(more_than=3),
        scheduler_cycles(less_than=2),
        scheduler_cycles(more_than=1, less_than=9),
        scheduler_running(more_than="10 minutes"),
        scheduler_running(less_than="1 hour"),
        scheduler_started("10 minutes"),
        scheduler_started(TimeOfDay()),
    ):
        assert parse_condition(str(cond)) == cond, str(cond)


def test_a_shut_condition_on_cycles_stops_after_that_many_passes() -> None:
    app = simulated_app("2024-01-01 00:00", shut_cond=SchedulerCycles() > 3)

    @app.task(every("1 minute"))
    def tick() -> None: ...

    run_until(app, "2024-01-02 00:00")
    # A pass counts once it is done; while the shut condition counts passes, an idle
    # scheduler passes every cycle_sleep (0.1 s), as Rocketry's loop does: it stopped after
    # its fourth pass, well under a second in, not at the end of the day.
    assert app.session.scheduler.cycles == 4
    assert hm(runs(app, "tick")) == ["01 00:00"]
    assert app.session.clock.now() < datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_cycles_less_than_holds_only_in_the_first_passes() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 minute") & scheduler_cycles(less_than=3))
    def early() -> None: ...

    run_for(app, "10 minutes")
    assert hm(runs(app, "early")) == ["01 00:00"]  # the pass after its run was the second


def test_running_over_and_under_a_duration() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("10 minutes") & scheduler_running(more_than="30 minutes"))
    def settled() -> None: ...

    @app.task(every("10 minutes") & scheduler_running(less_than="20 minutes"))
    def warming() -> None: ...

    run_for(app, "59 minutes")
    assert hm(runs(app, "settled")) == ["01 00:30", "01 00:40", "01 00:50"]
    assert hm(runs(app, "warming")) == ["01 00:00", "01 00:10"]


def test_started_within_a_duration_and_within_today() -> None:
    app = simulated_app("2024-01-01 22:00")

    @app.task(every("5 minutes") & scheduler_started("10 minutes"))
    def just_started() -> None: ...

    @app.task(every("1 hour") & scheduler_started(TimeOfDay()))
    def started_today() -> None: ...

    run_until(app, "2024-01-02 01:30")
    assert hm(runs(app, "just_started")) == ["01 22:00", "01 22:05", "01 22:10"]
    assert hm(runs(app, "started_today")) == ["01 22:00", "01 23:00"]


def test_scheduler_conditions_are_false_before_the_scheduler_starts() -> None:
    app = simulated_app("2024-01-01 00:00")
    app.task(scheduler_running(less_than="1 hour"), name="a")(lambda: None)
    app.task(scheduler_started("1 hour"), name="b")(lambda: None)
    for name in ("a", "b"):
        why = is_due(app, name)
        assert not why
        assert why.next_change is None


def test_startup_time_is_rocketrys_name_for_started_at() -> None:
    app = simulated_app("2024-01-01 12:00", tz="Europe/Helsinki")
    scheduler = app.session.scheduler
    assert scheduler.startup_time is None
    assert not SchedulerStarted().observe(session=app.session)
    # a naive datetime (Rocketry's tests set datetime.now() - 20 s) is a wall time in the
    # clock's zone
    scheduler.startup_time = datetime(2024, 1, 1, 11, 59, 40)
    assert scheduler.started_at == datetime(2024, 1, 1, 11, 59, 40, tzinfo=app.session.clock.tz)
    assert scheduler.startup_time == scheduler.started_at
    assert SchedulerStarted().observe(session=app.session)
    assert SchedulerStarted(period=TimeDelta("30 seconds")).observe(session=app.session)
    assert not SchedulerStarted(period=TimeDelta("10 seconds")).observe(session=app.session)
    scheduler.startup_time = None
    assert not SchedulerStarted().observe(session=app.session)


def test_started_with_a_period_without_a_string_form_prints_what_it_is() -> None:
    span = StaticInterval(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    cond = SchedulerStarted(span)
    assert str(cond) == f"scheduler started in {span!r}"  # printable, though not parseable
    with pytest.raises(ConditionParseError):
        parse_condition(str(cond))
    assert scheduler_started(timedelta(minutes=5)) == SchedulerStarted(
        parse_condition("scheduler started in past 5 minutes").period  # type: ignore[attr-defined]
    )


# -- next_change is the instant the value flips (issue 12, item 1; found by the properties) ----


def _scheduler_flip(cond: Condition, started: datetime, now: datetime) -> tuple[bool, ...]:
    """The values at now, just before next_change(now), and at it."""
    app = simulated_app("2024-03-29 00:00")
    session = app.session
    session.scheduler.started_at = started
    change = cond.next_change(Context(now, session))
    assert change is not None
    assert change > now
    one_us = timedelta(microseconds=1)
    return tuple(cond.is_true(Context(t, session)) for t in (now, change - one_us, change))


def test_scheduler_running_flips_exactly_at_next_change() -> None:
    # 00:00 + 1953 µs in floats: "now - started >= delta" disagreed with the planned instant
    start = datetime(2024, 3, 29, tzinfo=UTC)
    under = SchedulerRunning(timedelta(microseconds=1953), more=False)
    assert _scheduler_flip(under, start, start) == (True, True, False)


def test_scheduler_started_in_a_span_changes_after_now() -> None:
    start = datetime(2024, 3, 29, 0, 0, 0, 883, tzinfo=UTC)
    span = SchedulerStarted(TimeSpanDelta("1 second", "11.888672 seconds"))
    assert _scheduler_flip(span, start, start) == (False, False, True)
    assert _scheduler_flip(span, start, start + timedelta(seconds=5)) == (True, True, False)
    # Just out of the span, for good: its next change was "now" itself (the loop would spin).
    app = simulated_app("2024-03-29 00:00")
    app.session.scheduler.started_at = start
    gone = Context(start + timedelta(seconds=11.888673), app.session)
    assert span.is_true(gone) is False
    assert span.next_change(gone) is None


def test_an_idle_scheduler_stops_on_a_cycle_count() -> None:
    """Nothing is ever due: the passes still come every cycle_sleep (it never returned)."""
    app = simulated_app("2024-01-01 00:00", shut_cond=SchedulerCycles() >= 5)

    @app.task(daily.at("10:00"))
    def later() -> None: ...

    run_until(app, "2024-01-02 00:00")
    assert app.session.scheduler.cycles == 5
    assert runs(app, "later") == []
    assert app.session.clock.now() < datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_scheduler_started_without_a_period_holds_once_started() -> None:
    from skylaunch.conds import SchedulerStarted, parse_condition

    assert parse_condition("scheduler started") == SchedulerStarted()
    assert str(SchedulerStarted()) == "scheduler started"
    app = simulated_app("2024-01-01 00:00")
    app.task(SchedulerStarted(), name="b")(lambda: None)
    assert not is_due(app, "b")  # not started yet
    app = simulated_app("2024-01-01 00:00")
    app.task(every("1 hour") & SchedulerStarted(), name="c")(lambda: None)
    run_for(app, "150 minutes")
    assert hm(runs(app, "c")) == ["01 00:00", "01 01:00", "01 02:00"]


def test_a_second_comparison_adds_to_the_first_as_in_rocketry() -> None:
    # Rocketry kept every comparison made: (cycles > 1) < 5 is "more than 1 and less than 5"
    between = (SchedulerCycles() > 1) < 5
    assert between == scheduler_cycles(1, 5)
    assert between == All(SchedulerCycles() > 1, SchedulerCycles() < 5)
    # on the bare condition a comparison replaces the default "more than 0"
    assert (SchedulerCycles() < 5) == scheduler_cycles(less_than=5)


def test_from_magic_builds_rocketry_comparisons() -> None:
    assert SchedulerCycles.from_magic(__eq__=3) == (SchedulerCycles() == 3)  # type: ignore[comparison-overlap]
    assert SchedulerCycles.from_magic(__gt__=1, __lt__="5") == scheduler_cycles(1, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown comparison 'invalid'"):
        SchedulerCycles.from_magic(invalid=3)


def test_scheduler_running_equals_rocketrys_started_span() -> None:
    more = SchedulerStarted(TimeSpanDelta(near="10 minutes"))
    less = SchedulerStarted(TimeSpanDelta(far="10 minutes"))
    assert scheduler_running("10 minutes") == more
    assert more == scheduler_running("10 minutes")
    assert scheduler_running(less_than="10 minutes") == less
    assert hash(scheduler_running("10 minutes")) == hash(more)
    assert scheduler_running("10 minutes") != less
    assert scheduler_running("10 minutes") != SchedulerStarted()
