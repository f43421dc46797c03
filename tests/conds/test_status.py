"""Task status conditions, running, cron, parameters and scheduler start: tables at boundaries."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from skylaunch.conds import (
    All,
    IsEnv,
    ParamExists,
    condition,
    cron,
    crontime,
    daily,
    failed,
    finished,
    inacted,
    is_env,
    running,
    scheduler_started,
    started,
    succeeded,
    terminated,
)
from skylaunch.conds.base import Condition, Context
from skylaunch.conds.scheduler import SchedulerStarted
from skylaunch.conds.status import TaskStarted
from skylaunch.history import Action
from skylaunch.testing import seed, simulated_app
from skylaunch.time import TimeOfDay, TimeSpanDelta

UTC = ZoneInfo("UTC")
HEL = ZoneInfo("Europe/Helsinki")


def ctx_for(records: list[tuple[str, Action]], now: str, tz: str = "UTC") -> Context:
    app = simulated_app("2024-01-01 00:00", tz=tz)

    @app.task()
    def job() -> None: ...

    @app.task()
    def other() -> None: ...

    seed(app, "job", records)
    seed(app, "other", [("2024-01-31 09:00", "run"), ("2024-01-31 09:05", "fail")])
    return Context(
        datetime.fromisoformat(now).replace(tzinfo=ZoneInfo(tz)), app.session, app.session["job"]
    )


RUN_OK = [("2024-01-31 10:00", "run"), ("2024-01-31 10:30", "success")]
TWO = [*RUN_OK, ("2024-01-31 11:00", "run"), ("2024-01-31 11:10", "fail")]

# (condition, history, now, expected)
TABLE: list[tuple[Condition, list[tuple[str, Action]], str, bool]] = [
    (started, [], "2024-01-31 12:00", False),
    (started, RUN_OK, "2024-01-31 12:00", True),
    (started.today, RUN_OK, "2024-01-31 23:59:59.999999", True),
    (started.today, RUN_OK, "2024-02-01 00:00", False),  # midnight starts a new day
    (started.today >= 2, TWO, "2024-01-31 12:00", True),
    (started.today >= 3, TWO, "2024-01-31 12:00", False),
    (started.today == 0, TWO, "2024-02-01 00:00", True),
    (started.today > 1, TWO, "2024-01-31 12:00", True),
    (started.today < 2, TWO, "2024-01-31 12:00", False),
    (started.today <= 2, TWO, "2024-01-31 12:00", True),
    (started.today != 2, TWO, "2024-01-31 12:00", False),
    (succeeded.today, TWO, "2024-01-31 12:00", True),
    (failed.today, RUN_OK, "2024-01-31 12:00", False),
    (failed.this_hour, TWO, "2024-01-31 11:59:59", True),
    (failed.this_hour, TWO, "2024-01-31 12:00", False),  # exactly 12:00: new hour
    (finished.today >= 2, TWO, "2024-01-31 12:00", True),
    (finished.this_minute, TWO, "2024-01-31 11:10:59", True),
    (finished.this_second, TWO, "2024-01-31 11:10:01", False),
    (started.this_week, RUN_OK, "2024-02-04 23:00", True),  # Sunday
    (started.this_week, RUN_OK, "2024-02-05 00:00", False),  # Monday 00:00
    (started.this_month, RUN_OK, "2024-01-31 23:59", True),
    (started.this_month, RUN_OK, "2024-02-01 00:00", False),  # month end
    # a window: counts today's window until the next one starts
    (started.today.between("10:00", "10:30"), RUN_OK, "2024-01-31 10:15", True),
    (started.today.between("10:00", "10:30"), RUN_OK, "2024-01-31 20:00", True),
    (started.today.between("10:00", "10:30"), RUN_OK, "2024-02-01 10:00", False),
    (started.between("10:00", "11:00") >= 2, TWO, "2024-01-31 12:00", False),
    (started.today.after("10:30") == 1, TWO, "2024-01-31 12:00", True),
    # sliding windows are inclusive at both ends
    (succeeded.in_past("90 minutes"), RUN_OK, "2024-01-31 12:00", True),
    (succeeded.in_past("90 minutes"), RUN_OK, "2024-01-31 12:00:00.000001", False),
    (failed(task="other").today, [], "2024-01-31 12:00", True),
    (failed(task="other").today, [], "2024-02-01 00:00", False),
    (
        terminated.today,
        [("2024-01-31 10:00", "run"), ("2024-01-31 10:01", "terminate")],
        "2024-01-31 10:02",
        True,
    ),
    (
        inacted.today,
        [("2024-01-31 10:00", "run"), ("2024-01-31 10:01", "inaction")],
        "2024-01-31 10:02",
        True,
    ),
    # leap day
    (started.today, [("2024-02-29 23:00", "run")], "2024-02-29 23:30", True),
    (started.this_month, [("2024-02-29 23:00", "run")], "2024-03-01 00:00", False),
]


@pytest.mark.parametrize(("cond", "records", "now", "expected"), TABLE, ids=str)
def test_status_table(
    cond: Condition, records: list[tuple[str, Action]], now: str, expected: bool
) -> None:
    ctx = ctx_for(records, now)
    assert cond.is_true(ctx) is expected


def test_today_is_the_local_calendar_day_across_dst() -> None:
    # Helsinki 2024-03-31 is 23 hours long; a run at 23:30 local is still "today".
    records: list[tuple[str, Action]] = [("2024-03-31 00:30", "run")]
    ctx = ctx_for(records, "2024-03-31 23:30", tz="Europe/Helsinki")
    assert started.today.is_true(ctx)
    assert started.today.next_change(ctx) == datetime(2024, 4, 1, tzinfo=HEL)


def test_next_change_of_status() -> None:
    ctx = ctx_for(RUN_OK, "2024-01-31 12:00")
    assert started.next_change(ctx) is None
    assert started.today.next_change(ctx) == datetime(2024, 2, 1, tzinfo=UTC)
    # already false and false again tomorrow: nothing to plan
    assert (started.today >= 5).next_change(ctx) is None
    window = started.today.between("10:00", "10:30")
    assert window.next_change(ctx) == datetime(2024, 2, 1, 10, tzinfo=UTC)
    past = succeeded.in_past("2 hours")
    assert past.next_change(ctx) == datetime(2024, 1, 31, 12, 30, 0, 1, tzinfo=UTC)


def test_comparisons_build_new_frozen_values() -> None:
    base = started.today
    three = base >= 3
    assert three is not base
    assert (three.op, three.n) == (">=", 3)  # type: ignore[attr-defined]
    assert (base.op, base.n) == (">=", 1)  # type: ignore[attr-defined]
    assert started.today == started.today
    assert (started.today >= 3) == (started.today >= 3)
    assert hash(started.today >= 3) == hash(started.today >= 3)
    assert started.today != failed.today
    assert pickle.loads(pickle.dumps(three)) == three
    with pytest.raises(TypeError, match="whole number"):
        started.today >= "3"  # type: ignore[operator]  # noqa: B015
    with pytest.raises(ValueError, match="never negative"):
        started.today >= -1  # noqa: B015


def test_running_counts_open_runs_and_their_age() -> None:
    open_run: list[tuple[str, Action]] = [("2024-01-31 10:00", "run")]
    ctx = ctx_for(open_run, "2024-01-31 10:09:59")
    assert running.is_true(ctx)
    assert not running.more_than("10 minutes").is_true(ctx)
    assert running.less_than("10 minutes").is_true(ctx)
    assert running.more_than("10 minutes").next_change(ctx) == datetime(
        2024, 1, 31, 10, 10, tzinfo=UTC
    )
    assert running.less_than("10 minutes").next_change(ctx) == datetime(
        2024, 1, 31, 10, 10, tzinfo=UTC
    )
    assert running.between("5 minutes", "10 minutes").is_true(ctx)
    assert (running >= 2).is_true(ctx) is False
    assert running(task="other").is_true(ctx) is False
    done = ctx_for(RUN_OK, "2024-01-31 10:40")
    assert not running.is_true(done)
    assert running.next_change(done) is None
    with pytest.raises(ValueError, match="longer"):
        running.between("10 minutes", "5 minutes")


def test_cron_is_run_based_and_crontime_a_clock_predicate() -> None:
    every5 = cron("*/5 * * * *")
    assert every5.is_true(ctx_for([], "2024-01-31 10:05"))
    assert not every5.is_true(ctx_for([], "2024-01-31 10:06"))
    # a start in the minute blocks it, whatever the outcome (even a crash)
    crashed: list[tuple[str, Action]] = [
        ("2024-01-31 10:05:01", "run"),
        ("2024-01-31 10:05:02", "crash"),
    ]
    ctx = ctx_for(crashed, "2024-01-31 10:05:30")
    assert not every5.is_true(ctx)
    assert every5.next_change(ctx) == datetime(2024, 1, 31, 10, 10, tzinfo=UTC)
    assert cron(minute="*/5") == every5
    assert crontime("0 9 * * 1-5").is_true(ctx_for([], "2024-01-31 09:00:59"))
    assert not crontime("0 9 * * 1-5").is_true(ctx_for([], "2024-02-03 09:00"))  # Saturday
    with pytest.raises(ValueError, match="either"):
        cron("* * * * *", minute="5")


def test_env_and_params() -> None:
    ctx = ctx_for([], "2024-01-31 12:00")
    assert not is_env("prod").is_true(ctx)
    ctx.session.parameters.update(env="prod", mode="full", x=1)
    assert is_env("prod").is_true(ctx)
    assert not IsEnv("dev").is_true(ctx)
    assert ParamExists("x", mode="full").is_true(ctx)
    assert not ParamExists("y").is_true(ctx)
    assert not ParamExists(mode="fast").is_true(ctx)
    assert is_env("prod").next_change(ctx) is None
    with pytest.raises(ValueError, match="environment"):
        is_env("")
    with pytest.raises(ValueError, match="at least one"):
        ParamExists()
    assert pickle.loads(pickle.dumps(ParamExists("x", mode="full"))) == ParamExists(
        "x", mode="full"
    )


def test_custom_conditions_take_session_parameters_by_name() -> None:
    ctx = ctx_for([], "2024-01-31 12:00")
    ctx.session.parameters["limit"] = 3

    def under_limit(limit: int, used: int = 1) -> bool:
        return used < limit

    cond = condition(under_limit)
    assert cond.session_params == ("limit", "used")
    assert cond.is_true(ctx)
    ctx.session.parameters["used"] = 5
    assert not cond.is_true(ctx)


def test_scheduler_started() -> None:
    ctx = ctx_for([], "2024-01-31 12:00")
    cond = scheduler_started("10 minutes")
    assert not cond.is_true(ctx)  # not started
    ctx.session.scheduler.started_at = datetime(2024, 1, 31, 11, 55, tzinfo=UTC)
    assert cond.is_true(ctx)
    assert cond.next_change(ctx) == datetime(2024, 1, 31, 12, 5, 0, 1, tzinfo=UTC)
    later = Context(datetime(2024, 1, 31, 12, 6, tzinfo=UTC), ctx.session, ctx.task)
    assert not cond.is_true(later)


def _at(ctx: Context, when: datetime) -> Context:
    return Context(when, ctx.session, ctx.task)


def test_a_span_of_offsets_counts_records_between_near_and_far_ago() -> None:
    # Rocketry's TimeSpanDelta as a status period: runs between 1 and 2 hours ago.
    runs_: list[tuple[str, Action]] = [("2024-01-31 10:00", "run"), ("2024-01-31 10:20", "run")]
    ctx = ctx_for(runs_, "2024-01-31 10:30")
    once = TaskStarted(task="job", period=TimeSpanDelta("1 hour", "2 hours"))
    twice = once >= 2
    table = [
        ("10:59:59.999999", False, False),
        ("11:00", True, False),  # the 10:00 run is exactly 1 hour ago: included
        ("11:20", True, True),
        ("12:00", True, True),  # ... and exactly 2 hours ago: still included
        ("12:00:00.000001", True, False),
        ("12:20:00.000001", False, False),
    ]
    for clock, one, two in table:
        now = _at(ctx, datetime.fromisoformat(f"2024-01-31 {clock}").replace(tzinfo=UTC))
        assert (once.is_true(now), twice.is_true(now)) == (one, two), clock
    # The exact instants where the values flip, from any instant before them.
    assert once.next_change(ctx) == datetime(2024, 1, 31, 11, tzinfo=UTC)
    assert twice.next_change(ctx) == datetime(2024, 1, 31, 11, 20, tzinfo=UTC)
    at_11_30 = _at(ctx, datetime(2024, 1, 31, 11, 30, tzinfo=UTC))
    assert twice.next_change(at_11_30) == datetime(2024, 1, 31, 12, 0, 0, 1, tzinfo=UTC)
    assert once.next_change(at_11_30) == datetime(2024, 1, 31, 12, 20, 0, 1, tzinfo=UTC)
    assert once.next_change(_at(ctx, datetime(2024, 1, 31, 13, tzinfo=UTC))) is None
    assert "TimeSpanDelta(near='1 hour', far='2 hours')" in str(once)  # no syntax; still prints


def test_a_span_of_offsets_is_constant_until_its_next_change() -> None:
    runs_: list[tuple[str, Action]] = [
        ("2024-01-31 10:00", "run"),
        ("2024-01-31 10:07", "run"),
        ("2024-01-31 10:30", "run"),
    ]
    ctx = ctx_for(runs_, "2024-01-31 10:30")
    for period in (TimeSpanDelta("15 minutes", "40 minutes"), TimeSpanDelta("20 minutes")):
        for n in (1, 2, 3):
            cond = TaskStarted(task="job", period=period) >= n
            now = datetime(2024, 1, 31, 10, 30, tzinfo=UTC)
            while now < datetime(2024, 1, 31, 12, tzinfo=UTC):
                here = _at(ctx, now)
                value, change = cond.is_true(here), cond.next_change(here)
                probe = now + timedelta(seconds=30)
                while probe < (change or datetime(2024, 1, 31, 12, tzinfo=UTC)):
                    assert cond.is_true(_at(ctx, probe)) is value, (cond, now, probe)
                    probe += timedelta(seconds=30)
                if change is not None:
                    assert cond.is_true(_at(ctx, change)) is not value, (cond, change)
                now += timedelta(minutes=1)


def test_scheduler_started_over_a_span_of_offsets() -> None:
    ctx = ctx_for([], "2024-01-31 11:58")
    ctx.session.scheduler.started_at = datetime(2024, 1, 31, 11, 55, tzinfo=UTC)
    cond = SchedulerStarted(TimeSpanDelta("5 minutes", "10 minutes"))
    assert not cond.is_true(ctx)
    assert cond.next_change(ctx) == datetime(2024, 1, 31, 12, tzinfo=UTC)
    noon = _at(ctx, datetime(2024, 1, 31, 12, tzinfo=UTC))
    assert cond.is_true(noon)
    assert cond.next_change(noon) == datetime(2024, 1, 31, 12, 5, 0, 1, tzinfo=UTC)
    later = _at(ctx, datetime(2024, 1, 31, 12, 6, tzinfo=UTC))
    assert not cond.is_true(later)
    assert cond.next_change(later) is None
    assert str(cond).startswith("scheduler started in TimeSpanDelta(")


def test_scheduler_started_in_a_window_that_has_closed() -> None:
    # Started at 12:30: not in today's 10:00-12:00 window, which is the latest one at 13:00.
    ctx = ctx_for([], "2024-01-31 13:00")
    ctx.session.scheduler.started_at = datetime(2024, 1, 31, 12, 30, tzinfo=UTC)
    assert not scheduler_started(TimeOfDay("10:00", "12:00")).is_true(ctx)
    ctx.session.scheduler.started_at = datetime(2024, 1, 31, 11, 30, tzinfo=UTC)
    assert scheduler_started(TimeOfDay("10:00", "12:00")).is_true(ctx)


def test_finished_counts_success_fail_and_terminate_but_not_inaction() -> None:
    """Rocketry's TaskFinished: an inaction is not a finish (skylaunch counted it)."""
    inacted: list[tuple[str, Action]] = [
        ("2024-01-31 10:00", "run"),
        ("2024-01-31 10:01", "inaction"),
    ]
    ctx = ctx_for(inacted, "2024-01-31 12:00")
    assert not finished.today.is_true(ctx)
    assert daily.is_true(ctx) is False  # the run-once periods still count it as done
    for end in ("success", "fail", "terminate"):
        ctx = ctx_for([("2024-01-31 10:00", "run"), ("2024-01-31 10:01", end)], "2024-01-31 12:00")  # type: ignore[list-item]
        assert finished.today.is_true(ctx), end


# -- next_change is the instant the value flips, to the microsecond (issue 12, item 1) ---------
# Found by tests/conds/test_properties.py: each computed its next change in floats that did not
# match the comparison is_true makes, so the value flipped a microsecond before the planned
# instant (missed) or not at it (a condition true at its own "next change").

_T0 = datetime(2024, 3, 29, tzinfo=ZoneInfo("UTC")).timestamp()


def _flip(cond: Condition, records: list[tuple[float, Action]], now: float) -> tuple[bool, ...]:
    """The values at now, just before next_change(now), and at it."""
    app = simulated_app("2024-03-29 00:00")
    app.task(name="job")(lambda: None)
    session = app.session
    for k, (ts, action) in enumerate(records):
        session.history.add("job", action, ts, "r0" if action == "run" else f"r{k - 1}")
    task = session["job"]
    at = datetime.fromtimestamp(now, ZoneInfo("UTC"))
    change = cond.next_change(Context(at, session, task))
    assert change is not None
    assert change > at
    one_us = timedelta(microseconds=1)
    return tuple(cond.is_true(Context(t, session, task)) for t in (at, change - one_us, change))


def test_a_record_leaves_the_past_window_exactly_at_next_change() -> None:
    run = _T0 + 0.7075498  # a POSIX float between two microseconds
    assert _flip(started.in_past("1 second"), [(run, "run")], run) == (True, True, False)


def test_a_record_enters_and_leaves_a_span_exactly_at_next_change() -> None:
    run = _T0 + 0.7075498
    cond = TaskStarted(period=TimeSpanDelta("1 second", "2 seconds"))
    assert _flip(cond, [(run, "run")], run) == (False, False, True)
    assert _flip(cond, [(run, "run")], run + 1.5) == (True, True, False)


def test_running_for_less_than_turns_false_exactly_at_next_change() -> None:
    cond = running.less_than(timedelta(microseconds=1953))
    assert _flip(cond, [(_T0, "run")], _T0) == (True, True, False)
    cond = running.more_than(timedelta(microseconds=1953))
    assert _flip(cond, [(_T0, "run")], _T0) == (False, False, True)


def test_task_running_takes_rocketrys_period() -> None:
    from skylaunch.conds import TaskRunning
    from skylaunch.time import TimeDelta, TimeOfDay

    assert TaskRunning(task="x", period=TimeDelta("1 hour")) == TaskRunning("x").less_than("1 hour")
    with pytest.raises(TypeError, match="the past X as a TimeDelta"):
        TaskRunning(task="x", period=TimeOfDay())


def test_running_with_more_than_is_deprecated_as_in_rocketry() -> None:
    from skylaunch.conds import running

    with pytest.warns(DeprecationWarning, match=r"running\.more_than"):
        cond = running("x", more_than="1 hour")
    assert cond == running("x").more_than("1 hour")


def test_task_running_takes_rocketrys_time_span_delta() -> None:
    from skylaunch.conds import TaskRunning

    # Rocketry counted runs started between far and near ago: running for near..far
    assert TaskRunning(task="x", period=TimeSpanDelta(near="10 mins")) == running("x").more_than(
        "10 mins"
    )
    assert TaskRunning(task="x", period=TimeSpanDelta(far="10 mins")) == running("x").less_than(
        "10 mins"
    )
    assert TaskRunning(task="x", period=TimeSpanDelta(near="15 mins", far="20 mins")) == running(
        "x"
    ).between("15 mins", "20 mins")
    assert running.more_than(0) == running  # "for more than 0 s" is no bound
    with pytest.raises(TypeError, match="TimeSpanDelta"):
        TaskRunning(period=TimeSpanDelta("1 min").use_reference(datetime(2024, 1, 1)))


def test_running_called_without_a_task_is_deprecated_as_in_rocketry() -> None:
    with pytest.warns(DeprecationWarning, match="deprecated"):
        cond = running()
    assert cond == running


def test_a_second_count_comparison_adds_to_the_first() -> None:
    # Rocketry kept every comparison: (started > 1) < 5 is "between 2 and 4 starts"
    assert ((started > 1) < 5) == All(started > 1, started < 5)
    assert (started.today >= 3) == TaskStarted(period=TimeOfDay(), op=">=", n=3)
    assert ((started == 2) == 2) == (started == 2)  # type: ignore[comparison-overlap]
    app = simulated_app("2024-01-01 12:00")

    @app.task("false")
    def job() -> None: ...

    seed(app, "job", [("2024-01-01 10:00", "run")])
    between = (started > 1) < 5
    ctx = Context(app.session.clock.now(), app.session, app.session["job"])
    assert not between.is_true(ctx)  # one start: "< 5" alone would hold


def test_get_cond_gives_the_condition_itself() -> None:
    assert started.get_cond() is started
    assert running("x").get_cond() == running("x")
