"""Conditions about time: fixed periods (``daily``...), clock windows (``time_of_day``...), ``every``."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from skylaunch._frozen import Frozen
from skylaunch._tasknames import refuse_empty
from skylaunch.conds.base import _CLOCK_FALSE, _WATCH_OWN_TASK, Condition, Context, instant_from
from skylaunch.history import FINISH_ACTIONS, Action, TaskLog
from skylaunch.time import (
    MAX_UTC,
    Cron,
    Interval,
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
from skylaunch.time.parse import format_timedelta, to_timedelta

__all__ = [
    "ADVERB_PERIODS",
    "UNIT_PERIODS",
    "Every",
    "IsPeriod",
    "PeriodMethods",
    "TaskExecutable",
    "TaskRunnable",
]

_Based = Literal["run", "success", "fail", "finish"]

_ADVERB: dict[type[TimePeriod], str] = {
    TimeOfSecond: "secondly",
    TimeOfMinute: "minutely",
    TimeOfHour: "hourly",
    TimeOfDay: "daily",
    TimeOfWeek: "weekly",
    TimeOfMonth: "monthly",
}
_UNIT: dict[type[TimePeriod], str] = {
    TimeOfSecond: "second",
    TimeOfMinute: "minute",
    TimeOfHour: "hour",
    TimeOfDay: "day",
    TimeOfWeek: "week",
    TimeOfMonth: "month",
}
ADVERB_PERIODS: dict[str, type[TimePeriod]] = {v: k for k, v in _ADVERB.items()}
UNIT_PERIODS: dict[str, type[TimePeriod]] = {v: k for k, v in _UNIT.items()}


def _phrase(head: str, period: TimePeriod) -> str:
    words = str(period)
    return f"{head} {words}" if words else head


#: What :meth:`PeriodMethods._narrowed` made, by (condition, method, bounds); emptied when full.
_NARROWED: dict[tuple[object, ...], Condition] = {}
_NARROWED_MAX = 1024
#: The same by (id of the condition, method, bounds) -> (the condition, what it made).
_NARROWED_BY_ID: dict[tuple[object, ...], tuple[object, Condition]] = {}


class PeriodMethods:
    """``.between()``, ``.before()``, ``.after()``, ``.at()``/``.on()``, ``.starting()``.

    Each returns a copy of the condition whose period is narrowed the same way on the same unit
    (``daily.between("10:00", "12:00")``, ``time_of_week.on("Mon")``).
    """

    __slots__ = ()
    period: TimePeriod

    def _with(self, period: TimePeriod) -> Condition:
        made = getattr(self, "_replace", None)
        if made is None:  # a dataclass of one's own with these methods
            from dataclasses import replace

            new: Condition = replace(self, period=period)  # type: ignore[type-var,assignment]
            return new
        return made(period=period)  # type: ignore[no-any-return]

    def _narrowed(self, how: str, *bounds: str | int) -> Condition:
        """``self`` with its period narrowed by ``type(period).<how>(*bounds)``, made once.

        Conditions are immutable values: the same phrase written for thousands of tasks
        (``daily.at("03:00")`` in a loop) is parsed once and the one condition shared.
        """
        # Keyed first by the object itself (``daily``): no hash of the whole condition. The
        # bounds' types too: True == 1, but only 1 is a valid bound.
        if len(bounds) == 1:  # .at(), .before(), .after(): the key in one tuple, no list
            bound = bounds[0]
            by_id: tuple[object, ...] = (id(self), how, type(bound), bound)
        else:
            by_id = (id(self), how, *[part for b in bounds for part in (type(b), b)])
        try:
            seen = _NARROWED_BY_ID.get(by_id)
            if seen is not None and seen[0] is self:
                return seen[1]
            key = (self, *by_id[1:])
            cached = _NARROWED.get(key)
        except TypeError:  # an unhashable condition or bound: made anew (and checked) each time
            return self._with(getattr(type(self.period), how)(*bounds))
        if cached is None:
            cached = self._with(getattr(type(self.period), how)(*bounds))
            if len(_NARROWED) >= _NARROWED_MAX:
                _NARROWED.clear()
            _NARROWED[key] = cached
        if len(_NARROWED_BY_ID) >= _NARROWED_MAX:
            _NARROWED_BY_ID.clear()
        _NARROWED_BY_ID[by_id] = (self, cached)  # keeps self: its id stays its own
        return cached

    def between(self, start: str | int, end: str | int) -> Condition:
        return self._narrowed("between", start, end)

    def before(self, end: str | int) -> Condition:
        return self._narrowed("before", end)

    def after(self, start: str | int) -> Condition:
        return self._narrowed("after", start)

    def starting(self, start: str | int) -> Condition:
        return self._narrowed("starting", start)

    def at(self, span: str | int) -> Condition:
        return self._narrowed("at", span)

    def on(self, span: str | int) -> Condition:
        return self.at(span)


class IsPeriod(PeriodMethods, Condition, Frozen):
    """True while the clock is inside ``period`` (``time_of_day.between("10:00", "12:00")``).

    A pure clock predicate: on its own it stays true for the whole window, so a task with only
    this condition runs again as soon as each run ends. Combine it with ``daily`` & co.
    """

    __slots__ = ("period",)
    _fields = ("period",)
    period: TimePeriod

    def __init__(self, period: TimePeriod) -> None:
        if isinstance(period, TimeDelta | TimeSpanDelta) and period.reference is None:
            # "now in the past 2 hours" holds at every instant: a condition always true
            raise TypeError(
                f"IsPeriod({period!r}) would always be true: a duration is measured from "
                "an instant; for 'not run in the past 2 hours' use every('2 hours') or "
                "started.in_past('2 hours') == 0"
            )
        object.__setattr__(self, "period", period)

    def is_true(self, ctx: Context) -> bool:
        return ctx.now in self.period

    def next_change(self, ctx: Context) -> datetime | None:
        return self.period.next_boundary(ctx.now)

    def __str__(self) -> str:
        if isinstance(self.period, Cron):
            return f"crontime {self.period}"
        unit = _UNIT.get(type(self.period))
        if unit is None:
            raise ValueError(f"{self.period!r} has no string syntax")
        return _phrase(f"time of {unit}", self.period)


def _ahead(start: datetime) -> datetime | None:
    """The next window's start, or ``None`` when the period has no window left (a static
    interval in the past; a cron date with no match before year 10000)."""
    return None if start >= MAX_UTC else start


def _bounds(interval: Interval, ctx: Context) -> tuple[float, float]:
    """Where the records that settle the current interval are: from its start to its end, not
    only to now. A record stored later than the clock (a restart with the clock set back) is
    still this interval's, so a task that finished in it does not run in it a second time."""
    return interval.start.timestamp(), max(
        math.nextafter(interval.end.timestamp(), -math.inf), ctx.ts
    )


class TaskExecutable(PeriodMethods, Condition, Frozen):
    """``daily``, ``hourly``...: inside the period and the task has not finished in it yet.

    Finished means a ``success``, ``fail``, ``terminate`` or ``inaction`` record since the start
    of the current interval (Rocketry's semantics): a crash or a run still going does not count,
    and a failure does not re-run in the same period unless ``retry`` says so.

    ``catch_up`` (see :meth:`catch_up`) is the missed-run policy: ``None`` (the default) skips a
    window that passed while no scheduler ran; a duration catches it up once, if the scheduler
    is back within that long after the window ended.
    """

    __slots__ = ("catch_up_within", "period", "retries", "task")
    _fields = ("period", "task", "retries", "catch_up_within")
    period: TimePeriod
    task: str | None
    retries: int
    catch_up_within: timedelta | None
    actions: ClassVar[tuple[Action, ...]] = FINISH_ACTIONS

    def __init__(
        self,
        period: TimePeriod,
        task: str | None = None,
        retries: int = 0,
        catch_up_within: timedelta | None = None,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"TaskExecutable(retries=...) must be an int >= 0, got {retries!r}")
        grace = catch_up_within
        if grace is not None and (not isinstance(grace, timedelta) or grace <= timedelta(0)):
            raise ValueError(f"catch_up_within must be a duration > 0, got {grace!r}")
        object.__setattr__(self, "period", period)
        refuse_empty(task)
        object.__setattr__(self, "task", task)
        object.__setattr__(self, "retries", retries)
        object.__setattr__(self, "catch_up_within", grace)

    def catch_up(self, within: timedelta | str | float) -> TaskExecutable:
        """This condition, plus one catch-up run of a window that passed without a finished run.

        ``daily.at("03:00").catch_up("6 hours")``: if no scheduler ran (or the task did not
        finish) between 03:00 and 04:00, the task is due once as soon as a scheduler runs again
        before 10:00 (a restart, or the replica that takes over); from 10:00 that day is skipped.
        A catch-up is one run, however many windows were missed (only the latest counts).
        """
        grace = to_timedelta(within) if not isinstance(within, timedelta) else within
        return self._replace(catch_up_within=grace)  # type: ignore[no-any-return]

    def _missed(self, ctx: Context, now: datetime) -> tuple[bool, datetime | None]:
        """Outside the windows: whether the latest one is to be caught up now, and until when."""
        grace = self.catch_up_within
        if grace is None:
            return False, None
        last = self.period.rollback(now)
        if last.end > now or now >= last.end + grace:
            return False, None
        log = ctx.log_of(self.task)
        if self._done(log, last.start.timestamp(), ctx.ts):
            return False, None
        return True, (last.end + grace).astimezone(now.tzinfo)

    def _done(self, log: TaskLog, start: float, end: float) -> bool:
        """The task finished in [start, end]: ``retries`` failures are allowed before a fail counts."""
        if not self.retries:
            return log.any_between(self.actions, start, end)
        others = tuple(a for a in self.actions if a != "fail")
        return log.any_between(others, start, end) or (log.count("fail", start, end) > self.retries)

    def _sliding(self) -> float | None:
        """Seconds of a ``TimeDelta("10 mins")`` period (Rocketry's ``every(...,
        based="finish")``): done when a finish is in the past 10 minutes, a window that slides
        with the clock (``None`` for a period of the calendar)."""
        period = self.period
        if isinstance(period, TimeDelta) and period.reference is None and not period.future:
            return period.past.total_seconds()
        return None

    def _sliding_done(self, log: TaskLog, ts: float, past: float) -> bool:
        # (ts - past, ts]: a record exactly `past` ago is out, as in every()
        return self._done(log, math.nextafter(ts - past, math.inf), ts)

    def _sliding_change(self, ctx: Context, past: float) -> datetime | None:
        """When the finishes that make it done have slid out (task events aside)."""
        log = ctx.log_of(self.task)
        if not self._sliding_done(log, ctx.ts, past):
            return None  # due: only a task event ends that
        start = math.nextafter(ctx.ts - past, math.inf)
        times = sorted(t for a in self.actions for t in log.times_between(a, start, ctx.ts))
        for ts in times:
            at = instant_from(ts + past, ctx.now.tzinfo)
            if not self._sliding_done(log, at.timestamp(), past):
                return at
        return None  # pragma: no cover - the last record leaving always makes it due

    def is_true(self, ctx: Context) -> bool:
        now = ctx.now
        past = self._sliding()
        if past is not None:
            return not self._sliding_done(ctx.log_of(self.task), ctx.ts, past)
        interval = self.period.rollforward(now)
        if interval.start > now:
            return self.catch_up_within is not None and self._missed(ctx, now)[0]
        return not self._done(ctx.log_of(self.task), *_bounds(interval, ctx))

    def next_change(self, ctx: Context) -> datetime | None:
        now = ctx.now
        past = self._sliding()
        if past is not None:
            return self._sliding_change(ctx, past)
        interval = self.period.rollforward(now)
        if interval.start > now:
            if self.catch_up_within is not None:
                missed, until = self._missed(ctx, now)
                if missed and until is not None:
                    # due until the grace ends (or a run finishes: a task event)
                    return min(until, interval.start.astimezone(now.tzinfo))
            return _ahead(interval.start)
        if not self._done(ctx.log_of(self.task), *_bounds(interval, ctx)):
            # due now; it can only stop being due by a task event or when the interval ends
            # into a gap (touching intervals keep it due)
            return self.period.next_boundary(now)
        return _ahead(self.period.rollforward(interval.end.astimezone(now.tzinfo)).start)

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        return frozenset() if name is None else frozenset({name})

    def __str__(self) -> str:
        head = _ADVERB.get(type(self.period))
        if head is None:
            raise ValueError(f"{self.period!r} has no string syntax as a TaskExecutable")
        text = _phrase(head, self.period)
        if self.retries:
            text += f" with {self.retries} {'retry' if self.retries == 1 else 'retries'}"
        if self.catch_up_within is not None:
            text += f" catch up within {format_timedelta(self.catch_up_within)}"
        return text


class TaskRunnable(PeriodMethods, Condition, Frozen):
    """Inside the period and the task has not *started* in it yet (``cron``'s semantics).

    Unlike :class:`TaskExecutable` a start counts, finished or not, so a cron minute launches at
    most one run even when the run crashes or is still going.
    """

    __slots__ = ("period", "task")
    _fields = ("period", "task")
    period: TimePeriod
    task: str | None
    actions: ClassVar[tuple[Action, ...]] = ("run",)
    retries: ClassVar[int] = 0
    catch_up_within: ClassVar[timedelta | None] = None

    def __init__(self, period: TimePeriod, task: str | None = None) -> None:
        object.__setattr__(self, "period", period)
        refuse_empty(task)
        object.__setattr__(self, "task", task)

    _done = TaskExecutable._done
    _sliding = TaskExecutable._sliding
    _sliding_done = TaskExecutable._sliding_done
    _sliding_change = TaskExecutable._sliding_change
    is_true = TaskExecutable.is_true
    next_change = TaskExecutable.next_change
    watches = TaskExecutable.watches

    def __str__(self) -> str:
        if isinstance(self.period, Cron):
            return f"cron {self.period}"
        raise ValueError(f"TaskRunnable({self.period!r}) has no string syntax (only cron has)")


#: period class -> whether it is one of skylaunch's (pure arithmetic on the instant it is given)
_OWN_PERIOD: dict[type, bool] = {}


def _own_period(period: TimePeriod) -> bool:
    """Whether ``period`` and every period it combines are skylaunch's (a period of the user's
    may read more than the instant: the scheduler then asks its condition every time)."""
    kind = type(period)
    own = _OWN_PERIOD.get(kind)
    if own is None:
        own = _OWN_PERIOD[kind] = kind.__module__.startswith("skylaunch.time.")
    parts: tuple[TimePeriod, ...] | None = getattr(period, "periods", None)
    return own and (parts is None or all(_own_period(part) for part in parts))


def _window_ahead(cond: TaskExecutable, now: datetime) -> tuple[datetime] | None:
    """``(start,)`` when ``now`` is before the period's next window and nothing is to be caught
    up: false whatever the history holds until the window starts (``is_true``/``next_change``)."""
    if cond.catch_up_within is not None or not _own_period(cond.period):
        return None
    if cond._sliding() is not None:
        return None  # a window sliding with the clock: done or not by the history
    interval = cond.period.rollforward(now)
    return (interval.start,) if interval.start > now else None


def _outside_period(cond: IsPeriod, now: datetime) -> tuple[datetime | None] | None:
    """``(next boundary,)`` when ``now`` is outside the period (``None`` inside: then true)."""
    period = cond.period
    if not _own_period(period) or now in period:
        return None
    return (period.next_boundary(now),)


_CLOCK_FALSE[TaskExecutable] = _window_ahead
_CLOCK_FALSE[TaskRunnable] = _window_ahead
_CLOCK_FALSE[IsPeriod] = _outside_period
_WATCH_OWN_TASK.add(TaskExecutable)

_BASED_ACTIONS: dict[str, tuple[Action, ...]] = {
    "run": ("run",),
    "success": ("success",),
    "fail": ("fail",),
    "finish": FINISH_ACTIONS,
}


class Every(Condition, Frozen):
    """True when the task has not started (or, by ``based``, ended) in the past ``period``.

    Measured from the last record, not aligned to the clock: ``every("1 hour")`` after a start
    at 10:17:03 is next true at 11:17:03. A task that never ran is due at once.

    ``jitter`` delays each due time by an offset in ``[0, jitter)`` drawn from a hash of the
    task's name, the last record's instant and ``seed``: spread out, yet the same on every
    replica and every replay (simulated clocks included), and exact for :meth:`next_change`.
    """

    __slots__ = ("based", "jitter", "period", "seed", "task")
    _fields = ("period", "based", "task", "jitter", "seed")
    period: timedelta
    based: _Based
    task: str | None
    jitter: timedelta
    seed: int

    def __init__(
        self,
        period: timedelta | float | str,
        based: _Based = "run",
        task: str | None = None,
        *,
        jitter: timedelta | float | str | None = None,
        seed: int = 0,
    ) -> None:
        delta = to_timedelta(period)
        if delta <= timedelta(0):
            raise ValueError(f"every() needs a positive period, got {period!r}")
        if based not in _BASED_ACTIONS:
            raise ValueError(
                f"every(based=...) must be one of run, success, fail, finish; got {based!r}"
            )
        spread = timedelta(0) if jitter is None else to_timedelta(jitter)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"every(seed=...) must be an int >= 0, got {seed!r}")
        object.__setattr__(self, "period", delta)
        object.__setattr__(self, "based", based)
        refuse_empty(task)
        object.__setattr__(self, "task", task)
        object.__setattr__(self, "jitter", spread)
        object.__setattr__(self, "seed", seed)

    def spelled_out(self) -> Condition:
        """Rocketry's spelling of this condition (without jitter, which Rocketry had not):
        ``TaskStarted(period=TimeDelta(period)) == 0`` for ``based="run"``, ``TaskSucceeded``
        or ``TaskFailed`` likewise, ``TaskExecutable(period=TimeDelta(period))`` for
        ``"finish"``. The two compare equal; the scheduler evaluates this one."""
        from skylaunch.conds.status import TaskFailed, TaskStarted, TaskSucceeded

        past = TimeDelta(self.period)
        if self.based == "finish":
            return TaskExecutable(past, task=self.task)
        status = {"run": TaskStarted, "success": TaskSucceeded, "fail": TaskFailed}[self.based]
        return status(task=self.task, period=past, op="==", n=0)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Every):
            return self._key() == other._key()
        if isinstance(other, Condition) and not self.jitter:
            return self.spelled_out() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key()) if self.jitter else hash(self.spelled_out())

    def _key(self) -> tuple[object, ...]:
        return (self.period, self.based, self.task, self.jitter, self.seed)

    def _last(self, ctx: Context) -> float | None:
        return ctx.log_of(self.task).last_of(_BASED_ACTIONS[self.based])

    def _due(self, ctx: Context) -> float | None:
        """The POSIX time from which it is true (``None``: true already, never ran)."""
        last = self._last(ctx)
        if last is None:
            return None
        due = last + self.period.total_seconds()
        if self.jitter:
            due += self.offset(ctx.task_name(self.task), last).total_seconds()
        return due

    def offset(self, task_name: str, last: float) -> timedelta:
        """The jitter added to the period after a record of ``task_name`` at POSIX ``last``."""
        import hashlib  # only for jitter: not loaded at import (bench W5)

        key = f"{task_name}\0{round(last * 1_000_000)}\0{self.seed}".encode()
        fraction = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
        return timedelta(microseconds=int(fraction * (self.jitter // _ONE_US)))

    # is_true and next_change must make the same comparison: with "now - last >= period" on
    # one side and "now >= last + period" on the other, floats made them disagree, next_change
    # said "never" while the condition was false, and the task was never looked at again.
    def is_true(self, ctx: Context) -> bool:
        due = self._due(ctx)
        return due is None or ctx.ts >= due

    def next_change(self, ctx: Context) -> datetime | None:
        due = self._due(ctx)
        if due is None or ctx.ts >= due:
            return None
        return instant_from(due, ctx.now.tzinfo)

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        return frozenset() if name is None else frozenset({name})

    def __str__(self) -> str:
        text = f"every {format_timedelta(self.period)}"
        if self.based != "run":
            text += f" after {self.based}"
        if self.jitter:
            text += f" with jitter {format_timedelta(self.jitter)}"
            if self.seed:
                text += f" seed {self.seed}"
        return text


_WATCH_OWN_TASK.add(Every)

_ONE_US = timedelta(microseconds=1)
