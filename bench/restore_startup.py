"""Start-up restore from a 1,000,000-record SQLite repo (issue 8 target: <= 2 s).

    .venv/bin/python bench/restore_startup.py [--tasks 100] [--records 1000000] [--db PATH]
    .venv/bin/python bench/restore_startup.py --redis redis://127.0.0.1:6379/0 --records 100000

With ``--redis`` the same records go to a RedisRepo (key prefix ``bench_restore_<random>``,
deleted at the end; keep ``--records`` modest on a shared server: about 0.5 KB each).

Builds the repo once (cached at --db), then times what a scheduler does before its first
pass: open the repo (SQLRepo), and rebuild every task's history (Session.restore_history:
per task and action, the newest ``history_max_records`` records). Also prints the cost of
``Journal.record`` (``session.journal.record``) on the default memory repo (the hot path: two records per run).
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo
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


def records(tasks: int, count: int) -> list[dict[str, object]]:
    """The rows of :func:`build`, as dicts."""
    rows: list[dict[str, object]] = []
    for t in range(tasks):
        for i in range(count // tasks // 2):
            ts, run_id = T0 + i * 60.0, f"{t}-{i}"
            for action, created in (("run", ts), ("success" if i % 10 else "fail", ts + 1)):
                row = {"task_name": f"task{t}", "action": action, "created": created}
                rows.append({**row, "run_id": run_id, "message": "m"})
    return rows


def restore(db: Path | RedisRepo, tasks: int, max_records: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    repo: SQLRepo | RedisRepo
    if isinstance(db, RedisRepo):
        repo = RedisRepo(db.url, TaskRunRecord, key_prefix=db.key_prefix)
    else:
        repo = SQLRepo(TaskRunRecord, conn_string=f"sqlite:///{db}", table="log")
    session = Session(execution="main", repo=repo, history_max_records=max_records)
    for t in range(tasks):
        FuncTask(lambda: None, name=f"task{t}", session=session, start_cond="false")
    t1 = time.perf_counter()
    session.restore_history()
    t2 = time.perf_counter()
    restored = sum(len(session.history.of(f"task{t}")) for t in range(tasks))
    repo.close()
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
    parser.add_argument("--redis", default=None, metavar="URL", help="a Redis repo instead")
    args = parser.parse_args()
    db: Path | RedisRepo
    t0 = time.perf_counter()
    if args.redis:
        db = RedisRepo(
            args.redis, TaskRunRecord, key_prefix=f"bench_restore_{secrets.token_hex(4)}"
        )
        rows = records(args.tasks, args.records)
        for start in range(0, len(rows), 1000):
            db.insert(rows[start : start + 1000])
    else:
        db = args.db or Path(f"/tmp/skylaunch-restore-{args.tasks}x{args.records}.db")
        build(db, args.tasks, args.records)
    print(
        f"repo: {db} ({args.records:,} records, {args.tasks} tasks); ready in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    try:
        measure(db, args.tasks)
    finally:
        if isinstance(db, RedisRepo):
            keys = list(db.client.scan_iter(match=db.key("*"), count=1000))
            for start in range(0, len(keys), 1000):
                db.client.delete(*keys[start : start + 1000])
            db.close()
    print(f"journal.record on the default memory repo: {hot_path():.1f} us per record")


def measure(db: Path | RedisRepo, tasks: int) -> None:
    for max_records in (10_000, 1_000):
        runs = [restore(db, tasks, max_records) for _ in range(3)]
        opened = statistics.median(r[0] for r in runs)
        took = statistics.median(r[1] for r in runs)
        print(
            f"history_max_records={max_records:>6}: open repo + define tasks {opened:.3f} s, "
            f"restore {took:.3f} s ({runs[0][2]:,} records into the history)"
        )


if __name__ == "__main__":
    main()
