"""W3 throughput, skylaunch: runs per second of always-due tasks, run + success logged to the
default memory repo (the history is kept: that is the point of the comparison).

``jobs``: how many always-due tasks. One task in ``thread`` mode runs one at a time (a task
does not overlap itself), so ``jobs=100`` gives the executor a backlog to work through, as
APScheduler's pool gets in its backlog case. Each task counts its own runs (no shared counter
for threads to race on).
"""

from __future__ import annotations

from _probe import Window, add_counting_tasks, emit, params, run_until_window_ends

from skylaunch import App
from skylaunch.conds import true

p = params(mode="main", jobs=1, window_s=5.0, warmup_s=0.5)
app = App(config={"execution": str(p["mode"])})
jobs = int(p["jobs"])
counts = [0] * jobs
add_counting_tasks(app, true, counts)
window = Window(float(p["warmup_s"]), float(p["window_s"]), counts)
run_until_window_ends(app, window)
logged = sum(app.session.repo.filter_by(task_name=f"trivial{i}").count() for i in range(jobs))
emit(runs_per_s=window.runs_per_s, runs=sum(counts), records=logged)
