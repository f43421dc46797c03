"""Tasks in child processes: logging reaches the parent, results come back, timeouts kill.

``execution="process"`` uses the ``spawn`` start method, so task functions must live at module
level (they are pickled by reference) and the module must be safe to import (the scheduler only
starts under ``if __name__ == "__main__"``). Run: python examples/process_tasks.py
"""

from __future__ import annotations

import logging
import os
import time

from skylaunch import App
from skylaunch.args import Return
from skylaunch.conds import after_success, every
from skylaunch.log.context import task_log

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(name)s %(message)s")

SECONDS = int(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "6"))  # the smoke test shortens it
app = App(
    config={
        "execution": "process",
        "max_process_count": 2,
        "shut_cond": f"scheduler has run over {SECONDS} seconds",
        "instant_shutdown": True,
    }
)


@app.task(every("3 seconds"))
def crunch() -> int:
    """CPU-bound work: in a process it does not hold the scheduler's GIL."""
    total = sum(i * i for i in range(200_000))
    logging.getLogger("crunch").info("crunched in process %d", os.getpid())
    return total


@app.task(after_success("crunch"))
def report(total: int = Return("crunch")) -> None:  # type: ignore[assignment]
    task_log(f"the total is {total}")  # carries the task name and run id


@app.task(every("10 seconds"), timeout=0.5)
def stuck() -> None:
    """Killed after half a second (logged as terminate); no process outlives the scheduler."""
    time.sleep(60)


if __name__ == "__main__":
    app.run()
    for name in ("crunch", "report", "stuck"):
        actions = [r.action for r in app.session[name].logger.filter_by().all()]
        print(f"  {name:<8} {actions}")
