"""What every child script shares: argument parsing, CPU/RSS probes, one JSON line of figures.

Child scripts run under different interpreters (the peers' venvs and skylaunch's), so this file
uses the standard library only and is imported by path (the child's own folder is ``sys.path[0]``).
"""

from __future__ import annotations

import json
import math
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

__all__ = [
    "Stopwatch",
    "cpu_s",
    "emit",
    "latency_figures",
    "not_due_hhmm",
    "params",
    "percentile",
    "rss_kib",
    "run_in_background",
]


def params(**defaults: float | str) -> dict[str, float | int | str]:
    """``key=value`` arguments over defaults, typed like the default (readable commands)."""
    values = dict(defaults)
    for arg in sys.argv[1:]:
        key, sep, raw = arg.partition("=")
        if not sep or key not in defaults:
            known = ", ".join(sorted(defaults))
            raise SystemExit(f"unknown argument {arg!r}: expected key=value with key in {known}")
        values[key] = type(defaults[key])(raw)
    return values


def cpu_s() -> float:
    """CPU seconds of the whole process (every thread), user + system."""
    return time.process_time()


def rss_kib() -> int:
    """Resident set size now, from the kernel; falls back to the peak where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def not_due_hhmm() -> str:
    """A time of day twelve hours away: a daily task at it is certainly not due in the window."""
    return (datetime.now() + timedelta(hours=12)).strftime("%H:00")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; small samples (30 runs) make interpolation pointless."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def latency_figures(
    starts: Sequence[float], interval_s: float, *, grid_origin: float | None = None
) -> dict[str, float]:
    """Lateness of each run after the first, in ms, and the drift of the last run.

    ``grid_origin``: the tool schedules on a fixed grid from that instant (APScheduler's interval
    trigger), every run is measured against it; otherwise a run is due one interval after the
    previous start (Rocketry's and schedule's semantics). Drift is always against the grid of the
    first run: how far the last run slipped.
    """
    if len(starts) < 3:
        raise SystemExit(f"only {len(starts)} runs recorded: the window is too short")
    first = starts[0]
    if grid_origin is None:
        late = [(starts[k] - starts[k - 1] - interval_s) * 1000 for k in range(1, len(starts))]
    else:
        late = [(start - grid_origin - k * interval_s) * 1000 for k, start in enumerate(starts)]
    return {
        "runs": len(starts),
        "median_ms": percentile(late, 50),
        "p99_ms": percentile(late, 99),
        "max_ms": max(late),
        "drift_ms": (starts[-1] - first - (len(starts) - 1) * interval_s) * 1000,
    }


def emit(**figures: object) -> None:
    """The one line the harness reads."""
    print(json.dumps(figures), flush=True)


class Stopwatch:
    """Wall and CPU time between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.wall0 = self.cpu0 = self.wall = self.cpu = 0.0

    def start(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_s()

    def stop(self) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall0, cpu_s() - self.cpu0


def run_in_background(target: Callable[[], None]) -> threading.Thread:
    """A daemon thread: measurement threads must never keep a wedged scheduler alive."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread
