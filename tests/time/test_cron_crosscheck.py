"""skylaunch's cron arithmetic against independent implementations (cronsim, croniter).

For each expression and zone, ``CronExpr.next_after(start)`` is compared with the reference's
next fire time from the same start: random starts over three years plus starts packed around
every DST transition of the zone. Both must name the same instant, except where skylaunch's
documented DST rule (docs/time.md) deliberately differs from the reference:

- the reference fires in the *second* pass of a repeated wall hour (fall back). skylaunch fires a
  wall time once, at its first occurrence, so a ``*/15`` job is quiet in the repeated hour;
- the reference answers a wall time that is not after the start (cronsim, asked from inside the
  repeated hour about a time in it, answers its first occurrence, which is already past).

Every other difference fails the test. The totals are printed with ``-s``::

    python -m pytest --no-cov -q -s tests/time/test_cron_crosscheck.py
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from skylaunch.time.cron import CronExpr

cronsim = pytest.importorskip("cronsim")
croniter = pytest.importorskip("croniter")

UTC = timezone.utc
ZONES = ["UTC", "Europe/Berlin", "America/New_York"]
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)

# (skylaunch's spelling, the reference's spelling of the same schedule, reference)
CASES: list[tuple[str, str, str]] = [
    ("*/15 * * * *", "*/15 * * * *", "cronsim"),
    ("30 2 * * *", "30 2 * * *", "cronsim"),
    ("0 9-17/2 * * MON-FRI", "0 9-17/2 * * MON-FRI", "cronsim"),
    ("0 0 L * *", "0 0 L * *", "cronsim"),
    ("0 9 LW * *", "0 9 LW * *", "cronsim"),
    ("0 0 1,L * *", "0 0 1,L * *", "cronsim"),
    ("15 10 * * 5L", "15 10 * * 5L", "cronsim"),
    ("0 1 * * MON#1,FRIL", "0 1 * * MON#1,5L", "cronsim"),
    ("0 8 * * FRI#2", "0 8 * * FRI#2", "cronsim"),
    ("0 0 15 * 0L", "0 0 15 * 0L", "cronsim"),
    ("0 12 * * SAT-SUN", "0 12 * * 6,0", "cronsim"),
    ("30 2 * * 5-0", "30 2 * * 5,6,0", "cronsim"),
    ("*/10 * * * * *", "*/10 * * * * *", "cronsim"),
    ("30 */5 3 * * *", "30 */5 3 * * *", "cronsim"),
    ("0 3 29 2 *", "0 3 29 2 *", "cronsim"),
    ("0 9 15W * *", "0 9 15W * *", "croniter"),
    ("30 7 1W * *", "30 7 1W * *", "croniter"),
    ("0 23 31W * *", "0 23 31W * *", "croniter"),
]
RANDOM_STARTS = 160
STARTS_PER_TRANSITION = 12


@cache
def _transitions(tz: tzinfo) -> list[datetime]:
    """The UTC instants in [START, END) at which ``tz``'s offset changes (found hour by hour,
    once per zone: every expression reuses them)."""
    found: list[datetime] = []
    t = START
    offset = t.astimezone(tz).utcoffset()
    while t < END:
        nxt = t + timedelta(hours=1)
        new = nxt.astimezone(tz).utcoffset()
        if new != offset:
            found.append(nxt)
        t, offset = nxt, new
    return found


def _reference(kind: str, expr: str) -> Callable[[datetime], datetime]:
    if kind == "cronsim":
        return lambda start: next(cronsim.CronSim(expr, start))  # type: ignore[no-any-return]
    return lambda start: croniter.croniter(expr, start).get_next(datetime)  # type: ignore[no-any-return]


def _starts(rng: random.Random, tz: tzinfo) -> Iterator[datetime]:
    low, high = int(START.timestamp()), int(END.timestamp())
    for _ in range(RANDOM_STARTS):
        yield datetime.fromtimestamp(rng.randrange(low, high), tz)
    for transition in _transitions(tz):
        at = int(transition.timestamp())
        for _ in range(STARTS_PER_TRANSITION):
            yield datetime.fromtimestamp(at + rng.randrange(-3 * 3600, 3 * 3600), tz)


def _documented_difference(start: datetime, theirs: datetime, tz: tzinfo) -> bool:
    local = theirs.astimezone(tz)
    second_pass = local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()
    return second_pass or theirs.timestamp() <= start.timestamp()


def test_next_fire_matches_independent_implementations() -> None:
    rng = random.Random(20)
    compared = 0
    documented = 0
    failures: list[str] = []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        for ours_text, theirs_text, kind in CASES:
            ours = CronExpr.parse(ours_text)
            reference = _reference(kind, theirs_text)
            for start in _starts(rng, tz):
                mine = ours.next_after(start)
                theirs = reference(start)
                compared += 1
                if mine.timestamp() == theirs.timestamp():
                    continue
                if _documented_difference(start, theirs, tz):
                    documented += 1
                    continue
                failures.append(
                    f"{zone} {ours_text!r} from {start.isoformat()}: skylaunch "
                    f"{mine.astimezone(tz).isoformat()}, {kind} {theirs.astimezone(tz).isoformat()}"
                )
    print(
        f"\ncron cross-check: {compared} starts, {len(ZONES)} zones, {len(CASES)} expressions; "
        f"{documented} documented DST differences, {len(failures)} mismatches"
    )
    assert compared >= 10_000
    assert not failures, "\n".join(failures[:20])
