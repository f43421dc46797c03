"""The scheduler's inline path (``execution="main"``): what it records is what a run through
the executor protocol records.

``Scheduler._launch`` runs a task on the built-in ``MainExecutor`` in the loop's own frame (no
``TaskCall``, no callback, no ``Outcome`` for a plain success) and hands the run's timestamp
along instead of recomputing it. An executor of another type (here a subclass of
``MainExecutor``) goes through ``submit``: both must leave the same records, history,
returns and hook calls behind.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from skylaunch import App
from skylaunch.args import Return
from skylaunch.conds import after_fail, after_success, every, retry, scheduler_cycles, true
from skylaunch.conds.base import AlwaysTrue, Condition, Context
from skylaunch.exc import SchedulerExit, TaskInaction
from skylaunch.execution.base import Outcome
from skylaunch.execution.main import MainExecutor
from skylaunch.log import MemoryRepo, RepoHandler, TaskRunRecord
from skylaunch.log.context import current_run
from skylaunch.tasks.base import Task
from skylaunch.testing import run_for, runs, simulated_app
from tests.test_durable_start import Gated


class _Submitted(MainExecutor):
    """``MainExecutor`` under another type: its runs take the general path (``submit``)."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, call: Any, on_done: Any, started: Any) -> Any:
        self.submitted += 1
        return super().submit(call, on_done, started)


def _ids() -> Any:
    counter = itertools.count()
    return lambda task, params: f"{task.name}-{next(counter)}"


def _app(execution: str, executors: Mapping[str, Any] | None = None) -> App:
    app = simulated_app(
        "2024-01-01 00:00", execution=execution, executors=executors, func_run_id=_ids()
    )
    state = {"n": 0}

    @app.task(every("10 seconds"))
    def tick() -> int:
        state["n"] += 1
        return state["n"]

    @app.task(every("25 seconds"))
    def boom() -> None:
        raise ValueError("boom")

    @app.task(after_success("tick"))
    def doubled(value: Any = Return("tick")) -> int:  # noqa: B008 - Rocketry's argument form
        return value * 2

    @app.task(after_fail("boom") | retry(2))
    def idle() -> None:
        raise TaskInaction

    return app


def _records(app: App) -> list[tuple[Any, ...]]:
    return [
        (r.task_name, r.action, r.created, r.start, r.end, r.runtime, r.run_id, r.exc_text)
        for r in app.session.repo.filter_by().all()
    ]


def _history(app: App) -> dict[str, Any]:
    history = app.session.history
    out = {}
    for name in history.task_names():
        log = history.of(name)
        actions = ("run", "success", "fail", "inaction", "terminate", "crash")
        out[name] = (
            {a: list(log.times(a)) for a in actions},
            log.last_action,
            log.last_time,
            dict(log.running),
            log.fails_in_row(),
        )
    return out


def test_inline_runs_record_what_a_submitted_run_records() -> None:
    fast = _app("main")
    general_executor = _Submitted()
    general = _app("submitted", {"submitted": general_executor})
    for app in (fast, general):
        run_for(app, "5 minutes")
    assert general_executor.submitted > 0  # the general path was taken
    assert _records(fast) == _records(general)
    assert len(_records(fast)) > 100
    assert _history(fast) == _history(general)
    assert dict(fast.session.returns) == dict(general.session.returns)
    assert fast.session.returns["doubled"] == 2 * fast.session.returns["tick"]


def test_hooks_added_while_running_see_the_inline_runs() -> None:
    app = simulated_app("2024-01-01 00:00", func_run_id=_ids())
    seen: list[tuple[str, str, str, object]] = []
    before: list[str] = []

    def after_run(task: Task, outcome: Outcome) -> None:
        seen.append((task.name, outcome.run_id, outcome.action, outcome.value))

    def before_run(task: Task) -> None:
        before.append(task.name)

    @app.task(every("10 seconds"))
    def job() -> int:
        if len(runs(app, "job")) == 3:  # the third run turns the hooks on
            app.session.hooks.after_run.append(after_run)
            app.session.hooks.before_run.append(before_run)
        return 7

    run_for(app, "55 seconds")
    assert len(runs(app, "job", "success")) == 6
    # the third run ends after its hook was added: it is reported, with its value
    assert seen == [("job", f"job-{i}", "success", 7) for i in range(2, 6)]
    assert before == ["job"] * 3


def test_an_argument_added_while_running_reaches_the_next_inline_run() -> None:
    app = simulated_app("2024-01-01 00:00")
    got: list[Any] = []

    @app.task(every("10 seconds"))
    def job(**kwargs: Any) -> None:
        got.append(kwargs.get("size"))
        app.params(size=len(got))

    run_for(app, "25 seconds")
    assert got == [None, 1, 2]


def _switching_repo(execution: str) -> list[tuple[Any, ...]]:
    app = simulated_app(
        "2024-01-01 00:00",
        execution=execution,
        executors={"submitted": _Submitted()},
        func_run_id=_ids(),
    )
    other = MemoryRepo(TaskRunRecord)

    @app.task(every("10 seconds"))
    def job() -> None:
        if len(runs(app, "job")) == 2:
            app.session.set_repo(other)

    run_for(app, "35 seconds")
    assert app.session.repo is other
    return _records(app)


def test_a_repo_set_while_running_takes_the_next_inline_records() -> None:
    records = _switching_repo("main")
    assert records == _switching_repo("submitted")
    # the end of the run that switched, then the later runs
    assert [(r[1], r[6]) for r in records[:3]] == [
        ("success", "job-1"),
        ("run", "job-2"),
        ("success", "job-2"),
    ]


def test_an_inline_run_that_raises_scheduler_exit_stops_after_its_records() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("10 seconds"))
    def job() -> None:
        if len(runs(app, "job")) == 2:
            raise SchedulerExit

    run_for(app, "1 minute")
    assert [r.action for r in app.session.repo.filter_by().all()] == ["run", "success"] * 2


@pytest.mark.parametrize("fails", [False, True])
def test_an_inline_run_whose_end_cannot_be_handled_is_recorded_as_failed(
    monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """What ``_submit`` does when ``submit()`` raises: the run ends as ``fail``, once."""
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("10 seconds"))
    def job() -> None:
        if fails:
            raise ValueError("in the body")

    scheduler = app.session.scheduler
    finish = scheduler._finish
    calls = {"n": 0}

    def flaky_finish(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bookkeeping failed")
        finish(*args, **kwargs)

    monkeypatch.setattr(scheduler, "_finish", flaky_finish)
    run_for(app, "5 seconds")
    records = app.session.repo.filter_by().all()
    assert [r.action for r in records] == ["run", "fail"]
    assert "RuntimeError: bookkeeping failed" in (records[1].exc_text or "")


def test_a_background_repo_set_while_running_makes_the_next_runs_wait_for_their_record() -> None:
    app = simulated_app("2024-01-01 00:00")
    foreign = Gated()  # a repo of the user's own: written from the handler's thread
    foreign.gate.set()
    stored_before_body: list[bool] = []

    @app.task(every("10 seconds"))
    def job() -> None:
        info = current_run.get()
        assert info is not None
        if app.session.repo is foreign:  # off the inline path: the run record came first
            stored_before_body.append(
                any(i["run_id"] == info.run_id and i["action"] == "run" for i in foreign.items)
            )
        elif len(runs(app, "job")) == 2:
            app.session.set_repo(foreign)

    try:
        run_for(app, "35 seconds")
    finally:
        handler = app.session.journal.handler
        assert handler is not None
        handler.close(5)
    assert len(stored_before_body) >= 2
    assert all(stored_before_body)


@pytest.mark.parametrize("execution", ["main", "submitted", "thread"])
def test_a_repo_handler_put_on_the_task_logger_between_two_runs_makes_the_next_wait(
    execution: str,
) -> None:
    """``addHandler(RepoHandler(repo))`` while the scheduler runs is read at once, as
    ``set_repo`` would be (docs/persistence.md): the very next run is written ahead of its body,
    inline or not. The handler is added from an after-run hook, as another thread of the
    application may add it between two records: nothing logs in between."""
    app = simulated_app(
        "2024-01-01 00:00", execution=execution, executors={"submitted": _Submitted()}
    )
    foreign = Gated()  # written from the handler's thread
    foreign.gate.set()
    added = RepoHandler(foreign)
    ends: list[str] = []
    stored_before_body: list[bool] = []

    def add_after_the_second_run(task: Task, outcome: Outcome) -> None:
        ends.append(outcome.run_id)
        if len(ends) == 2:
            logging.getLogger("skylaunch.task").addHandler(added)

    app.session.hooks.after_run.append(add_after_the_second_run)

    @app.task(every("10 seconds"))
    def job() -> None:
        info = current_run.get()
        assert info is not None
        if len(ends) >= 2:
            stored_before_body.append(
                any(i["run_id"] == info.run_id and i["action"] == "run" for i in foreign.items)
            )

    try:
        run_for(app, "35 seconds")
    finally:
        logging.getLogger("skylaunch.task").removeHandler(added)
        added.close(5)
    assert app.session.repo is foreign
    assert len(stored_before_body) >= 2
    assert all(stored_before_body)


@pytest.mark.parametrize("execution", ["main", "submitted"])
@pytest.mark.parametrize("kind", [KeyboardInterrupt, SystemExit])
def test_an_inline_run_cut_short_by_a_base_exception_ends_before_the_scheduler_stops(
    execution: str, kind: type[BaseException]
) -> None:
    """Ctrl-C or ``sys.exit()`` in an inline body still stops the scheduler (SystemExit leaves
    ``run``), on either path; the run is logged ``fail`` first, with its traceback, or it would
    count as running for ever in this process: ``session.run()`` would never see it end."""
    app = simulated_app(
        "2024-01-01 00:00",
        execution=execution,
        executors={"submitted": _Submitted()},
        func_run_id=_ids(),
    )
    calls: list[int] = []

    @app.task(every("10 seconds"))
    def job() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise kind

    try:
        run_for(app, "1 minute")
    except kind:  # SystemExit goes on up; KeyboardInterrupt stops the scheduler as Ctrl-C does
        pass
    records = app.session.repo.filter_by().all()
    assert [(r.action, r.run_id) for r in records] == [
        ("run", "job-0"),
        ("success", "job-0"),
        ("run", "job-1"),
        ("fail", "job-1"),
    ]
    assert kind.__name__ in (records[-1].exc_text or "")
    assert not app.session["job"].is_running
    app.session.run("job")  # returns once the run has ended
    assert len(calls) == 3


class _AlsoTrue(AlwaysTrue):
    """``true`` under another type: checked through a Context, as any other condition."""

    def is_true(self, ctx: Context) -> bool:
        assert isinstance(ctx, Context)
        _also_true_checks.append(ctx.task.name if ctx.task is not None else None)
        return super().is_true(ctx)


_also_true_checks: list[str | None] = []


def _always_app(cond: Condition) -> App:
    app = simulated_app(
        "2024-01-01 00:00", func_run_id=_ids(), shut_cond=scheduler_cycles(more_than=40)
    )
    state = {"n": 0}

    @app.task(cond, name="always")
    def always() -> int:
        state["n"] += 1
        if state["n"] % 7 == 0:
            raise ValueError("every seventh")
        return state["n"]

    @app.task(after_success("always"))
    def follows(value: Any = Return("always")) -> Any:  # noqa: B008 - Rocketry's argument form
        return value

    return app


def test_a_true_start_cond_launches_as_any_condition_that_holds() -> None:
    """``true`` is not checked through a Context (the scheduler knows it holds): its task's
    records, history and returns are those of a task whose condition is checked."""
    fast, general = _always_app(true), _always_app(_AlsoTrue())
    for app in (fast, general):
        app.run()
    assert _also_true_checks.count("always") > 30  # the general path was taken
    assert _records(fast) == _records(general)
    assert len(_records(fast)) > 60
    assert _history(fast) == _history(general)
    assert dict(fast.session.returns) == dict(general.session.returns)


class _MovesToSubmitted(AlwaysTrue):
    """A condition that, when checked, moves its task to the ``submitted`` executor."""

    def is_true(self, ctx: Context) -> bool:
        assert ctx.task is not None
        ctx.task.execution = "submitted"
        return True


@pytest.mark.parametrize("cond", [true, _MovesToSubmitted()], ids=["true", "checked"])
def test_a_launch_uses_the_executor_of_the_task_as_it_is_after_its_check(
    cond: Condition,
) -> None:
    """The launch of a task decided without running any code (``true``) reuses the executor
    its decision looked up; after a condition was checked (user code) it looks again."""
    executor = _Submitted()
    app = simulated_app(
        "2024-01-01 00:00",
        executors={"submitted": executor},
        shut_cond=scheduler_cycles(more_than=3),
    )

    @app.task(cond, execution="main")
    def moved() -> None:
        pass

    app.run()
    launched = len(runs(app, "moved"))
    assert launched >= 3
    assert executor.submitted == (0 if cond is true else launched)


def test_switches_to_an_always_due_task_take_effect_at_the_next_pass() -> None:
    """A probe (found nothing): ``true`` launches without a check; a switch made between two
    passes (by a task later in the pass) shows in the very next pass: the config's and the
    task's execution, disabled, start_cond, force_run (also on a disabled task)."""
    submitted = _Submitted()
    app = simulated_app(
        "2024-01-01 00:00",
        execution="main",
        executors={"submitted": submitted},
        shut_cond=scheduler_cycles(more_than=30),
    )
    passes = [0]  # the driver's runs so far: spin's run in pass k sees k
    seen: list[tuple[int, int]] = []  # (pass, submitted runs so far) at each run of spin

    @app.task(true)
    def spin() -> None:
        seen.append((passes[0], submitted.submitted))

    task = app.session["spin"]
    config = app.session.config
    steps: dict[int, Callable[[], None]] = {
        2: lambda: setattr(config, "execution", "submitted"),
        4: lambda: setattr(config, "execution", "main"),
        6: lambda: setattr(task, "execution", "submitted"),
        8: lambda: setattr(task, "execution", "main"),
        10: lambda: setattr(task, "disabled", True),
        12: lambda: setattr(task, "disabled", False),
        14: lambda: setattr(task, "start_cond", "false"),
        16: lambda: setattr(task, "start_cond", true),
        18: lambda: setattr(task, "start_cond", "false"),
        20: lambda: setattr(task, "force_run", True),
        22: lambda: (setattr(task, "start_cond", true), setattr(task, "disabled", True)),
        24: lambda: setattr(task, "force_run", True),
        26: lambda: setattr(task, "disabled", False),
    }

    @app.task(true, execution="main")  # (its own: the config's changes)
    def driver() -> None:  # after spin in every pass (defined later, same priority)
        passes[0] += 1
        step = steps.get(passes[0])
        if step is not None:
            step()

    with pytest.warns(DeprecationWarning, match="force_run is deprecated"):
        app.run()
    counts = [0, *(n for _, n in seen)]
    runs_at = {p: counts[i + 1] > counts[i] for i, (p, _) in enumerate(seen)}
    assert max(runs_at) >= 28
    idle = {10, 11, 14, 15, 18, 19, 21, 22, 23, 25}  # disabled, false; forced at 20 and 24
    assert sorted(runs_at) == [p for p in range(max(runs_at) + 1) if p not in idle]
    assert sorted(p for p, by_submit in runs_at.items() if by_submit) == [2, 3, 6, 7]


def test_an_always_due_runs_records_on_the_real_clock_carry_their_start_in_every_store() -> None:
    # On the real clock a pass of an always-due task makes no datetime (the memory repo keeps
    # the float); the records read back, and the LogRecords a handler above the task logger
    # gets, carry the start as the datetime of the run's instant in the clock's zone.
    app = App(config={"execution": "main"})
    done: list[int] = []
    returned: list[object] = [5, None, None, 7, None]

    @app.task(true)
    def job() -> object:
        done.append(1)
        if len(done) == len(returned):
            app.session.shut_down()
        return returned[len(done) - 1]

    seen: list[logging.LogRecord] = []
    values: list[object] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)
            if getattr(record, "action", None) == "run":
                values.append(app.session.returns.get("job", "missing"))

    app.run()
    zone = app.session.clock.tz
    records = app.session.repo.filter_by(task_name="job", action="run").all()
    assert len(records) == 5
    ends = app.session.repo.filter_by(task_name="job", action="success").all()
    for run, end in zip(records, ends, strict=True):
        assert run.start == datetime.fromtimestamp(run.created, zone)
        assert run.start.tzinfo is zone
        assert end.start == run.start
        assert end.run_id == run.run_id
        assert end.runtime == timedelta(seconds=end.created - run.created)
    # a None returned over a stored None leaves it; any other value replaces what is stored
    assert app.session.returns["job"] is None
    catch = Catch()
    root = logging.getLogger()
    root.addHandler(catch)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        done.clear()
        app.run()
    finally:
        root.removeHandler(catch)
        root.setLevel(old_level)
    assert values == [None, 5, None, None, 7]  # what a run found stored when it began
    starts = [r for r in seen if getattr(r, "action", None) in ("run", "success")]
    assert len(starts) == 10
    for record in starts:
        assert isinstance(record.start, datetime)
        assert record.start.tzinfo is zone
    assert starts[0].start == datetime.fromtimestamp(starts[0].created, zone)
    assert starts[1].start == starts[0].start


def test_a_functask_subclass_keeps_its_own_arguments_target_and_execution_inline() -> None:
    """The pass reads a plain ``FuncTask``'s mode from its fields (no property call); a
    subclass that overrides ``arguments``, ``target`` or ``execution`` is still asked, once a
    run (an instance's own ``arguments``: test_failing_prerun_obeys_silence_task_prerun)."""
    from skylaunch.tasks.func import FuncTask

    submitted = _Submitted()
    app = simulated_app(
        "2024-01-01 00:00",
        execution="main",
        executors={"submitted": submitted},
        shut_cond=scheduler_cycles(more_than=3),
    )
    asked: list[str] = []
    got: list[Any] = []

    class Custom(FuncTask):
        def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
            asked.append("arguments")
            return {"extra": len(asked)}

        def target(self) -> Callable[..., Any]:
            asked.append("target")
            inner = super().target()
            return lambda **kwargs: got.append(inner(**kwargs))

        @property  # type: ignore[override]
        def execution(self) -> str:
            asked.append("execution")
            return "submitted"

    def body(extra: int = 0) -> int:
        return extra

    Custom(body, name="custom", start_cond=true, session=app.session)
    app.run()
    launched = len(runs(app, "custom"))
    assert launched >= 3
    assert submitted.submitted == launched
    assert asked.count("arguments") == asked.count("target") == launched
    assert asked.count("execution") >= launched
    assert len(got) == launched  # each run called the subclass's target with its arguments
    assert all(type(value) is int and value > 0 for value in got)


@pytest.mark.parametrize("where", ["config", "task"])
def test_a_coroutine_function_asked_to_run_as_main_runs_in_the_loop_as_async(where: str) -> None:
    """The launch reads a plain ``FuncTask``'s mode from its fields (round 9's shortcut): a
    coroutine function with ``execution="main"`` must still run as ``async``, in the scheduler's
    event loop (``main`` cannot block on it: ``asyncio.run`` there would fail the run)."""
    import asyncio

    app = simulated_app(
        "2024-01-01 00:00", execution="main", shut_cond=scheduler_cycles(more_than=2)
    )
    seen: list[bool] = []

    async def body() -> str:
        seen.append(asyncio.get_running_loop() is app.session.scheduler._loop)
        await asyncio.sleep(0)
        return "done"

    extra = {"execution": "main"} if where == "task" else {}
    app.task(every("1 hour"), name="coro", **extra)(body)
    app.run()
    assert app.session["coro"].execution == "async"
    assert len(runs(app, "coro", "success")) == 1
    assert runs(app, "coro", "fail") == []
    assert seen == [True]
