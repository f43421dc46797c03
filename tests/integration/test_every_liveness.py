"""Tasks ``every(...)`` keep running on the real clock (issue 12, item 1).

Five tasks ``every("100ms")`` in the main thread once ran ``{100, 1, 10, 5, 1}`` times in 10 s
and then never again: ``Every.is_true`` and ``Every.next_change`` compared floats two different
ways, and at a wake-up landing on the due microsecond the task was dropped for good. Each
wake-up had a small chance of that, so this probe makes many of them (10 tasks, 20 ms, 3 s); it
caught the defect in most runs, the simulated-clock test in tests/conds/test_timing.py in all.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from skylaunch import App
from skylaunch.conds import every, scheduler_running
from skylaunch.testing import runs

SECONDS = 3.0
#: A task whose last run is older than this at the end has stopped being scheduled.
STALE = timedelta(seconds=1)


@pytest.mark.slow
def test_every_20ms_tasks_keep_running_on_the_real_clock() -> None:
    app = App(config={"execution": "main", "shut_cond": scheduler_running(more_than=SECONDS)})
    names = [f"tick{i}" for i in range(10)]
    for name in names:
        app.task(every("20ms"), name=name)(lambda: None)
    began = time.monotonic()
    app.run()
    assert time.monotonic() - began < SECONDS + 5
    end = app.session.clock.now()
    stalled = {
        name: (len(runs(app, name)), runs(app, name)[-1].isoformat())
        for name in names
        if end - runs(app, name)[-1] > STALE
    }
    assert not stalled, f"runs and last run of the tasks that stopped: {stalled}"
