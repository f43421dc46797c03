"""W4 history growth, skylaunch: one scheduling decision and start-up with N records stored.

Same records and conditions as the Rocketry script (run/success pairs of ``t`` and ``up``
over the past 30 days, ending two hours ago), in the memory repo or a SQLite SQL repo. The
decision is ``cond.observe(task=t, session=...)``, which reads the in-memory history: it is
timed once that history has been read back from the repo, as start-up does (before that, it
would time decisions on an empty history: the figures before 22 Nov 2026 02:40 UTC did). Start-up
is ``app.run()`` up to the end of its first pass, which rebuilds that history from the repo.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _probe import emit, params

from skylaunch import App
from skylaunch.conds import after_success, daily, every, false
from skylaunch.log.repos.memory import MemoryRepo

p = params(n=0, backend="memory", cond="every", repeat_s=1.0)
n = int(p["n"])
conds = {"every": every("10 minutes"), "daily": daily, "after_success": after_success("up")}
if p["cond"] not in conds:
    raise SystemExit(f"cond={p['cond']!r}: expected one of {', '.join(conds)}")
cond = conds[str(p["cond"])]

newest = time.time() - 7200
span = 30 * 86400
records = [
    {
        "task_name": "t" if (i // 2) % 2 else "up",
        "action": "run" if i % 2 == 0 else "success",
        "created": newest - span * (n - i) / n,
        "message": "seeded",
    }
    for i in range(n)
]
workdir = tempfile.TemporaryDirectory()
if p["backend"] == "memory":
    repo = MemoryRepo()
elif p["backend"] == "sqlite":
    from skylaunch.log.records import TaskRunRecord
    from skylaunch.log.repos.sql import SQLRepo

    repo = SQLRepo(
        TaskRunRecord,
        conn_string=f"sqlite:///{Path(workdir.name) / 'log.db'}",
        table="log",
        if_missing="create",
    )
else:
    raise SystemExit(f"backend={p['backend']!r}: expected memory or sqlite")
insert = getattr(repo, "insert", None)
if insert is not None:
    insert(records)
else:
    for record in records:
        repo.add(record)


def build() -> App:
    app = App(logger_repo=repo, config={"execution": "main"})

    @app.task(false, name="up")
    def up() -> None:
        pass

    @app.task(cond, name="t")
    def t() -> None:
        pass

    @app.task(every("1 day"), name="marker")
    def marker() -> None:
        app.session.shut_down()

    return app


app = build()
task = app.session["t"]
# What start-up does before the first pass: read the stored history into the in-memory index
# the conditions read. (Measuring before it would time decisions on an empty history.)
app.session.restore_history()
if n and not len(app.session.history.of("t")):
    raise SystemExit("the history was not restored: the decision would not see the records")
costs: list[float] = []
deadline = time.perf_counter() + float(p["repeat_s"])
while len(costs) < 3 or time.perf_counter() < deadline:
    t0 = time.perf_counter()
    cond.observe(task=task, session=app.session)
    costs.append(time.perf_counter() - t0)

app = build()
t0 = time.perf_counter()
app.run()
startup = time.perf_counter() - t0
emit(decision_ms=statistics.median(costs) * 1000, startup_s=startup, decisions=len(costs))
