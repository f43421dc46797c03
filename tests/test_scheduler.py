"""The loop, run on simulated time: when tasks run, in which order, and how it stops."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skylaunch import App
from skylaunch import _scheduler as scheduler_module
from skylaunch.args import TerminationFlag
from skylaunch.conds import (
    TaskExecutable,
    after_success,
    daily,
    every,
    retry,
    scheduler_cycles,
    time_of_day,
    true,
)
from skylaunch.conds.base import Condition, Context
from skylaunch.conds.func import condition
from skylaunch.exc import (
    ConditionCheckError,
    SchedulerRestart,
    SimulatedTimeStuck,
    TaskInaction,
    TaskSetupError,
)
from skylaunch.log import MemoryRepo, RepoHandler, TaskRunRecord
from skylaunch.testing import run_for, run_until, runs, seed, simulated_app
from skylaunch.time import TimeOfDay
from skylaunch.time.clock import SimulatedClock, SystemClock


def hms(values: list[datetime]) -> list[str]:
    return [v.strftime("%H:%M:%S") for v in values]


def test_every_runs_on_its_period() -> None:
    app = simulated_app("2024-01-01 00:00:00")

    @app.task(every("2 seconds"))
    def fetch() -> None: ...

    run_for(app, "9 seconds")
    assert hms(runs(app, "fetch")) == ["00:00:00", "00:00:02", "00:00:04", "00:00:06", "00:00:08"]
    assert hms(runs(app, "fetch", "success")) == hms(runs(app, "fetch"))


def test_a_run_is_recorded_at_the_instant_it_was_found_due() -> None:
    """``every`` counts from the recorded start: bookkeeping time must not add up as drift."""
    app = simulated_app("2024-01-01 00:00:00")

    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)

    @app.before_run()
    def bookkeeping(task: Any) -> None:
        clock.advance(0.25)  # time spent between the decision and the run record

    @app.task(every("2 seconds"))
    def fetch() -> None: ...

    run_for(app, "5 seconds")
    assert hms(runs(app, "fetch")) == ["00:00:00", "00:00:02", "00:00:04"]
    records = app.session.repo.filter_by(task_name="fetch", action="run").all()
    assert [r.created for r in records] == [r.start.timestamp() for r in records]


class _WakesLate(SimulatedClock):
    """A simulated clock whose sleeps end ``late_s`` after their deadline, as an OS's do."""

    late_s = 0.0

    async def sleep_until(
        self, deadline: datetime | None, wake: asyncio.Event, *, busy: bool = False
    ) -> None:
        await super().sleep_until(deadline, wake, busy=busy)
        if deadline is not None and self.timestamp() == deadline.timestamp():
            self.advance(self.late_s)


@pytest.mark.parametrize(("late_s", "recorded"), [(0.0015, "0.000"), (0.005, "late")])
def test_a_run_found_due_just_after_its_instant_is_recorded_at_the_instant(
    late_s: float, recorded: str
) -> None:
    # Waking up is always a little late: with the run recorded when it was found due, `every`
    # counted from there and each late wake-up added to the drift (bench W2: 1.2-1.6 ms after
    # 30 runs). Within _SNAP_S the run is recorded at the instant its condition became true;
    # later than that (a busy loop, a long run) it is recorded when found, as before.
    clock = _WakesLate(datetime(2024, 1, 1, tzinfo=timezone.utc))
    clock.late_s = late_s
    app = App(config={"execution": "main"}, clock=clock)
    starts: list[float] = []

    @app.task(every("2 seconds"))
    def fetch() -> None:
        starts.append(clock.timestamp())

    run_for(app, "7 seconds")
    records = app.session.repo.filter_by(task_name="fetch", action="run").all()
    offsets = [f"{r.created % 2:.3f}" for r in records]
    assert len(records) == 4
    if recorded == "late":
        assert offsets == [f"{k * late_s % 2:.3f}" for k in range(4)]  # drift adds up
    else:
        assert offsets == ["0.000"] * 4  # on the grid of its instants: no drift
        assert [f"{s % 2:.4f}" for s in starts[1:]] == [f"{late_s:.4f}"] * 3  # bodies still late


def test_a_snapped_run_is_never_recorded_before_a_record_of_the_same_pass() -> None:
    # Found by review: A and B are due at the same planned instant; A runs inline and its
    # success is recorded a moment later; B, snapped back to the planned instant, started
    # "before" A's success, so `after_success("A")` made it run a second time.
    clock = _WakesLate(datetime(2024, 1, 1, tzinfo=timezone.utc))
    clock.late_s = 0.0015
    app = App(config={"execution": "main"}, clock=clock)

    @app.task(every("1 hour"), name="A")
    def a() -> None:
        clock.advance(0.0003)  # the run takes a moment

    @app.task(every("1 hour") | after_success("A"), name="B")
    def b() -> None: ...

    run_for(app, "90 minutes")
    assert len(runs(app, "A")) == 2
    assert len(runs(app, "B")) == 2  # at the start and at 01:00, not a third time
    ordered = app.session.repo.filter_by(action="run").all()
    b_second = [r for r in ordered if r.task_name == "B"][1]
    a_success = app.session.repo.filter_by(task_name="A", action="success").all()[1]
    assert b_second.created >= a_success.created


def test_a_long_main_thread_run_moves_the_pass_to_the_current_instant() -> None:
    """The next task of the same pass is judged, and recorded, when it is looked at."""
    app = simulated_app("2024-01-01 00:00:00")
    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)

    @app.task(every("1 hour"), priority=2)
    def slow() -> None:
        clock.advance("10 seconds")

    @app.task(every("1 hour"), priority=1)
    def quick() -> None: ...

    run_for(app, "1 second")
    assert hms(runs(app, "slow")) == ["00:00:00"]
    assert hms(runs(app, "quick")) == ["00:00:10"]
    (record,) = app.session.repo.filter_by(task_name="quick", action="run").all()
    assert record.start.strftime("%H:%M:%S") == "00:00:10"


def test_daily_window_with_retries() -> None:
    app = simulated_app("2024-01-01 00:00")
    attempts: list[int] = []

    @app.task(daily & time_of_day.between("10:00", "12:00") | retry(3))
    def report() -> None:
        attempts.append(1)
        raise RuntimeError("no data yet")

    run_until(app, "2024-01-01 23:59")
    assert len(attempts) == 4  # one run and three retries
    assert hms(runs(app, "report")) == ["10:00:00"] * 4
    assert len(runs(app, "report", "fail")) == 4


def test_daily_runs_once_a_day_and_wakes_rarely() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily.between("10:00", "12:00"))
    def report() -> None: ...

    run_until(app, "2024-01-08 00:00")
    assert [d.strftime("%d %H:%M") for d in runs(app, "report")] == [
        f"0{d} 10:00" for d in range(1, 8)
    ]
    # event driven: a handful of wake-ups per day, not one per cycle_sleep
    assert app.session.scheduler.cycles < 7 * 4 + 3


def test_pipeline_after_success() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"))
    def fetch() -> None: ...

    @app.task(after_success("fetch"))
    def transform() -> None: ...

    run_for(app, "3 hours")
    assert hms(runs(app, "transform")) == ["00:00:00", "01:00:00", "02:00:00"]


def test_higher_priority_runs_first() -> None:
    app = simulated_app("2024-01-01 00:00")
    order: list[str] = []

    @app.task(daily, priority=1)
    def low() -> None:
        order.append("low")

    @app.task(daily, priority=5)
    def high() -> None:
        order.append("high")

    run_for(app, "1 minute")
    assert order == ["high", "low"]


def test_shut_cond_stops_the_scheduler() -> None:
    app = simulated_app("2024-01-01 00:00", shut_cond="scheduler has more than 3 cycles")

    @app.task(true)
    def spin() -> None: ...

    app.run()
    # As Rocketry 2.5.1 (checked): "more than 3" stops once the 4th pass is done, 4 runs.
    assert app.session.scheduler.cycles == 4
    assert len(runs(app, "spin")) == 4


def test_shut_down_from_a_task() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 minute"))
    def stopper() -> None:
        if len(runs(app, "stopper")) == 3:
            app.session.shut_down()

    run_until(app, "2024-01-02 00:00")
    assert len(runs(app, "stopper")) == 3


def test_outcomes_are_logged() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily)
    def ok() -> str:
        return "value"

    @app.task(daily)
    def broken() -> None:
        raise ValueError("boom")

    @app.task(daily)
    def idle() -> None:
        raise TaskInaction()

    run_for(app, "1 minute")
    session = app.session
    assert session["ok"].status == "success"
    assert session.returns["ok"] == "value"
    fail = session["broken"].logger.filter_by(action="fail").all()
    assert len(fail) == 1
    assert "ValueError: boom" in _field(fail[0], "exc_text")
    assert session["idle"].status == "inaction"
    runs_logged = session["ok"].logger.filter_by(action="run").all()
    assert len(runs_logged) == 1
    assert _field(runs_logged[0], "task_name") == "ok"


def _field(record: object, name: str) -> str:
    return record[name] if isinstance(record, dict) else getattr(record, name)  # type: ignore[no-any-return]


def test_forced_run_ignores_the_condition() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task("false")
    def manual() -> None: ...

    app.session["manual"].run()
    run_for(app, "1 minute")
    assert len(runs(app, "manual")) == 1


def test_a_condition_error_is_caught_by_its_own_class_too() -> None:
    """``except RuntimeError:`` around app.run() catches a condition's RuntimeError (Rocketry)."""

    class QuotaError(Exception):
        def __init__(self, quota: int, used: int) -> None:  # not constructible from a message
            super().__init__(f"{used}/{quota}")

    for error, also in [
        (RuntimeError("cannot tell"), RuntimeError),
        (KeyError("missing"), LookupError),
        (QuotaError(3, 4), None),
    ]:

        def broken(error: Exception = error) -> bool:
            raise error

        app = simulated_app("2024-01-01 00:00")
        app.task(condition(broken), func=lambda: None, name="job")
        with pytest.raises(ConditionCheckError) as caught:
            run_for(app, "1 minute")
        assert caught.value.__cause__ is error
        assert type(caught.value).__name__ == "ConditionCheckError"
        if also is not None:
            assert isinstance(caught.value, also)


def test_a_failing_condition_without_a_string_form_is_named_by_its_repr() -> None:
    # Found by probing year 9997 with TaskExecutable(TimeOfYear()): the error message called
    # str() on a condition that has no string syntax, so the ValueError of the message itself
    # replaced the condition's own failure.
    class Unprintable(Condition):
        def is_true(self, ctx: Context) -> bool:
            raise RuntimeError("cannot tell")

        def __str__(self) -> str:
            raise ValueError("no string syntax")

        def __repr__(self) -> str:
            return "Unprintable()"

    app = simulated_app("2024-01-01 00:00")
    app.task(Unprintable(), func=lambda: None, name="job")
    with pytest.raises(
        ConditionCheckError,
        match=r"task 'job' \(Unprintable\(\)\) failed: "
        r"RuntimeError\('cannot tell'\)",
    ) as caught:
        run_for(app, "1 minute")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_failing_condition_stops_the_run_unless_silenced(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> bool:
        raise RuntimeError("cannot tell")

    app = simulated_app("2024-01-01 00:00")

    @app.task(condition(broken))
    def job() -> None: ...

    with pytest.raises(ConditionCheckError, match="cannot tell"):
        run_for(app, "1 minute")

    app = simulated_app("2024-01-01 00:00", silence_cond_check=True)

    @app.task(condition(broken))
    def job2() -> None: ...

    with caplog.at_level(logging.ERROR, logger="skylaunch.scheduler"):
        run_for(app, "1 second")
    assert runs(app, "job2") == []
    errors = [r for r in caplog.records if r.name == "skylaunch.scheduler" and r.exc_info]
    assert errors
    assert "cannot tell" in caplog.text


def test_a_failing_shut_cond_stops_the_scheduler_even_when_silenced() -> None:
    # silence_cond_check is about tasks' conditions: a shut condition that cannot be read
    # would otherwise keep the scheduler running (and logging the failure) for ever.
    def broken() -> bool:
        raise RuntimeError("cannot tell")

    for silenced in (False, True):
        app = simulated_app("2024-01-01 00:00", silence_cond_check=silenced)
        app.session.config.shut_cond = condition(broken)

        @app.task(every("1 second"))
        def job() -> None: ...

        with pytest.raises(ConditionCheckError, match="shut_cond") as caught:
            run_for(app, "1 hour")
        assert isinstance(caught.value, RuntimeError)
        assert runs(app, "job") == []


def test_failing_prerun_obeys_silence_task_prerun(caplog: pytest.LogCaptureFixture) -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily)
    def job() -> None: ...

    def bad_arguments(params: object) -> dict[str, object]:
        raise LookupError("no such parameter")

    app.session["job"].arguments = bad_arguments  # type: ignore[method-assign,assignment]
    with pytest.raises(TaskSetupError, match="no such parameter"):
        run_for(app, "1 minute")
    # as in Rocketry, the run happened and failed: recorded, with the traceback
    assert len(runs(app, "job")) == 1
    assert app.session["job"].status == "fail"
    assert "LookupError: no such parameter" in app.session["job"].logger.get_latest().exc_text

    app.session.config.silence_task_prerun = True
    app.session["job"].start_cond = every("1 minute")
    with caplog.at_level(logging.ERROR, logger="skylaunch.scheduler"):
        run_for(app, "150 seconds")
    assert "no such parameter" in caplog.text
    assert len(runs(app, "job")) == 3  # the scheduler went on; each run failed
    assert app.session["job"].status == "fail"


def test_keyboard_interrupt_stops_cleanly() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 second"))
    def interrupted() -> None:
        raise KeyboardInterrupt

    app.run()  # returns instead of raising
    assert app.session.scheduler.is_running is False


def test_run_requested_from_another_thread_is_not_lost() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task("false")
    def target() -> None: ...

    @app.task(daily, execution="thread")
    def requester() -> None:
        app.session["target"].run()

    run_for(app, "1 minute")
    assert len(runs(app, "target")) == 1


def test_a_condition_claiming_to_change_now_does_not_spin() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Stuck(Condition):
        def is_true(self, ctx: Context) -> bool:
            return False

        def next_change(self, ctx: Context) -> datetime:
            return ctx.now

    app = simulated_app("2024-01-01 00:00")

    @app.task(Stuck())
    def never() -> None: ...

    run_for(app, "1 second")
    # replanned a millisecond later each time: about a thousand passes, not an endless loop
    assert 900 <= app.session.scheduler.cycles <= 1100


class _BrokenRepo:
    """A repo whose writes fail for good (not a transient outage)."""

    def add(self, item: object) -> None:
        raise ValueError("disk says no")

    def filter_by(self, **query: object) -> object:
        class _Nothing:  # start-up restore reads the repo once; it holds nothing
            def all(self) -> list[object]:
                return []

        return _Nothing()


def test_failing_log_write_obeys_silence_task_logging(caplog: pytest.LogCaptureFixture) -> None:
    from skylaunch.exc import TaskLoggingError

    def refused(app: Any) -> None:
        """Wait for the repo handler's thread to have tried (and failed) the first write."""
        handler = app.session.journal.handler
        deadline = time.monotonic() + 10
        while handler.last_error is None and time.monotonic() < deadline:
            time.sleep(0.001)

    app = simulated_app("2024-01-01 00:00")
    app.session.set_repo(_BrokenRepo())

    @app.task(every("1 minute"))
    def job() -> None:
        refused(app)  # the write happens on another thread; its error is raised next record

    with pytest.raises(TaskLoggingError, match="disk says no"):
        run_for(app, "10 minutes")
    # the history still says what ran, whatever the repo did
    assert len(runs(app, "job")) == 1

    app = simulated_app("2024-01-01 00:00", silence_task_logging=True)
    app.session.set_repo(_BrokenRepo())

    @app.task(every("1 minute"))
    def job2() -> None:
        refused(app)

    with caplog.at_level(logging.ERROR, logger="skylaunch.scheduler"):
        run_for(app, "10 minutes")
    assert len(runs(app, "job2")) == 10
    assert "disk says no" in caplog.text


def test_a_run_logged_terminate_at_shutdown_is_not_logged_again_after_a_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A thread run that ignores its termination flag outlives the shutdown of a restart: the
    # shutdown logs its end; its late report must neither log a second end nor leave the
    # restarted loop counting it as work still going on.
    monkeypatch.setattr(scheduler_module, "_TERMINATE_GRACE_S", 0.01)
    app = simulated_app("2024-01-01 00:00", instant_shutdown=True)
    gate = threading.Event()
    starts: list[int] = []

    @app.setup()
    def count_starts() -> None:
        starts.append(1)
        if len(starts) == 2:
            gate.set()  # the stuck run reports only once the scheduler has restarted

    @app.task(daily, execution="thread", priority=2)
    def stuck() -> None:
        gate.wait(10)

    @app.task(daily, priority=1)
    def boss() -> None:
        if len(starts) == 1:
            raise SchedulerRestart()

    run_until(app, "2024-01-01 03:00")
    assert len(starts) == 2
    assert len(runs(app, "stuck")) == 1
    ends = [a for a in ("success", "fail", "terminate") for _ in runs(app, "stuck", a)]
    assert ends == ["terminate"]
    assert app.session.scheduler._outside == 0


def test_a_task_due_while_on_hold_runs_when_the_hold_is_lifted() -> None:
    # A controller thread holds the scheduler until its time limit ends it at 01:45; the hourly
    # task came due at 01:00 meanwhile and must run as soon as the hold is lifted.
    app = simulated_app("2024-01-01 00:00")
    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)
    clock.settle_s = 0.01  # the controller runs long on purpose: do not wait for it

    @app.task(every("1 hour"))
    def tick() -> None: ...

    @app.task(daily.at("00:30"), execution="thread", timeout="75 minutes")
    def controller(flag: Any = TerminationFlag()) -> None:  # noqa: B008 - as users write it
        app.session.scheduler.on_hold = True
        flag.wait(10)
        app.session.scheduler.on_hold = False

    run_until(app, "2024-01-01 02:30")
    assert hms(runs(app, "tick")) == ["00:00:00", "01:45:00"]


def test_tasks_added_from_another_thread_while_running_are_scheduled() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily, execution="thread")
    def spawner() -> None:
        for i in range(200):
            app.task(daily, name=f"child{i}")(lambda: None)

    run_for(app, "1 minute")
    assert all(len(runs(app, f"child{i}")) == 1 for i in range(200))


def test_the_repeated_hour_of_a_fall_back_is_run_through() -> None:
    """Regression: same-zone datetimes compare by wall time, so 03:00 (second time) looked
    equal to 03:00 (first time) and the simulated clock never moved past the fold."""
    app = simulated_app("2024-10-27 00:00", tz="Europe/Helsinki")

    @app.task(every("1 hour"))
    def hourly_job() -> None: ...

    run_until(app, "2024-10-28 00:00")
    # the local day of the change has 25 hours, and `every` measures real time
    assert len(runs(app, "hourly_job")) == 25
    run_for(app, "2 hours")
    assert len(runs(app, "hourly_job")) == 27


def test_a_run_that_ends_before_submit_returns_is_not_launched_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: a thread run ending before submit() returned was not registered as going
    on, and its end was still queued, so the next pass saw no end record and ran it again."""
    import threading as _threading

    from skylaunch.execution.thread import ThreadExecutor

    class EagerThreads(ThreadExecutor):
        def submit(self, call, on_done, started):  # type: ignore[no-untyped-def]
            done = _threading.Event()

            def report(outcome):  # type: ignore[no-untyped-def]
                on_done(outcome)
                done.set()

            handle = super().submit(call, report, started)
            done.wait(5)  # the run has ended and its end is queued on the loop
            return handle

    import skylaunch._scheduler

    # no yield to the event loop between passes: the queued end is not processed before the
    # next pass looks at the task again
    monkeypatch.setattr(skylaunch._scheduler, "_YIELD_EVERY_S", 60.0)
    app = simulated_app("2024-01-01 00:00")
    app.session.executors["thread"] = EagerThreads()

    @app.task(daily, execution="thread")
    def quick() -> None: ...

    run_for(app, "1 minute")
    assert len(runs(app, "quick")) == 1


@pytest.mark.parametrize("execution", ["main", "thread"])
def test_an_always_due_task_on_a_simulated_clock_fails_clearly_instead_of_hanging(
    execution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated time moves only when nothing is due: ``true`` would keep run_for forever."""
    import skylaunch._scheduler

    # The limit is 10,000 passes; 300 show the same thing (a thread run per pass made the
    # default limit cost 15 s of the suite).
    monkeypatch.setattr(skylaunch._scheduler, "_MAX_PASSES_PER_INSTANT", 300)
    app = simulated_app("2024-01-01 00:00", execution=execution)
    app.task(true, name="spin")(lambda: None)
    with pytest.raises(SimulatedTimeStuck, match=r"cannot move past 2024-01-01T00:00:00.*'spin'"):
        run_for(app, "1 second")


def test_an_always_due_task_bounded_by_cycles_runs_on_a_simulated_clock() -> None:
    app = simulated_app("2024-01-01 00:00", shut_cond=scheduler_cycles(more_than=50))
    app.task(true, name="spin")(lambda: None)
    run_for(app, "1 second")
    assert len(runs(app, "spin")) == 51  # passes 1..51; the 51st makes "more than 50" true


class _RanSinceMe(Condition):
    """A user's condition reading another task's history without naming it in watches()."""

    def __init__(self, other: str) -> None:
        self.other = other

    def is_true(self, ctx: Context) -> bool:
        theirs = ctx.history.of(self.other).last("success")
        mine = ctx.log_of(None).last("run")
        return theirs is not None and (mine is None or mine < theirs)

    def next_change(self, ctx: Context) -> datetime | None:
        return None  # only task events change it

    def __str__(self) -> str:
        return f"ran since me {self.other!r}"


def test_a_false_task_with_no_next_change_is_looked_at_again_on_any_event() -> None:
    # Its condition does not say which task it watches: it is looked at again on every
    # task's action while it waits (it used to be dropped until its own history changed).
    app = simulated_app("2024-01-01 00:00")
    app.task(_RanSinceMe("upstream"), name="downstream")(lambda: None)
    app.task(daily.at("10:00"), name="upstream")(lambda: None)
    run_until(app, "2024-01-03 00:00")
    assert hms(runs(app, "downstream")) == ["10:00:00", "10:00:00"]


def test_unsure_conditions_are_those_with_a_part_from_outside_skylaunch() -> None:
    mine = _RanSinceMe("upstream")
    assert not scheduler_module._unsure(daily & ~after_success("a") | every("1 hour"))
    assert scheduler_module._unsure(daily & ~(mine | true))


def test_end_cond_terminates_a_run_when_it_holds() -> None:
    """Rocketry's end_cond: @app.task(end_cond=running.more_than("2 mins")) (it was ignored)."""
    from skylaunch.conds import running

    app = simulated_app("2024-01-01 00:00")
    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)
    clock.settle_s = 0.01
    ended: list[bool] = []

    @app.task(daily, execution="thread", end_cond=running.more_than("2 minutes"))
    def slow(flag: Any = TerminationFlag()) -> None:  # noqa: B008 - as users write it
        ended.append(flag.wait(10))

    @app.task(daily, execution="thread", end_cond="true")
    def stopped_at_once(flag: Any = TerminationFlag()) -> None:  # noqa: B008
        flag.wait(10)

    run_until(app, "2024-01-01 00:30")
    assert ended == [True]
    assert hms(runs(app, "slow", "terminate")) == ["00:02:00"]
    assert hms(runs(app, "stopped_at_once", "terminate")) == ["00:00:00"]
    assert app.session["slow"].status == "terminate"


def test_a_shut_condition_made_true_by_a_launch_stops_at_once() -> None:
    """A permanent run started by the pass that makes the shut condition true is terminated
    at shutdown; it was logged success at the next wake-up, a day later."""
    app = simulated_app("2024-01-01 00:00", shut_cond="task 'server' has started")
    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)
    clock.settle_s = 0.01

    @app.task(daily, execution="thread", permanent=True)
    def server(flag: Any = TerminationFlag()) -> None:  # noqa: B008 - as users write it
        flag.wait(10)

    @app.task(daily.at("12:00"))
    def noon() -> None: ...

    run_until(app, "2024-01-02 00:00")
    assert app.session.clock.now() < datetime(2024, 1, 1, 0, 1, tzinfo=timezone.utc)
    assert app.session["server"].status == "terminate"
    assert runs(app, "noon") == []


class _SlowRepo(MemoryRepo):
    """A store that takes 50 µs a record: a database slower than an always-due task's runs."""

    def insert_items(self, items: Any) -> None:
        time.sleep(50e-6 * len(items))
        super().insert_items(items)


def test_a_repo_slower_than_the_runs_slows_them_down_and_loses_no_record() -> None:
    # Before: the runs filled the writer's queue (500 here) within milliseconds, and every
    # record beyond it was dropped. Now the loop waits while the writer drains.
    repo = _SlowRepo(TaskRunRecord)
    handler = RepoHandler(repo, background=True, max_queue=500)
    logger = logging.getLogger("skylaunch.task")
    logger.addHandler(handler)
    try:
        app = App(config={"execution": "main", "run_record_wait": 0})
        runs = [0]

        @app.task(true)
        def busy() -> None:
            runs[0] += 1
            if runs[0] == 3_000:
                app.session.shut_down()

        app.run()
        assert app.session.repo is repo
        assert handler.dropped == 0
        assert repo.filter_by(task_name="busy").count() == 2 * runs[0]
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_the_busy_loop_steps_off_the_gil_when_other_threads_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A yield to the event loop gives the GIL back for an instant only: a thread waiting for
    # it never got it (bench W7: a sleeping thread woke up to a second late).
    handed = [0]
    real = scheduler_module._hand_off

    def counted() -> None:
        handed[0] += 1
        real()

    monkeypatch.setattr(scheduler_module, "_hand_off", counted)
    app = App(config={"execution": "main"})
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    started = time.monotonic()

    @app.task(true)
    def busy() -> None:
        if time.monotonic() - started > 0.05:
            app.session.shut_down()

    try:
        app.run()
    finally:
        stop.set()
    assert handed[0] >= 1


async def _woken_before(yield_once: Any) -> list[str]:
    """What runs first: a task woken by a callback that is ready as ``yield_once`` starts
    (a due timer's), or the code after ``yield_once`` (the loop's next busy stretch)."""
    loop = asyncio.get_running_loop()
    order: list[str] = []
    woken = loop.create_future()

    async def waiter() -> None:
        await woken
        order.append("waiter")

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # the waiter now awaits the future
    loop.call_soon(woken.set_result, None)  # what a timer's callback does
    await yield_once()
    order.append("loop")
    await task
    return order


def _asyncio_ready() -> Any:
    return asyncio.get_running_loop()._ready  # type: ignore[attr-defined]


@pytest.mark.parametrize("queue", ["asyncio's", "none"])
def test_a_yield_of_the_busy_loop_lets_a_task_a_timer_woke_run_first(queue: str) -> None:
    # The callback completes the future; the task's step is queued after that. With one bare
    # yield the loop's own step was queued first, so the task waited for a further stretch
    # of passes (bench W7, asyncio probe: 2.4 ms late instead of 1.35). The second yield is
    # made when the loop's ready queue holds something, or always when it has none to read.
    def yield_once() -> Any:
        ready = _asyncio_ready() if queue == "asyncio's" else None
        return scheduler_module._yield_to_loop(ready)

    assert asyncio.run(_woken_before(yield_once)) == ["waiter", "loop"]
    assert asyncio.run(_woken_before(lambda: asyncio.sleep(0))) == ["loop", "waiter"]


def test_a_yield_with_an_empty_ready_queue_does_not_yield_twice() -> None:
    # the second yield is a whole loop iteration: made for nothing when nothing is queued
    # (asyncio's queue, read), always where the loop has no queue to read (None)
    async def yields(ready: Any) -> int:
        count = [0]
        real = asyncio.sleep

        async def counted(delay: float) -> None:
            count[0] += 1
            await real(delay)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(asyncio, "sleep", counted)
            await scheduler_module._yield_to_loop(ready)
        return count[0]

    async def both() -> tuple[int, int]:
        return await yields(_asyncio_ready()), await yields(None)

    assert asyncio.run(both()) == (1, 2)


def test_the_busy_loop_yields_through_yield_to_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    yields = [0]
    real = scheduler_module._yield_to_loop

    async def counted(ready: Any) -> None:
        yields[0] += 1
        await real(ready)

    monkeypatch.setattr(scheduler_module, "_yield_to_loop", counted)
    app = App(config={"execution": "main"})
    started = time.monotonic()

    @app.task(true)
    def busy() -> None:
        if time.monotonic() - started > 0.05:
            app.session.shut_down()

    app.run()
    assert yields[0] >= 1


def test_the_scheduler_reads_naive_datetimes_in_its_zone_across_a_dst_change() -> None:
    """A period holding naive wall times runs at those wall times in the session's zone, also
    on the day Helsinki springs forward (03:30 does not exist: the window opens at 04:00)."""
    from skylaunch.conds import IsPeriod
    from skylaunch.time import StaticInterval

    app = simulated_app("2024-03-31 00:00", tz="Europe/Helsinki")
    window = StaticInterval(datetime(2024, 3, 31, 3, 30), datetime(2024, 3, 31, 5))

    @app.task(IsPeriod(window) & daily, name="early")
    def early() -> None:
        pass

    run_for(app, "6 hours")
    [first] = runs(app, "early")
    assert (first.hour, first.minute) == (4, 0)
    assert first.utcoffset() == timedelta(hours=3)


def test_the_scheduler_class_has_a_public_name() -> None:
    from skylaunch.scheduler import Scheduler

    app = simulated_app("2024-01-01 00:00")
    assert isinstance(app.session.scheduler, Scheduler)
    assert Scheduler.__module__ == "skylaunch.scheduler"


def test_calling_the_scheduler_starts_the_session() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"))
    def job() -> None: ...

    app.session.config.shut_cond = "task 'job' has succeeded"
    app.session.scheduler()  # Rocketry's spelling of session.start()
    assert len(runs(app, "job")) >= 1


# --- one condition shared by many tasks: the scheduler asks the clock once per pass and instant
# (conds.base._CLOCK_FALSE); what it keeps must never outlive that instant or ignore a history


def test_tasks_sharing_a_condition_each_follow_their_own_history() -> None:
    app = simulated_app("2024-01-01 11:00")
    shared = daily.between("10:00", "12:00")
    for name in ("done", "fresh"):
        app.task(shared, name=name)(_nothing)
    seed(app, "done", [("2024-01-01 10:30", "run"), ("2024-01-01 10:31", "success")])

    run_until(app, "2024-01-02 11:00")
    assert [d.strftime("%d %H:%M") for d in runs(app, "fresh")] == ["01 11:00", "02 10:00"]
    assert [d.strftime("%d %H:%M") for d in runs(app, "done")] == ["01 10:30", "02 10:00"]


def test_a_shared_condition_is_asked_again_at_the_next_instant() -> None:
    # Kept beyond its pass, "false until 10:00" (true at 09:00) would put the 10:00 look a
    # moment later: the runs would be recorded at 10:00:00.001.
    app = simulated_app("2024-01-01 09:00")
    shared = daily.at("10:00")
    for name in ("a", "b"):
        app.task(shared, name=name)(_nothing)

    run_until(app, "2024-01-01 10:00:01")
    assert [d.strftime("%H:%M:%S.%f") for d in runs(app, "a") + runs(app, "b")] == [
        "10:00:00.000000"
    ] * 2
    scheduler = app.session.scheduler
    assert scheduler._known == {}  # nothing kept between passes
    assert scheduler._known_at is None


def test_a_shared_condition_is_asked_again_when_a_pass_moves_to_a_later_instant() -> None:
    # `slow` runs in the loop's thread between the two tasks of one pass and takes them to
    # 10:00: `late` is judged then and is due (what `early` was told at 09:59:50 is stale).
    app = simulated_app("2024-01-01 09:59:50")
    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)
    shared = daily.at("10:00")
    app.task(shared, name="early", priority=3)(_nothing)

    @app.task(every("1 day"), priority=2)
    def slow() -> None:
        clock.advance("10 seconds")

    app.task(shared, name="late", priority=1)(_nothing)

    run_until(app, "2024-01-01 10:00:01")
    assert [d.strftime("%H:%M:%S.%f") for d in runs(app, "late")] == ["10:00:00.000000"]
    assert [d.strftime("%H:%M:%S") for d in runs(app, "early")] == ["10:00:00"]


def test_a_shared_condition_replaced_by_a_run_is_asked_anew() -> None:
    app = simulated_app("2024-01-01 09:00")
    shared = daily.at("10:00")
    app.task(shared, name="first", priority=3)(_nothing)

    @app.task(every("1 day"), priority=2)
    def switch() -> None:
        app.session["last"].start_cond = daily.at("09:00")

    app.task(shared, name="last", priority=1)(_nothing)

    run_until(app, "2024-01-01 09:00:01")
    assert [d.strftime("%H:%M:%S.%f") for d in runs(app, "last")] == ["09:00:00.000000"]
    assert runs(app, "first") == []


def test_a_subclass_of_a_shared_condition_is_asked_itself() -> None:
    app = simulated_app("2024-01-01 09:00")
    app.task(daily.at("10:00"), name="plain")(_nothing)
    app.task(_DueAlways(TimeOfDay.at("10:00")), name="mine")(_nothing)

    run_until(app, "2024-01-01 09:00:01")
    assert [d.strftime("%H:%M") for d in runs(app, "mine")] == ["09:00"]
    assert runs(app, "plain") == []


class _DueAlways(TaskExecutable):
    """Answers otherwise than its base: the clock's answer for the base must not be used."""

    def is_true(self, ctx: Context) -> bool:
        return not self._done(ctx.log_of(self.task), ctx.ts - 1, ctx.ts)


def _nothing() -> None:
    pass


def test_a_priority_raised_between_passes_launches_that_task_first_at_the_next_pass() -> None:
    app = simulated_app("2024-01-01 00:00", execution="main")
    order: list[str] = []
    for name in ["a", "b", "c"]:
        app.task(every("1 hour"), name=name)(lambda name=name: order.append(name))
    run_for(app, "30 minutes")
    assert order == ["a", "b", "c"]
    app.session["c"].priority = 9
    run_for(app, "1 hour")
    assert order[3:] == ["c", "a", "b"]


class _CountingSleeps(SystemClock):
    """The real clock, counting the loop's sleeps once ``counting`` is set."""

    def __init__(self) -> None:
        super().__init__(timezone.utc)
        self.counting = threading.Event()
        self.sleeps = 0

    async def sleep_until(
        self, deadline: datetime | None, wake: asyncio.Event, *, busy: bool = False
    ) -> None:
        if self.counting.is_set():
            self.sleeps += 1
        await super().sleep_until(deadline, wake, busy=busy)


@pytest.mark.timeout(30)
def test_a_shutdown_waiting_for_a_run_sleeps_until_the_run_ends() -> None:
    # Found by probing: a graceful shutdown that waited for a 3 s thread run burnt a core
    # (2.3 s of CPU), because the wait slept until the next look of every-0.1-second task,
    # which was past after 0.1 s and never taken since nothing is launched during shutdown.
    clock = _CountingSleeps()
    app = App(config={"execution": "main"}, clock=clock)
    release, started = threading.Event(), threading.Event()

    @app.task(every("1 hour"), execution="thread")
    def long_run() -> None:
        started.set()
        release.wait(10)

    @app.task(every("0.01 seconds"))
    def ticker() -> None:
        pass

    def let_go() -> None:
        started.wait(10)
        time.sleep(0.05)  # the ticker has a next look planned
        clock.counting.set()
        app.session.shut_down()  # from outside the loop, as a signal or a request would
        time.sleep(0.4)  # the shutdown waits for the run meanwhile
        release.set()

    helper = threading.Thread(target=let_go)
    helper.start()
    app.run()
    helper.join()
    assert release.is_set()
    assert [r.action for r in app.session.get_repo().filter_by(task_name="long_run")] == [
        "run",
        "success",
    ]
    # a sleep or two (the shutdown's start, the run's end), not one per turn of a spinning loop
    assert clock.sleeps <= 5, clock.sleeps


@pytest.mark.timeout(30)
@pytest.mark.parametrize("execution", ["main", "thread", "async"])
@pytest.mark.parametrize("remover", ["other thread", "loop thread"])
def test_a_task_removed_during_a_pass_does_not_run_in_it(execution: str, remover: str) -> None:
    # Found by the control probes: `victim` was due in the same pass as `first` (higher
    # priority, runs inline). While `first` ran, another thread removed `victim` and the
    # removal returned; the pass then went on to the task it still held, and ran it.
    app = simulated_app("2024-01-03 07:13")
    removed = threading.Event()
    ran: list[bool] = []

    def remove() -> None:
        app.session.remove_task("victim")
        removed.set()

    @app.task("every 10 minutes", name="first", priority=10, execution="main")
    def first() -> None:
        if remover == "loop thread":
            remove()
        else:
            thread = threading.Thread(target=remove)
            thread.start()
            thread.join(5)
        assert removed.is_set()

    @app.task("every 10 minutes", name="victim", execution=execution)
    def victim() -> None:
        ran.append(removed.is_set())

    run_for(app, "1 minute")
    assert len(runs(app, "first")) == 1
    assert ran == []
    assert runs(app, "victim") == []
