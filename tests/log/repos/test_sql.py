"""SQLRepo specifics: schema checks, indexes, URLs, connection failures (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from skylaunch.exc import (
    RepoSchemaError,
    RepoSchemaWarning,
    RepoUnavailableError,
    TaskLoggingError,
)
from skylaunch.log import MinimalRecord, MinimalRunRecord, RepoHandler, RunRecord, TaskRunRecord
from skylaunch.log.query import Equal, GreaterEqual, Query
from skylaunch.log.repos.sql import SQLRepo, normalize_url

from .conftest import unique_table


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Any:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    yield engine
    engine.dispose()


def test_normalize_url() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_needs_exactly_one_of_engine_and_conn_string(sqlite_engine: Any) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        SQLRepo(MinimalRecord, table="t")
    with pytest.raises(TypeError, match="exactly one"):
        SQLRepo(MinimalRecord, table="t", engine=sqlite_engine, conn_string="sqlite://")


def test_missing_table_raises_unless_create(sqlite_engine: Any) -> None:
    with pytest.raises(RepoSchemaError, match=r"'absent' does not exist.*if_missing='create'"):
        SQLRepo(MinimalRecord, engine=sqlite_engine, table="absent")
    with pytest.raises(ValueError, match="if_missing"):
        SQLRepo(MinimalRecord, engine=sqlite_engine, table="absent", if_missing="maybe")  # type: ignore[arg-type]


def test_table_missing_model_columns_is_a_schema_error(sqlite_engine: Any) -> None:
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE short (id INTEGER PRIMARY KEY, task_name TEXT)")
    with pytest.raises(
        RepoSchemaError,
        match=r"lacks the column\(s\) \['action', 'created'\] that task records need",
    ):
        SQLRepo(MinimalRecord, engine=sqlite_engine, table="short")


def test_fields_without_a_column_are_not_stored_and_said_once(sqlite_engine: Any) -> None:
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE log (id INTEGER PRIMARY KEY, created FLOAT, task_name TEXT, "
            "run_id TEXT, action TEXT)"
        )
    with pytest.warns(RepoSchemaWarning) as said:
        repo = SQLRepo(RunRecord, engine=sqlite_engine, table="log", id_field="id")
    assert len(said) == 1
    message = str(said[0].message)
    assert "'levelname'" in message
    assert "'formatted_message'" in message
    assert "'run_id'" not in message.split(": they are not stored")[0]
    assert set(repo.fields) == {"task_name", "action", "created", "run_id", "id"}
    handler = RepoHandler(repo)
    logger = logging.getLogger("skylaunch.test.sql.unstored")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        logger.info("hi", extra={"task_name": "t", "action": "run", "run_id": "r1"})
        assert handler.flush(timeout=10)
    finally:
        logger.removeHandler(handler)
        handler.close()
    (item,) = repo.filter_by(task_name="t").all()
    assert (item.action, item.run_id) == ("run", "r1")
    assert "levelname" not in item.model_fields_set  # not stored, not made up
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id, action FROM log").all() == [(1, "run")]


def test_an_in_memory_sqlite_engine_of_ones_own_is_written_on_the_callers_thread() -> None:
    shared = sa.create_engine("sqlite://")  # SQLAlchemy's default pool: a database per thread
    repo = SQLRepo(MinimalRunRecord, engine=shared, table="t", if_missing="create")
    assert repo.thread_bound
    handler = RepoHandler(repo)
    assert not handler.background
    logger = logging.getLogger("skylaunch.test.sql.memory")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        logger.info("hi", extra={"task_name": "t", "action": "run", "run_id": "r1"})
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert repo.filter_by(task_name="t").count() == 1
    assert not SQLRepo(
        MinimalRunRecord, conn_string="sqlite://", table="t", if_missing="create"
    ).thread_bound
    shared.dispose()


def test_field_type_without_sql_column_is_a_schema_error(sqlite_engine: Any) -> None:
    class Odd(MinimalRecord):
        blob: bytes

    with pytest.raises(RepoSchemaError, match=r"Odd\.blob"):
        SQLRepo(Odd, engine=sqlite_engine, table="odd", if_missing="create")


def test_created_table_has_the_scheduler_indexes(sqlite_engine: Any) -> None:
    SQLRepo(TaskRunRecord, engine=sqlite_engine, table="log", if_missing="create")
    indexes = {
        ix["name"]: ix["column_names"] for ix in sa.inspect(sqlite_engine).get_indexes("log")
    }
    assert indexes == {
        "ix_log_task_created": ["task_name", "created"],
        "ix_log_task_action_created": ["task_name", "action", "created"],
    }


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"task_name": "t1", "action": "run"}, "ix_log_task_action_created"),
        ({"task_name": "t1"}, "ix_log_task_created"),
    ],
)
def test_newest_first_lookups_use_an_index(
    sqlite_engine: Any, query: dict[str, Any], index: str
) -> None:
    repo = SQLRepo(MinimalRecord, engine=sqlite_engine, table="log", if_missing="create")
    repo.insert({"task_name": f"t{i % 5}", "action": "run", "created": float(i)} for i in range(50))
    stmt = (
        sa.select(*repo._columns)
        .where(*repo._where(repo.parse_query(query)))
        .order_by(*repo._order("-created"))
        .limit(1)
    )
    sql = str(stmt.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
    with sqlite_engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert plan.startswith("SEARCH log USING"), plan
    assert index in plan
    assert "TEMP B-TREE" not in plan  # the index gives the order: no sort


def test_seed_table_with_autoincrement_id(sqlite_engine: Any) -> None:
    # Rocketry's documented table: created can repeat, the id keeps insertion order.
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE log (id INTEGER PRIMARY KEY, created FLOAT, task_name TEXT,"
            " run_id TEXT, action TEXT)"
        )
    repo = SQLRepo(MinimalRunRecord, engine=sqlite_engine, table="log", id_field="id")
    for action in ("run", "success", "run", "fail"):
        repo.add({"task_name": "x", "action": action, "created": 1.0, "run_id": None})
    assert [i.action for i in repo.filter_by(task_name="x").all()] == [
        "run",
        "success",
        "run",
        "fail",
    ]
    assert repo.filter_by(task_name="x").last().action == "fail"
    assert repo.get_by(2).action == "success"
    assert sa.inspect(sqlite_engine).get_indexes("log") == []
    repo.create_indexes()
    repo.create_indexes()  # idempotent
    assert len(sa.inspect(sqlite_engine).get_indexes("log")) == 2


def test_model_none_reads_dicts(sqlite_engine: Any) -> None:
    SQLRepo(MinimalRecord, engine=sqlite_engine, table="log", if_missing="create").add(
        {"task_name": "x", "action": "run", "created": 1.0}
    )
    repo = SQLRepo(engine=sqlite_engine, table="log")
    assert repo.filter_by(task_name="x").all() == [
        {"task_name": "x", "action": "run", "created": 1.0}
    ]
    repo.add({"task_name": "y", "action": "run", "created": 2.0, "not_a_column": 1})
    assert repo.filter_by().count() == 2
    with pytest.raises(RepoSchemaError, match="without a model"):
        SQLRepo(engine=sqlite_engine, table="other", if_missing="create")


def test_update_values_are_converted_by_the_model(sqlite_engine: Any) -> None:
    repo = SQLRepo(MinimalRecord, engine=sqlite_engine, table="log", if_missing="create")
    repo.add({"task_name": "x", "action": "run", "created": 1.0})
    repo.filter_by(task_name="x").update(created="2.5")
    assert repo.filter_by(task_name="x").first().created == 2.5
    with pytest.raises(ValueError, match="action"):
        repo.filter_by(task_name="x").update(action="exploded")


def test_in_memory_sqlite_is_shared_between_threads() -> None:
    repo = SQLRepo(MinimalRecord, conn_string="sqlite://", table="log", if_missing="create")
    worker = threading.Thread(
        target=repo.add, args=({"task_name": "x", "action": "run", "created": 1.0},)
    )
    worker.start()
    worker.join()
    assert repo.filter_by(task_name="x").count() == 1


def test_locked_sqlite_is_transient(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    engine = sa.create_engine(url, connect_args={"timeout": 0})
    repo = SQLRepo(MinimalRecord, engine=engine, table="log", if_missing="create")
    blocker = sa.create_engine(url)
    with blocker.connect() as conn:
        conn.exec_driver_sql("BEGIN EXCLUSIVE")
        with pytest.raises(RepoUnavailableError, match="locked"):
            repo.add({"task_name": "x", "action": "run", "created": 1.0})
        conn.exec_driver_sql("ROLLBACK")
    blocker.dispose()
    repo.add({"task_name": "x", "action": "run", "created": 1.0})
    assert repo.filter_by().count() == 1
    engine.dispose()
    assert RepoUnavailableError in SQLRepo.transient_errors


def test_a_full_sqlite_disk_is_waited_out_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLITE_FULL ("database or disk is full") mid-batch: the batch is rolled back as a whole,
    kept at the head of the queue and retried; once there is room every record is stored,
    once. ``max_page_count`` stands in for the disk: SQLite refuses to grow past it exactly as
    it refuses when the file system is full."""
    pages = [16]  # room for the table and its indexes, and a few dozen rows

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'full.db'}")

    @sa.event.listens_for(engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA page_size = 1024")
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages[0]}")

    repo = SQLRepo(MinimalRunRecord, engine=engine, table="log", if_missing="create")
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.01, batch_size=300)
    logger = logging.getLogger("skylaunch.test.disk_full")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="skylaunch.scheduler"):
            for i in range(2_000):
                logger.info(
                    "x", extra={"task_name": f"t{i % 7}", "action": "run", "run_id": f"r{i}"}
                )
            assert not handler.flush(timeout=0.5)  # the disk stays full: nothing settles
            assert handler.pending > 0
            assert isinstance(handler.last_error, RepoUnavailableError)
            assert "full" in str(handler.last_error)
        assert any("full" in r.getMessage() for r in caplog.records)
        stored_while_full = repo.filter_by().count()
        assert stored_while_full < 2_000

        pages[0] = 100_000  # the disk has room again
        # pooled connections keep their cap; new ones get the new one. Between writes: a
        # connection the writer thread had checked out would go back to the replaced pool,
        # which closes nothing, and Python 3.13 warns of it unclosed when collected
        with handler.holding_writes():
            engine.dispose()
        assert handler.flush(timeout=20)
        assert handler.pending == 0
        with engine.connect() as conn:
            run_ids = [r[0] for r in conn.exec_driver_sql("SELECT run_id FROM log").fetchall()]
        assert len(run_ids) == 2_000
        assert len(set(run_ids)) == 2_000
    finally:
        logger.removeHandler(handler)
        handler.close()
        engine.dispose()


def _sqlite_run_ids(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT run_id FROM log ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def file_handler(tmp_path: Path) -> Any:
    """A handler writing to an SQLite file, on a logger of its own; yields (path, log, handler)."""
    path = tmp_path / "log.db"
    repo = SQLRepo(
        MinimalRunRecord, conn_string=f"sqlite:///{path}", table="log", if_missing="create"
    )
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.01)
    logger = logging.getLogger("skylaunch.test.sqlite_file")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    def log(run_id: str) -> None:
        logger.info("x", extra={"task_name": "t", "action": "run", "run_id": run_id})

    try:
        yield path, log, handler
    finally:
        logger.removeHandler(handler)
        handler.close()
        repo.close()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_deleted_or_replaced_sqlite_file_is_reported_and_the_records_go_to_the_new_one(
    file_handler: Any, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """The file deleted, or another renamed over it (a backup put back), under a running
    scheduler: the pool's connections still held the old file open and every record went into
    it, with no error, and was gone at the next start. Now the writer notices, reports it, and
    writes the records to the file the path names."""
    path, log, handler = file_handler
    log("before")
    assert handler.flush(timeout=5)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        other = path.with_name("other.db")
        sqlite3.connect(other).close()
        other.replace(path)
    with caplog.at_level(logging.ERROR, logger="skylaunch.scheduler"):
        log("after-1")
        log("after-2")
        assert handler.flush(timeout=5)
    assert path.exists()
    assert _sqlite_run_ids(path) == ["after-1", "after-2"]
    assert any("deleted or replaced" in record.getMessage() for record in caplog.records)


def test_dropped_table_is_not_transient(sqlite_engine: Any) -> None:
    repo = SQLRepo(MinimalRecord, engine=sqlite_engine, table="log", if_missing="create")
    repo.table.drop(sqlite_engine)
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        repo.add({"task_name": "x", "action": "run", "created": 1.0})


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg_table(pg_engine: Any) -> Any:
    name = unique_table()
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


@pytest.mark.pg
def test_pg_conn_string_and_indexes(pg_url: str, pg_table: str) -> None:
    repo = SQLRepo(TaskRunRecord, conn_string=pg_url, table=pg_table, if_missing="create")
    assert repo.engine.url.drivername == "postgresql+psycopg"
    indexes = {ix["name"] for ix in sa.inspect(repo.engine).get_indexes(pg_table)}
    assert indexes == {f"ix_{pg_table}_task_created", f"ix_{pg_table}_task_action_created"}
    repo.add({"task_name": "x", "action": "run", "created": 1.0, "message": "m"})
    assert repo.filter_by(task_name="x").last().created == 1.0
    repo.engine.dispose()


@pytest.mark.pg
def test_pg_missing_columns(pg_engine: Any, pg_table: str) -> None:
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE TABLE "{pg_table}" (id serial primary key, created float)')
    with pytest.raises(RepoSchemaError, match=r"\['task_name', 'action'\]"):
        SQLRepo(MinimalRecord, engine=pg_engine, table=pg_table)


def _terminate_others(pg_url: str) -> int:
    killer = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    with killer.begin() as conn:
        killed = conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = 'skylaunch-test-victim'"
        ).fetchall()
    killer.dispose()
    return len(killed)


@pytest.mark.pg
@pytest.mark.parametrize("pre_ping", [False, True])
def test_pg_connection_loss_loses_nothing_and_doubles_nothing(
    pg_url: str, pg_table: str, pre_ping: bool
) -> None:
    engine = sa.create_engine(
        normalize_url(pg_url),
        pool_pre_ping=pre_ping,
        connect_args={"application_name": "skylaunch-test-victim"},
    )
    repo = SQLRepo(MinimalRunRecord, engine=engine, table=pg_table, if_missing="create")
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.01)
    logger = logging.getLogger(f"skylaunch.test.{pg_table}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        created = 1000.0
        for _ in range(3):
            for i in range(20):
                created += 1
                logger.info(
                    "x",
                    extra={"task_name": f"t{i % 3}", "action": "run", "run_id": str(created)},
                )
            # Let the writes reach the server so a live pooled connection exists, then kill it:
            # the next write finds a dead connection.
            assert handler.flush(timeout=10)
            assert _terminate_others(pg_url) >= 1, "no connection to terminate"
        for i in range(5):
            logger.info("x", extra={"task_name": "t0", "action": "success", "run_id": f"e{i}"})
        assert handler.flush(timeout=10)
        assert handler.pending == 0
        if not pre_ping:
            assert isinstance(handler.last_error, RepoUnavailableError)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f'SELECT run_id FROM "{pg_table}"').fetchall()
        run_ids = [r[0] for r in rows]
        assert len(run_ids) == 65
        assert len(set(run_ids)) == 65
    finally:
        logger.removeHandler(handler)
        handler.close()
        engine.dispose()


@pytest.mark.pg
def test_pg_locked_table_is_retried(pg_url: str, pg_engine: Any, pg_table: str) -> None:
    engine = sa.create_engine(normalize_url(pg_url), connect_args={"options": "-c lock_timeout=50"})
    repo = SQLRepo(MinimalRecord, engine=engine, table=pg_table, if_missing="create")
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.005)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
    try:
        with pg_engine.connect() as locker:
            locker.exec_driver_sql(f'LOCK TABLE "{pg_table}" IN ACCESS EXCLUSIVE MODE')
            for i in range(3):
                record.task_name, record.action, record.created = "x", "run", float(i)  # type: ignore[attr-defined]
                handler.emit(record)  # queued: the writes happen on the handler's thread
            assert handler.flush(timeout=0.3) is False  # each attempt times out on the lock
            assert handler.pending == 3
            assert isinstance(handler.last_error, RepoUnavailableError)
            locker.rollback()
        assert handler.flush(timeout=10)
        assert [i.created for i in repo.filter_by().all()] == [0.0, 1.0, 2.0]
    finally:
        handler.close()
        engine.dispose()


def test_sqlite_file_from_conn_string_uses_wal(tmp_path: Path) -> None:
    repo = SQLRepo(
        MinimalRecord,
        conn_string=f"sqlite:///{tmp_path / 'w.db'}",
        table="log",
        if_missing="create",
    )
    with repo.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    repo.engine.dispose()


def test_query_values_reads_only_the_wanted_columns(tmp_path: Path) -> None:
    repo = SQLRepo(
        MinimalRecord,
        conn_string=f"sqlite:///{tmp_path / 'v.db'}",
        table="log",
        if_missing="create",
    )
    for i in range(4):
        repo.add({"task_name": "x", "action": "run", "created": float(i)})
    query = repo.parse_query({"task_name": "x"})
    got = list(repo.query_values(query, ("created", "run_id"), order="-created", limit=2))
    assert got == [(3.0, None), (2.0, None)]  # run_id: no such column, reads as None
    repo.engine.dispose()


@pytest.mark.pg
def test_pg_a_batch_the_table_refuses_raises_as_a_single_write_does(
    pg_engine: Any, pg_table: str
) -> None:
    # A batch goes in by COPY, straight through the driver: its errors must still be
    # SQLAlchemy's (what the repo translates and the writers classify), not psycopg's.
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{pg_table}" (id serial primary key, task_name text not null, '
            "action text not null, created float8 not null, host text not null)"
        )
    repo = SQLRepo(MinimalRecord, engine=pg_engine, table=pg_table)
    row = {"task_name": "t", "action": "run", "created": 1.0}
    with pytest.raises(sa.exc.IntegrityError) as single:
        repo.insert([row])
    with pytest.raises(sa.exc.IntegrityError) as batch:
        repo.insert([row, {**row, "created": 2.0}])
    assert "host" in str(single.value.orig)
    assert "host" in str(batch.value.orig)
    assert repo.filter_by().count() == 0


def test_sqlite_batches_take_the_same_path_types_as_single_writes(sqlite_engine: Any) -> None:
    # Each column's bind processing (aware datetimes as UTC text, intervals) is applied once
    # per batch by the driver path: the values read back must be the ones written.
    repo = SQLRepo(TaskRunRecord, engine=sqlite_engine, table="log", if_missing="create")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    items = [
        {
            "task_name": "t",
            "action": "success",
            "created": start.timestamp() + i,
            "start": start,
            "end": start + timedelta(seconds=i),
            "runtime": timedelta(seconds=i, microseconds=7),
            "message": "m",
            "run_id": str(i),
        }
        for i in range(3)
    ]
    repo.insert(items)
    back = repo.filter_by().all()
    assert [(r.start, r.end, r.runtime) for r in back] == [
        (i["start"], i["end"], i["runtime"]) for i in items
    ]
    assert all(r.start.utcoffset() == timedelta(0) for r in back)  # stored and read as UTC


def _raw_rows(engine: Any, table: str) -> list[tuple[Any, ...]]:
    """Every stored row, every column (the id too), in insertion order."""
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY id'))


def _run_fields(n: int) -> list[dict[str, Any]]:
    """Lifecycle field dicts (one key set), the scheduler's records for a repo's thread."""
    start = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    return [
        {
            "task_name": f"t{i % 7}",
            "action": "run" if i % 2 == 0 else "success",
            "created": start.timestamp() + i / 8,
            "start": start,
            "end": None if i % 2 == 0 else start + timedelta(seconds=i),
            "runtime": None if i % 2 == 0 else timedelta(seconds=i, microseconds=7),
            "message": f"Task 't{i % 7}' status",
            "exc_text": "Traceback ...\nValueError: x" if i % 5 == 0 else None,
            "run_id": None if i % 3 == 0 else str(i),
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("model", [MinimalRunRecord, TaskRunRecord])
def test_sqlite_a_batch_of_one_key_set_stores_what_the_general_path_stores(
    sqlite_engine: Any, model: type[Any]
) -> None:
    # Dicts that all have one key set take a shortcut (one itemgetter per row); a batch with
    # one validated item among them takes the general path: the rows must be the same.
    fields = _run_fields(600)  # more than one statement's worth of rows
    fast = SQLRepo(model, engine=sqlite_engine, table="fast", if_missing="create")
    general = SQLRepo(model, engine=sqlite_engine, table="general", if_missing="create")
    fast.insert_items([dict(f) for f in fields])
    general.insert_items([model.model_validate(fields[0]), *(dict(f) for f in fields[1:])])
    assert _raw_rows(sqlite_engine, "fast") == _raw_rows(sqlite_engine, "general")
    assert len(_raw_rows(sqlite_engine, "fast")) == 600


def test_sqlite_dicts_with_other_key_sets_keep_every_value(sqlite_engine: Any) -> None:
    # Keys in another order, a key missing (stored as NULL), a key the table has no column
    # for (not stored): the shortcut is for one key set only.
    repo = SQLRepo(MinimalRunRecord, engine=sqlite_engine, table="log", if_missing="create")
    repo.insert_items(
        [
            {"task_name": "a", "action": "run", "created": 1.0, "run_id": "1"},
            {"run_id": "2", "created": 2.0, "action": "run", "task_name": "b"},
            {"task_name": "c", "action": "run", "created": 3.0},
            {"task_name": "d", "action": "run", "created": 4.0, "run_id": "4", "host": "x"},
        ]
    )
    assert _raw_rows(sqlite_engine, "log") == [
        (1, "a", "run", 1.0, "1"),
        (2, "b", "run", 2.0, "2"),
        (3, "c", "run", 3.0, None),
        (4, "d", "run", 4.0, "4"),
    ]


def test_converting_a_batch_leaves_no_object_per_row_to_the_oldest_generation(
    sqlite_engine: Any,
) -> None:
    # The columns' bind processors run column by column. Transposing the rows with
    # zip(*rows) held one iterator per row while it ran: thousands of objects the garbage
    # collector tracks, which collections running meanwhile on the scheduler's thread
    # promoted to the oldest generation, setting off a full collection every few batches
    # (bench W6: 9 in 3 s instead of 1, ~14 ms each, the scheduler loop's longest stalls).
    import gc

    fields = [dict(f) for f in _run_fields(5_000)]
    repo = SQLRepo(TaskRunRecord, engine=sqlite_engine, table="log", if_missing="create")
    oldest: list[int] = []

    def measured(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] < 2:
            oldest.append(len(gc.get_objects(2)))

    threshold = gc.get_threshold()
    gc.collect()
    before = len(gc.get_objects(2))
    # young collections often, each promoting what survives it; no full one
    gc.set_threshold(500, 1, 1_000_000_000)
    gc.callbacks.append(measured)
    try:
        repo.insert_items(fields)
    finally:
        gc.callbacks.remove(measured)
        gc.set_threshold(*threshold)
    assert oldest  # young collections did run during the batch
    assert max(oldest) - before < 1_000  # zip(*rows): about 5,000 more
    assert len(_raw_rows(sqlite_engine, "log")) == 5_000


class _SeenCursor(sqlite3.Cursor):
    """A sqlite3 cursor that notes every statement it runs and its parameters."""

    seen: ClassVar[list[tuple[str, Any]]] = []

    def execute(self, sql: str, parameters: Any = (), /) -> _SeenCursor:
        self.seen.append((sql, parameters))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _SeenCursor:
        rows = list(seq_of_parameters)
        self.seen.extend((sql, row) for row in rows)
        return super().executemany(sql, rows)


class _SeenConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _SeenCursor) -> Any:
        return super().cursor(factory)


@pytest.fixture
def seen_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A SQLite engine whose connections note, in ``_SeenCursor.seen``, what their cursors run
    (SQLAlchemy's and the repo's own); the engine's ``seen`` is that list."""
    monkeypatch.setattr(_SeenCursor, "seen", [])
    engine = sa.create_engine(
        f"sqlite:///{tmp_path / 'seen.db'}", connect_args={"factory": _SeenConnection}
    )
    engine.seen = _SeenCursor.seen  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("model", "per_statement", "rest"),
    [(MinimalRunRecord, 249, [64, 32, 4, 2]), (TaskRunRecord, 111, [32, 8, 4, 1])],
)
def test_sqlite_a_batch_goes_in_by_many_rows_per_statement(
    seen_engine: Any, model: type[Any], per_statement: int, rest: list[int]
) -> None:
    # One INSERT carries many rows (sqlite3 lets the GIL go once per statement, not once per
    # row), never more bound values than any SQLite takes (999), and stores what one
    # statement per row stores, in order. What is left after the full statements goes in by
    # powers of two: a table has a few statement texts, which sqlite3 keeps compiled.
    fields = _run_fields(600)
    many = SQLRepo(model, engine=seen_engine, table="many", if_missing="create")
    seen_engine.seen.clear()
    many.insert_items([dict(f) for f in fields])
    inserts = [(sql, params) for sql, params in seen_engine.seen if sql.startswith("INSERT")]
    sizes = [len(params) // len(model.model_fields) for _, params in inserts]
    assert sizes == [per_statement] * (600 // per_statement) + rest
    assert all(sql.count("(?") == size for (sql, _), size in zip(inserts, sizes, strict=True))
    assert all(len(params) <= 999 for _, params in inserts)
    one = SQLRepo(model, engine=seen_engine, table="one", if_missing="create")
    for f in fields:
        one.insert_items([dict(f)])
    assert _raw_rows(seen_engine, "many") == _raw_rows(seen_engine, "one")


def test_sqlite_batches_reuse_a_few_statement_texts(seen_engine: Any) -> None:
    # A text per remainder made sqlite3 compile a statement a batch (and keep it in its cache
    # until 128 others pushed it out): batches of every size from 1 to 600 use at most one
    # text per power of two up to the full statement's rows, and store every row once.
    repo = SQLRepo(MinimalRunRecord, engine=seen_engine, table="log", if_missing="create")
    fields = _run_fields(600)
    seen_engine.seen.clear()
    stored = 0
    for n in range(2, 601, 7):
        repo.insert_items([dict(f) for f in fields[:n]])
        stored += n
    texts = {sql for sql, _ in seen_engine.seen if sql.startswith("INSERT")}
    assert len(texts) <= 9  # 249 rows, then 128, 64, ..., 1
    assert len(_raw_rows(seen_engine, "log")) == stored


def test_sqlite_a_batch_goes_in_on_one_driver_cursor_past_sqlalchemy(seen_engine: Any) -> None:
    # exec_driver_sql per statement made a cursor, an execution context and events' objects
    # per statement, alive while sqlite3 had let the GIL go: the scheduler thread's young
    # collections promoted them to the oldest generation (bench W6's full collections).
    repo = SQLRepo(MinimalRunRecord, engine=seen_engine, table="log", if_missing="create")
    executed: list[str] = []

    @sa.event.listens_for(seen_engine, "before_cursor_execute")
    def noted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        executed.append(statement)

    seen_engine.seen.clear()
    repo.insert_items([dict(f) for f in _run_fields(600)])
    sa.event.remove(seen_engine, "before_cursor_execute", noted)
    assert not [sql for sql in executed if sql.startswith("INSERT")]
    assert len([sql for sql, _ in seen_engine.seen if sql.startswith("INSERT")]) == 6
    assert len(_raw_rows(seen_engine, "log")) == 600


def test_sqlite_a_row_refused_in_a_later_statement_refuses_the_whole_batch(
    sqlite_engine: Any,
) -> None:
    # The statements of a batch share one transaction: all or nothing, as before.
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE log (id INTEGER PRIMARY KEY, task_name TEXT NOT NULL, "
            "action TEXT NOT NULL, created FLOAT NOT NULL, run_id TEXT CHECK (run_id != 'bad'))"
        )
    repo = SQLRepo(MinimalRunRecord, engine=sqlite_engine, table="log")
    rows = [
        {"task_name": "t", "action": "run", "created": float(i), "run_id": str(i)}
        for i in range(600)
    ]
    rows[550]["run_id"] = "bad"
    with pytest.raises(sa.exc.IntegrityError, match="CHECK"):
        repo.insert_items(rows)
    assert _raw_rows(sqlite_engine, "log") == []


def test_an_empty_batch_stores_nothing(sqlite_engine: Any) -> None:
    # (It used to insert a row of defaults: INSERT ... DEFAULT VALUES.)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE log (id INTEGER PRIMARY KEY, task_name TEXT DEFAULT 'x', "
            "action TEXT DEFAULT 'run', created FLOAT DEFAULT 0)"
        )
    repo = SQLRepo(MinimalRecord, engine=sqlite_engine, table="log")
    repo.insert_items([])
    assert _raw_rows(sqlite_engine, "log") == []


def _restore_many(repo: SQLRepo) -> None:
    """Restore 20 tasks' history: what each read returns, and that the SQL is built per
    query shape (two: one column per action, the recent window), not per task."""
    from skylaunch.history import ACTIONS
    from skylaunch.log._restore import restore_recent, restore_times

    rows = []
    for t in range(20):
        for i in range(6):
            rows.append(
                {
                    "task_name": f"t{t}",
                    "action": "run",
                    "created": i * 10.0 + t,
                    "run_id": f"{t}-{i}",
                    "message": "m",
                }
            )
            end = "fail" if i % 3 == 0 else "success"
            rows.append(
                {
                    "task_name": f"t{t}",
                    "action": end,
                    "created": i * 10.0 + t + 1,
                    "run_id": f"{t}-{i}",
                    "message": "m",
                }
            )
    repo.insert(rows)
    for t in range(20):
        times = restore_times(repo, f"t{t}", limit=3, actions=ACTIONS)
        assert times["run"] == [30.0 + t, 40.0 + t, 50.0 + t]
        assert times["fail"] == [1.0 + t, 31.0 + t]
        assert times["success"] == [21.0 + t, 41.0 + t, 51.0 + t]
        assert times["crash"] == []
        recent = restore_recent(repo, f"t{t}", limit=3)
        assert recent == [
            (41.0 + t, "success", f"{t}-4"),
            (50.0 + t, "run", f"{t}-5"),
            (51.0 + t, "success", f"{t}-5"),
        ]
        assert all(type(ts) is float for ts, _, _ in recent)
    assert len(repo._selects) == 2
    # a query the statements are not kept for (a None, a range) is answered the same way
    none = repo.parse_query({"task_name": "t1", "exc_text": None})
    assert len(list(repo.query_values(none, ("created",), order="-created", limit=None))) == 12
    since = Query((("task_name", Equal("t1")), ("created", GreaterEqual(50.0))))
    assert repo.query_column(since, "created", order="-created", limit=None) == [52.0, 51.0]
    assert len(repo._selects) == 2


def test_restores_reuse_one_statement_per_query_shape(sqlite_engine: Any) -> None:
    _restore_many(SQLRepo(TaskRunRecord, engine=sqlite_engine, table="log", if_missing="create"))


@pytest.mark.pg
def test_pg_restores_reuse_one_statement_per_query_shape(pg_url: str, pg_table: str) -> None:
    repo = SQLRepo(TaskRunRecord, conn_string=pg_url, table=pg_table, if_missing="create")
    try:
        _restore_many(repo)
    finally:
        repo.engine.dispose()


class _WithHost(TaskRunRecord):
    host: str = "scheduler-1"


def test_only_models_a_lifecycle_record_fills_whole_take_trusted_dicts(sqlite_engine: Any) -> None:
    # Found by review: a model with more fields (defaults, validators) got the lifecycle dict
    # as its row, so its own fields were stored as NULL instead of their defaults.
    assert SQLRepo(
        TaskRunRecord, engine=sqlite_engine, table="a", if_missing="create"
    ).takes_trusted
    assert SQLRepo(
        MinimalRunRecord, engine=sqlite_engine, table="b", if_missing="create"
    ).takes_trusted
    repo = SQLRepo(_WithHost, engine=sqlite_engine, table="c", if_missing="create")
    assert not repo.takes_trusted
    handler = RepoHandler(repo)
    try:
        handler.emit_trusted({"task_name": "t", "action": "run", "created": 1.0, "message": "m"})
        assert handler.flush(5)
    finally:
        handler.close()
    assert repo.filter_by().last().host == "scheduler-1"


class _WithExtra(MinimalRecord):
    extra: dict[str, int] | None = None


def test_a_batch_stores_none_as_a_single_write_does(sqlite_engine: Any) -> None:
    # JSON stores Python None as the value 'null'; the driver path applied bind processing to
    # values but not to None, so a batch stored SQL NULL where a single write stored 'null'.
    repo = SQLRepo(_WithExtra, engine=sqlite_engine, table="j", if_missing="create")
    row = {"task_name": "t", "action": "run", "created": 1.0, "extra": None}
    repo.insert([row])
    repo.insert([row, row])
    with sqlite_engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT extra FROM j").all()]
    assert len(set(stored)) == 1
    assert len(stored) == 3


@pytest.mark.pg
def test_pg_a_table_that_refuses_copy_is_written_by_insert(pg_engine: Any, pg_table: str) -> None:
    # COPY does not go into a view (nor a table under row-level security): the first batch is
    # refused as unavailable (the writer retries it) and from then on batches go by INSERT.
    view = f"{pg_table}_v"
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{pg_table}" (id serial primary key, task_name text not null, '
            "action text not null, created float8 not null)"
        )
        conn.exec_driver_sql(f'CREATE VIEW "{view}" AS SELECT * FROM "{pg_table}"')
    try:
        repo = SQLRepo(MinimalRecord, engine=pg_engine, table=view)
        rows = [{"task_name": "t", "action": "run", "created": float(i)} for i in range(3)]
        with pytest.raises(RepoUnavailableError, match="COPY"):
            repo.insert(rows)
        repo.insert(rows)
        assert [r.created for r in repo.filter_by().all()] == [0.0, 1.0, 2.0]
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{view}"')


_ODD_TEXTS = ("", "Ω ünïcødé", "\U0001f680 astral \U00010348", "nul\x00inside")
_HUGE_TEXT = "x" * 1_000_000


def _odd_fields(n: int, with_run_id: bool) -> list[dict[str, Any]]:
    """``n`` records whose text columns cycle through None, unicode, astral characters and an
    embedded NUL, with a 1 MB string every 167th row (three in a batch of 500)."""
    fields: list[dict[str, Any]] = []
    for i in range(n):
        text = _ODD_TEXTS[i % 4]
        long_text = _HUGE_TEXT if i % 167 == 0 else text
        row: dict[str, Any] = {
            "task_name": f"{text}{i}",
            "action": "run" if i % 2 else "success",
            "created": 1_700_000_000.0 + i / 8,
        }
        if with_run_id:
            row["run_id"] = None if i % 3 == 1 else long_text
        else:
            row["message"] = long_text
            row["exc_text"] = None if i % 3 == 1 else text
        fields.append(row)
    return fields


@pytest.mark.parametrize("model", [MinimalRunRecord, TaskRunRecord])
@pytest.mark.parametrize("n", [1, 2, 110, 111, 112, 222, 249, 250, 251, 498, 499, 500])
@pytest.mark.parametrize("path", ["rows-per-statement", "executemany"])
def test_sqlite_batches_at_the_statement_and_chunk_bounds_store_every_row_once(
    sqlite_engine: Any, monkeypatch: pytest.MonkeyPatch, model: type[Any], n: int, path: str
) -> None:
    # A probe: the driver path puts 999 // columns rows in a statement (249 for
    # MinimalRunRecord's 4 columns, 111 for TaskRunRecord's 9); the executemany path (taken
    # by SQLite only past its bound-value limit, here forced) goes in chunks of 250; a batch
    # of 1 takes the statement path. Around each bound, rows of None, unicode, astral
    # characters, an embedded NUL and 1 MB strings are stored once each, in order, and read
    # back equal. Odd sizes have one validated model among the dicts (the general path).
    if path == "executemany":
        monkeypatch.setattr("skylaunch.log.repos.sql._SQLITE_MAX_VARIABLES", 0)
    fields = _odd_fields(n, with_run_id=model is MinimalRunRecord)
    repo = SQLRepo(model, engine=sqlite_engine, table="log", if_missing="create")
    items = [dict(f) for f in fields]
    if n % 2:
        items[0] = model.model_validate(items[0])
    repo.insert_items(items)
    back = repo.filter_by().all()
    assert [r.model_dump() for r in back] == [model.model_validate(f).model_dump() for f in fields]
    assert len(_raw_rows(sqlite_engine, "log")) == n


def _checked_table(engine: Any, table: str) -> None:
    """A table for MinimalRunRecord that refuses a row whose run_id is 'bad'."""
    serial = "serial" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{table}" (id {serial} PRIMARY KEY, task_name TEXT NOT NULL, '
            "action TEXT NOT NULL, created FLOAT NOT NULL, run_id TEXT CHECK (run_id != 'bad'))"
        )


def _isolates_the_bad_row(engine: Any, table: str) -> None:
    # A batch the table refuses is written again one record at a time: every good record is
    # stored once, in order, and only the bad one is reported (as before the driver path).
    _checked_table(engine, table)
    repo = SQLRepo(MinimalRunRecord, engine=engine, table=table)
    fields = [
        {"task_name": "t", "action": "run", "created": float(i), "run_id": f"Ω{i}"}
        for i in range(600)
    ]
    fields[377]["run_id"] = "bad"
    handler = RepoHandler(repo)
    try:
        with handler.holding_writes():  # all 600 queued: one batch
            for f in fields:
                handler.emit_trusted(dict(f))
        with pytest.raises(TaskLoggingError, match=r"(?i)check") as refused:
            handler.flush(30)
        assert "377.0" in str(refused.value.__cause__)  # the bad record, and only it
        assert handler.flush(30)  # reported once
    finally:
        handler.close()
    stored = [(r.created, r.run_id) for r in repo.filter_by().all()]
    assert stored == [(f["created"], f["run_id"]) for f in fields if f["run_id"] != "bad"]


def test_sqlite_a_batch_with_a_bad_row_stores_the_others_once(sqlite_engine: Any) -> None:
    _isolates_the_bad_row(sqlite_engine, "log")


@pytest.mark.pg
def test_pg_a_batch_with_a_bad_row_stores_the_others_once(pg_engine: Any, pg_table: str) -> None:
    _isolates_the_bad_row(pg_engine, pg_table)


def test_sqlite_a_locked_database_fails_a_batch_as_unavailable(tmp_path: Path) -> None:
    # The driver's own error, raised past SQLAlchemy, is still sorted as SQLAlchemy's would
    # be: a lock held by another writer is worth retrying, and nothing of the batch is kept.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'l.db'}", connect_args={"timeout": 0.05})
    try:
        repo = SQLRepo(MinimalRunRecord, engine=engine, table="log", if_missing="create")
        holder = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(RepoUnavailableError, match="locked"):
                repo.insert_items([dict(f) for f in _run_fields(600)])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        repo.insert_items([dict(f) for f in _run_fields(600)])
        assert len(_raw_rows(engine, "log")) == 600
    finally:
        engine.dispose()


@pytest.mark.pg
@pytest.mark.parametrize("n", [2, 249, 250, 251, 600])
def test_pg_batches_store_odd_values_once_in_order(pg_engine: Any, pg_table: str, n: int) -> None:
    # COPY (the statement cached per table and column set): None, unicode, astral characters
    # and 1 MB strings read back equal, each row once (PostgreSQL text takes no NUL).
    fields = [
        {k: v.replace("\x00", "0") if isinstance(v, str) else v for k, v in f.items()}
        for f in _odd_fields(n, with_run_id=False)
    ]
    repo = SQLRepo(TaskRunRecord, engine=pg_engine, table=pg_table, if_missing="create")
    repo.insert_items([dict(f) for f in fields[: n // 2]])
    repo.insert_items([dict(f) for f in fields[n // 2 :]])
    back = repo.filter_by().all()
    assert [r.model_dump() for r in back] == [
        TaskRunRecord.model_validate(f).model_dump() for f in fields
    ]


@pytest.mark.pg
def test_pg_a_connection_lost_during_a_batch_fails_it_as_unavailable_then_reconnects(
    pg_url: str, pg_table: str
) -> None:
    # COPY runs on the driver's connection past SQLAlchemy: a server that drops it mid-batch
    # must still read as "unavailable" (the writer retries), the dead connection must leave
    # the pool, and the retried batch is stored once.
    engine = sa.create_engine(normalize_url(pg_url))  # no pre-ping: the pool must learn it
    try:
        repo = SQLRepo(MinimalRunRecord, engine=engine, table=pg_table, if_missing="create")
        fields = [dict(f) for f in _run_fields(600)]
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        killer = sa.create_engine(normalize_url(pg_url))
        with killer.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        killer.dispose()
        with pytest.raises(RepoUnavailableError):
            repo.insert_items(fields)
        repo.insert_items(fields)
        assert len(_raw_rows(engine, pg_table)) == 600
    finally:
        engine.dispose()
