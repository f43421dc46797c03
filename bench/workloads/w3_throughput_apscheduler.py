"""W3 throughput, APScheduler 3: runs per second of an always-due job (no history is kept).

APScheduler has no always-due trigger, so a two-line one returns "now" every time. ``main`` runs
the job inline in the scheduler thread (``DebugExecutor``); ``thread`` uses the default pool.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from _probe import Stopwatch, emit, params
from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

p = params(mode="main", window_s=5.0, warmup_s=0.5)
# "maximum number of running instances reached" is a warning per skipped launch in thread mode.
logging.getLogger("apscheduler").setLevel(logging.ERROR)


class AlwaysTrigger(BaseTrigger):
    """Due now, and again one microsecond after each fire time (returning ``now`` alone makes
    APScheduler's catch-up loop, which collects fire times up to now, never end)."""

    def get_next_fire_time(self, previous_fire_time, now):  # type: ignore[no-untyped-def]
        if previous_fire_time is None:
            return now
        return max(now, previous_fire_time + timedelta(microseconds=1))


executor = DebugExecutor() if p["mode"] == "main" else ThreadPoolExecutor()
sched = BackgroundScheduler(executors={"default": executor})
runs = 0


def trivial() -> None:
    global runs
    runs += 1


sched.add_job(trivial, AlwaysTrigger(), misfire_grace_time=None)
sched.start()
time.sleep(float(p["warmup_s"]))
before = runs
watch = Stopwatch()
watch.start()
time.sleep(float(p["window_s"]))
after = runs
watch.stop()
sched.shutdown(wait=False)
emit(runs_per_s=(after - before) / watch.wall, runs=runs, records=0)
