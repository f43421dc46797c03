"""W2 latency, skylaunch: how late an ``every("1 second")`` task starts, and how far it drifts.

A run is due one interval after the previous run's recorded instant, which is its planned
instant when the scheduler found it due within 2 ms of it: the due instants form a grid from
the first run's recorded instant, and each run is measured against it.
"""

from __future__ import annotations

import time

from _probe import emit, latency_figures, params

from skylaunch import App
from skylaunch.conds import every

p = params(duration_s=30.0)
app = App(config={"execution": "main"})
starts: list[float] = []


@app.task(every("1 second"))
def tick() -> None:
    starts.append(time.time())
    if starts[-1] - starts[0] >= float(p["duration_s"]) - 0.5:
        app.session.shut_down()


app.run()
first = app.session.repo.filter_by(task_name="tick", action="run").first()
emit(**latency_figures(starts, 1.0, grid_origin=first.created))
