"""A 12-second tour of skylaunch: a fetch every 2 seconds, a pipeline step after each fetch,
a flaky task with retries, and a report of what ran. Run: python examples/quickstart.py"""

from __future__ import annotations

import logging
import os
import random

from skylaunch import App
from skylaunch.conds import after_success, every, retry

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

SECONDS = int(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "12"))  # the smoke test shortens it
app = App(config={"execution": "main", "shut_cond": f"scheduler has run over {SECONDS} seconds"})
rows: list[int] = []


@app.task(every("2 seconds"))
def fetch() -> int:
    rows.append(random.randint(1, 100))
    return rows[-1]


@app.task(after_success("fetch"))
def transform() -> None:
    print(f"transform: {len(rows)} rows so far, latest {rows[-1]}")


@app.task(every("5 seconds") | retry(2))
def flaky() -> None:
    if random.random() < 0.5:
        raise RuntimeError("the remote end hung up")


if __name__ == "__main__":
    app.run()
    print("\nWhat ran (from the log repo):")
    for name in ("fetch", "transform", "flaky"):
        task = app.session[name]
        actions = [r.action for r in task.logger.filter_by().all()]
        summary = {a: actions.count(a) for a in ("run", "success", "fail")}
        print(f"  {name:<10} {summary}")
