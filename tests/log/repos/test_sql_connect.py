"""SQLRepo's connections: bounded waits, settings errors told apart from outages, racing creators."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch.exc import RepoConfigError, RepoSchemaError, RepoUnavailableError
from skylaunch.log import MinimalRecord, TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, SQLTimeouts, _config_problem, normalize_url

from .conftest import unique_table


@pytest.fixture
def pg_table(pg_url: str) -> Iterator[str]:
    name = unique_table()
    yield name
    engine = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    engine.dispose()


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


# -- timeouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connect_s": 0}, "connect_s: got 0"),
        ({"statement_s": -1.5}, "statement_s: got -1.5"),
        ({"lock_s": True}, "lock_s: got True"),
        ({"socket_s": "10"}, "socket_s: got '10'"),
        ({"connect_s": float("inf")}, "use None for no limit"),
    ],
)
def test_bad_timeouts_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SQLTimeouts(**kwargs)


def test_timeouts_need_a_url(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(TypeError, match="timeouts= applies to conn_string="):
        SQLRepo(MinimalRecord, engine=engine, table="t", timeouts=SQLTimeouts())
    engine.dispose()


def test_default_connect_timeout_bounds_start_up_within_15_s() -> None:
    connect_s = SQLTimeouts().connect_s
    assert connect_s is not None
    assert connect_s <= 15


@pytest.mark.pg
def test_postgres_sessions_get_the_timeouts(pg_url: str, pg_table: str) -> None:
    repo = SQLRepo(
        MinimalRecord,
        conn_string=pg_url,
        table=pg_table,
        if_missing="create",
        timeouts=SQLTimeouts(connect_s=3, statement_s=1.5, lock_s=0.25, socket_s=12),
    )
    try:
        with repo.engine.connect() as conn:
            shown = {
                name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                for name in ("statement_timeout", "lock_timeout")
            }
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert shown == {"statement_timeout": "1500ms", "lock_timeout": "250ms"}
        client = {
            key: params.get(key)
            for key in ("connect_timeout", "keepalives_idle", "tcp_user_timeout")
        }
        assert client == {
            "connect_timeout": "3",
            "keepalives_idle": "6",
            "tcp_user_timeout": "12000",
        }
        with (
            pytest.raises(sa.exc.OperationalError, match="statement timeout"),
            repo.engine.connect() as conn,
        ):
            conn.exec_driver_sql("SELECT pg_sleep(5)")
    finally:
        repo.engine.dispose()


@pytest.mark.pg
def test_what_the_url_sets_wins(pg_url: str, pg_table: str) -> None:
    url = _with_query(pg_url, "options=-c%20statement_timeout%3D7s%20-c%20work_mem%3D8MB")
    url = _with_query(url, "connect_timeout=4")
    repo = SQLRepo(MinimalRecord, conn_string=url, table=pg_table, if_missing="create")
    try:
        with repo.engine.connect() as conn:
            got = [
                conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                for name in ("statement_timeout", "work_mem", "lock_timeout")
            ]
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert got == ["7s", "8MB", "10s"]  # the URL's, the URL's, ours
        assert params["connect_timeout"] == "4"
    finally:
        repo.engine.dispose()


@pytest.mark.pg
def test_none_leaves_the_server_default(pg_url: str, pg_table: str) -> None:
    repo = SQLRepo(
        MinimalRecord,
        conn_string=pg_url,
        table=pg_table,
        if_missing="create",
        timeouts=SQLTimeouts(connect_s=None, statement_s=None, lock_s=None, socket_s=None),
    )
    try:
        with repo.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar_one() == "0"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar_one() == "0"
    finally:
        repo.engine.dispose()


def test_sqlite_waits_lock_s_for_a_locked_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    repo = SQLRepo(
        MinimalRecord,
        conn_string=f"sqlite:///{path}",
        table="t",
        if_missing="create",
        timeouts=SQLTimeouts(lock_s=0.3),
    )
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(RepoUnavailableError, match="locked"):
            repo.add({"task_name": "a", "action": "run", "created": 1.0})
        waited = time.monotonic() - started
        assert 0.25 <= waited < 3  # sqlite3's default would be 5 s
    finally:
        holder.rollback()
        holder.close()
        repo.engine.dispose()


def test_if_unavailable_is_checked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ValueError, match="if_unavailable must be 'raise' or 'buffer'; got 'wait'"):
        SQLRepo(MinimalRecord, conn_string=url, table="t", if_unavailable="wait")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="if_unavailable='buffer' needs a model"):
        SQLRepo(conn_string=url, table="t", if_unavailable="buffer")


def test_buffer_waits_for_the_database_then_sets_up(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    url = f"sqlite:///{folder / 'x.db'}"  # SQLite cannot open a file in a missing folder
    with pytest.raises(RepoUnavailableError):
        SQLRepo(MinimalRecord, conn_string=url, table="t", if_missing="create")
    repo = SQLRepo(
        MinimalRecord, conn_string=url, table="t", if_missing="create", if_unavailable="buffer"
    )
    assert not repo.ready
    record = {"task_name": "a", "action": "run", "created": 1.0}
    with pytest.raises(RepoUnavailableError, match="unable to open database file"):
        repo.add(record)
    with pytest.raises(RepoUnavailableError, match="still unavailable"):  # no new attempt yet
        repo.filter_by(task_name="a").count()
    folder.mkdir()
    repo._next_setup = 0.0  # the next attempt is due
    repo.add(record)
    assert repo.ready
    assert repo.filter_by(task_name="a").count() == 1
    repo.engine.dispose()


@pytest.mark.pg
def test_buffer_still_raises_settings_errors(pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/no_such_db_skylaunch"
    with pytest.raises(RepoConfigError, match="the database does not exist"):
        SQLRepo(
            TaskRunRecord, conn_string=url, table="t", if_missing="create", if_unavailable="buffer"
        )


# -- settings the server refuses ----------------------------------------------------------------


@pytest.mark.pg
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda url: url.rsplit("/", 1)[0] + "/no_such_db_skylaunch",
            "the database does not exist",
        ),
        (
            lambda url: (
                url.replace("://", "://no_such_role_skylaunch@", 1)
                if "@" not in url
                else "postgresql://no_such_role_skylaunch@" + url.split("@", 1)[1]
            ),
            "the role (user) does not exist",
        ),
        (
            lambda url: "postgresql://postgres@no-such-host.invalid:5432/test",
            "the host name does not resolve",
        ),
    ],
    ids=["database", "role", "host"],
)
def test_wrong_settings_are_config_errors_at_once(pg_url: str, change: Any, problem: str) -> None:
    started = time.monotonic()
    with pytest.raises(RepoConfigError) as info:
        SQLRepo(TaskRunRecord, conn_string=change(pg_url), table="t", if_missing="create")
    assert time.monotonic() - started < 5
    assert info.value.problem == problem
    assert "not retried" in str(info.value)
    assert not isinstance(info.value, RepoUnavailableError)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            'FATAL:  password authentication failed for user "me"',
            "the server refused the password",
        ),
        ("FATAL: no pg_hba.conf entry for host", "the server's pg_hba.conf does not let"),
        ("fe_sendauth: no password supplied", "the server wants a password"),
        ('FATAL: permission denied for database "x"', "the role may not connect"),
        ('could not translate host name "db" to address: Name or service not known', "host"),
        ("failed to resolve host 'db': [Errno -3] Temporary failure in name resolution", None),
        ("connection timeout expired", None),
        ("FATAL: the database system is starting up", None),
        ("FATAL: sorry, too many clients already", None),
    ],
)
def test_config_problems_are_told_from_outages(message: str, problem: str | None) -> None:
    found = _config_problem(message)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_bad_url_is_a_value_error_without_the_secret() -> None:
    with pytest.raises(ValueError, match="is not a valid URL") as info:
        SQLRepo(MinimalRecord, conn_string="postgresql://u:hunter22@h:port/db", table="t")
    assert "hunter22" not in str(info.value)
    assert info.value.__cause__ is None


# -- two creators at once -----------------------------------------------------------------------


def _create_in_thread(**kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def build() -> None:
        try:
            outcome.append(SQLRepo(TaskRunRecord, if_missing="create", **kwargs))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    return thread, outcome


def _ddl(table: str, dialect: sa.engine.Dialect) -> list[str]:
    """The DDL SQLRepo itself would run for a TaskRunRecord table (the other creator)."""
    probe = sa.create_engine("sqlite://")
    repo = SQLRepo(TaskRunRecord, engine=probe, table=table, if_missing="create")
    ddl = [str(sa.schema.CreateTable(repo.table).compile(dialect=dialect))]
    ddl += [str(sa.schema.CreateIndex(i).compile(dialect=dialect)) for i in repo.table.indexes]
    probe.dispose()
    return ddl


def test_sqlite_creator_that_loses_the_race_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    url = f"sqlite:///{path}"
    SQLRepo(MinimalRecord, conn_string=url, table="other", if_missing="create").engine.dispose()
    winner = sqlite3.connect(path, isolation_level=None)
    winner.execute("BEGIN IMMEDIATE")
    for statement in _ddl("task_log", sa.dialects.sqlite.dialect()):  # type: ignore[attr-defined]
        winner.execute(statement)
    # The loser sees no table yet (WAL: the winner has not committed) and tries to create it.
    thread, outcome = _create_in_thread(conn_string=url, table="task_log")
    time.sleep(0.5)
    winner.execute("COMMIT")
    winner.close()
    thread.join(30)
    repo = outcome[0]
    assert isinstance(repo, SQLRepo), repo
    repo.add({"task_name": "a", "action": "run", "created": 1.0, "message": ""})
    assert repo.filter_by(task_name="a").count() == 1
    repo.engine.dispose()


@pytest.mark.pg
def test_postgres_creator_that_loses_the_race_succeeds(pg_url: str, pg_table: str) -> None:
    url = normalize_url(pg_url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    winner = engine.connect()
    transaction = winner.begin()
    for statement in _ddl(pg_table, engine.dialect):
        winner.exec_driver_sql(statement)
    # The loser does not see the uncommitted table; its CREATE waits for the winner's commit,
    # then fails (a unique violation on pg_type): the repo must take the winner's table.
    thread, outcome = _create_in_thread(conn_string=url, table=pg_table)
    time.sleep(1.0)
    transaction.commit()
    winner.close()
    thread.join(30)
    try:
        repo = outcome[0]
        assert isinstance(repo, SQLRepo), repo
        repo.add({"task_name": "a", "action": "run", "created": 1.0, "message": ""})
        assert repo.filter_by(task_name="a").count() == 1
        repo.engine.dispose()
    finally:
        engine.dispose()


@pytest.mark.pg
def test_race_winner_with_another_layout_is_still_checked(pg_url: str, pg_table: str) -> None:
    url = normalize_url(pg_url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    winner = engine.connect()
    transaction = winner.begin()
    winner.exec_driver_sql(f'CREATE TABLE "{pg_table}" (id BIGSERIAL PRIMARY KEY, task_name TEXT)')
    thread, outcome = _create_in_thread(conn_string=url, table=pg_table)
    time.sleep(1.0)
    transaction.commit()
    winner.close()
    thread.join(30)
    engine.dispose()
    assert isinstance(outcome[0], RepoSchemaError)
    assert "lacks the column(s)" in str(outcome[0])
