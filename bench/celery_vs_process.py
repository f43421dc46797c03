"""Runs/s and launch-to-start latency: ``execution="celery"`` vs ``execution="process"``.

Both modes get two slots: two Celery workers (prefork, one child each, started here) against
``max_process_count=2``. Each round launches ``--runs`` runs of a no-op task (multilaunch) in one
mode, then in the other (interleaved, the order alternating), and measures:

- runs/s: runs / (last end record - first run record);
- launch-to-start latency: the body's first line (a stamp it logs) - its ``run`` record.

Prints the median (min-max) over rounds. Needs RabbitMQ and Redis (SKYLAUNCH_BENCH_BROKER,
SKYLAUNCH_BENCH_BACKEND). Run: .venv/bin/python bench/celery_vs_process.py [--runs 40] [--rounds 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("SKYLAUNCH_BENCH_QUEUE", f"skylaunch-bench-{uuid.uuid4().hex[:8]}")

from _bench_probe import probe

from skylaunch import App

# Celery is imported only by the functions that use it: a ``spawn`` child imports this script
# again, and must not pay for Celery (that would be measured as process start-up).


class Stamps(logging.Handler):
    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.launched: dict[str, float] = {}
        self.began: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        run_id = getattr(record, "run_id", None)
        action = getattr(record, "action", None)
        if run_id is None:
            return
        if action == "run":
            self.launched[run_id] = record.created
        elif action in ("success", "fail", "terminate", "crash", "inaction"):
            self.ended[run_id] = record.created
            if len(self.ended) >= self.expected:
                self.done.set()
        elif hasattr(record, "began"):
            self.began[run_id] = record.began


def one_round(mode: str, runs: int) -> tuple[float, float]:
    import _celery_bench_app as bench_app

    from skylaunch.execution.celery import CeleryExecutor

    executors = {"celery": CeleryExecutor(bench_app.app)} if mode == "celery" else {}
    app = App(
        config={"execution": mode, "max_process_count": 2, "shut_cond": None},
        executors=executors,
    )
    app.session.create_task(func=probe, name="probe", multilaunch=True)
    stamps = Stamps(runs)
    root = logging.getLogger()
    root.addHandler(stamps)
    started = threading.Event()
    app.session.startup_hooks.insert(0, started.set)
    thread = threading.Thread(target=app.session.start)
    thread.start()
    try:
        started.wait(30)
        task = app.session["probe"]
        for _ in range(runs):
            task.run()
        if not stamps.done.wait(300):
            raise SystemExit(f"{mode}: only {len(stamps.ended)} of {runs} runs ended")
    finally:
        app.session.shut_down()
        thread.join(60)
        root.removeHandler(stamps)
    span = max(stamps.ended.values()) - min(stamps.launched.values())
    latency = statistics.median(
        stamps.began[r] - stamps.launched[r] for r in stamps.began if r in stamps.launched
    )
    return runs / span, latency


def start_workers() -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path[1:]])}
    queue = os.environ["SKYLAUNCH_BENCH_QUEUE"]
    return [
        subprocess.Popen(
            [
                "timeout",
                "900",
                sys.executable,
                "-m",
                "celery",
                "-A",
                "_celery_bench_app",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=WARNING",
                "-n",
                f"bench{i}-{queue}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in (1, 2)
    ]


def wait_for_workers(count: int) -> None:
    import _celery_bench_app as bench_app

    queue = os.environ["SKYLAUNCH_BENCH_QUEUE"]
    pause = threading.Event()
    for _ in range(60):
        replies = bench_app.app.control.ping(timeout=0.5) or []
        if sum(queue in name for reply in replies for name in reply) >= count:
            return
        pause.wait(0.5)
    raise SystemExit("the Celery workers did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.INFO)
    import _celery_bench_app as bench_app

    workers = start_workers()
    results: dict[str, list[tuple[float, float]]] = {"process": [], "celery": []}
    try:
        wait_for_workers(2)
        one_round("celery", 4)  # warm-up: connections, pool children
        for i in range(args.rounds):
            order = ("process", "celery") if i % 2 == 0 else ("celery", "process")
            for mode in order:
                results[mode].append(one_round(mode, args.runs))
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        with bench_app.app.connection_for_write() as conn:
            conn.default_channel.queue_delete(os.environ["SKYLAUNCH_BENCH_QUEUE"])
    print(
        f"{args.runs} no-op runs per round, {args.rounds} rounds, 2 slots per mode, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'mode':<8} {'runs/s median (min-max)':<28} launch-to-start ms median (min-max)")
    for mode, rows in results.items():
        rates = [r for r, _ in rows]
        lats = [lat * 1000 for _, lat in rows]
        print(
            f"{mode:<8} {statistics.median(rates):>7.1f} ({min(rates):.1f}-{max(rates):.1f})"
            f"{'':<10} {statistics.median(lats):>7.1f} ({min(lats):.1f}-{max(lats):.1f})"
        )


if __name__ == "__main__":
    main()
