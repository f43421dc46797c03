"""Start-up restore from a 1,000,000-record SQLite repo (issue 8 target: <= 2 s).

    .venv/bin/python bench/restore_startup.py [--tasks 100] [--records 1000000] [--db PATH]

Builds the repo once (cached at --db), then times what a scheduler does before its first
pass: open the repo (SQLRepo), and rebuild every task's history (Session.restore_history:
per task and action, the newest ``history_max_records`` records). Also prints the cost of
``Journal.record`` (``session.journal.record``) on the default memory repo (the hot path: two records per run).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo
from skylaunch.session import Session
from skylaunch.tasks.func import FuncTask

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()


def build(db: Path, tasks: int, records: int) -> None:
    if db.exists():
        return
    repo = SQLRepo(TaskRunRecord, conn_string=f"sqlite:///{db}", table="log", if_missing="create")
    repo.engine.dispose()
    per_task = records // tasks
    conn = sqlite3.connect(db)
    rows = []
    for t in range(tasks):
        for i in range(per_task // 2):
            ts = T0 + i * 60.0
            run_id = f"{t}-{i}"
            rows.append((f"task{t}", "run", ts, run_id, "m"))
            rows.append((f"task{t}", "success" if i % 10 else "fail", ts + 1, run_id, "m"))
    conn.executemany(
        "INSERT INTO log (task_name, action, created, run_id, message) VALUES (?, ?, ?, ?, ?)", rows
    )
    conn.commit()
    conn.close()


def restore(db: Path, tasks: int, max_records: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    repo = SQLRepo(TaskRunRecord, conn_string=f"sqlite:///{db}", table="log")
    session = Session(execution="main", repo=repo, history_max_records=max_records)
    for t in range(tasks):
        FuncTask(lambda: None, name=f"task{t}", session=session, start_cond="false")
    t1 = time.perf_counter()
    session.restore_history()
    t2 = time.perf_counter()
    restored = sum(len(session.history.of(f"task{t}")) for t in range(tasks))
    repo.engine.dispose()
    return t1 - t0, t2 - t1, restored


def hot_path(n: int = 50_000) -> float:
    session = Session(execution="main")
    start = datetime.fromtimestamp(T0, timezone.utc)
    t0 = time.perf_counter()
    for i in range(n):
        session.journal.record("t", "run", str(i), start, ts=T0 + i)
        session.journal.record("t", "success", str(i), start, ts=T0 + i + 0.5)
    return (time.perf_counter() - t0) / (2 * n) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(f"/tmp/skylaunch-restore-{args.tasks}x{args.records}.db")
    t0 = time.perf_counter()
    build(db, args.tasks, args.records)
    print(
        f"repo: {db} ({args.records:,} records, {args.tasks} tasks); ready in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    for max_records in (10_000, 1_000):
        runs = [restore(db, args.tasks, max_records) for _ in range(3)]
        opened = statistics.median(r[0] for r in runs)
        took = statistics.median(r[1] for r in runs)
        print(
            f"history_max_records={max_records:>6}: open repo + define tasks {opened:.3f} s, "
            f"restore {took:.3f} s ({runs[0][2]:,} records into the history)"
        )
    print(f"journal.record on the default memory repo: {hot_path():.1f} us per record")


if __name__ == "__main__":
    main()
