"""W1 idle, APScheduler 3: CPU burnt over a window while N cron jobs wait for a time 12 h away."""

from __future__ import annotations

import threading
import time

from _probe import Stopwatch, emit, not_due_hhmm, params
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

p = params(n=100, window_s=20.0, warmup_s=1.0)
sched = BackgroundScheduler()
first_pass = threading.Event()


def noop() -> None:
    pass


hour = int(not_due_hhmm()[:2])
for i in range(int(p["n"])):
    sched.add_job(noop, CronTrigger(hour=hour, minute=0), id=f"t{i}")
# No trigger: due at once; however late start() gets to it (see w5_cold_start_apscheduler.py).
sched.add_job(first_pass.set, id="marker", misfire_grace_time=None)
sched.start()
if not first_pass.wait(timeout=500):
    raise SystemExit("the marker job never ran")
time.sleep(float(p["warmup_s"]))
watch = Stopwatch()
watch.start()
time.sleep(float(p["window_s"]))  # the scheduler's own thread is what is measured
watch.stop()
sched.shutdown(wait=False)
emit(cpu_s=watch.cpu, window_s=watch.wall, core_share=watch.cpu / watch.wall)
