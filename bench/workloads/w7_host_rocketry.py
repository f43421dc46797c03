"""W7 host process, Rocketry: how late a sleeper in the same process wakes while the scheduler
is busy with one always-true task run inline (``task_execution="main"``, ``cycle_sleep=None``).

``probe=thread``: ``app.run()`` holds the main thread, a plain thread sleeps 5 ms in a loop.
``probe=asyncio``: the scheduler is embedded in an event loop (``await app.serve()``) and an
asyncio task of that loop sleeps 5 ms in a loop. The window is run by a thread of its own,
which also stops the scheduler.
"""

from __future__ import annotations

from _probe import host_delays, params
from rocketry import Rocketry
from rocketry.conds import true

p = params(probe="thread", window_s=5.0, warmup_s=0.5)
app = Rocketry(config={"task_execution": "main", "cycle_sleep": None})
host_delays(app, true, str(p["probe"]), float(p["warmup_s"]), float(p["window_s"]))
