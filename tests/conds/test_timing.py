"""Rocketry's semantics of the time conditions, on seeded histories (COMPAT.md)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from skylaunch.conds import (
    IsPeriod,
    TaskExecutable,
    TaskFailed,
    TaskRunnable,
    TaskStarted,
    TaskSucceeded,
    daily,
    every,
    time_of_day,
)
from skylaunch.conds.base import _CLOCK_FALSE, Condition, Context
from skylaunch.conds.timing import PeriodMethods
from skylaunch.testing import run_for, runs, seed, simulated_app
from skylaunch.time import Cron, Interval, TimeDelta, TimeOfDay, TimePeriod

UTC_DAY = "2024-03-14"


def at(
    app_cond: Condition, now: str, history: list[tuple[str, str]] = ()
) -> tuple[bool, datetime | None]:  # type: ignore[assignment]
    app = simulated_app(f"{UTC_DAY} 00:00")

    @app.task(app_cond)
    def job() -> None: ...

    seed(app, "job", history)  # type: ignore[arg-type]
    session = app.session
    when = datetime.fromisoformat(f"{UTC_DAY} {now}").replace(tzinfo=session.clock.tz)
    ctx = Context(when, session, session["job"])
    return app_cond.is_true(ctx), app_cond.next_change(ctx)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], True),
        ([(f"{UTC_DAY} 08:00", "run"), (f"{UTC_DAY} 08:01", "success")], False),
        ([(f"{UTC_DAY} 08:00", "run"), (f"{UTC_DAY} 08:01", "fail")], False),
        ([(f"{UTC_DAY} 08:00", "run"), (f"{UTC_DAY} 08:01", "inaction")], False),
        ([(f"{UTC_DAY} 08:00", "run"), (f"{UTC_DAY} 08:01", "terminate")], False),
        # a crash and a run still going do not count as finished
        ([(f"{UTC_DAY} 08:00", "run"), (f"{UTC_DAY} 08:01", "crash")], True),
        ([(f"{UTC_DAY} 08:00", "run")], True),
        # yesterday does not count
        ([("2024-03-13 23:00", "run"), ("2024-03-13 23:59:59", "success")], True),
    ],
)
def test_daily_means_not_finished_today(history: list[tuple[str, str]], expected: bool) -> None:
    value, _ = at(daily, "12:00", history)
    assert value is expected


def test_daily_next_change_is_next_midnight_once_done() -> None:
    value, change = at(
        daily, "12:00", [(f"{UTC_DAY} 08:00", "run"), (f"{UTC_DAY} 08:01", "success")]
    )
    assert not value
    assert change == datetime.fromisoformat("2024-03-15 00:00+00:00")


def test_daily_between_is_right_open_and_looks_back_to_window_start() -> None:
    cond = daily.between("10:00", "12:00")
    assert at(cond, "09:59:59")[0] is False
    assert at(cond, "10:00")[0] is True
    assert at(cond, "11:59:59")[0] is True
    assert at(cond, "12:00")[0] is False
    early = [(f"{UTC_DAY} 09:30", "run"), (f"{UTC_DAY} 09:31", "success")]
    # a run before the window does not block the window...
    assert at(cond, "10:30", early)[0] is True
    # ...but daily & time_of_day looks back to midnight
    assert at(daily & time_of_day.between("10:00", "12:00"), "10:30", early)[0] is False


def test_daily_between_next_change() -> None:
    cond = daily.between("10:00", "12:00")
    assert at(cond, "09:00")[1] == datetime.fromisoformat(f"{UTC_DAY} 10:00+00:00")
    assert at(cond, "10:30")[1] == datetime.fromisoformat(f"{UTC_DAY} 12:00+00:00")
    done = [(f"{UTC_DAY} 10:00", "run"), (f"{UTC_DAY} 10:01", "success")]
    assert at(cond, "10:30", done)[1] == datetime.fromisoformat("2024-03-15 10:00+00:00")


def test_time_of_day_is_a_pure_clock_window() -> None:
    cond = time_of_day.between("10:00", "12:00")
    done = [(f"{UTC_DAY} 10:00", "run"), (f"{UTC_DAY} 10:01", "success")]
    assert at(cond, "10:30", done)[0] is True
    assert at(cond, "10:30")[1] == datetime.fromisoformat(f"{UTC_DAY} 12:00+00:00")


def test_every_measures_from_the_last_start() -> None:
    cond = every("1 hour")
    assert at(cond, "10:00") == (True, None)
    history = [(f"{UTC_DAY} 09:00", "run"), (f"{UTC_DAY} 09:50", "success")]
    assert at(cond, "09:59:59", history) == (
        False,
        datetime.fromisoformat(f"{UTC_DAY} 10:00+00:00"),
    )
    assert at(cond, "10:00", history) == (True, None)


def test_every_based_on_finish() -> None:
    cond = every("1 hour", based="finish")
    history = [(f"{UTC_DAY} 09:00", "run"), (f"{UTC_DAY} 09:50", "success")]
    assert at(cond, "10:00", history)[0] is False
    assert at(cond, "10:50", history)[0] is True


def test_every_flips_exactly_at_its_next_change() -> None:
    # 00:00 + 100 ms: in floats "now - last >= 0.1" is false at 00:00:00.100000 while
    # "now >= last + 0.1" is true, so next_change said "never" while the condition was false
    history = [(f"{UTC_DAY} 00:00", "run")]
    value, change = at(every("100ms"), "00:00:00.099999", history)
    assert (value, change) == (False, datetime.fromisoformat(f"{UTC_DAY} 00:00:00.100000+00:00"))
    assert at(every("100ms"), "00:00:00.100000", history) == (True, None)


def test_every_100ms_keeps_running_on_a_simulated_clock() -> None:
    # Before the fix the task ran once, at 00:00, and was never looked at again.
    app = simulated_app("2024-01-01 00:00")
    app.task(every("100ms"), name="tick")(lambda: None)
    run_for(app, "1 second")
    assert len(runs(app, "tick")) == 10


def test_every_rejects_bad_periods() -> None:
    with pytest.raises(ValueError, match="positive"):
        every(0)
    with pytest.raises(ValueError):
        every("soon")
    with pytest.raises(ValueError, match="based"):
        every("1 hour", based="start")


# --- catch-up: a window that passed while no scheduler ran (issue 14) ---------------------

MISSED = daily.at("03:00").catch_up("6 hours")


def iso(text: str) -> datetime:
    return datetime.fromisoformat(f"{UTC_DAY} {text}+00:00")


@pytest.mark.parametrize(
    ("now", "history", "due", "change"),
    [
        ("02:00", [], False, "03:00"),  # before the window: nothing to catch up (yesterday too)
        ("03:30", [], True, "04:00"),  # in the window: the plain daily
        ("05:00", [], True, "10:00"),  # missed: due until the grace ends
        ("05:00", [("03:10", "success")], False, "03:00+1"),  # ran in the window
        ("05:00", [("03:10", "run"), ("03:11", "crash")], True, "10:00"),  # a crash is no run
        ("05:00", [("04:30", "success")], False, "03:00+1"),  # caught up already
        ("10:00", [], False, "03:00+1"),  # the grace is over: skipped
        ("23:00", [], False, "03:00+1"),
    ],
)
def test_catch_up_is_due_once_within_the_grace_with_an_exact_next_change(
    now: str, history: list[tuple[str, str]], due: bool, change: str
) -> None:
    records = [(f"{UTC_DAY} {when}", action) for when, action in history]
    is_true, next_change = at(MISSED, now, records)
    expected = (
        iso("03:00").replace(day=iso("03:00").day + 1) if change == "03:00+1" else iso(change)
    )
    assert (is_true, next_change) == (due, expected)


def test_catch_up_round_trips_through_the_string_syntax() -> None:
    from skylaunch.conds.parse import parse_condition
    from skylaunch.exc import ConditionParseError

    assert str(MISSED) == "daily at 03:00 catch up within 6 hours"
    for text in (
        "daily at 03:00 catch up within 6 hours",
        "daily between 03:00 and 04:00 with 2 retries catch up within 30 minutes",
        "weekly on Mon catch up 1 day",
    ):
        cond = parse_condition(text, {})
        assert parse_condition(str(cond), {}) == cond
    assert parse_condition("daily catch up 1 hour", {}) == daily.catch_up("1 hour")
    with pytest.raises(ConditionParseError, match="a duration after 'catch up within'"):
        parse_condition("daily catch up within", {})
    with pytest.raises(ConditionParseError, match="a valid duration"):
        parse_condition("daily catch up within soon", {})
    with pytest.raises(ValueError, match="duration > 0"):
        daily.catch_up("0 seconds")


@pytest.mark.parametrize(
    ("back_at", "runs_that_day"), [("05:00", ["05:00"]), ("10:00", []), ("03:30", ["03:30"])]
)
def test_downtime_over_the_window_is_caught_up_once_or_skipped_after_the_grace(
    back_at: str, runs_that_day: list[str]
) -> None:
    from skylaunch.testing import downtime, run_until

    app = simulated_app(f"{UTC_DAY} 01:00")
    app.task(MISSED, name="report", func=lambda: None)
    run_until(app, f"{UTC_DAY} 02:00")
    downtime(app, iso(back_at) - iso("02:00"))  # the process is down over 03:00-04:00
    run_until(app, f"{UTC_DAY} 23:00")
    assert [t.strftime("%H:%M") for t in runs(app, "report")] == runs_that_day
    run_until(app, "2024-03-15 12:00")  # the next day: the window itself
    assert runs(app, "report")[len(runs_that_day) :] == [
        datetime.fromisoformat("2024-03-15 03:00+00:00")
    ]


def test_the_same_narrowing_gives_the_one_condition_and_bad_bounds_still_raise() -> None:
    # thousands of tasks defined with daily.at("03:00") share one parsed condition
    assert daily.at("03:00") is daily.at("03:00")
    assert daily.between("10:00", "12:00") is daily.between("10:00", "12:00")
    assert daily.at("03:00") is not time_of_day.at("03:00")
    assert daily.at(3) == daily.at("03:00")
    for _ in range(2):  # not remembered as a success
        with pytest.raises(ValueError, match="out of range"):
            daily.at("25:00")
    # True == 1 as a dict key, but only 1 is an hour
    assert str(daily.at(1)) == "daily at 01:00"
    with pytest.raises(TypeError, match="not True"):
        daily.at(True)  # type: ignore[arg-type]


def test_a_narrowing_is_never_taken_from_a_condition_gone_before() -> None:
    # narrowings are kept by the condition's id too: an id is reused once its object is gone
    for retries in range(1, 20):
        gone = TaskExecutable(TimeOfDay())
        assert gone.at("10:00").retries == 0
        del gone
        other = TaskExecutable(TimeOfDay(), retries=retries)  # often at the address just freed
        assert other.at("10:00") == TaskExecutable(TimeOfDay.at("10:00"), retries=retries)


@pytest.mark.parametrize(
    ("based", "spelled"),
    [
        ("run", TaskStarted(period=TimeDelta("10 mins"), op="==", n=0)),
        ("success", TaskSucceeded(period=TimeDelta("10 mins"), op="==", n=0)),
        ("fail", TaskFailed(period=TimeDelta("10 mins"), op="==", n=0)),
        ("finish", TaskExecutable(TimeDelta("10 mins"))),
    ],
)
def test_every_equals_rocketrys_spelled_out_form(based: str, spelled: Condition) -> None:
    cond = every("10 mins", based=based)
    assert cond == spelled
    assert spelled == cond
    assert hash(cond) == hash(spelled)
    assert cond.spelled_out() == spelled  # type: ignore[attr-defined]
    assert cond != every("20 mins", based=based)
    # with jitter (which Rocketry had not) it is only equal to itself
    assert every("10 mins", based=based, jitter="1 min") != spelled  # type: ignore[arg-type]


@pytest.mark.parametrize("based", ["run", "success", "fail", "finish"])
@pytest.mark.parametrize(
    "history",
    [
        [],
        [(f"{UTC_DAY} 11:55", "run"), (f"{UTC_DAY} 11:56", "success")],
        [(f"{UTC_DAY} 11:55", "run"), (f"{UTC_DAY} 11:56", "fail")],
        [(f"{UTC_DAY} 11:40", "run"), (f"{UTC_DAY} 11:41", "success")],
    ],
)
def test_every_and_its_spelled_out_form_agree(based: str, history: list[tuple[str, str]]) -> None:
    cond = every("10 mins", based=based)
    assert at(cond, "12:00", history)[0] == at(cond.spelled_out(), "12:00", history)[0]


def test_is_period_refuses_a_duration_that_would_always_hold() -> None:
    from skylaunch.conds import IsPeriod
    from skylaunch.time import TimeSpanDelta

    with pytest.raises(TypeError, match="always be true"):
        IsPeriod(TimeDelta("2 hours"))
    with pytest.raises(TypeError, match="always be true"):
        IsPeriod(TimeSpanDelta(far="2 hours"))


@pytest.mark.parametrize(
    "cond",
    [TaskExecutable(TimeDelta("10 minutes")), every("10 minutes", based="finish")],
    ids=["TaskExecutable(TimeDelta)", "every finish"],
)
def test_task_executable_with_a_duration_slides_as_every_finish(cond: Condition) -> None:
    # Rocketry's spelling of every(..., based="finish"): due when no finish in the past 10 min
    app = simulated_app(f"{UTC_DAY} 00:00")

    @app.task(cond, name="t", execution="main")
    def t() -> None: ...

    run_for(app, "35 minutes")
    assert [r.strftime("%H:%M") for r in runs(app, "t")] == ["00:00", "00:10", "00:20", "00:30"]


def test_task_executable_with_a_duration_changes_when_the_finish_slides_out() -> None:
    cond = TaskExecutable(TimeDelta("10 minutes"), retries=1)
    one_fail = [(f"{UTC_DAY} 11:55", "run"), (f"{UTC_DAY} 11:56", "fail")]
    assert at(cond, "12:00", one_fail) == (True, None)  # one failure is retried
    two_fails = [*one_fail, (f"{UTC_DAY} 11:57", "run"), (f"{UTC_DAY} 11:58", "fail")]
    due, change = at(cond, "12:00", two_fails)
    assert not due
    assert change is not None
    assert change.strftime("%H:%M") == "12:06"  # the fail at 11:56 slides out
    assert at(cond, "12:06", two_fails)[0]


# --- what the clock alone says (conds.base._CLOCK_FALSE: the scheduler shares the answer of one
# condition object among the tasks of a pass) must be what is_true and next_change say, for
# every history

_SHARED_CONDS = [
    daily.at("10:00"),
    daily.between("10:00", "12:00"),
    daily.after("22:00"),
    daily.between("10:00", "12:00").catch_up("3 hours"),
    daily.between("10:00", "12:00") & daily,  # a combination: not told by the clock
    TaskExecutable(TimeDelta("2 hours")),
    TaskRunnable(Cron("0", "10")),
    TaskExecutable(TimeOfDay.between("10:00", "12:00") & TimeOfDay.after("11:00")),
    time_of_day.between("10:00", "12:00"),
    IsPeriod(TimeOfDay.after("23:00")),
]
_HISTORIES: list[list[tuple[str, str]]] = [
    [],
    [(f"{UTC_DAY} 10:30", "run"), (f"{UTC_DAY} 10:31", "success")],
    [(f"{UTC_DAY} 10:30", "run"), (f"{UTC_DAY} 10:31", "fail")],
    [(f"{UTC_DAY} 09:00", "run")],
]


@pytest.mark.parametrize("cond", _SHARED_CONDS, ids=repr)
@pytest.mark.parametrize("now", ["00:00", "09:59:59", "10:00", "11:00", "12:00", "13:30", "23:30"])
def test_what_the_clock_alone_says_is_what_the_condition_says(cond: Condition, now: str) -> None:
    told = _CLOCK_FALSE.get(type(cond))
    when = datetime.fromisoformat(f"{UTC_DAY} {now}").replace(tzinfo=timezone.utc)
    verdict = None if told is None else told(cond, when)
    for history in _HISTORIES:
        truth = at(cond, now, history)
        if verdict is not None:  # false whatever the history, with the same next change
            assert truth == (False, verdict[0]), history
    if cond in (daily.at("10:00"), daily.between("10:00", "12:00")) and now == "09:59:59":
        assert verdict is not None  # the case the scheduler shares: before the day's window


class _OwnWindow(TimePeriod):
    """A period of the user's: it may read more than the instant (this one reads `hours`)."""

    hours = (10, 12)

    def rollforward(self, dt: datetime) -> Interval:
        start = dt.replace(hour=self.hours[0], minute=0, second=0, microsecond=0)
        return Interval(start, dt.replace(hour=self.hours[1], minute=0, second=0, microsecond=0))

    def rollback(self, dt: datetime) -> Interval:
        return self.rollforward(dt)

    def __str__(self) -> str:
        return "own window"


class _AlwaysDue(TaskExecutable):
    """A subclass of the user's answering otherwise than its base."""

    def is_true(self, ctx: Context) -> bool:
        return True


def test_the_clock_is_not_trusted_with_a_period_or_a_subclass_of_the_users() -> None:
    when = datetime(2024, 3, 14, 9, tzinfo=timezone.utc)
    own = TaskExecutable(_OwnWindow())
    assert _CLOCK_FALSE[TaskExecutable](own, when) is None
    mixed = TaskExecutable(TimeOfDay.after("08:00") & _OwnWindow())
    assert _CLOCK_FALSE[TaskExecutable](mixed, when) is None
    assert _CLOCK_FALSE[IsPeriod](IsPeriod(_OwnWindow()), when) is None
    assert type(_AlwaysDue(TimeOfDay.at("10:00"))) not in _CLOCK_FALSE


def test_period_methods_narrow_a_dataclass_condition_of_ones_own() -> None:
    # the built-in conditions are written-out classes with _replace; a user's dataclass mixing
    # in PeriodMethods still gets its period narrowed (through dataclasses.replace)
    @dataclasses.dataclass(frozen=True)
    class Window(PeriodMethods, Condition):
        period: TimePeriod

        def is_true(self, ctx: Context) -> bool:
            return ctx.now in self.period

    narrowed = Window(TimeOfDay()).between("10:00", "12:00")
    assert narrowed == Window(TimeOfDay("10:00", "12:00"))
    assert daily.between("10:00", "12:00") == TaskExecutable(TimeOfDay("10:00", "12:00"))


def test_a_period_with_no_window_left_never_changes_and_the_scheduler_goes_on() -> None:
    """A static interval in the past, or a cron date with no match before year 10000, has no
    next change (``never`` in ``next_run``), not a change at the end of time; the cron case
    stopped the scheduler with ValueError ("has no match after") once its last match had gone."""
    from skylaunch.conds import cron
    from skylaunch.time.spans import StaticInterval

    app = simulated_app("9996-02-28 23:00")
    past = StaticInterval(datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 2))

    @app.task(TaskExecutable(past), name="past")
    def in_2024() -> None: ...

    @app.task(cron("0 0 29 2 *"), name="leap")
    def leap() -> None: ...

    @app.task(every("1 day"), name="daily")
    def day() -> None: ...

    session = app.session
    now = datetime(9996, 3, 1, tzinfo=timezone.utc)
    for name in ("past", "leap"):
        task = session[name]
        assert task.start_cond.next_change(Context(now, session, task)) is None
        assert str(app.control.next_run(name, at=now)) == "never"
    run_for(app, "320 days")
    assert runs(app, "leap") == [datetime(9996, 2, 29, tzinfo=session.clock.tz)]
    assert runs(app, "past") == []
    assert len(runs(app, "daily")) == 320


def test_daily_restarted_with_the_clock_set_back_does_not_run_twice_that_day(
    tmp_path: Path,
) -> None:
    """A restart on the same repo with the clock set back (a clock corrected, another host)
    finds a finish stored later than now in today's interval: the task did finish today, so
    ``daily`` does not run it a second time (it did: only the records up to now were read)."""
    from skylaunch.log import TaskRunRecord
    from skylaunch.log.repos.sql import SQLRepo

    url = f"sqlite:///{tmp_path / 'app.db'}"

    def restart(start: str, duration: str) -> list[str]:
        app = simulated_app(start, tz="UTC")
        app.session.set_repo(
            SQLRepo(model=TaskRunRecord, conn_string=url, table="log", if_missing="create")
        )
        app.task(daily, name="report")(lambda: None)
        app.task(daily.between("09:00", "13:00"), name="window")(lambda: None)
        run_for(app, duration)
        return [f"{name} {t:%d %H:%M}" for name in ("report", "window") for t in runs(app, name)]

    assert restart("2024-01-01 12:00", "1 minute") == ["report 01 12:00", "window 01 12:00"]
    # two hours back, the same day: no second run that day; the next day runs as usual
    assert restart("2024-01-01 10:00", "1 day") == [
        "report 01 12:00",
        "report 02 00:00",
        "window 01 12:00",
        "window 02 09:00",
    ]
