"""Arguments resolve at launch; missing values fail with a message naming the parameter."""

from __future__ import annotations

import logging
import threading

import pytest

from skylaunch import App
from skylaunch.args import (
    Arg,
    CliArg,
    Config,
    EnvArg,
    FuncArg,
    PipeArg,
    Private,
    Return,
    SchedulerLogger,
    Session,
    SimpleArg,
    Task,
    TaskLogger,
    TerminationFlag,
    argument,
    materialize,
)
from skylaunch.conds import after_success, every
from skylaunch.exc import TaskSetupError
from skylaunch.testing import run_for, simulated_app


def _app() -> App:
    return simulated_app("2024-01-01 00:00")


def test_simple_arg_session_arg_and_defaults() -> None:
    app = _app()
    app.params(region="eu")
    s = app.session
    assert SimpleArg(5).get_value(session=s) == 5
    assert Arg("region").get_value(session=s) == "eu"
    assert Arg("missing", default=None).get_value(session=s) is None
    with pytest.raises(KeyError, match="no session parameter 'missing'"):
        Arg("missing").get_value(session=s)


def test_session_parameter_that_is_an_argument_is_resolved() -> None:
    app = _app()
    app.params(conn=FuncArg(lambda: "connection"))
    assert Arg("conn").get_value(session=app.session) == "connection"


def test_pipe_takes_the_first_value(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    chain = EnvArg("SKYLAUNCH_TEST_X") >> Arg("x") >> SimpleArg("fallback")
    assert isinstance(chain, PipeArg)
    assert chain.get_value(session=app.session) == "fallback"
    app.params(x="from session")
    assert chain.get_value(session=app.session) == "from session"
    monkeypatch.setenv("SKYLAUNCH_TEST_X", "from env")
    assert chain.get_value(session=app.session) == "from env"
    assert repr(chain) == "EnvArg('SKYLAUNCH_TEST_X') >> Arg('x') >> SimpleArg('fallback')"


def test_pipe_without_value_names_every_attempt() -> None:
    app = _app()
    with pytest.raises(KeyError, match=r"no environment variable 'NOPE_X'.*no session parameter"):
        (EnvArg("NOPE_X") >> Arg("nope")).get_value(session=app.session)


def test_pipe_refuses_a_plain_value() -> None:
    with pytest.raises(TypeError, match="right side must be an argument"):
        Arg("x") >> "literal"  # type: ignore[operator]


def test_cli_arg_forms() -> None:
    arg = CliArg("--env", default="dev")
    arg.cli_args = ["prog", "--env", "prod"]
    assert arg.get_value() == "prod"
    arg.cli_args = ["prog", "--env=test"]
    assert arg.get_value() == "test"
    arg.cli_args = ["prog"]
    assert arg.get_value() == "dev"
    strict = CliArg("--env")
    strict.cli_args = ["prog"]
    with pytest.raises(KeyError, match="--env"):
        strict.get_value()


def test_session_task_config_and_loggers() -> None:
    app = _app()

    @app.task()
    def job() -> None: ...

    s, task = app.session, app.session["job"]
    assert Session().get_value(session=s) is s
    assert Task().get_value(session=s, task=task) is task
    assert Task("job").get_value(session=s) is task
    assert Config().get_value(session=s) is s.config
    assert TaskLogger().get_value(session=s, task=task) is task.logger
    assert SchedulerLogger().get_value(session=s) is logging.getLogger("skylaunch.scheduler")
    with pytest.raises(KeyError, match="no task being run"):
        Task().get_value(session=s)


def test_termination_flag_comes_from_the_run() -> None:
    flag = threading.Event()
    assert TerminationFlag().get_value(termination_flag=flag) is flag
    with pytest.raises(KeyError, match="no termination flag"):
        TerminationFlag().get_value()


def test_private_hides_its_value_except_from_a_task() -> None:
    app = _app()

    @app.task()
    def job() -> None: ...

    secret = Private("hunter2")
    assert repr(secret) == "Private(*****)"
    assert str(secret) == "*****"
    assert "hunter2" not in repr(secret)
    assert secret.get_value(session=app.session) == "*****"
    assert secret.get_value(session=app.session, task=app.session["job"]) == "hunter2"
    assert secret == "hunter2"


def test_argument_decorator_and_funcarg_defaults() -> None:
    app = _app()
    app.params(base=10)

    @argument()
    def plus_one(base: int = Arg("base")) -> int:  # type: ignore[assignment]
        return base + 1

    assert isinstance(plus_one, FuncArg)
    assert plus_one.get_value(session=app.session) == 11


def test_materialize_names_the_parameter() -> None:
    app = _app()

    @app.task()
    def job() -> None: ...

    with pytest.raises(KeyError, match=r"parameter 'data' = Return\('job'\): .*not returned"):
        materialize({"data": Return("job")}, session=app.session)
    with pytest.raises(KeyError, match="no task named 'nope'"):
        materialize({"data": Return("nope")}, session=app.session)
    # an unknown task is also a ValueError, what Rocketry raised
    with pytest.raises(ValueError, match="no task named 'nope'"):
        Return("nope").get_value(session=app.session)
    assert materialize({"data": Return("job", default=[])}, session=app.session) == {"data": []}


def test_pipeline_with_return_in_the_signature() -> None:
    app = _app()
    got: list[object] = []

    @app.task(every("1 hour"))
    def fetch() -> list[int]:
        return [1, 2, 3]

    @app.task(after_success("fetch"))
    def load(rows: list[int] = Return("fetch")) -> None:  # type: ignore[assignment]  # noqa: B008
        got.append(rows)

    run_for(app, "90 minutes")
    assert got == [[1, 2, 3], [1, 2, 3]]


def test_return_takes_the_task_function_as_rocketry_does() -> None:
    app = _app()
    got: list[object] = []

    @app.task(every("1 hour"))
    def fetch() -> str:
        return "Hello World"

    @app.task(after_success(fetch))
    def load(arg: str = Return(fetch)) -> None:  # type: ignore[assignment]
        got.append(arg)

    run_for(app, "30 minutes")
    assert got == ["Hello World"]
    assert Return(fetch) == Return("fetch")
    assert Return(app.session["fetch"]) == Return("fetch")
    with pytest.raises(TypeError, match="task name"):
        Return(3)


def test_app_param_function_runs_at_each_launch() -> None:
    app = _app()
    calls: list[int] = []
    seen: list[str] = []

    @app.param("conn")
    def make_conn() -> str:
        calls.append(1)
        return f"conn-{len(calls)}"

    @app.task(every("1 hour"))
    def use(conn: str) -> None:
        seen.append(conn)

    @app.task(every("1 hour"))
    def ignore() -> None: ...

    run_for(app, "150 minutes")
    assert seen == ["conn-1", "conn-2", "conn-3"]
    assert len(calls) == 3  # not called for the task that does not take it


def test_precedence_session_function_task_run() -> None:
    app = _app()
    seen: list[str] = []
    app.params(who=Arg("default_who", default="session-default"))

    @app.task(parameters={"who": "task"})
    def greet(who: str = SimpleArg("signature")) -> None:  # type: ignore[assignment]
        seen.append(who)

    @app.task()
    def bare(who: str = SimpleArg("signature")) -> None:  # type: ignore[assignment]
        seen.append(who)

    app.session["greet"].run()
    app.session["greet"].run(who="run")
    app.session["bare"].run()
    run_for(app, "1 second")
    assert sorted(seen) == ["run", "signature", "task"]  # the function's beats the session's


def test_prerun_failure_raises_unless_silenced() -> None:
    app = _app()

    @app.task()
    def needs(x: int = Arg("x")) -> None: ...  # type: ignore[assignment]

    app.session["needs"].run()
    with pytest.raises(TaskSetupError, match="parameter 'x'"):
        run_for(app, "1 second")


def test_funcarg_materialize_is_its_own_option_and_is_checked() -> None:
    """Rocketry's FuncArg(func, materialize=...): not a keyword for the function."""
    made = FuncArg(lambda: "value", materialize="pre")
    assert made.get_value() == "value"
    assert made.materialize == "pre"
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        FuncArg(lambda: None, materialize="later")  # type: ignore[arg-type]


def test_parameters_is_rocketrys_mapping_of_parameters() -> None:
    from skylaunch.args import Parameters
    from skylaunch.testing import simulated_app

    app = App(parameters=Parameters(x=1), clock=simulated_app().session.clock)
    assert app.session.parameters == Parameters({"x": 1}) == {"x": 1}
    assert Parameters(a=0) | {"b": 1} == Parameters(a=0, b=1)
    assert isinstance(Parameters(a=0) | {"b": 1}, Parameters)


def test_an_argument_failing_in_stage_fails_the_run_it_was_for() -> None:
    from typing import Any

    from skylaunch.args import BaseArgument
    from skylaunch.testing import runs

    class Staged(BaseArgument):
        def stage(self, **context: Any) -> BaseArgument:
            raise RuntimeError("cannot stage")

        def get_value(self, **context: Any) -> Any:
            return 1

    app = simulated_app("2024-01-01 00:00", silence_task_prerun=True)

    @app.task(every("1 hour"), parameters={"x": Staged()})
    def job(x: int) -> None: ...

    run_for(app, "90 minutes")
    assert len(runs(app, "job")) == 2  # each a failed run; the scheduler went on
    assert app.session["job"].status == "fail"
    assert "RuntimeError: cannot stage" in app.session["job"].logger.get_latest().exc_text


def test_arg_refers_to_an_app_param_by_its_function() -> None:
    app = simulated_app("2024-01-01 00:00")
    seen: list[str] = []

    @app.param("conn")
    def get_conn() -> str:
        return "connected"

    @app.task()
    def job(c: str = Arg(get_conn)) -> None:  # type: ignore[assignment]
        seen.append(c)

    app.session["job"].run()
    run_for(app, "1 second")
    assert seen == ["connected"]
