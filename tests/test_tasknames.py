"""A task may be referred to by its name, the task, or the function it was made from."""

from __future__ import annotations

import pytest

from skylaunch import App
from skylaunch._tasknames import task_name
from skylaunch.args import Return
from skylaunch.conds import TaskStarted, after_success, running
from skylaunch.conds.status import TaskFailed, TaskRunning
from skylaunch.conds.task import DependSuccess
from skylaunch.testing import run_for, runs, simulated_app


def test_a_function_given_to_a_condition_names_its_task_not_itself() -> None:
    """A pipeline whose tasks have name= runs (it never ran: conditions looked up __name__)."""
    app = simulated_app("2024-01-01 00:00", config={"execution": "main"})
    got: list[object] = []

    @app.task("every 10 seconds", name="fetch-rows")
    def fetch() -> list[int]:
        return [1, 2]

    @app.task(after_success(fetch), name="store-rows")
    def store(rows: list[int] = Return(fetch)) -> None:  # type: ignore[assignment]  # noqa: B008
        got.append(rows)

    @app.task(after_success(store) & ~running(store), name="audit")
    def audit() -> None: ...

    assert app.session[fetch].name == "fetch-rows"
    assert app.session[store].name == "store-rows"
    run_for(app, "35 seconds")
    assert len(runs(app, "fetch-rows", "success")) == 4
    assert len(runs(app, "store-rows", "success")) == 4
    assert got == [[1, 2]] * 4
    assert len(runs(app, "audit", "success")) == 4


def test_condition_classes_resolve_tasks_and_functions() -> None:
    app = App()

    @app.task(name="real-name")
    def job() -> None: ...

    task = app.session["real-name"]
    assert TaskStarted(task=job).task == "real-name"
    assert TaskFailed(task=task).task == "real-name"
    assert TaskRunning(task=job).task == "real-name"
    assert DependSuccess(depend_task=job, task=job).depend_task == "real-name"  # type: ignore[arg-type]
    assert TaskStarted(task=job) == TaskStarted(task="real-name")
    with pytest.raises(TypeError, match="task name"):
        TaskStarted(task=42)  # type: ignore[arg-type]


def test_a_function_of_two_tasks_with_different_names_is_ambiguous() -> None:
    def shared() -> None: ...

    App().task(func=shared, name="one")
    App().task(func=shared, name="two")
    with pytest.raises(TypeError, match="several tasks"):
        task_name(shared)
    assert task_name("one") == "one"


def test_a_function_not_yet_made_a_task_goes_by_its_own_name() -> None:
    def later() -> None: ...

    assert task_name(later) == "later"
    assert after_success(later) == after_success("later")
