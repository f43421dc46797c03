"""The task logger's repo handler is the session's repo (Rocketry's handbook form), the logger's
level never keeps records from the repo, and a failing handler makes the run `fail`."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch import App
from skylaunch.exc import TaskLoggingError
from skylaunch.log import MinimalRecord, MinimalRunRecord, RepoHandler, RunRecord
from skylaunch.log.repos import CSVFileRepo, MemoryRepo, SQLRepo
from skylaunch.testing import run_for, simulated_app

TASK_LOGGER = "skylaunch.task"


@pytest.fixture(autouse=True)
def _restore_task_logger() -> Iterator[logging.Logger]:
    """Each test ends as it began: the handlers and level of the shared task logger."""
    logger = logging.getLogger(TASK_LOGGER)
    handlers, level = logger.handlers[:], logger.level
    logger.handlers = []  # a fresh process: no handler left by other tests' sessions
    yield logger
    for handler in set(logger.handlers) - set(handlers):
        handler.close()
    logger.handlers = handlers
    logger.setLevel(level)


def new_process(logger: logging.Logger, app: App) -> None:
    """What ends with a process: its handlers on the task logger (written out first)."""
    app.session.flush_logs(10)
    for handler in logger.handlers[:]:
        if isinstance(handler, RepoHandler):
            logger.removeHandler(handler)
            handler.close()


def daily_app(start: str, **config: Any) -> App:
    app = simulated_app(start, **config)

    @app.task("daily")
    def do_things() -> None:
        pass

    return app


def stored(repo: Any, **query: Any) -> int:
    return len(list(repo.filter_by(**query).all()))


@pytest.mark.parametrize("kind", ["csv", "sql"])
def test_a_handler_on_the_task_logger_is_the_repo_history_comes_back_from(
    kind: str, tmp_path: Path
) -> None:
    logger = logging.getLogger(TASK_LOGGER)

    def make_repo() -> Any:
        if kind == "csv":
            return CSVFileRepo(filename=tmp_path / "repo.csv", model=MinimalRecord)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")
        return SQLRepo(
            engine=engine,
            table="tasks",
            if_missing="create",
            model=MinimalRecord,
            id_field="created",
        )

    counts = []
    for start in ("2024-01-01 10:00", "2024-01-01 11:00"):  # two processes, the same day
        repo = make_repo()
        app = daily_app(start)
        logger.addHandler(RepoHandler(repo=repo))  # after the app, before it runs
        run_for(app, "5 minutes")
        assert app.session.repo is repo
        task = app.session["do_things"]
        # task.logger reads the handler's repo
        assert len(task.logger.filter_by(action="run").all()) == 1
        new_process(logger, app)
        counts.append(stored(repo, task_name="do_things"))
        if kind == "sql":
            repo.engine.dispose()
    assert counts == [2, 2]  # run + success once: the second process did not run it again


def test_a_handler_added_before_the_app_is_its_repo(tmp_path: Path) -> None:
    logger = logging.getLogger(TASK_LOGGER)
    repo = MemoryRepo(MinimalRunRecord)
    handler = RepoHandler(repo=repo)
    logger.addHandler(handler)
    app = daily_app("2024-01-01 10:00")
    assert app.session.repo is repo
    assert logger.handlers.count(handler) == 1
    assert [h for h in logger.handlers if isinstance(h, RepoHandler)] == [handler]
    run_for(app, "1 minute")
    assert stored(repo, action="run") == 1


def test_handlers_assigned_replace_the_session_repo_and_lose_no_record() -> None:
    logger = logging.getLogger(TASK_LOGGER)
    app = daily_app("2024-01-01 10:00")
    default = app.session.repo
    repo = MemoryRepo(RunRecord)
    logger.handlers = [RepoHandler(repo=repo)]
    run_for(app, "1 minute")
    assert app.session.repo is repo
    assert stored(repo, action="success") == 1
    assert stored(default) == 0


def test_the_last_repo_handler_added_is_the_session_repo_and_all_get_records() -> None:
    logger = logging.getLogger(TASK_LOGGER)
    app = daily_app("2024-01-01 10:00")
    first, second = MemoryRepo(RunRecord), MemoryRepo(RunRecord)
    logger.addHandler(RepoHandler(repo=first))
    logger.addHandler(RepoHandler(repo=second))
    run_for(app, "1 minute")
    assert app.session.repo is second
    assert stored(first, action="run") == stored(second, action="run") == 1
    # set_repo adds its handler last: it is the repo from then on
    third = MemoryRepo(RunRecord)
    app.session.set_repo(third, delete_existing=False)
    assert app.session.repo is third
    third_handler = logger.handlers[-1]
    assert isinstance(third_handler, RepoHandler)
    assert third_handler.repo is third


def test_a_detached_session_handler_is_put_back_when_no_other_repo_handler_is_there() -> None:
    logger = logging.getLogger(TASK_LOGGER)
    app = daily_app("2024-01-01 10:00")
    repo = app.session.repo
    logger.handlers = []
    run_for(app, "1 minute")
    assert app.session.repo is repo
    assert stored(repo, action="run") == 1


def test_a_handler_added_while_running_is_read_at_once(tmp_path: Path) -> None:
    logger = logging.getLogger(TASK_LOGGER)
    path = tmp_path / "tasks.csv"
    earlier = CSVFileRepo(filename=path, model=MinimalRunRecord)
    earlier.add(MinimalRunRecord(task_name="do_things", action="run", created=0.0, run_id="a"))
    earlier.add(MinimalRunRecord(task_name="do_things", action="success", created=1.0, run_id="a"))
    app = simulated_app("2024-01-01 10:00")

    @app.task("every 10 seconds")
    def do_things() -> None:
        if added not in logger.handlers:  # during the first run
            logger.addHandler(added)

    added = RepoHandler(repo=CSVFileRepo(filename=path, model=MinimalRunRecord))
    run_for(app, "15 seconds")
    assert app.session.repo is added.repo
    # the history was read from the file: the two earlier records plus this process's
    assert app.session["do_things"].logger.filter_by(action="run").count() >= 2


# --- the logger's level -------------------------------------------------------------------


def test_a_task_logger_at_warning_still_writes_every_record_to_the_repo_and_says_so(
    tmp_path: Path,
) -> None:
    logger = logging.getLogger(TASK_LOGGER)
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    collect = Collect()
    counts = []
    for start in ("2024-01-01 10:00", "2024-01-01 11:00"):
        logger.setLevel(logging.WARNING)  # the application's logging config
        app = daily_app(start)
        app.session.set_repo(CSVFileRepo(filename=tmp_path / "t.csv", model=MinimalRunRecord))
        logger.addHandler(collect)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_for(app, "5 minutes")
        said = [str(w.message) for w in caught]
        if not counts:  # the first process runs the task: said once
            assert len(said) == 1
            assert re.search(r"has level WARNING.*still go to the session's repo", said[0])
        else:  # the second one has nothing to run
            assert said == []
        counts.append(stored(app.session.repo, task_name="do_things"))
        new_process(logger, app)
        logger.removeHandler(collect)
    assert counts == [2, 2]
    assert seen == []  # the level still rules the other handlers


def test_a_disabled_task_logger_still_writes_to_the_repo() -> None:
    logger = logging.getLogger(TASK_LOGGER)
    app = daily_app("2024-01-01 10:00")
    logger.disabled = True
    try:
        with pytest.warns(UserWarning, match="is disabled"):
            run_for(app, "1 minute")
    finally:
        logger.disabled = False
    assert stored(app.session.repo, action="success") == 1


# --- a failing handler ----------------------------------------------------------------------


class FailOn(logging.Handler):
    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) == self.action:
            raise RuntimeError("handler down")


def work() -> None:
    pass


@pytest.mark.parametrize("execution", ["main", "thread", "process"])
@pytest.mark.parametrize("action", ["run", "success"])
def test_a_failing_handler_fails_the_run_and_stops_the_scheduler(
    execution: str, action: str
) -> None:
    logger = logging.getLogger(TASK_LOGGER)
    app = simulated_app("2024-01-01 10:00", execution=execution)
    # The clock waits this long (real seconds) for a run outside the loop to report before it
    # moves on; 5 s, the default, was too short for a process's start in a CI run with three
    # suites on two cores: the run window ended first and the run was terminated (no success
    # to log). A run that reports ends the wait at once.
    app.session.clock.settle_s = 45
    app.task("every 10 seconds", func=work, name="work")
    logger.addHandler(FailOn(action))
    with pytest.raises(TaskLoggingError, match=f"logging '{action}' of task 'work'"):
        run_for(app, "25 seconds")
    task = app.session["work"]
    assert task.status == "fail"  # Rocketry's status; not left at `run` (or `success`)
    assert len(task.logger.filter_by(action="run").all()) == 1


def test_a_failing_handler_silenced_lets_runs_go_on() -> None:
    logger = logging.getLogger(TASK_LOGGER)
    app = simulated_app("2024-01-01 10:00", silence_task_logging=True)
    app.task("every 10 seconds", func=work, name="work")
    logger.addHandler(FailOn("run"))
    run_for(app, "25 seconds")
    task = app.session["work"]
    assert task.status == "success"
    assert len(task.logger.filter_by(action="success").all()) == 3


def test_silenced_logging_failures_are_reported_once_a_minute_with_a_count(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by probing a repo that refused every record: an always-due task's failures made
    # about 1,100 tracebacks a second in the scheduler's log.
    from skylaunch import _journal

    now = [1000.0]
    monkeypatch.setattr(_journal, "_monotonic", lambda: now[0])
    logger = logging.getLogger(TASK_LOGGER)
    app = simulated_app("2024-01-01 10:00", silence_task_logging=True)
    app.task("every 10 seconds", func=work, name="work")
    logger.addHandler(FailOn("run"))
    with caplog.at_level(logging.ERROR, "skylaunch.scheduler"):
        run_for(app, "45 seconds")  # five runs, five failures in the same real minute
        reports = [r for r in caplog.records if "failed (silenced)" in r.getMessage()]
        assert len(reports) == 1
        assert reports[0].exc_info is not None  # the first one with its traceback
        now[0] += 61
        run_for(app, "10 seconds")
    reports = [r.getMessage() for r in caplog.records if "failed (silenced)" in r.getMessage()]
    assert len(reports) == 2
    assert reports[1].endswith("; 4 other record(s) failed to log since the last report")
    assert app.session["work"].status == "success"
