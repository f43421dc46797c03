"""W1 idle, schedule 1.2: CPU burnt over a window while N daily jobs wait for a time 12 h away.

The loop is schedule's documented one, sleeping until the next job (``idle_seconds``) but at
most 1 s, so the window's end is noticed on time.
"""

from __future__ import annotations

import time

import schedule
from _probe import Stopwatch, emit, not_due_hhmm, params

p = params(n=100, window_s=20.0, warmup_s=1.0)


def noop() -> None:
    pass


at = not_due_hhmm()
for _ in range(int(p["n"])):
    schedule.every().day.at(at).do(noop)

watch = Stopwatch()
start_at = time.perf_counter() + float(p["warmup_s"])
end_at = start_at + float(p["window_s"])
started = False
while True:
    schedule.run_pending()
    now = time.perf_counter()
    if not started and now >= start_at:
        watch.start()
        started = True
    if now >= end_at:
        break
    idle = schedule.idle_seconds() or 0.0
    wake = start_at if not started else end_at
    time.sleep(max(0.0, min(idle, 1.0, wake - now)))
watch.stop()
emit(cpu_s=watch.cpu, window_s=watch.wall, core_share=watch.cpu / watch.wall)
