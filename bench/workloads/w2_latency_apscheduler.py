"""W2 latency, APScheduler 3: an interval job every second on the default thread pool."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from _probe import emit, latency_figures, params
from apscheduler.schedulers.background import BackgroundScheduler

p = params(duration_s=30.0)
sched = BackgroundScheduler()
starts: list[float] = []
done = threading.Event()


def tick() -> None:
    starts.append(time.time())
    if starts[-1] - starts[0] >= float(p["duration_s"]) - 0.5:
        done.set()


# An explicit grid origin (a whole second ahead) makes every run's due instant known.
origin = float(int(time.time()) + 2)
sched.add_job(
    tick, "interval", seconds=1, start_date=datetime.fromtimestamp(origin, tz=timezone.utc)
)
sched.start()
done.wait()
sched.shutdown(wait=False)
emit(**latency_figures(starts, 1.0, grid_origin=origin))
