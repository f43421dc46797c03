"""Micro-benchmarks of the time operations every scheduling decision of ``daily``-style conditions
makes. Run: ``.venv/bin/python bench/time_ops.py`` (prints µs per call, best of 5)."""

from __future__ import annotations

import timeit
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from skylaunch.time import Cron, TimeOfDay, TimeOfMonth, TimeOfWeek


def _bench(label: str, func: object, number: int = 2000) -> None:
    best = min(timeit.repeat(func, number=number, repeat=5))  # type: ignore[arg-type]
    print(f"{label:<55} {best / number * 1e6:8.2f} µs")


def main() -> None:
    for zone in ("Europe/Helsinki", "UTC"):
        tz = ZoneInfo(zone)
        now = datetime(2024, 3, 14, 11, 30, tzinfo=tz)
        window = TimeOfDay("10:00", "12:00")
        day = TimeOfDay()
        month = TimeOfMonth("1st", "5th")
        week = TimeOfWeek("Mon", "Fri")
        cron = Cron.from_expr("*/5 9-17 * * 1-5")
        # vary the instant a little, as a scheduler does, so a cache keyed on the exact instant
        # would not help
        instants = [now + timedelta(seconds=i) for i in range(97)]
        it = iter(range(10**9))

        def pick() -> datetime:
            return instants[next(it) % 97]

        print(f"-- {zone}")
        _bench("TimeOfDay('10:00','12:00').rollforward", lambda: window.rollforward(pick()))
        _bench("TimeOfDay('10:00','12:00').next_boundary", lambda: window.next_boundary(pick()))
        _bench("TimeOfDay('10:00','12:00') membership", lambda: pick() in window)
        _bench("TimeOfDay().rollforward (daily)", lambda: day.rollforward(pick()))
        _bench("TimeOfWeek('Mon','Fri').next_boundary", lambda: week.next_boundary(pick()))
        _bench("TimeOfMonth('1st','5th') membership", lambda: pick() in month)
        _bench("Cron('*/5 9-17 * * 1-5').rollforward", lambda: cron.rollforward(pick()), 500)


if __name__ == "__main__":
    main()
