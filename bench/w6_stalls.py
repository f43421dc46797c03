"""W6's loop stall and the garbage collections inside its window, source trees interleaved.

    .venv/bin/python bench/w6_stalls.py SRC [SRC ...] [--backend sqlite|postgres]
        [--jobs 1] [--reps 5] [--window-s 3] [--record-wait 0] [--param key=value ...]

Each rep runs ``bench/workloads/w6_persisted_skylaunch.py`` once per tree in turn (a fresh
process with that tree first on ``sys.path``; ``SRC@key=value`` adds a workload argument
for that tree alone, e.g. ``src@startup_gc=freeze``), with a ``gc.callbacks`` hook that times every
collection and notes its generation and thread. Per run it prints the workload's runs/s and
loop stall (max, p99), then what the window held: the young (gen 1) and full (gen 2)
collections, the longest of each, and when the worst stall happened (seconds into the window)
and whether a full collection overlapped it; at the end, per tree, the medians and ranges.
``SKYLAUNCH_W6_ENV`` (``KEY=VALUE,...``) is set in the child, e.g.
``W6_SWITCH_INTERVAL=0.001`` (``sys.setswitchinterval`` in the child before the workload);
``SRC@W6_SWITCH_INTERVAL=0.001`` sets it for that tree alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "workloads" / "w6_persisted_skylaunch.py"

CHILD = r"""
import gc, json, os, runpy, sys, threading, time
sys.path.insert(0, sys.argv[1])
if os.environ.get("W6_SWITCH_INTERVAL"):  # an experiment: the GIL's switch interval, seconds
    sys.setswitchinterval(float(os.environ["W6_SWITCH_INTERVAL"]))
import _probe

collections, window, slow = [], [None, None], []
started = {}


def timed(phase, info):
    now = time.perf_counter()
    if phase == "start":
        started[threading.get_ident()] = now
    else:
        t0 = started.pop(threading.get_ident(), now)
        main = threading.current_thread() is threading.main_thread()
        collections.append((t0, now - t0, info["generation"], main))


gc.callbacks.append(timed)
start, stop, woke = _probe.WakeProbe.start, _probe.WakeProbe.stop, _probe.WakeProbe._woke


def start_(self):
    window[0] = time.perf_counter()
    start(self)


def stop_(self):
    window[1] = time.perf_counter()
    stop(self)


def woke_(self, since):
    late = time.perf_counter() - since - self.sleep_s
    if self.recording and late > 0.005:
        slow.append((since, late))
    woke(self, since)


_probe.WakeProbe.start, _probe.WakeProbe.stop, _probe.WakeProbe._woke = start_, stop_, woke_
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
w0, w1 = window
inside = [c for c in collections if c[0] <= w1 and c[0] + c[1] >= w0]  # overlapping it
worst = max(slow, key=lambda s: s[1]) if slow else None
over = None
if worst is not None:
    s0, s1 = worst[0], worst[0] + 0.005 + worst[1]
    hit = [c for c in inside if c[0] < s1 and c[0] + c[1] > s0]
    over = max((c[2] for c in hit), default=None)
print(json.dumps({
    "gen1": sum(1 for c in inside if c[2] == 1),
    "gen2": sum(1 for c in inside if c[2] == 2),
    "gen2_at_s": [round(c[0] - w0, 2) for c in inside if c[2] == 2],
    "gen1_max_ms": max((c[1] * 1000 for c in inside if c[2] == 1), default=0.0),
    "gen2_max_ms": max((c[1] * 1000 for c in inside if c[2] == 2), default=0.0),
    "gen2_off_main": sum(1 for c in inside if c[2] == 2 and not c[3]),
    "worst_at_s": None if worst is None else round(worst[0] - w0, 2),
    "worst_gen": over,
    "over_10ms": sum(1 for s in slow if s[1] > 0.010),
}), flush=True)
"""


def run(tree: str, args: argparse.Namespace) -> dict[str, object]:
    src, *own = tree.split("@")
    env = dict(os.environ, PYTHONPATH=src)
    for pair in filter(None, os.environ.get("SKYLAUNCH_W6_ENV", "").split(",")):
        key, _, value = pair.partition("=")
        env[key] = value
    for pair in [p for p in own if p.startswith("W6_")]:
        key, _, value = pair.partition("=")
        env[key] = value
    own = [p for p in own if not p.startswith("W6_")]
    argv = [
        f"backend={args.backend}",
        f"jobs={args.jobs}",
        f"window_s={args.window_s}",
        f"record_wait={args.record_wait}",
        *args.param,
        *own,
    ]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(WORKLOAD.parent), str(WORKLOAD), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{tree}: exit {out.returncode}\n{out.stderr[-3000:]}")
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {**lines[0], **lines[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--window-s", type=float, default=3.0)
    parser.add_argument("--record-wait", default="0")
    parser.add_argument("--param", action="append", default=[], help="key=value for the workload")
    args = parser.parse_args()
    results: dict[str, list[dict[str, object]]] = {tree: [] for tree in args.trees}
    for rep in range(args.reps):
        for tree in args.trees:
            r = run(tree, args)
            results[tree].append(r)
            load = os.getloadavg()[0]
            print(
                f"rep {rep} {tree}: {float(r['runs_per_s']):,.0f} runs/s, stall "  # type: ignore[arg-type]
                f"{float(r['loop_stall_ms']):.1f} ms (p99 {float(r['loop_stall_p99_ms']):.1f}),"  # type: ignore[arg-type]
                f" >10 ms: {r['over_10ms']}, gen1 {r['gen1']} (max {float(r['gen1_max_ms']):.1f})"  # type: ignore[arg-type]
                f", gen2 {r['gen2']} at {r['gen2_at_s']} (max {float(r['gen2_max_ms']):.1f}), "  # type: ignore[arg-type]
                f"worst at {r['worst_at_s']} s in gen {r['worst_gen']}, load {load:.1f}",
                flush=True,
            )
    for tree, rows in results.items():
        stalls = sorted(float(r["loop_stall_ms"]) for r in rows)  # type: ignore[arg-type]
        rates = [float(r["runs_per_s"]) for r in rows]  # type: ignore[arg-type]
        full = sum(1 for r in rows if r["gen2"])
        print(
            f"{tree}: stall median {statistics.median(stalls):.1f} ms, all {[round(s, 1) for s in stalls]}; "
            f"windows with a full collection {full}/{len(rows)}; runs/s median "
            f"{statistics.median(rates):,.0f}"
        )


if __name__ == "__main__":
    main()
