"""W3 throughput, Rocketry: runs per second of always-due tasks, each run logged to the repo.

The default repo (Red Bird ``MemoryRepo`` of ``LogRecord``) keeps run + success per run.
``cycle_sleep`` is set to none (Rocketry's default 0.1 s caps any task at 10 runs/s).
``jobs``: how many always-due tasks (each counts its own runs).
"""

from __future__ import annotations

from _probe import Window, add_counting_tasks, emit, params, run_until_window_ends
from rocketry import Rocketry
from rocketry.conds import true

p = params(mode="main", jobs=1, window_s=5.0, warmup_s=0.5)
app = Rocketry(config={"task_execution": str(p["mode"]), "cycle_sleep": None})
jobs = int(p["jobs"])
counts = [0] * jobs
add_counting_tasks(app, true, counts)
window = Window(float(p["warmup_s"]), float(p["window_s"]), counts)
run_until_window_ends(app, window)
logged = sum(app.session[f"trivial{i}"].logger.filter_by().count() for i in range(jobs))
emit(runs_per_s=window.runs_per_s, runs=sum(counts), records=logged)
