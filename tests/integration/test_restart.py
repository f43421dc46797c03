"""A scheduler killed with SIGKILL mid-task, then restarted on the same SQLite repo."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import sqlalchemy as sa

from ._proc import spawn, wait_for

APP = Path(__file__).with_name("killable_app.py")
TIMEOUT_S = 8.0


def start(db: Path, phase: str) -> subprocess.Popen[str]:
    return spawn(APP, db, phase)


def wait_for_line(proc: subprocess.Popen[str], expected: str) -> None:
    assert wait_for(proc, expected, TIMEOUT_S).strip() == expected


def test_sigkill_mid_task_then_restart_logs_crash_and_keeps_daily(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    first = start(db, "1")
    wait_for_line(first, "slow started")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=TIMEOUT_S)  # reaps it and closes the pipes
    assert first.returncode == -signal.SIGKILL

    second = start(db, "2")
    _out, err = second.communicate(timeout=TIMEOUT_S)
    assert second.returncode == 0, err

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT task_name, action, run_id FROM log ORDER BY id")).all()
    engine.dispose()
    by_task: dict[str, list[tuple[str, str]]] = {}
    for task, action, run_id in rows:
        by_task.setdefault(task, []).append((action, run_id))
    # daily ran once across both processes
    assert [a for a, _ in by_task["report"]] == ["run", "success"]
    # the killed run is a crash, by its run_id; crash does not block daily: slow ran again
    slow = by_task["slow"]
    assert [a for a, _ in slow] == ["run", "crash", "run", "success"]
    assert slow[0][1] == slow[1][1] != slow[2][1] == slow[3][1]
    assert [a for a, _ in by_task["stop"]] == ["run", "success"]
