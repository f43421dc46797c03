"""Cron expressions: parsing, matching and DST-correct searches."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch.time.cron import CronExpr, CronParseError, localize
from skylaunch.time.periods import naive_zone

UTC = timezone.utc
HEL = ZoneInfo("Europe/Helsinki")
NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "normalized"),
    [
        ("* * * * *", "* * * * *"),
        ("*/5 * * * *", "*/5 * * * *"),
        ("*/1 * * * *", "* * * * *"),
        ("1-10/2 0 * * *", "1-10/2 0 * * *"),
        ("0 9 * jan,Mar MON-fri", "0 9 * 1,3 1-5"),
        ("0 0 * * 7", "0 0 * * 0"),
        ("5/15 * * * *", "5-59/15 * * * *"),
        ("  0   12 1 * *  ", "0 12 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@MIDNIGHT", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_parse_normalizes(expr: str, normalized: str) -> None:
    parsed = CronExpr.parse(expr)
    assert str(parsed) == normalized
    assert CronExpr.parse(normalized) == parsed
    assert hash(CronExpr.parse(normalized)) == hash(parsed)


def test_value_semantics() -> None:
    expr = CronExpr.parse("0 9 * * MON")
    assert expr == CronExpr.from_fields(minute=0, hour=9, day_of_week="mon")
    assert expr != CronExpr.parse("0 9 * * TUE")
    assert pickle.loads(pickle.dumps(expr)) == expr
    assert repr(expr) == "CronExpr('0 9 * * 1')"
    assert expr.fields == ("0", "9", "*", "*", "1")
    with pytest.raises(AttributeError):
        expr._text = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("* * * *", "4 fields"),
        ("60 * * * *", "'minute': bad token '60'"),
        ("* 24 * * *", "'hour': bad token '24'"),
        ("* * 0 * *", "'day_of_month': bad token '0'"),
        ("* * * 13 *", "'month': bad token '13'"),
        ("* * * FOO *", "'month': bad token 'FOO'"),
        ("* * * * 8", "'day_of_week': bad token '8'"),
        ("*/0 * * * *", "step must be >= 1"),
        ("10-5 * * * *", "range goes backwards"),
        ("1,,2 * * * *", "empty item"),
        ("0 0 30 2 *", "never matches"),
        ("@often", "1 fields"),
    ],
)
def test_parse_errors_name_field_and_token(expr: str, fragment: str) -> None:
    with pytest.raises(CronParseError, match=fragment):
        CronExpr.parse(expr)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(CronParseError, ValueError)
    with pytest.raises(CronParseError, match="'hour' is empty"):
        CronExpr.from_fields(hour="")


@pytest.mark.parametrize(
    ("expr", "dt", "expected"),
    [
        ("30 10 * * *", utc(2024, 1, 1, 10, 30, 59), True),
        ("30 10 * * *", utc(2024, 1, 1, 10, 31), False),
        # Both day fields restricted: either may match (the 13th, or any Friday).
        ("0 0 13 * FRI", utc(2024, 1, 13), True),
        ("0 0 13 * FRI", utc(2024, 1, 12), True),
        ("0 0 13 * FRI", utc(2024, 1, 11), False),
        # One restricted, the other a star: both must match.
        ("0 0 */2 * FRI", utc(2024, 1, 12), False),
        ("0 0 */2 * FRI", utc(2024, 1, 19), True),
        ("0 0 * * 0", utc(2024, 1, 7), True),
        ("0 0 * * 7", utc(2024, 1, 7), True),
        # Wall clock of the datetime's own zone.
        ("0 9 * * *", datetime(2024, 1, 1, 9, tzinfo=HEL), True),
    ],
)
def test_matches(expr: str, dt: datetime, expected: bool) -> None:
    assert CronExpr.parse(expr).matches(dt) is expected


@pytest.mark.parametrize(
    ("expr", "dt", "expected"),
    [
        ("*/15 * * * *", utc(2024, 1, 1, 9, 7, 30), utc(2024, 1, 1, 9, 15)),
        ("*/15 * * * *", utc(2024, 1, 1, 9, 15), utc(2024, 1, 1, 9, 30)),
        ("0 0 1 * *", utc(2024, 1, 31, 23, 59), utc(2024, 2, 1)),
        ("59 23 31 12 *", utc(2024, 6, 1), utc(2024, 12, 31, 23, 59)),
        ("0 0 29 2 *", utc(2024, 3, 1), utc(2028, 2, 29)),
        ("0 0 29 2 *", utc(2096, 3, 1), utc(2104, 2, 29)),
        ("0 12 * * MON", utc(2024, 1, 1, 12), utc(2024, 1, 8, 12)),
        ("0 0 31 * *", utc(2024, 4, 1), utc(2024, 5, 31)),
    ],
)
def test_next_after(expr: str, dt: datetime, expected: datetime) -> None:
    assert CronExpr.parse(expr).next_after(dt) == expected


@pytest.mark.parametrize(
    ("expr", "dt", "expected"),
    [
        ("*/15 * * * *", utc(2024, 1, 1, 9, 7, 30), utc(2024, 1, 1, 9)),
        ("*/15 * * * *", utc(2024, 1, 1, 9, 15), utc(2024, 1, 1, 9, 15)),
        ("0 0 29 2 *", utc(2024, 2, 28), utc(2020, 2, 29)),
        ("0 0 1 1 *", utc(2024, 1, 1), utc(2024, 1, 1)),
        ("30 23 * * *", utc(2024, 3, 1, 10), utc(2024, 2, 29, 23, 30)),
    ],
)
def test_prev_at_or_before(expr: str, dt: datetime, expected: datetime) -> None:
    assert CronExpr.parse(expr).prev_at_or_before(dt) == expected


def test_prev_returns_none_near_the_beginning_of_time() -> None:
    assert CronExpr.parse("0 0 1 1 *").prev_at_or_before(utc(1, 1, 1)) == utc(1, 1, 1)
    assert CronExpr.parse("0 0 2 1 *").prev_at_or_before(utc(1, 1, 1, 12)) is None


def test_results_are_utc_and_naive_input_is_a_wall_time() -> None:
    result = CronExpr.parse("0 9 * * *").next_after(datetime(2024, 1, 1, tzinfo=HEL))
    assert result.tzinfo is UTC
    assert result == datetime(2024, 1, 1, 9, tzinfo=HEL)
    with naive_zone(HEL):  # the session's zone while it evaluates
        assert CronExpr.parse("0 9 * * *").next_after(datetime(2024, 1, 1)) == result
        # 03:30 on the spring-forward day does not exist: read as 04:00, the end of the gap
        assert CronExpr.parse("0 5 * * *").next_after(datetime(2024, 3, 31, 3, 30)) == datetime(
            2024, 3, 31, 5, tzinfo=HEL
        )


def test_far_future_only_expression_is_fast() -> None:
    expr = CronExpr.parse("0 0 29 2 1")  # in February: the 29th or any Monday (OR rule)
    assert expr.next_after(utc(2024, 3, 1)) == utc(2025, 2, 3)
    leap_monday = CronExpr.parse("0 0 29 2 *")
    start = utc(2001, 1, 1)
    for _ in range(50):  # 50 searches spanning up to 8 years each
        start = leap_monday.next_after(start)
    assert start.year > 2150


# -- DST ------------------------------------------------------------------------------------------


def test_localize_gap_goes_to_end_of_gap_and_fold_to_first() -> None:
    # Helsinki springs forward 2024-03-31 03:00 -> 04:00 (01:00 UTC).
    assert localize(datetime(2024, 3, 31, 3, 30), HEL) == utc(2024, 3, 31, 1)
    assert localize(datetime(2024, 3, 31, 4, 0), HEL) == utc(2024, 3, 31, 1)
    # New York falls back 2024-11-03 02:00 EDT -> 01:00 EST: 01:30 happens twice.
    assert localize(datetime(2024, 11, 3, 1, 30), NY) == utc(2024, 11, 3, 5, 30)
    assert localize(datetime(2024, 3, 10, 2, 30), NY) == utc(2024, 3, 10, 7)


def test_daily_job_in_spring_gap_runs_once_at_gap_end() -> None:
    expr = CronExpr.parse("30 3 * * *")
    runs = _all_runs(expr, datetime(2024, 3, 30, tzinfo=HEL), 3)
    assert [r.astimezone(HEL).strftime("%d %H:%M") for r in runs] == [
        "30 03:30",
        "31 04:00",
        "01 03:30",
    ]


def test_daily_job_in_repeated_hour_runs_once() -> None:
    expr = CronExpr.parse("30 1 * * *")
    runs = _all_runs(expr, datetime(2024, 11, 2, tzinfo=NY), 3)
    assert runs == [utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]
    # Asked from inside the second 01:xx, the 01:30 of that day is already past.
    second_pass = datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=NY)
    assert expr.next_after(second_pass) == utc(2024, 11, 4, 6, 30)
    assert expr.prev_at_or_before(second_pass) == utc(2024, 11, 3, 5, 30)


def test_minutely_job_over_spring_gap_does_not_repeat_instants() -> None:
    runs = _all_runs(CronExpr.parse("*/20 * * * *"), datetime(2024, 3, 31, 2, tzinfo=HEL), 6)
    assert [r.astimezone(HEL).strftime("%H:%M") for r in runs] == [
        "02:20",
        "02:40",
        "04:00",
        "04:20",
        "04:40",
        "05:00",
    ]


def _all_runs(expr: CronExpr, start: datetime, n: int) -> list[datetime]:
    out: list[datetime] = []
    at = start
    for _ in range(n):
        at = expr.next_after(at).astimezone(start.tzinfo)
        out.append(at.astimezone(UTC))
    return out


# -- property: next_after against a brute-force minute scan ----------------------------------------

_FIELD = st.sampled_from(["*", "*/7", "5", "1-10/3", "0,30", "*/2"])
_HOUR = st.sampled_from(["*", "*/5", "3", "1-4", "0,12,23"])
_DOM = st.sampled_from(["*", "1", "1-7", "*/10", "15,28", "L", "LW", "15W", "1,L"])
_MONTH = st.sampled_from(["*", "1-6", "*/3"])
_DOW = st.sampled_from(["*", "MON", "0,6", "1-5", "5L", "FRI#2", "SAT-SUN", "MON#1,0L"])


@settings(max_examples=120, deadline=None)
@given(
    minute=_FIELD,
    hour=_HOUR,
    dom=_DOM,
    month=_MONTH,
    dow=_DOW,
    start=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 31)),
    zone=st.sampled_from([UTC, HEL, NY]),
)
def test_next_after_is_the_first_match(
    minute: str, hour: str, dom: str, month: str, dow: str, start: datetime, zone: object
) -> None:
    expr = CronExpr.from_fields(minute, hour, dom, month, dow)
    dt = start.replace(tzinfo=zone)  # type: ignore[arg-type]
    found = expr.next_after(dt)
    assert found > dt
    # Scan real minutes (UTC) up to the answer, bounded to keep the test quick.
    scan = dt.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = min(found, scan + timedelta(days=3))
    while scan < limit:
        local = scan.astimezone(dt.tzinfo)
        assert not (expr.matches(local) and local.fold == 0), scan
        scan += timedelta(minutes=1)
    if found == localize(found.astimezone(dt.tzinfo).replace(tzinfo=None), dt.tzinfo):  # type: ignore[arg-type]
        assert expr.matches(found.astimezone(dt.tzinfo)) or _in_gap_shift(found, dt)
    prev = expr.prev_at_or_before(found.astimezone(dt.tzinfo))
    assert prev == found


def _in_gap_shift(found: datetime, dt: datetime) -> bool:
    """A match moved from a spring-forward gap lands on the first instant after it."""
    tz = dt.tzinfo
    before = (found - timedelta(microseconds=1)).astimezone(tz)
    return before.utcoffset() != found.astimezone(tz).utcoffset()


# -- beyond the five standard fields: L, W, #, seconds, ranges ending on Sunday ----------------


@pytest.mark.parametrize(
    ("expr", "normalized"),
    [
        ("0 0 L * *", "0 0 L * *"),
        ("0 0 lw * *", "0 0 LW * *"),
        ("0 0 15w,L * *", "0 0 15W,L * *"),
        ("0 0 * * FRIL", "0 0 * * 5L"),
        ("0 0 * * 7L", "0 0 * * 0L"),
        ("0 0 * * fri#2,MON#1", "0 0 * * 5#2,1#1"),
        ("0 0 * * SAT-SUN", "0 0 * * 6-7"),
        ("0 0 * * 5-0", "0 0 * * 5-7"),
        ("*/10 * * * * *", "*/10 * * * * *"),
        ("0 30 9 * * *", "0 30 9 * * *"),
    ],
)
def test_extended_syntax_normalizes(expr: str, normalized: str) -> None:
    parsed = CronExpr.parse(expr)
    assert str(parsed) == normalized
    assert CronExpr.parse(normalized) == parsed
    assert pickle.loads(pickle.dumps(parsed)) == parsed


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("0 0 32W * *", "outside 1..31"),
        ("0 0 * * FRI#6", "weeks 1..5"),
        ("0 0 * * FRI#0", "weeks 1..5"),
        ("0 0 * * 8L", "outside 0..7"),
        ("0 0 * * FOOL", "not a day"),
        ("0 0 * * L", "'day_of_week': bad token 'L'"),
        ("0 0 * L *", "'month': bad token 'L'"),
        ("0 0 L-2 * *", "'day_of_month': bad token 'L-2'"),
        ("60 0 0 * * *", "'second': bad token '60'"),
        ("* * * * * * *", "7 fields"),
        ("0 0 * * SUN-SAT-MON", "not a value"),
    ],
)
def test_extended_syntax_errors(expr: str, fragment: str) -> None:
    with pytest.raises(CronParseError, match=fragment):
        CronExpr.parse(expr)


@pytest.mark.parametrize(
    ("expr", "dt", "expected"),
    [
        # L: the last day of each month, leap years included
        ("0 0 L * *", utc(2024, 1, 15), utc(2024, 1, 31)),
        ("0 0 L * *", utc(2024, 2, 1), utc(2024, 2, 29)),
        ("0 0 L * *", utc(2025, 2, 1), utc(2025, 2, 28)),
        ("0 0 L 4 *", utc(2024, 5, 1), utc(2025, 4, 30)),
        # LW: 2024-03-31 is a Sunday, so the last weekday is Friday the 29th
        ("0 0 LW * *", utc(2024, 3, 1), utc(2024, 3, 29)),
        # 15W: 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 a Sunday -> Monday 16th
        ("0 0 15W * *", utc(2024, 6, 1), utc(2024, 6, 14)),
        ("0 0 15W * *", utc(2024, 9, 1), utc(2024, 9, 16)),
        # 1W never leaves the month: 2024-06-01 is a Saturday -> Monday the 3rd
        ("0 0 1W * *", utc(2024, 5, 31), utc(2024, 6, 3)),
        # 31W in a 30-day month is its last weekday (croniter's reading)
        ("0 0 31W * *", utc(2024, 6, 1), utc(2024, 6, 28)),
        # 5L: the last Friday; FRI#2: the second Friday
        ("0 0 * * 5L", utc(2024, 5, 1), utc(2024, 5, 31)),
        ("0 0 * * FRIL", utc(2024, 6, 1), utc(2024, 6, 28)),
        ("0 0 * * FRI#2", utc(2024, 6, 1), utc(2024, 6, 14)),
        ("0 0 * * MON#5", utc(2024, 2, 1), utc(2024, 4, 29)),
        # both day fields restricted: either matches (the 1st or the last Sunday)
        ("0 0 1 * 0L", utc(2024, 6, 2), utc(2024, 6, 30)),
        # SAT-SUN: Saturday and Sunday
        ("0 12 * * SAT-SUN", utc(2024, 6, 3), utc(2024, 6, 8, 12)),
        ("0 12 * * SAT-SUN", utc(2024, 6, 8, 12), utc(2024, 6, 9, 12)),
        # six fields: seconds first
        ("*/20 * * * * *", utc(2024, 1, 1, 9, 0, 5), utc(2024, 1, 1, 9, 0, 20)),
        ("*/20 * * * * *", utc(2024, 1, 1, 9, 0, 40), utc(2024, 1, 1, 9, 1)),
        ("30 0 9 * * *", utc(2024, 1, 1, 9, 0, 30), utc(2024, 1, 2, 9, 0, 30)),
        ("5,50 59 23 31 12 *", utc(2024, 12, 31, 23, 59, 50), utc(2025, 12, 31, 23, 59, 5)),
    ],
)
def test_extended_next_after(expr: str, dt: datetime, expected: datetime) -> None:
    parsed = CronExpr.parse(expr)
    assert parsed.next_after(dt) == expected
    assert parsed.prev_at_or_before(expected) == expected
    assert parsed.matches(expected)
    assert parsed.prev_at_or_before(expected - timedelta(microseconds=1)) != expected


def test_seconds_field_makes_each_second_an_occurrence() -> None:
    five, six = CronExpr.parse("0 9 * * *"), CronExpr.parse("0 0 9 * * *")
    assert five != six
    assert (five.unit, six.unit) == (timedelta(minutes=1), timedelta(seconds=1))
    assert (five.second, six.second) == (None, "0")
    assert six.fields == five.fields
    assert CronExpr.from_fields(minute=0, hour=9, second=0) == six
    with pytest.raises(CronParseError, match="'second' is empty"):
        CronExpr.from_fields(second="")
    assert six.prev_at_or_before(utc(2024, 1, 1, 9, 0, 59)) == utc(2024, 1, 1, 9)
    assert six.matches(utc(2024, 1, 1, 9))
    assert not six.matches(utc(2024, 1, 1, 9, 0, 1))


def test_seconds_in_a_spring_gap_happen_at_the_gap_end() -> None:
    # Helsinki 2024-03-31 03:00 -> 04:00: 03:30:15 does not exist
    expr = CronExpr.parse("15 30 3 * * *")
    start = datetime(2024, 3, 31, 2, 59, tzinfo=HEL)
    assert expr.next_after(start) == datetime(2024, 3, 31, 4, tzinfo=HEL)


@given(
    st.sampled_from(["0 0 L * *", "0 9 LW * *", "0 0 15W * *", "0 0 * * 5L", "0 0 * * 1#3"]),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
@settings(max_examples=150, deadline=None)
def test_special_days_match_their_definition(expr: str, naive: datetime) -> None:
    """Each found day is what the token means, checked by brute force over the month."""
    import calendar

    found = CronExpr.parse(expr).next_after(naive.replace(tzinfo=UTC))
    year, month, day = found.year, found.month, found.day
    length = calendar.monthrange(year, month)[1]
    weekdays = [d for d in range(1, length + 1) if calendar.weekday(year, month, d) < 5]
    token = expr.split()[2] if expr.split()[4] == "*" else expr.split()[4]
    if token == "L":
        assert day == length
    elif token == "LW":
        assert day == weekdays[-1]
    elif token == "15W":
        assert day == min(weekdays, key=lambda d: (abs(d - 15), d))
    elif token == "5L":
        fridays = [d for d in range(1, length + 1) if calendar.weekday(year, month, d) == 4]
        assert day == fridays[-1]
    else:
        mondays = [d for d in range(1, length + 1) if calendar.weekday(year, month, d) == 0]
        assert day == mondays[2]
