"""W4b memory, APScheduler 3: RSS growth over N runs of an always-due job run inline."""

from __future__ import annotations

import threading
from datetime import timedelta

from _probe import emit, params, rss_kib
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

p = params(n=10_000)


class AlwaysTrigger(BaseTrigger):
    """As in W3: due now, then one microsecond after each fire time."""

    def get_next_fire_time(self, previous_fire_time, now):  # type: ignore[no-untyped-def]
        if previous_fire_time is None:
            return now
        return max(now, previous_fire_time + timedelta(microseconds=1))


sched = BackgroundScheduler(executors={"default": DebugExecutor()})
runs = 0
baseline = [0]
done = threading.Event()


def trivial() -> None:
    global runs
    runs += 1
    if runs == 1_000:
        baseline[0] = rss_kib()
    if runs == int(p["n"]) + 1_000:
        done.set()


sched.add_job(trivial, AlwaysTrigger(), misfire_grace_time=None)
sched.start()
done.wait()
grown = rss_kib() - baseline[0]
sched.shutdown(wait=False)
emit(growth_mib=grown / 1024, per_run_kib=grown / int(p["n"]), rss_mib=rss_kib() / 1024)
