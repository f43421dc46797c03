"""Durable start on a real database: a SIGKILLed scheduler never doubles a ``daily`` run.

The scheduler (``durable_app.py``) runs in a subprocess on PostgreSQL. The test holds
``LOCK TABLE ... IN EXCLUSIVE MODE`` on its records table (reads pass, inserts wait), so the
``run`` record of the ``daily`` task cannot be stored; as soon as that insert is seen waiting on
the lock the scheduler is SIGKILLed, and started again, ``kills`` times. Then the lock is
released and the last scheduler runs until the task's success shuts it down. (The server process of a killed
scheduler's insert waits on until the lock is released, then finds its client gone and rolls
back: nothing of a killed scheduler is committed.) The body appends its pid to a file: with the default ``run_record_wait`` it ran exactly once in all; with
``run_record_wait=0`` (the run starts before its record is stored) it ran once per scheduler.
``python -m tests.integration.test_durable_start [KILLS]`` prints the figures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, normalize_url

from ._proc import child_env

APP = Path(__file__).with_name("durable_app.py")
TIMEOUT_S = 30.0
#: After the insert is seen waiting, the time a body that does not wait needs to run (a
#: process child starts a new interpreter first).
_BODY_CHANCE_S = {"thread": 0.5, "process": 3.0}

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@contextmanager
def _table(pg_url: str) -> Iterator[tuple[sa.Engine, str]]:
    url = sa.make_url(normalize_url(pg_url))
    name = f"durable_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    SQLRepo(TaskRunRecord, engine=engine, table=name, if_missing="create")
    try:
        yield engine, name
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        engine.dispose()


def _start(
    url: str, table: str, workdir: Path, wait: str, execution: str
) -> subprocess.Popen[bytes]:
    env = child_env()
    with open(workdir / "stderr.txt", "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, str(APP), url, table, str(workdir), wait, execution],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )


def _inserts_waiting(engine: sa.Engine, table: str) -> set[int]:
    """The server processes whose statement waits for a lock on ``table``."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
                    "WHERE c.relname = :name AND NOT l.granted"
                ),
                {"name": table},
            ).scalars()
        )


def _bodies(workdir: Path) -> list[int]:
    try:
        return [int(line) for line in (workdir / "body.txt").read_text().split()]
    except FileNotFoundError:
        return []


def probe_kills(
    pg_url: str, workdir: Path, *, kills: int, wait: str, execution: str = "thread"
) -> dict[str, Any]:
    """SIGKILL the scheduler ``kills`` times while its run record waits on a table lock."""
    with _table(pg_url) as (engine, table):
        url = engine.url.render_as_string(hide_password=False)
        locker = engine.connect()
        killed_unstored = 0
        try:
            locker.exec_driver_sql(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
            for _ in range(kills):
                # A killed scheduler's insert stays waiting in its server process until the
                # lock goes or its lock timeout ends it: only a new server process waiting is
                # this scheduler's (counting waiters was wrong when an old one timed out).
                stale = _inserts_waiting(engine, table)
                proc = _start(url, table, workdir, wait, execution)
                try:
                    deadline = time.monotonic() + TIMEOUT_S
                    while not _inserts_waiting(engine, table) - stale:
                        if proc.poll() is not None or time.monotonic() > deadline:
                            stderr = (workdir / "stderr.txt").read_text(errors="replace")
                            raise AssertionError(f"no insert waited on the lock: {stderr}")
                        time.sleep(0.02)
                    time.sleep(_BODY_CHANCE_S[execution])
                    killed_unstored += bool(_inserts_waiting(engine, table) - stale)
                finally:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=TIMEOUT_S)
            during = len(_bodies(workdir))
        finally:
            locker.rollback()
            locker.close()
        proc = _start(url, table, workdir, wait, execution)
        try:
            code = proc.wait(timeout=TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=TIMEOUT_S)
        with engine.connect() as conn:
            actions = [
                row[0]
                for row in conn.exec_driver_sql(
                    f"SELECT action FROM \"{table}\" WHERE task_name = 'work' ORDER BY created"
                )
            ]
    return {
        "kills": kills,
        "killed_with_record_unstored": killed_unstored,
        "bodies_before_restart": during,
        "bodies_in_all": len(_bodies(workdir)),
        "last_exit_code": code,
        "stored_actions": actions,
    }


@pytest.mark.pg
@pytest.mark.slow
@pytest.mark.parametrize("execution", ["thread", "process"])
def test_a_sigkilled_scheduler_never_runs_a_daily_task_twice(
    pg_url: str, tmp_path: Path, execution: str
) -> None:
    found = probe_kills(pg_url, tmp_path, kills=3, wait="default", execution=execution)
    # the probe hit the window at least once (under load a kill may land just after it)
    assert found["killed_with_record_unstored"] >= 1, found
    assert found["bodies_before_restart"] == 0, found
    assert found["bodies_in_all"] == 1, found
    assert found["last_exit_code"] == 0, found
    assert found["stored_actions"] == ["run", "success"], found


@pytest.mark.pg
@pytest.mark.slow
def test_without_the_wait_the_same_probe_runs_it_once_per_scheduler(
    pg_url: str, tmp_path: Path
) -> None:
    # The control: the probe does catch a doubled run (what run_record_wait=0 gives).
    found = probe_kills(pg_url, tmp_path, kills=2, wait="0")
    assert found["killed_with_record_unstored"] >= 1, found
    # each kill that hit the window ran the body once more
    assert found["bodies_in_all"] == 1 + found["killed_with_record_unstored"], found


if __name__ == "__main__":
    import tempfile

    pg = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for how in ("default", "0"):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"run_record_wait={how}:", probe_kills(pg, Path(tmp), kills=n, wait=how))
