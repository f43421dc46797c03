"""Reading durations and clock positions written by people.

Every public knob that takes a duration accepts ``"10 minutes"``, seconds or a ``timedelta``
and is converted here once, so the rest of skylaunch only ever sees ``timedelta``. The period
classes use the clock-position readers (``"10:00"``, ``"Mon 10:00"``, ``"3rd"``) so that the
Python API and the condition string syntax accept exactly the same words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = [
    "format_timedelta",
    "from_iso",
    "parse_day_of_month",
    "parse_time_of_day",
    "parse_time_of_hour",
    "parse_time_of_minute",
    "parse_time_of_second",
    "parse_weekday",
    "to_timedelta",
]


def from_iso(text: str) -> datetime:
    """``datetime.fromisoformat`` that also reads a ``Z`` suffix on every supported Python
    (3.10's does not; JSON documents, pydantic's included, write UTC that way)."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # 3.10's reads a fraction of a second of 3 or 6 digits only; RFC 3339 allows any
        import re

        padded = re.sub(
            r"(\d\d:\d\d:\d\d)[.,](\d{1,6})\d*", lambda m: f"{m[1]}.{m[2]:0<6}", text, count=1
        )
        if padded == text:
            raise
        return datetime.fromisoformat(padded)


_US = 1
_MS = 1_000
_S = 1_000_000
_MIN = 60 * _S
_H = 60 * _MIN
_D = 24 * _H
_W = 7 * _D

# Unit words -> microseconds. Longest spellings win because the lexer takes whole words.
_UNITS: dict[str, int] = {}
for _names, _size in (
    (("us", "µs", "microsecond", "microseconds"), _US),
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), _MS),
    (("s", "sec", "secs", "second", "seconds"), _S),
    (("m", "min", "mins", "minute", "minutes"), _MIN),
    (("h", "hr", "hrs", "hour", "hours"), _H),
    (("d", "day", "days"), _D),
    (("w", "week", "weeks"), _W),
):
    for _name in _names:
        _UNITS[_name] = _size

# Canonical output order for format_timedelta: (microseconds, singular, plural).
_FORMAT_UNITS = (
    (_W, "week", "weeks"),
    (_D, "day", "days"),
    (_H, "hour", "hours"),
    (_MIN, "minute", "minutes"),
    (_S, "second", "seconds"),
    (_MS, "millisecond", "milliseconds"),
    (_US, "microsecond", "microseconds"),
)

# Patterns, compiled by ``re`` (and kept in its cache) when first used, not at import (bench W5):
# a program that gives no duration or clock time as text compiles none of them.
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_TERM = rf"(?i)\s*({_NUMBER})\s*([a-zµ]+)\s*(,|\band\b)?"
_PLAIN = rf"\s*({_NUMBER})\s*"
_CLOCK = r"\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*"
_AMPM = r"(?i)\s*(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?\s*"


def to_timedelta(value: timedelta | float | str) -> timedelta:
    """Convert a user-given duration once, at the boundary.

    Numbers (and plain number strings) are seconds. Text is a sum of ``<number> <unit>``
    terms ("1h 30m", "2 hours, 10 min", "1 day and 2 hours") or a clock-like ``HH:MM:SS``.
    """
    if isinstance(value, bool):
        raise TypeError(f"duration must be a timedelta, number or text, not {value!r}")
    if isinstance(value, timedelta):
        td = value
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"duration {value!r} is not a finite number of seconds")
        td = _bounded(value, lambda: timedelta(seconds=value))
    elif isinstance(value, str):
        td = _bounded(value, lambda: timedelta(microseconds=_parse_duration_us(value)))
    else:
        raise TypeError(f"duration must be a timedelta, number or text, not {value!r}")
    if td < timedelta(0):
        raise ValueError(f"duration {value!r} is negative; durations must be >= 0")
    return td


def _bounded(value: float | str, make: Callable[[], timedelta]) -> timedelta:
    """``make()``, with a duration too long for ``timedelta`` reported as a ValueError."""
    try:
        return make()
    except OverflowError:
        shown = value if len(str(value)) <= 40 else f"{str(value)[:37]}..."
        raise ValueError(
            f"duration {shown!r} is too long; the longest is {timedelta.max.days:,} days"
        ) from None


def _parse_duration_us(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"duration {text!r} is empty; expected e.g. '10 minutes' or '1h 30m'")
    if stripped.startswith("-"):
        raise ValueError(f"duration {text!r} is negative; durations must be >= 0")
    plain = re.fullmatch(_PLAIN, stripped)
    if plain:
        return _to_us(plain.group(1), _S, text)
    clock = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d{1,6})?)", stripped)
    if clock:
        hours, minutes, seconds = clock.groups()
        if int(minutes) > 59 or float(seconds) >= 60:  # \d{2}(.\d{1,6}): exact below 60
            raise ValueError(f"duration {text!r}: minutes and seconds must be below 60")
        return int(hours) * _H + int(minutes) * _MIN + _to_us(seconds, _S, text)
    total = 0
    pos = 0
    while pos < len(stripped):
        match = re.compile(_TERM).match(stripped, pos)
        if match is None:
            raise ValueError(
                f"duration {text!r}: cannot read {stripped[pos:]!r}; expected terms like "
                "'10 minutes', '1h 30m' or '00:30:00'"
            )
        number, unit, _ = match.groups()
        size = _UNITS.get(unit.lower())
        if size is None:
            known = "ms, s, m, h, d, w (or their full names)"
            raise ValueError(f"duration {text!r}: unknown unit {unit!r}; expected one of {known}")
        total += _to_us(number, size, text)
        pos = match.end()
        if pos == len(stripped) and match.group(3):
            # "1 hour and": a term is missing (and "every 1 second and" would read as a whole)
            raise ValueError(
                f"duration {text!r} ends with {match.group(3)!r}; a term is missing after it"
            )
    return total


def _to_us(number: str, size: int, text: str) -> int:
    if len(number) <= 15 and number.isdigit():  # "1 day", "10 minutes": exact as Decimal was
        return int(number) * size
    # decimal (~1 ms to import) only for fractions ("1.5 hours") and huge numbers, whose
    # product Decimal rounds to its 28 digits as before
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(number) * size
    except InvalidOperation:  # pragma: no cover - the regexes only let digits through
        raise ValueError(f"duration {text!r}: {number!r} is not a number") from None
    return int(amount.to_integral_value())


def format_timedelta(td: timedelta) -> str:
    """The canonical text of a duration; :func:`to_timedelta` reads it back exactly."""
    if td < timedelta(0):
        raise ValueError(f"duration {td!r} is negative; durations must be >= 0")
    remaining = (td.days * 86_400 + td.seconds) * _S + td.microseconds
    if remaining == 0:
        return "0 seconds"
    parts = []
    for size, singular, plural in _FORMAT_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {singular if count == 1 else plural}")
    return " ".join(parts)


# -- clock positions -------------------------------------------------------------------------


_TIME_OF_DAY_CACHE: dict[str, timedelta] = {}
_TIME_OF_DAY_CACHE_MAX = 4096


def parse_time_of_day(value: str | int) -> timedelta:
    """Offset into a day: ``"10:00"``, ``"10:00:30.5"``, ``"2pm"``, ``"10"`` or ``10`` (hours).

    ``"24:00"`` is accepted (the end of the day) so that an end bound can be written down.
    Text already read is remembered (bounded): apps define thousands of ``daily.at("03:00")``.
    """
    if type(value) is str:
        hit = _TIME_OF_DAY_CACHE.get(value)
        if hit is None:
            hit = _parse_time_of_day(value)
            if len(_TIME_OF_DAY_CACHE) >= _TIME_OF_DAY_CACHE_MAX:
                _TIME_OF_DAY_CACHE.clear()
            _TIME_OF_DAY_CACHE[value] = hit
        return hit
    return _parse_time_of_day(value)


def _parse_time_of_day(value: str | int) -> timedelta:
    if isinstance(value, bool):
        raise TypeError(f"time of day must be text or an hour number, not {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 23:
            raise ValueError(f"time of day {value!r}: an hour number must be 0..23")
        return timedelta(hours=value)
    if not isinstance(value, str):
        raise TypeError(f"time of day must be text or an hour number, not {value!r}")
    clock = re.fullmatch(_CLOCK, value)
    if clock:
        hours, minutes, seconds, fraction = clock.groups()
        offset = timedelta(
            hours=int(hours),
            minutes=int(minutes),
            seconds=int(seconds or 0),
            microseconds=int((fraction or "0").ljust(6, "0")),
        )
        if int(minutes) > 59 or int(seconds or 0) > 59 or offset > timedelta(hours=24):
            raise ValueError(f"time of day {value!r} is out of range 00:00..24:00")
        return offset
    ampm = re.fullmatch(_AMPM, value)
    if ampm:
        hour, minute, half = int(ampm.group(1)), int(ampm.group(2) or 0), ampm.group(3).lower()
        if not 1 <= hour <= 12 or minute > 59:
            raise ValueError(f"time of day {value!r}: expected 1..12 with am/pm, e.g. '2pm'")
        hour = hour % 12 + (12 if half == "p" else 0)
        return timedelta(hours=hour, minutes=minute)
    stripped = value.strip()
    if stripped.isdigit():
        return parse_time_of_day(int(stripped))
    raise ValueError(
        f"time of day {value!r} not understood; expected 'HH:MM', 'HH:MM:SS', '2pm' or an hour"
    )


def parse_time_of_hour(value: str | int) -> timedelta:
    """Offset into an hour: ``"15:00"`` (minutes:seconds), ``15`` (minutes) or Rocketry's
    quarters, ``"1 quarter"`` / ``"1q"`` (15:00; ``"0 quarter"`` .. ``"4 quarter"``)."""
    if isinstance(value, bool):
        raise TypeError(f"time of hour must be 'MM:SS' or a minute number, not {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 59:
            raise ValueError(f"time of hour {value!r}: a minute number must be 0..59")
        return timedelta(minutes=value)
    if not isinstance(value, str):
        raise TypeError(f"time of hour must be 'MM:SS' or a minute number, not {value!r}")
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?:\.(\d{1,6}))?\s*", value)
    if match is None:
        if value.strip().isdigit():
            return parse_time_of_hour(int(value))
        quarter = re.fullmatch(r"\s*([0-4])\s*(?:quarters?|q)\s*", value, flags=re.IGNORECASE)
        if quarter:
            # Rocketry's spelling: "1 quarter" (or "1q") is 15:00, "4 quarter" the hour's end
            return timedelta(minutes=15 * int(quarter.group(1)))
        raise ValueError(
            f"time of hour {value!r} not understood; expected 'MM:SS' (e.g. '15:00') "
            "or quarters ('1 quarter')"
        )
    minutes, seconds, fraction = match.groups()
    offset = timedelta(
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0").ljust(6, "0")),
    )
    if int(seconds) > 59 or offset > timedelta(hours=1):
        raise ValueError(f"time of hour {value!r} is out of range 00:00..60:00")
    return offset


def parse_time_of_minute(value: str | float) -> timedelta:
    """Offset into a minute in seconds: ``"30"``, ``"30.5"``, ``30``; ``"45:00"`` is 45 s.

    Rocketry wrote minute positions as ``"SS:00"``; only a zero after the colon is read, as
    anything else would be read differently by Rocketry (which dropped it) and by a reader.
    """
    if isinstance(value, str):
        rocketry = re.fullmatch(r"\s*(\d{1,2}):0+\s*", value)
        if rocketry:
            value = rocketry.group(1)
    return _bounded_number(value, "time of minute", timedelta(seconds=1), timedelta(minutes=1))


def parse_time_of_second(value: str | float) -> timedelta:
    """Offset into a second in milliseconds: ``"500"``, ``"500.5"``, ``500``."""
    return _bounded_number(value, "time of second", timedelta(milliseconds=1), timedelta(seconds=1))


def _bounded_number(value: str | float, what: str, unit: timedelta, top: timedelta) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"{what} must be a number or number text, not {value!r}")
    text = str(value).strip()
    if not re.fullmatch(_NUMBER, text):
        raise ValueError(f"{what} {value!r} not understood; expected a non-negative number")
    from decimal import Decimal  # not at ``import skylaunch`` (bench W5)

    offset = timedelta(microseconds=int(Decimal(text) * (unit // timedelta(microseconds=1))))
    if offset > top:
        raise ValueError(f"{what} {value!r} is out of range 0..{top // unit}")
    return offset


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday(value: str | int) -> tuple[int, timedelta | None]:
    """``"Mon"``, ``"monday 10:00"`` or ``1..7`` (Monday = 1) -> (0-based weekday, time or None).

    The time is ``None`` when only the day was named, so an end bound can mean "end of day".
    """
    if isinstance(value, bool):
        raise TypeError(f"day of week must be a name or 1..7, not {value!r}")
    if isinstance(value, int):
        if not 1 <= value <= 7:
            raise ValueError(f"day of week {value!r}: a number must be 1 (Monday) .. 7 (Sunday)")
        return value - 1, None
    if not isinstance(value, str):
        raise TypeError(f"day of week must be a name or 1..7, not {value!r}")
    match = re.fullmatch(r"\s*([a-z]+|\d)\s*(.*?)\s*", value, re.IGNORECASE)
    if match is None:
        raise ValueError(f"day of week {value!r} not understood; expected e.g. 'Mon 10:00'")
    day, time = match.group(1).lower(), match.group(2)
    if day.isdigit():
        index, _ = parse_weekday(int(day))
    elif day in _WEEKDAYS:
        index = _WEEKDAYS.index(day)
    elif day in _WEEKDAY_FULL:
        index = _WEEKDAY_FULL.index(day)
    else:
        raise ValueError(
            f"day of week {value!r}: unknown day {match.group(1)!r}; expected Mon..Sun"
        )
    return index, (parse_time_of_day(time) if time else None)


def parse_day_of_month(value: str | int) -> tuple[int, timedelta | None]:
    """``"1st"``, ``"2nd"``, ``"5."``, ``"5"``, ``"3rd 10:00"`` or ``5`` -> (day 1..31, time|None)."""
    if isinstance(value, bool):
        raise TypeError(f"day of month must be text or 1..31, not {value!r}")
    if isinstance(value, int):
        if not 1 <= value <= 31:
            raise ValueError(f"day of month {value!r}: a number must be 1..31")
        return value, None
    if not isinstance(value, str):
        raise TypeError(f"day of month must be text or 1..31, not {value!r}")
    match = re.fullmatch(r"\s*(\d{1,2})(st|nd|rd|th|\.)?\s*(.*?)\s*", value, re.IGNORECASE)
    if match is None:
        raise ValueError(
            f"day of month {value!r} not understood; expected e.g. '1st' or '15th 10:00'"
        )
    day, _ = parse_day_of_month(int(match.group(1)))
    time = match.group(3)
    return day, (parse_time_of_day(time) if time else None)
