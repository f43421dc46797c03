"""The task registry's order: higher priority first, then the order of definition."""

from __future__ import annotations

import threading

import pytest

from skylaunch import App
from skylaunch.exc import TaskLookupError
from skylaunch.tasks.func import FuncTask


def _names(app: App) -> list[str]:
    return [task.name for task in app.session.registry.in_order()]


def _job() -> None:
    pass


def test_priority_first_then_definition_order_also_after_removals_and_renames() -> None:
    app = App(config={"execution": "main"})
    for name, priority in [("a", 0), ("b", 2), ("c", 1), ("d", 2), ("e", 0)]:
        app.task(name=name, priority=priority)(_job)
    assert _names(app) == ["b", "d", "c", "a", "e"]

    app.session.registry.remove("b")
    assert _names(app) == ["d", "c", "a", "e"]
    app.task(name="b", priority=2)(_job)  # back under its old name: in its old place
    assert _names(app) == ["b", "d", "c", "a", "e"]

    app.session["a"].name = "z"  # renamed: in its place still
    assert _names(app) == ["b", "d", "c", "z", "e"]
    app.task(name="f", priority=0)(_job)
    assert _names(app) == ["b", "d", "c", "z", "e", "f"]


def test_a_priority_changed_before_the_order_is_read_counts() -> None:
    app = App(config={"execution": "main"})
    for name in ["a", "b", "c"]:
        app.task(name=name)(_job)
    app.session["c"].priority = 5
    app.session["a"].priority = -1
    assert _names(app) == ["c", "b", "a"]


def test_a_task_renamed_on_arrival_into_a_removed_name_takes_that_names_place() -> None:
    app = App(config={"execution": "main", "task_pre_exist": "rename"})
    for name in ["b", "b - 1", "c"]:
        app.task(name=name)(_job)
    app.session.registry.remove("b - 1")
    app.task(name="b")(_job)  # taken: renamed "b - 1", the name defined second
    assert _names(app) == ["b", "b - 1", "c"]


def test_a_priority_changed_after_the_order_was_read_reorders_the_tasks() -> None:
    """The order is kept between passes; a new priority sorts it again (it was kept as it
    was: a task raised to 9 after the first pass still ran last)."""
    app = App(config={"execution": "main"})
    for name in ["a", "b", "c"]:
        app.task(name=name)(_job)
    assert _names(app) == ["a", "b", "c"]
    app.session["c"].priority = 9
    assert _names(app) == ["c", "a", "b"]
    app.session["c"].priority = "-1"  # type: ignore[assignment]  # a whole number, as at definition
    assert _names(app) == ["a", "b", "c"]
    assert app.session["c"].priority == -1


def test_a_priority_that_is_no_whole_number_is_refused_with_the_task_name() -> None:
    import pytest

    from skylaunch.exc import TaskDefinitionError

    app = App(config={"execution": "main"})
    app.task(name="a")(_job)
    with pytest.raises(TaskDefinitionError, match="task 'a': priority must be a whole number"):
        app.session["a"].priority = "high"  # type: ignore[assignment]
    assert app.session["a"].priority == 0
    with pytest.raises(TaskDefinitionError, match="priority must be a whole number"):
        app.task(name="b", priority="high")(_job)  # type: ignore[arg-type]


@pytest.mark.timeout(30)
def test_two_threads_defining_one_name_with_rename_keep_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by the control probes (16 threads defining "dup" at once, task_pre_exist="rename"):
    # two definitions chose the same free name "dup - 1" and the second replaced the first in
    # the registry, silently: the first task was gone.
    app = App(config={"execution": "main", "task_pre_exist": "rename"})
    app.task(name="dup")(_job)
    check_name = FuncTask._check_name
    racer = threading.Thread(target=lambda: app.task(name="dup")(_job))

    def racing_check(task: FuncTask, name: object) -> str:
        if name == "dup - 1" and not racer.is_alive() and racer.ident is None:
            # the first one chose "dup - 1": another definition of "dup" comes meanwhile (or
            # waits for the registry's lock)
            racer.start()
            racer.join(0.5)
        return check_name(task, name)

    monkeypatch.setattr(FuncTask, "_check_name", racing_check)
    app.task(name="dup")(_job)
    racer.join(5)
    assert sorted(app.session.registry.names()) == ["dup", "dup - 1", "dup - 2"]


@pytest.mark.timeout(30)
def test_two_threads_removing_one_task_one_removes_it_the_other_is_told_it_is_gone() -> None:
    # Both looked for the task before either removed it: the second raised KeyError.
    app = App(config={"execution": "main"})
    app.task(name="job")(_job)
    registry = app.session.registry
    errors: list[BaseException] = []

    def remove() -> None:
        try:
            registry.remove("job")
        except BaseException as exc:
            errors.append(exc)

    removers = [threading.Thread(target=remove) for _ in range(2)]
    with registry._lock:  # both come as far as they can while the registry is busy
        for thread in removers:
            thread.start()
        for thread in removers:
            thread.join(0.5)
    for thread in removers:
        thread.join(5)
    assert [type(exc) for exc in errors] == [TaskLookupError]
    assert "job" not in app.session
