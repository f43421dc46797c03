"""W4 history growth, Rocketry: one scheduling decision and start-up with N records stored.

N records (run/success pairs of tasks ``t`` and ``up``, spread over the past 30 days and ending
two hours ago) are put in a Red Bird repo first: a ``MemoryRepo`` or a SQLite ``SQLRepo``
(bulk-inserted with sqlite3, which is not what is measured). Then: the median time of
``cond.observe(task=t, session=...)`` for ``every("10 minutes")``, ``daily`` or
``after_success("up")``; and the wall time of ``app.run()`` up to the end of its first pass.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Optional

import sqlalchemy.orm  # noqa: F401  (Red Bird 0.7.1 uses it without importing it)
from _probe import emit, params
from redbird.repos import MemoryRepo, SQLRepo
from rocketry import Rocketry
from rocketry.conds import after_success, daily, every, false
from rocketry.log import MinimalRecord
from sqlalchemy import create_engine


class Record(MinimalRecord):
    """Rocketry's minimal record plus a rowid key: ``created`` is not unique enough for a key."""

    id: Optional[int] = None  # noqa: UP045  (pydantic 1 on Python 3.10 needs Optional)


p = params(n=0, backend="memory", cond="every", repeat_s=1.0)
n = int(p["n"])
conds = {"every": every("10 minutes"), "daily": daily, "after_success": after_success("up")}
if p["cond"] not in conds:
    raise SystemExit(f"cond={p['cond']!r}: expected one of {', '.join(conds)}")
cond = conds[str(p["cond"])]

newest = time.time() - 7200
span = 30 * 86400
rows = [
    ("t" if (i // 2) % 2 else "up", "run" if i % 2 == 0 else "success", newest - span * (n - i) / n)
    for i in range(n)
]
workdir = tempfile.TemporaryDirectory()
if p["backend"] == "memory":
    repo = MemoryRepo(model=Record)
    repo.collection = [Record.construct(task_name=t, action=a, created=c) for t, a, c in rows]
elif p["backend"] == "sqlite":
    import sqlite3

    path = Path(workdir.name) / "log.db"
    engine = create_engine(f"sqlite:///{path}")
    SQLRepo(model=Record, table="log", engine=engine, if_missing="create", id_field="id")
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO log (task_name, action, created) VALUES (?, ?, ?)", rows)
    repo = SQLRepo(model=Record, table="log", engine=engine, id_field="id")
else:
    raise SystemExit(f"backend={p['backend']!r}: expected memory or sqlite")


def build() -> Rocketry:
    app = Rocketry(logger_repo=repo, config={"task_execution": "main"})

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
