"""W3 throughput, Rocketry: runs per second of an always-due task, each run logged to the repo.

The default repo (Red Bird ``MemoryRepo`` of ``LogRecord``) keeps run + success per run.
``cycle_sleep`` is set to none (Rocketry's default 0.1 s caps any task at 10 runs/s).
"""

from __future__ import annotations

import time

from _probe import Stopwatch, emit, params, run_in_background
from rocketry import Rocketry
from rocketry.conds import true

p = params(mode="main", window_s=5.0, warmup_s=0.5)
app = Rocketry(config={"task_execution": str(p["mode"]), "cycle_sleep": None})
runs = 0


@app.task(true)
def trivial() -> None:
    global runs
    runs += 1


watch = Stopwatch()
counted = [0, 0]


def measure() -> None:
    time.sleep(float(p["warmup_s"]))
    counted[0] = runs
    watch.start()
    time.sleep(float(p["window_s"]))
    counted[1] = runs
    watch.stop()
    app.session.shut_down()


run_in_background(measure)
app.run()
logged = app.session[trivial].logger.filter_by().count()
emit(runs_per_s=(counted[1] - counted[0]) / watch.wall, runs=runs, records=logged)
