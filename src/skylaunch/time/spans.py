"""Periods that are not cycles: the past X (``TimeDelta``), a fixed span, always/never, cron."""

from __future__ import annotations

from datetime import datetime, timedelta

from .cron import CronExpr
from .parse import (
    format_timedelta,
    to_timedelta,
)
from .periods import (
    _ONE_US,
    MAX_UTC,
    MIN_UTC,
    Interval,
    TimePeriod,
    _utc,
)

__all__ = ["Always", "Cron", "Never", "StaticInterval", "TimeDelta", "always", "never"]


class TimeDelta(TimePeriod):
    """ "The past X" seen from any instant: ``rollback(dt)`` is ``[dt - past, dt]``."""

    __slots__ = ("past",)

    past: timedelta

    def __init__(self, past: timedelta | float | str) -> None:
        object.__setattr__(self, "past", to_timedelta(past))

    def rollback(self, dt: datetime) -> Interval:
        instant = _utc(dt)
        start = instant - self.past if instant - MIN_UTC > self.past else MIN_UTC
        return Interval(start, instant + _ONE_US)

    def rollforward(self, dt: datetime) -> Interval:
        return self.rollback(dt)

    def __contains__(self, dt: datetime) -> bool:
        _utc(dt)
        return True

    def next_boundary(self, dt: datetime) -> datetime | None:
        _utc(dt)
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeDelta) and other.past == self.past

    def __hash__(self) -> int:
        return hash((TimeDelta, self.past))

    def __reduce__(self) -> tuple[object, ...]:
        return (TimeDelta, (self.past,))

    def __str__(self) -> str:
        return format_timedelta(self.past)

    def __repr__(self) -> str:
        return f"TimeDelta({format_timedelta(self.past)!r})"


class StaticInterval(TimePeriod):
    """One fixed span of time, ``[start, end)``."""

    __slots__ = ("end", "start")

    start: datetime
    end: datetime

    def __init__(self, start: datetime | None = None, end: datetime | None = None) -> None:
        interval = Interval(MIN_UTC if start is None else start, MAX_UTC if end is None else end)
        object.__setattr__(self, "start", interval.start)
        object.__setattr__(self, "end", interval.end)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def rollforward(self, dt: datetime) -> Interval:
        if _utc(dt) < self.end:
            return self.interval
        return Interval(MAX_UTC, MAX_UTC)

    def rollback(self, dt: datetime) -> Interval:
        if _utc(dt) >= self.start:
            return self.interval
        return Interval(MIN_UTC, MIN_UTC)

    def __contains__(self, dt: datetime) -> bool:
        return self.start <= _utc(dt) < self.end

    def next_boundary(self, dt: datetime) -> datetime | None:
        instant = _utc(dt)
        if instant < self.start:
            return self.start
        if instant < self.end and self.end < MAX_UTC:
            return self.end
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticInterval) and (other.start, other.end) == (
            self.start,
            self.end,
        )

    def __hash__(self) -> int:
        return hash((StaticInterval, self.start, self.end))

    def __reduce__(self) -> tuple[object, ...]:
        return (StaticInterval, (self.start, self.end))

    def __str__(self) -> str:
        return f"between {self.start.isoformat()} and {self.end.isoformat()}"

    def __repr__(self) -> str:
        return f"StaticInterval({self.start!r}, {self.end!r})"


class Always(TimePeriod):
    """All of time: one interval from the first to the last representable instant."""

    __slots__ = ()

    def rollforward(self, dt: datetime) -> Interval:
        _utc(dt)
        return Interval(MIN_UTC, MAX_UTC)

    def rollback(self, dt: datetime) -> Interval:
        return self.rollforward(dt)

    def __contains__(self, dt: datetime) -> bool:
        _utc(dt)
        return True

    def next_boundary(self, dt: datetime) -> datetime | None:
        _utc(dt)
        return None

    def __eq__(self, other: object) -> bool:
        return type(other) is Always

    def __hash__(self) -> int:
        return hash(Always)

    def __reduce__(self) -> tuple[object, ...]:
        return (Always, ())

    def __str__(self) -> str:
        return "always"

    def __repr__(self) -> str:
        return "always"


class Never(TimePeriod):
    """No time at all: every interval is empty."""

    __slots__ = ()

    def rollforward(self, dt: datetime) -> Interval:
        _utc(dt)
        return Interval(MAX_UTC, MAX_UTC)

    def rollback(self, dt: datetime) -> Interval:
        _utc(dt)
        return Interval(MIN_UTC, MIN_UTC)

    def __contains__(self, dt: datetime) -> bool:
        _utc(dt)
        return False

    def next_boundary(self, dt: datetime) -> datetime | None:
        _utc(dt)
        return None

    def __eq__(self, other: object) -> bool:
        return type(other) is Never

    def __hash__(self) -> int:
        return hash(Never)

    def __reduce__(self) -> tuple[object, ...]:
        return (Never, ())

    def __str__(self) -> str:
        return "never"

    def __repr__(self) -> str:
        return "never"


always = Always()
never = Never()


class Cron(TimePeriod):
    """The minutes a cron expression names; each matching minute is its own interval."""

    __slots__ = ("expr",)

    expr: CronExpr

    def __init__(
        self,
        minute: str | int = "*",
        hour: str | int = "*",
        day_of_month: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "*",
    ) -> None:
        expr = CronExpr.from_fields(minute, hour, day_of_month, month, day_of_week)
        object.__setattr__(self, "expr", expr)

    @classmethod
    def from_expr(cls, expr: str | CronExpr) -> Cron:
        """Build from a whole expression such as ``"*/15 9-17 * * MON-FRI"`` or ``"@daily"``."""
        parsed = expr if isinstance(expr, CronExpr) else CronExpr.parse(expr)
        return cls(*parsed.fields)

    def _current(self, dt: datetime) -> datetime | None:
        prev = self.expr.prev_at_or_before(dt)
        if prev is not None and _utc(dt) < prev + timedelta(minutes=1):
            return prev
        return None

    def rollforward(self, dt: datetime) -> Interval:
        start = self._current(dt)
        if start is None:
            start = self.expr.next_after(dt)
        return Interval(start, start + timedelta(minutes=1))

    def rollback(self, dt: datetime) -> Interval:
        start = self.expr.prev_at_or_before(dt)
        if start is None:
            return Interval(MIN_UTC, MIN_UTC)
        return Interval(start, start + timedelta(minutes=1))

    def __contains__(self, dt: datetime) -> bool:
        return self._current(dt) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cron) and other.expr == self.expr

    def __hash__(self) -> int:
        return hash((Cron, self.expr))

    def __reduce__(self) -> tuple[object, ...]:
        return (Cron, self.expr.fields)

    def __str__(self) -> str:
        return str(self.expr)

    def __repr__(self) -> str:
        return f"Cron.from_expr({str(self.expr)!r})"
