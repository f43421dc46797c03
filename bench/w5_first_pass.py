"""W5's first pass without imports: asyncio preloaded (issue 19, round 11).

    PYTHONPATH=<tree>/src .venv/bin/python bench/w5_first_pass.py [--profile] [n=10000]

Imports asyncio, inspect and json, then runs ``workloads/w5_cold_start_skylaunch.py`` (``n``
not-due ``daily`` tasks and one due marker whose run ends ``app.run()``) in this process. Its
``first_pass_s`` is then skylaunch's start-up, one pass over every task and shutdown, without
the imports W5's total also counts. Run it alternately on two trees to compare them.

``--profile`` runs the script under cProfile and prints the 25 functions with the most time of
their own, definitions and first pass together (the figure itself is then inflated by the
profiler: compare only profiles with profiles). For the imports, ``python -X importtime``.
"""

from __future__ import annotations

import asyncio  # noqa: F401 - preloaded: the figure leaves imports out
import cProfile
import inspect  # noqa: F401
import json
import pstats
import runpy
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

WORKLOAD = Path(__file__).resolve().parent / "workloads" / "w5_cold_start_skylaunch.py"


def main() -> None:
    args = sys.argv[1:]
    profile = "--profile" in args
    args = [a for a in args if a != "--profile"]
    sys.path.insert(0, str(WORKLOAD.parent))
    sys.argv = [str(WORKLOAD), *(args or ["n=10000"])]
    out = StringIO()
    profiler = cProfile.Profile() if profile else None
    with redirect_stdout(out):
        if profiler is not None:
            profiler.enable()
        runpy.run_path(str(WORKLOAD), run_name="__main__")
        if profiler is not None:
            profiler.disable()
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        print("(profiled: the figures below include the profiler's own cost)")
    print(f"define: {figures['define_s'] * 1000:.1f} ms")
    print(f"first pass, asyncio preloaded: {figures['first_pass_s'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
