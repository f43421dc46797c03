"""W5's first pass alone: 10,000 ``daily.at`` tasks, asyncio preloaded (issue 19, round 11).

    PYTHONPATH=<tree>/src .venv/bin/python bench/w5_first_pass.py [n]

Defines ``n`` tasks (10,000 by default) that are not due and one marker task that is, then
times ``app.run()``, which the marker's run ends: start-up, one pass over every task, shutdown.
asyncio, inspect and json are imported first, so the figure is skylaunch's own work, not the
imports W5's total also counts. Run it alternately on two trees to compare them.
"""

from __future__ import annotations

import asyncio  # noqa: F401 - preloaded: the figure leaves imports out
import inspect  # noqa: F401
import json  # noqa: F401
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "workloads"))

from _probe import not_due_hhmm

from skylaunch import App
from skylaunch.conds import daily, every


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    app = App(config={"execution": "main"})

    def noop() -> None:
        pass

    at = not_due_hhmm()
    for i in range(n):
        app.task(daily.at(at), name=f"t{i}")(noop)

    @app.task(every("1 day"), name="marker")
    def marker() -> None:
        app.session.shut_down()

    began = time.perf_counter()
    app.run()
    print(f"first pass, asyncio preloaded: {(time.perf_counter() - began) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
