"""Rarely used parts load on first use, so ``import skylaunch`` stays cheap (bench W5)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY = [
    "celery",
    "multiprocessing",
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
    "sqlalchemy",
]

PROBE = f"""
import sys
from skylaunch import App
from skylaunch.conds import daily

app = App(config={{"execution": "main"}})
app.task(daily.at("03:00"), name="t")(lambda: None)
app.session.executor("main")
print(",".join(m for m in {LAZY!r} if m in sys.modules))
"""


def test_defining_main_tasks_loads_none_of_the_rare_modules() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "", f"loaded eagerly: {out.strip()}"


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
