"""W6 persisted throughput, APScheduler 3: runs per second of always-due inline jobs kept in
a ``SQLAlchemyJobStore`` on SQLite or PostgreSQL (SQLAlchemy 2, psycopg 3).

APScheduler persists jobs, not runs: after each run it writes the job's new state (its next run
time, pickled) back to the store, so ``records`` is the number of job rows, not a history. Jobs
run inline in the scheduler's thread (``DebugExecutor``), as W3's main case. ``flush_s`` is the
time from the stop request to the end of ``shutdown()``.
"""

from __future__ import annotations

import logging
import tempfile

import _probe as bench
from _apscheduler import AlwaysTrigger
from apscheduler.executors.debug import DebugExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

p = bench.params(backend="sqlite", jobs=1, window_s=5.0, warmup_s=0.5)
logging.getLogger("apscheduler").setLevel(logging.ERROR)
folder = tempfile.TemporaryDirectory()
url = bench.database_url(str(p["backend"]), folder.name, "psycopg")
table = bench.unique_name("bench_w6_apscheduler")
counts = [0] * int(p["jobs"])
gaps = bench.GapMeter()
window = bench.Window(float(p["warmup_s"]), float(p["window_s"]), counts, gaps=gaps)


def trivial(index: int) -> None:
    counts[index] += 1
    gaps.tick()


try:
    store = SQLAlchemyJobStore(url=url, tablename=table)
    sched = BackgroundScheduler(
        jobstores={"default": store}, executors={"default": DebugExecutor()}
    )
    for index in range(len(counts)):
        sched.add_job(
            trivial, AlwaysTrigger(), args=[index], id=f"trivial{index}", misfire_grace_time=None
        )
    sched.start()
    window.run(lambda: sched.shutdown(wait=True))
    flush_s = window.since_stop()
    records = bench.count_rows(url, table)
    store.engine.dispose()
finally:
    bench.drop_table(url, table)
bench.emit_persisted(window, records, flush_s)
