"""Properties of every condition: constant until next_change, parse(str(c)) == c, De Morgan."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.conds import (
    cron,
    crontime,
    daily,
    every,
    failed,
    hourly,
    monthly,
    parse_condition,
    running,
    started,
    succeeded,
    time_of_day,
    time_of_month,
    time_of_week,
    weekly,
)
from skylaunch.conds.base import Condition, Context
from skylaunch.history import Action
from skylaunch.testing import seed, simulated_app

ZONES = ["UTC", "Europe/Helsinki", "America/New_York"]
CONDS: list[Condition] = [
    daily,
    daily.between("10:00", "12:00"),
    daily.at("03:00"),
    hourly.at("45:00"),
    weekly.on("Mon"),
    monthly.between("1st", "5th"),
    time_of_day.between("22:00", "02:00"),
    time_of_week.between("Mon", "Fri"),
    time_of_month.after("28th"),
    every("90 minutes"),
    every("1 hour", based="finish"),
    started.today >= 2,
    failed.this_hour,
    succeeded.in_past("2 hours"),
    started.today.between("10:00", "12:00") == 0,
    running.more_than("10 minutes"),
    running.less_than("30 minutes"),
    cron("*/15 9-17 * * 1-5"),
    crontime("30 2 * * *"),
]
HISTORY: list[tuple[str, Action]] = [
    ("2024-03-30 10:05", "run"),
    ("2024-03-30 10:20", "success"),
    ("2024-03-31 01:00", "run"),
    ("2024-03-31 01:10", "fail"),
    ("2024-03-31 09:00", "run"),  # still running
]
_INSTANTS = st.datetimes(min_value=datetime(2024, 3, 29), max_value=datetime(2024, 4, 2))
_CONDS = st.sampled_from(CONDS)


def _context(zone: str, now: datetime) -> Context:
    app = simulated_app(now, tz=zone)

    @app.task()
    def job() -> None: ...

    tz = ZoneInfo(zone)
    # only the past: a record after now would be a task event, which next_change ignores
    seed(app, "job", [(w, a) for w, a in HISTORY if datetime.fromisoformat(w) <= now])
    return Context(now.replace(tzinfo=tz), app.session, app.session["job"])


@settings(max_examples=120, deadline=None)
@given(
    cond=_CONDS,
    zone=st.sampled_from(ZONES),
    now=_INSTANTS,
    fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4),
)
def test_value_is_constant_until_next_change(
    cond: Condition, zone: str, now: datetime, fractions: list[float]
) -> None:
    ctx = _context(zone, now)
    value = cond.is_true(ctx)
    change = cond.next_change(ctx)
    horizon = change if change is not None else ctx.now + timedelta(days=3)
    assert horizon > ctx.now
    for fraction in fractions:
        probe = ctx.now + (horizon - ctx.now) * fraction
        if probe < horizon:
            at = Context(probe.astimezone(ctx.now.tzinfo), ctx.session, ctx.task)
            assert cond.is_true(at) is value, (str(cond), probe)


@settings(max_examples=60, deadline=None)
@given(a=_CONDS, b=_CONDS, zone=st.sampled_from(ZONES), now=_INSTANTS)
def test_de_morgan_and_round_trip(a: Condition, b: Condition, zone: str, now: datetime) -> None:
    ctx = _context(zone, now)
    assert (~(a & b)).is_true(ctx) is (~a | ~b).is_true(ctx)
    assert (~(a | b)).is_true(ctx) is (~a & ~b).is_true(ctx)
    for cond in (a, a & b, a | ~b, ~(a | b)):
        assert parse_condition(str(cond)) == cond


def test_every_condition_round_trips() -> None:
    for cond in CONDS:
        assert parse_condition(str(cond)) == cond, str(cond)
