"""FuncTask: what may run in a process is decided at definition, with a clear message."""

from __future__ import annotations

import functools
import inspect
import os
import pickle
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from skylaunch import App, FuncTask
from skylaunch.args import Session
from skylaunch.conds import after_success
from skylaunch.exc import TaskDefinitionError
from skylaunch.tasks.func import ImportedFunc
from skylaunch.testing import run_for, runs, simulated_app
from tests.execution import _targets as t
from tests.execution.test_contract import MODES, Collector, Running, make_app, records  # noqa: F401


def test_lambda_for_process_fails_at_definition() -> None:
    app = App()
    with pytest.raises(
        TaskDefinitionError, match=r"task 'anon'.*lambda.*cannot be pickled.*module level"
    ):
        app.session.create_task(func=lambda: None, name="anon", execution="process")


def test_process_only_from_the_config_warns_at_definition_and_fails_the_run() -> None:
    app = App(config={"execution": "process"})
    with pytest.warns(UserWarning, match=r"task 'anon'.*cannot be pickled.*runs will fail"):
        task = app.session.create_task(func=lambda: None, name="anon")
    app.session.run("anon")
    assert task.status == "fail"
    assert [r.action for r in task.logger.get_records()] == ["run", "fail"]
    assert "cannot be sent to a process" in task.logger.get_latest().exc_text


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
    app = App()
    with pytest.raises(TaskDefinitionError, match="cannot be pickled"):
        app.session.create_task(
            func=functools.partial(t.add, threading.Lock()), name="p", execution="process"
        )


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


# --- FuncTask(path=..., func_name=...): the function is imported from a file at each run -------


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _fail_text(app: App, task: str) -> str:
    (record,) = app.session.get_task_log(task_name=task, action="fail")
    return str(record.exc_text)


@pytest.mark.usefixtures("tmp_cwd")
def test_path_task_is_named_as_in_rocketry_and_imports_nothing_at_definition() -> None:
    _write(Path("jobs/report.py"), "raise RuntimeError('imported too early')\n")
    app = simulated_app()
    build = app.task("daily", path="jobs/report.py", func_name="build")
    main = app.task(path=Path("jobs/report.py"))
    assert isinstance(build, FuncTask)
    assert (build.name, main.name) == ("jobs.report:build", "jobs.report:main")
    assert build.delayed
    assert build.path == Path("jobs/report.py")
    assert build.func_name == "build"
    assert str(build.start_cond) == "daily"


def test_path_task_runs_with_its_parameters_and_argument_defaults(tmp_path: Path) -> None:
    _write(tmp_path / "helper.py", "FACTOR = 10\n")
    file = _write(
        tmp_path / "jobs.py",
        """
        from helper import FACTOR
        from skylaunch.args import Return

        def main(x, y, upstream=Return("up")):
            return (x + y) * FACTOR + upstream
        """,
    )
    app = simulated_app()
    app.params(x=1, unused="session parameters the function does not take are left out")

    @app.task()
    def up() -> int:
        return 1000

    app.task(after_success("up"), path=file, name="jobs", parameters={"y": 2})
    app.session["up"].run()
    run_for(app, "1 minute")
    assert app.session.returns["jobs"] == 1030
    # The file's folder was on sys.path only while it was imported; the module is not kept.
    assert str(tmp_path) not in sys.path
    assert "jobs" not in sys.modules
    assert "helper" in sys.modules
    sys.modules.pop("helper")


def test_path_task_imports_the_file_as_it_is_at_each_run(tmp_path: Path) -> None:
    file = _write(tmp_path / "versioned.py", "def main():\n    return 1\n")
    app = simulated_app()
    task = app.task(path=file, name="v")
    task.run()
    run_for(app, "1 minute")
    assert app.session.returns["v"] == 1
    file.write_text("def main():\n    return 2\n")
    task.run()
    run_for(app, "1 minute")
    assert app.session.returns["v"] == 2


def test_a_file_in_a_package_is_imported_under_its_package(tmp_path: Path) -> None:
    _write(tmp_path / "pkg_lazy/__init__.py", "")
    _write(tmp_path / "pkg_lazy/sub/__init__.py", "")
    _write(tmp_path / "pkg_lazy/sub/consts.py", "VALUE = 7\n")
    file = _write(
        tmp_path / "pkg_lazy/sub/job.py",
        "from .consts import VALUE\n\ndef main():\n    return (__name__, VALUE)\n",
    )
    app = simulated_app()
    app.task(path=file, name="pkg").run()
    run_for(app, "1 minute")
    assert app.session.returns["pkg"] == ("pkg_lazy.sub.job", 7)
    for name in [m for m in sys.modules if m.startswith("pkg_lazy")]:
        del sys.modules[name]


def test_a_coroutine_function_from_a_file_runs_in_main_execution(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "coro.py",
        "import asyncio\n\nasync def main(n):\n    await asyncio.sleep(0)\n    return n * 2\n",
    )
    app = simulated_app()
    app.task(path=file, name="coro", parameters={"n": 21}).run()
    run_for(app, "1 minute")
    assert app.session.returns["coro"] == 42


def test_a_missing_file_warns_at_definition_and_fails_each_run(tmp_path: Path) -> None:
    app = simulated_app()
    missing = tmp_path / "nowhere.py"
    with pytest.warns(UserWarning, match=r"task 'gone': there is no file .*nowhere\.py"):
        app.task("every 10 minutes", path=missing, func_name="build", name="gone")
    run_for(app, "25 minutes")
    assert len(runs(app, "gone", "fail")) == 3  # the scheduler kept going
    text = str(app.session.get_task_log(task_name="gone", action="fail")[0].exc_text)
    assert f"cannot import function 'build': there is no file {missing}" in text


def test_a_missing_function_or_a_broken_file_fails_the_run_naming_both(tmp_path: Path) -> None:
    ok = _write(tmp_path / "ok_mod.py", "def main():\n    return 1\nCONSTANT = 3\n")
    broken = _write(tmp_path / "broken_mod.py", "import no_such_module_here\n")
    app = simulated_app()
    app.task(path=ok, func_name="nope", name="nope").run()
    app.task(path=ok, func_name="CONSTANT", name="constant").run()
    app.task(path=broken, name="broken").run()
    run_for(app, "1 minute")
    assert f"AttributeError: {ok} has no function 'nope'" in _fail_text(app, "nope")
    assert f"'CONSTANT' in {ok} is a int, not a function" in _fail_text(app, "constant")
    text = _fail_text(app, "broken")
    assert f"cannot import function 'main': importing {broken} failed" in text
    assert "No module named 'no_such_module_here'" in text


def test_bad_path_arguments_fail_at_definition(tmp_path: Path) -> None:
    app = simulated_app()
    file = _write(tmp_path / "f.py", "def main(): ...\n")
    with pytest.raises(TaskDefinitionError, match="task 'x': give either a function or path="):
        FuncTask(t.add, path=file, name="x", session=app.session)
    with pytest.raises(TaskDefinitionError, match=r"func_name must be the name of a function"):
        app.task(path=file, func_name="not a name")
    with pytest.raises(TaskDefinitionError, match="FuncTask needs a callable"):
        FuncTask(42, session=app.session, name="nothing")  # type: ignore[arg-type]


def test_functask_without_a_function_is_a_decorator_as_in_rocketry() -> None:
    app = simulated_app()

    @FuncTask(start_cond="daily", name="report", execution="main", session=app.session)
    def build() -> int:
        return 7

    assert callable(build)
    assert build() == 7  # the function comes back, as Rocketry gave it back
    assert app.session["report"].func is build
    assert app.session[build] is app.session["report"]
    run_for(app, "1 minute")
    assert app.session.returns["report"] == 7
    with pytest.raises(TaskDefinitionError, match="needs a callable"):
        FuncTask(name="x", session=app.session)(42)  # type: ignore[arg-type]
    # once it has decorated, the decorator reads as its task (Rocketry's decorator was the task)
    task = FuncTask(name="documented", session=app.session)
    with pytest.raises(AttributeError, match="made no task yet"):
        _ = task.description

    @task
    def documented() -> None:
        "Refresh the cache."

    assert task.description == "Refresh the cache."
    assert task.name == "documented"
    assert app.session["documented"].description == "Refresh the cache."
    # a description given wins over the docstring; lambdas and callable objects have none
    assert (
        FuncTask(documented, name="told", description="Told", session=app.session).description
        == "Told"
    )
    assert FuncTask(lambda: None, name="anon", session=app.session).description is None


def test_callable_objects_are_named_after_their_class_lambdas_as_lambda() -> None:
    app = simulated_app()

    class Loader:
        def __call__(self) -> None: ...

    assert FuncTask(Loader(), session=app.session).name == "Loader"
    assert FuncTask(lambda: None, session=app.session).name == "<lambda>"  # as in Rocketry
    with pytest.raises(TaskDefinitionError, match="exists already"):
        FuncTask(lambda: None, session=app.session)  # a second one needs a name=
    with pytest.raises(TaskDefinitionError, match="a partial has no name"):
        FuncTask(functools.partial(t.add, 1), session=app.session)


def test_func_is_none_for_a_path_task_and_can_be_swapped_on_a_function_task(
    tmp_path: Path,
) -> None:
    file = _write(tmp_path / "later.py", "def main():\n    return 'from file'\n")
    app = simulated_app()
    lazy = app.task(path=file, name="lazy", execution="main")
    assert lazy.func is None  # as Rocketry: imported from the file at each run
    assert lazy.delayed
    with pytest.raises(TaskDefinitionError, match="path="):
        lazy.func = t.add

    def first() -> str:
        return "first"

    def second(x: int = 2) -> int:
        return x

    task = app.task("daily", func=first, name="swap", execution="main")
    assert task.func is first
    task.func = second  # its arguments and task references follow the new function
    assert task.func is second
    assert app.session[second] is task
    with pytest.raises(TaskDefinitionError, match="needs a callable"):
        task.func = 42  # type: ignore[assignment]
    # a function the task's explicit execution cannot take is refused and nothing changes
    sent = app.task("daily", func=t.add, name="sent", execution="process")
    with pytest.raises(TaskDefinitionError, match="cannot be pickled"):
        sent.func = lambda: None
    assert sent.func is t.add
    run_for(app, "1 minute")
    assert app.session.returns["swap"] == 2


def test_the_imported_function_pickles_as_its_file_and_name(tmp_path: Path) -> None:
    file = _write(tmp_path / "pick.py", "def main(a, **rest):\n    return (a, sorted(rest))\n")
    loader = ImportedFunc(str(file), "main")
    assert pickle.loads(pickle.dumps(loader)) == loader
    assert loader(a=1, b=2) == (1, ["b"])


# not "celery": the file exists on the scheduler's machine only (a worker imports by module path)
@pytest.mark.parametrize("mode", [m for m in MODES if m != "celery"])
def test_a_path_task_runs_in_every_execution_mode(
    mode: str,
    tmp_path: Path,
    records: Collector,  # noqa: F811
) -> None:
    file = _write(
        tmp_path / f"mode_{mode}.py", "import os\n\ndef main(n):\n    return n, os.getpid()\n"
    )
    app = make_app(mode)
    app.task(path=file, name="lazy", parameters={"n": 5})
    with Running(app):
        app.session["lazy"].run()
        records.wait_action("lazy", "success")
    n, pid = app.session.returns["lazy"]
    assert n == 5
    assert (pid == os.getpid()) == (mode != "process")


def test_is_delayed_as_in_rocketry(tmp_path: Path) -> None:
    app = simulated_app()
    file = _write(tmp_path / "job.py", "def main(): ...\n")
    assert app.task(path=file, name="lazy").is_delayed()
    assert not FuncTask(t.add, name="now", session=app.session).is_delayed()


def test_permanent_task_is_deprecated_as_in_rocketry() -> None:
    app = simulated_app()
    with pytest.warns(DeprecationWarning, match="permanent="):
        task = FuncTask(t.add, name="p", permanent_task=True, session=app.session)
    assert task.permanent


def test_a_coroutine_function_given_main_execution_runs_as_async() -> None:
    app = simulated_app("2024-01-01 00:00")

    async def fetch() -> int:
        return 3

    task = FuncTask(fetch, name="fetch", execution="main", session=app.session)
    assert task.execution == "async"
    task()
    assert app.session.returns["fetch"] == 3


async def _coroutine() -> None:
    pass


def _marked() -> None:
    pass


_marked.note = "an attribute of its own"  # type: ignore[attr-defined]


class _Callable:
    async def __call__(self) -> None:
        pass

    async def method(self) -> None:
        pass


@pytest.mark.parametrize(
    "func",
    [
        _coroutine,
        _marked,
        lambda: None,
        functools.partial(_coroutine),
        _Callable(),
        _Callable().method,
        functools.wraps(_coroutine)(lambda: None),
        print,
    ],
    ids=repr,
)
def test_a_task_is_async_exactly_when_inspect_says_its_function_is(func: Any) -> None:
    app = App(config={"execution": "main"})
    task = app.task(name="job", func=func)
    assert task.is_async is inspect.iscoroutinefunction(func)
