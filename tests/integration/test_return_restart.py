"""A restart between ``extract`` and ``transform``: Return() values do not survive it.

Each phase is a new session (a new process, as far as the scheduler knows) over the same CSV or
SQLite repo. Before the fix the second and every later start raised TaskSetupError: the history
said ``extract`` had succeeded after ``transform``'s last run, so ``transform`` was due at once,
and its ``Return("extract")`` had no value in the new process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skylaunch import App
from skylaunch.args import Return
from skylaunch.conds import after_success, daily
from skylaunch.log.records import TaskRunRecord
from skylaunch.log.repos import CSVFileRepo, SQLRepo
from skylaunch.testing import run_until, simulated_app


def _repo(kind: str, folder: Path) -> Any:
    if kind == "csv":
        return CSVFileRepo(folder / "tasks.csv", model=TaskRunRecord)
    url = f"sqlite:///{folder / 'tasks.db'}"
    return SQLRepo(TaskRunRecord, table="log", conn_string=url, if_missing="create")


def _pipeline(kind: str, folder: Path, start: str, seen: list[Any], **default: Any) -> App:
    app = simulated_app(start, tz="UTC")
    app.session.set_repo(_repo(kind, folder))

    @app.task(daily.at("10:00"))
    def extract() -> list[int]:
        return [1, 2, 3]

    @app.task(after_success("extract"))
    def transform(rows: Any = Return("extract", **default)) -> None:  # noqa: B008
        seen.append(rows)

    return app


def _actions(app: App, name: str) -> list[str]:
    repo = app.session.journal.repo
    return [record.action for record in repo.filter_by(task_name=name).all()]


def _stop(app: App) -> None:
    repo = app.session.journal.repo
    app.session.set_repo(app.session.default_repo())  # let go of the file
    engine = getattr(repo, "engine", None)
    if engine is not None:
        engine.dispose()


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
def test_a_restart_after_the_upstream_succeeded_does_not_crash_loop(
    kind: str, tmp_path: Path
) -> None:
    seen: list[Any] = []
    # The first process: extract succeeds at 10:00, then the process stops before transform.
    first = _pipeline(kind, tmp_path, "2024-01-01 09:59", seen)
    first.session["transform"].disabled = True
    run_until(first, "2024-01-01 10:00:01")
    assert _actions(first, "extract") == ["run", "success"]
    _stop(first)

    # The restarts: transform is due (extract succeeded after its last run) but the value is
    # gone. One recorded failure that says why, then nothing until extract succeeds again.
    for restart in range(3):
        app = _pipeline(kind, tmp_path, f"2024-01-01 11:0{restart}", seen)
        run_until(app, f"2024-01-01 11:0{restart}:30")
        assert _actions(app, "transform") == ["run", "fail"]
        (failed,) = app.session.journal.repo.filter_by(task_name="transform", action="fail").all()
        assert "MissingReturnError" in failed.exc_text
        assert "give Return a default=" in failed.exc_text
        _stop(app)
    assert seen == []

    # The next day extract succeeds again, and transform gets its value in the same process.
    app = _pipeline(kind, tmp_path, "2024-01-02 09:59", seen)
    run_until(app, "2024-01-02 10:00:01")
    assert _actions(app, "transform") == ["run", "fail", "run", "success"]
    assert seen == [[1, 2, 3]]
    _stop(app)


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
def test_a_default_runs_the_downstream_task_after_a_restart(kind: str, tmp_path: Path) -> None:
    seen: list[Any] = []
    first = _pipeline(kind, tmp_path, "2024-01-01 09:59", seen, default=None)
    first.session["transform"].disabled = True
    run_until(first, "2024-01-01 10:00:01")
    _stop(first)

    app = _pipeline(kind, tmp_path, "2024-01-01 11:00", seen, default=None)
    run_until(app, "2024-01-01 11:00:30")
    assert _actions(app, "transform") == ["run", "success"]
    assert seen == [None]
    _stop(app)
