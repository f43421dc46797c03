"""W1 idle, skylaunch: CPU burnt over a window while N daily tasks wait for a time 12 h away."""

from __future__ import annotations

import threading
import time

from _probe import Stopwatch, emit, not_due_hhmm, params, run_in_background

from skylaunch import App
from skylaunch.conds import daily, every

p = params(n=100, window_s=20.0, warmup_s=1.0)
app = App(config={"execution": "main"})
first_pass = threading.Event()


def noop() -> None:
    pass


at = not_due_hhmm()
for i in range(int(p["n"])):
    app.task(daily.at(at), name=f"t{i}")(noop)


@app.task(every("1 day"), name="marker")
def marker() -> None:
    first_pass.set()


watch = Stopwatch()


def measure() -> None:
    first_pass.wait()
    time.sleep(float(p["warmup_s"]))
    watch.start()
    time.sleep(float(p["window_s"]))
    watch.stop()
    app.session.shut_down()


run_in_background(measure)
app.run()
emit(cpu_s=watch.cpu, window_s=watch.wall, core_share=watch.cpu / watch.wall)
