"""Cron expressions as pure, DST-correct arithmetic.

Matching is done on the wall clock of the instant's own zone; results are UTC. The search
skips whole months, days and hours that cannot match, so even "0 0 29 2 *" is found without
stepping through the minutes in between.

Daylight saving time follows one rule everywhere in skylaunch: a wall time inside a
spring-forward gap happens at the first valid instant after the gap, and a wall time that
occurs twice (fall back) happens once, at its first occurrence. So a daily job is neither
skipped nor doubled.

Beyond the five standard fields: ``L`` (last day of the month), ``LW`` (its last weekday),
``15W`` (the weekday nearest the 15th, within the month) in the day-of-month field; ``5L`` /
``FRIL`` (the month's last Friday) and ``FRI#2`` (its second Friday) in the day-of-week field;
and an optional *first* field of seconds (six fields, as Quartz and cronsim read them), which
makes each matching second, not minute, an occurrence.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

from .periods import localize

__all__ = ["CronExpr", "CronParseError", "localize"]

_UTC = timezone.utc
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)
# How far the search may go before we conclude there is nothing (leap day + skipped 2100 leap).
_SEARCH_YEARS = 9

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_SECONDS_FIELD: tuple[str, int, int, tuple[str, ...]] = ("second", 0, 59, ())
_SPECIAL_DOM = re.compile(r"^(?:L|LW|(?P<day>\d{1,2})W)$", re.IGNORECASE)
_SPECIAL_DOW = re.compile(r"^(?P<day>[A-Z]{3}|\d)(?:(?P<last>L)|#(?P<nth>\d))$", re.IGNORECASE)

# A day-of-month special: ("L", 0) last day, ("LW", 0) last weekday, ("W", n) weekday nearest n.
_DomSpecial = tuple[str, int]
# A day-of-week special: (weekday 0=Sunday, nth 1..5, or -1 for the last one in the month).
_DowSpecial = tuple[int, int]

# (name, low, high, names mapped to low + index)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day_of_month", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day_of_week", 0, 7, _DOW_NAMES),
)


class CronParseError(ValueError):
    """A cron expression (or one of its fields) cannot be read."""


def _parse_field(
    text: str, index: int, specials: list[tuple[Any, int]] | None = None
) -> tuple[str, tuple[int, ...]]:
    """Read one field into (canonical text, sorted allowed values).

    ``index`` -1 is the seconds field. ``specials`` collects the day fields' ``L``/``W``/``#``
    items (as pairs, see ``_DomSpecial``/``_DowSpecial``); other fields refuse them.
    """
    name, low, high, names = _SECONDS_FIELD if index == -1 else _FIELDS[index]
    if not text:
        raise CronParseError(f"cron field {name!r} is empty")
    values: set[int] = set()
    canonical: list[str] = []
    for token in text.split(","):
        special = _parse_special(token, index, names) if specials is not None else None
        if special is not None and specials is not None:
            token_text, pair = special
            if pair not in specials:
                specials.append(pair)
        else:
            token_text, token_values = _parse_token(token, name, low, high, names)
            values.update(token_values)
        if token_text not in canonical:
            canonical.append(token_text)
    if index == 4:  # 7 is another name for Sunday
        values = {0 if v == 7 else v for v in values}
    if "*" in canonical:
        canonical = ["*"]
    return ",".join(canonical), tuple(sorted(values))


def _parse_special(
    token: str, index: int, names: tuple[str, ...]
) -> tuple[str, _DomSpecial | _DowSpecial] | None:
    """``L``, ``LW``, ``15W`` (day of month) or ``5L``, ``FRI#2`` (day of week), else ``None``."""
    if index == 2:
        match = _SPECIAL_DOM.match(token)
        if match is None:
            return None
        if match.group("day") is None:
            kind = token.upper()
            return kind, (kind, 0)
        day = int(match.group("day"))
        if not 1 <= day <= 31:
            raise CronParseError(
                f"cron field 'day_of_month': bad token {token!r} ({day} is outside 1..31)"
            )
        return f"{day}W", ("W", day)
    match = _SPECIAL_DOW.match(token)
    if match is None:
        return None
    day_text = match.group("day").upper()
    if day_text.isdigit():
        weekday = int(day_text)
        if weekday > 7:
            raise CronParseError(
                f"cron field 'day_of_week': bad token {token!r} ({weekday} is outside 0..7)"
            )
    elif day_text in names:
        weekday = names.index(day_text)
    else:
        raise CronParseError(
            f"cron field 'day_of_week': bad token {token!r} ({day_text!r} is not a day)"
        )
    weekday %= 7
    if match.group("last"):
        return f"{weekday}L", (weekday, -1)
    nth = int(match.group("nth"))
    if not 1 <= nth <= 5:
        raise CronParseError(
            f"cron field 'day_of_week': bad token {token!r} (#{nth}: a month has weeks 1..5)"
        )
    return f"{weekday}#{nth}", (weekday, nth)


def _parse_token(
    token: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> tuple[str, range]:
    def number(part: str) -> int:
        upper = part.upper()
        if upper in names:
            return low + names.index(upper)
        if not part.isdigit():
            raise CronParseError(
                f"cron field {name!r}: bad token {token!r} ({part!r} is not a value)"
            )
        value = int(part)
        if not low <= value <= high:
            raise CronParseError(
                f"cron field {name!r}: bad token {token!r} ({value} is outside {low}..{high})"
            )
        return value

    if not token:
        raise CronParseError(f"cron field {name!r}: empty item in a list")
    base, slash, step_text = token.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronParseError(f"cron field {name!r}: bad token {token!r} (step must be >= 1)")
        step = int(step_text)
    if base == "*":
        start, stop, base_text = low, high, "*"
        if name == "day_of_week":
            stop = 6
    elif "-" in base:
        first, _, last = base.partition("-")
        start, stop = number(first), number(last)
        if name == "day_of_week" and stop == 0 and start > 0:
            stop = 7  # SAT-SUN, 5-0: a range may end on Sunday by either of its numbers
        if start > stop:
            raise CronParseError(f"cron field {name!r}: bad token {token!r} (range goes backwards)")
        base_text = f"{start}-{stop}"
    else:
        start = number(base)
        stop = (6 if name == "day_of_week" else high) if slash else start
        base_text = str(start if not (name == "day_of_week" and start == 7) else 0)
        if slash:
            base_text = f"{start}-{stop}"
    text = base_text if step == 1 else f"{base_text}/{step}"
    return text, range(start, stop + 1, step)


def _next_in(values: tuple[int, ...], value: int) -> int | None:
    """Smallest allowed value >= value."""
    i = bisect_left(values, value)
    return values[i] if i < len(values) else None


def _prev_in(values: tuple[int, ...], value: int) -> int | None:
    """Largest allowed value <= value."""
    i = bisect_right(values, value)
    return values[i - 1] if i else None


class CronExpr:
    """A parsed cron expression (five fields, or six with seconds first). Immutable, hashable."""

    __slots__ = (
        "_days",
        "_dom_special",
        "_dom_star",
        "_dow",
        "_dow_special",
        "_dow_star",
        "_hours",
        "_minutes",
        "_months",
        "_seconds",
        "_text",
    )

    _text: str
    _seconds: tuple[int, ...] | None
    _minutes: tuple[int, ...]
    _hours: tuple[int, ...]
    _days: tuple[int, ...]
    _months: tuple[int, ...]
    _dow: frozenset[int]
    _dom_special: tuple[_DomSpecial, ...]
    _dow_special: tuple[_DowSpecial, ...]
    _dom_star: bool
    _dow_star: bool

    def __init__(self, expr: str) -> None:
        raw = expr.strip()
        alias = _ALIASES.get(raw.lower())
        fields = (alias or raw).split()
        if len(fields) not in (5, 6):
            raise CronParseError(
                f"cron expression {expr!r} has {len(fields)} fields; expected 5 "
                "(minute hour day_of_month month day_of_week), 6 (second first) or an @alias"
            )
        seconds: tuple[str, tuple[int, ...]] | None = None
        if len(fields) == 6:
            seconds = _parse_field(fields[0], -1)
            fields = fields[1:]
        dom_special: list[tuple[Any, int]] = []
        dow_special: list[tuple[Any, int]] = []
        parsed = [
            _parse_field(text, i, dom_special if i == 2 else dow_special if i == 4 else None)
            for i, text in enumerate(fields)
        ]
        text = " ".join(t for t, _ in parsed)
        object.__setattr__(self, "_text", text if seconds is None else f"{seconds[0]} {text}")
        object.__setattr__(self, "_seconds", None if seconds is None else seconds[1])
        object.__setattr__(self, "_minutes", parsed[0][1])
        object.__setattr__(self, "_hours", parsed[1][1])
        object.__setattr__(self, "_days", parsed[2][1])
        object.__setattr__(self, "_months", parsed[3][1])
        object.__setattr__(self, "_dow", frozenset(parsed[4][1]))
        object.__setattr__(self, "_dom_special", tuple(dom_special))
        object.__setattr__(self, "_dow_special", tuple(dow_special))
        object.__setattr__(self, "_dom_star", fields[2].startswith("*"))
        object.__setattr__(self, "_dow_star", fields[4].startswith("*"))
        if self._dom_star or self._dow_star:
            feasible = (
                self._dow_star is False
                or bool(self._dom_special)
                or any(
                    day <= (29 if month == 2 else calendar.monthrange(2001, month)[1])
                    for month in self._months
                    for day in self._days
                )
            )
            if not feasible:
                raise CronParseError(
                    f"cron expression {expr!r} never matches: no month in {fields[3]!r} "
                    f"has a day in {fields[2]!r}"
                )

    @classmethod
    def parse(cls, expr: str) -> CronExpr:
        return cls(expr)

    @classmethod
    def from_fields(
        cls,
        minute: str | int = "*",
        hour: str | int = "*",
        day_of_month: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "*",
        second: str | int | None = None,
    ) -> CronExpr:
        given = (minute, hour, day_of_month, month, day_of_week)
        parts = [str(f).replace(" ", "") for f in given]
        for (name, *_), part in zip(_FIELDS, parts, strict=True):
            if not part:
                raise CronParseError(f"cron field {name!r} is empty")
        if second is not None:
            sec = str(second).replace(" ", "")
            if not sec:
                raise CronParseError("cron field 'second' is empty")
            parts.insert(0, sec)
        return cls(" ".join(parts))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronExpr) and other._text == self._text

    def __hash__(self) -> int:
        return hash(("CronExpr", self._text))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"CronExpr({self._text!r})"

    def __reduce__(self) -> tuple[type[CronExpr], tuple[str]]:
        return (CronExpr, (self._text,))

    @property
    def fields(self) -> tuple[str, str, str, str, str]:
        """The five canonical field texts (minute, hour, day_of_month, month, day_of_week)."""
        parts = self._text.split(" ")
        minute, hour, dom, month, dow = parts[-5:]
        return minute, hour, dom, month, dow

    @property
    def second(self) -> str | None:
        """The canonical seconds field, or ``None`` for a five-field expression."""
        return None if self._seconds is None else self._text.split(" ")[0]

    @property
    def unit(self) -> timedelta:
        """How long one occurrence lasts: a minute, or a second when seconds are given."""
        return _MINUTE if self._seconds is None else _SECOND

    # -- matching -----------------------------------------------------------------------------

    def _day_ok(self, year: int, month: int, day: int) -> bool:
        if month not in self._months:
            return False
        weekday = (calendar.weekday(year, month, day) + 1) % 7
        in_dom = day in self._days or (
            bool(self._dom_special) and _dom_special_ok(self._dom_special, year, month, day)
        )
        in_dow = weekday in self._dow or (
            bool(self._dow_special)
            and _dow_special_ok(self._dow_special, year, month, day, weekday)
        )
        if self._dom_star or self._dow_star:
            return in_dom and in_dow
        return in_dom or in_dow

    def matches(self, dt: datetime) -> bool:
        """Whether ``dt``'s wall-clock minute (second, with seconds) in its zone is one of ours."""
        return (
            (self._seconds is None or dt.second in self._seconds)
            and dt.minute in self._minutes
            and dt.hour in self._hours
            and self._day_ok(dt.year, dt.month, dt.day)
        )

    def _next_wall_unit(self, wall: datetime) -> datetime | None:
        """Earliest matching wall occurrence >= ``wall`` (whole minute, or second)."""
        seconds = self._seconds
        if seconds is None:
            return self._next_wall(wall)
        minute = wall.replace(second=0)
        found = self._next_wall(minute)
        if found == minute:
            second = _next_in(seconds, wall.second)
            if second is not None:
                return found.replace(second=second)
            after = _add(minute, _MINUTE)
            found = None if after is None else self._next_wall(after)
        return None if found is None else found.replace(second=seconds[0])

    def _prev_wall_unit(self, wall: datetime) -> datetime | None:
        """Latest matching wall occurrence <= ``wall`` (whole minute, or second)."""
        seconds = self._seconds
        if seconds is None:
            return self._prev_wall(wall)
        minute = wall.replace(second=0)
        found = self._prev_wall(minute)
        if found == minute:
            second = _prev_in(seconds, wall.second)
            if second is not None:
                return found.replace(second=second)
            before = _add(minute, -_MINUTE)
            found = None if before is None else self._prev_wall(before)
        return None if found is None else found.replace(second=seconds[-1])

    def _next_wall(self, wall: datetime) -> datetime | None:
        """Earliest matching wall minute >= ``wall`` (naive, whole minute)."""
        limit = wall.year + _SEARCH_YEARS
        while wall.year <= limit:
            if wall.month not in self._months:
                month = _next_in(self._months, wall.month)
                year = wall.year if month is not None else wall.year + 1
                if year > 9999:  # datetime.MAXYEAR
                    return None
                month = month if month is not None else self._months[0]
                wall = wall.replace(year=year, month=month, day=1, hour=0, minute=0)
                continue
            if not self._day_ok(wall.year, wall.month, wall.day):
                # jump straight to the month's next matching day, or past its end
                day = _next_in(_month_days(self, wall.year, wall.month), wall.day + 1)
                if day is not None:
                    wall = wall.replace(day=day, hour=0, minute=0)
                    continue
                wall = wall.replace(day=calendar.monthrange(wall.year, wall.month)[1])
                nxt_day = _next_day(wall)
                if nxt_day is None:
                    return None
                wall = nxt_day
                continue
            if wall.hour not in self._hours:
                hour = _next_in(self._hours, wall.hour)
                if hour is None:
                    nxt = _next_day(wall)
                    if nxt is None:
                        return None
                    wall = nxt
                else:
                    wall = wall.replace(hour=hour, minute=0)
                continue
            minute = _next_in(self._minutes, wall.minute)
            if minute is None:
                nxt_hour = _add(wall.replace(minute=0), timedelta(hours=1))
                if nxt_hour is None:
                    return None
                wall = nxt_hour
                continue
            return wall.replace(minute=minute)
        return None

    def _prev_wall(self, wall: datetime) -> datetime | None:
        """Latest matching wall minute <= ``wall`` (naive, whole minute)."""
        limit = wall.year - _SEARCH_YEARS
        while wall.year >= limit:
            if wall.month not in self._months:
                month = _prev_in(self._months, wall.month)
                year = wall.year if month is not None else wall.year - 1
                month = month if month is not None else self._months[-1]
                if year < 1:
                    return None
                last = calendar.monthrange(year, month)[1]
                wall = wall.replace(year=year, month=month, day=last, hour=23, minute=59)
                continue
            if not self._day_ok(wall.year, wall.month, wall.day):
                # jump straight to the month's previous matching day, or before its start
                day = _prev_in(_month_days(self, wall.year, wall.month), wall.day - 1)
                if day is not None:
                    wall = wall.replace(day=day, hour=23, minute=59)
                    continue
                prev = _add(wall.replace(day=1, hour=23, minute=59), timedelta(days=-1))
                if prev is None:
                    return None
                wall = prev
                continue
            if wall.hour not in self._hours:
                hour = _prev_in(self._hours, wall.hour)
                if hour is None:
                    prev = _add(wall.replace(hour=23, minute=59), timedelta(days=-1))
                    if prev is None:
                        return None
                    wall = prev
                else:
                    wall = wall.replace(hour=hour, minute=59)
                continue
            minute = _prev_in(self._minutes, wall.minute)
            if minute is None:
                prev = _add(wall.replace(minute=59), timedelta(hours=-1))
                if prev is None:
                    return None
                wall = prev
                continue
            return wall.replace(minute=minute)
        return None

    def next_after(self, dt: datetime) -> datetime:
        """Earliest instant strictly after ``dt`` that starts a matching minute (UTC).

        ValueError if there is none before the end of ``datetime``'s range (year 9999).
        """
        found = self.next_after_or_none(dt)
        if found is None:
            raise ValueError(f"cron expression {self._text!r} has no match after {dt.isoformat()}")
        return found

    def next_after_or_none(self, dt: datetime) -> datetime | None:
        """:meth:`next_after`, or ``None`` where no match is left before year 10000."""
        unit = self.unit
        tz, instant, wall = _split(dt, whole_seconds=self._seconds is not None)
        candidate = _add(wall, unit)
        while candidate is not None:
            found = self._next_wall_unit(candidate)
            if found is None:
                break
            result = localize(found, tz)
            if result > instant:
                return result
            # Only in the repeated hour of a fall back: that wall time already happened.
            candidate = _add(found, unit)
        return None

    def prev_at_or_before(self, dt: datetime) -> datetime | None:
        """Latest instant at or before ``dt`` that starts a matching minute (UTC), if any."""
        tz, instant, wall = _split(dt, whole_seconds=self._seconds is not None)
        if dt.astimezone(tz).fold:
            # In the repeated hour, later wall times (first pass) are already in the past.
            first = wall.replace(tzinfo=tz, fold=0).utcoffset()
            second = dt.astimezone(tz).utcoffset()
            assert first is not None
            assert second is not None
            wall = wall + (first - second)
        candidate: datetime | None = wall
        while candidate is not None:
            found = self._prev_wall_unit(candidate)
            if found is None:
                return None
            result = localize(found, tz)
            if result <= instant:
                return result
            candidate = _add(found, -self.unit)
        return None  # pragma: no cover - the loop ends at datetime.min


def _split(dt: datetime, *, whole_seconds: bool = False) -> tuple[tzinfo, datetime, datetime]:
    """(zone, the instant in UTC, the wall-clock minute (or second) in the zone, naive)."""
    from .periods import aware  # periods builds on this module

    dt = aware(dt)  # a naive one is a wall time (the session's zone, else local)
    tz = dt.tzinfo
    assert tz is not None
    instant = dt.astimezone(_UTC)
    local = instant.astimezone(tz)
    wall = local.replace(tzinfo=None, microsecond=0, fold=0)
    if not whole_seconds:
        wall = wall.replace(second=0)
    return tz, instant, wall


def _add(wall: datetime, delta: timedelta) -> datetime | None:
    try:
        return wall + delta
    except OverflowError:
        return None


def _next_day(wall: datetime) -> datetime | None:
    nxt = _add(wall.replace(hour=0, minute=0), timedelta(days=1))
    return nxt


@lru_cache(maxsize=4096)
def _month_days(expr: CronExpr, year: int, month: int) -> tuple[int, ...]:
    """The days of one month on which ``expr`` matches (for jumping over the others)."""
    length = calendar.monthrange(year, month)[1]
    return tuple(day for day in range(1, length + 1) if expr._day_ok(year, month, day))


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The weekday (Mon-Fri) nearest ``day`` without leaving the month (``15W``).

    A day the month lacks stands for its last day (``31W`` in June is June's last weekday), as
    croniter reads it.
    """
    length = calendar.monthrange(year, month)[1]
    day = min(day, length)
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + 1 if day < length else day - 2
    return day


def _dom_special_ok(specials: tuple[_DomSpecial, ...], year: int, month: int, day: int) -> bool:
    for kind, n in specials:
        if kind == "W":
            if _nearest_weekday(year, month, n) == day:
                return True
            continue
        last = calendar.monthrange(year, month)[1]
        if kind == "L" and day == last:
            return True
        if kind == "LW" and _nearest_weekday(year, month, last) == day:
            return True
    return False


def _dow_special_ok(
    specials: tuple[_DowSpecial, ...], year: int, month: int, day: int, weekday: int
) -> bool:
    for wanted, nth in specials:
        if wanted != weekday:
            continue
        if nth == -1:
            if day + 7 > calendar.monthrange(year, month)[1]:
                return True
        elif (day - 1) // 7 + 1 == nth:
            return True
    return False
