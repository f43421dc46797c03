"""Cron expressions as pure, DST-correct arithmetic.

Matching is done on the wall clock of the instant's own zone; results are UTC. The search
skips whole months, days and hours that cannot match, so even "0 0 29 2 *" is found without
stepping through the minutes in between.

Daylight saving time follows one rule everywhere in skylaunch: a wall time inside a
spring-forward gap happens at the first valid instant after the gap, and a wall time that
occurs twice (fall back) happens once, at its first occurrence. So a daily job is neither
skipped nor doubled.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta, timezone, tzinfo

__all__ = ["CronExpr", "CronParseError", "localize"]

_UTC = timezone.utc
_MINUTE = timedelta(minutes=1)
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


def _parse_field(text: str, index: int) -> tuple[str, tuple[int, ...]]:
    """Read one field into (canonical text, sorted allowed values)."""
    name, low, high, names = _FIELDS[index]
    if not text:
        raise CronParseError(f"cron field {name!r} is empty")
    values: set[int] = set()
    canonical: list[str] = []
    for token in text.split(","):
        token_text, token_values = _parse_token(token, name, low, high, names)
        values.update(token_values)
        if token_text not in canonical:
            canonical.append(token_text)
    if index == 4:  # 7 is another name for Sunday
        values = {0 if v == 7 else v for v in values}
    if "*" in canonical:
        canonical = ["*"]
    return ",".join(canonical), tuple(sorted(values))


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
    """A parsed five-field cron expression. Immutable, hashable, equal when built equal."""

    __slots__ = (
        "_days",
        "_dom_star",
        "_dow",
        "_dow_star",
        "_hours",
        "_minutes",
        "_months",
        "_text",
    )

    _text: str
    _minutes: tuple[int, ...]
    _hours: tuple[int, ...]
    _days: tuple[int, ...]
    _months: tuple[int, ...]
    _dow: frozenset[int]
    _dom_star: bool
    _dow_star: bool

    def __init__(self, expr: str) -> None:
        raw = expr.strip()
        alias = _ALIASES.get(raw.lower())
        fields = (alias or raw).split()
        if len(fields) != 5:
            raise CronParseError(
                f"cron expression {expr!r} has {len(fields)} fields; expected 5 "
                "(minute hour day_of_month month day_of_week) or an @alias"
            )
        parsed = [_parse_field(text, i) for i, text in enumerate(fields)]
        object.__setattr__(self, "_text", " ".join(text for text, _ in parsed))
        object.__setattr__(self, "_minutes", parsed[0][1])
        object.__setattr__(self, "_hours", parsed[1][1])
        object.__setattr__(self, "_days", parsed[2][1])
        object.__setattr__(self, "_months", parsed[3][1])
        object.__setattr__(self, "_dow", frozenset(parsed[4][1]))
        object.__setattr__(self, "_dom_star", fields[2].startswith("*"))
        object.__setattr__(self, "_dow_star", fields[4].startswith("*"))
        if self._dom_star or self._dow_star:
            feasible = self._dow_star is False or any(
                day <= (29 if month == 2 else calendar.monthrange(2001, month)[1])
                for month in self._months
                for day in self._days
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
    ) -> CronExpr:
        parts = [str(f).replace(" ", "") for f in (minute, hour, day_of_month, month, day_of_week)]
        for (name, *_), part in zip(_FIELDS, parts, strict=True):
            if not part:
                raise CronParseError(f"cron field {name!r} is empty")
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
        minute, hour, dom, month, dow = self._text.split(" ")
        return minute, hour, dom, month, dow

    # -- matching -----------------------------------------------------------------------------

    def _day_ok(self, year: int, month: int, day: int) -> bool:
        if month not in self._months:
            return False
        in_dom = day in self._days
        in_dow = (calendar.weekday(year, month, day) + 1) % 7 in self._dow
        if self._dom_star or self._dow_star:
            return in_dom and in_dow
        return in_dom or in_dow

    def matches(self, dt: datetime) -> bool:
        """Whether ``dt``'s wall-clock minute (in its own zone) is one of the expression's."""
        return (
            dt.minute in self._minutes
            and dt.hour in self._hours
            and self._day_ok(dt.year, dt.month, dt.day)
        )

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
                prev = _add(wall.replace(hour=23, minute=59), timedelta(days=-1))
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
        """Earliest instant strictly after ``dt`` that starts a matching minute (UTC)."""
        tz, instant, wall = _split(dt)
        candidate = _add(wall, _MINUTE)
        while candidate is not None:
            found = self._next_wall(candidate)
            if found is None:
                break
            result = localize(found, tz)
            if result > instant:
                return result
            # Only in the repeated hour of a fall back: that wall time already happened.
            candidate = _add(found, _MINUTE)
        raise ValueError(f"cron expression {self._text!r} has no match after {dt.isoformat()}")

    def prev_at_or_before(self, dt: datetime) -> datetime | None:
        """Latest instant at or before ``dt`` that starts a matching minute (UTC), if any."""
        tz, instant, wall = _split(dt)
        if dt.astimezone(tz).fold:
            # In the repeated hour, later wall times (first pass) are already in the past.
            first = wall.replace(tzinfo=tz, fold=0).utcoffset()
            second = dt.astimezone(tz).utcoffset()
            assert first is not None
            assert second is not None
            wall = wall + (first - second)
        candidate: datetime | None = wall
        while candidate is not None:
            found = self._prev_wall(candidate)
            if found is None:
                return None
            result = localize(found, tz)
            if result <= instant:
                return result
            candidate = _add(found, -_MINUTE)
        return None  # pragma: no cover - the loop ends at datetime.min


def _split(dt: datetime) -> tuple[tzinfo, datetime, datetime]:
    """(zone, the instant in UTC, the wall-clock minute in the zone as a naive datetime)."""
    tz = dt.tzinfo
    if tz is None or dt.utcoffset() is None:
        raise ValueError(f"datetime {dt!r} is naive; cron arithmetic needs an aware datetime")
    instant = dt.astimezone(_UTC)
    local = instant.astimezone(tz)
    wall = local.replace(tzinfo=None, second=0, microsecond=0, fold=0)
    return tz, instant, wall


def _add(wall: datetime, delta: timedelta) -> datetime | None:
    try:
        return wall + delta
    except OverflowError:
        return None


def _next_day(wall: datetime) -> datetime | None:
    nxt = _add(wall.replace(hour=0, minute=0), timedelta(days=1))
    return nxt
