"""The journal: the repo a session writes to, what it reads back at start-up, crashed runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from skylaunch import App
from skylaunch._journal import ownership
from skylaunch.conds import after_success, daily, retry
from skylaunch.exc import RepoDataWarning, RepoSchemaError, RepoUnavailableError, TaskLoggingError
from skylaunch.log import (
    CSVFileRepo,
    LogRecord,
    MemoryRepo,
    MinimalRecord,
    MinimalRunRecord,
    RunRecord,
    TaskRunRecord,
)
from skylaunch.log.context import task_log
from skylaunch.log.repos.sql import SQLRepo
from skylaunch.session import Session
from skylaunch.testing import run_until, runs, simulated_app

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _detach_session_handlers() -> Iterator[None]:
    """Sessions of a test must not outlive it on the shared task logger (their repos go away)."""
    logger = logging.getLogger("skylaunch.task")
    before = set(logger.handlers)
    yield
    for handler in set(logger.handlers) - before:
        logger.removeHandler(handler)
        handler.close()


@contextmanager
def only_repo_handlers() -> Iterator[None]:
    """pytest's capture handlers sit on the root logger; without them the fast path applies."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        yield
    finally:
        root.handlers = saved


def sqlite_repo(tmp_path: Path, model: type[BaseModel] = MinimalRunRecord) -> SQLRepo:
    return SQLRepo(
        model=model, conn_string=f"sqlite:///{tmp_path / 'log.db'}", table="t", if_missing="create"
    )


def app_on(repo: Any, start: str, **config: Any) -> App:
    app = simulated_app(start, tz="UTC", **config)
    app.session.set_repo(repo)
    return app


def rows(repo: Any, **query: Any) -> list[tuple[Any, ...]]:
    return [(r.task_name, r.action, r.run_id) for r in repo.filter_by(**query).all()]


# --- the default repo ------------------------------------------------------------------------


def test_default_repo_reads_models_with_attribute_access() -> None:
    app = simulated_app("2024-01-01 09:00")

    @app.task(daily)
    def report() -> None: ...

    run_until(app, "2024-01-01 09:01")
    repo = app.session.repo
    assert isinstance(repo, MemoryRepo)
    assert repo.model is TaskRunRecord
    assert repo.max_per_task == app.session.config.history_max_records
    (run,) = app.session["report"].logger.filter_by(action="run").all()
    assert isinstance(run, TaskRunRecord)
    assert (run.task_name, run.action, run.end) == ("report", "run", None)
    success = app.session["report"].logger.get_latest()
    assert success.action == "success"
    assert success.run_id == run.run_id
    assert success.runtime == success.end - success.start
    assert success.message == "Task 'report' status: 'success'"


def test_fast_path_and_logging_path_store_the_same_record() -> None:
    fast, slow = Session(), Session()
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "session_key", None) == id(slow):
                seen.append(record)

    collect = Collect()
    start = T0 - timedelta(seconds=3)
    with only_repo_handlers():
        assert fast.journal.handler is not None
        assert fast.journal._sole_trusted_consumer(
            fast.task_logger, fast.journal.handler, logging.ERROR
        )
        fast.journal.record("a", "fail", "r1", start, exc_text="boom", ts=T0.timestamp())
    slow.task_logger.addHandler(collect)  # a second consumer: records go through logging
    try:
        slow.journal.record("a", "fail", "r1", start, exc_text="boom", ts=T0.timestamp())
    finally:
        slow.task_logger.removeHandler(collect)
    (one,) = fast.repo.filter_by(task_name="a").all()
    (two,) = slow.repo.filter_by(task_name="a").all()
    assert one.model_dump() == two.model_dump()
    assert one.runtime == timedelta(seconds=3)
    assert [r.action for r in seen] == ["fail"]  # the other handler saw the record


def test_user_log_lines_are_not_stored() -> None:
    session = Session()
    logging.getLogger("skylaunch.task").addHandler(logging.NullHandler())
    task_log("hello from a task")
    session.journal.record("a", "run", "r", T0)
    assert rows(session.repo) == [("a", "run", "r")]


def test_default_memory_repo_stays_bounded() -> None:
    session = Session(history_max_records=32)
    with only_repo_handlers():
        for i in range(1000):
            session.journal.record("a", "run", str(i), T0, ts=float(i))
            session.journal.record("a", "success", str(i), T0, ts=float(i) + 0.5)
    stored = session.repo.filter_by(task_name="a").count()
    assert 32 <= stored <= 32 + 32 // 16
    assert session.repo.filter_by(task_name="a").last().run_id == "999"
    assert len(list(session.history.of("a").times("run"))) <= 32 + 32 // 4


# --- set_repo checks -------------------------------------------------------------------------


def test_set_repo_refuses_an_object_without_the_methods() -> None:
    class OnlyAdd:
        def add(self, item: Any) -> None: ...

    with pytest.raises(TypeError, match=r"OnlyAdd.*lacks filter_by\(\)"):
        Session().set_repo(OnlyAdd())


def test_set_repo_refuses_a_model_without_the_task_fields() -> None:
    class NoAction(BaseModel):
        task_name: str
        created: float

    with pytest.raises(RepoSchemaError, match=r"NoAction.*lacks the field\(s\) \['action'\]"):
        App(logger_repo=MemoryRepo(NoAction))


def test_set_repo_refuses_a_csv_whose_header_lacks_action(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("task_name,created,run_id\n")
    with pytest.raises(RepoSchemaError, match=r"lacks the field\(s\) \['action'\]"):
        Session().set_repo(CSVFileRepo(filename=path))


def test_a_csv_with_the_wrong_header_for_the_model_fails_before_set_repo(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("task_name,created\n")
    with pytest.raises(RepoSchemaError, match=r"missing columns \['action'"):
        App(logger_repo=CSVFileRepo(model=MinimalRecord, filename=path))


def test_set_repo_refuses_a_table_missing_columns(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE log (id INTEGER PRIMARY KEY, created FLOAT, task_name TEXT)")
        )
    with pytest.raises(
        RepoSchemaError, match=r"lacks the column\(s\) \['action'\] that task records need"
    ):
        SQLRepo(model=MinimalRecord, engine=engine, table="log")
    reflected = SQLRepo(engine=engine, table="log")  # no model: the table's own columns
    with pytest.raises(RepoSchemaError, match=r"lacks the field\(s\) \['action'\]"):
        Session().set_repo(reflected)
    engine.dispose()


def test_set_repo_refuses_a_duck_repo_whose_model_lacks_created() -> None:
    class Model(BaseModel):
        task_name: str
        action: str

    class Duck:
        model = Model

        def add(self, item: Any) -> None: ...

        def filter_by(self, **query: Any) -> Any: ...

    with pytest.raises(RepoSchemaError, match=r"lacks the field\(s\) \['created'\]"):
        Session().set_repo(Duck())


def test_seed_doc_repos_are_accepted(tmp_path: Path, tmp_cwd: str) -> None:
    csv_repo = CSVFileRepo(model=RunRecord, filename="tasks.csv")
    csv_repo.create()
    engine = sa.create_engine("sqlite:///app.db")
    sql_repo = SQLRepo(
        engine=engine, table="tasks", if_missing="create", model=MinimalRecord, id_field="created"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE log (id INTEGER PRIMARY KEY, created FLOAT, task_name TEXT, "
                "run_id TEXT, action TEXT)"
            )
        )
    canonical = SQLRepo(model=MinimalRunRecord, table="log", engine=engine, id_field="id")
    for repo in (csv_repo, sql_repo, canonical):
        app = simulated_app("2024-01-01 09:00")
        app.session.set_repo(repo, delete_existing=True)

        @app.task(daily)
        def do_things() -> None: ...

        run_until(app, "2024-01-01 09:01")
        found = app.session["do_things"].logger.filter_by(action="run").all()
        assert [r.action for r in found] == ["run"], repo
    engine.dispose()


def test_set_repo_closes_the_previous_handler_and_keeps_one() -> None:
    session = Session()
    first = session.journal.handler
    session.set_repo(MemoryRepo(TaskRunRecord))
    mine = [
        h
        for h in session.task_logger.handlers
        if (own := ownership(h)) is not None and own.owner is session and own.status_only
    ]
    assert mine == [session.journal.handler]
    assert first is not session.journal.handler
    assert first._closed  # type: ignore[union-attr]


def test_log_record_model_goes_through_validation() -> None:
    session = Session(repo=MemoryRepo(LogRecord))
    session.journal.record("a", "run", "r", T0)
    (record,) = session.repo.filter_by().all()
    assert record.levelname == "INFO"
    assert record.formatted_message == "Task 'a' status: 'run'"


# --- restore at start-up ---------------------------------------------------------------------


def test_daily_does_not_run_twice_after_a_restart(tmp_path: Path) -> None:
    repo = sqlite_repo(tmp_path)
    first = app_on(repo, "2024-01-01 09:00")

    @first.task(daily)
    def report() -> None: ...

    run_until(first, "2024-01-01 12:00")
    second = app_on(sqlite_repo(tmp_path), "2024-01-01 13:00")
    second.task(daily)(report)
    run_until(second, "2024-01-01 23:59")
    assert runs(second, "report") == [datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)]
    run_until(second, "2024-01-02 00:01")
    assert len(runs(second, "report")) == 2
    assert [a for _, a, _ in rows(repo)] == ["run", "success", "run", "success"]


def test_retry_keeps_counting_after_a_restart(tmp_path: Path) -> None:
    repo = sqlite_repo(tmp_path)
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 2:
            first.session.shut_down()
        raise RuntimeError("no")

    first = app_on(repo, "2024-01-01 09:00")
    first.task(daily | retry(3), name="flaky")(flaky)
    run_until(first, "2024-01-01 10:00")
    assert len(calls) == 2
    second = app_on(sqlite_repo(tmp_path), "2024-01-01 11:00")
    second.task(daily | retry(3), name="flaky")(flaky)
    run_until(second, "2024-01-01 12:00")
    assert len(calls) == 4  # 1 + 3 retries in all, not 2 + 1 + 3
    assert repo.filter_by(task_name="flaky", action="fail").count() == 4


def test_after_success_remembers_after_a_restart(tmp_path: Path) -> None:
    calls: list[str] = []
    first = app_on(sqlite_repo(tmp_path), "2024-01-01 09:00")
    first.task(daily, name="up")(lambda: calls.append("up"))
    first.task(after_success("up"), name="down")(lambda: calls.append("down"))
    run_until(first, "2024-01-01 10:00")
    second = app_on(sqlite_repo(tmp_path), "2024-01-01 11:00")
    second.task(daily, name="up")(lambda: calls.append("up"))
    second.task(after_success("up"), name="down")(lambda: calls.append("down"))
    run_until(second, "2024-01-01 12:00")
    assert calls == ["up", "down"]


def seeded(tmp_path: Path, records: Sequence[tuple[str, float, str | None]]) -> SQLRepo:
    repo = sqlite_repo(tmp_path)
    repo.insert(
        {"task_name": "job", "action": a, "created": T0.timestamp() + c, "run_id": r}
        for a, c, r in records
    )
    return repo


def test_a_run_without_an_end_is_logged_as_crash_per_run_id(tmp_path: Path) -> None:
    repo = seeded(
        tmp_path,
        [("run", 0, "a"), ("run", 1, "b"), ("success", 2, "b"), ("run", 3, "c"), ("fail", 4, "c")],
    )
    app = app_on(repo, "2024-01-01 10:00")
    app.task("false", name="job")(lambda: None)
    run_until(app, "2024-01-01 10:01")
    crash = repo.filter_by(action="crash").all()
    assert [(r.run_id, r.created) for r in crash] == [("a", T0.timestamp() + 3600)]
    log = app.session.history.of("job")
    assert log.last_action == "crash"
    assert log.running == {}
    assert app.session["job"].status == "crash"
    run_until(app, "2024-01-01 10:02")  # serving again does not log it twice
    assert repo.filter_by(action="crash").count() == 1


def test_runs_without_run_id_follow_rocketrys_rule(tmp_path: Path) -> None:
    repo = seeded(tmp_path, [("run", 0, None), ("success", 1, None), ("run", 2, None)])
    app = app_on(repo, "2024-01-01 10:00")
    app.task("false", name="job")(lambda: None)
    run_until(app, "2024-01-01 10:01")
    assert rows(repo, action="crash") == [("job", "crash", None)]


def test_no_crash_when_every_run_ended(tmp_path: Path) -> None:
    repo = seeded(tmp_path, [("run", 0, "a"), ("inaction", 0, "a")])
    app = app_on(repo, "2024-01-01 10:00")
    app.task("false", name="job")(lambda: None)
    run_until(app, "2024-01-01 10:01")
    assert repo.filter_by(action="crash").count() == 0
    assert app.session.history.of("job").last_action == "inaction"


def test_restore_reads_at_most_history_max_records_per_action(tmp_path: Path) -> None:
    records = [("run", float(i), f"r{i}") for i in range(30)]
    records += [("success", i + 0.5, f"r{i}") for i in range(1, 30) if i != 20]
    repo = seeded(tmp_path, records)  # r0 and r20 never ended
    app = app_on(repo, "2024-01-01 10:00", history_max_records=10)
    app.session.crash_window = 20  # the newest 20 records: back to run r20
    app.task("false", name="job")(lambda: None)
    run_until(app, "2024-01-01 10:01")
    log = app.session.history.of("job")
    assert list(log.times("run")) == [T0.timestamp() + i for i in range(20, 30)]
    # r0 is older than the crash window: not looked at
    assert rows(repo, action="crash") == [("job", "crash", "r20")]


class Switch(MemoryRepo):
    """A memory repo that can be made unavailable."""

    def __init__(self) -> None:
        super().__init__(TaskRunRecord)
        self.down = False

    def insert_items(self, items: Sequence[Any]) -> None:
        if self.down:
            raise RepoUnavailableError("switched off")
        super().insert_items(items)


def test_restore_adds_what_the_handler_still_buffers() -> None:
    repo = Switch()
    repo.add(
        {
            "task_name": "job",
            "action": "run",
            "created": T0.timestamp(),
            "run_id": "x",
            "message": "",
        }
    )
    repo.down = True
    app = app_on(repo, "2024-01-01 10:00", silence_task_logging=True)
    app.session.journal.record("job", "success", "x", T0, ts=T0.timestamp() + 1)
    assert app.session.journal.handler.pending == 1  # type: ignore[union-attr]
    app.session.log_flush_timeout_s = 0.0
    app.task("false", name="job")(lambda: None)
    run_until(app, "2024-01-01 10:01")
    assert app.session.history.of("job").last_action == "success"  # no crash for run x
    assert app.session.history.of("job").running == {}
    repo.down = False
    assert app.session.flush_logs(2.0)
    assert rows(repo) == [("job", "run", "x"), ("job", "success", "x")]


@pytest.mark.parametrize(
    ("failing", "error", "said"),
    [
        (False, None, "(no answer)"),  # a write that hangs has raised nothing
        (False, RepoUnavailableError("an old outage"), "(no answer)"),  # recovered from since
        (True, RepoUnavailableError("down"), "(last error: RepoUnavailableError('down'))"),
    ],
)
def test_a_flush_that_gives_up_says_why_without_an_old_or_empty_error(
    caplog: pytest.LogCaptureFixture, failing: bool, error: Exception | None, said: str
) -> None:
    # Found by probing a black-holed PostgreSQL: the write hung, raised nothing, and the
    # shutdown said "... within 10.0 s (None)".
    class Stuck:
        pending = 3
        last_error = error

        def __init__(self) -> None:
            self.failing = failing

        def flush(self, timeout: float | None = None) -> bool:
            return False

    app = app_on(Switch(), "2024-01-01 10:00")
    app.session.journal.handler = Stuck()  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, "skylaunch.scheduler"):
        assert not app.session.flush_logs(0.5)
    assert f"3 task record(s) could not be written to {app.session.journal.repo!r}" in caplog.text
    assert f"within 0.5 s {said}; they stay buffered" in caplog.text


# --- repo unavailable ------------------------------------------------------------------------


class Flaky(MemoryRepo):
    """Unavailable for the writes number ``down_from`` to ``down_to`` (1-based)."""

    def __init__(self, down_from: int, down_to: int) -> None:
        super().__init__(TaskRunRecord)
        self.writes = 0
        self.down = range(down_from, down_to + 1)

    def insert_items(self, items: Sequence[Any]) -> None:
        self.writes += 1
        if self.writes in self.down:
            raise RepoUnavailableError(f"down (write {self.writes})")
        super().insert_items(items)


def counting_app(repo: Any, **config: Any) -> tuple[App, list[int]]:
    app = app_on(repo, "2024-01-01 09:00", **config)
    ran: list[int] = []
    app.task("every 1 minute", name="tick")(lambda: ran.append(1))
    return app, ran


def test_unavailable_repo_stops_the_scheduler_unless_silenced() -> None:
    repo = Flaky(down_from=3, down_to=4)
    app, ran = counting_app(repo)
    app.session.log_flush_timeout_s = 5.0
    with pytest.raises(TaskLoggingError, match=r"unavailable.*silence_task_logging"):
        run_until(app, "2024-01-01 10:00")
    assert len(ran) == 2  # stopped after the pass in which the write failed
    # The shutdown flush wrote the buffered records once the repo was back.
    assert app.session.journal.handler.pending == 0  # type: ignore[union-attr]
    assert [a for _, a, _ in rows(repo)] == ["run", "success", "run", "success"]


def test_silenced_unavailable_repo_keeps_scheduling_and_loses_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo = Flaky(down_from=3, down_to=4)
    app, ran = counting_app(repo, silence_task_logging=True)
    app.session.log_flush_timeout_s = 5.0
    with caplog.at_level(logging.WARNING, "skylaunch.scheduler"):
        run_until(app, "2024-01-01 09:30")
    assert len(ran) == 30
    stored = rows(repo)
    assert len(stored) == 60
    assert len(set(stored)) == 60  # nothing doubled
    history = app.session.history.of("tick")
    assert history.count("run") == history.count("success") == 30
    assert any("buffered" in r.getMessage() for r in caplog.records)


class Unreadable(MemoryRepo):
    def query_column(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise OSError("cannot read")


def test_unreadable_repo_stops_the_start_up_even_when_silenced() -> None:
    """A history that could not be read is not an empty one: `daily` would run twice."""
    repo = Unreadable(TaskRunRecord)
    repo.add({"task_name": "job", "action": "run", "created": 1.0, "message": ""})
    app = app_on(repo, "2024-01-01 10:00")
    app.task("false", name="job")(lambda: None)
    with pytest.raises(TaskLoggingError, match=r"history of task 'job'.*cannot read"):
        run_until(app, "2024-01-01 10:01")
    quiet = app_on(repo, "2024-01-01 10:00", silence_task_logging=True)
    quiet.task(daily, name="job")(lambda: None)
    with pytest.raises(TaskLoggingError, match=r"cannot read.*even with silence_task_logging"):
        run_until(quiet, "2024-01-01 10:01")
    assert runs(quiet, "job") == []


def test_a_damaged_csv_history_still_stops_daily_from_running_twice(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    first = app_on(CSVFileRepo(path, model=TaskRunRecord), "2024-01-01 09:00")
    first.task(daily, name="report")(lambda: None)
    run_until(first, "2024-01-01 09:30")
    assert len(runs(first, "report")) == 1
    last = path.read_text().splitlines()[-1]
    assert ",success," in last
    with path.open("a") as handle:  # a hand edit gone wrong, then a crash mid-write
        handle.write(last.replace(",success,", ",explode,") + "\nreport,run,17")
    second = app_on(
        CSVFileRepo(path, model=TaskRunRecord), "2024-01-01 13:00", silence_task_logging=True
    )
    second.task(daily, name="report")(lambda: None)
    with pytest.warns(RepoDataWarning) as caught:
        run_until(second, "2024-01-01 23:00")
    assert runs(second, "report") == runs(first, "report")  # 09:00 today, not again
    messages = [str(w.message) for w in caught]
    assert any("line 4: not a TaskRunRecord: action" in m for m in messages), messages
    assert any("line 5: the last row is unfinished" in m for m in messages), messages


def test_a_task_added_while_running_gets_its_history_restored(tmp_path: Path) -> None:
    """A task defined after start-up (from a running task) must see its stored history too."""
    repo = sqlite_repo(tmp_path)
    first = app_on(repo, "2024-01-01 09:00")

    @first.task(daily)
    def report() -> None: ...

    run_until(first, "2024-01-01 10:00")
    second = app_on(sqlite_repo(tmp_path), "2024-01-01 13:00")

    @second.task(daily)
    def adder() -> None:
        if "report" not in second.session:
            second.task(daily)(report)

    run_until(second, "2024-01-01 23:59")
    assert runs(second, "report") == [datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)]


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_task_with_its_own_logger_name_logs_there_and_still_reaches_the_repo(
    tmp_path: Path,
) -> None:
    own = logging.getLogger("skylaunch.task.routed")
    keep = _Keep()
    own.addHandler(keep)
    try:
        app = simulated_app("2024-01-01 00:00")
        app.session.set_repo(CSVFileRepo(filename=tmp_path / "tasks.csv", model=TaskRunRecord))

        @app.task(daily, logger_name="skylaunch.task.routed")
        def routed() -> None:
            app.session["routed"].logger.info("a line of my own")

        @app.task(daily)
        def plain() -> None: ...

        run_until(app, "2024-01-01 00:10")
        seen = [(r.name, getattr(r, "action", None), r.getMessage()) for r in keep.records]
        assert seen == [
            ("skylaunch.task.routed", "run", "Task 'routed' status: 'run'"),
            ("skylaunch.task.routed", None, "a line of my own"),
            ("skylaunch.task.routed", "success", "Task 'routed' status: 'success'"),
        ]
        # Propagated to the task logger: the repo has them, and reads them back at start-up.
        stored = [r.action for r in app.session.get_task_log(task_name="routed")]
        assert stored == ["run", "success"]
        assert [r.action for r in app.session["routed"].logger.get_records()] == stored
        again = simulated_app("2024-01-01 00:20")
        again.session.set_repo(CSVFileRepo(filename=tmp_path / "tasks.csv", model=TaskRunRecord))
        again.task(daily, name="routed", logger_name="skylaunch.task.routed")(lambda: None)
        run_until(again, "2024-01-01 00:30")
        assert runs(again, "routed") == runs(app, "routed")  # daily: done for today
    finally:
        own.removeHandler(keep)


# --- a repo that hangs -----------------------------------------------------------------------


class Hanging:
    """A repo of your own whose writes wait for ``gate`` (a lock held elsewhere)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.gate = threading.Event()
        self.writer_threads: set[str] = set()

    def add(self, item: dict[str, Any]) -> None:
        self.writer_threads.add(threading.current_thread().name)
        self.gate.wait(30)
        self.items.append(item)

    def filter_by(self, **query: Any) -> Any:
        found = [i for i in self.items if all(i.get(k) == v for k, v in query.items())]

        class Result:
            def all(self) -> list[dict[str, Any]]:
                return found

        return Result()


def test_a_hanging_repo_never_holds_the_scheduler() -> None:
    repo = Hanging()
    # Runs do not wait for their run record here (each would wait run_record_wait): this is
    # about the loop; tests/test_durable_start.py covers the wait.
    app = app_on(repo, "2024-01-01 09:00", run_record_wait=0)
    handler = app.session.journal.handler
    assert handler is not None
    assert handler.background
    try:
        ran: list[int] = []
        app.task("every 1 minute", name="tick")(lambda: ran.append(1))
        app.session.log_flush_timeout_s = 0.0
        started = time.monotonic()
        run_until(app, "2024-01-01 10:00")
        assert time.monotonic() - started < 10  # the first write waits 30 s; nothing else did
        assert len(ran) == 60
        assert threading.current_thread().name not in repo.writer_threads
        assert handler.pending == 120  # run + success of every run, in order, waiting
        repo.gate.set()
        assert handler.flush(10)
        assert [i["action"] for i in repo.items] == ["run", "success"] * 60
    finally:
        repo.gate.set()
