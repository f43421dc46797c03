"""W5's first pass without imports: asyncio preloaded (issue 19, round 11).

    PYTHONPATH=<tree>/src .venv/bin/python bench/w5_first_pass.py [n=10000]

Imports asyncio, inspect and json, then runs ``workloads/w5_cold_start_skylaunch.py`` (``n``
not-due ``daily`` tasks and one due marker whose run ends ``app.run()``) in this process. Its
``first_pass_s`` is then skylaunch's start-up, one pass over every task and shutdown, without
the imports W5's total also counts. Run it alternately on two trees to compare them.
"""

from __future__ import annotations

import asyncio  # noqa: F401 - preloaded: the figure leaves imports out
import inspect  # noqa: F401
import json
import runpy
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

WORKLOAD = Path(__file__).resolve().parent / "workloads" / "w5_cold_start_skylaunch.py"


def main() -> None:
    sys.path.insert(0, str(WORKLOAD.parent))
    sys.argv = [str(WORKLOAD), *(sys.argv[1:] or ["n=10000"])]
    out = StringIO()
    with redirect_stdout(out):
        runpy.run_path(str(WORKLOAD), run_name="__main__")
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    print(f"first pass, asyncio preloaded: {figures['first_pass_s'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
