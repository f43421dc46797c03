"""Every example runs to completion (a smoke test: they are what new users try first).

The examples spend their few seconds waiting (on their own schedules, servers and workers),
not computing: the module starts them all at once, each in a directory of its own with its
output in files, and each test waits for its own example's exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, _reachable, require_service

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))
RABBITMQ_URL = os.environ.get("SKYLAUNCH_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
# examples that need services: (name, URL, default port), and the URLs handed to them
SERVICES = {"celery_cluster.py": [("rabbitmq", RABBITMQ_URL, 5672), ("redis", REDIS_URL, 6379)]}
TIMEOUT_S = 100


ENV = {
    **os.environ,
    "SKYLAUNCH_DEMO_SECONDS": "2",
    "SKYLAUNCH_DEMO_BROKER": RABBITMQ_URL,
    "SKYLAUNCH_DEMO_BACKEND": REDIS_URL,
}


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    stderr: Path

    @classmethod
    def start(cls, path: Path, cwd: Path) -> Started:
        """``python path`` in ``cwd``, its output in files there (no pipe left unread)."""
        with (cwd / "stdout.txt").open("wb") as out, (cwd / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, str(path)], cwd=cwd, env=ENV, stdout=out, stderr=err
            )
        return cls(proc, cwd / "stderr.txt")

    def stderr_tail(self) -> str:
        return self.stderr.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def started(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Started]]:
    """Every selected example whose services answer, started; the others are left to their
    test (which skips, or under CI fails, naming the missing service)."""
    selected = {
        item.callspec.params["path"]
        for item in request.session.items
        if item.path.name == Path(__file__).name and hasattr(item, "callspec")
    }
    running: dict[str, Started] = {}
    try:
        for path in EXAMPLES:
            if path in selected and all(
                _reachable(url, port) for _, url, port in SERVICES.get(path.name, [])
            ):
                running[path.name] = Started.start(path, tmp_path_factory.mktemp(path.stem))
        yield running
    finally:
        for example in running.values():
            if example.proc.poll() is None:
                example.proc.kill()
            example.proc.wait()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path: Path, started: dict[str, Started], tmp_path: Path) -> None:
    for name, url, port in SERVICES.get(path.name, []):
        require_service(name, url, port)
    # started with the others by the fixture; else (not found selected there) now
    example = started.get(path.name) or Started.start(path, tmp_path)
    try:
        code = example.proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        example.proc.kill()
        example.proc.wait()
        raise AssertionError(f"{path.name} still ran after {TIMEOUT_S} s") from None
    assert code == 0, example.stderr_tail()
