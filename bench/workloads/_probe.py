"""What every child script shares: argument parsing, CPU/RSS probes, one JSON line of figures.

Child scripts run under different interpreters (the peers' venvs and skylaunch's), so this file
uses the standard library only at import and is imported by path (the child's own folder is
``sys.path[0]``); the database helpers import SQLAlchemy when called (1.4 and 2 both work).
"""

from __future__ import annotations

import math
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "PG_URL",
    "GapMeter",
    "Stopwatch",
    "WakeProbe",
    "Window",
    "add_counting_tasks",
    "count_rows",
    "cpu_s",
    "database_url",
    "drop_table",
    "emit",
    "emit_persisted",
    "host_delays",
    "latency_figures",
    "not_due_hhmm",
    "params",
    "percentile",
    "pg_url",
    "rss_kib",
    "run_in_background",
    "run_until_window_ends",
    "unique_name",
]

PG_URL = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


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
    import json  # not at import: W5 times what the scheduler loads

    print(json.dumps(figures), flush=True)


class Stopwatch:
    """Wall and CPU time between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.wall0 = self.cpu0 = self.wall = self.cpu = 0.0

    def start(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_s()

    def stop(self) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall0, cpu_s() - self.cpu0


class Window:
    """The measuring window next to a running scheduler: warm up, count, measure, stop it.

    ``counts``: the runs per task, which the tasks' bodies increment (each its own slot, so
    threads never race on one counter). At the start of the window the ``gaps`` meter is reset
    and the ``probe`` starts recording; at its end the probe stops, then ``stop`` (the
    scheduler's shutdown) is called. :meth:`run` blocks: call it from a thread of its own
    (:meth:`in_background`) when the scheduler holds the calling thread.
    """

    def __init__(
        self,
        warmup_s: float,
        window_s: float,
        counts: list[int],
        *,
        probe: WakeProbe | None = None,
        gaps: GapMeter | None = None,
    ) -> None:
        self.warmup_s, self.window_s, self.counts = warmup_s, window_s, counts
        self.probe, self.gaps = probe, gaps
        self.watch = Stopwatch()
        self.before = self.after = 0
        self.stopped_at = 0.0

    def run(self, stop: Callable[[], object]) -> None:
        time.sleep(self.warmup_s)
        self.before = sum(self.counts)
        if self.gaps is not None:
            self.gaps.longest = 0.0
        if self.probe is not None:
            self.probe.start()
        self.watch.start()
        time.sleep(self.window_s)
        self.after = sum(self.counts)
        self.watch.stop()
        if self.probe is not None:
            self.probe.stop()
        self.stopped_at = time.perf_counter()
        stop()

    def in_background(self, stop: Callable[[], object]) -> threading.Thread:
        return run_in_background(lambda: self.run(stop))

    @property
    def runs_per_s(self) -> float:
        return (self.after - self.before) / self.watch.wall

    def since_stop(self) -> float:
        """Seconds since the stop was asked for (how long the shutdown and flush took)."""
        return time.perf_counter() - self.stopped_at


def run_in_background(target: Callable[[], None]) -> threading.Thread:
    """A daemon thread: measurement threads must never keep a wedged scheduler alive."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def pg_url(driver: str = "") -> str:
    """The test PostgreSQL URL (``SKYLAUNCH_TEST_PG_URL``) with SQLAlchemy's ``+driver``."""
    scheme, sep, rest = PG_URL.partition("://")
    base = scheme.split("+", 1)[0]
    return f"{base}+{driver}{sep}{rest}" if driver else f"{base}{sep}{rest}"


def unique_name(prefix: str) -> str:
    """A table name no other figure or helper uses at the same time."""
    import secrets  # not at import: W5 times what the scheduler loads

    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


class GapMeter:
    """The longest gap between two consecutive calls of :meth:`tick` (a run's body), cheaply."""

    def __init__(self) -> None:
        self.last = 0.0
        self.longest = 0.0

    def tick(self) -> None:
        now = time.perf_counter()
        if self.last and now - self.last > self.longest:
            self.longest = now - self.last
        self.last = now


class WakeProbe:
    """How late a sleeper wakes: sleep ``sleep_s`` again and again, record the lateness.

    Run :meth:`thread_loop` in a thread (``time.sleep``) or :meth:`task_loop` as an asyncio task
    (``asyncio.sleep``). Delays are recorded between :meth:`start` and :meth:`stop`; a sleeper
    still asleep at :meth:`stop` and already late counts with its lateness so far (a probe that
    never wakes must not look punctual).
    """

    def __init__(self, sleep_s: float = 0.005) -> None:
        self.sleep_s = sleep_s
        self.delays: list[float] = []
        self.recording = False
        self.done = False
        self.asleep_since: float | None = None

    def _woke(self, since: float) -> None:
        delay = time.perf_counter() - since - self.sleep_s
        self.asleep_since = None
        if self.recording:
            self.delays.append(delay)

    def thread_loop(self) -> None:
        while not self.done:
            self.asleep_since = since = time.perf_counter()
            time.sleep(self.sleep_s)
            self._woke(since)

    async def task_loop(self) -> None:
        import asyncio  # not at import: W5 times what the scheduler loads

        while not self.done:
            self.asleep_since = since = time.perf_counter()
            await asyncio.sleep(self.sleep_s)
            self._woke(since)

    def start(self) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        self.done = True
        since = self.asleep_since
        if since is not None:
            overdue = time.perf_counter() - since - self.sleep_s
            if overdue > 0:
                self.delays.append(overdue)

    def figures(self) -> dict[str, float]:
        """Median, p99 and max delay in ms, and how many wake-ups were recorded."""
        import statistics  # not at import: W5 times what the scheduler loads

        if not self.delays:
            raise SystemExit("the probe recorded no wake-up")
        ms = [delay * 1000 for delay in self.delays]
        return {
            "median_ms": statistics.median(ms),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms),
            "wakeups": len(ms),
        }


def database_url(backend: str, folder: str, pg_driver: str = "") -> str:
    """W6's database: a SQLite file in ``folder``, or the test PostgreSQL via ``pg_driver``."""
    if backend == "sqlite":
        return f"sqlite:///{folder}/records.db"
    if backend == "postgres":
        return pg_url(pg_driver)
    raise SystemExit(f"backend={backend!r}: expected sqlite or postgres")


def _sql(url: str, statement: str) -> object:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return result.scalar_one() if result.returns_rows else None
    finally:
        engine.dispose()


def count_rows(url: str, table: str) -> int:
    """Rows in ``table``, counted by the database itself."""
    return int(str(_sql(url, f"SELECT count(*) FROM {table}")))


def drop_table(url: str, table: str) -> None:
    """Drop the figure's table (PostgreSQL is shared: nothing is left behind)."""
    _sql(url, f"DROP TABLE IF EXISTS {table}")


# --- Rocketry-style apps (skylaunch and Rocketry share the API used below) ---------------------


def _counter(counts: list[int], index: int, gaps: GapMeter | None) -> Callable[[], None]:
    if gaps is None:

        def trivial() -> None:
            counts[index] += 1

        return trivial

    def trivial_timed() -> None:
        counts[index] += 1
        gaps.tick()

    return trivial_timed


def add_counting_tasks(
    app: Any, cond: object, counts: list[int], gaps: GapMeter | None = None
) -> None:
    """One task per slot of ``counts`` (``trivial0``, ``trivial1``...), each counting its own
    runs in its slot (no shared counter for threads to race on); ``gaps`` sees every run."""
    for index in range(len(counts)):
        app.task(cond, name=f"trivial{index}")(_counter(counts, index, gaps))


async def _embedded(app: Any, probe: WakeProbe) -> None:
    import asyncio  # not at import: W5 times what the scheduler loads

    prober = asyncio.create_task(probe.task_loop())
    try:
        await app.serve()
    finally:
        prober.cancel()


def run_until_window_ends(
    app: Any, window: Window, how: str = "run", probe: WakeProbe | None = None
) -> None:
    """Run the app until ``window`` shuts it down.

    ``how``: ``run`` (``app.run()`` in this thread), ``thread`` (the same, with ``probe``
    sleeping in a plain thread of its own) or ``asyncio`` (``await app.serve()`` in an event
    loop of this function's, ``probe`` an asyncio task of that loop).
    """
    import asyncio  # not at import: W5 times what the scheduler loads

    if how not in ("run", "thread", "asyncio"):
        raise SystemExit(f"{how!r}: expected run, thread or asyncio")
    if how != "run" and probe is None:
        raise ValueError(f"how={how!r} needs a probe")
    window.in_background(app.session.shut_down)
    if how == "asyncio":
        assert probe is not None
        asyncio.run(_embedded(app, probe))
        return
    if how == "thread":
        assert probe is not None
        run_in_background(probe.thread_loop)
    app.run()


def host_delays(app: Any, cond: object, how: str, warmup_s: float, window_s: float) -> None:
    """W7 for a Rocketry-style app: one always-due task ``cond``, a probe next to it (``how``:
    ``thread`` or ``asyncio``, see :func:`run_until_window_ends`); emits the figures."""
    counts = [0]
    add_counting_tasks(app, cond, counts)
    probe = WakeProbe()
    window = Window(warmup_s, window_s, counts, probe=probe)
    run_until_window_ends(app, window, how, probe)
    emit(**probe.figures(), runs_per_s=window.runs_per_s)


def emit_persisted(window: Window, records: int, flush_s: float, **more: object) -> None:
    """W6's line: the window's runs/s, all runs, the records in the database, the time from the
    stop to the last record stored, the longest gap between runs, and what else ``more`` says."""
    gaps = window.gaps
    emit(
        runs_per_s=window.runs_per_s,
        runs=sum(window.counts),
        records=records,
        flush_s=flush_s,
        max_gap_ms=gaps.longest * 1000 if gaps is not None else None,
        **more,
    )
