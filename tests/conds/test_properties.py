"""Properties of every condition: constant until next_change, parse(str(c)) == c, De Morgan."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.conds import (
    Retry,
    TaskExecutable,
    cron,
    crontime,
    daily,
    every,
    failed,
    hourly,
    monthly,
    parse_condition,
    retry,
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
from skylaunch.time import TimeOfDay

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


# -- constructs past Rocketry (cron L/W/#/seconds, retry delay, jitter, retries) -----------------
# A separate history that ends in failures, so delayed retries have something to wait for.

LANGUAGE_CONDS: list[Condition] = [
    cron("0 0 L * *"),
    cron("0 9 LW * *"),
    cron("30 8 15W * *"),
    crontime("0 17 * * FRIL"),
    crontime("0 8 * * FRI#2"),
    cron("0 12 * * SAT-SUN"),
    cron("*/20 * 2 * * *"),
    crontime("30 */7 * * * *"),
    retry,
    retry(3, delay="10 minutes", backoff=2, max_delay="1 hour"),
    retry(delay="45 minutes"),
    every("1 hour", jitter="10 minutes"),
    every("30 minutes", based="fail", jitter="5 minutes", seed=3),
    TaskExecutable(TimeOfDay(), retries=2),
    TaskExecutable(TimeOfDay.between("01:00", "03:00"), retries=1),
    monthly.on("last"),
    time_of_month.on("last"),
]
LANGUAGE_HISTORY: list[tuple[str, Action]] = [
    ("2024-03-30 23:50", "run"),
    ("2024-03-30 23:55", "fail"),
    ("2024-03-31 00:20", "run"),
    ("2024-03-31 00:25", "fail"),
    ("2024-03-31 01:40", "run"),
    ("2024-03-31 01:45", "fail"),
]
_LANGUAGE_CONDS = st.sampled_from(LANGUAGE_CONDS)


def _language_context(zone: str, now: datetime) -> Context:
    app = simulated_app("2024-03-29 00:00", tz=zone)
    app.task(name="job")(lambda: None)
    past = [(w, a) for w, a in LANGUAGE_HISTORY if datetime.fromisoformat(w) <= now]
    seed(app, "job", past)
    return Context(now.replace(tzinfo=ZoneInfo(zone)), app.session, app.session["job"])


@settings(max_examples=150, deadline=None)
@given(
    cond=_LANGUAGE_CONDS,
    zone=st.sampled_from(ZONES),
    now=_INSTANTS,
    fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4),
)
def test_language_value_is_constant_until_next_change(
    cond: Condition, zone: str, now: datetime, fractions: list[float]
) -> None:
    ctx = _language_context(zone, now)
    value = cond.is_true(ctx)
    change = cond.next_change(ctx)
    horizon = change if change is not None else ctx.now + timedelta(days=3)
    assert horizon > ctx.now
    for fraction in [0.0, *fractions]:
        probe = ctx.now + (horizon - ctx.now) * fraction
        if probe < horizon:
            at = Context(probe.astimezone(ctx.now.tzinfo), ctx.session, ctx.task)
            assert cond.is_true(at) is value, (str(cond), probe)
    if change is not None:
        # exact: the value has flipped at the planned instant (never a wake-up for nothing)
        at = Context(change.astimezone(ctx.now.tzinfo), ctx.session, ctx.task)
        if not isinstance(cond, TaskExecutable):  # a window may end into the next one
            assert cond.is_true(at) is not value, (str(cond), change)


@settings(max_examples=80, deadline=None)
@given(cond=_LANGUAGE_CONDS, zone=st.sampled_from(ZONES), now=_INSTANTS)
def test_language_liveness(cond: Condition, zone: str, now: datetime) -> None:
    """From a false value, following next_change reaches true within a few steps (no task
    events), for every construct that can become due on its own after the history."""
    ctx = _language_context(zone, now)
    steps = 0
    while not cond.is_true(ctx):
        change = cond.next_change(ctx)
        if change is None:
            # only a task event can help: a retry past its limit, or a finished day
            assert isinstance(cond, (Retry, TaskExecutable)), (str(cond), ctx.now)
            return
        assert change > ctx.now
        ctx = Context(change.astimezone(ctx.now.tzinfo), ctx.session, ctx.task)
        steps += 1
        assert steps < 10, (str(cond), ctx.now)


@settings(max_examples=60, deadline=None)
@given(a=_LANGUAGE_CONDS, b=_CONDS)
def test_language_round_trip(a: Condition, b: Condition) -> None:
    for cond in (a, a & b, b | ~a):
        assert parse_condition(str(cond)) == cond
