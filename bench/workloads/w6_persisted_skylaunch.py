"""W6 persisted throughput, skylaunch: runs per second of always-due inline tasks with every
record (run + success) persisted to SQLite or PostgreSQL through ``SQLRepo``.

``record_wait``: ``default`` keeps ``run_record_wait`` as shipped (each run's body waits until
its ``run`` record is stored: durable start); a number sets it (``0``: runs start at once).
``startup_gc``: ``default`` keeps the setting as shipped, else sets it (``off``, ``freeze``).
Records are written by the repo handler's thread; after the window the scheduler is stopped
and the time until the last record is stored is ``flush_s``. ``records`` is counted in the
database afterwards. ``loop_stall_ms``: the worst lateness, over the window, of an asyncio task
in the scheduler's own loop that sleeps 5 ms again and again (the scheduler is served in an
event loop of this script's, as ``app.run()`` would do); ``loop_stall_p99_ms`` and
``loop_stall_median_ms``: the same probe's 99th percentile and median.
"""

from __future__ import annotations

import logging
import tempfile
import warnings

import _probe as bench

from skylaunch import App
from skylaunch.conds import true
from skylaunch.embed import BlockingTaskWarning
from skylaunch.log import MinimalRunRecord, RepoHandler
from skylaunch.log.repos.sql import SQLRepo

p = bench.params(
    backend="sqlite",
    jobs=1,
    window_s=5.0,
    warmup_s=0.5,
    record_wait="default",
    startup_gc="default",
)
warnings.simplefilter("ignore", BlockingTaskWarning)  # inline tasks on the loop: on purpose
folder = tempfile.TemporaryDirectory()
url = bench.database_url(str(p["backend"]), folder.name)  # postgresql:// means psycopg 3 here
count_url = bench.database_url(str(p["backend"]), folder.name, "psycopg")
table = bench.unique_name("bench_w6_skylaunch")
config: dict[str, object] = {"execution": "main"}
if p["record_wait"] != "default":
    config["run_record_wait"] = float(p["record_wait"])
if p["startup_gc"] != "default":
    config["startup_gc"] = p["startup_gc"]
counts = [0] * int(p["jobs"])
gaps = bench.GapMeter()
probe = bench.WakeProbe()
window = bench.Window(float(p["warmup_s"]), float(p["window_s"]), counts, probe=probe, gaps=gaps)
try:
    repo = SQLRepo(model=MinimalRunRecord, conn_string=url, table=table, if_missing="create")
    app = App(logger_repo=repo, config=config)
    app.session.log_flush_timeout_s = 600.0  # shutdown writes everything: flush_s says how long
    bench.add_counting_tasks(app, true, counts, gaps)
    bench.run_until_window_ends(app, window, "asyncio", probe)
    flushed = app.session.flush_logs(600.0)
    flush_s = window.since_stop()
    handlers = logging.getLogger(app.session.config.task_logger_basename).handlers
    dropped = sum(h.dropped for h in handlers if isinstance(h, RepoHandler) and h.repo is repo)
    repo.close()
    records = bench.count_rows(count_url, table)
finally:
    bench.drop_table(count_url, table)
stall = probe.figures()
bench.emit_persisted(
    window,
    records,
    flush_s,
    dropped=dropped,
    flushed=flushed,
    loop_stall_ms=stall["max_ms"],
    loop_stall_p99_ms=stall["p99_ms"],
    loop_stall_median_ms=stall["median_ms"],
)
