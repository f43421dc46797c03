"""Compare skylaunch's condition verdicts with Rocketry 2.5.1's on random task histories.

Not part of the suite (it needs Rocketry, installed in its own venv; see
``bench/rocketry_suite.py`` for the commands). Each case is a condition string both parse, a
history of records for the task ``t`` (and the upstream task ``u``) and an instant; the instants
are drawn to sit often exactly on a cycle boundary, on a window's end or on a record. Rocketry
answers in a child process (its ``observe`` with ``force_status_from_logs``, local time = UTC),
skylaunch with :func:`skylaunch.testing.evaluate`; the disagreements are printed by condition
with an example each::

    .venv/bin/python bench/rocketry_verdicts.py --peer /work/peers/rocketry --cases 5000 --seed 1

Every difference found is either fixed or described on docs/migrating-from-rocketry.md
("Verdicts that differ from Rocketry's").
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

CONDITIONS = [
    "daily",
    "hourly",
    "weekly",
    "monthly",
    "minutely",
    "daily between 10:00 and 12:00",
    "daily after 22:00",
    "daily before 02:00",
    "weekly on Monday",
    "monthly starting 3rd",
    "every 1 hour",
    "every 10 minutes",
    "time of day between 10:00 and 12:00",
    "has started today",
    "has succeeded today",
    "has failed today",
    "has finished today",
    "has terminated today",
    "has inacted today",
    "has succeeded this hour",
    "has failed this week",
    "has started this month",
    "has started today between 10:00 and 12:00",
    "has failed this month starting 1.",
    "has failed this month after 28th",
    "has succeeded this week on Friday",
    "has succeeded in past 2 hours",
    "has started past 30 minutes",
    "after task 'u'",
    "after task 'u' failed",
    "after task 'u' finished",
]

ACTIONS_END = ["success", "success", "fail", "fail", "terminate", "inaction"]

ROCKETRY_CHILD = r"""
import json, logging, sys, warnings
warnings.simplefilter("ignore")
from redbird.repos import MemoryRepo
from rocketry import Session
from rocketry.log import MinimalRunRecord
from rocketry.tasks import FuncTask
from rocketry.parse import parse_condition

def nothing():
    pass

out = []
for case in json.load(sys.stdin):
    now = case["now"]
    session = Session(config={"force_status_from_logs": True, "time_func": lambda: now,
                              "execution": "main"}, delete_existing_loggers=True)
    repo = MemoryRepo(model=MinimalRunRecord)
    logger = logging.getLogger("rocketry.task")
    from redbird.logging import RepoHandler
    logger.handlers = [RepoHandler(repo=repo)]
    logger.setLevel(logging.INFO)
    tasks = {name: FuncTask(nothing, name=name, session=session, execution="main")
             for name in ("t", "u")}
    for name, records in case["history"].items():
        for created, action, run_id in records:
            repo.add(MinimalRunRecord(task_name=name, action=action, created=created,
                                      run_id=run_id))
    try:
        cond = parse_condition(case["cond"], session=session)
        out.append(bool(cond.observe(task=tasks["t"], session=session)))
    except Exception as exc:
        out.append(f"error: {type(exc).__name__}: {exc}")
json.dump(out, sys.stdout)
"""

START = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a Monday


def _instant(rng: random.Random) -> datetime:
    """An instant in March-April 2024, often exactly on a boundary."""
    base = START + timedelta(days=60 + rng.randrange(40))
    kind = rng.random()
    if kind < 0.25:
        return base  # midnight: day, week or month boundary
    if kind < 0.45:
        return base + timedelta(hours=rng.choice([2, 10, 12, 22, 23]))  # a window's edge
    if kind < 0.55:
        return base + timedelta(hours=rng.randrange(24))  # an hour boundary
    return base + timedelta(seconds=rng.randrange(86_400), microseconds=rng.choice([0, 500_000]))


def _history(rng: random.Random, now: datetime) -> list[tuple[float, str, str]]:
    records: list[tuple[float, str, str]] = []
    t = now - timedelta(days=rng.choice([1, 3, 10, 35]))
    n = 0
    while True:
        t += timedelta(seconds=rng.choice([0, 1, 60, 600, 3600, 7200, 30_000, 86_400]))
        if t > now:
            break
        if rng.random() < 0.2:  # a record exactly on the next hour boundary, or at now
            snapped = t.replace(minute=0, second=0, microsecond=0)
            t = min(now, snapped if snapped == t else snapped + timedelta(hours=1))
        n += 1
        run_id = f"r{n}"
        records.append((t.timestamp(), "run", run_id))
        if rng.random() < 0.9:
            end = t + timedelta(seconds=rng.choice([0, 0, 1, 30, 600]))
            if end <= now:
                records.append((end.timestamp(), rng.choice(ACTIONS_END), run_id))
                t = end
    return records


def make_cases(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        now = _instant(rng)
        history = {"t": _history(rng, now)}
        if rng.random() < 0.5:
            history["u"] = _history(rng, now)
        cases.append({"cond": rng.choice(CONDITIONS), "now": now.timestamp(), "history": history})
    return cases


def rocketry_verdicts(peer: Path, cases: list[dict[str, object]]) -> list[object]:
    env = {**os.environ, "TZ": "UTC"}  # Rocketry reads local time: make local UTC
    done = subprocess.run(
        [str(peer / "bin" / "python"), "-c", ROCKETRY_CHILD],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    verdicts: list[object] = json.loads(done.stdout)
    return verdicts


def skylaunch_verdicts(cases: list[dict[str, object]]) -> list[object]:
    from skylaunch.testing import evaluate

    out: list[object] = []
    for case in cases:
        now = datetime.fromtimestamp(float(case["now"]), timezone.utc)  # type: ignore[arg-type]
        history = {
            name: [
                (datetime.fromtimestamp(ts, timezone.utc), action, run_id)
                for ts, action, run_id in records
            ]
            for name, records in case["history"].items()  # type: ignore[attr-defined]
        }
        try:
            out.append(bool(evaluate(str(case["cond"]), now, history, task="t")))
        except Exception as exc:
            out.append(f"error: {type(exc).__name__}: {exc}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, default=Path("/work/peers/rocketry"))
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=1, help="examples per condition")
    parser.add_argument(
        "--off-boundary",
        action="store_true",
        help="only instants off a whole hour (cycle-boundary differences left out)",
    )
    args = parser.parse_args()
    logging.getLogger("skylaunch.task").addHandler(logging.NullHandler())  # no stderr lines
    cases = make_cases(args.cases, args.seed)
    if args.off_boundary:
        cases = [c for c in cases if float(c["now"]) % 3600]  # type: ignore[arg-type]
    theirs = rocketry_verdicts(args.peer, cases)
    ours = skylaunch_verdicts(cases)
    by_cond: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    for case, a, b in zip(cases, theirs, ours, strict=True):
        cond = str(case["cond"])
        same = a == b
        by_cond[cond]["same" if same else "differ"] += 1
        if not same and len(examples[cond]) < args.show:
            now = datetime.fromtimestamp(float(case["now"]), timezone.utc)  # type: ignore[arg-type]
            records = {
                name: [
                    (datetime.fromtimestamp(ts, timezone.utc).strftime("%m-%d %H:%M:%S.%f"), act)
                    for ts, act, _ in recs[-4:]
                ]
                for name, recs in case["history"].items()  # type: ignore[attr-defined]
            }
            examples[cond].append(
                f"at {now:%Y-%m-%d %a %H:%M:%S.%f}: rocketry={a} skylaunch={b}; last {records}"
            )
    total = sum(sum(c.values()) for c in by_cond.values())
    differ = sum(c["differ"] for c in by_cond.values())
    print(f"{total} cases, {total - differ} same verdict, {differ} differ")
    for cond in sorted(by_cond, key=lambda c: -by_cond[c]["differ"]):
        counts = by_cond[cond]
        print(f"{counts['differ']:5d} / {sum(counts.values()):5d}  {cond}")
        for line in examples[cond]:
            print(f"        {line}")
    sys.exit(0)


if __name__ == "__main__":
    main()
