"""Starting against a database that does not answer, and many processes creating one table.

A black hole is :class:`~tests.integration.relay.Relay` in front of the real PostgreSQL: it
accepts connections and never answers, as a server behind a dead network link does. Before
connect timeouts, start-up waited psycopg's 130 s default; it must now end with a clear
error after ``SQLTimeouts.connect_s``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch.exc import RepoUnavailableError, TaskLoggingError
from skylaunch.log import RepoHandler, TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, SQLTimeouts, normalize_url
from skylaunch.testing import run_until, runs, simulated_app
from tests.conftest import PG_URL, _reachable

from .relay import Relay

pytestmark = [pytest.mark.pg, pytest.mark.slow]


@pytest.fixture
def relay() -> Iterator[Relay]:
    with Relay(5432) as relay:
        yield relay


@pytest.fixture
def pg_table(pg_url: str) -> Iterator[str]:
    name = f"connect_{uuid.uuid4().hex[:10]}"
    yield name
    engine = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    engine.dispose()


@dataclass
class Waiting:
    """A start-up against a black hole with the default timeouts, in a thread of its own."""

    relay: Relay
    thread: threading.Thread
    outcome: dict[str, Any]

    @classmethod
    def start(cls) -> Waiting:
        relay = Relay(5432)
        relay.black_hole()
        outcome: dict[str, Any] = {}

        def start_up() -> None:
            started = time.monotonic()
            try:
                SQLRepo(
                    TaskRunRecord,
                    conn_string=_through(PG_URL, relay),
                    table="t",
                    if_missing="create",
                )
            except Exception as exc:
                outcome["error"] = exc
            outcome["elapsed"] = time.monotonic() - started

        thread = threading.Thread(target=start_up, name="default-start-up", daemon=True)
        thread.start()
        return cls(relay, thread, outcome)

    def close(self) -> None:
        self.thread.join(30)
        self.relay.close()


@pytest.fixture(scope="module", autouse=True)
def early_start_up(request: pytest.FixtureRequest) -> Iterator[Waiting | None]:
    """Started before the module's first test when the last test is selected: the 10 s that
    the start-up with the default timeouts waits for nothing pass while the others run."""
    wanted = any(
        item.name == "test_default_timeouts_end_start_up_within_15_s"
        and item.path.name == Path(__file__).name
        for item in request.session.items
    )
    if not wanted or not _reachable(PG_URL, 5432):
        yield None  # the test starts it itself, or skips (under CI fails) without a server
        return
    waiting = Waiting.start()
    try:
        yield waiting
    finally:
        waiting.close()


def _through(pg_url: str, relay: Relay) -> str:
    """``pg_url`` with its host and port replaced by the relay's."""
    url = sa.make_url(normalize_url(pg_url))
    return url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)


APP = """
import sys
from skylaunch import App
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, SQLTimeouts

repo = SQLRepo(
    TaskRunRecord, conn_string=sys.argv[1], table="task_log", if_missing="create",
    timeouts=SQLTimeouts(connect_s=float(sys.argv[2])),
)
app = App(logger_repo=repo, config={"shut_cond": "true"})

@app.task("every 1 second")
def tick():
    pass

app.run()
print("ran")
"""


def test_app_start_up_against_a_black_hole_ends_with_a_clear_error(
    pg_url: str, relay: Relay
) -> None:
    relay.black_hole()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", APP, _through(pg_url, relay), "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("skylaunch.exc.RepoUnavailableError: postgresql+psycopg://"), last
    assert "connection timeout expired (no answer within SQLTimeouts.connect_s=3" in last
    assert relay.connections >= 1  # it did reach the black hole
    assert elapsed < 3 + 10, elapsed  # connect_s plus the interpreter's start-up


def test_the_same_app_starts_once_the_relay_forwards(
    pg_url: str, relay: Relay, pg_table: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", APP.replace("task_log", pg_table), _through(pg_url, relay), "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ran"


def test_cut_connections_are_unavailable_then_recover(
    pg_url: str, relay: Relay, pg_table: str
) -> None:
    repo = SQLRepo(
        TaskRunRecord,
        conn_string=_through(pg_url, relay),
        table=pg_table,
        if_missing="create",
        timeouts=SQLTimeouts(connect_s=2),
    )
    record = {"task_name": "a", "action": "run", "created": 1.0, "message": ""}
    try:
        repo.add(record)
        relay.cut()
        with pytest.raises(RepoUnavailableError, match="is unavailable"):
            repo.add(record)
        relay.forward()
        repo.add(record)
        assert repo.filter_by(task_name="a").count() == 2
    finally:
        repo.engine.dispose()


def test_buffer_builds_against_a_black_hole_and_the_scheduler_starts_when_it_answers(
    pg_url: str, relay: Relay, pg_table: str
) -> None:
    relay.black_hole()
    started = time.monotonic()
    repo = SQLRepo(
        TaskRunRecord,
        conn_string=_through(pg_url, relay),
        table=pg_table,
        if_missing="create",
        if_unavailable="buffer",
        timeouts=SQLTimeouts(connect_s=2),
    )
    assert time.monotonic() - started < 2 + 3
    assert not repo.ready
    with pytest.raises(RepoUnavailableError, match="still unavailable"):
        repo.add({"task_name": "a", "action": "run", "created": 1.0, "message": ""})

    app = simulated_app("2024-01-01 09:00", silence_task_logging=True)
    app.session.set_repo(repo)
    app.session.log_flush_timeout_s = 0.1

    @app.task("every 1 minute")
    def tick() -> None:
        pass

    try:
        # The history cannot be read: the scheduler does not start from an empty one, even
        # with silence_task_logging=True (a daily task would run again what it already did).
        with pytest.raises(TaskLoggingError, match="even with silence_task_logging=True"):
            run_until(app, "2024-01-01 09:05")
        assert runs(app, "tick") == []
        relay.forward()
        time.sleep(1.1)  # set-up attempts are a second apart
        run_until(app, "2024-01-01 09:05")
        ran = len(runs(app, "tick"))
        assert ran >= 5
        handler = app.session.journal.handler
        assert isinstance(handler, RepoHandler)
        assert handler.flush(timeout=30)
        assert repo.ready
        assert repo.filter_by(task_name="tick").count() == 2 * ran
    finally:
        repo.engine.dispose()


CREATE = """
import os, sys, time, traceback
import sqlalchemy as sa
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, normalize_url
url, table, processes = sys.argv[1], sys.argv[2], int(sys.argv[3])
sa.make_url(normalize_url(url)).get_dialect()  # the driver is imported before the race too
at = time.time() + 0.3
children = []
for _ in range(processes):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            time.sleep(max(0.0, at - time.time()))
            SQLRepo(TaskRunRecord, conn_string=url, table=table, if_missing="create").engine.dispose()
        except BaseException as exc:
            print(traceback.format_exception_only(type(exc), exc)[-1].strip(), flush=True)
            code = 1
        os._exit(code)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""


def _create_at_once(url: str, table: str, processes: int = 8) -> list[str]:
    """Run ``processes`` processes that create ``table`` at the same instant; their errors.

    One interpreter imports skylaunch and the database driver, then forks the creators (one
    import instead of eight: on two cores the imports took seconds); each one waits for the
    same instant, then creates the table on connections of its own.
    """
    done = subprocess.run(
        [sys.executable, "-c", CREATE, url, table, str(processes)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_eight_processes_create_one_sqlite_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    assert _create_at_once(url, "task_log") == []
    repo = SQLRepo(TaskRunRecord, conn_string=url, table="task_log")
    assert repo.filter_by().count() == 0
    repo.engine.dispose()


def test_eight_processes_create_one_postgres_table(pg_url: str, pg_table: str) -> None:
    assert _create_at_once(pg_url, pg_table) == []


def test_default_timeouts_end_start_up_within_15_s(
    pg_url: str, early_start_up: Waiting | None
) -> None:
    # last in the module: its start-up began before the first test (fixture early_start_up)
    waiting = early_start_up or Waiting.start()
    try:
        waiting.thread.join(30)
        assert not waiting.thread.is_alive(), "the start-up still waits after 30 s"
    finally:
        if early_start_up is None:
            waiting.close()
    error = waiting.outcome.get("error")
    assert isinstance(error, RepoUnavailableError), error
    assert "connect_s=10" in str(error)
    assert waiting.relay.connections >= 1  # it did reach the black hole
    assert 9 <= waiting.outcome["elapsed"] < 15
