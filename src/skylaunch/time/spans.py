"""Periods that are not cycles: the past X (``TimeDelta``), a span of offsets from an instant
(``TimeSpanDelta``), a fixed span, always/never, cron."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

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
    aware,
)

if TYPE_CHECKING:
    from .cron import CronExpr

__all__ = [
    "Always",
    "Cron",
    "Never",
    "StaticInterval",
    "TimeDelta",
    "TimeSpanDelta",
    "always",
    "never",
]


class TimeDelta(TimePeriod):
    """ "The past X" seen from any instant: ``rollback(dt)`` is ``[dt - past, dt]``.

    Rocketry's full form is accepted too: ``TimeDelta(past, future, reference=None)``
    (positional or by name). ``future`` is how far ``rollforward(dt)`` looks ahead
    (``[dt, dt + future]``; without it ``rollforward`` is ``rollback``, the past X). With a
    ``reference`` (an aware datetime) membership is measured from it:
    ``dt in TimeDelta("1 hour", "30 minutes", reference=ref)`` is ``ref - 1h <= dt <= ref + 30min``;
    without one every instant is in the past X seen from itself.
    """

    __slots__ = ("future", "past", "reference")

    past: timedelta
    future: timedelta
    reference: datetime | None

    def __init__(
        self,
        past: timedelta | float | str | None = None,
        future: timedelta | float | str | None = None,
        reference: datetime | None = None,
    ) -> None:
        if reference is not None and not isinstance(reference, datetime):
            raise TypeError(f"TimeDelta reference must be a datetime, got {reference!r}")
        object.__setattr__(self, "past", to_timedelta(0 if past is None else past))
        object.__setattr__(self, "future", to_timedelta(0 if future is None else future))
        object.__setattr__(self, "reference", reference)

    def use_reference(self, reference: datetime) -> TimeDelta:
        """The same span measured from ``reference`` (Rocketry's method)."""
        return TimeDelta(self.past, self.future, reference)

    def rollback(self, dt: datetime) -> Interval:
        instant = _utc(dt)
        start = instant - self.past if instant - MIN_UTC > self.past else MIN_UTC
        return Interval._including_end(start, instant)

    def rollforward(self, dt: datetime) -> Interval:
        if not self.future:
            return self.rollback(dt)
        instant = _utc(dt)
        return Interval._including_end(instant, _shift(instant, self.future))

    def _span(self, dt: datetime) -> Interval:
        """The span around the reference; a naive one is a wall time in ``dt``'s zone."""
        assert self.reference is not None
        ref = _utc(aware(self.reference, dt.tzinfo))
        return Interval._including_end(_shift(ref, -self.past), _shift(ref, self.future))

    def __contains__(self, dt: datetime) -> bool:
        _utc(dt)
        return self.reference is None or dt in self._span(dt)

    def next_boundary(self, dt: datetime) -> datetime | None:
        instant = _utc(dt)
        if self.reference is None:
            return None
        span = self._span(dt)
        edges = [e for e in (span.start, span.end) if MIN_UTC < e < MAX_UTC and e > instant]
        return min(edges, default=None)

    def _key(self) -> tuple[timedelta, timedelta, datetime | None]:
        return (self.past, self.future, self.reference)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeDelta) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash((TimeDelta, *self._key()))

    def __reduce__(self) -> tuple[object, ...]:
        return (TimeDelta, self._key())

    def __str__(self) -> str:
        text = format_timedelta(self.past)
        if self.future:
            text += f" to {format_timedelta(self.future)} ahead"
        if self.reference is not None:
            text += f" from {self.reference.isoformat()}"
        return text

    def __repr__(self) -> str:
        args = [repr(format_timedelta(self.past))]
        if self.future:
            args.append(f"future={format_timedelta(self.future)!r}")
        if self.reference is not None:
            args.append(f"reference={self.reference!r}")
        return f"TimeDelta({', '.join(args)})"


def _shift(dt: datetime, delta: timedelta) -> datetime:
    """``dt + delta`` clamped to the representable instants."""
    try:
        return dt + delta
    except OverflowError:
        return MAX_UTC if delta > timedelta(0) else MIN_UTC


class TimeSpanDelta(TimePeriod):
    """The instants between ``near`` and ``far`` away from an instant (Rocketry's TimeSpanDelta).

    Seen from ``dt``: ``rollback(dt)`` is ``[dt - far, dt - near]`` ("started between 1 and 2
    hours ago") and ``rollforward(dt)`` is ``[dt + near, dt + far]``, both ends included (as
    ``TimeDelta``'s window includes its ``dt``). ``far=None`` is unbounded: ``TimeSpanDelta("1
    hour")`` is "at least an hour away". A negative duration is refused (Rocketry took absolute
    values) and so is ``far < near``.

    Membership needs an instant to measure from. With ``reference=`` (an aware datetime, or
    ``use_reference(dt)``) ``dt in span`` says whether ``dt`` is between ``near`` and ``far``
    before *or* after the reference, as in Rocketry, and ``next_boundary`` gives where that
    flips. Without one the span floats like ``TimeDelta``: ``dt`` is in it as seen from itself,
    which holds for every instant when ``near`` is zero and for none otherwise.
    """

    __slots__ = ("far", "near", "reference")

    near: timedelta
    far: timedelta | None
    reference: datetime | None

    def __init__(
        self,
        near: timedelta | float | str | None = None,
        far: timedelta | float | str | None = None,
        reference: datetime | None = None,
    ) -> None:
        near_td = to_timedelta(0 if near is None else near)
        far_td = None if far is None else to_timedelta(far)
        if far_td is not None and far_td < near_td:
            raise ValueError(
                f"TimeSpanDelta: far ({format_timedelta(far_td)}) is nearer than near "
                f"({format_timedelta(near_td)}); give near <= far, or far=None for no bound"
            )
        if reference is not None and not isinstance(reference, datetime):
            raise TypeError(f"TimeSpanDelta reference must be a datetime, got {reference!r}")
        object.__setattr__(self, "near", near_td)
        object.__setattr__(self, "far", far_td)
        object.__setattr__(self, "reference", reference)

    def use_reference(self, reference: datetime) -> TimeSpanDelta:
        """The same span measured from ``reference`` (Rocketry's method)."""
        return TimeSpanDelta(self.near, self.far, reference)

    def rollback(self, dt: datetime) -> Interval:
        instant = _utc(dt)
        start = MIN_UTC if self.far is None else _shift(instant, -self.far)
        return Interval._including_end(start, _shift(instant, -self.near))

    def rollforward(self, dt: datetime) -> Interval:
        instant = _utc(dt)
        end = MAX_UTC if self.far is None else _shift(instant, self.far)
        return Interval._including_end(_shift(instant, self.near), end)

    def _spans(self, dt: datetime) -> list[Interval]:
        """Around the reference: the instants in the span, as merged half-open intervals (a
        naive reference is a wall time in ``dt``'s zone)."""
        assert self.reference is not None
        ref = _utc(aware(self.reference, dt.tzinfo))
        before = self.rollback(ref)
        # After the reference: (ref, ...), so it starts one microsecond later when near is zero.
        ahead = self.rollforward(ref)
        start = max(ahead.start, _shift(ref, _ONE_US))
        after = Interval(start, max(ahead.end, start))
        if after.start <= before.end:
            return [Interval(before.start, max(before.end, after.end))]
        return [before, after]

    def __contains__(self, dt: datetime) -> bool:
        if self.reference is None:
            _utc(dt)
            return not self.near
        return any(dt in span for span in self._spans(dt))

    def next_boundary(self, dt: datetime) -> datetime | None:
        instant = _utc(dt)
        if self.reference is None:
            return None
        edges = [
            edge
            for span in self._spans(dt)
            for edge in (span.start, span.end)
            if MIN_UTC < edge < MAX_UTC and edge > instant
        ]
        return min(edges, default=None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeSpanDelta) and (other.near, other.far, other.reference) == (
            self.near,
            self.far,
            self.reference,
        )

    def __hash__(self) -> int:
        return hash((TimeSpanDelta, self.near, self.far, self.reference))

    def __reduce__(self) -> tuple[object, ...]:
        return (TimeSpanDelta, (self.near, self.far, self.reference))

    def __str__(self) -> str:
        near = format_timedelta(self.near)
        span = f"{near} or more" if self.far is None else f"{near} to {format_timedelta(self.far)}"
        if self.reference is None:
            return span
        return f"{span} from {self.reference.isoformat()}"

    def __repr__(self) -> str:
        args = [f"near={format_timedelta(self.near)!r}"]
        if self.far is not None:
            args.append(f"far={format_timedelta(self.far)!r}")
        if self.reference is not None:
            args.append(f"reference={self.reference!r}")
        return f"TimeSpanDelta({', '.join(args)})"


def _as_datetime(value: datetime | str, side: str) -> datetime:
    """A datetime, or ISO text (``"2024-01-01"``, ``"2024-01-01 09:00"``) read as one."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"StaticInterval {side} {value!r} is not an ISO date or datetime "
                "('2024-01-01', '2024-01-01 09:00')"
            ) from None
    raise TypeError(f"StaticInterval {side} must be a datetime or ISO text, not {value!r}")


class StaticInterval(TimePeriod):
    """One fixed span of time, ``[start, end)``; ``start``/``end`` are datetimes or ISO text.

    Aware ends are stored in UTC. A naive end is kept as given, a wall time read in the zone of
    the instant asked about (the session's zone when its scheduler asks), so the period means
    the same wall times in whatever zone it is used.
    """

    __slots__ = ("end", "start")

    start: datetime
    end: datetime

    def __init__(
        self, start: datetime | str | None = None, end: datetime | str | None = None
    ) -> None:
        bounds = (
            MIN_UTC if start is None else _as_datetime(start, "start"),
            MAX_UTC if end is None else _as_datetime(end, "end"),
        )
        Interval(*bounds)  # checks the order (naive ends read as local time for it)
        first, last = (b if b.tzinfo is None else _utc(b) for b in bounds)
        object.__setattr__(self, "start", first)
        object.__setattr__(self, "end", last)

    @property
    def interval(self) -> Interval:
        """The span, naive ends read as :func:`~skylaunch.time.periods.aware` reads them."""
        return Interval(self.start, self.end)

    def _at(self, dt: datetime) -> Interval:
        """The span as seen from ``dt``: naive ends are wall times in its zone."""
        zone = dt.tzinfo
        return Interval(aware(self.start, zone), aware(self.end, zone))

    def rollforward(self, dt: datetime) -> Interval:
        span = self._at(dt)
        if _utc(dt) < span.end:
            return span
        return Interval(MAX_UTC, MAX_UTC)

    def rollback(self, dt: datetime) -> Interval:
        span = self._at(dt)
        if _utc(dt) >= span.start:
            return span
        return Interval(MIN_UTC, MIN_UTC)

    def __contains__(self, dt: datetime) -> bool:
        return dt in self._at(dt)

    def next_boundary(self, dt: datetime) -> datetime | None:
        instant = _utc(dt)
        span = self._at(dt)
        if instant < span.start:
            return span.start
        if instant < span.end and span.end < MAX_UTC:
            return span.end
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
        return f"between {self.start} and {self.end}"

    def __repr__(self) -> str:
        return f"StaticInterval(start={self.start!r}, end={self.end!r})"


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
    """The minutes (or seconds) a cron expression names; each one is its own interval."""

    __slots__ = ("expr",)

    expr: CronExpr

    def __init__(
        self,
        minute: str | int = "*",
        hour: str | int = "*",
        day_of_month: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "*",
        second: str | int | None = None,
    ) -> None:
        from .cron import CronExpr  # loaded by the first cron period (W5: not at import)

        expr = CronExpr.from_fields(minute, hour, day_of_month, month, day_of_week, second)
        object.__setattr__(self, "expr", expr)

    @classmethod
    def from_expr(cls, expr: str | CronExpr) -> Cron:
        """Build from a whole expression such as ``"*/15 9-17 * * MON-FRI"`` or ``"@daily"``."""
        from .cron import CronExpr

        parsed = expr if isinstance(expr, CronExpr) else CronExpr.parse(expr)
        return cls(*parsed.fields, second=parsed.second)

    def _current(self, dt: datetime) -> datetime | None:
        prev = self.expr.prev_at_or_before(dt)
        if prev is not None and _utc(dt) < prev + self.expr.unit:
            return prev
        return None

    def rollforward(self, dt: datetime) -> Interval:
        start = self._current(dt)
        if start is None:
            start = self.expr.next_after_or_none(dt)
            if start is None:  # no match left before year 10000 (February 29th near 9999)
                return Interval(MAX_UTC, MAX_UTC)
        return Interval(start, start + self.expr.unit)

    def rollback(self, dt: datetime) -> Interval:
        start = self.expr.prev_at_or_before(dt)
        if start is None:
            return Interval(MIN_UTC, MIN_UTC)
        return Interval(start, start + self.expr.unit)

    def __contains__(self, dt: datetime) -> bool:
        return self._current(dt) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cron) and other.expr == self.expr

    def __hash__(self) -> int:
        return hash((Cron, self.expr))

    def __reduce__(self) -> tuple[object, ...]:
        return (Cron.from_expr, (str(self.expr),))

    def __str__(self) -> str:
        return str(self.expr)

    def __repr__(self) -> str:
        return f"Cron.from_expr({str(self.expr)!r})"
