"""The Redis lease: take, renew, expire, release and fencing, all judged by Redis.

Expiry is made with ``PEXPIRE key 1`` and waited for by asking Redis whether the key still
exists: every decision of the lease uses the server's clock, never the test's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from skylaunch import App
from skylaunch.coordination import Coordination, FencedWriteError, RedisLease
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo
from tests.integration._proc import child_env, wait_for

pytestmark = pytest.mark.redis

WRITER = Path(__file__).parents[1] / "integration" / "redis_writer.py"


@pytest.fixture
def repo(redis_url: str, redis_prefix: str) -> Iterator[RedisRepo]:
    with RedisRepo(redis_url, TaskRunRecord, key_prefix=redis_prefix) as repo:
        yield repo


@pytest.fixture
def lease(repo: RedisRepo) -> RedisLease:
    return RedisLease(repo.client, key=repo.key("lease", "unit"), name="unit")


def expire(lease: RedisLease) -> None:
    """End the lease by Redis's clock, and wait until Redis says it is gone."""
    lease.client.pexpire(lease.key, 1)
    done = threading.Event()
    for _ in range(500):
        if not lease.client.exists(lease.key):
            return
        done.wait(0.01)
    raise AssertionError("the lease key did not expire")


def record(task: str = "x", created: float = 1.0) -> dict[str, object]:
    return {"task_name": task, "action": "run", "created": created, "message": "m"}


def fence(repo: RedisRepo, lease: RedisLease, holder: str, epoch: int | None) -> None:
    repo.write_guard = lambda write: write(lease.key, lease.token(holder, epoch))


def test_first_take_gets_epoch_one_and_others_are_refused(lease: RedisLease) -> None:
    assert lease.read() is None
    first = lease.take("a", 30)
    assert first is not None
    assert (first.holder, first.epoch, first.name) == ("a", 1, "unit")
    assert first.valid
    assert lease.take("b", 30) is None
    seen = lease.read()
    assert seen is not None
    assert (seen.holder, seen.epoch, seen.acquired_at) == ("a", 1, first.acquired_at)


def test_renew_keeps_the_epoch_and_moves_the_expiry_with_the_redis_clock(
    lease: RedisLease,
) -> None:
    states = [lease.take("a", seconds) for seconds in (30, 60)]
    assert None not in states
    first, renewed = (s for s in states if s is not None)
    # one epoch, one start; the time to live is the new lease's, by Redis's clock
    assert (renewed.epoch, renewed.acquired_at) == (first.epoch, first.acquired_at)
    assert first.renewed_at <= renewed.renewed_at
    assert first.expires_at < renewed.expires_at
    assert 59 < (renewed.expires_at - renewed.db_now).total_seconds() <= 60
    assert lease.client.pttl(lease.key) > 59_000  # the key itself lives that long


def test_an_expired_lease_is_taken_under_a_new_epoch_even_by_its_old_holder(
    lease: RedisLease,
) -> None:
    assert lease.take("a", 30) is not None
    expire(lease)
    assert lease.read() is None
    second = lease.take("b", 30)
    assert second is not None
    assert (second.holder, second.epoch) == ("b", 2)
    assert lease.take("a", 30) is None
    expire(lease)
    again = lease.take("b", 30)
    assert again is not None
    assert again.epoch == 3  # b's lease ran out: its old epoch's writes stay refused
    assert lease.epoch == 3


def test_release_lets_another_take_over_at_once(lease: RedisLease) -> None:
    first = lease.take("a", 30)
    assert first is not None
    assert not lease.release("b", first.epoch)  # not b's
    assert not lease.release("a", first.epoch + 1)  # not that epoch
    assert lease.take("b", 30) is None
    assert lease.release("a", first.epoch)
    second = lease.take("b", 30)
    assert second is not None
    assert second.epoch == first.epoch + 1


def test_redis_refuses_a_record_under_a_stale_epoch_an_expired_lease_and_no_epoch(
    repo: RedisRepo, lease: RedisLease
) -> None:
    first = lease.take("a", 30)
    assert first is not None
    fence(repo, lease, "a", first.epoch)
    repo.add(record(created=1.0))
    expire(lease)
    with pytest.raises(FencedWriteError, match="not held"):  # expired, nobody took it yet
        repo.add(record(created=2.0))
    second = lease.take("b", 30)
    assert second is not None
    with pytest.raises(FencedWriteError, match=f"{second.epoch}:b"):  # another epoch
        repo.insert([record(created=3.0), record(task="y", created=4.0)])
    fence(repo, lease, "a", None)
    with pytest.raises(FencedWriteError, match="holds no lease"):
        repo.add(record(created=5.0))
    fence(repo, lease, "b", second.epoch)
    repo.add(record(created=6.0))
    # the refused batch stored nothing, not even its first record
    assert [r.created for r in repo.filter_by().all()] == [1.0, 6.0]
    repo.write_guard = None
    repo.add(record(created=7.0))  # a repo without coordination writes as usual
    assert repo.filter_by().count() == 3


def test_a_paused_writer_is_refused_by_redis_when_it_resumes(
    redis_url: str, repo: RedisRepo, lease: RedisLease
) -> None:
    """SIGSTOP a process holding the lease, let the lease run out and another replica take
    it, SIGCONT: the process writes with its old token and Redis refuses it."""
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), redis_url, repo.key_prefix, "1.0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert writer.stdin is not None
        assert wait_for(writer, "holding", 30).split() == ["holding", "1"]
        writer.stdin.write("before\n")
        writer.stdin.flush()
        assert "written" in wait_for(writer, "", 10)
        writer.send_signal(signal.SIGSTOP)
        writer.stdin.write("after the pause\n")  # waits in the pipe while it is stopped
        writer.stdin.flush()
        expire(lease)
        taken = lease.take("b", 30)
        assert taken is not None
        assert taken.epoch == 2
        writer.send_signal(signal.SIGCONT)
        assert "refused" in wait_for(writer, "", 10)
    finally:
        writer.kill()
        writer.communicate()
    assert [r.message for r in repo.filter_by(task_name="stale").all()] == ["before\n"]


def test_app_with_a_redis_repo_and_coordination_true_gets_the_redis_lease(
    repo: RedisRepo,
) -> None:
    app = App(logger_repo=repo, coordination=True)
    coordination = app.session.coordination
    assert coordination is not None
    assert isinstance(coordination.lease, RedisLease)
    assert coordination.lease.key == repo.key("lease", "default")
    assert repo.write_guard is not None
    assert coordination.status() is None
    own = Coordination(name="reports", lease_s=2)
    App(logger_repo=repo, coordination=own)
    assert isinstance(own.lease, RedisLease)
    assert own.lease.key == "{" + repo.key_prefix + "}:lease:reports"


def test_a_lease_needs_a_name(repo: RedisRepo) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        RedisLease(repo.client, key=repo.key("lease", ""), name="")
    assert isinstance(repo.client, redis.Redis)


def test_of_many_replicas_racing_for_a_free_lease_exactly_one_gets_it(
    lease: RedisLease,
) -> None:
    start = threading.Barrier(8)
    won: list[str] = []

    def race(holder: str) -> None:
        start.wait()
        if lease.take(holder, 30) is not None:
            won.append(holder)

    threads = [threading.Thread(target=race, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(won) == 1
    state = lease.read()
    assert state is not None
    assert (state.holder, state.epoch) == (won[0], 1)
