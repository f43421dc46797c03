"""Objects a SQL repo's batch leaves to the oldest GC generation, two source trees interleaved.

    .venv/bin/python bench/batch_promotions.py BEFORE_SRC AFTER_SRC [--backend sqlite|postgres]
        [--rounds 2] [--batches 10]

Each round runs, for each tree in turn, in a fresh process with that tree first on
``sys.path``: an ``SQLRepo`` (``MinimalRunRecord``) inserts ``--batches`` batches of 4,999
lifecycle field dicts while another thread allocates (as the scheduler's loop does beside the
repo's writer thread), and a ``gc.callbacks`` hook counts, by type, the objects each young
collection of generation 1 moves into the oldest one. CPython runs a full collection when what
it promoted since the last one exceeds a quarter of what the oldest generation holds, freed
objects included: fewer per batch means fewer full collections (bench W6's longest stalls).
A count, not a time: repeatable within a few objects under any load. PostgreSQL is
``SKYLAUNCH_TEST_PG_URL`` (default: the test server).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r"""
import collections, gc, sys, tempfile, threading, time, uuid
from datetime import datetime, timezone
from skylaunch.log import MinimalRunRecord
from skylaunch.log.repos.sql import SQLRepo

backend, batches = sys.argv[1], int(sys.argv[2])
folder = tempfile.TemporaryDirectory()
url = (
    f"sqlite:///{folder.name}/records.db"
    if backend == "sqlite"
    else sys.argv[3]
)
table = "bench_promotions_" + uuid.uuid4().hex[:8]
repo = SQLRepo(MinimalRunRecord, conn_string=url, table=table, if_missing="create")
start = datetime.now(timezone.utc)


def batch(n):
    return [
        {"task_name": "t", "action": "run", "created": 1.0 + i, "start": start, "end": None,
         "runtime": None, "message": "m", "exc_text": None, "run_id": "%032x" % i}
        for i in range(n)
    ]


mark, promoted = [0], collections.Counter()


def counted(phase, info):
    if info["generation"] != 1:
        return
    oldest = gc.get_objects(2)
    if phase == "start":
        mark[0] = len(oldest)
    elif len(oldest) > mark[0]:
        promoted.update(type(o).__name__ for o in oldest[mark[0]:])
    del oldest


running = True


def beside():
    kept = []
    while running:
        kept.extend({} for _ in range(200))
        if len(kept) > 5_000:
            kept.clear()
        time.sleep(0.0001)


repo.insert_items(batch(5_000))  # first use: statements, connections
work = [batch(4_999) for _ in range(batches)]
gc.collect()
other = threading.Thread(target=beside)
other.start()
gc.callbacks.append(counted)
try:
    for items in work:
        repo.insert_items(items)
finally:
    gc.callbacks.remove(counted)
    running = False
    other.join()
    if backend != "sqlite":
        with repo.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE "{table}"')
    repo.close()
top = ", ".join(f"{name} {n}" for name, n in promoted.most_common(6))
print(f"{sum(promoted.values()) / batches:.0f} per batch ({top})")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    pg_url = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    for round_ in range(1, args.rounds + 1):
        for label, src in (("before", args.before), ("after", args.after)):
            env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
            done = subprocess.run(
                [sys.executable, "-c", CHILD, args.backend, str(args.batches), pg_url],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"round {round_} {label:6} {args.backend}: {done.stdout.strip()}")


if __name__ == "__main__":
    main()
