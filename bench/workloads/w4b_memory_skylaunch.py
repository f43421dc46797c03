"""W4b memory, skylaunch: RSS growth over N runs of an always-due task, default settings
(``retention=full``: with every record kept in memory).

The baseline is taken after 1,000 runs so that lazily imported code is not counted as growth.
"""

from __future__ import annotations

from _probe import emit, params, rss_kib

from skylaunch import App
from skylaunch.conds import true
from skylaunch.log import MemoryRepo, TaskRunRecord

p = params(n=10_000, retention="window")
if p["retention"] not in ("window", "full"):
    raise SystemExit("retention: 'window' (the default repo) or 'full' (every record kept)")
# full: every record stays in memory, none dropped (what Rocketry's default repo does)
repo = MemoryRepo(TaskRunRecord, max_per_task=None) if p["retention"] == "full" else None
app = App(config={"execution": "main"}, logger_repo=repo)
runs = 0
baseline = [0]


@app.task(true)
def trivial() -> None:
    global runs
    runs += 1
    if runs == 1_000:
        baseline[0] = rss_kib()
    if runs == int(p["n"]) + 1_000:
        app.session.shut_down()


app.run()
grown = rss_kib() - baseline[0]
emit(growth_mib=grown / 1024, per_run_kib=grown / int(p["n"]), rss_mib=rss_kib() / 1024)
