"""W6 persisted throughput, Rocketry: runs per second of always-due inline tasks with every
record (run + success) written to SQLite or PostgreSQL through Red Bird's ``SQLRepo``.

The table is the handbook's log table (an integer key, ``created``, ``task_name``, ``run_id``,
``action``), the model ``MinimalRunRecord`` plus that key; the repo is Rocketry's
``logger_repo``. Rocketry writes each record synchronously on the scheduler's thread (one
insert and commit per record), so there is nothing to flush after the stop; ``flush_s`` is the
time from the stop request to ``app.run()`` returning. SQLAlchemy 1.4 reaches PostgreSQL
through psycopg2.
"""

from __future__ import annotations

import tempfile
from typing import Optional

import _probe as bench
import sqlalchemy.orm  # noqa: F401  (Red Bird 0.7.1 uses it without importing it)
from redbird.repos import SQLRepo
from rocketry import Rocketry
from rocketry.conds import true
from rocketry.log import MinimalRunRecord
from sqlalchemy import create_engine, text


class Record(MinimalRunRecord):
    """The handbook's row: Rocketry's fields plus an autoincrement key (``created`` repeats)."""

    id: Optional[int] = None  # noqa: UP045  (pydantic 1 on Python 3.10 needs Optional)


p = bench.params(backend="sqlite", jobs=1, window_s=5.0, warmup_s=0.5)
folder = tempfile.TemporaryDirectory()
url = bench.database_url(str(p["backend"]), folder.name, "psycopg2")
table = bench.unique_name("bench_w6_rocketry")
key = "INTEGER PRIMARY KEY" if p["backend"] == "sqlite" else "SERIAL PRIMARY KEY"
counts = [0] * int(p["jobs"])
gaps = bench.GapMeter()
window = bench.Window(float(p["warmup_s"]), float(p["window_s"]), counts, gaps=gaps)
engine = create_engine(url)
try:
    with engine.begin() as conn:
        columns = "created FLOAT, task_name TEXT, run_id TEXT, action TEXT"
        conn.execute(text(f"CREATE TABLE {table} (id {key}, {columns})"))
    repo = SQLRepo(model=Record, table=table, engine=engine, id_field="id")
    app = Rocketry(logger_repo=repo, config={"task_execution": "main", "cycle_sleep": None})
    bench.add_counting_tasks(app, true, counts, gaps)
    bench.run_until_window_ends(app, window)
    flush_s = window.since_stop()
    repo.session.close()
    engine.dispose()
    records = bench.count_rows(url, table)
finally:
    bench.drop_table(url, table)
bench.emit_persisted(window, records, flush_s)
