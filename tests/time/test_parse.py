"""Durations and clock positions as users write them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.time.parse import (
    format_timedelta,
    parse_day_of_month,
    parse_time_of_day,
    parse_time_of_hour,
    parse_time_of_minute,
    parse_time_of_second,
    parse_weekday,
    to_timedelta,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 minutes", timedelta(minutes=10)),
        ("1 days 1 hours 30 minutes", timedelta(days=1, hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("2 hours, 10 min", timedelta(hours=2, minutes=10)),
        ("1 hour and 30 minutes", timedelta(hours=1, minutes=30)),
        ("1.5 h", timedelta(hours=1, minutes=30)),
        ("00:30:00", timedelta(minutes=30)),
        ("25:00:00.5", timedelta(hours=25, microseconds=500_000)),
        ("30s", timedelta(seconds=30)),
        ("500 ms", timedelta(milliseconds=500)),
        ("30", timedelta(seconds=30)),
        ("0.25", timedelta(milliseconds=250)),
        ("2w", timedelta(weeks=2)),
        ("1 WEEK 2 Days", timedelta(days=9)),
        ("3 microseconds", timedelta(microseconds=3)),
        ("0 seconds", timedelta(0)),
    ],
)
def test_to_timedelta_reads_text(text: str, expected: timedelta) -> None:
    assert to_timedelta(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, timedelta(seconds=90)), (1.5, timedelta(seconds=1.5)), (timedelta(1), timedelta(1))],
)
def test_to_timedelta_numbers_are_seconds(value: object, expected: timedelta) -> None:
    assert to_timedelta(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-5 minutes", "negative"),
        ("ten minutes", "cannot read"),
        ("10 parsecs", "unknown unit 'parsecs'"),
        ("", "empty"),
        ("10 minutes later", "cannot read"),
        ("1 second and", "ends with 'and'"),
        ("1 hour, 10 minutes,", "ends with ','"),
        ("00:75:00", "below 60"),
        (-1, "negative"),
        (timedelta(seconds=-1), "negative"),
        (float("nan"), "finite"),
        (10**20, "too long"),
        (1e300, "too long"),
        ("99999999999999999999 days", "too long"),
        ("99999999999:00:00", "too long"),
    ],
)
def test_to_timedelta_rejects_bad_input_naming_it(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as info:
        to_timedelta(value)  # type: ignore[arg-type]
    if isinstance(value, str) and value:
        assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [True, None, [1]])
def test_to_timedelta_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        to_timedelta(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(0), "0 seconds"),
        (timedelta(hours=1, minutes=30), "1 hour 30 minutes"),
        (timedelta(days=8, seconds=1), "1 week 1 day 1 second"),
        (timedelta(milliseconds=1500), "1 second 500 milliseconds"),
        (timedelta(microseconds=2), "2 microseconds"),
    ],
)
def test_format_timedelta(td: timedelta, text: str) -> None:
    assert format_timedelta(td) == text


def test_format_timedelta_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_timedelta(timedelta(seconds=-1))


@settings(max_examples=200)
@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10_000)))
def test_format_then_parse_round_trips(td: timedelta) -> None:
    assert to_timedelta(format_timedelta(td)) == td


def _by_decimal(number: str, unit: str) -> timedelta:
    """What a term ``<number> <unit>`` was read as before whole numbers skipped decimal."""
    from decimal import Decimal

    from skylaunch.time.parse import _UNITS

    return timedelta(microseconds=int((Decimal(number) * _UNITS[unit]).to_integral_value()))


@settings(max_examples=300)
@given(
    st.integers(min_value=0, max_value=10**20).map(str)
    | st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    st.sampled_from(["ms", "s", "m", "h", "d", "w"]),
)
def test_a_whole_number_of_units_reads_as_decimal_read_it(number: str, unit: str) -> None:
    # whole numbers (up to 15 digits) are multiplied as ints, the rest as Decimal: the same
    # duration, or the same "too long" error
    try:
        expected = _by_decimal(number, unit)
    except OverflowError:
        with pytest.raises(ValueError, match="too long"):
            to_timedelta(f"{number} {unit}")
    else:
        assert to_timedelta(f"{number} {unit}") == expected


@pytest.mark.parametrize(
    "text", ["٣ days", "00:00:٥٩.5", "1.5 hours", "0.0000005 s", "00:01:59.999999"]
)
def test_other_digits_and_fractions_still_read(text: str) -> None:
    expected = {
        "٣ days": timedelta(days=3),
        "00:00:٥٩.5": timedelta(seconds=59.5),
        "1.5 hours": timedelta(minutes=90),
        "0.0000005 s": timedelta(0),  # half a microsecond rounds to even
        "00:01:59.999999": timedelta(minutes=1, seconds=59, microseconds=999_999),
    }[text]
    assert to_timedelta(text) == expected


def test_sixty_seconds_in_a_clock_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="below 60"):
        to_timedelta("00:00:60.000000")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10:00", timedelta(hours=10)),
        ("10:00:30", timedelta(hours=10, seconds=30)),
        ("10:00:30.25", timedelta(hours=10, seconds=30, milliseconds=250)),
        ("24:00", timedelta(hours=24)),
        (10, timedelta(hours=10)),
        ("10", timedelta(hours=10)),
        ("10am", timedelta(hours=10)),
        ("2pm", timedelta(hours=14)),
        ("12am", timedelta(0)),
        ("12pm", timedelta(hours=12)),
        ("10:30 p.m.", timedelta(hours=22, minutes=30)),
    ],
)
def test_parse_time_of_day(value: str | int, expected: timedelta) -> None:
    assert parse_time_of_day(value) == expected


@pytest.mark.parametrize("value", ["25:00", "10:61", "noon", "13pm", 24, -1, "24:00:01"])
def test_parse_time_of_day_rejects(value: str | int) -> None:
    with pytest.raises(ValueError, match="time of day"):
        parse_time_of_day(value)


def test_parse_time_of_hour_and_minute_and_second() -> None:
    assert parse_time_of_hour("15:30") == timedelta(minutes=15, seconds=30)
    assert parse_time_of_hour(15) == timedelta(minutes=15)
    assert parse_time_of_hour("60:00") == timedelta(hours=1)
    assert parse_time_of_minute("30.5") == timedelta(seconds=30.5)
    assert parse_time_of_minute(30) == timedelta(seconds=30)
    assert parse_time_of_second("500") == timedelta(milliseconds=500)
    for bad in ("61:00", "15:60", "x"):
        with pytest.raises(ValueError, match="time of hour"):
            parse_time_of_hour(bad)
    with pytest.raises(ValueError, match="time of minute"):
        parse_time_of_minute("61")
    with pytest.raises(ValueError, match="time of second"):
        parse_time_of_second("-1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon", (0, None)),
        ("sunday", (6, None)),
        ("Tue 10:00", (1, timedelta(hours=10))),
        (7, (6, None)),
        ("3", (2, None)),
    ],
)
def test_parse_weekday(value: str | int, expected: tuple[int, timedelta | None]) -> None:
    assert parse_weekday(value) == expected


@pytest.mark.parametrize("value", ["Funday", 0, 8, "Mon 25:00"])
def test_parse_weekday_rejects(value: str | int) -> None:
    with pytest.raises(ValueError, match=r"day of week|time of day"):
        parse_weekday(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1st", (1, None)),
        ("2nd", (2, None)),
        ("3rd", (3, None)),
        ("5th", (5, None)),
        ("5.", (5, None)),
        ("31", (31, None)),
        ("3rd 12:30", (3, timedelta(hours=12, minutes=30))),
        (15, (15, None)),
    ],
)
def test_parse_day_of_month(value: str | int, expected: tuple[int, timedelta | None]) -> None:
    assert parse_day_of_month(value) == expected


@pytest.mark.parametrize("value", ["0th", "32nd", "last", 0])
def test_parse_day_of_month_rejects(value: str | int) -> None:
    with pytest.raises(ValueError, match="day of month"):
        parse_day_of_month(value)


def test_parse_time_of_day_remembers_text_but_not_errors() -> None:
    first = parse_time_of_day("07:15")
    assert parse_time_of_day("07:15") is first  # read once, then remembered
    for _ in range(2):  # a bad text fails every time, with the same message
        with pytest.raises(ValueError, match="'25:00'"):
            parse_time_of_day("25:00")
    with pytest.raises(TypeError, match="True"):
        parse_time_of_day(True)  # not taken for the hour 1


def test_parse_time_of_day_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from skylaunch.time import parse

    monkeypatch.setattr(parse, "_TIME_OF_DAY_CACHE", {})
    monkeypatch.setattr(parse, "_TIME_OF_DAY_CACHE_MAX", 3)
    for minute in range(10):
        assert parse_time_of_day(f"10:{minute:02d}") == timedelta(hours=10, minutes=minute)
    assert len(parse._TIME_OF_DAY_CACHE) <= 3


def test_rocketrys_minute_positions_with_a_zero_after_the_colon() -> None:
    assert parse_time_of_minute("45:00") == timedelta(seconds=45)
    with pytest.raises(ValueError, match="not understood"):
        parse_time_of_minute("15:30")  # Rocketry silently dropped the 30


def test_from_iso_reads_a_z_suffix_on_every_python() -> None:
    # Python 3.10's fromisoformat refuses "Z", which JSON documents (the HTTP API's) use:
    # `skylaunch tasks --url` failed on 3.10 (found by CI's oldest-Python run).
    from datetime import datetime, timezone

    from skylaunch.time.parse import from_iso

    assert from_iso("2026-11-27T21:56:19.058753Z") == datetime(
        2026, 11, 27, 21, 56, 19, 58753, tzinfo=timezone.utc
    )
    assert from_iso("2026-11-27T21:56:19+02:00").utcoffset() is not None
    assert from_iso("2026-11-27 21:56").tzinfo is None


def test_time_of_hour_quarters() -> None:
    assert parse_time_of_hour("1 quarter") == timedelta(minutes=15)
    assert parse_time_of_hour("3 Quarters") == timedelta(minutes=45)
    assert parse_time_of_hour("4q") == timedelta(hours=1)
    assert parse_time_of_hour("0 quarter") == timedelta(0)
    with pytest.raises(ValueError, match="quarters"):
        parse_time_of_hour("5 quarter")


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("0555-12-09T04:05:39.0Z", 0),
        ("2024-01-01T10:00:00.5+02:00", 500_000),
        ("2024-01-01T10:00:00.1234567", 123_456),
    ],
)
def test_from_iso_reads_a_fraction_of_any_length_on_every_python(text: str, micro: int) -> None:
    """Python 3.10's fromisoformat reads 3 or 6 digits only (found by the HTTP API's fuzz test)."""
    from skylaunch.time.parse import from_iso

    assert from_iso(text).microsecond == micro
