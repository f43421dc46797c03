"""A scheduler killed with SIGKILL mid-task, then restarted on the same SQLite repo."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
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


LINGER_APP = Path(__file__).with_name("linger_app.py")
KILLS = 2
_ENDS = {"success", "fail", "terminate", "inaction", "crash"}


@pytest.mark.parametrize("wait", ["default", "0"])
def test_sigkill_while_records_stream_then_restart_keeps_the_file_and_crashes_each_run_once(
    tmp_path: Path, wait: str
) -> None:
    """A probe: SIGKILL at random moments while ``spin`` streams records to SQLite (the
    writer batches them and lingers for fuller batches) and ``hold`` waits in a thread, twice, then a scheduler that runs to its end. Every start opens the file; each stored run
    has one ``run`` record and one end, a ``crash`` written by the next start when the kill
    took its end, never a second one (the second start sees the first's crash); and the last scheduler schedules as usual."""
    db = tmp_path / "app.db"
    delays = [random.uniform(0.0, 0.15) for _ in range(KILLS)]  # in failure messages
    for delay in delays:
        proc = spawn(LINGER_APP, db, wait, "kill")
        wait_for(proc, "hold started", TIMEOUT_S)
        time.sleep(delay)  # real time: the kill lands mid-stream
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT_S)
        assert proc.returncode == -signal.SIGKILL
    last = spawn(LINGER_APP, db, wait, "last")
    _out, err = last.communicate(timeout=TIMEOUT_S)
    assert last.returncode == 0, err

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        rows = conn.execute(
            sa.text("SELECT id, task_name, action, run_id FROM log ORDER BY id")
        ).all()
    engine.dispose()
    runs: dict[tuple[str, str], list[str]] = {}
    for _id, task, action, run_id in rows:
        assert run_id is not None
        runs.setdefault((task, run_id), []).append(action)
    for (task, run_id), actions in runs.items():
        assert actions[0] == "run", (task, run_id, actions, delays)
        assert len(actions) == 2, (task, run_id, actions, delays)
        assert actions[1] in _ENDS, (task, run_id, actions, delays)
    hold = [actions for (task, _), actions in runs.items() if task == "hold"]
    assert hold[-1] == ["run", "success"], (hold, delays)
    assert all(actions == ["run", "crash"] for actions in hold[:-1]), (hold, delays)
    if wait == "default":  # a body starts once its run record is stored: each kill a crash
        assert len(hold) == KILLS + 1
    last_crash = max((i for i, _, action, _ in rows if action == "crash"), default=0)
    assert any(t == "spin" and a == "success" and i > last_crash for i, t, a, _ in rows)
    assert [a for _, t, a, _ in rows if t == "stop"] == ["run", "success"]
