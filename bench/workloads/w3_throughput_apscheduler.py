"""W3 throughput, APScheduler 3: runs per second of always-due jobs (no history is kept).

APScheduler has no always-due trigger, so ``_apscheduler.AlwaysTrigger`` returns "now" every
time. ``main`` runs the jobs inline in the scheduler thread (``DebugExecutor``); ``thread`` uses
the default pool (10 workers). A job has ``max_instances=1``: one job cannot overlap itself, so with ``jobs=1``
the pool is mostly idle; ``jobs=100`` gives it a backlog of due jobs to work through.
"""

from __future__ import annotations

import logging

from _apscheduler import AlwaysTrigger
from _probe import Window, emit, params
from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

p = params(mode="main", jobs=1, window_s=5.0, warmup_s=0.5)
# "maximum number of running instances reached" is a warning per skipped launch in thread mode.
logging.getLogger("apscheduler").setLevel(logging.ERROR)
executor = DebugExecutor() if p["mode"] == "main" else ThreadPoolExecutor()
sched = BackgroundScheduler(executors={"default": executor})
jobs = int(p["jobs"])
counts = [0] * jobs


def trivial(index: int) -> None:
    counts[index] += 1


for index in range(jobs):
    sched.add_job(trivial, AlwaysTrigger(), args=[index], misfire_grace_time=None)
sched.start()
window = Window(float(p["warmup_s"]), float(p["window_s"]), counts)
window.run(lambda: sched.shutdown(wait=False))
emit(runs_per_s=window.runs_per_s, runs=sum(counts), records=0)
