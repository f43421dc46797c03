"""CodeTask: a string of Python run with its parameters as globals, compiled at definition."""

from __future__ import annotations

import pickle

import pytest

import skylaunch.tasks
from skylaunch.args import Return
from skylaunch.conds import after_success
from skylaunch.exc import TaskDefinitionError
from skylaunch.tasks import CodeTask
from skylaunch.tasks.code import RunCode
from skylaunch.testing import run_for, runs, simulated_app
from tests.execution.test_contract import (  # noqa: F401
    MODES,
    Collector,
    Running,
    _celery_for_celery_mode,
    make_app,
    records,
)


def test_parameters_are_globals_and_return_value_is_the_result() -> None:
    app = simulated_app()
    app.params(secret="session parameters are not passed")
    CodeTask(
        "total = base + extra\nreturn_value = (total, 'secret' in globals())",
        name="calc",
        parameters={"base": 40},
        session=app.session,
    )
    app.session["calc"].run(extra=2)
    run_for(app, "1 minute")
    assert app.session.returns["calc"] == (42, False)


def test_output_variable_names_the_result_and_none_without_it() -> None:
    app = simulated_app()
    CodeTask(code="answer = 6 * 7", name="named", output_variable="answer", session=app.session)
    CodeTask(code="answer = 6 * 7", name="unset", session=app.session)
    app.session["named"].run()
    app.session["unset"].run()
    run_for(app, "1 minute")
    assert app.session.returns == {"named": 42, "unset": None}


def test_functions_in_the_code_see_its_parameters_and_names() -> None:
    # Rocketry ran the code with the parameters as *locals*, so a function defined in the code
    # could not see them; here the code runs like a module whose globals are the parameters.
    code = "def scaled(v):\n    return v * factor\nreturn_value = [scaled(v) for v in values]"
    run = RunCode(code, "<code of task 'f'>")
    assert run(factor=10, values=[1, 2]) == [10, 20]


def test_the_code_does_not_inherit_skylaunchs_future_imports() -> None:
    # An annotation naming something undefined fails as in a plain script.
    with pytest.raises(NameError, match="Undefined"):
        RunCode("def f(x: Undefined): ...", "<code of task 'g'>")()


def test_return_values_of_other_tasks_arrive_as_parameters() -> None:
    app = simulated_app()
    CodeTask("return_value = 21", name="up", session=app.session)
    CodeTask(
        "return_value = value * 2",
        name="down",
        parameters={"value": Return("up")},
        start_cond=after_success("up"),
        session=app.session,
    )
    app.session["up"].run()
    run_for(app, "1 minute")
    assert app.session.returns["down"] == 42


def test_a_syntax_error_fails_at_definition_naming_the_task_and_line() -> None:
    app = simulated_app()
    with pytest.raises(TaskDefinitionError) as info:
        CodeTask("x = 1\ny = (2 +\n", name="broken", session=app.session)
    message = str(info.value)
    assert "task 'broken'" in message
    assert "line 2" in message
    assert "y = (2 +" in message
    assert "broken" not in app.session.registry


def test_bad_arguments_fail_at_definition() -> None:
    app = simulated_app()
    with pytest.raises(TaskDefinitionError, match="CodeTask needs name="):
        CodeTask("x = 1", session=app.session)
    with pytest.raises(TaskDefinitionError, match=r"task 'c'.*code= as a string"):
        CodeTask(name="c", session=app.session)
    with pytest.raises(TaskDefinitionError, match=r"task 'c'.*output_variable.*'not a name'"):
        CodeTask("x = 1", name="c", output_variable="not a name", session=app.session)
    with pytest.raises(TaskDefinitionError, match=r"task 'c'.*does not compile"):
        CodeTask("x = 1\0", name="c", session=app.session)


def test_a_failure_quotes_the_failing_line_of_the_code() -> None:
    app = simulated_app()
    CodeTask("x = 1\nraise RuntimeError('no data')", name="bad", session=app.session)
    app.session["bad"].run()
    run_for(app, "1 minute")
    assert len(runs(app, "bad", "fail")) == 1
    (record,) = app.session.get_task_log(task_name="bad", action="fail")
    assert "File \"<code of task 'bad'>\", line 2" in record.exc_text
    assert "raise RuntimeError('no data')" in record.exc_text
    assert record.exc_text.rstrip().endswith("RuntimeError: no data")


def test_the_run_callable_pickles_and_the_class_loads_lazily() -> None:
    run = RunCode("return_value = n + 1", "<code of task 'p'>")
    assert pickle.loads(pickle.dumps(run))(n=1) == 2
    assert skylaunch.tasks.CodeTask is CodeTask


@pytest.mark.parametrize("mode", MODES)
def test_runs_in_every_execution_mode(mode: str, records: Collector) -> None:  # noqa: F811
    app = make_app(mode)
    CodeTask(
        "import os\nreturn_value = (n * 2, os.getpid() == parent)",
        name="code",
        parameters={"n": 21},
        session=app.session,
    )
    import os

    with Running(app):
        app.session["code"].run(parent=os.getpid())
        records.wait_action("code", "success")
    assert app.session.returns["code"] == (42, mode not in ("process", "celery"))
