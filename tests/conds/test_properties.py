"""Properties of every condition: constant until next_change, parse(str(c)) == c, De Morgan."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.conds import (
    Counted,
    Every,
    Retry,
    SchedulerCycles,
    SchedulerRunning,
    SchedulerStarted,
    TaskExecutable,
    TaskFailed,
    TaskFinished,
    TaskRunning,
    TaskStarted,
    TaskSucceeded,
    after_finish,
    after_success,
    condition,
    cron,
    crontime,
    daily,
    every,
    failed,
    false,
    hourly,
    is_env,
    minutely,
    monthly,
    parse_condition,
    retry,
    running,
    started,
    succeeded,
    time_of_day,
    time_of_minute,
    time_of_month,
    time_of_week,
    true,
    weekly,
)
from skylaunch.conds.base import Condition, Context
from skylaunch.history import Action
from skylaunch.session import Session
from skylaunch.tasks.base import Task
from skylaunch.testing import seed, simulated_app
from skylaunch.time import (
    TimeDelta,
    TimeOfDay,
    TimeOfHour,
    TimeOfMinute,
    TimeOfMonth,
    TimeOfSecond,
    TimeOfWeek,
    TimePeriod,
    TimeSpanDelta,
)

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
    # A real instant, as the scheduler's clock gives: a wall time in a spring-forward gap
    # (hypothesis draws them) is moved to the instant it names, so that comparing two times
    # of the zone (which Python does on their wall times) orders them as instants.
    tz = ZoneInfo(zone)
    real = datetime.fromtimestamp(now.replace(tzinfo=tz).timestamp(), tz)
    return Context(real, app.session, app.session["job"])


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


# -- next_change is sound and live for every condition family (issue 12, item 1) ---------------
#
# The scheduler evaluates a task's condition, and when it is false plans the next look at
# next_change; "None" means only a task event (or a scheduler pass, for conditions that watch
# every pass) can change the value, so the task is not looked at again until one happens. Two
# things must hold for every condition, every history and every instant t:
#
# - sound: the value is the same at every instant of [t, next_change(t)), the instant just
#   before next_change included, and the whole future when next_change(t) is None (a false
#   condition answers "never" only when it can never become true without a history change);
# - live: next_change(t) is after t, so following next_change always gets somewhere.
#
# Histories use arbitrary float timestamps (not whole microseconds) and periods random floats,
# which is what made Every's two comparisons disagree.

_BASE = datetime(2024, 3, 29, tzinfo=ZoneInfo("UTC")).timestamp()
_SPAN_S = 4 * 86400.0
_ONE_US = timedelta(microseconds=1)
_FAR_S = 400 * 86400.0
_TASKS = ("job", "other")
_ACTIONS: tuple[Action, ...] = ("run", "success", "fail", "terminate", "inaction", "crash")

_seconds = st.one_of(
    st.floats(1e-3, 10.0),
    st.floats(10.0, 1e5),
    st.sampled_from([0.1, 0.3, 1.0, 60.0, 3600.0, 86400.0]),
)
_ops = st.sampled_from([">=", ">", "<=", "<", "==", "!="])
_counts = st.integers(0, 3)


def _counted(cond: Counted, op: str, n: int) -> Condition:
    return {
        ">=": cond >= n,
        ">": cond > n,
        "<=": cond <= n,
        "<": cond < n,
        "==": cond == n,
        "!=": cond != n,
    }[op]


@st.composite
def _every(draw: st.DrawFn) -> Condition:
    based = draw(st.sampled_from(["run", "success", "fail", "finish"]))
    task = draw(st.sampled_from([None, "other"]))
    return Every(draw(_seconds), based=based, task=task)  # type: ignore[arg-type]


_PERIODS = [
    None,
    TimeOfSecond(),
    TimeOfMinute(),
    TimeOfHour(),
    TimeOfDay(),
    TimeOfDay.between("10:00", "12:00"),
    TimeOfDay.between("22:00", "02:00"),
    TimeOfWeek.on("Mon"),
    TimeOfMonth.after("28th"),
]


@st.composite
def _status(draw: st.DrawFn) -> Condition:
    kind = draw(st.sampled_from([TaskStarted, TaskSucceeded, TaskFailed, TaskFinished]))
    kind_period = draw(st.sampled_from(["fixed", "past", "span"]))
    period: TimePeriod | None
    if kind_period == "fixed":
        period = draw(st.sampled_from(_PERIODS))
    elif kind_period == "past":
        period = TimeDelta(draw(_seconds))
    else:
        near = draw(_seconds)
        far = draw(st.one_of(st.none(), _seconds.map(lambda s: s + near)))
        period = TimeSpanDelta(near, far)
    task = draw(st.sampled_from([None, "other"]))
    return _counted(kind(task=task, period=period), draw(_ops), draw(_counts))


@st.composite
def _running(draw: st.DrawFn) -> Condition:
    low = draw(st.one_of(st.none(), _seconds))
    high = draw(st.one_of(st.none(), _seconds))
    if low is not None and high is not None:
        low, high = min(low, high), max(low, high) + 1e-3
    cond = TaskRunning(
        min_age=None if low is None else timedelta(seconds=low),
        max_age=None if high is None else timedelta(seconds=high),
    )
    return _counted(cond, draw(_ops), draw(_counts))


@st.composite
def _scheduler(draw: st.DrawFn) -> Condition:
    which = draw(st.sampled_from(["running", "started", "cycles"]))
    if which == "running":
        return SchedulerRunning(timedelta(seconds=draw(_seconds)), more=draw(st.booleans()))
    if which == "started":
        period = draw(
            st.one_of(
                st.sampled_from([TimeOfDay(), TimeOfHour(), TimeOfDay.between("10:00", "12:00")]),
                _seconds.map(TimeDelta),
                st.tuples(_seconds, _seconds).map(lambda p: TimeSpanDelta(p[0], p[0] + p[1])),
            )
        )
        return SchedulerStarted(period)
    return _counted(SchedulerCycles(), draw(st.sampled_from([">", "<", "=="])), draw(_counts))


_LEAVES = st.one_of(
    _every(),
    _status(),
    _running(),
    _scheduler(),
    st.sampled_from(CONDS),
    st.sampled_from(
        [
            true,
            false,
            retry(2),
            retry(),
            after_success("other"),
            after_finish("other"),
            time_of_minute.between("10", "40"),
            minutely,
            daily.after("23:59:59"),
            crontime("*/7 * * * *"),
            cron("0 10 * * *"),
            condition(lambda: True, name="always_yes"),
            is_env("prod"),
        ]
    ),
)
_ANY_COND = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: p[0] & p[1]),
        st.tuples(inner, inner).map(lambda p: p[0] | p[1]),
        inner.map(lambda c: ~c),
    ),
    max_leaves=4,
)


_gaps = st.one_of(
    st.floats(0.0, 1e-3),
    _seconds,
    st.sampled_from([0.0, 1e-6, 0.5e-6, 60.0, 3600.0]),
)


@st.composite
def _histories(draw: st.DrawFn) -> tuple[list[tuple[str, float, Action]], float]:
    """Records of 'job' and 'other' at arbitrary float instants, close to each other, and an
    instant at or after them all (the records are in its past)."""
    ts = draw(st.floats(_BASE, _BASE + _SPAN_S))
    records: list[tuple[str, float, Action]] = []
    for _ in range(draw(st.integers(0, 6))):
        records.append((draw(st.sampled_from(_TASKS)), ts, draw(st.sampled_from(_ACTIONS))))
        ts += draw(_gaps)
    return records, ts + draw(_gaps)


def _session_at(
    zone: str, records: list[tuple[str, float, Action]], started: float | None
) -> tuple[Session, Task]:
    app = simulated_app("2024-03-29 00:00", tz=zone)

    @app.task()
    def job() -> None: ...

    session = app.session
    open_runs: dict[str, list[str]] = {}
    for k, (name, ts, action) in enumerate(sorted(records, key=lambda r: r[1])):
        if action == "run":
            run_id = f"{name}-{k}"
            open_runs.setdefault(name, []).append(run_id)
        else:
            ids = open_runs.get(name) or [None]  # type: ignore[list-item]
            run_id = ids.pop(0)  # type: ignore[assignment]
        session.history.add(name, action, ts, run_id)
    session.parameters["env"] = "test"
    scheduler = session.scheduler
    scheduler.cycles = 7
    scheduler.started_at = (
        None if started is None else datetime.fromtimestamp(started, timezone.utc)
    )
    return session, session["job"]


def _value(cond: Condition, session: Session, task: Task, when: datetime) -> bool:
    return cond.is_true(Context(when, session, task))


def _check_sound(
    cond: Condition, session: Session, task: Task, now: datetime, fractions: list[float]
) -> tuple[bool, datetime | None]:
    """Assert the value is constant from ``now`` up to its next change; return both."""
    value = _value(cond, session, task, now)
    change = cond.next_change(Context(now, session, task))
    # Arithmetic in UTC: with a zone, aware datetimes add and subtract wall-clock time.
    zone, now = now.tzinfo, now.astimezone(timezone.utc)
    if change is not None:
        change = change.astimezone(timezone.utc)
        assert change > now, (str(cond), now, change)
        probes = [change - _ONE_US] + [now + (change - now) * f for f in fractions]
    else:  # "never": probe the far future, the next microseconds and whole days later
        far = timedelta(seconds=_FAR_S)
        probes = [now + _ONE_US, now + timedelta(seconds=1), now + far]
        probes += [now + far * f for f in fractions]
        probes += [now + timedelta(days=d, seconds=0.5) for d in (1, 2, 7, 32)]
    for probe in probes:
        if now <= probe and (change is None or probe < change):
            got = _value(cond, session, task, probe.astimezone(zone))
            assert got is value, (str(cond), now.isoformat(), probe.isoformat(), change)
    return value, None if change is None else change.astimezone(zone)


@settings(max_examples=300, deadline=None)
@given(
    cond=_ANY_COND,
    zone=st.sampled_from(ZONES),
    history=_histories(),
    started=st.one_of(st.none(), _gaps),
    fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=3),
)
def test_next_change_is_sound_and_live_for_every_condition(
    cond: Condition,
    zone: str,
    history: tuple[list[tuple[str, float, Action]], float],
    started: float | None,
    fractions: list[float],
) -> None:
    records, now_ts = history
    now = datetime.fromtimestamp(now_ts, ZoneInfo(zone))
    if started is not None:  # the scheduler started that long before now
        started = now.timestamp() - started
    # only the past: a record or a start after now would be an event, which next_change ignores
    records = [r for r in records if r[1] <= now.timestamp()]
    started = started if started is not None and started <= now.timestamp() else None
    session, task = _session_at(zone, records, started)
    # Follow next_change as the scheduler does, a few steps: each is after the one before,
    # and the value holds until it.
    for _ in range(6):
        _, change = _check_sound(cond, session, task, now, fractions)
        if change is None:
            break
        now = change
