"""Run every workload against skylaunch and its peers, each figure in a fresh process.

    .venv/bin/python bench/run.py [--quick] [--only W1,W3] [--schedulers rocketry,schedule]
                                  [--reps 3] [--render]

Each figure comes from one child process (``bench/workloads/<workload>_<scheduler>.py``) that
prints one JSON line. The schedulers are interleaved within each repetition (for every case:
A B C D, A B C D, ...), so a load change on the shared machine hits every scheduler alike, and
the 1-minute load average is recorded before each figure and kept with it. ``bench/RESULTS.md``
shows per row the median (min-max) of each metric, the load range the row was measured under,
and the paired ratio to skylaunch: the median over repetitions of peer / skylaunch, each
repetition compared with skylaunch's figure of the same repetition.

``bench/results.json`` (raw samples) and ``RESULTS.md`` come from one invocation only: nothing is
merged from earlier runs. With ``--only``/``--schedulers`` the file says which workloads and
schedulers it covers. ``--render`` rewrites RESULTS.md from results.json without running.

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
W3_BACKLOG = 100  # always-due tasks at once: a thread pool has a backlog to work through


@dataclass(frozen=True)
class Case:
    """One size/variant of a workload: the child's arguments and how long it may take."""

    label: str
    args: dict[str, object]
    timeout_s: float = 300.0
    # Only these schedulers run the case (a variant of one tool's settings); None: all of them.
    schedulers: frozenset[str] | None = None


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
    # The metric of the paired ratio to skylaunch (JSON key); "" = the first metric.
    ratio: str = ""

    @property
    def ratio_metric(self) -> str:
        return self.ratio or self.metrics[0][0]


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
    shapes = [
        ("main, 1 task", "main", 1),
        ("thread, 1 task (cannot overlap itself)", "thread", 1),
        (f"thread, backlog of {W3_BACKLOG} tasks", "thread", W3_BACKLOG),
    ]
    return [
        Case(label, {"mode": mode, "jobs": jobs, "window_s": window}, 120)
        for label, mode, jobs in shapes
    ]


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
    sizes = _sizes(quick, [10_000], [10_000, 100_000, 1_000_000])
    cases = [Case(f"{n:,} runs", {"n": n}, timeout_s=900) for n in sizes]
    # skylaunch keeping every record in memory (MemoryRepo(max_per_task=None)): what a run
    # costs when nothing is ever dropped, as Rocketry's default keeps everything
    cases += [
        Case(
            f"{n:,} runs, every record kept",
            {"n": n, "retention": "full"},
            timeout_s=900,
            schedulers=frozenset({"skylaunch"}),
        )
        for n in sizes
    ]
    return cases


def _w5(quick: bool) -> list[Case]:
    return [
        Case(f"N={n:,}", {"n": n}, timeout_s=600)
        for n in _sizes(quick, [100, 1_000, 10_000], [100, 1_000, 10_000])
    ]


def _w6(quick: bool) -> list[Case]:
    window = 3.0 if quick else 10.0
    cases = []
    for backend in ("sqlite", "postgres"):
        for jobs in (1, 20):
            shape = f"{backend}, {jobs} task{'s' if jobs > 1 else ''}"
            args: dict[str, object] = {"backend": backend, "jobs": jobs, "window_s": window}
            cases.append(Case(shape, args, timeout_s=600))
            cases.append(
                Case(
                    f"{shape}, run_record_wait=0",
                    {**args, "record_wait": 0.0},
                    timeout_s=600,
                    schedulers=frozenset({"skylaunch"}),
                )
            )
    return cases


def _w7(quick: bool) -> list[Case]:
    window = 3.0 if quick else 10.0
    return [
        Case("plain thread, time.sleep(5 ms)", {"probe": "thread", "window_s": window}, 120),
        Case("asyncio task, asyncio.sleep(5 ms)", {"probe": "asyncio", "window_s": window}, 120),
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


def _no_persistence(case: Case, quick: bool) -> str | None:
    return "n/a: keeps no run history and persists nothing"


def _schedule_w7(case: Case, quick: bool) -> str | None:
    if case.args["probe"] == "asyncio":
        return "n/a: has no asyncio embedding (its loop would be the application's own code)"
    return None


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
        "semantics (one interval after the previous start; APScheduler: its fixed grid; "
        "skylaunch: after the previous run's recorded instant, a grid); drift "
        "of the last run against the grid of the first. Target: p99 <= 0.3 ms, drift <= 0.1 ms.",
        ratio="p99_ms",
    ),
    Workload(
        "W3",
        "throughput",
        "w3_throughput",
        [("runs_per_s", "runs/s"), ("records", "records kept")],
        _w3,
        "Runs per second of always-due trivial tasks (all runs counted); Rocketry and skylaunch "
        "log run + success of every run to their default memory repo, the others keep no "
        "history. Rocketry with cycle_sleep=None; APScheduler inline = DebugExecutor, thread = "
        "its default pool (10 workers); schedule = run_all() loop. One task in thread mode "
        "cannot overlap itself (one run at a time), which leaves a pool idle: the backlog case "
        f"gives every tool {W3_BACKLOG} always-due tasks. Target: >= 100,000/s main; thread >= "
        "APScheduler's pool on the backlog and >= 20,000/s.",
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
        "default settings (skylaunch: the last 10,000 records per task in memory); 'every "
        "record kept': skylaunch with MemoryRepo(max_per_task=None). Targets: <= 20 MiB after "
        "1M runs by default; <= 0.25 KiB per run with every record kept.",
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
        "its first line (interpreter start excluded). The scheduler is imported first, in a "
        "fresh interpreter before anything else; the harness's own import (_probe, which "
        "loads no asyncio) comes after and is excluded from the total (probe_s in "
        "results.json). Target: import <= 50 ms; total at 10,000 tasks <= schedule's (ratio >= "
        "1.0); at 1,000 tasks ahead of APScheduler.",
        {"rocketry": _rocketry_slow_define},
    ),
    Workload(
        "W6",
        "persisted throughput",
        "w6_persisted",
        [
            ("runs_per_s", "runs/s"),
            ("records", "records stored"),
            ("runs", "runs"),
            ("dropped", "records dropped (queue full)"),
            ("flush_s", "s to store the rest after stop"),
            ("max_gap_ms", "longest gap between runs ms"),
            ("loop_stall_ms", "loop's longest stall ms"),
        ],
        _w6,
        "Runs per second of always-due trivial tasks, inline, with every record persisted to "
        "SQLite (a file in a temp dir) or PostgreSQL (SKYLAUNCH_TEST_PG_URL, a table of its own "
        "per figure, dropped after). 'records stored' is counted in the database after the "
        "scheduler stopped and flushed (skylaunch and Rocketry: run + success per run, so ~2x "
        "runs; fewer means records were dropped or lost; skylaunch counts its drops: its queue "
        "holds 100,000 records). skylaunch: SQLRepo of "
        "MinimalRunRecord, by default each run waits for its run record to be stored "
        "(run_record_wait, durable start); the run_record_wait=0 rows start runs at once; the "
        "loop's stall is the worst lateness of an asyncio.sleep(5 ms) probe in its loop. "
        "Rocketry: Red Bird SQLRepo (SQLAlchemy 1.4) of MinimalRunRecord on the handbook's log "
        "table, written synchronously on the scheduler's thread (the handbook's engine: "
        "SQLite's default rollback journal; skylaunch's conn_string engine uses WAL). APScheduler: SQLAlchemyJobStore on the same database, "
        "which stores each job's state (next run time) per run, not a history: its 'records "
        "stored' are the job rows. Target: >= 20,000 runs/s (40,000 records/s), the loop never "
        "waiting on the database.",
        {"schedule": _no_persistence},
    ),
    Workload(
        "W7",
        "host process",
        "w7_host",
        [
            ("median_ms", "median delay ms"),
            ("p99_ms", "p99 delay ms"),
            ("max_ms", "max delay ms"),
            ("wakeups", "wake-ups"),
            ("runs_per_s", "scheduler runs/s"),
        ],
        _w7,
        "Next to a busy scheduler (one always-due task run inline: skylaunch execution=main, "
        "Rocketry true with cycle_sleep=None, APScheduler the always-due trigger with "
        "DebugExecutor, schedule a run_all() loop), a probe in the same process sleeps 5 ms "
        "again and again and records how late it wakes: a plain thread doing time.sleep, or, "
        "with the scheduler embedded in asyncio (skylaunch app.serve(), Rocketry app.serve(), "
        "APScheduler AsyncIOScheduler), an asyncio task doing asyncio.sleep (a stand-in for a "
        "web request's latency). A probe still asleep at the end counts with its lateness so "
        "far. Target: max <= 10 ms.",
        {"schedule": _schedule_w7},
        ratio="p99_ms",
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


Sample = dict[str, float]


def _cell(samples: list[Sample], key: str) -> str:
    values = [float(s[key]) for s in samples if key in s]
    if not values:
        return "–"
    median = statistics.median(values)
    if len(values) == 1:
        return _fmt(median)
    return f"{_fmt(median)} ({_fmt(min(values))}–{_fmt(max(values))})"


def _load_cell(samples: list[Sample]) -> str:
    loads = [float(s["load1"]) for s in samples if "load1" in s]
    if not loads:
        return "–"
    low, high = min(loads), max(loads)
    return f"{low:.2f}" if high == low else f"{low:.2f}–{high:.2f}"


def _paired_ratio(samples: list[Sample], reference: list[Sample], key: str) -> str:
    """Median (min-max) over repetitions of this row's figure / skylaunch's of the same rep."""
    base = {int(s["rep"]): float(s[key]) for s in reference if key in s and "rep" in s}
    ratios = [
        float(s[key]) / base[int(s["rep"])]
        for s in samples
        if key in s and "rep" in s and base.get(int(s["rep"]))
    ]
    if not ratios:
        return "–"
    text = f"{_fmt(statistics.median(ratios))}×"
    if len(ratios) > 1:
        text += f" ({_fmt(min(ratios))}–{_fmt(max(ratios))})"
    return text


def _samples(row: dict[str, object]) -> list[Sample]:
    samples = row.get("samples", [])
    assert isinstance(samples, list)
    return samples


def _render(rows: dict[str, dict[str, object]], header: list[str]) -> str:
    out = [*header, ""]
    for workload in WORKLOADS:
        mine = [(k, v) for k, v in rows.items() if k.startswith(f"{workload.id}|")]
        if not mine:
            continue
        out += [f"## {workload.id} {workload.title}", "", workload.what, ""]
        heads = [title for _, title in workload.metrics]
        ratio_head = dict(workload.metrics)[workload.ratio_metric]
        heads.append(f"{ratio_head}: ÷ skylaunch, paired per rep")
        out.append("| scheduler | case | " + " | ".join(heads) + " | load 1-min | reps | command |")
        out.append("|---" * (len(heads) + 5) + "|")
        said: set[tuple[str, str]] = set()
        for key, row in mine:
            _, scheduler, label = key.split("|", 2)
            note = str(row.get("note", ""))
            if note.startswith("n/a"):  # true of every case: one row says it
                if (scheduler, note) in said:
                    continue
                said.add((scheduler, note))
                label = "all"
            samples = _samples(row)
            if samples:
                cells = [_cell(samples, metric) for metric, _ in workload.metrics]
                reference = rows.get(f"{workload.id}|skylaunch|{label}")
                if scheduler == "skylaunch" or reference is None:
                    cells.append("–")
                else:
                    cells.append(_paired_ratio(samples, _samples(reference), workload.ratio_metric))
            else:
                cells = [note or "–"] + ["–"] * (len(heads) - 1)
            if samples and note:
                cells[-1] += f" ({note})"
            command = f"`{row['command']}`" if row.get("command") else "–"
            out.append(
                f"| {scheduler} | {label} | "
                + " | ".join(cells)
                + f" | {_load_cell(samples)} | {len(samples)} | {command} |"
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


def _plan(
    workload: Workload,
    case: Case,
    schedulers: list[str],
    missing: dict[str, str | None],
    quick: bool,
    rows: dict[str, dict[str, object]],
) -> list[str]:
    """Put the case's rows in ``rows`` (skips with their reason); return who runs it."""
    runnable = []
    for scheduler in schedulers:
        if case.schedulers is not None and scheduler not in case.schedulers:
            continue
        key = f"{workload.id}|{scheduler}|{case.label}"
        skip = workload.skip.get(scheduler)
        reason = missing[scheduler] or (skip(case, quick) if skip else None)
        command = " ".join(_command(scheduler, workload, case))
        if reason is not None:
            rows[key] = {"note": reason, "samples": []}
            if reason.startswith("pending"):
                rows[key]["command"] = command
            continue
        rows[key] = {"command": command, "samples": []}
        runnable.append(scheduler)
    return runnable


def _run_case(
    workload: Workload,
    case: Case,
    runnable: list[str],
    reps: int,
    rows: dict[str, dict[str, object]],
    save: Callable[[], None],
) -> None:
    """Repetitions outside, schedulers inside: A B C D, A B C D... (a load change hits all)."""
    for rep in range(reps):
        for scheduler in runnable:
            row = rows[f"{workload.id}|{scheduler}|{case.label}"]
            if "note" in row:  # it failed in an earlier repetition: not again
                continue
            load = os.getloadavg()[0]
            print(
                f"[bench] {workload.id} {case.label} rep {rep + 1}/{reps} {scheduler} "
                f"(load {load:.2f})",
                flush=True,
            )
            outcome = _run_child(_command(scheduler, workload, case), case.timeout_s)
            if isinstance(outcome, str):
                row["note"] = outcome
            else:
                _samples(row).append({**outcome, "rep": rep, "load1": load})
            save()


def _header(invocation: dict[str, object]) -> list[str]:
    lines = [
        "# Benchmark results",
        "",
        (
            "Written by `bench/run.py` (do not edit by hand), from one invocation only. Each "
            "cell: median (min–max) over the repetitions, each repetition a fresh process; the "
            "schedulers take turns within each repetition (A B C D, A B C D...). 'load 1-min': "
            "the range of the 1-minute load average seen before the row's figures. The ratio "
            "column divides each repetition's figure by skylaunch's figure of the same "
            "repetition and gives the median (min–max) of those ratios. Commands run from the "
            "repo root."
        ),
        "",
        (
            f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux "
            f"{platform.release()}, Python {platform.python_version()}"
        ),
        *_versions(),
        (
            f"- invocation: `{invocation['command']}`, {invocation['mode']} mode, started "
            f"{invocation['started']}, {float(str(invocation.get('elapsed_s', 0))):.0f} s"
        ),
    ]
    covered = invocation.get("workloads")
    if isinstance(covered, list) and covered:
        lines.append(
            f"- **covers only {', '.join(map(str, covered))}** (`--only`): the other "
            "workloads were not measured in this invocation"
        )
    schedulers = invocation.get("schedulers")
    if isinstance(schedulers, list) and schedulers != SCHEDULERS:
        lines.append(f"- **schedulers measured: {', '.join(map(str, schedulers))} only**")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, smaller sizes")
    parser.add_argument("--only", default="", help="workload ids, comma separated (W1,W4b)")
    parser.add_argument("--schedulers", default=",".join(SCHEDULERS))
    parser.add_argument("--reps", type=int, default=3, help="repetitions per figure (>= 3)")
    parser.add_argument(
        "--render", action="store_true", help="rewrite RESULTS.md from results.json, run nothing"
    )
    options = parser.parse_args(argv)
    only = {w.strip().upper() for w in options.only.split(",") if w.strip()}
    unknown = only - {w.id.upper() for w in WORKLOADS}
    if unknown:
        parser.error(f"--only: unknown workload(s) {', '.join(sorted(unknown))}")
    schedulers = [s.strip() for s in options.schedulers.split(",") if s.strip()]
    if set(schedulers) - set(SCHEDULERS):
        parser.error(f"--schedulers: expected names among {', '.join(SCHEDULERS)}")

    store = BENCH / "results.json"
    if options.render:
        saved = json.loads(store.read_text())
        if "rows" not in saved:
            parser.error("results.json predates the interleaved harness: run the benchmark")
        text = _render(saved["rows"], _header(saved["invocation"]))
        (BENCH / "RESULTS.md").write_text(text + "\n")
        print(text)
        return 0

    selected = [w for w in WORKLOADS if not only or w.id.upper() in only]
    invocation: dict[str, object] = {
        "command": " ".join(["bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "mode": "quick" if options.quick else "full",
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "workloads": [w.id for w in selected] if only else [],
        "schedulers": schedulers,
        "reps": options.reps,
    }
    rows: dict[str, dict[str, object]] = {}

    def save() -> None:
        store.write_text(json.dumps({"invocation": invocation, "rows": rows}, indent=1))

    missing: dict[str, str | None] = {"skylaunch": _skylaunch_missing()}
    if "skylaunch" in schedulers and missing["skylaunch"] is None:
        _compile_skylaunch()
    for peer in schedulers:
        if peer != "skylaunch":
            ensure_peer(peer)
            missing[peer] = None
    started = time.perf_counter()
    for workload in selected:
        for case in workload.cases(options.quick):
            runnable = _plan(workload, case, schedulers, missing, options.quick, rows)
            _run_case(workload, case, runnable, options.reps, rows, save)
    invocation["elapsed_s"] = time.perf_counter() - started
    save()
    text = _render(rows, _header(invocation))
    (BENCH / "RESULTS.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
