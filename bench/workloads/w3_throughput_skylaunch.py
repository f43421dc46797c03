"""W3 throughput, skylaunch: runs per second of an always-due task, run + success logged to the
default memory repo (the history is kept: that is the point of the comparison)."""

from __future__ import annotations

import time

from _probe import Stopwatch, emit, params, run_in_background

from skylaunch import App
from skylaunch.conds import true

p = params(mode="main", window_s=5.0, warmup_s=0.5)
app = App(config={"execution": str(p["mode"])})
runs = 0


@app.task(true, name="trivial")
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
logged = app.session.repo.filter_by(task_name="trivial").count()
emit(runs_per_s=(counted[1] - counted[0]) / watch.wall, runs=runs, records=logged)
