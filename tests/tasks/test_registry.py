"""The task registry's order: higher priority first, then the order of definition."""

from __future__ import annotations

from skylaunch import App


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
