"""W5 cold start, APScheduler 3: import + add N cron jobs + start (computes every next fire time)."""

from __future__ import annotations

import time

T0 = time.perf_counter()
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

T_IMPORT = time.perf_counter()
import threading

from _probe import cpu_s, emit, not_due_hhmm, params

T_PROBE = time.perf_counter()
p = params(n=100)
sched = BackgroundScheduler(executors={"inline": DebugExecutor()})
first_pass = threading.Event()


def noop() -> None:
    pass


hour = int(not_due_hhmm()[:2])
for i in range(int(p["n"])):
    sched.add_job(noop, CronTrigger(hour=hour, minute=0), id=f"t{i}")
# Due at once, run inline by the first pass of the scheduler thread. misfire_grace_time=None:
# APScheduler skips a run more than 1 s late by default, and start() adding 10,000 jobs can take
# longer than that on a loaded machine; the marker (due when added) was then dropped and the
# wait below never ended (bench/README.md, "APScheduler's misfire grace").
sched.add_job(first_pass.set, id="marker", executor="inline", misfire_grace_time=None)
T_DEFINED = time.perf_counter()
sched.start()
if not first_pass.wait(timeout=500):
    raise SystemExit("the marker job never ran")
end = time.perf_counter()
sched.shutdown(wait=False)
emit(
    total_s=(T_IMPORT - T0) + (end - T_PROBE),  # the harness's own import (_probe) excluded
    import_s=T_IMPORT - T0,
    define_s=T_DEFINED - T_PROBE,
    first_pass_s=end - T_DEFINED,
    probe_s=T_PROBE - T_IMPORT,
    cpu_s=cpu_s(),
)
