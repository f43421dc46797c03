"""W5 wall time, two ``src`` trees and schedule interleaved (issue 19, round 9).

Each round, for each tree (alternating which goes first): the import alone
(``from skylaunch import App; from skylaunch.conds import daily, every`` timed in a fresh
``python -c``), then ``workloads/w5_cold_start_skylaunch.py n=<n>`` with ``PYTHONPATH`` at the
tree; then schedule's script in ``bench/.venv-schedule``. Prints medians (min-max) and the
1-minute load range. Byte-compile both trees first (``python -m compileall -q <src>``)::

    .venv/bin/python bench/w5_interleaved.py /tmp/old/src src --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
IMPORT = (
    "import time; t = time.perf_counter(); from skylaunch import App; "
    "from skylaunch.conds import daily, every; print(time.perf_counter() - t)"
)
FIELDS = ("total_s", "import_s", "define_s", "first_pass_s")


def _last_line(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms ({min(values) * 1000:.1f}-{max(values) * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs=2, help="two src folders")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    schedule = BENCH / ".venv-schedule" / "bin" / "python"
    imports: dict[str, list[float]] = {}
    figures: dict[str, list[dict[str, float]]] = {}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for src in args.trees if r % 2 == 0 else args.trees[::-1]:
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
            imports.setdefault(src, []).append(
                float(_last_line([sys.executable, "-c", IMPORT], env))
            )
            script = str(BENCH / "workloads" / "w5_cold_start_skylaunch.py")
            line = _last_line([sys.executable, script, f"n={args.n}"], env)
            figures.setdefault(src, []).append(json.loads(line))
        if schedule.exists():
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            script = str(BENCH / "workloads" / "w5_cold_start_schedule.py")
            line = _last_line([str(schedule), script, f"n={args.n}"], env)
            figures.setdefault("schedule", []).append(json.loads(line))
    for src, values in imports.items():
        print(f"import {src}: {_ms(values)}")
    for who, runs in figures.items():
        print(
            f"W5 n={args.n} {who}: " + " ".join(f"{f}={_ms([x[f] for x in runs])}" for f in FIELDS)
        )
    print(f"load 1-min {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
