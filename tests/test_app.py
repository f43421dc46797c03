from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skylaunch import App, CommandTask, FuncTask
from skylaunch.args import Session as SessionArg
from skylaunch.args import Task as TaskArg
from skylaunch.conds import Condition, condition, daily, every
from skylaunch.exc import TaskDefinitionError, TaskLookupError, TaskSetupError
from skylaunch.testing import run_for, runs, simulated_app


def test_task_decorator_registers_and_returns_the_function() -> None:
    app = App(config={"execution": "main"})

    @app.task("daily between 10:00 and 12:00")
    def report() -> int:
        return 1

    assert report() == 1
    task = app.session["report"]
    assert isinstance(task, FuncTask)
    assert task.start_cond == daily.between("10:00", "12:00")
    assert app.session[report] is task
    assert "report" in app.session
    assert task in app.session.tasks


def test_task_with_func_creates_the_task_without_decorating() -> None:
    """Rocketry's non-decorator form: app.task("daily", func=f) (it made no task before)."""
    app = simulated_app("2024-01-01 09:00", config={"execution": "main"})
    calls: list[int] = []

    def report() -> None:
        calls.append(1)

    task = app.task("daily", func=report, name="daily-report")
    assert isinstance(task, FuncTask)
    assert app.session["daily-report"] is task
    run_for(app, "1 day 12 hours")
    assert len(runs(app, "daily-report", "success")) == 2
    assert len(calls) == 2


def test_task_refuses_two_of_func_command_path() -> None:
    app = App()
    with pytest.raises(TaskDefinitionError, match="one of command=, path= and func="):
        app.task("daily", func=print, command="echo hi")  # type: ignore[call-overload]
    with pytest.raises(TaskDefinitionError, match="needs a callable"):
        app.task("daily", func=42)  # type: ignore[call-overload]


def test_bare_decorator_is_a_clear_error() -> None:
    app = App()
    with pytest.raises(TypeError, match="parentheses"):

        @app.task  # type: ignore[arg-type]
        def oops() -> None: ...


def test_unknown_task_lookup_lists_known_tasks() -> None:
    app = App()

    @app.task()
    def known() -> None: ...

    with pytest.raises(TaskLookupError, match=r"'unknown'.*'known'"):
        app.session["unknown"]


def test_duplicate_names_follow_task_pre_exist() -> None:
    app = App()

    @app.task()
    def dup() -> None: ...

    with pytest.raises(TaskDefinitionError, match="exists already"):
        app.task(name="dup")(lambda: None)

    app.session.config.task_pre_exist = "rename"
    app.task(name="dup")(lambda: None)
    assert "dup - 1" in app.session


def test_bad_start_cond_fails_at_definition() -> None:
    app = App()
    with pytest.raises(ValueError, match="position 6"):

        @app.task("daily betwen 10:00 and 12:00")
        def job() -> None: ...

    with pytest.raises(TaskDefinitionError, match="start_cond"):
        app.task(42)(lambda: None)  # type: ignore[arg-type]


def test_bad_execution_and_timeout_fail_at_definition() -> None:
    app = App()
    with pytest.raises(TaskDefinitionError, match="execution"):
        app.task(name="x", execution="fast")(lambda: None)
    with pytest.raises(TaskDefinitionError, match="timeout"):
        app.task(name="y", timeout="soonish")(lambda: None)


def test_coroutine_in_main_runs_as_async() -> None:
    app = App()

    async def coro() -> None: ...

    app.task(execution="main")(coro)
    assert app.session["coro"].execution == "async"


def test_custom_condition_by_name() -> None:
    app = simulated_app("2024-01-01 00:00")
    flag = {"on": False}

    @app.cond("is_on")
    def is_on() -> bool:
        return flag["on"]

    @app.task("is_on & daily")
    def job() -> None: ...

    run_for(app, "1 second")
    assert runs(app, "job") == []
    flag["on"] = True
    run_for(app, "1 second")
    assert len(runs(app, "job")) == 1


def test_app_cond_returns_the_condition_and_takes_arguments() -> None:
    app = simulated_app("2024-01-01 00:00")
    present = {"data.csv"}

    @app.cond()
    def is_on() -> bool:
        return True

    @app.cond()
    def file_exists(file: str) -> bool:
        return file in present

    assert isinstance(is_on, Condition)

    @app.task(daily & is_on & file_exists("data.csv"))
    def job() -> None: ...

    @app.task(daily & file_exists(file="missing.csv"))
    def never() -> None: ...

    run_for(app, "1 second")
    assert len(runs(app, "job")) == 1
    assert runs(app, "never") == []
    assert file_exists("data.csv") == file_exists("data.csv")
    assert file_exists("data.csv") != file_exists("other.csv")
    # printed with its arguments, not as a bare name that would parse back without them
    assert str(file_exists("data.csv")) == "file_exists('data.csv')"
    assert str(file_exists(file="x")) == "file_exists(file='x')"
    assert str(is_on) == "is_on"


def test_app_cond_fills_argument_defaults_with_the_task_checked() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.cond()
    def is_right_task(this_task: Any = TaskArg()) -> bool:  # noqa: B008
        return bool(this_task.name.startswith("do_"))

    @app.task(daily & is_right_task)
    def do_things() -> None: ...

    @app.task(daily & is_right_task)
    def other() -> None: ...

    run_for(app, "1 second")
    assert len(runs(app, "do_things")) == 1
    assert runs(app, "other") == []


def test_condition_decorator_form() -> None:
    app = simulated_app("2024-01-01 00:00")

    @condition()
    def is_ready(flag: bool = True) -> bool:
        return flag

    assert isinstance(is_ready, Condition)
    assert str(is_ready) == "is_ready"

    @app.task(daily & is_ready)
    def job() -> None: ...

    run_for(app, "1 second")
    assert len(runs(app, "job")) == 1


def test_session_parameters_are_passed_by_name() -> None:
    app = simulated_app("2024-01-01 00:00")
    app.params(greeting="hello", unused=1)
    seen: list[str] = []

    @app.task(daily)
    def greet(greeting: str) -> None:
        seen.append(greeting)

    run_for(app, "1 second")
    assert seen == ["hello"]


def test_setup_hook_runs_at_start() -> None:
    app = simulated_app("2024-01-01 00:00")
    calls: list[str] = []

    @app.setup()
    def prepare() -> None:
        calls.append("setup")

    run_for(app, "1 second")
    assert calls == ["setup"]


def test_remove_task() -> None:
    app = App()

    @app.task()
    def gone() -> None: ...

    app.session.remove_task("gone")
    assert "gone" not in app.session
    with pytest.raises(TaskLookupError):
        app.session.remove_task("gone")


# --- hooks and command tasks (execution/lifecycle, issue 5) ----------------------------------
def test_lifecycle_hooks_run_in_order() -> None:
    app = simulated_app("2024-01-01 00:00")
    events: list[str] = []

    @app.setup()
    def prepare(session: Any = SessionArg()) -> Any:  # noqa: B008
        events.append(f"setup ({type(session).__name__})")
        yield
        events.append("setup, after the start-up tasks")  # as in Rocketry

    @app.startup()
    def started() -> None:
        events.append("startup")

    @app.before_run()
    def before(task: Any) -> None:
        events.append(f"before {task.name}")

    @app.after_run()
    def after(task: Any, outcome: Any) -> None:
        events.append(f"after {task.name}: {outcome.action} {outcome.value}")

    @app.shutdown()
    def stopped() -> None:
        events.append("shutdown")

    @app.task(every("1 hour"))
    def job() -> int:
        events.append("job")
        return 1

    run_for(app, "30 minutes")
    assert events == [
        "setup (Session)",
        "startup",
        "setup, after the start-up tasks",
        "before job",
        "job",
        "after job: success 1",
        "shutdown",
    ]


def test_failing_before_run_hook_is_a_prerun_failure(caplog: Any) -> None:
    app = simulated_app("2024-01-01 00:00", silence_task_prerun=True)

    @app.before_run()
    def refuse(task: Any) -> None:
        raise RuntimeError(f"not now, {task.name}")

    @app.task(every("1 hour"))
    def job() -> None: ...

    run_for(app, "30 minutes")
    assert len(runs(app, "job")) == 1  # recorded as a failed run, the scheduler goes on
    assert app.session["job"].status == "fail"
    assert "not now, job" in caplog.text

    strict = simulated_app("2024-01-01 00:00")
    strict.before_run()(refuse)
    strict.task(every("1 hour"))(job)
    with pytest.raises(TaskSetupError, match="not now, job"):
        run_for(strict, "30 minutes")


def test_failing_after_run_hook_is_logged_and_ignored(caplog: Any) -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.after_run()
    def broken(task: Any, outcome: Any) -> None:
        raise RuntimeError("hook bug")

    @app.task(every("1 hour"))
    def job() -> None: ...

    run_for(app, "90 minutes")
    assert len(runs(app, "job", "success")) == 2
    assert "after-run hook 'broken' failed for task 'job'" in caplog.text


def test_app_task_with_command_creates_a_command_task() -> None:
    app = App()
    task = app.task("daily", command=["echo", "hi"], name="say")
    assert isinstance(task, CommandTask)
    assert app.session["say"] is task


def test_app_task_with_path_creates_a_lazy_func_task(tmp_path: Path) -> None:
    file = tmp_path / "lazy_job.py"
    file.write_text("def build(n):\n    return n + 1\n")
    app = simulated_app()
    task = app.task(every("1 hour"), path=file, func_name="build", parameters={"n": 1})
    assert isinstance(task, FuncTask)
    assert task.delayed
    assert app.session[task.name] is task
    assert task.name.endswith("lazy_job:build")
    run_for(app, "1 minute")
    assert app.session.returns[task.name] == 2


def test_app_task_with_code_points_to_code_task() -> None:
    app = App()
    with pytest.raises(TaskDefinitionError, match=r"no code=.*CodeTask\(code, name="):
        app.task("daily", code="x = 1", name="c")


def test_a_renamed_task_logs_under_its_new_name() -> None:
    app = App(config={"task_pre_exist": "rename"})
    app.task(name="dup")(lambda: None)
    second = app.task(name="dup", command="true")
    assert second.name == "dup - 1"
    assert second.logger.task_name == "dup - 1"
    assert second.logger.extra == {"task_name": "dup - 1"}


def test_grouper_prefixes_names_and_combines_conditions() -> None:
    from skylaunch import Grouper
    from skylaunch.conds import time_of_day

    group = Grouper(prefix="etl.", start_cond=time_of_day.after("10:00"), execution="main")

    @group.task("daily")
    def load() -> None: ...

    @group.task(name="clean")  # no condition of its own: the group's alone
    def cleanup() -> None: ...

    app = simulated_app("2024-01-01 00:00")
    assert "etl.load" not in app.session
    app.include_grouper(group)
    task = app.session["etl.load"]
    assert task.start_cond == daily & time_of_day.after("10:00")  # own first, as Rocketry
    assert task.execution == "main"
    assert app.session["etl.clean"].start_cond == time_of_day.after("10:00")
    app.session["etl.clean"].disabled = True  # a bare window would run back to back
    run_for(app, "1 day")
    assert [t.hour for t in runs(app, "etl.load")] == [10]
    with pytest.raises(TypeError, match="parentheses"):
        group.task(cleanup)  # type: ignore[arg-type]


def test_session_run_runs_the_named_tasks_once_and_returns() -> None:
    app = simulated_app("2024-01-01 00:00")
    calls: list[str] = []

    @app.task("false")
    def do_things() -> None:
        calls.append("do_things")

    @app.task("true")
    def other() -> None:
        calls.append("other")

    app.session.run("do_things")
    assert calls == ["do_things"]
    assert app.session["other"].disabled is False  # restored afterwards
    assert app.session.config.shut_cond is None
    with pytest.raises(TaskLookupError):
        app.session.run("nope")
    with pytest.raises(ValueError, match="names"):
        app.session.run()


def test_session_run_can_obey_the_condition() -> None:
    """As in Rocketry: one pass; the task runs if its condition holds then (it waited forever
    for a condition that never held)."""
    app = simulated_app("2024-01-01 00:00")

    @app.task("daily at 10:00")
    def report() -> None: ...

    @app.task("daily")
    def other() -> None: ...

    app.session.run("report", obey_cond=True)
    assert runs(app, "report") == []
    assert app.session.clock.now().hour == 0  # returned at once, no waiting for 10:00
    app.session.run("other", obey_cond=True)
    assert len(runs(app, "other")) == 1
    assert runs(app, "report") == []


def test_grouper_cond_param_and_params_reach_the_app_when_included() -> None:
    from skylaunch import Grouper

    group = Grouper(execution="main")
    seen: list[tuple[str, int]] = []

    @group.cond("is ready")
    def is_ready() -> bool:
        return True

    @group.param("batch")
    def make_batch() -> int:
        return 5

    group.params(mode="full")

    @group.task("daily & is ready")
    def load(batch: int, mode: str) -> None:
        seen.append((mode, batch))

    app = simulated_app("2024-01-01 00:00")
    app.include_grouper(group)
    assert app.session.cond_names["is ready"] is is_ready
    run_for(app, "1 hour")
    assert seen == [("full", 5)]


def test_app_parameters_and_session_env() -> None:
    from skylaunch.conds import is_env

    app = App(parameters={"x": 1}, clock=simulated_app().session.clock)
    assert app.session.parameters["x"] == 1
    app.session.env = "prod"
    assert app.session.parameters["env"] == "prod"
    assert app.session.env == "prod"
    assert is_env("prod").observe(session=app.session)


def test_returns_are_read_by_name_task_or_function() -> None:
    app = simulated_app()

    @app.task(execution="main", name="fetch_data")
    def fetch() -> int:
        return 3

    app.session["fetch_data"].run()
    run_for(app, "1 second")
    task = app.session["fetch_data"]
    assert app.session.returns["fetch_data"] == app.session.returns[task] == 3
    assert app.session.returns[fetch] == 3
    assert task in app.session.returns
    assert app.session.returns.get(fetch) == 3


def test_set_logger_is_deprecated_as_in_rocketry() -> None:
    import logging

    app = simulated_app()
    seen: list[logging.Logger] = []
    with pytest.warns(DeprecationWarning, match="set_logger"):

        @app.set_logger()
        def configure(logger: logging.Logger) -> None:
            seen.append(logger)

    assert seen == [logging.getLogger("skylaunch.task")]


def test_setup_registers_a_function_given_directly() -> None:
    app = simulated_app("2024-01-01 00:00")
    calls: list[str] = []

    def prepare() -> None:
        calls.append("setup")

    assert app.setup(prepare) is prepare
    run_for(app, "1 minute")
    assert calls == ["setup"]
