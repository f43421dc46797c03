"""The cycles: time of second, minute, hour, day, week and month, with their windows.

Hour, minute and second cycles are fixed lengths of real time aligned to the local clock; day,
week and month cycles follow the calendar of the zone asked about (see :mod:`.periods`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from .parse import (
    parse_day_of_month,
    parse_time_of_day,
    parse_time_of_hour,
    parse_time_of_minute,
    parse_time_of_second,
    parse_weekday,
)
from .periods import (
    _D,
    _H,
    _MIN,
    _ONE_US,
    _S,
    AnchoredInterval,
    Bound,
    Interval,
    Kind,
    PositionTypeError,
    _CalendarCycle,
    _FixedCycle,
    _Key,
)

__all__ = [
    "TimeOfDay",
    "TimeOfHour",
    "TimeOfMinute",
    "TimeOfMonth",
    "TimeOfSecond",
    "TimeOfWeek",
    "TimeOfYear",
]


def _frac(us: int) -> str:
    return f".{us:06d}".rstrip("0") if us else ""


def _clock(offset: int, *, seconds: bool = False) -> str:
    """``HH:MM`` (``HH:MM:SS[.ffffff]`` when needed) of an offset into a day."""
    hours, rest = divmod(offset, _H)
    minutes, rest = divmod(rest, _MIN)
    secs, us = divmod(rest, _S)
    if secs or us or seconds:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}{_frac(us)}"
    return f"{hours:02d}:{minutes:02d}"


def _is_digits(value: object) -> bool:
    return isinstance(value, str) and value.strip().isdigit()


def _exact(value: timedelta) -> int:
    return value // _ONE_US


class TimeOfSecond(_FixedCycle, AnchoredInterval):
    """Within each second; bounds are milliseconds (``500``, ``"500.5"``)."""

    __slots__ = ()
    _unit_name = "second"
    _length = _S
    _resolution = 1_000

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 999:
                raise ValueError(f"TimeOfSecond {side} {value!r}: milliseconds must be 0..999")
            return (value + (side == "end")) * cls._resolution
        assert value is not None
        return _exact(parse_time_of_second(value))

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        ms, us = divmod(offset, 1_000)
        return f"{ms}{f'.{us:03d}'.rstrip('0') if us else ''}"


class TimeOfMinute(_FixedCycle, AnchoredInterval):
    """Within each minute; bounds are seconds (``"30"``, ``"30.5"``; an int is a whole second)."""

    __slots__ = ()
    _unit_name = "minute"
    _units = tuple(f"{n:02d}" for n in range(60))
    _length = _MIN
    _resolution = _S

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 59:
                raise ValueError(f"TimeOfMinute {side} {value!r}: seconds must be 0..59")
            return (value + (side == "end")) * cls._resolution
        assert value is not None
        return _exact(parse_time_of_minute(value))

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        secs, us = divmod(offset, _S)
        return f"{secs:02d}{_frac(us)}"


class TimeOfHour(_FixedCycle, AnchoredInterval):
    """Within each hour; ``"15:00"`` is minute 15 (MM:SS), an int (or ``"15"``) a whole minute."""

    __slots__ = ()
    _unit_name = "hour"
    _units = tuple(f"{n:02d}:00" for n in range(60))
    _length = _H
    _resolution = _MIN

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        if _is_digits(value):
            assert isinstance(value, str)
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            offset = _exact(parse_time_of_hour(value))
            return offset + (cls._resolution if side == "end" else 0)
        if not isinstance(value, str):
            raise PositionTypeError(
                f"TimeOfHour {side} must be 'MM:SS' or a minute number, not {value!r}"
            )
        return _exact(parse_time_of_hour(value))

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        minutes, rest = divmod(offset, _MIN)
        secs, us = divmod(rest, _S)
        return f"{minutes:02d}:{secs:02d}{_frac(us)}"


class TimeOfDay(_CalendarCycle, AnchoredInterval):
    """Within each day: ``"10:00"``, ``"10:00:30"``, ``"2pm"``; an int (or ``"10"``) is an hour."""

    __slots__ = ()
    _unit_name = "day"
    _units = tuple(f"{n:02d}:00" for n in range(24))
    _length = _D
    _resolution = _H

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        if _is_digits(value):
            assert isinstance(value, str)
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            offset = _exact(parse_time_of_day(value))
            return offset + (cls._resolution if side == "end" else 0)
        if not isinstance(value, str):
            raise PositionTypeError(
                f"TimeOfDay {side} must be text such as '10:00' or an hour, not {value!r}"
            )
        return _exact(parse_time_of_day(value))

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        return _clock(offset)

    def _cycle(self, dt: datetime) -> _Key:
        return self._wall(dt).replace(hour=0, minute=0, second=0, microsecond=0)

    def _shift(self, key: _Key, n: int) -> _Key:
        return key + timedelta(days=n)


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TimeOfWeek(_CalendarCycle, AnchoredInterval):
    """Within each ISO week (Monday first): ``"Mon"``, ``"Monday 10:00"``, ``1..7`` = Mon..Sun.

    A day without a time as the end bound means the end of that day.
    """

    __slots__ = ()
    _unit_name = "week"
    _units = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    _length = 7 * _D
    _resolution = _D
    _at_word = "on"

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        if value is None or isinstance(value, float):
            raise PositionTypeError(f"TimeOfWeek {side} must be a day name or 1..7, not {value!r}")
        day, time = parse_weekday(value)
        if time is None:
            return (day + (side == "end")) * _D
        return day * _D + _exact(time)

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        day, rest = divmod(offset, _D)
        if rest == 0 and side == "end":
            return _DAY_NAMES[day - 1]
        return _DAY_NAMES[day] + (f" {_clock(rest)}" if rest else "")

    def _cycle(self, dt: datetime) -> _Key:
        wall = self._wall(dt)
        return wall.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=wall.weekday()
        )

    def _shift(self, key: _Key, n: int) -> _Key:
        return key + timedelta(weeks=n)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# TimeOfMonth.at("last"): its start offset, counted back from the month's end
_LAST_DAY = -_D


def _is_last(value: object) -> bool:
    return isinstance(value, str) and " ".join(value.lower().split()) in ("last", "last day")


class TimeOfMonth(_CalendarCycle, AnchoredInterval):
    """Within each month: ``"1st"``, ``"15th 10:00"``, ``"5."``, ``5``.

    A day without a time as the end bound means the end of that day. Days a month does not
    have are simply absent from it: ``TimeOfMonth.on("31st")`` skips 30-day months, and a
    window ending on the 31st ends at the month's end. ``TimeOfMonth.on("last")`` is the
    month's last day, whatever its length (28th to 31st).
    """

    __slots__ = ()
    _unit_name = "month"
    _units = tuple(f"{n}." for n in range(1, 32))
    _length = 31 * _D
    _resolution = _D
    _at_word = "on"

    @classmethod
    def at(cls, start: Bound) -> TimeOfMonth:
        """The one day ``start``; ``"last"`` is the last day of each month."""
        if _is_last(start):
            return cls._raw(_LAST_DAY, 0, "at")
        return super().at(start)

    on = at

    def _set(self, s: int, e: int, kind: Kind) -> None:
        if (s, e, kind) != (_LAST_DAY, 0, "at"):
            super()._set(s, e, kind)
            return
        object.__setattr__(self, "_start", s)
        object.__setattr__(self, "_end", e)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_hash", hash((type(self), s, e, kind)))

    def _owned(self, key: _Key, tz: tzinfo) -> Iterator[Interval]:
        if self._start != _LAST_DAY:
            yield from super()._owned(key, tz)
            return
        length = self._cycle_length(key)
        yield Interval(self._instant(key, length - _D, tz), self._instant(key, length, tz))

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        if value is None or isinstance(value, float):
            raise PositionTypeError(
                f"TimeOfMonth {side} must be a day such as '1st' or 1..31, not {value!r}"
            )
        if _is_last(value):
            raise ValueError(
                "'last' (the last day of the month) is only accepted alone: "
                "TimeOfMonth.on('last'), monthly.on('last'), 'monthly on last'"
            )
        day, time = parse_day_of_month(value)
        if time is None:
            return (day - 1 + (side == "end")) * _D
        return (day - 1) * _D + _exact(time)

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        if offset == _LAST_DAY:
            return "last"
        day, rest = divmod(offset, _D)
        if rest == 0 and side == "end":
            return _ordinal(day)
        return _ordinal(day + 1) + (f" {_clock(rest)}" if rest else "")

    def _cycle(self, dt: datetime) -> _Key:
        return self._wall(dt).replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def _shift(self, key: _Key, n: int) -> _Key:
        months = key.year * 12 + key.month - 1 + n
        return key.replace(year=months // 12, month=months % 12 + 1)

    def _cycle_length(self, key: _Key) -> int:
        return _days_in_month(key.year, key.month) * _D


def _days_in_month(year: int, month: int) -> int:
    """``calendar.monthrange(year, month)[1]``, without importing ``calendar`` (bench W5)."""
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


@functools.cache
def _month_words() -> tuple[list[str], list[str]]:
    """The month names ``calendar`` gives (abbreviated, full; lower case), made on first use:
    ``calendar`` is not imported at ``import skylaunch`` (bench W5)."""
    import calendar

    return (
        [calendar.month_abbr[i].lower() for i in range(1, 13)],
        [calendar.month_name[i].lower() for i in range(1, 13)],
    )


_MONTH = 31 * _D  # a month's nominal share of the year cycle (see TimeOfYear)


def _month_index(value: Bound) -> int:
    """``"Jan"``, ``"january"`` or ``1..12`` -> 0..11."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise PositionTypeError(f"month must be a name such as 'Jan' or 1..12, not {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if not 1 <= number <= 12:
            raise ValueError(f"month {value!r}: a number must be 1 (January) .. 12 (December)")
        return number - 1
    word = value.strip().lower()
    months, months_full = _month_words()
    if word in months:
        return months.index(word)
    if word in months_full:
        return months_full.index(word)
    raise ValueError(f"month {value!r} not understood; expected Jan..Dec or 1..12")


class TimeOfYear(_CalendarCycle, AnchoredInterval):
    """Within each year, by whole months: ``TimeOfYear("Feb", "Mar")`` is 1 February up to
    1 April, ``TimeOfYear.on("Jul")`` is July, ``TimeOfYear("Nov", "Feb")`` wraps the new year.

    Rocketry's ``TimeOfYear``. Positions are months (names or 1..12); an end month is
    included whole. It has no string syntax: use it as a condition's period
    (``IsPeriod(TimeOfYear.on("Dec"))``, ``TaskExecutable(period=TimeOfYear.on("Jan"))``).
    """

    __slots__ = ()
    _unit_name = "year"
    _units = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    _length = 12 * _MONTH
    _resolution = _MONTH
    _at_word = "on"

    @classmethod
    def _offset(cls, value: Bound, side: Literal["start", "end"]) -> int:
        return (_month_index(value) + (side == "end")) * _MONTH

    @classmethod
    def _format(cls, offset: int, side: Literal["start", "end"] = "start") -> str:
        import calendar

        index = offset // _MONTH - (side == "end")
        return calendar.month_abbr[index % 12 + 1]

    def _cycle(self, dt: datetime) -> _Key:
        return self._wall(dt).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)

    def _shift(self, key: _Key, n: int) -> _Key:
        return key.replace(year=key.year + n)

    def _instant(self, key: _Key, offset: int, tz: tzinfo) -> datetime:
        # offsets count nominal 31-day months: month index, then the time into that month
        index, rest = divmod(offset, _MONTH)
        year, month = key.year + index // 12, index % 12 + 1
        if year > 9999:
            return datetime.max.replace(tzinfo=tz)
        return super()._instant(key.replace(year=year, month=month), rest, tz)
