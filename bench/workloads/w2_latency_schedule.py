"""W2 latency, schedule 1.2: ``every(1).seconds`` with the ``idle_seconds`` sleeping loop."""

from __future__ import annotations

import time

import schedule
from _probe import emit, latency_figures, params

p = params(duration_s=30.0)
starts: list[float] = []


def tick() -> None:
    starts.append(time.time())


schedule.every(1).seconds.do(tick)
while not starts or starts[-1] - starts[0] < float(p["duration_s"]) - 0.5:
    schedule.run_pending()
    time.sleep(max(0.0, min(schedule.idle_seconds() or 0.0, 1.0)))
emit(**latency_figures(starts, 1.0))
