"""The HTTP API in a real uvicorn, with the scheduler in the web app's lifespan.

Each control call is observed in the history (through the API, and in the SQLite repo once the
server is gone). Latencies of ``/ping`` are measured and printed, never asserted: what is
asserted is the order of events (a ping answered while a blocking run is still going on).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._proc import wait_until_serving

APP_DIR = Path(__file__).parent
TOKEN = "integration-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WAIT_S = 15.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, db: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "SKYLAUNCH_TEST_DB": str(db),
            "PYTHONPATH": os.pathsep.join([str(APP_DIR), *sys.path]),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "http_app:server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        wait_until_serving(
            self.proc, lambda: self.client.get("/ping").status_code, WAIT_S, self.close
        )

    def get(self, path: str) -> Any:
        response = self.client.get("/scheduler" + path)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.client.post("/scheduler" + path, json=body or {}, headers=AUTH)
        assert response.status_code == 202, response.text
        return response.json()

    def task(self, name: str) -> Any:
        return self.get(f"/tasks/{name}")

    def wait(self, name: str, check: Any) -> Any:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            state = self.task(name)
            if check(state):
                return state
            time.sleep(0.02)
        raise AssertionError(f"task {name!r} never reached the state: {self.task(name)}")

    def close(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=WAIT_S)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "history.db")
    try:
        yield running
    finally:
        running.close()


def _rows(db: Path, task: str) -> list[str]:
    # closing(): sqlite3's own context manager commits but leaves the connection open, which
    # Python 3.13 reports as a ResourceWarning in whichever test collects it later
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT action FROM tasks WHERE task_name = ? ORDER BY created", (task,)
            )
        ]


def test_inspect_and_control_through_a_real_server(server: Server, tmp_path: Path) -> None:
    # list and why: read-only, no token needed
    names = [task["name"] for task in server.get("/tasks")]
    assert names == ["blocker", "sleeper", "ticker", "report"]
    why = server.get("/tasks/report/why")
    assert why["task"] == "report"
    assert why["explanation"]["condition"] == "daily after 23:59:59"
    # control needs the token, and a JSON body
    refused = server.client.post("/scheduler/tasks/blocker/run", json={})
    assert refused.status_code == 401
    form = server.client.post("/scheduler/pause", data={"x": "1"}, headers=AUTH)
    assert form.status_code == 415
    assert not server.get("/")["paused"]

    # run now, with a parameter: a blocking run in thread mode never holds /ping
    server.post("/tasks/blocker/run", {"parameters": {"seconds": 1.5}})
    server.wait("blocker", lambda t: t["status"] == "running")
    latencies = []
    for _ in range(5):
        sent = time.perf_counter()
        assert server.client.get("/ping").json() == {"pong": True}
        latencies.append((time.perf_counter() - sent) * 1000)
    assert server.task("blocker")["status"] == "running"  # answered while the run went on
    print(f"/ping during a blocking thread run: {', '.join(f'{ms:.1f}' for ms in latencies)} ms")
    done = server.wait("blocker", lambda t: t["status"] == "idle")
    assert done["last"]["outcome"] == "success"

    # disable / enable
    server.post("/tasks/report/disable")
    assert server.task("report")["status"] == "disabled"
    assert server.task("report")["next_run"]["kind"] == "disabled"
    server.post("/tasks/report/enable")
    assert server.task("report")["status"] == "idle"

    # terminate a running process-mode task
    server.post("/tasks/sleeper/run")
    server.wait("sleeper", lambda t: t["status"] == "running")
    answer = server.post("/tasks/sleeper/terminate")
    assert answer["running"] == 1
    ended = server.wait("sleeper", lambda t: t["status"] == "idle")
    assert ended["last"]["outcome"] == "terminate"

    # pause: the ticker stops starting; resume: it goes on
    server.post("/pause")
    assert server.get("/")["paused"]
    paused_at = server.wait("ticker", lambda t: t["status"] == "paused")["last"]["started"]
    time.sleep(0.3)  # three ticker periods
    assert server.task("ticker")["last"]["started"] == paused_at
    server.post("/resume")
    server.wait("ticker", lambda t: t["last"]["started"] != paused_at)

    # SIGTERM to uvicorn while a run goes on: the server stops, the lifespan shuts the
    # scheduler down, the run finishes and is logged (uvicorn then re-raises the signal)
    server.post("/tasks/blocker/run", {"parameters": {"seconds": 0.5}})
    server.wait("blocker", lambda t: t["status"] == "running")
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(WAIT_S) in (0, -signal.SIGTERM)
    _out, err = server.proc.communicate(timeout=WAIT_S)
    assert "Traceback" not in err, err
    db = tmp_path / "history.db"
    assert _rows(db, "blocker") == ["run", "success", "run", "success"]
    assert _rows(db, "sleeper") == ["run", "terminate"]
    assert "crash" not in _rows(db, "ticker")
    assert _rows(db, "ticker")[-1] != "run"  # no run left open
