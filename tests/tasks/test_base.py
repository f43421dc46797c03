"""Runtime control of tasks: run now, disable/enable, control from inside a running task."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from skylaunch import App
from skylaunch.args import Arg
from skylaunch.conds import after_success, daily, every, true
from skylaunch.exc import SchedulerRestart, TaskDefinitionError, TaskLookupError
from skylaunch.testing import run_for, run_until, runs, simulated_app


def test_disable_and_enable_from_inside_another_task() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"))
    def tick() -> None: ...

    @app.task(every("1 hour"), priority=10)
    def switch() -> None:  # runs first each hour: disables, enables, disables...
        task = app.session["tick"]
        task.disabled = not task.disabled

    run_for(app, "4 hours 30 minutes")
    assert len(runs(app, "switch")) == 5
    assert [d.strftime("%H:%M") for d in runs(app, "tick")] == ["01:00", "03:00"]


def test_disabled_task_still_runs_when_asked() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"), disabled=True)
    def job(x: int = 0) -> int:
        return x

    run_for(app, "2 hours")
    assert runs(app, "job") == []
    app.session["job"].enable()
    app.session["job"].disable()
    app.session["job"].run(x=7)
    run_for(app, "1 second")
    assert len(runs(app, "job")) == 1
    assert app.session.returns["job"] == 7


def test_run_another_task_from_inside_a_task() -> None:
    app = simulated_app("2024-01-01 00:00")
    got: list[int] = []

    @app.task(every("1 hour"))
    def trigger() -> None:
        app.session["worker"].run(n=len(got))

    @app.task()
    def worker(n: int) -> None:
        got.append(n)

    run_for(app, "150 minutes")
    assert got == [0, 1, 2]


def test_restart_from_a_task_starts_the_scheduler_again() -> None:
    app = simulated_app("2024-01-01 00:00")
    starts: list[int] = []
    app.setup()(lambda: starts.append(1))

    @app.task(every("1 hour"))
    def maybe_restart() -> None:
        if len(starts) == 1:
            raise SchedulerRestart()

    @app.task(every("1 hour"))
    def ask_restart() -> None:
        if len(starts) == 2:
            app.session.restart()

    run_for(app, "30 minutes")
    assert len(starts) == 3


def test_start_cond_replaced_while_running_is_planned_again() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily.at("23:00"))
    def job() -> None: ...

    @app.task(daily.at("01:00"))
    def switch() -> None:  # the loop had planned job for 23:00
        app.session["job"].start_cond = every("30 minutes")

    run_until(app, "2024-01-01 03:00")
    assert [d.strftime("%H:%M") for d in runs(app, "job")] == ["01:00", "01:30", "02:00", "02:30"]


def test_start_cond_replaced_with_a_dependency_watches_the_new_upstream() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"))
    def upstream() -> None: ...

    @app.task("false")
    def job() -> None: ...

    @app.task(daily.at("01:30"))
    def switch() -> None:
        app.session["job"].start_cond = after_success("upstream")

    run_until(app, "2024-01-01 03:30")
    assert [d.strftime("%H:%M") for d in runs(app, "job")] == ["01:30", "02:00", "03:00"]


def test_start_cond_assigned_as_text_is_parsed() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily.at("23:00"))
    def job() -> None: ...

    job_task = app.session["job"]
    job_task.start_cond = "every 30 minutes"
    job_task.end_cond = "true"
    assert job_task.start_cond == every("30 minutes")
    assert job_task.end_cond == true
    run_until(app, "2024-01-01 01:00")
    assert len(runs(app, "job")) == 2


def test_start_cond_of_a_wrong_type_is_refused_with_the_task_name() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(daily)
    def job() -> None: ...

    with pytest.raises(TaskDefinitionError, match=r"task 'job': start_cond must be .* got 5"):
        app.session["job"].start_cond = 5  # type: ignore[assignment]
    assert app.session["job"].start_cond == daily


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": "high"}, r"task 'job': priority must be a whole number, got 'high'"),
        ({"priority": None, "parameters": [1, 2]}, r"task 'job': parameters must be a mapping"),
    ],
)
def test_bad_task_options_name_the_task_and_the_option(
    options: dict[str, object], message: str
) -> None:
    app = simulated_app("2024-01-01 00:00")
    with pytest.raises(TaskDefinitionError, match=message):
        app.session.create_task(func=lambda: None, name="job", **options)
    assert "job" not in app.session


def test_logger_name_must_be_the_task_logger_or_under_it() -> None:
    import logging

    app = simulated_app()
    app.task(name="plain")(lambda: None)
    assert app.session["plain"].logger_name == "skylaunch.task"
    app.task(name="own", logger_name="skylaunch.task.own")(lambda: None)
    app.task(name="obj", logger_name=logging.getLogger("skylaunch.task.obj"))(lambda: None)
    assert app.session["own"].logger_name == "skylaunch.task.own"
    assert app.session["own"].logger.logger.name == "skylaunch.task.own"
    assert app.session["obj"].logger_name == "skylaunch.task.obj"
    for bad in ("myapp.tasks", "skylaunch.taskforce", logging.getLogger("other"), 3):
        with pytest.raises(TaskDefinitionError, match=r"task 'bad': logger_name must be the task"):
            app.task(name="bad", logger_name=bad)(lambda: None)
    task = app.session["own"]
    task.logger_name = None
    assert task.logger_name == "skylaunch.task"
    assert task.logger.logger.name == "skylaunch.task"


def test_force_run_runs_once_with_a_deprecation_warning() -> None:
    app = simulated_app("2024-01-01 00:00")
    with pytest.warns(DeprecationWarning, match=r"task 'job': force_run is deprecated.*run\(\)"):

        @app.task(daily.at("23:00"), force_run=True)
        def job() -> None: ...

    task = app.session["job"]
    assert task.force_run is True
    run_for(app, "1 hour")
    assert len(runs(app, "job")) == 1  # at once, whatever the condition says
    assert task.force_run is False  # the forced run has started
    with pytest.warns(DeprecationWarning, match="force_run") as caught:
        task.force_run = True
    assert caught[0].filename == __file__  # the warning points at the caller
    task.force_run = False  # clears the flag; as in Rocketry the run asked for still happens
    assert task.force_run is False
    run_for(app, "1 hour")
    assert len(runs(app, "job")) == 2


def test_model_dump_gives_plain_values_and_dict_is_rocketry_compatible() -> None:
    app = simulated_app("2024-01-01 10:00", config={"execution": "main"})

    @app.task(every("1 hour"), description="pull rows", timeout="5 minutes")
    def fetch() -> None:
        raise RuntimeError("down")

    task = app.session["fetch"]
    before = task.model_dump()
    assert before["status"] is None
    assert before["last_run"] is None
    run_for(app, "30 minutes")
    data = task.model_dump()
    assert data["name"] == "fetch"
    assert data["type"] == "FuncTask"
    assert data["start_cond"] == "every 1 hour"
    assert data["timeout"] == 300.0
    assert data["status"] == "fail"
    assert data["last_fail"] == runs(app, "fetch", "fail")[-1]
    assert data["description"] == "pull rows"
    json_ready = task.model_dump(mode="json")
    assert json_ready["last_run"] == data["last_run"].isoformat()
    # Rocketry-era exclusions of private fields are ignored, known keys are dropped
    legacy = task.dict(exclude={"_process", "_lock", "session", "parameters"})
    assert "parameters" not in legacy
    assert legacy["name"] == "fetch"
    assert task.model_dump(include=["name", "status"]) == {"name": "fetch", "status": "fail"}
    with pytest.raises(ValueError, match="mode"):
        task.model_dump(mode="yaml")  # type: ignore[arg-type]
    # JSON text (pydantic's model_dump_json, Rocketry's json()); an object JSON cannot hold
    # (an argument among the parameters) comes as its repr
    task.parameters["source"] = Arg("db")
    text = task.json(exclude={"session"})
    assert json.loads(text) == json.loads(task.model_dump_json(exclude={"session"}))
    assert json.loads(text)["last_run"] == data["last_run"].isoformat()
    assert json.loads(text)["parameters"] == {"source": repr(Arg("db"))}


def test_force_termination_is_terminate_by_rocketry_name() -> None:
    app = simulated_app("2024-01-01 10:00", config={"execution": "main"})

    @app.task()
    def job() -> None: ...

    task = app.session["job"]
    assert task.force_termination is False
    task.force_termination = True
    assert task.force_termination is True
    assert task.terminate_requested is True
    task.force_termination = False
    assert task.terminate_requested is False


def test_thread_terminate_parameter_gets_the_termination_flag() -> None:
    """Rocketry's convention: a function parameter named _thread_terminate_ is the flag."""
    from skylaunch.time.clock import SimulatedClock

    app = simulated_app("2024-01-01 00:00")
    clock = app.session.clock
    assert isinstance(clock, SimulatedClock)
    clock.settle_s = 0.01
    seen: list[bool] = []

    @app.task(daily, execution="thread", timeout="10 minutes")
    def slow(_thread_terminate_) -> None:  # type: ignore[no-untyped-def]
        seen.append(_thread_terminate_.wait(10))

    run_for(app, "30 minutes")
    assert seen == [True]
    assert len(runs(app, "slow", "terminate")) == 1


def test_renaming_a_task_rekeys_the_session_and_keeps_it_scheduled() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("10 minutes"))
    def fetch() -> None: ...

    @app.task(after_success(fetch))
    def store() -> None: ...

    run_for(app, "5 minutes")
    task = app.session["fetch"]
    task.name = "fetch-v2"
    assert app.session["fetch-v2"] is task
    assert "fetch" not in app.session
    assert app.session[fetch] is task  # the function follows its task
    run_for(app, "30 minutes")
    assert len(runs(app, "fetch-v2")) == 3  # the new name starts without history
    assert len(runs(app, "fetch")) == 1
    with pytest.raises(TaskDefinitionError, match="exists"):
        task.name = "store"
    with pytest.raises(TaskDefinitionError, match="non-empty"):
        task.name = ""


def test_calling_a_task_runs_it_once_with_its_parameters_and_returns_when_done() -> None:
    """Rocketry's ``task(params={...})``: one run now, whatever the start condition says."""
    from skylaunch.conds import false

    app = simulated_app()
    got: list[tuple[int, str]] = []

    @app.task(false, name="job", execution="thread")
    def job(x: int = 0, y: str = "") -> None:
        got.append((x, y))

    task = app.session["job"]
    task(params={"x": 1}, y="a")
    assert got == [(1, "a")]
    assert task.status == "success"
    assert not task.is_alive()
    task()
    assert got == [(1, "a"), (0, "")]
    assert [r.action for r in task.logger.get_records()] == ["run", "success"] * 2


def test_calling_a_task_while_the_scheduler_runs_is_refused() -> None:
    app = simulated_app()
    errors: list[str] = []

    @app.task(daily, name="inner")
    def inner() -> None:
        pass

    @app.task(daily, name="outer")
    def outer() -> None:
        try:
            app.session["inner"]()
        except RuntimeError as exc:
            errors.append(str(exc))

    run_for(app, "1 second")
    assert errors
    assert "use task.run()" in errors[0]


def test_a_subclass_defining_execute_instead_of_target_runs_execute() -> None:

    from skylaunch.tasks import Task

    app = simulated_app("2024-01-01 00:00")
    seen: list[dict[str, Any]] = []

    class Report(Task):  # Rocketry's form of a custom task
        def execute(self, **params: Any) -> str:
            seen.append(params)
            return "done"

    task = Report(name="report", session=app.session, parameters={"x": 1}, execution="main")
    task()
    assert seen == [{"x": 1}]
    assert app.session.returns["report"] == "done"

    class Nothing(Task):
        pass

    with pytest.raises(TypeError, match="abstract"):
        Nothing(name="nothing", session=app.session)  # type: ignore[abstract]


def test_delete_removes_the_task_from_its_session() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"))
    def job() -> None: ...

    app.session["job"].delete()
    assert app.session.tasks == set()


def test_a_subclass_overriding_disabled_or_start_cond_is_read_through_its_properties() -> None:
    """The scheduler reads the fields behind ``name``, ``disabled`` and ``start_cond``
    (no property call a look) only where the class keeps Task's properties; a subclass
    that overrides one is read through its own."""

    from skylaunch.conds import Condition
    from skylaunch.tasks import FuncTask, Task

    assert FuncTask.plain_fields
    app = simulated_app("2024-01-01 00:00")
    paused = [False]

    class Pausable(Task):
        @property
        def disabled(self) -> bool:
            return paused[0] or bool(self._disabled)

        @disabled.setter
        def disabled(self, value: bool) -> None:
            Task.disabled.fset(self, value)  # type: ignore[attr-defined]

        def execute(self, **params: Any) -> None:
            pass

    class Hourly(Task):
        @property
        def start_cond(self) -> Condition:
            return every("1 hour")

        @start_cond.setter
        def start_cond(self, value: Condition | str | None) -> None:
            Task.start_cond.fset(self, value)  # type: ignore[attr-defined]

        def execute(self, **params: Any) -> None:
            pass

    assert not Pausable.plain_fields
    assert not Hourly.plain_fields
    Pausable(name="pausable", session=app.session, start_cond=every("10 minutes"))
    Hourly(name="hourly", session=app.session, start_cond=every("10 minutes"))
    run_for(app, "30 minutes")
    assert len(runs(app, "pausable")) == 3  # 00:00, 00:10, 00:20
    assert len(runs(app, "hourly")) == 1  # its property's every("1 hour"), not the field's
    paused[0] = True
    app.session["pausable"].start_cond = every("10 minutes")  # a look at it again
    run_for(app, "30 minutes")
    assert len(runs(app, "pausable")) == 3  # its property says disabled: never launched


def test_a_non_condition_is_refused_after_conditions_were_accepted() -> None:
    app = App(config={"execution": "main"})
    for name in ("a", "b"):
        app.task(daily, name=name)(_noop_for_conds)
    app.task("daily", name="c")(_noop_for_conds)  # a string is still parsed
    assert app.session["c"].start_cond == daily
    with pytest.raises(TaskDefinitionError, match="must be a condition"):
        app.task(object(), name="d")(_noop_for_conds)  # type: ignore[arg-type]


def _noop_for_conds() -> None:
    pass


class _Racer:
    """Calling it starts ``target`` in another thread and gives it half a second: it runs to
    its end meanwhile (nothing keeps it out) or waits for a lock the caller holds."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.thread = threading.Thread(target=target)

    def __call__(self) -> None:
        self.thread.start()
        self.thread.join(0.5)

    def join(self) -> None:
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.mark.timeout(30)
def test_two_renames_from_two_threads_are_one_after_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by the control probes (16 threads renaming and running the same tasks): the
    # second rename looked at the old name while the first was renaming it, and then deleted
    # it again from the registry (KeyError), or set the name the registry did not key it by.
    app = simulated_app("2024-01-01 00:00")
    task = app.task("false", name="m", func=_nothing)
    task = app.session["m"]
    task.run(n=1)
    registry = app.session.registry
    rename = registry.rename
    errors: list[BaseException] = []

    def second() -> None:
        try:
            task.name = "b"
        except BaseException as exc:
            errors.append(exc)

    race = _Racer(second)

    def racing_rename(task: Any, old: str, new: str) -> None:
        monkeypatch.setattr(registry, "rename", rename)  # the second rename is a plain one
        race()
        rename(task, old, new)

    monkeypatch.setattr(registry, "rename", racing_rename)
    task.name = "a"
    race.join()
    assert errors == []
    assert task.name == "b"
    assert app.session["b"] is task
    assert registry.names() == ["b"]
    run_for(app, "1 minute")
    assert len(runs(app, "b")) == 1  # the run asked for under "m" followed both renames


@pytest.mark.timeout(30)
def test_a_run_asked_for_while_the_task_is_renamed_is_not_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # run() read the task's name, then a rename in another thread moved the task's pending
    # runs to its new name, then run() added its run under the old one: no task ran it.
    app = simulated_app("2024-01-01 00:00")
    app.task("false", name="m", func=_nothing)
    task = app.session["m"]
    scheduler = app.session.scheduler
    request_run = scheduler.request_run

    def rename() -> None:
        task.name = "renamed"

    race = _Racer(rename)

    def racing_request(name: str, params: dict[str, Any]) -> None:
        monkeypatch.setattr(scheduler, "request_run", request_run)
        race()
        request_run(name, params)

    monkeypatch.setattr(scheduler, "request_run", racing_request)
    task.run(n=1)
    race.join()
    assert task.name == "renamed"
    run_for(app, "1 minute")
    assert len(runs(app, "renamed")) == 1
    assert len(runs(app, "m")) == 0


def _nothing(n: int = 0) -> None:
    """A task body that does nothing."""


def test_a_removed_or_replaced_task_cannot_run_and_leaves_nothing_for_its_successor() -> None:
    # Found by a concurrency probe: run() on a removed task was kept under its name, and the
    # next task defined with that name ran once for it, unasked.
    app = simulated_app("2024-01-01 00:00", task_pre_exist="replace")
    calls: list[str] = []
    old = app.task(daily.at("23:00"), name="job", func=lambda: calls.append("old"))
    app.session.remove_task("job")
    with pytest.raises(TaskLookupError, match="'job' is not in its session any more"):
        old.run()
    new = app.task(daily.at("23:00"), name="job", func=lambda: calls.append("new"))
    newer = app.task(daily.at("23:00"), name="job", func=lambda: calls.append("newer"))
    with pytest.raises(TaskLookupError, match="replaced by another of its name"):
        new.run()
    with (
        pytest.warns(DeprecationWarning, match="force_run is deprecated"),
        pytest.raises(TaskLookupError, match="replaced by another of its name"),
    ):
        new.force_run = True  # Rocketry's old way of asking, the same check
    assert not new.force_run
    run_for(app, "1 hour")
    assert calls == []  # nothing was asked of the task that holds the name now
    newer.run()
    run_for(app, "1 minute")
    assert calls == ["newer"]
