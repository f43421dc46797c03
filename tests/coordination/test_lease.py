"""The PostgreSQL lease: take, renew, expire and fencing, all with the database clock.

Expiry is made by moving ``expires_at`` into the database's past (``now() - 1 s``), not by
waiting: every decision the lease makes compares with the database's ``now()``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from skylaunch.coordination import Coordination, FencedWriteError, PostgresLease
from skylaunch.exc import ConfigError
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, normalize_url

pytestmark = pytest.mark.pg


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(normalize_url(pg_url))
    yield engine
    engine.dispose()


@pytest.fixture
def lease(engine: sa.Engine) -> Iterator[PostgresLease]:
    table = f"lease_{secrets.token_hex(4)}"
    lease = PostgresLease(engine, name="unit", table=table)
    lease.create()
    lease.create()  # idempotent: every replica creates it at start
    yield lease
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {table}"))


def expire(lease: PostgresLease) -> None:
    with lease.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {lease.table} SET expires_at = now() - interval '1 second'"))


def test_first_take_gets_epoch_one_and_others_are_refused(lease: PostgresLease) -> None:
    first = lease.take("a", 30)
    assert first is not None
    assert (first.holder, first.epoch) == ("a", 1)
    assert first.valid
    assert lease.take("b", 30) is None


def test_renew_keeps_the_epoch_and_moves_the_expiry_with_the_database_clock(
    lease: PostgresLease,
) -> None:
    first = lease.take("a", 30)
    assert first is not None
    renewed = lease.take("a", 60)
    assert renewed is not None
    assert renewed.epoch == first.epoch
    assert renewed.acquired_at == first.acquired_at
    assert renewed.expires_at > first.expires_at
    # expires_at is the database's now() plus the lease, to the microsecond
    assert (renewed.expires_at - renewed.db_now).total_seconds() == 60


def test_an_expired_lease_is_taken_under_a_new_epoch(lease: PostgresLease) -> None:
    assert lease.take("a", 30) is not None
    expire(lease)
    taken = lease.take("b", 30)
    assert taken is not None
    assert (taken.holder, taken.epoch) == ("b", 2)
    # the old holder can no longer renew
    assert lease.take("a", 30) is None
    state = lease.read()
    assert state is not None
    assert state.holder == "b"


def test_the_holder_whose_lease_expired_takes_it_again_under_a_new_epoch(
    lease: PostgresLease,
) -> None:
    assert lease.take("a", 30) is not None
    expire(lease)
    again = lease.take("a", 30)
    assert again is not None
    assert again.epoch == 2  # writes fenced with epoch 1 stay refused


def test_release_lets_another_take_over_at_once(lease: PostgresLease) -> None:
    assert lease.read() is None
    assert lease.take("a", 30) is not None
    assert not lease.release("b", 1)  # only the holder releases
    assert lease.release("a", 1)
    taken = lease.take("b", 30)
    assert taken is not None
    assert taken.epoch == 2


def test_the_guard_refuses_a_stale_epoch_an_expired_lease_and_no_epoch(
    lease: PostgresLease,
) -> None:
    assert lease.take("a", 30) is not None
    with lease.engine.begin() as conn:
        lease.guard(conn, "a", 1)
    for holder, epoch in (("a", 2), ("b", 1), ("a", None)):
        with pytest.raises(FencedWriteError), lease.engine.begin() as conn:
            lease.guard(conn, holder, epoch)
    expire(lease)
    with pytest.raises(FencedWriteError, match="epoch 1"), lease.engine.begin() as conn:
        lease.guard(conn, "a", 1)


def test_a_take_waits_for_a_write_under_the_old_lease_to_commit(lease: PostgresLease) -> None:
    """The guard share-locks the lease row: the taker's update waits for the writer's commit,
    so the new active's restore (after its take) sees every record written under the old
    lease."""
    assert lease.take("a", 30) is not None
    taken: list[object] = []

    def take_over() -> None:
        expire(lease)  # an update of the row: it waits for the writer's share lock
        taken.append(lease.take("b", 30))

    with lease.engine.begin() as conn:
        lease.guard(conn, "a", 1)
        thread = threading.Thread(target=take_over)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting on the writer's lock
        assert not taken
    thread.join(10)
    assert not thread.is_alive()
    assert taken
    assert getattr(taken[0], "holder", None) == "b"


def test_a_repo_write_under_a_stale_lease_is_refused_and_stores_nothing(
    lease: PostgresLease, pg_url: str
) -> None:
    table = f"rec_{secrets.token_hex(4)}"
    repo = SQLRepo(model=TaskRunRecord, conn_string=pg_url, table=table, if_missing="create")
    try:
        epoch: list[int | None] = [1]
        repo.write_guard = lambda conn: lease.guard(conn, "a", epoch[0])
        assert lease.take("a", 30) is not None
        record = {"task_name": "t", "action": "run", "created": 1.0, "run_id": "r", "message": "m"}
        repo.add(record)
        expire(lease)
        assert lease.take("b", 30) is not None
        with pytest.raises(FencedWriteError):
            repo.add(record)
        assert len(repo.filter_by(task_name="t").all()) == 1
    finally:
        with repo.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        repo.close()


def test_bad_settings_are_refused_with_the_reason(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="identifier"):
        PostgresLease(engine, table="x; drop table y")
    with pytest.raises(ValueError, match="non-empty"):
        PostgresLease(engine, name="")
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        PostgresLease(sa.create_engine("sqlite://"))
    with pytest.raises(ConfigError, match="lease_s"):
        Coordination(lease_s=0)
    with pytest.raises(ConfigError, match="poll_s"):
        Coordination(lease_s=3, poll_s=2)
    with pytest.raises(ConfigError, match="safety"):
        Coordination(safety=0.7)


def test_a_writer_paused_inside_its_transaction_does_not_block_the_take(
    engine: sa.Engine,
) -> None:
    """SIGSTOP between the guard and the commit: the database ends the idle session (and its
    share lock) after ``idle_s``, so another replica can take the expired lease."""
    lease = PostgresLease(engine, name="paused", table=f"lease_{secrets.token_hex(4)}", idle_s=0.2)
    lease.create()
    try:
        assert lease.take("a", 30) is not None
        taken: list[object] = []

        def take_over() -> None:
            expire(lease)
            taken.append(lease.take("b", 30))

        conn = engine.connect()
        conn.begin()
        lease.guard(conn, "a", 1)  # then the writer "pauses": no commit, no next statement
        thread = threading.Thread(target=take_over)
        thread.start()
        thread.join(10)
        assert not thread.is_alive()
        assert getattr(taken[0], "holder", None) == "b"
        with pytest.raises(sa.exc.DBAPIError, match="idle-in-transaction"):  # ended by the database
            conn.execute(sa.text("SELECT 1"))
        conn.invalidate()
        conn.close()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {lease.table}"))
