"""SIGTERM (systemd, ``docker stop``, Kubernetes) stops a real scheduler as Ctrl-C does.

Before: SIGTERM killed the process at once: no shutdown hook, the running task left open in the
log and recorded as ``crash`` by the next start.
"""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ._proc import spawn, wait_for

APP = Path(__file__).with_name("stoppable_app.py")
WAIT_S = 15.0


def start(log: Path, mode: str) -> subprocess.Popen[str]:
    return spawn(APP, log, mode)


def actions(log: Path) -> list[str]:
    with log.open(newline="") as file:
        return [row["action"] for row in csv.DictReader(file) if row["task_name"] == "work"]


def restart_and_check(log: Path) -> None:
    """A new start on the same log finds nothing left open: no crash is recorded."""
    check = start(log, "check")
    _out, err = check.communicate(timeout=WAIT_S)
    assert check.returncode == 0, err
    assert "crash" not in actions(log)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "ends_as"),
    [("finish", "success"), ("overrun", "terminate")],
)
def test_sigterm_lets_the_run_end_within_its_timeout(
    mode: str, ends_as: str, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    proc = start(log, mode)
    try:
        assert proc.stdout is not None
        wait_for(proc, "work started", WAIT_S)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=WAIT_S)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "shutdown hook ran" in out
    assert "run() returned" in out
    assert "SIGTERM received: shutting down" in err
    assert "Traceback" not in err
    assert actions(log) == ["run", ends_as]
    assert took < 6.0  # the run's 1.5 s (its work or its timeout) and the shutdown
    restart_and_check(log)


@pytest.mark.slow
def test_a_second_sigterm_terminates_the_runs_at_once(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    proc = start(log, "stubborn")
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        wait_for(proc, "work started", WAIT_S)
        proc.send_signal(signal.SIGTERM)
        wait_for(proc, "SIGTERM received: shutting down", WAIT_S, proc.stderr)
        assert proc.poll() is None  # the first signal waits for the run (its timeout is 60 s)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=WAIT_S)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert took < 3.0
    assert "SIGTERM received again: terminating the running tasks now" in err
    assert "shutdown hook ran" in out
    assert actions(log) == ["run", "terminate"]
    restart_and_check(log)
