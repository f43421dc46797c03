"""Two real Celery workers for the Celery tests, started once per test session.

Each worker is a subprocess (prefork pool, one child) consuming a queue of its own test
session, with a bounded lifetime (``timeout`` kills it after ``LIFETIME_S`` whatever happens)
and its own process group, which teardown ends: nothing outlives the tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
LIFETIME_S = 600  # the whole test session (the suite takes ~5 min); teardown ends them first
READY_S = 30.0


@dataclass
class Cluster:
    queue: str
    logs: list[Path]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


def _start(queue: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SKYLAUNCH_TEST_CELERY_QUEUE": queue,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        "timeout",
        "-k",
        "5",
        str(LIFETIME_S),
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tests.execution._celery_app",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "-n",
        f"{name}-{queue}@%h",
        "-Q",
        queue,
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_ready(cluster: Cluster) -> None:
    done = threading.Event()
    for _ in range(int(READY_S / 0.1)):
        text = cluster.log_text()
        if len(re.findall(r" ready\.", text)) >= len(cluster.workers):
            return
        if any(w.poll() is not None for w in cluster.workers):
            break
        done.wait(0.1)
    raise AssertionError(f"the Celery workers did not start:\n{cluster.log_text()}")


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Kill the worker's whole group (its pool children too); its queue is deleted after."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


@pytest.fixture(scope="session")
def celery_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pytest.importorskip("celery")
    from tests.execution import _celery_app

    require_service("rabbitmq", _celery_app.RABBITMQ_URL, 5672)
    require_service("redis", _celery_app.REDIS_URL, 6379)
    queue = f"skylaunch-test-{uuid.uuid4().hex[:12]}"
    _celery_app.app.conf.task_default_queue = queue
    base = tmp_path_factory.mktemp("celery")
    cluster = Cluster(queue, [base / "w1.log", base / "w2.log"])
    try:
        for i, log in enumerate(cluster.logs, 1):
            cluster.workers.append(_start(queue, f"w{i}", log))
        _wait_ready(cluster)
        yield cluster
    finally:
        for worker in cluster.workers:
            _stop(worker)
        with contextlib.suppress(Exception), _celery_app.app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        _celery_app.app.close()
