"""The time layer: clocks, periods, cron and duration parsing (stdlib only).

Rocketry users find ``rocketry.time``'s names here: ``TimeOfDay``, ``TimeDelta``,
``TimeSpanDelta``, ``Cron``...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes

from .clock import Clock, SimulatedClock, SystemClock, local_zone
from .cycles import (
    TimeOfDay,
    TimeOfHour,
    TimeOfMinute,
    TimeOfMonth,
    TimeOfSecond,
    TimeOfWeek,
    TimeOfYear,
)
from .parse import (
    format_timedelta,
    parse_day_of_month,
    parse_time_of_day,
    parse_time_of_hour,
    parse_time_of_minute,
    parse_time_of_second,
    parse_weekday,
    to_timedelta,
)
from .periods import (
    MAX_UTC,
    MIN_UTC,
    AnchoredInterval,
    Interval,
    PositionTypeError,
    TimePeriod,
    aware,
    localize,
    naive_zone,
)
from .spans import Always, Cron, Never, StaticInterval, TimeDelta, TimeSpanDelta, always, never

if TYPE_CHECKING:
    from .combine import All, Any
    from .cron import CronExpr, CronParseError

__all__ = [
    "MAX_UTC",
    "MIN_UTC",
    "All",
    "Always",
    "AnchoredInterval",
    "Any",
    "Clock",
    "Cron",
    "CronExpr",
    "CronParseError",
    "Interval",
    "Never",
    "PositionTypeError",
    "SimulatedClock",
    "StaticInterval",
    "SystemClock",
    "TimeDelta",
    "TimeOfDay",
    "TimeOfHour",
    "TimeOfMinute",
    "TimeOfMonth",
    "TimeOfSecond",
    "TimeOfWeek",
    "TimeOfYear",
    "TimePeriod",
    "TimeSpanDelta",
    "always",
    "aware",
    "format_timedelta",
    "local_zone",
    "localize",
    "naive_zone",
    "never",
    "parse_day_of_month",
    "parse_time_of_day",
    "parse_time_of_hour",
    "parse_time_of_minute",
    "parse_time_of_second",
    "parse_weekday",
    "to_timedelta",
]


# cron (and calendar) load with the first cron expression, the period combinations with the
# first ``&`` or ``|`` of two periods (bench W5: neither at import)
__getattr__ = lazy_attributes(
    __name__,
    {
        **dict.fromkeys(("CronExpr", "CronParseError"), "skylaunch.time.cron"),
        **dict.fromkeys(("All", "Any"), "skylaunch.time.combine"),
    },
)
