"""Run counts of five tasks ``every("100ms")`` in the main thread over 10 s of real time.

Issue 12, item 1: they once ran ``{100, 1, 10, 5, 1}`` times and then never again (a task whose
condition said "never" while false was dropped). Each should run about 100 times.

Run: .venv/bin/python bench/every_liveness.py [seconds]   (default 10; prints one line)
"""

from __future__ import annotations

import sys
import time

from skylaunch import App
from skylaunch.conds import every, scheduler_running
from skylaunch.testing import runs


def main(seconds: float) -> None:
    app = App(config={"execution": "main", "shut_cond": scheduler_running(more_than=seconds)})
    names = [f"tick{i}" for i in range(5)]
    for name in names:
        app.task(every("100ms"), name=name)(lambda: None)
    began = time.monotonic()
    app.run()
    counts = [len(runs(app, name)) for name in names]
    print(f"{time.monotonic() - began:.1f} s, runs per task: {counts}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
