"""Conditions about the scheduler itself: how many passes it made, how long it has run."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from skylaunch.conds.base import EVERY_PASS, All, Condition, Context, instant_from
from skylaunch.conds.status import PERIOD_PHRASES, Counted, Op
from skylaunch.time import Always, TimeDelta, TimePeriod, TimeSpanDelta, always
from skylaunch.time.parse import format_timedelta, to_timedelta

__all__ = [
    "SchedulerCycles",
    "SchedulerRunning",
    "SchedulerStarted",
    "scheduler_cycles",
    "scheduler_running",
]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SchedulerCycles(Counted):
    """The number of passes the scheduler has made, compared with a number.

    As in Rocketry, compare to build: ``SchedulerCycles() > 3``, ``== 3``, ``<= 10``; bare
    ``SchedulerCycles()`` means at least one pass. A pass is one wake-up of the event-driven
    loop, not a fixed tick: an idle scheduler makes none. Use ``scheduler_running`` to bound a
    run in time.
    """

    op: Op = ">"
    n: int = 0

    def count(self, ctx: Context) -> int:
        return ctx.cycles

    def _compare(self, op: Op, other: object) -> SchedulerCycles:
        built = Counted._compare(self, op, other)
        # Counts are whole numbers: ">= n" is "> n - 1" and "<= n" is "< n + 1", the forms the
        # string syntax has, so that a condition and its string parse to equal objects.
        if built.op == ">=" and built.n > 0:
            return replace(built, op=">", n=built.n - 1)
        if built.op == "<=":
            return replace(built, op="<", n=built.n + 1)
        return built

    def _default_comparison(self) -> tuple[str, int]:
        return (">", 0)

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        return frozenset({EVERY_PASS})

    def _fields(self) -> tuple[object, ...]:
        return (self.op, self.n)

    def __str__(self) -> str:
        op, n = self.op, self.n
        if op == ">":
            return f"scheduler has more than {n} cycles"
        if op == "<":
            return f"scheduler has less than {n} cycles"
        if op == "==":
            return f"scheduler has {n} cycles"
        if op == ">=":  # ">= 0" (every other ">=" was made ">")
            return "true"
        return f"~(scheduler has {n} cycles)"

    def __repr__(self) -> str:
        return f"SchedulerCycles() {self.op} {self.n}"


@dataclass(frozen=True, slots=True)
class SchedulerRunning(Condition):
    """The scheduler started more than / less than ``delta`` ago.

    Equal to Rocketry's spelling of it, ``SchedulerStarted(period=TimeSpanDelta(near=delta))``
    (``far=delta`` for ``more=False``): the same instants, false before the scheduler starts.
    """

    delta: timedelta
    more: bool = True

    def as_started(self) -> SchedulerStarted:
        """The :class:`SchedulerStarted` form (Rocketry's ``scheduler_running``)."""
        if self.more:
            return SchedulerStarted(TimeSpanDelta(near=self.delta))
        return SchedulerStarted(TimeSpanDelta(far=self.delta))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SchedulerRunning):
            return (self.delta, self.more) == (other.delta, other.more)
        if isinstance(other, SchedulerStarted):
            return self.as_started() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.as_started())

    def is_true(self, ctx: Context) -> bool:
        started = ctx.started_at
        if started is None:
            return False
        # the same comparison as next_change's (see instant_from)
        over = ctx.ts >= started.timestamp() + self.delta.total_seconds()
        return over if self.more else not over

    def next_change(self, ctx: Context) -> datetime | None:
        started = ctx.started_at
        if started is None:
            return None
        flip = started.timestamp() + self.delta.total_seconds()
        return instant_from(flip, ctx.now.tzinfo) if ctx.ts < flip else None

    def __str__(self) -> str:
        if self.more:
            return f"scheduler has run over {format_timedelta(self.delta)}"
        return f"scheduler has run under {format_timedelta(self.delta)}"


@dataclass(frozen=True, slots=True)
class SchedulerStarted(Condition):
    """The scheduler (re)started within ``period``: ``scheduler started in past 10 minutes``.

    With a calendar period (``today``...) it is the current or latest interval, as the task
    status conditions count; before the scheduler starts it is false. Without a period
    (``SchedulerStarted()``, ``"scheduler started"``) it is true once the scheduler has started,
    as in Rocketry.
    """

    period: TimePeriod = always

    def _span(self, ctx: Context) -> tuple[float, float]:
        interval = self.period.rollback(ctx.now)
        # half-open like every interval: an instant at the window's end is outside it
        end = math.nextafter(interval.end.timestamp(), -math.inf)
        return interval.start.timestamp(), min(ctx.ts, end)

    def is_true(self, ctx: Context) -> bool:
        started = ctx.started_at
        if started is None:
            return False
        start, end = self._span(ctx)
        return start <= started.timestamp() <= end

    def next_change(self, ctx: Context) -> datetime | None:
        started = ctx.started_at
        if started is None or isinstance(self.period, Always):
            return None  # only a (re)start makes it true, and that is a scheduler event
        # The first instants at which _span takes the start in and leaves it out.
        after = instant_from(started.timestamp(), timezone.utc, after=True)
        if isinstance(self.period, TimeSpanDelta):
            # [now - far, now - near] slides over the start
            enter = _later(after, self.period.near - _ONE_US)
            flips = [None if enter is None else max(enter, started)]
            if self.period.far is not None:
                flips.append(_later(after, self.period.far))
            ahead = [f for f in flips if f is not None and f > ctx.now]
            return min(ahead).astimezone(ctx.now.tzinfo) if ahead else None
        if not self.is_true(ctx):
            return None  # only a (re)start makes it true, and that is a scheduler event
        if isinstance(self.period, TimeDelta):
            leave = _later(after, self.period.past)
            return None if leave is None else leave.astimezone(ctx.now.tzinfo)
        current = self.period.rollback(ctx.now)
        following = self.period.rollforward(
            current.end.astimezone(ctx.now.tzinfo) if ctx.now in current else ctx.now
        )
        return None if following.is_empty else following.start

    def watches(self, own: str | None) -> frozenset[str]:
        return frozenset({EVERY_PASS})

    def __str__(self) -> str:
        if isinstance(self.period, Always):
            return "scheduler started"
        from_status = _status_phrase(self.period)
        return f"scheduler started {from_status}"


_ONE_US = timedelta(microseconds=1)


def _later(when: datetime, delta: timedelta) -> datetime | None:
    """``when + delta``, or ``None`` past the last representable instant."""
    try:
        return when + delta
    except OverflowError:
        return None


def _status_phrase(period: TimePeriod) -> str:
    if isinstance(period, TimeDelta):
        return f"in past {period}"
    head = PERIOD_PHRASES.get(type(period))
    if head is None:
        return f"in {period!r}"  # no string syntax for it: say what it is
    extra = str(period)
    return f"{head} {extra}" if extra else head


def scheduler_cycles(more_than: int | None = None, less_than: int | None = None) -> Condition:
    """``scheduler_cycles(more_than=3)``: see :class:`SchedulerCycles`."""
    parts: list[Condition] = []
    if more_than is not None:
        parts.append(SchedulerCycles() > more_than)
    if less_than is not None:
        parts.append(SchedulerCycles() < less_than)
    if not parts:
        raise ValueError("scheduler_cycles() needs more_than=, less_than= or both")
    return All.of(*parts)


def scheduler_running(
    more_than: timedelta | float | str | None = None,
    less_than: timedelta | float | str | None = None,
) -> Condition:
    """``scheduler_running(more_than="10 minutes")``: see :class:`SchedulerRunning`."""
    parts: list[Condition] = []
    if more_than is not None:
        parts.append(SchedulerRunning(to_timedelta(more_than), more=True))
    if less_than is not None:
        parts.append(SchedulerRunning(to_timedelta(less_than), more=False))
    if not parts:
        raise ValueError("scheduler_running() needs more_than=, less_than= or both")
    return All.of(*parts)
