"""RedisRepo beyond the contract: its keys, reads answered from the indexes, an unreachable or
cut-off server, and dicts without a model."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from skylaunch.exc import RepoUnavailableError
from skylaunch.log import MinimalRunRecord, RepoHandler, TaskRunRecord
from skylaunch.log._restore import restore_recent, restore_times
from skylaunch.log.repos.redis import RedisRepo
from tests.integration.relay import Relay

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


@pytest.fixture
def repo(redis_url: str, prefix: str) -> Iterator[RedisRepo]:
    with RedisRepo(redis_url, TaskRunRecord, key_prefix=prefix) as repo:
        yield repo


def fill(repo: RedisRepo) -> None:
    for task, action, created in [
        ("a", "run", 10.0),
        ("a", "success", 12.5),
        ("b:c", "run", 11.0),
        ("a", "run", 20.0),
    ]:
        repo.add({"task_name": task, "action": action, "created": created, "message": "m"})


def test_every_key_shares_the_prefix_hash_tag(repo: RedisRepo, prefix: str) -> None:
    fill(repo)
    keys = set(repo.client.scan_iter(match="*" + prefix + "*", count=1000))
    base = "{" + prefix + "}"
    assert keys == {
        f"{base}:seq",
        f"{base}:items",
        f"{base}:all",
        f"{base}:tasks",
        f'{base}:actions:"a"',
        f'{base}:actions:"b:c"',
        f'{base}:bucket:["a", "run"]',
        f'{base}:bucket:["a", "success"]',
        f'{base}:bucket:["b:c", "run"]',
    }
    assert repo.client.zrange(f'{base}:bucket:["a", "run"]', 0, -1, withscores=True) == [
        ("0000000000000001", 10.0),
        ("0000000000000004", 20.0),
    ]


def test_restore_reads_run_times_from_the_scores_alone(repo: RedisRepo) -> None:
    fill(repo)
    assert restore_recent(repo, "a", limit=2) == [(12.5, "success", None), (20.0, "run", None)]
    assert repo.filter_by(task_name="b:c").count() == 1  # a task name with the separator
    # without the documents, the times are still there: they are read from the sorted sets
    repo.client.delete(repo.key("items"))
    assert restore_times(repo, "a", limit=1, actions=["run", "success", "fail"]) == {
        "run": [20.0],
        "success": [12.5],
        "fail": [],
    }
    assert repo.filter_by(task_name="a").count() == 3  # ZCOUNT: no document either
    assert repo.filter_by(task_name="a").all() == []  # the documents are gone


def test_an_unreachable_server_raises_repo_unavailable() -> None:
    repo = RedisRepo("redis://127.0.0.1:1/0", socket_timeout_s=0.5)
    with pytest.raises(RepoUnavailableError, match=re.escape("127.0.0.1:1")):
        repo.add({"task_name": "x", "action": "run", "created": 1.0})
    with pytest.raises(RepoUnavailableError):
        repo.filter_by(task_name="x").count()
    repo.close()


def test_a_cut_connection_loses_no_record_and_doubles_none(redis_url: str, prefix: str) -> None:
    with Relay(urlsplit(redis_url).port or 6379) as relay:
        url = f"redis://127.0.0.1:{relay.port}{urlsplit(redis_url).path}"
        repo = RedisRepo(url, MinimalRunRecord, key_prefix=prefix, socket_timeout_s=1.0)
        handler = RepoHandler(repo, retry_initial_s=0.01, retry_max_s=0.05)

        def log(run_id: str) -> None:
            fields = {"task_name": "t", "action": "run", "run_id": run_id, "msg": "x"}
            handler.handle(logging.makeLogRecord(fields))

        try:
            for i in range(20):
                log(f"a{i}")
            assert handler.flush(timeout=10)
            relay.cut()  # every connection closed, new ones refused at once
            for i in range(20):
                log(f"b{i}")
            assert not handler.flush(timeout=0.3)  # held, retried
            assert isinstance(handler.last_error, RepoUnavailableError)
            relay.forward()
            assert handler.flush(timeout=10)
        finally:
            handler.close()
            repo.close()
    with RedisRepo(redis_url, MinimalRunRecord, key_prefix=prefix) as reader:
        run_ids = [r.run_id for r in reader.filter_by(task_name="t").all()]
    assert sorted(run_ids) == sorted([f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)])


def test_without_a_model_records_are_json_dicts(redis_url: str, prefix: str) -> None:
    start = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    with RedisRepo(redis_url, key_prefix=prefix) as repo:
        repo.add({"task_name": "x", "action": "run", "created": 1.5, "start": start})
        assert repo.filter_by(task_name="x").all() == [
            {"task_name": "x", "action": "run", "created": 1.5, "start": "2026-11-27T12:00:00Z"}
        ]


def test_settings_are_checked_and_the_password_never_shown() -> None:
    for bad in ("", "a}b"):
        with pytest.raises(ValueError, match="key_prefix"):
            RedisRepo("redis://127.0.0.1:6379/0", key_prefix=bad)
    repo = RedisRepo("redis://:hunter2@127.0.0.1:6379/0", key_prefix="p")
    assert "hunter2" not in repr(repo)
    assert repo.key("lease", "x") == "{p}:lease:x"
    repo.close()
