"""W7 host process, schedule 1.2: how late a plain thread of the same process wakes while the
main thread runs a busy ``run_all()`` loop over one job (as W3: ``every(0)`` never returns).

Only ``probe=thread``: schedule has no asyncio embedding.
"""

from __future__ import annotations

import threading

import schedule
from _probe import WakeProbe, Window, emit, params, run_in_background

p = params(probe="thread", window_s=5.0, warmup_s=0.5)
if p["probe"] != "thread":
    raise SystemExit("schedule has no asyncio embedding: probe must be thread")
counts = [0]


def busy() -> None:
    counts[0] += 1


schedule.every(1).seconds.do(busy)
probe = WakeProbe()
window = Window(float(p["warmup_s"]), float(p["window_s"]), counts, probe=probe)
stop = threading.Event()
window.in_background(stop.set)
run_in_background(probe.thread_loop)
while not stop.is_set():
    schedule.run_all()
emit(**probe.figures(), runs_per_s=window.runs_per_s)
