"""Time periods: sets of instants that conditions ask "are we in it, and until when?".

This module holds what every period shares: :class:`Interval`, the :class:`TimePeriod` protocol,
and the machinery of anchored periods (cycles with a window, and their interval cache). The
periods themselves live in :mod:`.cycles` (``TimeOfDay`` & co) and :mod:`.spans` (``TimeDelta``,
``TimeSpanDelta``, ``StaticInterval``, ``Cron``, ``always``/``never``).

A period is a run of half-open :class:`Interval` s. ``rollforward``/``rollback`` give the
interval around an instant, ``next_boundary`` the next instant where membership flips, which
is what lets the scheduler sleep exactly until something can change instead of polling.

Positions such as "10:00" or "Mon" are wall-clock positions in the zone of the datetime
asked about (the session's zone); everything returned is UTC. Day, week and month cycles
follow the calendar (a day is local midnight to local midnight, 23 h or 25 h on DST days);
hour, minute and second cycles are fixed lengths of real time. See :func:`localize` for the
gap / fold rule.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, TypeAlias

from skylaunch._frozen import Frozen

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "MAX_UTC",
    "MIN_UTC",
    "AnchoredInterval",
    "Bound",
    "Closed",
    "Interval",
    "Kind",
    "PositionTypeError",
    "TimePeriod",
    "aware",
    "localize",
    "naive_zone",
]

_UTC = timezone.utc
MIN_UTC = datetime.min.replace(tzinfo=_UTC)
MAX_UTC = datetime.max.replace(tzinfo=_UTC)

_US = 1
_S = 1_000_000
_MIN = 60 * _S
_H = 60 * _MIN
_D = 24 * _H
_ONE_US = timedelta(microseconds=1)
# Any naive local midnight: hour, minute and second cycles are counted from it.
_ANCHOR = datetime.min.replace(tzinfo=_UTC).replace(tzinfo=None)
# Cycles looked at before giving up (a month-day such as the 31st skips at most two months).
_MAX_CYCLES = 64

Bound: TypeAlias = "str | int | float | None"
Kind = Literal["full", "between", "before", "after", "starting", "at"]


class _Zoned(Protocol):
    """Something with a current zone (a clock): read when a naive datetime needs it."""

    @property
    def tz(self) -> tzinfo: ...


# The zone a naive datetime asked about is read in: the session's while it evaluates (its
# scheduler, ``observe``), unset elsewhere (the system's local zone, as Rocketry read them).
_NAIVE_ZONE: ContextVar[tzinfo | _Zoned | None] = ContextVar("skylaunch_naive_zone", default=None)


@contextmanager
def naive_zone(tz: tzinfo | _Zoned | None) -> Iterator[None]:
    """Read naive datetimes as wall times in ``tz`` inside the block (``None``: local time).

    ``tz`` may be a clock: its zone is read each time (it follows ``config.timezone``). The
    session binds its clock this way while its scheduler runs and in ``Condition.observe``;
    use it to ask a period about naive datetimes in a zone of your choosing.
    """
    token = _NAIVE_ZONE.set(tz)
    try:
        yield
    finally:
        _NAIVE_ZONE.reset(token)


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """The UTC instant of a naive wall time in ``tz`` (gap -> end of gap, fold -> first)."""
    aware = wall.replace(tzinfo=tz, fold=0)
    instant = aware.astimezone(_UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    # ``wall`` does not exist: it lies in a gap. fold=1 reads it with the offset after the
    # transition, which lands before the transition; fold=0 lands after it. The first valid
    # instant after the gap is the transition itself: bisect for it between the two.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(_UTC)
    return _transition(low, instant, tz)


def _transition(low: datetime, high: datetime, tz: tzinfo) -> datetime:
    """The first instant in (low, high] whose UTC offset is ``high``'s (1 µs precision)."""
    target = high.astimezone(tz).utcoffset()
    while high - low > timedelta(microseconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == target:
            high = mid
        else:
            low = mid
    return high


def aware(dt: datetime, zone: tzinfo | None = None) -> datetime:
    """``dt`` if it is aware; a naive ``dt`` as a wall time in a zone (aware, in that zone).

    The zone: ``zone`` if given, else the one bound by :func:`naive_zone` (the session's while
    it evaluates), else the system's local zone, as Rocketry read naive datetimes. A wall time
    in a spring-forward gap is the instant the gap ends, one repeated by a fall-back is the
    first of the two (the rule of :func:`~skylaunch.time.localize`).
    """
    if dt.tzinfo is not None and dt.utcoffset() is not None:
        return dt
    wall = dt.replace(tzinfo=None, fold=0)
    bound = zone if zone is not None else _NAIVE_ZONE.get()
    tz = bound if bound is None or isinstance(bound, tzinfo) else bound.tz
    if tz is None:
        return _local(wall)
    return localize(wall, tz).astimezone(tz)


def _local(wall: datetime) -> datetime:
    """A naive wall time in the system's local zone, with :func:`localize`'s gap/fold rule."""
    first = wall.astimezone()  # fold=0: the first of two readings in a fold
    if first.replace(tzinfo=None) == wall:
        return first
    # In a spring-forward gap: the two readings straddle the transition; find its instant.
    lo, hi = sorted((first.astimezone(_UTC), wall.replace(fold=1).astimezone().astimezone(_UTC)))
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone().replace(tzinfo=None) < wall:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0).astimezone()


def _utc(dt: datetime) -> datetime:
    return aware(dt).astimezone(_UTC)


_Method = Callable[..., object]


def _reading_naive(method: _Method) -> _Method:
    """``method(self, dt)`` with a naive ``dt`` made aware first (see :func:`aware`)."""

    @functools.wraps(method)
    def wrapper(self: object, dt: datetime) -> object:
        if dt.tzinfo is None:
            dt = aware(dt)
        return method(self, dt)

    wrapper.__reads_naive__ = True  # type: ignore[attr-defined]
    return wrapper


_ROLLS = {"rollforward": 1, "rollback": -1}


def _forward(period: TimePeriod, dt: datetime) -> Interval:
    """``period.rollforward(dt)`` for an aware ``dt``, skipping the wrapper that records ``dt``
    for Rocketry's reading: what the periods use among themselves (a hot path)."""
    method = type(period).rollforward
    return getattr(method, "__wrapped__", method)(period, dt)


def _back(period: TimePeriod, dt: datetime) -> Interval:
    """``period.rollback(dt)`` for an aware ``dt`` (see :func:`_forward`)."""
    method = type(period).rollback
    return getattr(method, "__wrapped__", method)(period, dt)


def _rolling(method: _Method, side: int) -> _Method:
    """``rollforward``/``rollback`` reading a naive ``dt`` as :func:`aware` does, its answer
    remembering ``dt`` for Rocketry's ``left``/``right``/``closed`` (see :class:`Interval`)."""

    @functools.wraps(method)
    def wrapper(self: object, dt: datetime) -> Interval:
        naive = dt.tzinfo is None
        if naive:
            dt = aware(dt)
        result: Interval = method(self, dt)  # type: ignore[assignment]
        seen = _new_interval(Interval)
        _SET_START(seen, result.start)
        _SET_END(seen, result.end)
        _SET_VIEW(seen, (dt, side, naive))
        _SET_INCL_END(seen, result._incl_end)
        return seen

    wrapper.__reads_naive__ = True  # type: ignore[attr-defined]
    return wrapper


Closed = Literal["left", "right", "both", "neither"]

# Rocketry's extremes for an open end as seen from a naive instant (``TimeSpanDelta.max``).
_NAIVE_MIN = MIN_UTC.replace(tzinfo=None)
_NAIVE_MAX = MAX_UTC.replace(tzinfo=None)


class Interval:
    """A half-open span of time ``[start, end)``, stored in UTC.

    ``start``/``end`` are skylaunch's: the whole interval, aware, in UTC.

    ``left``/``right``/``closed`` are Rocketry's reading of the same interval (its intervals
    were pandas-like). On an interval from ``period.rollforward(dt)`` they are the part from
    ``dt`` on (``left`` is ``dt`` when ``dt`` is inside); from ``period.rollback(dt)``, the part
    up to ``dt`` (``right`` is ``dt`` when ``dt`` is inside, ``closed="both"`` when that is the
    single instant at its start). They are given in ``dt``'s own form: naive wall times for a
    naive ``dt`` (an open end is ``datetime.min``/``datetime.max``), in ``dt``'s zone for an
    aware one. On an interval made directly they are ``start``, ``end`` and ``"left"``.
    Equality and ``dt in interval`` read ``start``/``end`` only.
    """

    __slots__ = ("_incl_end", "_view", "end", "start")

    start: datetime
    end: datetime
    # From a roll: (the instant asked about, aware; the roll's direction, 1 forward or -1 back;
    # whether it was asked with a naive datetime). None when made directly.
    _view: tuple[datetime, int, bool] | None
    # whether ``end`` is one microsecond past an included last instant (TimeDelta's past X)
    _incl_end: bool

    def __init__(self, start: datetime, end: datetime, closed: Closed = "left") -> None:
        if closed != "left":
            raise ValueError(
                f"Interval(closed={closed!r}): skylaunch's intervals are half-open, [start, end) "
                "(closed='left'); to include an instant, end the interval one microsecond after it"
            )
        first, last = _utc(start), _utc(end)
        if last < first:
            raise ValueError(f"interval end {last} is before its start {first}")
        _SET_START(self, first)
        _SET_END(self, last)
        _SET_VIEW(self, None)
        _SET_INCL_END(self, False)

    @classmethod
    def _including_end(cls, start: datetime, end: datetime) -> Interval:
        """``[start, end]``: stored as ``[start, end + 1 µs)``, read by Rocketry as ``right=end``."""
        new = cls(start, end if end >= MAX_UTC else end + _ONE_US)
        _SET_INCL_END(new, end < MAX_UTC)
        return new

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Interval is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Interval is immutable")

    def __contains__(self, dt: datetime) -> bool:
        instant = _utc(dt)
        return self.start <= instant < self.end

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interval):
            return NotImplemented
        return self.start == other.start and self.end == other.end

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"Interval(start={self.start!r}, end={self.end!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (Interval, (self.start, self.end))

    @property
    def is_empty(self) -> bool:
        """True when no instant is in it (``start == end``)."""
        return self.start == self.end

    # -- Rocketry's reading ------------------------------------------------------------------

    def _last(self) -> datetime:
        return self.end - _ONE_US if self._incl_end else self.end

    def _edges(self) -> tuple[datetime, datetime]:
        """(left, right) in UTC: the part on the asked side of the roll's instant."""
        left, right = self.start, self._last()
        if self._view is not None:
            seen, side, _naive = self._view
            instant = _utc(seen)
            if side > 0 and left < instant <= right:
                left = instant
            elif side < 0 and left <= instant < right:
                right = instant
        return left, right

    def _shown(self, edge: datetime) -> datetime:
        """``edge`` in the form of the instant asked about."""
        if self._view is None:
            return edge
        seen, _side, naive = self._view
        if edge <= MIN_UTC or edge >= MAX_UTC:
            if naive:
                return _NAIVE_MIN if edge <= MIN_UTC else _NAIVE_MAX
            return edge
        local = edge.astimezone(seen.tzinfo)
        return local.replace(tzinfo=None) if naive else local

    @property
    def left(self) -> datetime:
        """Rocketry's left end (see the class)."""
        return self._shown(self._edges()[0])

    @property
    def right(self) -> datetime:
        """Rocketry's right end (see the class)."""
        return self._shown(self._edges()[1])

    @property
    def closed(self) -> Closed:
        """Rocketry's closedness: ``"left"``, or ``"both"`` for the single instant a rollback
        gives at an interval's start."""
        left, right = self._edges()
        back = self._view is not None and self._view[1] < 0
        return "both" if back and left == right and not self.is_empty else "left"


_new_interval = object.__new__
# the slots' own setters: an Interval refuses attribute assignment (and rolls are a hot path)
_SET_START = vars(Interval)["start"].__set__
_SET_END = vars(Interval)["end"].__set__
_SET_VIEW = vars(Interval)["_view"].__set__
_SET_INCL_END = vars(Interval)["_incl_end"].__set__


class PositionTypeError(TypeError, ValueError):
    """A period position of the wrong type (``TimeOfDay(2.5)``).

    A ``TypeError``, and a ``ValueError`` too: Rocketry raised ``ValueError`` for a float
    position, so ``except ValueError`` written for it still catches this.
    """


def _no_windows(cls: type, method: str) -> TypeError:
    return TypeError(
        f"{cls.__name__}.{method}(): only periods of a cycle (time of day, of week, of month...) "
        "have windows"
    )


class TimePeriod(ABC):
    """A set of instants; pure arithmetic, no clock, no session. Immutable and hashable.

    Naive datetimes are wall times: one asked about is read in the zone :func:`aware` gives
    (the session's while it evaluates, else the local zone); one a period holds (a
    ``reference``, a ``StaticInterval``'s ends) is kept as given and read in the zone of the
    instant asked about, so the period itself never depends on where it was made.
    """

    __slots__ = ()

    # Rocketry's names for the ends of an open interval as seen from a naive instant (the
    # ``left``/``right`` of an :class:`Interval`; its ``start``/``end`` are MIN_UTC/MAX_UTC).
    min: ClassVar[datetime] = _NAIVE_MIN
    max: ClassVar[datetime] = _NAIVE_MAX

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("rollforward", "rollback", "__contains__", "next_boundary"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__reads_naive__", False):
                side = _ROLLS.get(name)
                setattr(
                    cls, name, _reading_naive(method) if side is None else _rolling(method, side)
                )

    @abstractmethod
    def rollforward(self, dt: datetime) -> Interval:
        """The interval containing ``dt``, else the next one."""

    @abstractmethod
    def rollback(self, dt: datetime) -> Interval:
        """The interval containing ``dt``, else the latest one that ended at or before ``dt``."""

    def __contains__(self, dt: datetime) -> bool:
        return _forward(self, aware(dt)).start <= _utc(dt)

    # -- windows: only periods of a cycle (time of day, of week...) have them ------------------
    # Declared here so that code holding any period (a condition's) type-checks; the
    # periods of a cycle (``AnchoredInterval``) override all five.

    @classmethod
    def between(cls, start: Bound, end: Bound) -> Self:
        """From ``start`` up to (not including) ``end`` of each cycle."""
        raise _no_windows(cls, "between")

    @classmethod
    def before(cls, end: Bound) -> Self:
        """From the start of each cycle up to ``end``."""
        raise _no_windows(cls, "before")

    @classmethod
    def after(cls, start: Bound) -> Self:
        """From ``start`` to the end of each cycle."""
        raise _no_windows(cls, "after")

    @classmethod
    def starting(cls, start: Bound) -> Self:
        """Whole cycles that begin at ``start``."""
        raise _no_windows(cls, "starting")

    @classmethod
    def at(cls, start: Bound) -> Self:
        """The one unit at ``start``."""
        raise _no_windows(cls, "at")

    def next_boundary(self, dt: datetime) -> datetime | None:
        """Earliest instant after ``dt`` where membership flips (``None``: never).

        Intervals that touch (a full day followed by the next) do not flip membership, so
        they are walked over; callers who care about interval changes use ``rollforward``.
        """
        instant = _utc(dt)
        current = _forward(self, aware(dt))
        if current.start > instant:
            return current.start
        end = current.end
        for _ in range(_MAX_CYCLES):
            if end >= MAX_UTC:
                return None
            following = _forward(self, end.astimezone(dt.tzinfo))
            if following.start > end:
                return end
            end = following.end
        return None

    def __and__(self, other: object) -> TimePeriod:
        """The instants in both (Rocketry's ``All`` of periods)."""
        if not isinstance(other, TimePeriod):
            return NotImplemented
        from .combine import All
        from .spans import always

        # always is the identity of &: `always & p` is `p` itself (as Rocketry reduced it)
        if other == always:
            return self
        if self == always:
            return other
        return All(self, other)

    def __or__(self, other: object) -> TimePeriod:
        """The instants in either (Rocketry's ``Any`` of periods)."""
        if not isinstance(other, TimePeriod):
            return NotImplemented
        from .combine import Any
        from .spans import always

        # always absorbs |: `always | p` is always itself (as Rocketry reduced it)
        if self == always or other == always:
            return always
        return Any(self, other)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @abstractmethod
    def __str__(self) -> str:
        """The words of the condition string syntax after the period keyword."""


# -- the interval cache -------------------------------------------------------------------------

# Cycles computed per cache entry after the one holding the instant (plus the one before it).
_SEGMENT_CYCLES = 3
_SEGMENTS_MAX = 16_384


class _Segment(Frozen):
    """The intervals of a few consecutive cycles, with their bounds as POSIX timestamps.

    Valid for instants in ``[lo, hi)``: the start of the cycle it was built for up to the start
    of the first cycle not computed. Built once per (period, zone) per few cycles, so a
    scheduling decision is a dict lookup and a bisect instead of zone conversions.
    """

    __slots__ = ("ends", "hi", "intervals", "lo", "starts")
    _fields = ("lo", "hi", "starts", "ends", "intervals")
    lo: float
    hi: float
    starts: list[float]
    ends: list[float]
    intervals: list[Interval]

    def __init__(
        self,
        lo: float,
        hi: float,
        starts: list[float],
        ends: list[float],
        intervals: list[Interval],
    ) -> None:
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "ends", ends)
        object.__setattr__(self, "intervals", intervals)


# (period, zone) -> the segment last asked about. Bounded: the oldest quarter goes when full.
_SEGMENTS: dict[tuple[object, object], _Segment] = {}


# -- anchored periods (time of X) ---------------------------------------------------------------

# A cycle key: the naive wall-clock start (calendar cycles) or the UTC start (fixed cycles).
_Key: TypeAlias = datetime


class AnchoredInterval(TimePeriod):
    """A window repeated every cycle (second, minute, hour, day, week, month, year): the base
    of the ``TimeOf*`` periods (Rocketry's ``AnchoredInterval``).

    ``_start``/``_end`` are offsets into the cycle in microseconds of wall-clock time;
    ``start == end`` means full cycles starting at ``start``; ``start > end`` wraps.
    """

    __slots__ = ("_end", "_hash", "_kind", "_start")

    _start: int
    _end: int
    _kind: Kind
    _hash: int

    _unit_name: ClassVar[str]  # for messages: "day"
    _length: ClassVar[int]  # nominal cycle length in µs (a month: 31 days)
    _resolution: ClassVar[int]  # what an integer bound or .at() spans
    _at_word: ClassVar[str] = "at"
    # The positions ``at`` takes, one per unit of the cycle in order (``create_range``).
    _units: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def create_range(
        cls, start: str | int | None = None, end: str | int | None = None, step: int | None = None
    ) -> TimePeriod:
        """Every ``step``-th unit of the cycle, as one period (Rocketry's ``create_range``).

        ``TimeOfDay.create_range(step=2)`` is ``Any(TimeOfDay.at("00:00"),
        TimeOfDay.at("02:00"), ...)``, every second hour. ``start`` and ``end`` slice the units
        as Python slices do, by index or by a position ``at`` takes (``"Tue"``, ``"06:00"``).
        """
        from .combine import Any

        units = cls._units
        if not units:
            raise TypeError(f"{cls.__name__} has no units to make a range of")

        def index(value: str | int | None) -> int | None:
            if value is None or isinstance(value, int):
                return value
            wanted = cls.at(value)
            for i, unit in enumerate(units):
                if cls.at(unit) == wanted:
                    return i
            raise ValueError(f"{cls.__name__}.create_range: {value!r} is not a unit's position")

        chosen = units[index(start) : index(end) : step]
        if not chosen:
            raise ValueError(f"{cls.__name__}.create_range({start!r}, {end!r}, {step!r}) is empty")
        return Any(*(cls.at(unit) for unit in chosen))

    def __init__(
        self,
        start: Bound = None,
        end: Bound = None,
        time_point: bool = False,
        starting: bool = False,
        right_closed: bool = False,
    ) -> None:
        if right_closed:
            # Rocketry's spelling of a window that includes its end instant: one microsecond
            # longer (TimeOfDay("08:00", "09:00", right_closed=True) holds 09:00:00 itself)
            if end is None or starting or time_point:
                raise ValueError(
                    f"{type(self).__name__}(start, end, right_closed=True) needs an end, "
                    f"got {start!r}, {end!r}"
                )
            s = 0 if start is None else self._offset(start, "start")
            e = self._offset(end, "end") + 1
            self._set(s, e, "before" if start is None else "between")
            return
        if starting:
            # Rocketry's spelling of .starting(): TimeOfDay("10:00", starting=True)
            if start is None or end is not None or time_point:
                raise ValueError(
                    f"{type(self).__name__}(start, starting=True) takes one position, got "
                    f"{start!r}, {end!r}; write {type(self).__name__}.starting(start)"
                )
            s = self._offset(start, "start")
            self._set(s, s, "starting")
            return
        if time_point:
            # Rocketry's spelling of .at(): TimeOfWeek("Mon", time_point=True) is all Monday
            if start is None or end is not None:
                raise ValueError(
                    f"{type(self).__name__}(start, time_point=True) takes one position and no "
                    f"end, got {start!r}, {end!r}; write {type(self).__name__}.at(start)"
                )
            at = self.at(start)
            self._set(at._start, at._end, "at")
            return
        s = 0 if start is None else self._offset(start, "start")
        e = self._length if end is None else self._offset(end, "end")
        if start is None and end is None:
            self._set(0, 0, "full")
        elif start is None:
            self._set(0, e, "before")
        elif end is None:
            self._set(s, e, "after")
        else:
            self._set(s, e, "between")

    def _set(self, s: int, e: int, kind: Kind) -> None:
        if e == 0 and kind != "at":
            e = self._length  # "before 00:00" and "between 10:00 and 00:00" end at midnight
        if not 0 <= s < self._length:
            raise ValueError(
                f"{type(self).__name__}: start {timedelta(microseconds=s)} is past the end of the "
                f"{self._unit_name}"
            )
        if not 0 < e <= self._length:
            raise ValueError(
                f"{type(self).__name__}: end {timedelta(microseconds=e)} is past the end of the "
                f"{self._unit_name}"
            )
        if kind != "at":
            if e == self._length and s > 0 and kind == "between":
                kind = "after"
            if s == e:
                kind = "starting" if s else "full"
            elif s == 0 and e == self._length:
                kind, e = "full", 0
            elif kind == "between" and s == 0:
                kind = "before"
        object.__setattr__(self, "_start", s)
        object.__setattr__(self, "_end", e)
        object.__setattr__(self, "_kind", kind)
        # The kind is how it prints, not what it holds: equal instants make equal periods
        # (Rocketry's `TimeOfDay.at("10:00") == TimeOfDay("10:00", "11:00")`).
        object.__setattr__(self, "_hash", hash((type(self), s, e)))

    @classmethod
    def _raw(cls, s: int, e: int, kind: Kind) -> Self:
        new = cls.__new__(cls)
        new._set(s, e, kind)
        return new

    # -- constructors the conditions use ------------------------------------------------------

    @classmethod
    def between(cls, start: Bound, end: Bound) -> Self:
        """From ``start`` up to (not including) ``end``; wraps when ``start`` > ``end``."""
        if start is None or end is None:
            raise ValueError(f"{cls.__name__}.between needs both bounds, got {start!r}, {end!r}")
        return cls(start, end)

    @classmethod
    def before(cls, end: Bound) -> Self:
        """From the start of each cycle up to ``end``."""
        return cls(None, end)

    @classmethod
    def after(cls, start: Bound) -> Self:
        """From ``start`` to the end of each cycle."""
        return cls(start, None)

    @classmethod
    def starting(cls, start: Bound) -> Self:
        """Whole cycles that begin at ``start`` (``daily.starting("10:00")``: 10:00 to 10:00)."""
        s = cls._offset(start, "start")
        return cls._raw(s, s, "starting")

    @classmethod
    def at(cls, start: Bound) -> Self:
        """The one unit at ``start``: ``TimeOfDay.at("11:00")`` is 11:00–12:00."""
        s = cls._offset(start, "start")
        e = s + cls._resolution
        if e > cls._length:
            e -= cls._length
        return cls._raw(s, e, "at")

    on = at

    # -- per-unit parsing and printing ----------------------------------------------------------

    @classmethod
    @abstractmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        """Offset in µs of a bound; a coarse bound on the end side covers its whole unit."""

    @classmethod
    @abstractmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        """Text that ``_offset`` reads back to ``offset`` on that side."""

    # -- cycles -------------------------------------------------------------------------------

    def _cycle(self, dt: datetime) -> _Key:
        raise NotImplementedError  # pragma: no cover

    def _shift(self, key: _Key, n: int) -> _Key:
        raise NotImplementedError  # pragma: no cover

    def _cycle_length(self, key: _Key) -> int:
        return self._length

    def _instant(self, key: _Key, offset: int, tz: tzinfo) -> datetime:
        raise NotImplementedError  # pragma: no cover

    def _owned(self, key: _Key, tz: tzinfo) -> Iterator[Interval]:
        """The intervals that start in cycle ``key``, in order."""
        s, e = self._start, self._end
        length = self._cycle_length(key)
        nxt = self._shift(key, 1)
        spans: list[tuple[datetime, datetime]] = []
        if self._kind in ("full", "starting"):
            spans.append(
                (
                    self._instant(key, min(s, length), tz),
                    self._instant(nxt, min(s, self._cycle_length(nxt)), tz),
                )
            )
        elif s < e:
            if s < length:
                spans.append((self._instant(key, s, tz), self._instant(key, min(e, length), tz)))
        else:
            if s >= self._cycle_length(self._shift(key, -1)):
                # The previous cycle had no tail to carry this head.
                spans.append((self._instant(key, 0, tz), self._instant(key, min(e, length), tz)))
            if s < length:
                end = self._instant(nxt, min(e, self._cycle_length(nxt)), tz)
                spans.append((self._instant(key, s, tz), end))
        for a, b in spans:
            if a < b:
                yield Interval(a, b)
            elif a == b and self._kind != "full" and isinstance(self, _CalendarCycle):
                # The whole window lies in a spring-forward gap. Wall times in a gap happen at
                # the first instant after it, so the window does too, for its nominal length:
                # a daily run is moved, never skipped (as cron's gap minutes are).
                yield Interval(a, a + timedelta(microseconds=(e - s) % self._length or _D))

    # -- the hot path: a small cache of the intervals around the instants recently asked about --

    def _segment(self, dt: datetime, ts: float) -> _Segment:
        """The cached intervals around ``dt`` (computed and stored when ``dt`` is outside them).

        ``ts`` is ``dt.timestamp()``, which every caller needs too (computed once).
        """
        tz = dt.tzinfo  # aware: the public methods read a naive one first
        seg = _SEGMENTS.get((self, tz))
        if seg is not None and seg.lo <= ts < seg.hi:
            return seg
        return self._build_segment(dt, tz)  # type: ignore[arg-type]

    def _build_segment(self, dt: datetime, tz: tzinfo) -> _Segment:
        key = self._cycle(dt)
        intervals: list[Interval] = []
        cycle = self._shift(key, -1)
        for _ in range(_SEGMENT_CYCLES + 1):
            intervals.extend(self._owned(cycle, tz))
            cycle = self._shift(cycle, 1)
        lo = self._instant(key, 0, tz).timestamp()
        hi = self._instant(cycle, 0, tz).timestamp()
        seg = _Segment(
            lo,
            hi,
            [i.start.timestamp() for i in intervals],
            [i.end.timestamp() for i in intervals],
            intervals,
        )
        if len(_SEGMENTS) >= _SEGMENTS_MAX:
            for old in list(_SEGMENTS)[: _SEGMENTS_MAX // 4]:
                del _SEGMENTS[old]
        _SEGMENTS[(self, tz)] = seg
        return seg

    def rollforward(self, dt: datetime) -> Interval:
        ts = dt.timestamp()
        seg = self._segment(dt, ts)
        i = bisect_right(seg.ends, ts)
        if i < len(seg.intervals):
            return seg.intervals[i]
        return self._rollforward_slow(dt)

    def rollback(self, dt: datetime) -> Interval:
        ts = dt.timestamp()
        seg = self._segment(dt, ts)
        i = bisect_right(seg.starts, ts)
        if i:
            return seg.intervals[i - 1]
        return self._rollback_slow(dt)

    def __contains__(self, dt: datetime) -> bool:
        ts = dt.timestamp()
        seg = self._segment(dt, ts)
        i = bisect_right(seg.ends, ts)
        if i < len(seg.intervals):
            return seg.starts[i] <= ts
        return self._rollforward_slow(dt).start <= _utc(dt)

    def _rollforward_slow(self, dt: datetime) -> Interval:
        instant = _utc(dt)
        tz = dt.tzinfo
        assert tz is not None
        key = self._shift(self._cycle(dt), -1)
        for _ in range(_MAX_CYCLES):
            for interval in self._owned(key, tz):
                if interval.end > instant:
                    return interval
            key = self._shift(key, 1)
        raise ValueError(f"{self!r} has no interval after {dt.isoformat()}")  # pragma: no cover

    def _rollback_slow(self, dt: datetime) -> Interval:
        instant = _utc(dt)
        tz = dt.tzinfo
        assert tz is not None
        key = self._cycle(dt)
        for _ in range(_MAX_CYCLES):
            for interval in reversed(list(self._owned(key, tz))):
                if interval.start <= instant:
                    return interval
            key = self._shift(key, -1)
        raise ValueError(f"{self!r} has no interval before {dt.isoformat()}")  # pragma: no cover

    def next_boundary(self, dt: datetime) -> datetime | None:
        if self._kind in ("full", "starting"):
            _utc(dt)
            return None
        ts = dt.timestamp()
        seg = self._segment(dt, ts)
        i = bisect_right(seg.ends, ts)
        n = len(seg.intervals)
        if i < n:
            if seg.starts[i] > ts:
                return seg.intervals[i].start
            # inside: walk over intervals that touch (no flip between them)
            while i + 1 < n and seg.starts[i + 1] == seg.ends[i]:
                i += 1
            if i + 1 < n:
                return seg.intervals[i].end
        return super().next_boundary(dt)

    # -- value semantics ------------------------------------------------------------------------

    def is_full(self) -> bool:
        """Whether every instant is in the period, in intervals of one cycle each (Rocketry's):
        ``TimeOfDay()`` and ``TimeOfDay.starting("10:00")`` are, ``TimeOfDay("10:00", "12:00")``
        is not."""
        return self._kind in ("full", "starting")

    @property
    def kind(self) -> Kind:
        """How it was built, which decides how it prints: full, between, before, after..."""
        return self._kind

    @property
    def offsets(self) -> tuple[timedelta, timedelta]:
        """(start, end) as wall-clock offsets into the cycle; equal when they mean the same."""
        return timedelta(microseconds=self._start), timedelta(microseconds=self._end)

    def _key(self) -> tuple[object, ...]:
        return (type(self), self._start, self._end)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnchoredInterval) and self._key() == other._key()

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self)._raw, (self._start, self._end, self._kind))

    def __str__(self) -> str:
        s = self._format(self._start)
        match self._kind:
            case "full":
                return ""
            case "starting":
                return f"starting {s}"
            case "at":
                return f"{self._at_word} {s}"
            case "before":
                return f"before {self._format(self._end, 'end')}"
            case "after":
                return f"after {s}"
            case _:
                return f"between {s} and {self._format(self._end, 'end')}"

    def __repr__(self) -> str:
        name = type(self).__name__
        s = self._format(self._start)
        match self._kind:
            case "full":
                return f"{name}()"
            case "starting" | "at":
                return f"{name}.{self._kind}({s!r})"
            case "before":
                return f"{name}(None, {self._format(self._end, 'end')!r})"
            case "after":
                return f"{name}({s!r}, None)"
            case _:
                return f"{name}({s!r}, {self._format(self._end, 'end')!r})"


class _FixedCycle:
    """Hour, minute and second cycles (a mixin before :class:`AnchoredInterval`): fixed lengths
    of real time, aligned to the local clock."""

    __slots__ = ()
    _length: ClassVar[int]

    def _cycle(self, dt: datetime) -> _Key:
        instant = _utc(dt)
        offset = dt.utcoffset()
        assert offset is not None
        local = instant.replace(tzinfo=None) + offset
        since = (local - _ANCHOR) // _ONE_US
        floor = local - timedelta(microseconds=since % self._length)
        return (floor - offset).replace(tzinfo=_UTC)

    def _shift(self, key: _Key, n: int) -> _Key:
        return key + timedelta(microseconds=n * self._length)

    def _instant(self, key: _Key, offset: int, tz: tzinfo) -> datetime:
        return key + timedelta(microseconds=offset)


class _CalendarCycle:
    """Day, week, month and year cycles (a mixin before :class:`AnchoredInterval`): wall-clock
    positions, localized with the DST rule."""

    __slots__ = ()

    def _instant(self, key: _Key, offset: int, tz: tzinfo) -> datetime:
        return localize(key + timedelta(microseconds=offset), tz)

    @staticmethod
    def _wall(dt: datetime) -> datetime:
        tz = dt.tzinfo
        assert tz is not None
        return _utc(dt).astimezone(tz).replace(tzinfo=None, fold=0)
