"""Hooks and the start-up / shutdown sequences, in Rocketry's order.

Rocketry's order: start-up hooks (generators up to ``yield``), start-up tasks, then the rest of
the start-up generators; cycle hooks around each pass; at shutdown the shutdown hooks
(generators up to ``yield``), the shutdown tasks, the end of every run, then the rest of the
shutdown generators. Task-init hooks wrap a task's creation, task-execute hooks each run.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

import pytest

from skylaunch import App
from skylaunch._hooks import HookRound
from skylaunch.args import Session as SessionArg
from skylaunch.args import Task as TaskArg
from skylaunch.args import TerminationFlag
from skylaunch.conds import after_success, every, true
from skylaunch.tasks import FuncTask
from skylaunch.testing import run_for, run_until, runs, simulated_app
from skylaunch.time.clock import SimulatedClock


def test_the_whole_timeline_follows_rocketry() -> None:
    app = simulated_app("2024-01-01 00:00")
    session = app.session
    timeline: list[str] = []

    @session.hook_startup()
    def startup_hook(session: Any = SessionArg()) -> None:  # noqa: B008
        assert session is app.session
        timeline.append("startup hook")

    @app.setup()
    def setup_generator() -> Any:
        timeline.append("setup generator, before")
        yield
        timeline.append("setup generator, after")

    @session.hook_scheduler_cycle()
    def cycle_hook() -> None:
        timeline.append("cycle hook")

    @session.hook_scheduler_cycle()
    def cycle_generator() -> Any:
        timeline.append("cycle generator, before")
        yield
        timeline.append("cycle generator, after")

    @session.hook_shutdown()
    def shutdown_hook() -> None:
        timeline.append("shutdown hook")

    @session.hook_shutdown()
    def shutdown_generator() -> Any:
        timeline.append("shutdown generator, before")
        yield
        timeline.append("shutdown generator, after")

    app.task(on_startup=True, name="start")(lambda: timeline.append("startup task"))
    app.task(true, name="one", priority=1)(lambda: timeline.append("task one"))
    app.task(after_success("one"), name="two")(lambda: timeline.append("task two"))
    app.task(on_shutdown=True, name="stop")(lambda: timeline.append("shutdown task"))
    # one full cycle, then shut down (Rocketry counts a cycle once it is done)
    session.config.shut_cond = "scheduler has more than 0 cycles"  # type: ignore[assignment]
    session.start()

    assert timeline == [
        "startup hook",
        "setup generator, before",
        "startup task",
        "setup generator, after",
        "cycle hook",
        "cycle generator, before",
        "task one",
        "task two",
        "cycle generator, after",
        "shutdown hook",
        "shutdown generator, before",
        "shutdown task",
        "shutdown generator, after",
    ]


def test_startup_and_shutdown_tasks_never_run_in_the_main_sequence() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(true, on_startup=True)
    def warm() -> None: ...

    @app.task(every("1 minute"), on_shutdown=True)
    def report() -> None: ...

    @app.task(on_startup=True, disabled=True)
    def disabled() -> None: ...

    run_for(app, "10 minutes")
    assert len(runs(app, "warm")) == 1  # its condition held at start-up, once
    assert len(runs(app, "report")) == 1  # only at shutdown, although every minute is due
    assert runs(app, "disabled") == []


def test_a_startup_task_with_a_false_condition_at_start_up_does_not_run() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task("time of day between 10:00 and 11:00", on_startup=True)
    def only_in_the_window() -> None: ...

    run_for(app, "12 hours")
    assert runs(app, "only_in_the_window") == []


def test_a_startup_task_run_by_hand_before_start_runs_with_its_parameters() -> None:
    app = simulated_app("2024-01-01 00:00")
    seen: list[int] = []

    @app.task("time of day between 10:00 and 11:00", on_startup=True)
    def seeded(n: int = 0) -> None:
        seen.append(n)

    app.session["seeded"].run(n=7)
    run_for(app, "1 minute")
    assert seen == [7]


def test_a_permanent_task_neither_times_out_nor_holds_up_shutdown() -> None:
    # a run that never reports holds the simulated clock for settle_s at each sleep: keep it short
    clock = SimulatedClock("2024-01-01 00:00", tz=timezone.utc, settle_s=0.01)
    app = App(config={"execution": "main", "timeout": "1 minute"}, clock=clock)
    ended: list[bool] = []

    @app.task(on_startup=True, execution="thread", permanent=True)
    def server(flag: Any = TerminationFlag()) -> None:  # noqa: B008 - as users write it
        ended.append(flag.wait(10))

    @app.task(every("10 minutes"))
    def tick() -> None: ...

    run_for(app, "1 hour")
    assert ended == [True]  # ended by the shutdown's termination, not by the 1-minute timeout
    assert len(runs(app, "tick")) == 6
    (record,) = app.session.repo.filter_by(task_name="server", action="terminate").all()
    assert record.end.strftime("%H:%M") == "01:00"


def test_a_failing_shutdown_hook_still_ends_the_runs_and_is_raised() -> None:
    clock = SimulatedClock("2024-01-01 00:00", tz=timezone.utc, settle_s=0.01)
    app = App(config={"execution": "main", "instant_shutdown": True}, clock=clock)

    @app.shutdown()
    def broken() -> None:
        raise RuntimeError("hook broke")

    @app.task(on_shutdown=True)
    def last_words() -> None: ...

    @app.task(every("1 hour"), execution="thread")
    def busy(flag: Any = TerminationFlag()) -> None:  # noqa: B008 - as users write it
        flag.wait(10)

    with pytest.raises(RuntimeError, match="hook broke"):
        run_for(app, "1 minute")
    assert app.session.scheduler.running_handles == {}
    assert len(runs(app, "busy", "terminate")) == 1  # ended, and logged, despite the hook
    assert runs(app, "last_words") == []  # the hook failed before the shutdown tasks


def test_task_init_hooks_wrap_the_creation() -> None:
    app = App()
    timeline: list[str] = []

    @app.session.hook_task_init()
    def plain(task: Any = TaskArg()) -> None:  # noqa: B008
        timeline.append(f"plain, has a name: {hasattr(task, 'name')}")

    @app.session.hook_task_init()
    def generator(task: Any = TaskArg()) -> Any:  # noqa: B008
        timeline.append("generator, before")
        yield
        timeline.append(f"generator, after: {task.name} in session: {task.name in app.session}")

    timeline.append("define")
    FuncTask(lambda: None, name="made", session=app.session)
    assert timeline == [
        "define",
        "plain, has a name: False",
        "generator, before",
        "generator, after: made in session: True",
    ]


@pytest.mark.parametrize("execution", ["main", "async", "thread"])
def test_task_execute_hooks_wrap_each_run_and_see_its_exception(execution: str) -> None:
    app = simulated_app("2024-01-01 00:00", execution=execution)
    seen: list[tuple[str, Any]] = []

    @app.session.hook_task_execute()
    def around(task: Any = TaskArg()) -> Any:  # noqa: B008
        seen.append(("before", task.name))
        exc_type, exc, _ = yield
        seen.append(("after", None if exc_type is None else f"{exc_type.__name__}: {exc}"))

    @app.task(every("1 hour"))
    def ok() -> None: ...

    @app.task(every("1 hour"))
    def broken() -> None:
        raise ValueError("no data")

    run_until(app, "2024-01-01 00:30")
    assert sorted(seen, key=str) == sorted(
        [("before", "ok"), ("after", None), ("before", "broken"), ("after", "ValueError: no data")],
        key=str,
    )
    assert len(runs(app, "broken", "fail")) == 1


def test_task_execute_hooks_wrap_coroutine_runs() -> None:
    app = simulated_app("2024-01-01 00:00", execution="async")
    seen: list[Any] = []

    @app.session.hook_task_execute()
    def around() -> Any:
        seen.append("before")
        exc_type, _, _ = yield
        seen.append(exc_type)

    @app.task(every("1 hour"))
    async def fine() -> int:
        return 1

    @app.task(every("1 hour"))
    async def broken() -> None:
        raise KeyError("gone")

    run_until(app, "2024-01-01 00:30")
    assert sorted(map(str, seen)) == sorted(["before", "before", "None", str(KeyError)])
    assert app.session.returns["fine"] == 1


def test_task_execute_hooks_are_not_called_for_process_runs() -> None:
    """A process run executes in another interpreter, where the session's hooks do not exist."""
    app = simulated_app("2024-01-01 00:00")
    seen: list[str] = []
    app.session.hook_task_execute()(lambda: seen.append("called"))
    app.task(every("1 hour"), name="elsewhere", execution="process")(print)
    run_until(app, "2024-01-01 00:30")
    assert len(runs(app, "elsewhere", "success")) == 1
    assert seen == []


def test_a_generator_hook_that_does_not_yield_just_ends() -> None:
    calls: list[str] = []

    def never_yields() -> Any:
        calls.append("ran")
        return
        yield  # a generator function nonetheless

    def yields_twice() -> Any:
        yield
        calls.append("resumed")
        yield
        calls.append("never")

    hooked = HookRound([never_yields, yields_twice], {})
    hooked.finish()
    assert calls == ["ran", "resumed"]
