"""W3 throughput, schedule 1.2: runs per second of a job run on every pass (no history kept).

schedule cannot express "always due" (``every(0)`` never returns), so the loop calls
``run_all()``, which runs and reschedules every job like a due ``run_pending()`` would.
Only ``main`` exists: schedule has no executor. ``jobs``: how many such jobs.
"""

from __future__ import annotations

import time

import schedule
from _probe import Stopwatch, emit, params

p = params(mode="main", jobs=1, window_s=5.0, warmup_s=0.5)
if p["mode"] != "main":
    raise SystemExit("schedule runs jobs in the calling thread only: mode must be main")
runs = 0


def trivial() -> None:
    global runs
    runs += 1


for _ in range(int(p["jobs"])):
    schedule.every(1).seconds.do(trivial)
start_at = time.perf_counter() + float(p["warmup_s"])
while time.perf_counter() < start_at:
    schedule.run_all()
before = runs
watch = Stopwatch()
watch.start()
end_at = start_at + float(p["window_s"])
while time.perf_counter() < end_at:
    schedule.run_all()
watch.stop()
emit(runs_per_s=(runs - before) / watch.wall, runs=runs, records=0)
