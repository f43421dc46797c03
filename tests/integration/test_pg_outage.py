"""A scheduler whose PostgreSQL repo goes away mid-run and comes back: nothing lost or doubled.

The scheduler runs on a simulated clock (many runs in little real time); the outage is real:
the repo's connections are terminated from another session, or the table is locked by one.
After the run the repo must hold exactly what the in-memory history says ran.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch.exc import RepoUnavailableError, TaskLoggingError
from skylaunch.log import RepoHandler, TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, normalize_url
from skylaunch.testing import run_until, simulated_app

pytestmark = pytest.mark.pg


@pytest.fixture
def table(pg_url: str) -> Iterator[str]:
    name = f"outage_{uuid.uuid4().hex[:10]}"
    yield name
    engine = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    engine.dispose()


def stored(repo: SQLRepo) -> Counter[tuple[str, str, str]]:
    with repo.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f'SELECT task_name, action, run_id FROM "{repo.table_name}"'
        ).fetchall()
    return Counter((t, a, r) for t, a, r in rows)


def ran(app: Any, repo: SQLRepo) -> None:
    """The repo holds each (task, action, run_id) exactly once, as many as the history has."""
    got = stored(repo)
    assert max(got.values()) == 1, [k for k, n in got.items() if n > 1]
    log = app.session.history.of("tick")
    assert sum(1 for k in got if k[1] == "run") == log.count("run")
    assert sum(1 for k in got if k[1] == "success") == log.count("success")
    run_ids = {r for _, a, r in got if a == "run"}
    assert run_ids == {r for _, a, r in got if a == "success"}  # every run has its end


def scheduler_with(
    repo: SQLRepo, outage: Callable[[int], None], **config: Any
) -> tuple[Any, list[int]]:
    # run_record_wait=0: the outage hooks run inside the bodies and expect the records of the
    # run to be still queued then; with the default, a body starts only once its run record
    # is stored (tests/test_durable_start.py, tests/integration/test_durable_start.py).
    app = simulated_app("2024-01-01 09:00", **{"run_record_wait": 0, **config})
    app.session.set_repo(repo)
    app.session.log_flush_timeout_s = 10.0
    calls: list[int] = []

    def tick() -> None:
        calls.append(1)
        outage(len(calls))

    app.task("every 1 minute", name="tick")(tick)
    return app, calls


def terminate(pg_url: str, application_name: str) -> int:
    killer = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    with killer.begin() as conn:
        killed = conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND application_name = %s",
            (application_name,),
        ).fetchall()
    killer.dispose()
    return len(killed)


@pytest.mark.parametrize("silence", [True, False])
def test_connections_terminated_mid_run(pg_url: str, table: str, silence: bool) -> None:
    victim = f"skylaunch-{table}"
    engine = sa.create_engine(normalize_url(pg_url), connect_args={"application_name": victim})
    repo = SQLRepo(TaskRunRecord, engine=engine, table=table, if_missing="create")
    killed: list[int] = []

    def outage(n: int) -> None:
        if n in (5, 12):
            killed.append(terminate(pg_url, victim))
        elif n == 6:
            # Records are written from the handler's thread: let it find the dead connection
            # (the records of run 5 are queued) before the scheduler logs another record.
            handler = app.session.journal.handler
            deadline = time.monotonic() + 10
            while handler is not None and not handler.failing and time.monotonic() < deadline:
                time.sleep(0.001)

    app, calls = scheduler_with(repo, outage, silence_task_logging=silence)
    try:
        if silence:
            run_until(app, "2024-01-01 09:30")
            assert len(calls) == 30  # went on during the outages
        else:
            with pytest.raises(TaskLoggingError, match="unavailable"):
                run_until(app, "2024-01-01 09:30")
            # Stopped after the first pass that saw the repo away: the writer met the dead
            # connection with the records of run 5 (during it, or before run 6 logged).
            assert len(calls) in (5, 6)
        assert killed[0] >= 1, "no repo connection was terminated"
        handler = app.session.journal.handler
        assert isinstance(handler, RepoHandler)
        assert isinstance(handler.last_error, RepoUnavailableError)
        assert handler.pending == 0  # written by the retries or the shutdown flush
        ran(app, repo)
    finally:
        engine.dispose()


def test_table_locked_mid_run(pg_url: str, table: str) -> None:
    engine = sa.create_engine(
        normalize_url(pg_url), connect_args={"options": "-c lock_timeout=100"}
    )
    repo = SQLRepo(TaskRunRecord, engine=engine, table=table, if_missing="create")
    locker_engine = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    locker = locker_engine.connect()

    def outage(n: int) -> None:
        if n == 5:
            locker.exec_driver_sql(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        elif n == 6:
            # The scheduler does not wait for the repo: give the handler's thread time to
            # meet the lock (each attempt ends by lock_timeout) while the lock is held. The
            # end of run 5 was logged after the lock was taken, so it is still waiting.
            handler = app.session.journal.handler
            assert handler is not None
            assert handler.flush(0.5) is False
        elif n == 9:
            locker.rollback()  # releases the lock

    app, calls = scheduler_with(repo, outage, silence_task_logging=True)
    try:
        run_until(app, "2024-01-01 09:20")
        assert len(calls) == 20
        handler = app.session.journal.handler
        assert isinstance(handler, RepoHandler)
        assert isinstance(handler.last_error, RepoUnavailableError)
        assert "lock" in str(handler.last_error)
        assert handler.pending == 0
        ran(app, repo)
    finally:
        locker.close()
        locker_engine.dispose()
        engine.dispose()
