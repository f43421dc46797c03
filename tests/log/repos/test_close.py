"""Repos release what they opened: close(), ``with``, a failed construction, garbage collection;
and never what the caller gave them."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch.exc import RepoSchemaError
from skylaunch.log import CSVFileRepo, MemoryRepo, MinimalRecord
from skylaunch.log.repos import sql as sql_module
from skylaunch.log.repos.sql import SQLRepo

ROOT = Path(__file__).parents[3]
RECORD = {"task_name": "x", "action": "run", "created": 1.0}


def pooled(engine: Any) -> int:
    """Connections the engine's pool holds open (0 once it was disposed)."""
    return int(engine.pool.checkedin())


def test_close_disposes_an_engine_the_repo_built(tmp_path: Path) -> None:
    repo = SQLRepo(
        MinimalRecord, conn_string=f"sqlite:///{tmp_path / 'a.db'}", table="t", if_missing="create"
    )
    repo.add(RECORD)
    assert pooled(repo.engine) == 1
    repo.close()
    assert pooled(repo.engine) == 0
    repo.close()  # twice is fine
    assert repo.filter_by().count() == 1  # used again, it reconnects
    repo.close()


def test_with_block_closes_and_a_given_engine_stays_open(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with SQLRepo(MinimalRecord, engine=engine, table="t", if_missing="create") as repo:
        assert isinstance(repo, SQLRepo)
        repo.add(RECORD)
    assert pooled(engine) == 1  # the caller's engine: not ours to dispose
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    engine.dispose()


def test_a_failed_construction_disposes_the_engine_it_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    real = sql_module._engine_from_url

    def spy(url: str, *args: Any) -> Any:
        built.append(real(url, *args))
        return built[-1]

    monkeypatch.setattr(sql_module, "_engine_from_url", spy)
    with pytest.raises(RepoSchemaError, match="does not exist"):
        SQLRepo(MinimalRecord, conn_string=f"sqlite:///{tmp_path / 'a.db'}", table="absent")
    assert pooled(built[0]) == 0


def test_a_forgotten_repo_disposes_its_engine_when_collected(tmp_path: Path) -> None:
    repo = SQLRepo(
        MinimalRecord, conn_string=f"sqlite:///{tmp_path / 'a.db'}", table="t", if_missing="create"
    )
    engine = repo.engine
    assert pooled(engine) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del repo
        gc.collect()
    assert pooled(engine) == 0
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize("kind", ["memory", "csv"])
def test_memory_and_csv_repos_close_and_keep_their_records(tmp_path: Path, kind: str) -> None:
    repo: Any = (
        MemoryRepo(MinimalRecord)
        if kind == "memory"
        else CSVFileRepo(tmp_path / "a.csv", model=MinimalRecord)
    )
    with repo as entered:
        assert entered is repo
        repo.add(RECORD)
    repo.close()
    assert repo.filter_by().count() == 1


def test_the_suite_fails_on_a_resource_warning_raised_in_del(tmp_path: Path) -> None:
    """An unclosed file or connection found by the garbage collector fails the test suite:
    pytest's unraisable-exception hook meets ``filterwarnings = ["error"]``."""
    test = tmp_path / "test_leak.py"
    test.write_text(
        textwrap.dedent(
            """
            def test_leaks_a_file():
                open(__file__)  # never closed: ResourceWarning from its __del__
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--no-cov",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            str(test),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ResourceWarning: unclosed file" in result.stdout


@pytest.mark.pg
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_end_the_parents_connections(pg_url: str) -> None:
    """The finalizer running in a forked child only forgets the pooled connections: closing a
    PostgreSQL connection there would say goodbye to the server on the parent's socket."""
    table = f"t_close_{os.getpid()}"
    repo = SQLRepo(MinimalRecord, conn_string=pg_url, table=table, if_missing="create")
    try:
        repo.add(RECORD)
        (record,) = list(repo.engine.pool._pool.queue)  # type: ignore[attr-defined]
        connection = record.dbapi_connection
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads around
            pid = os.fork()
        if pid == 0:  # the child: its copy of the repo is collected
            try:
                del repo
                gc.collect()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
        connection.rollback()
    finally:
        repo.table.drop(repo.engine, checkfirst=True)
        repo.close()
