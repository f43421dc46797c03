"""Periods combined: ``TimeOfDay("10:00", "12:00") & TimeOfWeek.on("Mon")`` (Rocketry's All/Any).

``a & b`` is :class:`All` (the instants in every part), ``a | b`` is :class:`Any` (the instants
in some part). Both are periods like the others, so a condition takes them as its period:
``TaskExecutable(period=TimeOfDay("10:00", "12:00") & TimeOfWeek.on("Mon"))`` runs once in each
Monday's 10:00-12:00 window, looking back to the window's start. They have no string syntax
(write the conditions combined instead: ``daily.between("10:00", "12:00") & time_of_week.on("Mon")``
is the same schedule with a lookback to midnight).
"""

from __future__ import annotations

from datetime import datetime

from .periods import _ONE_US, MAX_UTC, MIN_UTC, Interval, TimePeriod, _back, _forward, _utc
from .spans import always

__all__ = ["All", "Any"]

# Rounds of narrowing before a combination is declared empty around an instant (two periods
# that never overlap, such as Mondays & Tuesdays).
_ROUNDS = 200


def _at(instant: datetime, like: datetime) -> datetime:
    """``instant`` in the zone of ``like``: calendar periods read positions in that zone."""
    return instant.astimezone(like.tzinfo)


class _Combined(TimePeriod):
    __slots__ = ("periods",)

    periods: tuple[TimePeriod, ...]
    symbol = ""

    def __init__(self, *periods: TimePeriod) -> None:
        flat: list[TimePeriod] = []
        for period in periods:
            if not isinstance(period, TimePeriod):
                raise TypeError(f"{type(self).__name__}() takes periods, got {period!r}")
            for part in period.periods if type(period) is type(self) else (period,):
                if part not in flat:
                    flat.append(part)
        if not flat:
            raise ValueError(f"{type(self).__name__}() needs at least one period")
        object.__setattr__(self, "periods", self._reduce(tuple(flat)))

    @staticmethod
    def _reduce(parts: tuple[TimePeriod, ...]) -> tuple[TimePeriod, ...]:
        """The parts with ``always`` simplified away (what it means for each combination)."""
        return parts

    def next_boundary(self, dt: datetime) -> datetime | None:
        if self.rollforward(dt).start >= MAX_UTC:
            return None
        return super().next_boundary(dt)

    def __eq__(self, other: object) -> bool:
        # the order of the parts does not change the instants (as Rocketry compares them)
        return (
            isinstance(other, _Combined)
            and type(other) is type(self)
            and (frozenset(other.periods) == frozenset(self.periods))
        )

    def __hash__(self) -> int:
        return hash((type(self), frozenset(self.periods)))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self.periods)

    def __str__(self) -> str:
        return f" {self.symbol} ".join(f"({p!r})" for p in self.periods)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(p) for p in self.periods)})"


class All(_Combined):
    """The instants in every part (``a & b``)."""

    __slots__ = ()
    symbol = "&"

    @staticmethod
    def _reduce(parts: tuple[TimePeriod, ...]) -> tuple[TimePeriod, ...]:
        # always holds every instant: a part of an All that changes nothing (kept when alone)
        return tuple(p for p in parts if p != always) or parts[:1]

    def rollforward(self, dt: datetime) -> Interval:
        at = _utc(dt)
        for _ in range(_ROUNDS):
            start = max(_forward(p, _at(at, dt)).start for p in self.periods)
            start = max(start, at)
            parts = [_forward(p, _at(start, dt)) for p in self.periods]
            later = max(i.start for i in parts)
            if later > start:
                at = later
                continue
            return Interval(self._start_of(start, dt), min(i.end for i in parts))
        return Interval(MAX_UTC, MAX_UTC)  # the parts never overlap (from here on)

    def _start_of(self, instant: datetime, like: datetime) -> datetime:
        """The start of the overlap holding ``instant`` (its parts' latest start)."""
        return max(_back(p, _at(instant, like)).start for p in self.periods)

    def rollback(self, dt: datetime) -> Interval:
        at = _utc(dt)
        for _ in range(_ROUNDS):
            parts = [_back(p, _at(at, dt)) for p in self.periods]
            if all(at in i for i in parts):
                return Interval(max(i.start for i in parts), min(i.end for i in parts))
            # the latest instant at or before `at` each part can hold; the earliest of them
            candidate = min(at if at in i else i.end - _ONE_US for i in parts)
            if candidate <= MIN_UTC or min(i.end for i in parts) <= MIN_UTC:
                break
            at = candidate
        return Interval(MIN_UTC, MIN_UTC)


class Any(_Combined):
    """The instants in some part (``a | b``)."""

    __slots__ = ()
    symbol = "|"

    @staticmethod
    def _reduce(parts: tuple[TimePeriod, ...]) -> tuple[TimePeriod, ...]:
        # always holds every instant: an Any with it is always, whatever its other parts
        return (always,) if always in parts else parts

    def _grow(self, span: Interval, like: datetime) -> Interval:
        """``span`` widened over the parts' intervals that overlap or touch it."""
        start, end = span.start, span.end
        for _ in range(_ROUNDS):
            changed = False
            for p in self.periods:
                if end < MAX_UTC:
                    after = _forward(p, _at(end, like))
                    if after.start <= end < after.end:
                        end, changed = after.end, True
                if start > MIN_UTC:
                    before = _back(p, _at(start - _ONE_US, like))
                    if before.start < start <= before.end and not before.is_empty:
                        start, changed = before.start, True
            if not changed:
                break
        return Interval(start, end)

    def rollforward(self, dt: datetime) -> Interval:
        first = min((_forward(p, dt) for p in self.periods), key=lambda i: i.start)
        return self._grow(first, dt)

    def rollback(self, dt: datetime) -> Interval:
        at = _utc(dt)
        parts = [_back(p, dt) for p in self.periods]
        holding = [i for i in parts if at in i]
        best = holding[0] if holding else max(parts, key=lambda i: i.end)
        return self._grow(best, dt)
