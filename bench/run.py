"""Run every workload against skylaunch and its peers, each figure in a fresh process.

    .venv/bin/python bench/run.py [--quick] [--only W1,W3] [--schedulers rocketry,schedule]
                                  [--reps 3] [--fresh] [--render]

Each figure comes from one child process (``bench/workloads/<workload>_<scheduler>.py``) that
prints one JSON line; this parent repeats it ``--reps`` times, keeps the median and the spread
(min-max), and writes ``bench/RESULTS.md`` with the command that reproduces each row. Rows are
merged into ``bench/results.json`` so that a run limited with ``--only``/``--schedulers`` (for
example skylaunch alone, once its App lands) completes the tables; ``--fresh`` starts over.
Every row says when it was measured: compare ratios within one run, the machine is noisy.

skylaunch runs under the interpreter running this script; the peers run in virtual environments
built on demand under ``bench/.venv-<peer>`` (see ``_venvs.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from _venvs import PEER_REQUIREMENTS, ensure_peer, python_for

__all__ = ["WORKLOADS", "Case", "Workload", "main"]

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCHEDULERS = ["skylaunch", "rocketry", "apscheduler", "schedule"]


@dataclass(frozen=True)
class Case:
    """One size/variant of a workload: the child's arguments and how long it may take."""

    label: str
    args: dict[str, object]
    timeout_s: float = 300.0


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    script: str
    metrics: list[tuple[str, str]]  # (JSON key, column heading)
    cases: Callable[[bool], list[Case]]  # quick -> cases
    what: str
    # scheduler -> (case -> reason it is not run, or None)
    skip: dict[str, Callable[[Case, bool], str | None]] = field(default_factory=dict)


def _sizes(quick: bool, quick_sizes: list[int], full_sizes: list[int]) -> list[int]:
    return quick_sizes if quick else full_sizes


def _w1(quick: bool) -> list[Case]:
    window = 3.0 if quick else 20.0
    return [
        Case(f"N={n:,}", {"n": n, "window_s": window}, timeout_s=600)
        for n in _sizes(quick, [100, 1_000, 10_000], [100, 1_000, 10_000])
    ]


def _w2(quick: bool) -> list[Case]:
    duration = 8.0 if quick else 30.0
    return [Case(f"{duration:g} s", {"duration_s": duration}, timeout_s=duration + 60)]


def _w3(quick: bool) -> list[Case]:
    window = 3.0 if quick else 10.0
    return [Case(mode, {"mode": mode, "window_s": window}, 120) for mode in ("main", "thread")]


def _w4(quick: bool) -> list[Case]:
    sizes = _sizes(quick, [0, 1_000, 10_000], [0, 1_000, 10_000, 100_000, 1_000_000])
    return [
        Case(
            f"{cond} {backend} {n:,}",
            {"n": n, "backend": backend, "cond": cond, "repeat_s": 0.5 if quick else 1.0},
            timeout_s=600,
        )
        for cond in ("every", "daily", "after_success")
        for backend in ("memory", "sqlite")
        for n in sizes
    ]


def _w4b(quick: bool) -> list[Case]:
    return [
        Case(f"{n:,} runs", {"n": n}, timeout_s=900)
        for n in _sizes(quick, [10_000], [10_000, 100_000, 1_000_000])
    ]


def _w5(quick: bool) -> list[Case]:
    return [
        Case(f"N={n:,}", {"n": n}, timeout_s=600)
        for n in _sizes(quick, [100, 1_000, 10_000], [100, 1_000, 10_000])
    ]


def _no_history(case: Case, quick: bool) -> str | None:
    return "n/a: keeps no run history"


def _rocketry_slow_define(case: Case, quick: bool) -> str | None:
    if quick and int(str(case.args["n"])) >= 10_000:
        return "full mode only: defining 10,000 Rocketry tasks takes ~85 s per figure"
    return None


def _rocketry_w4(case: Case, quick: bool) -> str | None:
    if int(str(case.args["n"])) >= 1_000_000:
        return "not run: ~6 s per decision and > 1 GiB of pydantic records extrapolated from 100k"
    return None


def _rocketry_w4b(case: Case, quick: bool) -> str | None:
    if int(str(case.args["n"])) >= 1_000_000:
        return "not run: 6.3 KiB/run measured at 10k-100k means ~6 GiB and ~15 min"
    return None


def _schedule_w3(case: Case, quick: bool) -> str | None:
    return "n/a: runs jobs in the calling thread only" if case.args["mode"] == "thread" else None


WORKLOADS = [
    Workload(
        "W1",
        "idle CPU",
        "w1_idle",
        [("cpu_s", "CPU s in window"), ("core_share", "share of a core")],
        _w1,
        "CPU time of the whole process over the window while N daily tasks wait for a time 12 h "
        "away (window starts 1 s after the first scheduling pass). Target: <= 0.02 s at every N.",
        {"rocketry": _rocketry_slow_define},
    ),
    Workload(
        "W2",
        "launch latency",
        "w2_latency",
        [
            ("median_ms", "median ms"),
            ("p99_ms", "p99 ms"),
            ("max_ms", "max ms"),
            ("drift_ms", "drift of last run ms"),
        ],
        _w2,
        "A task every second. Lateness of each run against its due instant in the tool's own "
        "semantics (one interval after the previous start; APScheduler: its fixed grid); drift "
        "of the last run against the grid of the first. Target: median <= 0.3 ms, p99 <= 3 ms.",
    ),
    Workload(
        "W3",
        "throughput",
        "w3_throughput",
        [("runs_per_s", "runs/s"), ("records", "records kept")],
        _w3,
        "Runs per second of an always-due trivial task; Rocketry and skylaunch log run + success "
        "of every run to their default memory repo, the others keep no history. Rocketry with "
        "cycle_sleep=None; APScheduler inline = DebugExecutor; schedule = run_all() loop. "
        "Target: >= 40,000/s main, >= 10,000/s thread.",
        {"schedule": _schedule_w3},
    ),
    Workload(
        "W4",
        "history growth",
        "w4_history",
        [("decision_ms", "decision ms"), ("startup_s", "start-up s")],
        _w4,
        "Cost of one condition evaluation (median of repeated observe) and of start-up up to the "
        "end of the first pass, with N records already stored (case = condition, repo, N). "
        "Target: decision at 1M <= 1.2x decision at 0; start-up from 1M SQLite <= 2 s.",
        {"rocketry": _rocketry_w4, "apscheduler": _no_history, "schedule": _no_history},
    ),
    Workload(
        "W4b",
        "memory growth",
        "w4b_memory",
        [("growth_mib", "RSS growth MiB"), ("per_run_kib", "KiB/run"), ("rss_mib", "RSS MiB")],
        _w4b,
        "RSS (VmRSS) after N more runs of an always-due task minus RSS after the first 1,000, "
        "default settings. Target: <= 20 MiB after 1M runs.",
        {"rocketry": _rocketry_w4b},
    ),
    Workload(
        "W5",
        "cold start",
        "w5_cold_start",
        [
            ("total_s", "total s"),
            ("import_s", "import s"),
            ("define_s", "define s"),
            ("first_pass_s", "first pass s"),
        ],
        _w5,
        "Import + define N daily tasks + the first scheduling pass, timed inside the child from "
        "its first line (interpreter start excluded). Target: <= 0.5 s at 10,000 tasks.",
        {"rocketry": _rocketry_slow_define},
    ),
]


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _command(scheduler: str, workload: Workload, case: Case) -> list[str]:
    script = BENCH / "workloads" / f"{workload.script}_{scheduler}.py"
    args = [f"{key}={value}" for key, value in case.args.items()]
    return [_rel(python_for(scheduler)), _rel(script), *args]


def _run_child(command: list[str], timeout_s: float) -> dict[str, float] | str:
    """One figure: the child's JSON line, or a short reason it gave none."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            command,
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout_s:g} s"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed (exit {done.returncode}): {tail[:160]}"
    figures: dict[str, float] = json.loads(lines[-1])
    return figures


def _compile_skylaunch() -> None:
    """Byte-compile skylaunch once, as ``pip install`` does for the peers' packages.

    The children run with PYTHONDONTWRITEBYTECODE (the tree stays clean), so without this an
    editable checkout recompiles every module on every import while the peers load the .pyc
    files pip wrote: W5 would charge skylaunch ~0.2 s of compiling that no installed copy pays.
    """
    import skylaunch

    package = Path(skylaunch.__file__).resolve().parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)], check=False, capture_output=True
    )


def _skylaunch_missing() -> str | None:
    probe = subprocess.run(
        [sys.executable, "-c", "from skylaunch import App"],
        check=False,
        capture_output=True,
        text=True,
    )
    if probe.returncode == 0:
        return None
    return "pending: skylaunch.App is not importable yet (script written, run it once it lands)"


def _measure(
    scheduler: str, workload: Workload, case: Case, reps: int, quick: bool
) -> dict[str, object]:
    command = _command(scheduler, workload, case)
    row: dict[str, object] = {
        "command": " ".join(command),
        "mode": "quick" if quick else "full",
        "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    samples: list[dict[str, float]] = []
    for _ in range(reps):
        outcome = _run_child(command, case.timeout_s)
        if isinstance(outcome, str):
            row["note"] = outcome
            break
        samples.append(outcome)
    row["samples"] = samples
    return row


def _fmt(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.3g}"
    if magnitude == 0:
        return "0"
    return f"{value:.2g}"


def _cell(samples: list[dict[str, float]], key: str) -> str:
    values = [float(s[key]) for s in samples if key in s]
    if not values:
        return "–"
    median = statistics.median(values)
    if len(values) == 1:
        return _fmt(median)
    return f"{_fmt(median)} ({_fmt(min(values))}–{_fmt(max(values))})"


def _render(results: dict[str, dict[str, object]], header: list[str]) -> str:
    out = [*header, ""]
    for workload in WORKLOADS:
        rows = [(k, v) for k, v in results.items() if k.startswith(f"{workload.id}|")]
        if not rows:
            continue
        out += [f"## {workload.id} {workload.title}", "", workload.what, ""]
        heads = [title for _, title in workload.metrics]
        out.append("| scheduler | case | " + " | ".join(heads) + " | reps | measured | command |")
        out.append("|---" * (len(heads) + 5) + "|")
        said: set[tuple[str, str]] = set()
        for key, row in rows:
            _, scheduler, label = key.split("|", 2)
            note = str(row.get("note", ""))
            if note.startswith("n/a"):  # true of every case: one row says it
                if (scheduler, note) in said:
                    continue
                said.add((scheduler, note))
                label = "all"
            samples = row.get("samples", [])
            assert isinstance(samples, list)
            if samples:
                cells = [_cell(samples, metric) for metric, _ in workload.metrics]
            else:
                cells = [str(row.get("note", "–"))] + ["–"] * (len(heads) - 1)
            if samples and row.get("note"):
                cells[-1] += f" ({row['note']})"
            command = f"`{row['command']}`" if row.get("command") else "–"
            measured = f"{row.get('measured', '')} {row.get('mode', '')}".strip()
            out.append(
                f"| {scheduler} | {label} | "
                + " | ".join(cells)
                + f" | {len(samples)} | {measured or '–'} | {command} |"
            )
        out.append("")
    return "\n".join(out)


def _versions() -> list[str]:
    lines = []
    for peer in PEER_REQUIREMENTS:
        python = python_for(peer)
        if not python.exists():
            continue
        listed = subprocess.run(
            [str(python), "-m", "pip", "list", "--format=freeze"],
            check=False,
            capture_output=True,
            text=True,
        ).stdout.split()
        wanted = {"rocketry", "redbird", "pydantic", "sqlalchemy", "apscheduler", "schedule"}
        pins = [pkg for pkg in listed if pkg.split("==")[0].lower() in wanted]
        lines.append(f"- {peer}: {', '.join(pins)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, smaller sizes")
    parser.add_argument("--only", default="", help="workload ids, comma separated (W1,W4b)")
    parser.add_argument("--schedulers", default=",".join(SCHEDULERS))
    parser.add_argument("--reps", type=int, default=3, help="repetitions per figure (>= 3)")
    parser.add_argument("--fresh", action="store_true", help="forget earlier rows")
    parser.add_argument("--render", action="store_true", help="rewrite RESULTS.md, run nothing")
    options = parser.parse_args(argv)
    only = {w.strip().upper() for w in options.only.split(",") if w.strip()}
    unknown = only - {w.id.upper() for w in WORKLOADS}
    if unknown:
        parser.error(f"--only: unknown workload(s) {', '.join(sorted(unknown))}")
    schedulers = [s.strip() for s in options.schedulers.split(",") if s.strip()]
    if set(schedulers) - set(SCHEDULERS):
        parser.error(f"--schedulers: expected names among {', '.join(SCHEDULERS)}")

    store = BENCH / "results.json"
    results: dict[str, dict[str, object]] = {}
    if store.exists() and not options.fresh:
        results = json.loads(store.read_text())
    if options.render:
        schedulers = []
    missing: dict[str, str | None] = {"skylaunch": _skylaunch_missing()}
    if "skylaunch" in schedulers and missing["skylaunch"] is None:
        _compile_skylaunch()
    for peer in schedulers:
        if peer != "skylaunch":
            ensure_peer(peer)
            missing[peer] = None
    started = time.perf_counter()
    for workload in WORKLOADS:
        if only and workload.id.upper() not in only:
            continue
        for case in workload.cases(options.quick):
            for scheduler in schedulers:
                key = f"{workload.id}|{scheduler}|{case.label}"
                skip = workload.skip.get(scheduler)
                reason = missing[scheduler] or (skip(case, options.quick) if skip else None)
                if reason is not None:
                    results[key] = {"note": reason, "samples": []}
                    if reason.startswith("pending"):
                        results[key]["command"] = " ".join(_command(scheduler, workload, case))
                    continue
                print(f"[bench] {workload.id} {scheduler} {case.label}", flush=True)
                results[key] = _measure(scheduler, workload, case, options.reps, options.quick)
                store.write_text(json.dumps(results, indent=1))
    elapsed = time.perf_counter() - started
    store.write_text(json.dumps(results, indent=1))
    header = [
        "# Benchmark results",
        "",
        (
            "Written by `bench/run.py` (do not edit by hand). Each cell: median (min–max) over "
            "the repetitions, each repetition a fresh process. Commands run from the repo root. "
            "Each row says when and in which mode it was measured."
        ),
        "",
        (
            f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux "
            f"{platform.release()}, Python {platform.python_version()}"
        ),
        *_versions(),
        (
            f"- last invocation: `{' '.join(['bench/run.py', *(argv or sys.argv[1:])])}`, "
            f"{elapsed:.0f} s"
        ),
    ]
    text = _render(results, header)
    (BENCH / "RESULTS.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
