"""A scheduler on a CSV history, killed with SIGKILL mid-task; the file then gets a bad row and
an unfinished last row (a hand edit gone wrong, a write cut short). The restarted scheduler, with
``silence_task_logging=True``, still knows what ran: ``daily`` runs once in all, the killed run
becomes a ``crash``, and the records written after the damage read back."""

from __future__ import annotations

import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from skylaunch.exc import RepoDataWarning
from skylaunch.log import CSVFileRepo, TaskRunRecord

from ._proc import spawn
from .test_restart import TIMEOUT_S, wait_for_line

APP = textwrap.dedent(
    """
    import sys, threading
    from skylaunch import App
    from skylaunch.conds import after_success, daily
    from skylaunch.log import CSVFileRepo, TaskRunRecord

    path, phase = sys.argv[1], sys.argv[2]
    app = App(
        logger_repo=CSVFileRepo(path, model=TaskRunRecord),
        execution="main", cycle_sleep=0.01, timeout=None, silence_task_logging=True,
    )

    @app.task(daily)
    def report(): ...

    @app.task(daily, execution="thread")
    def slow():
        if phase == "1":
            # report's success is written by the repo's thread, after this run's own record
            # may be: wait until it is in the file, so that the kill finds report finished
            # (killed earlier, report's run would rightly become a crash and run again)
            for _ in range(1000):
                with open(path) as handle:
                    if any(line.startswith("report,success,") for line in handle):
                        break
                threading.Event().wait(0.01)
            print("slow started", flush=True)
            threading.Event().wait(60)  # killed long before

    @app.task(after_success("slow"))
    def stop():
        app.session.shut_down()

    app.run()
    """
)


def start(script: Path, log: Path, phase: str) -> subprocess.Popen[str]:
    return spawn(script, log, phase)


@pytest.mark.slow
def test_a_damaged_csv_history_after_sigkill_still_runs_daily_once(tmp_path: Path) -> None:
    script = tmp_path / "csv_app.py"
    script.write_text(APP)
    log = tmp_path / "tasks.csv"
    first = start(script, log, "1")
    wait_for_line(first, "slow started")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=TIMEOUT_S)
    assert first.returncode == -signal.SIGKILL

    lines = log.read_text().splitlines()
    header = lines[0]
    # slow's run record is stored before its body starts (durable start); report may follow it
    (last,) = [line for line in lines if line.startswith("slow,run,")]
    with log.open("a") as handle:
        handle.write(last.replace(",run,", ",exploded,") + "\n")  # not an action
        handle.write("report,run,17000")  # cut short: no newline

    second = start(script, log, "2")
    _out, err = second.communicate(timeout=TIMEOUT_S)
    assert second.returncode == 0, err
    assert f"line {len(lines) + 1}: not a TaskRunRecord: action" in err
    assert f"line {len(lines) + 2}: removed the unfinished last row" in err

    with pytest.warns(RepoDataWarning, match=f"line {len(lines) + 1}"):
        records = CSVFileRepo(log, model=TaskRunRecord).filter_by().all()
    assert log.read_text().startswith(header + "\n")
    by_task: dict[str, list[tuple[str, str | None]]] = {}
    for record in records:
        by_task.setdefault(record.task_name, []).append((record.action, record.run_id))
    assert [a for a, _ in by_task["report"]] == ["run", "success"]  # once in all
    slow = by_task["slow"]
    assert [a for a, _ in slow] == ["run", "crash", "run", "success"]
    assert slow[0][1] == slow[1][1] != slow[2][1] == slow[3][1]
    assert [a for a, _ in by_task["stop"]] == ["run", "success"]
