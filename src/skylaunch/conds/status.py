"""Task status conditions: ``started.today >= 3``, ``failed.in_past("1 hour")``, ``running``.

Each counts records (or open runs) of a task and compares the count with a number. The
comparison operators return *new* frozen conditions (``started.today >= 3``), so the objects
users build stay hashable values; comparing with another condition is plain structural equality.
A status with a period counts the records in the period's *current or latest* interval up to
now (Rocketry's ``rollback``): after 12:00, ``started.today.between("10:00", "12:00")`` still
counts today's window until the next one starts.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from skylaunch._tasknames import condition_task, optional_task_name, quoted
from skylaunch.conds.base import All, Condition, Context, instant_from
from skylaunch.history import Action
from skylaunch.time import (
    MIN_UTC,
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

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: the import costs ~7 ms

__all__ = [
    "PERIOD_PHRASES",
    "STATUS_VERBS",
    "Counted",
    "Op",
    "TaskFailed",
    "TaskFinished",
    "TaskInacted",
    "TaskRunning",
    "TaskStarted",
    "TaskStatus",
    "TaskSucceeded",
    "TaskTerminated",
    "count_phrase",
    "failed",
    "finished",
    "inacted",
    "running",
    "started",
    "succeeded",
    "terminated",
]

Op = Literal[">=", ">", "<=", "<", "==", "!="]
_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_MAGIC: dict[str, Op] = {
    "__eq__": "==",
    "__ne__": "!=",
    "__lt__": "<",
    "__gt__": ">",
    "__le__": "<=",
    "__ge__": ">=",
}
_ONE_US = timedelta(microseconds=1)

C = TypeVar("C", bound="Counted")

#: The words after the status verb for each anchored period, in the string syntax.
PERIOD_PHRASES: dict[type[TimePeriod], str] = {
    TimeOfSecond: "this second",
    TimeOfMinute: "this minute",
    TimeOfHour: "this hour",
    TimeOfDay: "today",
    TimeOfWeek: "this week",
    TimeOfMonth: "this month",
}


def count_phrase(op: str, n: int) -> str:
    """The words of a count in the string syntax (empty for the default ``>= 1``)."""
    if (op, n) == (">=", 1):
        return ""
    word = {
        ">=": "at least",
        ">": "more than",
        "<=": "at most",
        "<": "less than",
        "==": "exactly",
        "!=": "not exactly",
    }[op]
    return f"{word} {n} {'time' if n == 1 else 'times'}"


class Counted(Condition):
    """A condition that is a count compared with a number; compare it to get a new one.

    ``cond >= 3`` and friends return a copy with the default comparison replaced; on a count
    compared already, both must hold (``(cond > 1) < 5`` is ``All(cond > 1, cond < 5)``, as
    Rocketry added comparisons up). ``cond == other`` with a condition is structural equality
    (so ``==`` with a number builds, it does not test).
    """

    __slots__ = ()
    op: Op
    n: int

    def count(self, ctx: Context) -> int:
        raise NotImplementedError  # pragma: no cover

    def holds(self, count: int) -> bool:
        return _OPS[self.op](count, self.n)

    def is_true(self, ctx: Context) -> bool:
        return self.holds(self.count(ctx))

    def _compare(self, op: Op, other: object) -> Self:
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"compare {self} with a whole number, not {other!r}")
        if other < 0:
            raise ValueError(f"a count is never negative; got {other!r} in {op} {other!r}")
        return replace(self, op=op, n=other)  # type: ignore[type-var]

    def _chain(self, op: Op, other: object) -> Condition:
        """``cond < 5`` on a count compared already (``(cycles > 1) < 5``): both must hold,
        as Rocketry's comparisons add up; on the bare condition (its default comparison) the
        comparison replaces the default."""
        built = self._compare(op, other)
        if (self.op, self.n) == self._default_comparison() or built == self:
            return built
        return All.of(self, built)

    def _default_comparison(self) -> tuple[str, int]:
        return (">=", 1)

    @classmethod
    def from_magic(cls, **comparisons: int) -> Condition:
        """Rocketry's ``SchedulerCycles.from_magic(__gt__=1, __lt__=5)``: the comparisons named
        by their methods, all holding (``__eq__``, ``__ne__``, ``__lt__``, ``__gt__``,
        ``__le__``, ``__ge__``)."""
        built: list[Condition] = []
        for name, value in comparisons.items():
            op = _MAGIC.get(name)
            if op is None:
                raise ValueError(f"unknown comparison {name!r}: use one of {', '.join(_MAGIC)}")
            built.append(cls()._compare(op, int(value)))
        if not built:
            return cls()
        return All.of(*built)

    def __ge__(self, other: object) -> Condition:
        return self._chain(">=", other)

    def __gt__(self, other: object) -> Condition:
        return self._chain(">", other)

    def __le__(self, other: object) -> Condition:
        return self._chain("<=", other)

    def __lt__(self, other: object) -> Condition:
        return self._chain("<", other)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._chain("==", other)  # type: ignore[return-value]
        if not isinstance(other, Counted):
            return NotImplemented  # another kind of condition may know an equal form
        return type(other) is type(self) and self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._chain("!=", other)  # type: ignore[return-value]
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def _fields(self) -> tuple[object, ...]:
        raise NotImplementedError  # pragma: no cover


class TaskStatus(Counted):
    """Records of ``actions`` of a task in the current (or latest) interval of ``period``."""

    __slots__ = ()
    task: str | None
    period: TimePeriod | None
    actions: ClassVar[tuple[Action, ...]]
    verb: ClassVar[str]

    def __post_init__(self) -> None:
        # TaskStarted(task=do_things): a task or its function, resolved once here
        if self.task is not None:
            object.__setattr__(self, "task", condition_task(self.task))

    def __call__(self, task: object = None) -> TaskStatus:
        """``started(task="fetch")``: the same status of another task."""
        return replace(self, task=optional_task_name(task))  # type: ignore[type-var]

    # -- periods --------------------------------------------------------------------------------

    def _period(self, period: TimePeriod) -> TaskStatus:
        return replace(self, period=period)  # type: ignore[type-var]

    @property
    def this_second(self) -> TaskStatus:
        return self._period(TimeOfSecond())

    @property
    def this_minute(self) -> TaskStatus:
        return self._period(TimeOfMinute())

    @property
    def this_hour(self) -> TaskStatus:
        return self._period(TimeOfHour())

    @property
    def today(self) -> TaskStatus:
        return self._period(TimeOfDay())

    this_day = today

    @property
    def this_week(self) -> TaskStatus:
        return self._period(TimeOfWeek())

    @property
    def this_month(self) -> TaskStatus:
        return self._period(TimeOfMonth())

    def in_past(self, past: timedelta | float | str) -> TaskStatus:
        """Records in the past ``past`` (a sliding window of real time)."""
        return self._period(TimeDelta(past))

    def _unit(self) -> type[TimePeriod]:
        # Without a unit yet, .between() & co. mean a window of the day.
        if self.period is None or type(self.period) not in PERIOD_PHRASES:
            return TimeOfDay
        return type(self.period)

    def between(self, start: str | int, end: str | int) -> TaskStatus:
        return self._period(self._unit().between(start, end))

    def before(self, end: str | int) -> TaskStatus:
        return self._period(self._unit().before(end))

    def after(self, start: str | int) -> TaskStatus:
        return self._period(self._unit().after(start))

    def starting(self, start: str | int) -> TaskStatus:
        return self._period(self._unit().starting(start))

    def at(self, span: str | int) -> TaskStatus:
        return self._period(self._unit().at(span))

    def on(self, span: str | int) -> TaskStatus:
        return self.at(span)

    # -- evaluation ------------------------------------------------------------------------------

    def _span(self, ctx: Context) -> tuple[float | None, float]:
        if self.period is None:
            return None, ctx.ts
        interval = self.period.rollback(ctx.now)
        # half-open like every interval: a record at the window's end is outside it (the
        # largest float below the end, not "end - 1 µs", which floats round either way)
        end = min(ctx.ts, math.nextafter(interval.end.timestamp(), -math.inf))
        if interval.start == MIN_UTC:
            return None, end
        return interval.start.timestamp(), end

    def _times(self, ctx: Context, start: float | None, end: float | None) -> list[float]:
        log = ctx.log_of(self.task)
        if len(self.actions) == 1:
            return log.times_between(self.actions[0], start, end)
        found: list[float] = []
        for action in self.actions:
            found.extend(log.times_between(action, start, end))
        found.sort()
        return found

    def count(self, ctx: Context) -> int:
        start, end = self._span(ctx)
        log = ctx.log_of(self.task)
        return sum(log.count(action, start, end) for action in self.actions)

    def next_change(self, ctx: Context) -> datetime | None:
        period = self.period
        if period is None:
            return None
        now = ctx.now
        if isinstance(period, TimeDelta):
            # Records leave the sliding window one by one, oldest first.
            start, end = self._span(ctx)
            times = self._times(ctx, start, end)
            value = self.holds(len(times))
            for k, ts in enumerate(times):
                if self.holds(len(times) - k - 1) != value:
                    # out once the window's start, now - past, is later than the record
                    return (instant_from(ts, timezone.utc, after=True) + period.past).astimezone(
                        now.tzinfo
                    )
            return None
        if isinstance(period, TimeSpanDelta):
            return self._next_span_change(ctx, period)
        current = period.rollback(now)
        following = (
            period.rollforward(current.end.astimezone(now.tzinfo))
            if now in current
            else period.rollforward(now)
        )
        if following.is_empty:
            return None
        # From the next interval on, the count is 0 until a task event.
        if self.holds(0) == self.is_true(ctx):
            return None
        return following.start

    def _next_span_change(self, ctx: Context, period: TimeSpanDelta) -> datetime | None:
        """The window ``[now - far, now - near]`` slides: a record enters it ``near`` after it
        was made and leaves just after ``far``; the first of these that flips the value.

        The instants are those at which ``_span`` first counts the record in or out, to the
        microsecond, so that the value is judged the same way at the instant planned.
        """
        start, end = self._span(ctx)
        count = self.count(ctx)
        value = self.holds(count)
        events: list[tuple[datetime, int]] = []
        for ts in self._times(ctx, start, ctx.ts):
            past = instant_from(ts, timezone.utc, after=True)
            if ts > end:  # not in yet: in once now - near has passed it
                enter = _later(past, period.near - _ONE_US)
                if enter is not None:
                    events.append((max(enter, instant_from(ts, timezone.utc)), 1))
            if period.far is not None:  # out once now - far has passed it
                leave = _later(past, period.far)
                if leave is not None:
                    events.append((leave, -1))
        events.sort()
        i = 0
        while i < len(events):
            at = events[i][0]
            while i < len(events) and events[i][0] == at:
                count += events[i][1]
                i += 1
            if self.holds(count) != value:
                return at.astimezone(ctx.now.tzinfo)
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        return frozenset() if name is None else frozenset({name})

    def _fields(self) -> tuple[object, ...]:
        return (self.task, self.period, self.op, self.n)

    def __str__(self) -> str:
        words = [f"task {quoted(self.task)} has" if self.task is not None else "has", self.verb]
        counted = count_phrase(self.op, self.n)
        if counted:
            words.append(counted)
        period = self.period
        if isinstance(period, TimeDelta):
            words.append(f"in past {period}")
        elif period is not None and type(period) not in PERIOD_PHRASES:
            words.append(f"in {period!r}")  # no string syntax for it: say what it is
        elif period is not None:
            words.append(PERIOD_PHRASES[type(period)])
            extra = str(period)
            if extra:
                words.append(extra)
        return " ".join(words)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(task={self.task!r}, period={self.period!r}, "
            f"op={self.op!r}, n={self.n!r})"
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskStarted(TaskStatus):
    """``started``: the task logged ``run`` (at least once, or as counted) in the period."""

    task: str | None = None
    period: TimePeriod | None = None
    op: Op = ">="
    n: int = 1
    actions: ClassVar[tuple[Action, ...]] = ("run",)
    verb: ClassVar[str] = "started"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskSucceeded(TaskStatus):
    """``succeeded``: ``success`` records in the period."""

    task: str | None = None
    period: TimePeriod | None = None
    op: Op = ">="
    n: int = 1
    actions: ClassVar[tuple[Action, ...]] = ("success",)
    verb: ClassVar[str] = "succeeded"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskFailed(TaskStatus):
    """``failed``: ``fail`` records in the period."""

    task: str | None = None
    period: TimePeriod | None = None
    op: Op = ">="
    n: int = 1
    actions: ClassVar[tuple[Action, ...]] = ("fail",)
    verb: ClassVar[str] = "failed"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskFinished(TaskStatus):
    """``finished``: success, fail or terminate records in the period (as in Rocketry).

    An ``inaction`` is not a finish here, though ``daily`` and the other run-once periods count
    it as done for the period (Rocketry's ``TaskExecutable`` and ``TaskFinished`` differ so).
    """

    task: str | None = None
    period: TimePeriod | None = None
    op: Op = ">="
    n: int = 1
    actions: ClassVar[tuple[Action, ...]] = ("success", "fail", "terminate")
    verb: ClassVar[str] = "finished"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskTerminated(TaskStatus):
    """``terminated``: ``terminate`` records in the period."""

    task: str | None = None
    period: TimePeriod | None = None
    op: Op = ">="
    n: int = 1
    actions: ClassVar[tuple[Action, ...]] = ("terminate",)
    verb: ClassVar[str] = "terminated"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskInacted(TaskStatus):
    """``inacted``: ``inaction`` records in the period."""

    task: str | None = None
    period: TimePeriod | None = None
    op: Op = ">="
    n: int = 1
    actions: ClassVar[tuple[Action, ...]] = ("inaction",)
    verb: ClassVar[str] = "inacted"


STATUS_VERBS: dict[str, type[TaskStatus]] = {
    cls.verb: cls
    for cls in (TaskStarted, TaskSucceeded, TaskFailed, TaskFinished, TaskTerminated, TaskInacted)
}


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TaskRunning(Counted):
    """``running``: runs of the task that have started and not ended (``TaskLog.running``).

    ``min_age``/``max_age`` (set by ``.more_than()``/``.less_than()``) keep only runs that have been going for at least / less than
    that long, so ``running.more_than("1 hour")`` turns true exactly an hour after a start.
    """

    task: str | None = None
    min_age: timedelta | None = None
    max_age: timedelta | None = None
    op: Op = ">="
    n: int = 1
    #: Rocketry's ``TaskRunning(period=TimeDelta("1 hour"))``: runs started in the past hour,
    #: kept as ``max_age``; ``period=TimeSpanDelta(near, far)``: runs started between ``far``
    #: and ``near`` ago, kept as ``min_age=near`` and ``max_age=far`` (the field is always
    #: ``None`` once built)
    period: TimePeriod | None = None

    def __post_init__(self) -> None:
        if self.task is not None:
            object.__setattr__(self, "task", condition_task(self.task))
        if self.period is not None:
            low, high = _running_ages(self.period)
            if low is not None and (self.min_age is None or low > self.min_age):
                object.__setattr__(self, "min_age", low)
            if high is not None and (self.max_age is None or high < self.max_age):
                object.__setattr__(self, "max_age", high)
            object.__setattr__(self, "period", None)
        if self.min_age is not None and not self.min_age:
            object.__setattr__(self, "min_age", None)  # "for more than 0 s" is no bound

    def __call__(
        self, task: object = None, more_than: object = None, less_than: object = None
    ) -> TaskRunning:
        named = replace(self, task=optional_task_name(task))
        if more_than is None and less_than is None and task is not None:
            return named
        warnings.warn(
            "running(), running(more_than=...) and running(less_than=...) are deprecated (as "
            "in Rocketry): use running, running('task'), running.more_than(...), "
            "running.less_than(...) or running.between(...)",
            DeprecationWarning,
            stacklevel=2,
        )
        return named._durations(more_than, less_than)

    def _durations(self, more_than: object, less_than: object) -> TaskRunning:
        low = None if more_than is None else to_timedelta(more_than)  # type: ignore[arg-type]
        high = None if less_than is None else to_timedelta(less_than)  # type: ignore[arg-type]
        if low is not None and high is not None and high <= low:
            raise ValueError(
                f"running.between({more_than!r}, {less_than!r}): the second must be longer"
            )
        return replace(self, min_age=low, max_age=high)

    def more_than(self, delta: timedelta | float | str) -> TaskRunning:
        return self._durations(delta, None)

    def less_than(self, delta: timedelta | float | str) -> TaskRunning:
        return self._durations(None, delta)

    def between(
        self, more_than: timedelta | float | str, less_than: timedelta | float | str
    ) -> TaskRunning:
        return self._durations(more_than, less_than)

    def _starts(self, ctx: Context) -> list[float]:
        return list(ctx.log_of(self.task).running.values())

    def _count_at(self, starts: list[float], ts: float) -> int:
        low = None if self.min_age is None else self.min_age.total_seconds()
        high = None if self.max_age is None else self.max_age.total_seconds()
        n = 0
        for start in starts:
            # "start + age <= ts", not "ts - start >= age": the comparison next_change makes
            if (low is None or ts >= start + low) and (high is None or ts < start + high):
                n += 1
        return n

    def count(self, ctx: Context) -> int:
        return self._count_at(self._starts(ctx), ctx.ts)

    def next_change(self, ctx: Context) -> datetime | None:
        if self.min_age is None and self.max_age is None:
            return None
        starts = self._starts(ctx)
        now = ctx.ts
        flips = sorted(
            start + delta.total_seconds()
            for start in starts
            for delta in (self.min_age, self.max_age)
            if delta is not None and start + delta.total_seconds() > now
        )
        value = self.holds(self._count_at(starts, now))
        for ts in flips:
            # judged at the instant planned, which may be a fraction of a microsecond later
            at = instant_from(ts, ctx.now.tzinfo)
            if self.holds(self._count_at(starts, at.timestamp())) != value:
                return at
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        return frozenset() if name is None else frozenset({name})

    def _fields(self) -> tuple[object, ...]:
        return (self.task, self.min_age, self.max_age, self.op, self.n)

    def __str__(self) -> str:
        words = [f"task {quoted(self.task)} is running" if self.task else "is running"]
        counted = count_phrase(self.op, self.n)
        if counted:
            words.append(counted)
        if self.min_age is not None and self.max_age is not None:
            words.append(
                f"for more than {format_timedelta(self.min_age)} "
                f"and less than {format_timedelta(self.max_age)}"
            )
        elif self.min_age is not None:
            words.append(f"for more than {format_timedelta(self.min_age)}")
        elif self.max_age is not None:
            words.append(f"for less than {format_timedelta(self.max_age)}")
        return " ".join(words)

    def __repr__(self) -> str:
        return (
            f"TaskRunning(task={self.task!r}, min_age={self.min_age!r}, "
            f"max_age={self.max_age!r}, op={self.op!r}, n={self.n!r})"
        )


#: The ready-made values ``skylaunch.conds`` exports (Rocketry's names).
started = TaskStarted()
succeeded = TaskSucceeded()
failed = TaskFailed()
finished = TaskFinished()
terminated = TaskTerminated()
inacted = TaskInacted()
running = TaskRunning()


def _running_ages(period: TimePeriod) -> tuple[timedelta | None, timedelta | None]:
    """The run ages (at least, less than) that Rocketry's ``TaskRunning(period=...)`` meant."""
    if isinstance(period, TimeDelta) and not period.future and not period.reference:
        return None, period.past
    if isinstance(period, TimeSpanDelta) and period.reference is None:
        return period.near, period.far
    raise TypeError(
        f"TaskRunning(period=...) takes the past X as a TimeDelta or a TimeSpanDelta(near, far), "
        f"got {period!r}; for runs going longer or shorter than a duration use "
        "running.more_than(...) / running.less_than(...)"
    )


def _later(when: datetime, delta: timedelta) -> datetime | None:
    """``when + delta``, or ``None`` past the last representable instant."""
    try:
        return when + delta
    except OverflowError:
        return None
