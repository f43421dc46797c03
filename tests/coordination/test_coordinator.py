"""Two coordinated sessions in one process: take-over on release, and a black-holed active.

Each session runs its scheduler in its own thread on one PostgreSQL table or one Redis key
prefix (each test runs on both); one reaches the database through a TCP relay the test
black-holes. Waits poll the sessions' state with a
deadline (never an assertion on elapsed time); transition instants come from the
coordinations' own ``transitions`` (one clock: one process).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from skylaunch import App
from skylaunch.conds import daily, every
from skylaunch.coordination import Coordination
from skylaunch.coordination import coordinator as coordinator_module
from skylaunch.exc import ConfigError
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo
from skylaunch.log.repos.sql import SQLRepo, normalize_url
from tests.integration.relay import Relay

WAIT_S = 15.0


def wait_for(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        done.wait(0.02)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def store(url: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """``(url, name)``: a table (PostgreSQL) or key prefix (Redis) of the test's own."""
    if url.startswith("redis"):
        return url, request.getfixturevalue("redis_prefix")
    return url, request.getfixturevalue("table")


@pytest.fixture
def table(pg_url: str) -> Iterator[str]:
    name = f"coord_{secrets.token_hex(4)}"
    yield name
    engine = sa.create_engine(normalize_url(pg_url))
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        conn.execute(sa.text("DELETE FROM skylaunch_lease WHERE name = :n"), {"n": name})
    engine.dispose()


def repo_for(url: str, name: str) -> SQLRepo | RedisRepo:
    if url.startswith("redis"):
        return RedisRepo(url, TaskRunRecord, key_prefix=name)
    return SQLRepo(model=TaskRunRecord, conn_string=url, table=name, if_missing="create")


class Replica:
    def __init__(self, url: str, table: str, *, lease_s: float = 1.0) -> None:
        self.repo = repo_for(url, table)
        self.coordination = Coordination(name=table, lease_s=lease_s)
        self.app = App(
            logger_repo=self.repo, coordination=self.coordination, execution="main", timeout=None
        )
        self.app.session.log_flush_timeout_s = 0.5
        self.app.task(every("1 second"), name="tick", func=lambda: None)
        self.app.task(daily, name="report", func=lambda: None)
        self.thread = threading.Thread(target=self.app.run, daemon=True)

    def start(self) -> Replica:
        self.thread.start()
        wait_for(lambda: self.app.session.scheduler.is_running, "the scheduler runs")
        return self

    def stop(self) -> None:
        self.app.session.shut_down()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()
        self.repo.close()

    def when(self, state: str) -> float:
        return next(t for t, s in reversed(self.coordination.transitions) if s == state)


def runs(url: str, table: str, task: str) -> list[float]:
    if url.startswith("redis"):
        with RedisRepo(url, TaskRunRecord, key_prefix=table) as repo:
            return [r.created for r in repo.filter_by(task_name=task, action="run").all()]
    engine = sa.create_engine(normalize_url(url))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT created FROM {table} WHERE task_name = :t AND action = 'run' "
                "ORDER BY created"
            ),
            {"t": task},
        ).all()
    engine.dispose()
    return [float(row[0]) for row in rows]


def _replica_gauge(replica: Replica) -> float:
    """``skylaunch_replica_active`` as Prometheus would scrape it from this replica."""
    from prometheus_client.parser import text_string_to_metric_families

    from skylaunch.metrics import Metrics

    metrics = Metrics(replica.app)
    try:
        body, _ = metrics.exposition()
    finally:
        metrics.close()
    (sample,) = [
        s
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "skylaunch_replica_active"
    ]
    assert sample.labels == {
        "lease": replica.coordination.name,
        "holder": replica.coordination.holder,
    }
    return float(sample.value)


def test_a_clean_shutdown_hands_over_and_the_history_comes_with_it(
    store: tuple[str, str],
) -> None:
    pg_url, table = store
    first = Replica(pg_url, table).start()
    wait_for(lambda: first.coordination.active, "the first replica is active")
    second = Replica(pg_url, table).start()
    wait_for(lambda: len(runs(pg_url, table, "report")) == 1, "report ran")
    assert not second.coordination.active
    assert [_replica_gauge(r) for r in (first, second)] == [1.0, 0.0]  # skylaunch.metrics
    shown = [r.app.control.state().replica for r in (first, second)]  # the API, the CLI
    assert [(s.active, s.holder) for s in shown if s is not None] == [
        (True, first.coordination.holder),
        (False, second.coordination.holder),
    ]
    assert shown[0] is not None
    assert shown[0].since == first.coordination.since
    first.stop()  # releases the lease: the standby takes over at its next poll
    wait_for(lambda: second.coordination.active, "the standby took over")
    wait_for(lambda: len(runs(pg_url, table, "tick")) >= 3, "ticks on the new active")
    status = second.coordination.status()
    second.stop()
    assert status is not None
    assert status.holder == second.coordination.holder
    # daily ran once over both replicas; no tick decision was made twice
    assert len(runs(pg_url, table, "report")) == 1
    ticks = runs(pg_url, table, "tick")
    assert min(b - a for a, b in pairwise(ticks)) >= 0.99


def via(url: str, port: int) -> str:
    """``url`` with its host and port replaced by 127.0.0.1:``port`` (a relay)."""
    if url.startswith("redis"):
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{port}"))
    moved = make_url(normalize_url(url)).set(host="127.0.0.1", port=port)
    return moved.render_as_string(hide_password=False)


def test_a_black_holed_active_stops_before_another_starts_and_its_writes_are_refused(
    store: tuple[str, str],
) -> None:
    pg_url, table = store
    if pg_url.startswith("redis"):
        port = urlsplit(pg_url).port or 6379
    else:
        port = make_url(normalize_url(pg_url)).port or 5432
    with Relay(port) as relay:
        active = Replica(via(pg_url, relay.port), table).start()
        wait_for(lambda: active.coordination.active, "the first replica is active")
        standby = Replica(pg_url, table).start()
        wait_for(lambda: len(runs(pg_url, table, "tick")) >= 2, "ticks on the first active")
        relay.black_hole()
        wait_for(lambda: standby.coordination.active, "the standby took over")
        wait_for(lambda: not active.coordination.active, "the cut-off active stood down")
        # it stopped acting (by its own clock) before the other began
        assert active.when("standby") < standby.when("active")
        # the network heals: what the old active still held reaches the database, refused
        relay.forward()
        wait_for(lambda: active.app.session.journal.flush(0.1), "the old active's queue drained")
        # a record the deposed replica writes now is refused by the database
        refused = active.coordination.refused
        session = active.app.session
        session.journal.record("report", "run", "deposed", session.clock.now())
        assert session.journal.flush(WAIT_S)
        assert active.coordination.refused > refused
        wait_for(lambda: len(runs(pg_url, table, "tick")) >= 5, "ticks on the new active")
        standby.stop()
        active.stop()
    ticks = runs(pg_url, table, "tick")
    assert min(b - a for a, b in pairwise(ticks)) >= 0.99
    assert len(runs(pg_url, table, "report")) == 1


def test_coordination_needs_a_postgresql_or_redis_repo() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL or a RedisRepo"):
        App(coordination=True)
    with pytest.raises(ConfigError, match="lease name"):
        App(coordination=3)


@pytest.mark.pg
def test_coordination_takes_a_lease_name_or_an_object_and_says_what_it_is(
    pg_url: str, table: str
) -> None:
    repo = SQLRepo(model=TaskRunRecord, conn_string=pg_url, table=table, if_missing="create")
    try:
        named = App(logger_repo=repo, coordination=table).session.coordination
        assert named is not None
        assert named.name == table
        assert not named.active
        assert named.since is None
        assert "standby" in repr(named)
        own = Coordination(name=table, lease_s=6, holder="web-1")
        assert App(logger_repo=repo, coordination=own).session.coordination is own
        assert (own.poll_s, own.holder) == (2.0, "web-1")
        assert own.lease is not None
        own.lease.create()  # what the first start does
        assert own.status() is None  # no replica ever took this lease
        with pytest.raises(RuntimeError, match="before attach"):
            Coordination().status()
    finally:
        repo.close()


@pytest.mark.skipif(not hasattr(time, "CLOCK_BOOTTIME"), reason="Linux's CLOCK_BOOTTIME only")
def test_the_lease_counts_on_a_clock_that_counts_a_suspended_host() -> None:
    # CLOCK_MONOTONIC stands still while the host is suspended: a replica that woke up after a
    # suspend longer than its lease went on acting for the rest of the lease by that clock
    assert coordinator_module._elapsed() == pytest.approx(
        time.clock_gettime(time.CLOCK_BOOTTIME), abs=0.5
    )


def test_a_replica_whose_lease_ran_out_while_suspended_stops_acting_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coordination = Coordination(lease_s=3.0)
    coordination._acting, coordination._held = True, 1
    coordination._valid_until = coordinator_module._elapsed() + 2.4
    assert coordination.may_act()
    woke = coordinator_module._elapsed() + 3600.0  # an hour of suspend
    monkeypatch.setattr(coordinator_module, "_elapsed", lambda: woke)
    assert not coordination.may_act()
    assert not coordination.active
    assert coordination.losses == 1
    assert coordination.transitions[-1][1] == "standby"
