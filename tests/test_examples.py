"""Every example runs to completion (a smoke test: they are what new users try first)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, require_service

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))
RABBITMQ_URL = os.environ.get("SKYLAUNCH_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
# examples that need services: (name, URL, default port), and the URLs handed to them
SERVICES = {
    "celery_cluster.py": [("rabbitmq", RABBITMQ_URL, 5672), ("redis", REDIS_URL, 6379)],
}


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path, tmp_path: Path) -> None:
    for name, url, port in SERVICES.get(path.name, []):
        require_service(name, url, port)
    env = {
        **os.environ,
        "SKYLAUNCH_DEMO_SECONDS": "2",
        "SKYLAUNCH_DEMO_BROKER": RABBITMQ_URL,
        "SKYLAUNCH_DEMO_BACKEND": REDIS_URL,
    }
    done = subprocess.run(
        [sys.executable, str(path)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr[-3000:]
