"""CPU per unit of fixed work, two source trees interleaved: how a change moved W3 and W5.

    .venv/bin/python bench/fixed_work.py BEFORE_SRC AFTER_SRC [--rounds 3]

BEFORE_SRC and AFTER_SRC are ``src`` folders (for example of a ``git worktree`` of an older
commit, and this checkout's ``src``). Each round runs, for each tree in turn, in a fresh process
with that tree first on ``sys.path``: W3 (CPU microseconds per run of an always-due inline task
over 100,000 runs, after 1,000 runs of warm-up, the default repo) and W5 (CPU seconds for
import + 10,000 daily tasks + the first pass), both trees byte-compiled first. CPU time, not wall time: less sensitive to the
other work on a shared machine; still compare the two trees within one invocation only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

W3 = """
import time
from skylaunch import App
from skylaunch.conds import true
app = App(config={"execution": "main"})
runs, base = 0, [0.0]
@app.task(true, name="trivial")
def trivial():
    global runs
    runs += 1
    if runs == 1_000:
        base[0] = time.process_time()
    if runs == 101_000:
        app.session.shut_down()
app.run()
print((time.process_time() - base[0]) / 100_000 * 1e6)
"""

W5 = """
import time
t0 = time.process_time()
from skylaunch import App
from skylaunch.conds import daily, every
app = App(config={"execution": "main"})
def noop():
    pass
for i in range(10_000):
    app.task(daily.at("03:00"), name=f"t{i}")(noop)
@app.task(every("1 day"), name="marker")
def marker():
    app.session.shut_down()
app.run()
print(time.process_time() - t0)
"""


def _run(src: str, code: str) -> float:
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    for src in (options.before, options.after):
        # As bench/run.py does: with PYTHONDONTWRITEBYTECODE (or a tree just edited) each
        # child would otherwise compile the modules it imports and W5 would count it.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", os.path.join(src, "skylaunch")],
            check=False,
            capture_output=True,
        )
    for n in range(options.rounds):
        load = os.getloadavg()[0]
        for label, src in (("before", options.before), ("after", options.after)):
            w3, w5 = _run(src, W3), _run(src, W5)
            print(
                f"round {n + 1} {label}: W3 {w3:.2f} us CPU/run, W5 {w5:.3f} s CPU (load {load:.1f})"
            )


if __name__ == "__main__":
    main()
