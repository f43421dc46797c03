"""Rarely used parts load on first use, so ``import skylaunch`` stays cheap (bench W5)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY = [
    "ast",  # with inspect
    "calendar",  # months' names and lengths load on first use (skylaunch.time.cycles)
    "celery",
    "copy",  # the log handler copies a user's record only when it writes one
    "dataclasses",  # the import-time value classes are written out (skylaunch._frozen)
    "decimal",  # durations with a fraction ("1.5 hours") only; "1 day" is read as an int
    "dis",  # with inspect
    "inspect",  # signatures of callables that are not plain functions, docstrings, hooks
    "json",  # only Task.model_dump_json writes JSON
    "multiprocessing",
    "pydantic",
    "skylaunch.control",
    "skylaunch.execution.async_",
    "skylaunch.execution.celery",
    "skylaunch.execution.celery_worker",
    "skylaunch.execution.process",
    "skylaunch.execution.thread",
    "skylaunch.log.outputs.file",
    "skylaunch.log.repos.csv",
    "skylaunch.tasks.code",
    "skylaunch.tasks.command",
    "skylaunch.tasks.maintain",
    "signal",  # the stop signals' handlers are set when the scheduler starts
    "sqlalchemy",
]

PROBE = f"""
import sys
from skylaunch import App
from skylaunch.conds import daily, every

app = App(config={{"execution": "main"}})
app.task(daily.at("03:00"), name="t")(lambda: None)
app.task(every("1 day"), name="u")(lambda: None)
app.session.executor("main")
print(",".join(m for m in {LAZY!r} if m in sys.modules))
"""


def _printed_by(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (nothing imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return done.stdout.rstrip("\n")


def test_defining_main_tasks_loads_none_of_the_rare_modules() -> None:
    out = _printed_by(PROBE)
    assert out == "", f"loaded eagerly: {out}"


def test_the_lazy_names_still_resolve() -> None:
    import skylaunch
    import skylaunch.execution
    import skylaunch.log
    import skylaunch.log.repos
    import skylaunch.tasks
    from skylaunch.execution.process import ProcessExecutor
    from skylaunch.log.repos.csv import CSVFileRepo
    from skylaunch.tasks.code import CodeTask
    from skylaunch.tasks.command import CommandTask

    assert skylaunch.CommandTask is CommandTask
    assert skylaunch.tasks.CommandTask is CommandTask
    assert skylaunch.tasks.CodeTask is CodeTask
    assert skylaunch.execution.ProcessExecutor is ProcessExecutor
    assert skylaunch.log.CSVFileRepo is CSVFileRepo
    assert skylaunch.log.repos.CSVFileRepo is CSVFileRepo


@pytest.mark.parametrize(
    "module", ["skylaunch", "skylaunch.execution", "skylaunch.log.repos", "skylaunch.tasks"]
)
def test_an_unknown_name_is_still_an_attribute_error(module: str) -> None:
    with pytest.raises(AttributeError, match="NoSuchName"):
        importlib.import_module(module).NoSuchName  # noqa: B018


def test_each_executor_is_made_on_first_use() -> None:
    from skylaunch import App
    from skylaunch.execution import ThreadExecutor

    app = App()
    assert "thread" not in app.session.executors
    executor = app.session.executor("thread")
    assert isinstance(executor, ThreadExecutor)
    assert app.session.executor("thread") is executor


FIRST_PASS = """
import sys
from skylaunch import App
from skylaunch.conds import daily, every
from skylaunch.log import records

app = App(config={"execution": "main"})
app.task(daily.at("03:00"), name="t")(lambda: None)

@app.task(every("1 day"), name="marker")
def marker():
    app.session.shut_down()

app.run()
print(",".join(n for n in records.__all__ if n != "Action" and getattr(records, n).__pydantic_complete__))
tokenize = sys.modules.get("tokenize")
print(tokenize is not None and tokenize._compile.cache_info().currsize)
"""


def test_the_record_models_are_built_on_first_use_not_by_import_or_the_first_pass() -> None:
    built, _ = _printed_by(FIRST_PASS).split("\n")
    assert built == "", f"built without being used: {built}"


def test_a_cold_start_does_not_compile_tokenize_for_a_builtins_signature() -> None:
    # inspect.signature(list) parses a text signature with tokenize, whose first use
    # compiles its regular expressions: pydantic reads each default_factory's signature
    _, compiled = _printed_by(FIRST_PASS).split("\n")
    assert compiled in ("False", "0"), "tokenize's regular expressions were compiled"


NO_PYDANTIC = """
import sys
from skylaunch import App
from skylaunch.conds import daily, every

app = App(config={"execution": "main", "timeout": "10 minutes", "timezone": "UTC"})
app.task(daily.at("03:00"), name="t")(lambda: None)

@app.task(every("1 day"), name="marker")
def marker():
    app.session.shut_down()

app.run()
assert app.session.get_task("marker").status == "success", app.session.get_task("marker").status
deferred = (
    "pydantic", "pydantic_core", "skylaunch.conds.parse", "skylaunch.conds.task",
    "skylaunch.conds.params", "skylaunch.time.cron", "pathlib", "pickle", "typing_extensions",
    "skylaunch.conds.status", "skylaunch.conds.scheduler", "secrets", "hashlib", "hmac",
    "skylaunch.time.combine", "skylaunch.log.adapter", "skylaunch.log._restore",
)
print(",".join(m for m in sys.modules if m in deferred or m.split(".")[0] in deferred))
"""


def test_a_first_pass_with_the_default_repo_does_not_import_pydantic() -> None:
    # the config checks its usual values by hand, the default repo names TaskRunRecord without
    # importing it, and the lifecycle records are stored as plain fields; no condition string
    # is parsed (no grammar), no task names a file (no pathlib) or must pickle (no pickle); no
    # two periods are combined (time.combine), no task logs by hand (log.adapter), the memory
    # repo has no stored history to read back (log._restore)
    out = _printed_by(NO_PYDANTIC)
    assert out == "", f"loaded: {out}"


def test_the_deferred_names_still_resolve_and_work() -> None:
    import skylaunch.conds
    from skylaunch.conds.parse import parse_condition, parse_time
    from skylaunch.testing import simulated_app

    assert skylaunch.conds.parse_condition is parse_condition
    assert skylaunch.conds.parse_time is parse_time
    from skylaunch.conds.params import IsEnv
    from skylaunch.conds.task import DependSuccess, Retry
    from skylaunch.time.cron import CronExpr

    assert skylaunch.conds.retry is skylaunch.conds.retry
    assert skylaunch.conds.retry == Retry(None)
    assert skylaunch.conds.after_success("a") == DependSuccess("a")
    assert skylaunch.conds.is_env("prod") == IsEnv("prod")
    assert skylaunch.time.CronExpr is CronExpr
    from skylaunch.time import combine

    assert skylaunch.time.All is combine.All
    assert skylaunch.time.Any is combine.Any
    from skylaunch.log.adapter import TaskAdapter

    assert isinstance(simulated_app().task(name="t", func=lambda: None).logger, TaskAdapter)
    app = simulated_app()
    assert app.session.grammar is app.session.grammar
    assert app.session.grammar.parse("true") == skylaunch.conds.true
    # the task-status and scheduler conditions: the classes and the ready-made values, the
    # same objects on every access
    from skylaunch.conds import scheduler as conds_scheduler
    from skylaunch.conds import status as conds_status

    for name in ("started", "succeeded", "failed", "finished", "terminated", "inacted"):
        assert getattr(skylaunch.conds, name) is getattr(conds_status, name)
    assert skylaunch.conds.running is conds_status.running
    assert skylaunch.conds.running == conds_status.TaskRunning()
    assert skylaunch.conds.TaskStarted is conds_status.TaskStarted
    assert skylaunch.conds.SchedulerCycles is conds_scheduler.SchedulerCycles
    assert skylaunch.conds.scheduler_running is conds_scheduler.scheduler_running
    assert app.session.grammar.parse("has started") == skylaunch.conds.started


def test_a_subclass_of_a_deferred_record_model_still_validates() -> None:
    from pydantic import ValidationError

    from skylaunch.log.records import MinimalRecord

    class Mine(MinimalRecord):
        host: str

    assert Mine(task_name="t", action="run", created=1.0, host="a", other=1).host == "a"
    with pytest.raises(ValidationError, match="host"):
        Mine(task_name="t", action="run", created=1.0)


MANY_THREADS_FIRST_USE = """
import threading
import skylaunch.conds as conds

names = ["started", "running", "TaskStarted", "scheduler_cycles", "SchedulerCycles",
         "parse_condition", "retry", "DependSuccess", "is_env", "failed"]
barrier = threading.Barrier(16)
seen, errors = [], []

def resolve(i):
    try:
        barrier.wait()
        for name in names[i % len(names):] + names[: i % len(names)]:
            seen.append((name, id(getattr(conds, name))))
        seen.append(("parsed", conds.parse_condition("has started | daily") is not None))
    except BaseException as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=resolve, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
by_name = {}
for name, value in seen:
    by_name.setdefault(name, set()).add(value)
print(errors, sorted(n for n, values in by_name.items() if len(values) != 1))
"""


def test_sixteen_threads_resolving_the_lazy_names_at_once_get_the_same_objects() -> None:
    # the first use of a lazily loaded name can come from many threads at the same moment:
    # each must get the one object (the module is imported once), and nothing may raise
    assert _printed_by(MANY_THREADS_FIRST_USE) == "[] []"


NO_ASYNCIO = """
import sys
from skylaunch import App
from skylaunch.conds import daily, every

after_import = [m for m in ("asyncio", "subprocess") if m in sys.modules]
app = App(config={"execution": "main"})
app.task(daily.at("03:00"), name="t")(lambda: None)
app.task(every("1 day"), name="in_thread", execution="thread")(lambda: None)

@app.task(every("1 day"), name="marker")
def marker():
    app.session.shut_down()

after_define = [m for m in ("asyncio", "subprocess") if m in sys.modules]
print(",".join(after_import), ",".join(after_define), sep="|")
"""


def test_import_and_defining_sync_tasks_load_neither_asyncio_nor_subprocess() -> None:
    # asyncio (~40 % of a cold `import skylaunch`, ssl and socket with it) loads when the
    # scheduler's loop runs or a coroutine does; subprocess when a command runs or a relaunch
    assert _printed_by(NO_ASYNCIO) == "|"


def test_a_cancelled_error_is_still_a_termination() -> None:
    import asyncio

    from skylaunch.execution.base import outcome_of

    assert outcome_of("r", asyncio.CancelledError("stop")).action == "terminate"
    assert outcome_of("r", asyncio.CancelledError("stop")).exc_text == "stop"
    assert outcome_of("r", KeyboardInterrupt()).action == "fail"


ASYNC_TASK_WITHOUT_ASYNCIO_IMPORTED = """
import sys
from skylaunch import App
from skylaunch.conds import every

app = App(config={"execution": "main"})
seen = []

@app.task(every("1 day"), name="coro", execution="thread")
async def coro():
    seen.append("ran")

@app.task(every("1 day"), name="marker")
def marker():
    app.session.shut_down()

assert "asyncio" not in sys.modules
app.run()
print(app.session["coro"].status, seen)
"""


def test_an_async_task_runs_where_nothing_imported_asyncio_before() -> None:
    assert _printed_by(ASYNC_TASK_WITHOUT_ASYNCIO_IMPORTED) == "success ['ran']"
