"""W7 host process, skylaunch: how late a sleeper in the same process wakes while the scheduler
is busy with one always-due task run inline (``execution="main"``).

``probe=thread``: ``app.run()`` holds the main thread, a plain thread sleeps 5 ms in a loop.
``probe=asyncio``: the scheduler is embedded in an event loop (``await app.serve()``) and an
asyncio task of that loop sleeps 5 ms in a loop (what a web request handled by that loop would
wait). The window is run by a thread of its own, which also stops the scheduler.
"""

from __future__ import annotations

import warnings

from _probe import host_delays, params

from skylaunch import App
from skylaunch.conds import true
from skylaunch.embed import BlockingTaskWarning

p = params(probe="thread", window_s=5.0, warmup_s=0.5)
warnings.simplefilter("ignore", BlockingTaskWarning)  # an inline task on the loop: on purpose
app = App(config={"execution": "main"})
host_delays(app, true, str(p["probe"]), float(p["warmup_s"]), float(p["window_s"]))
