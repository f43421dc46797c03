"""Coordination figures (issue 14): failover times over many kills, and the cost of fencing.

``failover``: three replicas of tests/integration/replica_app.py on PostgreSQL; the active one
is SIGKILLed (or SIGSTOPped past its lease) again and again. For each disruption: seconds until
another replica holds the lease (a new epoch in the database) and until the first run of the
every-second task on it (from the repo). Then the checks of the chaos test over the whole run.

``w3``: W3 (runs per second of an always-due task, its records written to PostgreSQL before each
run starts) with ``coordination`` off and on: the price of the fenced write.

``store=redis`` runs either on Redis instead (a RedisRepo and its lease, at
$SKYLAUNCH_TEST_REDIS_URL).

Run from the repo root, PostgreSQL at $SKYLAUNCH_TEST_PG_URL (default the test server):
    .venv/bin/python bench/replica_failover.py failover [disruptions=30] [lease_s=3.0] [store=redis]
    .venv/bin/python bench/replica_failover.py w3 [window_s=5] [store=redis]
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

URL = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SKYLAUNCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=20) if len(ordered) > 1 else [ordered[0]] * 19
    return (
        f"n={len(ordered)} min={ordered[0]:.2f} median={statistics.median(ordered):.2f} "
        f"p95={cut[18]:.2f} max={ordered[-1]:.2f} s"
    )


def failover(disruptions: int, lease_s: float, store: str) -> None:
    from tests.integration.replica_chaos import analyse, run_chaos

    with tempfile.TemporaryDirectory() as work:
        began = time.monotonic()
        chaos = run_chaos(
            REDIS_URL if store == "redis" else URL,
            Path(work),
            seconds=disruptions * (lease_s * 3 + 2),
            lease_s=lease_s,
            disruptions=disruptions,
            seed=2026,
            kill_share=0.7,
        )
        took = time.monotonic() - began
    result = analyse(chaos)
    ticks = result.pop("ticks")
    first_run = []
    for wall in chaos.walls:
        after = [t for t in ticks if t > wall]
        if after:
            first_run.append(after[0] - wall)
    kills = sum(1 for kind, _, _ in chaos.events if kind == "kill")
    print(
        f"failover on {store}: {len(chaos.events)} disruptions ({kills} SIGKILL, "
        f"{len(chaos.events) - kills} SIGSTOP), lease_s={lease_s}, {took:.0f} s"
    )
    print(f"  disruption -> another replica holds the lease: {_quantiles(chaos.takeovers)}")
    print(f"  disruption -> first tick on the new active:   {_quantiles(first_run)}")
    print(f"  tick gaps: min {result['tick_min_gap']:.3f} s, max {result['tick_max_gap']:.2f} s")
    print(
        f"  runs {result['runs']}, crash {result['crashes']}, open {len(result['open'])}, "
        f"ended twice {len(result['ended_twice'])}, extract ok {result['extract_ok']}"
    )


def w3(window_s: float, store: str) -> None:
    for coordinated in (False, True):
        rate = _w3_once(coordinated, window_s, store)
        print(f"w3 {store} repo, coordination {'on ' if coordinated else 'off'}: {rate:.0f} runs/s")


def _w3_once(coordinated: bool, window_s: float, store: str) -> float:
    import sqlalchemy as sa

    from skylaunch import App
    from skylaunch.conds import true
    from skylaunch.coordination import Coordination
    from skylaunch.log import TaskRunRecord
    from skylaunch.log.repos.redis import RedisRepo
    from skylaunch.log.repos.sql import SQLRepo, normalize_url

    table = f"w3_{secrets.token_hex(4)}"
    repo: SQLRepo | RedisRepo
    if store == "redis":
        repo = RedisRepo(REDIS_URL, TaskRunRecord, key_prefix=table)
    else:
        repo = SQLRepo(model=TaskRunRecord, conn_string=URL, table=table, if_missing="create")
    app = App(
        logger_repo=repo,
        execution="main",
        coordination=Coordination(name=table) if coordinated else None,
    )
    runs = [0]

    @app.task(true, name="trivial")
    def trivial() -> None:
        runs[0] += 1

    counted: list[float] = []

    def measure() -> None:
        wait = threading.Event().wait
        wait(1.0)
        counted.append(runs[0])
        counted.append(time.monotonic())
        wait(window_s)
        counted.append(runs[0])
        counted.append(time.monotonic())
        app.session.shut_down()

    threading.Thread(target=measure, daemon=True).start()
    app.run()
    repo.close()
    if store == "redis":
        from tests.conftest import drop_redis_keys

        drop_redis_keys(REDIS_URL, table)
        return (counted[2] - counted[0]) / (counted[3] - counted[1])
    engine = sa.create_engine(normalize_url(URL))
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text("DELETE FROM skylaunch_lease WHERE name = :n"), {"n": table})
    engine.dispose()
    return (counted[2] - counted[0]) / (counted[3] - counted[1])


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "failover"
    opts = dict(arg.split("=", 1) for arg in argv[1:])
    store = opts.get("store", "postgresql")
    if store not in ("postgresql", "redis"):
        raise SystemExit(f"unknown store {store!r}: postgresql or redis")
    if what == "failover":
        failover(int(opts.get("disruptions", 30)), float(opts.get("lease_s", 3.0)), store)
    elif what == "w3":
        w3(float(opts.get("window_s", 5.0)), store)
    else:
        raise SystemExit(f"unknown {what!r}: failover or w3")


if __name__ == "__main__":
    main(sys.argv[1:])
