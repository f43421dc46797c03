"""The dashboard's own cost: overview render with 1,000 tasks and 1,000,000 records, live log.

    .venv/bin/python bench/dashboard.py [--tasks 1000] [--records 1000000] [--db PATH]

Builds a SQLite repo once (cached at --db: 1,000 records per task, every tenth run failed),
starts an App on it with a simulated clock (not running: the pages read the restored history),
then times ``GET /`` through the ASGI app in process: the whole server side (controller,
history reads, HTML), no network and no browser (issue 17 target: <= 200 ms). Also the task
page (which reads the repo), the timeline, and how many lines per second the live log buffer
takes and hands to an events reader. Each page's figures: wall and CPU time (the machine's load
stretches the first, less the second) and the function calls on the event loop (cProfile; the
overview's read of every task's state in a worker thread is counted on its own line). The
first line times the first read of the history (1,000 tasks' restore from the repo).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import httpx

from skylaunch import App
from skylaunch.dashboard import create_dashboard
from skylaunch.dashboard.live import LiveLog
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo
from skylaunch.time.clock import SimulatedClock

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
CONDS = ("every 10 minutes", "daily after 10:00", "after task '{prev}'", "false", "hourly")


def build(db: Path, tasks: int, records: int) -> None:
    if db.exists():
        return
    repo = SQLRepo(TaskRunRecord, conn_string=f"sqlite:///{db}", table="log", if_missing="create")
    repo.engine.dispose()
    per_task = records // tasks
    conn = sqlite3.connect(db)
    for t in range(tasks):
        rows: list[tuple[str, str, float, str, str, str | None]] = []
        for i in range(per_task // 2):
            ts = T0 + i * 600.0
            run_id = f"{t}-{i}"
            failed = i % 10 == 0
            rows.append((f"task{t}", "run", ts, run_id, "m", None))
            rows.append(
                (
                    f"task{t}",
                    "fail" if failed else "success",
                    ts + 1.5,
                    run_id,
                    "m",
                    "Traceback (most recent call last):\nValueError: bad row" if failed else None,
                )
            )
        conn.executemany(
            "INSERT INTO log (task_name, action, created, run_id, message, exc_text)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.execute("CREATE INDEX IF NOT EXISTS log_task_created ON log (task_name, created)")
    conn.commit()
    conn.close()


def make_app(db: Path, tasks: int, records: int) -> App:
    repo = SQLRepo(TaskRunRecord, conn_string=f"sqlite:///{db}", table="log")
    end = T0 + (records // tasks // 2) * 600.0
    clock = SimulatedClock(datetime.fromtimestamp(end, timezone.utc))
    app = App(logger_repo=repo, clock=clock, execution="main")
    for t in range(tasks):
        cond = CONDS[t % len(CONDS)].format(prev=f"task{t - 1}")
        app.task(cond, name=f"task{t}", func=lambda: None)
    return app


async def timed(client: httpx.AsyncClient, path: str, n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``n`` GETs (CPU: this process, every thread; on a loaded
    machine the wall time waits for the cores, the CPU time does not)."""
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        response = await client.get(path)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200, response.text[:300]
    return wall, cpu


def _count(profile: cProfile.Profile) -> int:
    return sum(stat[1] for stat in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]


async def calls(client: httpx.AsyncClient, path: str) -> int:
    """Python function calls of one GET on the event loop (cProfile): a measure of the work
    that load does not blur. The controller's part runs in a worker thread: not counted."""
    profile = cProfile.Profile()
    profile.enable()
    await client.get(path)
    profile.disable()
    return _count(profile)


def calls_of(func: Callable[[], object]) -> int:
    profile = cProfile.Profile()
    profile.enable()
    func()
    profile.disable()
    return _count(profile)


def live_throughput(lines: int) -> tuple[float, float]:
    """Lines/s appended by a handler, and lines/s an events reader takes in 500-line slices."""
    live = LiveLog(max_lines=10_000)
    t0 = time.perf_counter()
    for i in range(lines):
        live.append({"message": f"line {i}", "task_name": "t", "created": float(i)})
    wrote = lines / (time.perf_counter() - t0)
    got, t0 = 0, time.perf_counter()
    for _ in range(400):  # a reader that keeps up takes the newest 500 lines each time
        got += len(live.after(live.last - 500, limit=500).lines)
    read = got / (time.perf_counter() - t0)
    return wrote, read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/skylaunch-bench-dashboard.db"))
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    t0 = time.perf_counter()
    build(args.db, args.tasks, args.records)
    print(
        f"repo ready: {args.records:,} records, {args.tasks:,} tasks ({time.perf_counter() - t0:.1f} s)"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    app = make_app(args.db, args.tasks, args.records)
    t0, c0 = time.perf_counter(), time.process_time()
    app.control.tasks()  # restores the history from the repo (once)
    print(
        f"history restored in {time.perf_counter() - t0:.2f} s "
        f"(CPU {time.process_time() - c0:.2f} s)"
    )
    print(
        f"control.tasks() (the overview's worker-thread part): {calls_of(app.control.tasks):,} calls"
    )
    board = create_dashboard(app, live=LiveLog())

    async def run() -> None:
        transport = httpx.ASGITransport(app=board)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await timed(client, "/", 2)  # warm up
            for path, n in (("/", args.samples), ("/tasks/task7", 10), ("/timeline", 1)):
                wall, cpu = await timed(client, path, n)
                print(
                    f"GET {path:<12} median {statistics.median(wall):7.1f} ms  "
                    f"max {max(wall):7.1f} ms  CPU median {statistics.median(cpu):7.1f} ms  "
                    f"(n={n})  {await calls(client, path):,} calls"
                )

    asyncio.run(run())
    wrote, read = live_throughput(200_000)
    print(f"live log: {wrote:,.0f} lines/s appended, {read:,.0f} lines/s handed to a reader")


if __name__ == "__main__":
    main()
