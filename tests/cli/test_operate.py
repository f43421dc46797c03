"""``skylaunch run|tasks|why|upcoming`` on ``module:app``, and against a running app (``--url``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skylaunch.cli import main

APP_SOURCE = """
from skylaunch import App
from skylaunch.time.clock import SimulatedClock

app = App(clock=SimulatedClock("2024-01-03 07:13:21", tz=None), execution="thread",
          timezone="UTC", shut_cond="scheduler has more than 2 cycles")

@app.task("daily after 10:00")
def report() -> None:
    print("report ran")

@app.task("after task 'report'")
def load() -> None: ...

@app.task("false")
def manual(day: int = 0) -> None: ...
"""

TOKEN = "cli-test-token-0123456789abcdef"


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh module (a new name each time: the import is not cached across tests)."""
    name = f"opsapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(APP_SOURCE)
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def test_tasks_table_and_json(app_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", f"{app_module}:app"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "CONDITION", "STATUS", "LAST", "OUTCOME", "NEXT", "LEFT"]
    assert lines[1].split()[:1] == ["report"]
    assert "2024-01-03 10:00:00" in lines[1]
    assert lines[1].rstrip().endswith("2h 46m")
    assert "after report" in lines[2]
    assert main(["tasks", f"{app_module}:app", "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in tasks] == ["report", "load", "manual"]
    assert tasks[0]["next_run"]["at"] == "2024-01-03T10:00:00+00:00"


def test_why_and_upcoming(app_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why", f"{app_module}:app", "report"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "task 'report' is not due at 2024-01-03T07:13:21+00:00 (idle)"
    assert "FALSE daily after 10:00" in out
    assert main(["upcoming", f"{app_module}:app", "--hours", "30"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "2024-01-03 10:00:00  report",
        "2024-01-03 10:00:00  load",
        "2024-01-04 10:00:00  report",
        "2024-01-04 10:00:00  load",
    ]


def test_run_runs_the_app_until_it_shuts_down(
    app_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", f"{app_module}:app"]) == 0  # its shut_cond ends it


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tasks"], "tasks needs MODULE:APP or --url URL"),
        (["tasks", "nomodule_here:app"], "cannot import 'nomodule_here'"),
        (["tasks", "json:dumps"], "not a skylaunch App or Session"),
        (["tasks", "json"], "expected MODULE:APP"),
        (["why", "json:nothing", "x"], "has no attribute 'nothing'"),
        (["pause"], "acts on a running scheduler: give --url URL"),
        (["tasks", "--url", "ftp://x"], "expected http://host:port"),
        (["tasks", "--url", "http://127.0.0.1:9"], "cannot reach http://127.0.0.1:9"),
        (["run", "--url", "http://127.0.0.1:9"], "run --url URL takes one TASK name"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unknown_task_is_an_error(app_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why", f"{app_module}:app", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err
    assert "known tasks: 'load', 'manual', 'report'" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_run_http_serves_the_api_the_url_commands_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = textwrap.dedent(
        """
        from skylaunch import App
        app = App(execution="thread")

        @app.task("every 1 hour")
        def hourly() -> None: ...

        @app.task("false")
        def manual(day: int = 0) -> None:
            print("manual ran with", day, flush=True)
        """
    )
    (tmp_path / "served.py").write_text(source)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SKYLAUNCH_API_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "skylaunch", "run", "served:app", "--http", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while main(["tasks", "--url", url, "--json"]) != 0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        tasks = json.loads(capsys.readouterr().out)
        assert [t["name"] for t in tasks] == ["hourly", "manual"]
        # without the token: refused, and the message says where the token goes
        monkeypatch.delenv("SKYLAUNCH_API_TOKEN", raising=False)
        assert main(["pause", "--url", url]) == 2
        assert "$SKYLAUNCH_API_TOKEN" in capsys.readouterr().err
        monkeypatch.setenv("SKYLAUNCH_API_TOKEN", TOKEN)
        assert main(["run", "--url", url, "manual", "--param", "day=7"]) == 0
        assert capsys.readouterr().out == "ok: run 'manual'\n"
        for command in (["disable", "hourly"], ["enable", "hourly"], ["pause"], ["resume"]):
            assert main([command[0], "--url", url, *command[1:]]) == 0
        # not manual: under load the request could cut its run short before it printed
        assert main(["terminate", "--url", url, "hourly"]) == 0
        assert main(["why", "--url", url, "hourly"]) == 0
        assert "next run:" in capsys.readouterr().out
        assert main(["upcoming", "--url", url, "--hours", "3", "--json"]) == 0
        capsys.readouterr()
        assert main(["tasks", "--url", url]) == 0
        table = capsys.readouterr().out
        assert "manual" in table
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert "manual ran with 7" in out
    assert "Traceback" not in err, err


def test_the_table_says_which_replica_this_is() -> None:
    import io

    from skylaunch.cli.operate import _table

    document = {
        "now": "2024-01-03T08:00:00+00:00",
        "tasks": [],
        "replica": {
            "lease": "app",
            "holder": "web-1:42:ab",
            "active": True,
            "since": "2024-01-03T07:55:00+00:00",
        },
    }
    out = io.StringIO()
    _table(document, out)
    assert "(replica web-1:42:ab of lease app: active since" in out.getvalue()
    document["replica"] = {**document["replica"], "active": False, "since": None}
    out = io.StringIO()
    _table(document, out)
    assert "(replica web-1:42:ab of lease app: a standby)" in out.getvalue()
