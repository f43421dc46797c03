"""Schedules across DST changes, run by the scheduler on a simulated clock."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from skylaunch.conds import cron, daily, every, time_of_day
from skylaunch.testing import run_until, runs, simulated_app


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("Europe/Helsinki", "2024-03-29 00:00", "2024-04-02 00:00"),  # spring forward
        ("Europe/Helsinki", "2024-10-25 00:00", "2024-10-29 00:00"),  # fall back
        ("America/New_York", "2024-03-08 00:00", "2024-03-12 00:00"),
        ("America/New_York", "2024-11-01 00:00", "2024-11-05 00:00"),
    ],
)
def test_daily_runs_exactly_once_per_calendar_day(zone: str, start: str, end: str) -> None:
    app = simulated_app(start, tz=zone)

    @app.task(daily)
    def plain() -> None: ...

    @app.task(daily.at("02:00"))  # inside the spring gap in New York, repeated in the fall
    def at_two() -> None: ...

    @app.task(daily.between("03:15", "03:45"))  # wholly inside the Helsinki spring gap
    def in_gap() -> None: ...

    run_until(app, end)
    for name in ("plain", "at_two", "in_gap"):
        days = [t.date() for t in runs(app, name)]
        assert len(days) == 4, (name, days)
        assert len(set(days)) == 4, (name, days)


def test_window_in_the_gap_runs_right_after_the_gap() -> None:
    app = simulated_app("2024-03-30 12:00", tz="Europe/Helsinki")

    @app.task(daily.between("03:15", "03:45"))
    def in_gap() -> None: ...

    run_until(app, "2024-04-01 12:00")
    assert (
        [t.isoformat() for t in runs(app, "in_gap")]
        == [
            "2024-03-30 12:00:00+02:00".replace(" ", "T"),  # never ran: due at once? no: window
            "2024-03-31T04:00:00+03:00",
            "2024-04-01T03:15:00+03:00",
        ][1:]
    )


def test_every_measures_real_elapsed_time_across_dst() -> None:
    app = simulated_app("2024-03-31 00:30", tz="Europe/Helsinki")

    @app.task(every("1 hour"))
    def hourly_job() -> None: ...

    run_until(app, "2024-03-31 06:00")
    # (aware datetimes of one zone subtract as wall clocks: compare in UTC)
    starts = [t.astimezone(timezone.utc) for t in runs(app, "hourly_job")]
    gaps = {b - a for a, b in itertools.pairwise(starts)}
    assert gaps == {timedelta(hours=1)}
    # 00:30 .. 05:30 local is 4 real hours on the spring-forward day (03:00 does not exist)
    assert len(starts) == 5


def test_cron_runs_once_per_matching_minute() -> None:
    app = simulated_app("2024-01-01 09:00", tz="UTC")

    @app.task(cron("*/15 9-10 * * *"))
    def quarter() -> None: ...

    run_until(app, "2024-01-01 12:00")
    assert [t.strftime("%H:%M") for t in runs(app, "quarter")] == [
        "09:00",
        "09:15",
        "09:30",
        "09:45",
        "10:00",
        "10:15",
        "10:30",
        "10:45",
    ]


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # 02:00-03:00 does not exist on 31 March in Berlin: 02:30 is the end of the gap
        (
            "Europe/Berlin",
            "2024-03-30 00:00",
            ["2024-03-30T02:30:00+01:00", "2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"],
        ),
        # ... and happens twice on 27 October: the first one, once
        (
            "Europe/Berlin",
            "2024-10-26 00:00",
            ["2024-10-26T02:30:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"],
        ),
        (
            "America/New_York",
            "2024-03-09 00:00",
            ["2024-03-09T02:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
        ),
        (  # 01:00-02:00 repeats: 02:30 is plain (one hour later in real time than the day before)
            "America/New_York",
            "2024-11-02 00:00",
            ["2024-11-02T02:30:00-04:00", "2024-11-03T02:30:00-05:00", "2024-11-04T02:30:00-05:00"],
        ),
    ],
)
def test_daily_at_half_past_two_on_dst_days_runs_once_at_a_defined_instant(
    zone: str, start: str, expected: list[str]
) -> None:
    # A probe (found nothing): the documented rule (docs/time.md) across both changes. A
    # wall time in the spring gap is the gap's end, a repeated one its first occurrence; a
    # window (daily.between, daily & time_of_day) whose start is in the gap opens at its end.
    app = simulated_app(start, tz=zone)
    app.task(daily.at("02:30"), name="at")(lambda: None)
    app.task(daily.between("02:15", "02:45"), name="between")(lambda: None)
    app.task(daily & time_of_day.between("02:15", "02:45"), name="time_of_day")(lambda: None)
    run_until(app, (datetime.fromisoformat(start) + timedelta(days=3)).isoformat())
    assert [t.isoformat() for t in runs(app, "at")] == expected
    window = [e.replace("02:30", "02:15") for e in expected]
    assert [t.isoformat() for t in runs(app, "between")] == window
    assert [t.isoformat() for t in runs(app, "time_of_day")] == window
