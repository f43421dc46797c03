"""Shared fixtures: a simulated clock, and real services that fail under CI when missing."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

PG_URL = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SKYLAUNCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# the session's two Celery workers (fixture celery_cluster), started only by tests that ask
pytest_plugins = ["tests.execution._celery_cluster"]


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> str:
    """Return ``url`` when the service answers; under CI a missing service fails the test."""
    if _reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url} (set SKYLAUNCH_TEST_{name.upper()}_URL)"
    if IN_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


@pytest.fixture
def pg_url() -> str:
    return require_service("pg", PG_URL, 5432)


@pytest.fixture
def redis_url() -> str:
    return require_service("redis", REDIS_URL, 6379)


def drop_redis_keys(url: str, key_prefix: str) -> None:
    """Delete every key of the Redis repo ``key_prefix`` (never the whole database: other
    tests use the same server at the same time)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match="{" + key_prefix + "}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis repo key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"sltest:{uuid.uuid4().hex[:12]}"
    yield prefix
    drop_redis_keys(redis_url, prefix)


@pytest.fixture
def tmp_cwd(tmp_path: os.PathLike[str]) -> Iterator[str]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield str(tmp_path)
    finally:
        os.chdir(old)
