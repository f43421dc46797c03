"""FuncTask: what may run in a process is decided at definition, with a clear message."""

from __future__ import annotations

import functools
import threading

import pytest

from skylaunch import App
from skylaunch.args import Session
from skylaunch.exc import TaskDefinitionError
from tests.execution import _targets as t
from tests.execution.test_contract import Collector, Running, records  # noqa: F401


def test_lambda_for_process_fails_at_definition() -> None:
    app = App(config={"execution": "process"})
    with pytest.raises(
        TaskDefinitionError, match=r"task 'anon'.*lambda.*cannot be pickled.*module level"
    ):
        app.session.create_task(func=lambda: None, name="anon")


def test_closure_for_process_fails_at_definition() -> None:
    app = App()

    def local() -> None: ...

    with pytest.raises(TaskDefinitionError, match="execution='process'"):
        app.task(execution="process")(local)


def test_switching_to_process_later_is_checked_too() -> None:
    app = App(config={"execution": "thread"})

    def local() -> None: ...

    app.task()(local)
    with pytest.raises(TaskDefinitionError, match="cannot be pickled"):
        app.session["local"].execution = "process"


def test_unpicklable_callable_object_fails_at_definition() -> None:
    app = App(config={"execution": "process"})
    with pytest.raises(TaskDefinitionError, match="cannot be pickled"):
        app.session.create_task(func=functools.partial(t.add, threading.Lock()), name="p")


def test_module_level_function_is_accepted_for_process() -> None:
    app = App(config={"execution": "process"})
    task = app.session.create_task(func=t.add, name="add")
    assert task.execution == "process"


def test_unpicklable_parameter_fails_the_run_clearly(records: Collector) -> None:  # noqa: F811
    app = App(config={"execution": "process"})
    app.session.create_task(func=t.add, name="add", parameters={"x": Session(), "y": 1})
    with Running(app):
        app.session["add"].run()
        records.wait_action("add", "fail")
    text = records.of("add", "fail")[0].exc_text
    assert "cannot be sent to a process" in text  # type: ignore[operator]
    assert "Session(), Task() and TaskLogger() stay in the parent" in text  # type: ignore[operator]


def test_unpicklable_return_value_fails_in_the_child(records: Collector) -> None:  # noqa: F811
    app = App(config={"execution": "process"})
    app.session.create_task(func=t.unpicklable_result, name="lock")
    with Running(app):
        app.session["lock"].run()
        records.wait_action("lock", "fail")
    text = records.of("lock", "fail")[0].exc_text
    assert "return value of task 'lock' (lock) cannot be sent back" in text  # type: ignore[operator]


def test_parameters_read_from_code_objects_match_inspect() -> None:
    import functools

    from skylaunch.args import Return
    from skylaunch.tasks.func import _parameters

    def plain(a, /, b, c=Return("up"), *args, d, e=Return("x"), **kw):  # type: ignore[no-untyped-def]  # noqa: B008
        ...

    wanted, any_kw, defaults = _parameters(plain)
    assert wanted == {"b", "c", "d", "e"}
    assert any_kw is True
    assert defaults == {"c": Return("up"), "e": Return("x")}

    @functools.wraps(plain)
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        return plain(*args, **kwargs)

    assert _parameters(wrapped)[0] == wanted  # through inspect, following __wrapped__

    class Callable_:
        def __call__(self, x: int) -> None: ...

    assert _parameters(Callable_()) == (frozenset({"x"}), False, {})
