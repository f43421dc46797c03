"""The contract every slow output keeps, checked against real servers behind a TCP relay.

The repo handler (SQL repo on PostgreSQL), the Redis output and the e-mail output share one
queued-writer base (``skylaunch.log._queued``); whatever their backend does, each must:
never make the caller wait; count every drop and report totals that add up; drain at close
within a bound; and survive its backend going away and coming back, losing nothing that fit in
its queue. The relay (``tests/integration/relay.py``) cuts or black-holes the connection.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from skylaunch.log import RepoHandler, TaskRunRecord
from skylaunch.log.outputs.email import EmailHandler
from skylaunch.log.outputs.redis import RedisStreamHandler
from skylaunch.log.repos.sql import SQLRepo, normalize_url
from tests.integration.relay import Relay

from .conftest import MakeRecord

WAIT_S = 20
# An emit that waited for the hung backend would take its socket timeout (seconds); one that
# only queues takes microseconds. 1 s tells the two apart even on a loaded machine (0.05 s did
# not: a scheduling hiccup under load failed it once).
EMIT_MAX_S = 1.0


@dataclass
class Output:
    """One output wired to its backend through ``relay``, and how to observe both."""

    handler: logging.Handler
    relay: Relay
    delivered: Callable[[], int]
    flush: Callable[[float], bool]
    dropped: Callable[[], int]
    emitted: int = 0

    def emit(self, make_record: MakeRecord, n: int = 1) -> list[float]:
        """Emit ``n`` alert-level records; how long each ``handle`` took."""
        took = []
        for _ in range(n):
            self.emitted += 1
            record = make_record("t", "fail", f"r{self.emitted}")
            started = time.perf_counter()
            self.handler.handle(record)
            took.append(time.perf_counter() - started)
        return took


Factory = Callable[..., Output]


@dataclass
class Inbox:
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def repo_output(pg_url: str) -> Iterator[Factory]:
    url = sa.make_url(normalize_url(pg_url))
    table = f"contract_{uuid.uuid4().hex[:10]}"
    direct = sa.create_engine(url, poolclass=sa.pool.NullPool)
    made: list[tuple[Relay, sa.Engine, RepoHandler]] = []

    def make(**kwargs: Any) -> Output:
        relay = Relay(url.port or 5432)
        engine = sa.create_engine(url.set(host="127.0.0.1", port=relay.port))
        repo = SQLRepo(TaskRunRecord, engine=engine, table=table, if_missing="create")
        handler = RepoHandler(repo, retry_initial_s=0.01, retry_max_s=0.1, **kwargs)
        made.append((relay, engine, handler))

        def delivered() -> int:
            with direct.connect() as conn:
                return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())

        return Output(
            handler, relay, delivered, lambda t: handler.flush(t), lambda: handler.dropped
        )

    yield make
    for relay, engine, handler in made:
        relay.forward()
        handler.close(0)
        relay.close()
        engine.dispose()
    with direct.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
    direct.dispose()


@pytest.fixture
def redis_output(redis_url: str) -> Iterator[Factory]:
    parsed = redis.connection.parse_url(redis_url)
    admin = redis.Redis.from_url(redis_url)
    prefix = f"contract-{uuid.uuid4().hex[:8]}"
    made: list[tuple[Relay, RedisStreamHandler]] = []

    def make(**kwargs: Any) -> Output:
        relay = Relay(int(parsed.get("port", 6379)))
        handler = RedisStreamHandler(
            f"redis://127.0.0.1:{relay.port}/{parsed.get('db', 0)}",
            channel_prefix=prefix,
            backoff_s=0.01,
            max_backoff_s=0.1,
            **kwargs,
        )
        made.append((relay, handler))

        def delivered() -> int:  # at least once: count each record once
            entries = admin.xrange(f"{prefix}:global")
            return len({entry[b"record"] for _, entry in entries})

        return Output(handler, relay, delivered, handler.drain, lambda: handler.dropped)

    yield make
    for relay, handler in made:
        relay.forward()
        handler.close(0)
        relay.close()
    for key in admin.scan_iter(f"{prefix}:*"):
        admin.delete(key)
    admin.close()


@pytest.fixture
def email_output() -> Iterator[Factory]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    made: list[tuple[Relay, EmailHandler]] = []

    def make(**kwargs: Any) -> Output:
        relay = Relay(controller.port)
        handler = EmailHandler(
            "127.0.0.1",
            relay.port,
            "scheduler@example.org",
            "ops@example.org",
            timeout_s=5,
            backoff_s=0.01,
            max_backoff_s=0.1,
            **kwargs,
        )
        made.append((relay, handler))
        return Output(handler, relay, lambda: inbox.count, handler.drain, lambda: handler.dropped)

    yield make
    for relay, handler in made:
        relay.forward()
        handler.close(0)
        relay.close()
    controller.stop()


@pytest.fixture(
    params=[
        pytest.param("repo", marks=pytest.mark.pg),
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("email", marks=pytest.mark.smtp),
    ]
)
def output(request: pytest.FixtureRequest) -> Factory:
    factory: Factory = request.getfixturevalue(f"{request.param}_output")
    return factory


@pytest.fixture
def reports() -> Iterator[list[logging.LogRecord]]:
    """What the outputs report on ``skylaunch.scheduler``."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("skylaunch.scheduler")
    keep = Keep(logging.DEBUG)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(keep)
    yield seen
    logger.removeHandler(keep)
    logger.setLevel(old)


def _drop_counts(records: list[logging.LogRecord]) -> list[tuple[int, int]]:
    """(dropped since the last report, total) of each drop report, unwritten-at-close included."""
    found = []
    for record in records:
        text = record.getMessage()
        since = re.search(r"dropped (\d+) \w+\(s\) since the last report", text)
        total = re.search(r"total dropped (\d+)", text)
        if since and total:
            found.append((int(since.group(1)), int(total.group(1))))
    return found


def test_emit_never_waits_for_a_backend_that_does_not_answer(
    output: Factory, make_record: MakeRecord
) -> None:
    out = output()
    out.emit(make_record)
    assert out.flush(WAIT_S)  # connected and written: the next writes find a live connection
    out.relay.black_hole()
    took = out.emit(make_record, 40)
    assert max(took) < EMIT_MAX_S, f"slowest emit {max(took) * 1000:.1f} ms"
    assert out.flush(0.3) is False  # nothing gets through meanwhile
    out.relay.forward()  # the path heals: what was held arrives
    assert out.flush(WAIT_S)
    assert (out.delivered(), out.dropped()) == (41, 0)


def test_drops_are_counted_and_the_reports_add_up(
    output: Factory, make_record: MakeRecord, reports: list[logging.LogRecord]
) -> None:
    out = output(max_queue=10, report_interval_s=0.2)
    out.relay.black_hole()
    out.emit(make_record, 35)  # 10 fit (the one in flight included), 25 do not
    assert out.dropped() == 25
    time.sleep(0.25)
    out.emit(make_record, 2)  # a drop after the interval reports every drop since the last
    assert out.dropped() == 27
    assert _drop_counts(reports) == [(1, 1), (25, 26)]  # at most one report per interval
    out.handler.close(0.2)  # type: ignore[call-arg]
    assert out.dropped() == 37  # the 10 still queued are lost too
    counts = _drop_counts(reports)
    assert counts == [(1, 1), (25, 26), (11, 37)]  # the final report gives the total
    assert sum(since for since, _ in counts) == out.dropped()


def test_close_is_bounded_while_the_backend_hangs_and_reports_what_it_lost(
    output: Factory, make_record: MakeRecord, reports: list[logging.LogRecord]
) -> None:
    out = output(max_queue=10)
    out.relay.black_hole()
    out.emit(make_record, 13)
    started = time.perf_counter()
    out.handler.close(0.3)  # type: ignore[call-arg]
    took = time.perf_counter() - started
    assert took < 1.5, f"close took {took:.2f} s"
    assert out.dropped() == 13  # 3 that did not fit, then the 10 left at close
    assert _drop_counts(reports) == [(1, 1), (12, 13)]
    out.emit(make_record)  # after close: dropped, counted
    assert out.dropped() == 14


def test_close_drains_what_is_queued_when_the_backend_answers(
    output: Factory, make_record: MakeRecord
) -> None:
    out = output()
    out.emit(make_record, 5)
    out.handler.close(WAIT_S)  # type: ignore[call-arg]
    assert (out.delivered(), out.dropped()) == (5, 0)


def test_an_outage_is_survived_and_reported_once(
    output: Factory, make_record: MakeRecord, reports: list[logging.LogRecord]
) -> None:
    out = output(report_interval_s=3600)
    out.emit(make_record, 3)
    assert out.flush(WAIT_S)
    out.relay.cut()
    out.emit(make_record, 5)
    assert out.flush(0.5) is False  # refused and retried, not dropped
    out.relay.forward()
    out.emit(make_record, 2)
    assert out.flush(WAIT_S)
    assert (out.delivered(), out.dropped()) == (10, 0)
    failed = [r for r in reports if "write failed" in r.getMessage()]
    assert len(failed) == 1  # many failed attempts, one report (rate-limited)
    assert failed[0].exc_info is not None  # the first report carries the traceback
    assert any("writing again after" in r.getMessage() for r in reports)
