"""Clocks: the simulated one moves only when told; the system one reads the real time."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from skylaunch.time import clock as clock_module
from skylaunch.time.clock import Clock, SimulatedClock, SystemClock, local_zone

UTC = timezone.utc
HEL = ZoneInfo("Europe/Helsinki")


def test_simulated_clock_reads_start_and_zone() -> None:
    clock = SimulatedClock("2024-01-01T10:00:00+00:00")
    assert clock.now() == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert clock.timestamp() == clock.now().timestamp()
    naive = SimulatedClock(datetime(2024, 1, 1, 10), tz=HEL)
    assert naive.now() == datetime(2024, 1, 1, 10, tzinfo=HEL)
    assert isinstance(naive, Clock)
    assert "2024-01-01T10:00:00" in repr(naive)


def test_simulated_clock_advance_is_real_elapsed_time_over_dst() -> None:
    clock = SimulatedClock(datetime(2024, 3, 31, 2, 30, tzinfo=HEL))
    clock.advance(timedelta(hours=1))
    assert clock.now().utcoffset() == timedelta(hours=3)
    assert clock.now().replace(tzinfo=None) == datetime(2024, 3, 31, 4, 30)
    clock.sleep(60)
    assert clock.now().minute == 31
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)


def test_simulated_clock_set_refuses_going_back() -> None:
    clock = SimulatedClock("2024-01-01T10:00:00+00:00")
    clock.set("2024-01-01T11:00:00+00:00")
    assert clock.now().hour == 11
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(datetime(2024, 1, 1, 9, tzinfo=UTC))


def test_simulated_sleep_until_jumps_or_wakes() -> None:
    async def scenario() -> None:
        clock = SimulatedClock("2024-01-01T10:00:00+00:00")
        wake = asyncio.Event()
        await clock.sleep_until(datetime(2024, 1, 1, 12, tzinfo=UTC), wake)
        assert clock.now() == datetime(2024, 1, 1, 12, tzinfo=UTC)
        wake.set()
        await clock.sleep_until(datetime(2024, 1, 2, tzinfo=UTC), wake)
        assert clock.now().day == 1
        wake.clear()
        with pytest.raises(RuntimeError, match="sleep forever"):
            await clock.sleep_until(None, wake)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "start",
    ["9999-01-01T00:00:00+00:00", "9998-12-31T00:00:01+00:00", "0001-12-31T23:59:59+00:00"],
)
def test_a_simulated_clock_stays_where_the_planning_can_look(start: str) -> None:
    """Near datetime's edges a period's next cycle does not exist: a daily task at
    9999-12-29 failed its first check with OverflowError, so the clock refuses those instants."""
    with pytest.raises(ValueError, match=r"simulated clock's start: .* out of range"):
        SimulatedClock(start)


def test_a_simulated_clock_is_not_moved_past_the_last_plannable_instant() -> None:
    clock = SimulatedClock("9998-12-30T00:00:00+00:00")
    clock.advance("1 day")  # 9998-12-31 00:00 UTC, the last one: still allowed
    assert clock.now() == datetime(9998, 12, 31, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"advanced by 0:00:00.000001: .* out of range"):
        clock.advance(timedelta(microseconds=1))
    with pytest.raises(ValueError, match=r"advanced by .* out of range"):
        clock.advance(timedelta(days=9000 * 365))  # past datetime.max itself
    with pytest.raises(ValueError, match=r"instant: 9999-01-01T00:00:00.* out of range"):
        clock.set("9999-01-01T00:00:00+00:00")
    assert clock.now() == datetime(9998, 12, 31, tzinfo=UTC)  # unchanged by the refusals

    async def sleep_past() -> None:
        await clock.sleep_until(datetime(9999, 1, 1, tzinfo=UTC), asyncio.Event())

    with pytest.raises(RuntimeError, match="past 9998-12-31"):
        asyncio.run(sleep_past())
    assert clock.now() == datetime(9998, 12, 31, tzinfo=UTC)


def test_simulated_busy_sleep_returns_when_work_reports() -> None:
    async def scenario() -> None:
        clock = SimulatedClock("2024-01-01T10:00:00+00:00", settle_s=5.0)
        wake = asyncio.Event()
        asyncio.get_running_loop().call_soon(wake.set)
        await clock.sleep_until(datetime(2024, 1, 1, 12, tzinfo=UTC), wake, busy=True)
        assert clock.now().hour == 10  # woken before the deadline

    asyncio.run(scenario())


def test_system_clock_reads_wall_clock_in_zone() -> None:
    clock = SystemClock(UTC)
    assert clock.now().tzinfo is UTC
    assert abs(clock.now().timestamp() - clock.timestamp()) < 5
    assert SystemClock().tz is not None
    assert local_zone().utcoffset(datetime(2024, 1, 1)) is not None
    assert "SystemClock" in repr(clock)


def test_system_clock_sleep_until_past_deadline_returns_at_once() -> None:
    async def scenario() -> None:
        clock = SystemClock(UTC)
        wake = asyncio.Event()
        await clock.sleep_until(datetime(2000, 1, 1, tzinfo=UTC), wake)
        wake.set()
        await clock.sleep_until(None, wake)

    asyncio.run(scenario())


def test_system_clock_keeps_one_timer_across_sleeps_with_the_same_deadline() -> None:
    """A task's far time limit is the deadline of every sleep: no timer per sleep."""

    async def scenario() -> None:
        clock = SystemClock(UTC)
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        # (within _RECHECK_S: a farther deadline is slept towards _RECHECK_S at a time)
        far = datetime.fromtimestamp(clock.timestamp() + 0.9, UTC)
        loop.call_soon(wake.set)
        await clock.sleep_until(far, wake)
        first = clock._alarms[wake]
        assert not first.handle.cancelled()
        for _ in range(3):
            wake.clear()
            loop.call_soon(wake.set)
            await clock.sleep_until(far + timedelta(seconds=0.05), wake)  # later: reused
            assert clock._alarms[wake] is first
        wake.clear()
        loop.call_soon(wake.set)
        await clock.sleep_until(far - timedelta(seconds=0.5), wake)  # earlier: replaced
        assert clock._alarms[wake] is not first
        assert first.handle.cancelled()
        # the alarm does wake a sleeper that nothing else wakes
        wake.clear()
        soon = datetime.fromtimestamp(clock.timestamp() + 0.03, UTC)
        await asyncio.wait_for(clock.sleep_until(soon, wake), 5)
        assert clock._alarms[wake].rung

    asyncio.run(scenario())


class _SteppedClock(SystemClock):
    """The system clock plus ``offset`` seconds: time the event loop's monotonic timers did
    not see pass (the host suspended, a paused VM, an NTP step)."""

    def __init__(self) -> None:
        super().__init__(UTC)
        self.offset = 0.0

    def _wall(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall(), self.tz)

    def timestamp(self) -> float:
        return self._wall()

    def instant(self) -> tuple[datetime, float]:
        now = self.now()
        return now, now.timestamp()


def test_system_clock_reads_the_time_again_while_it_sleeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by probing: the loop's timers run on the monotonic clock, which stands still
    while the host is suspended; a sleep towards a run due an hour later, the host suspended
    for that hour, went on for another hour after it woke. It now reads the time every
    _RECHECK_S (5 s; 0.5 s here): a run due during the pause starts that soon after."""
    monkeypatch.setattr(clock_module, "_RECHECK_S", 0.5)

    async def scenario() -> None:
        clock = _SteppedClock()
        wake = asyncio.Event()
        due = datetime.fromtimestamp(clock.timestamp() + 3600, UTC)
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, setattr, clock, "offset", 3600.0)  # "an hour of suspend"
        started = time.monotonic()
        while clock.now() < due:
            await asyncio.wait_for(clock.sleep_until(due, wake), 5)
            wake.clear()
        assert time.monotonic() - started < 1.5

    asyncio.run(scenario())


def test_a_scheduler_runs_what_fell_due_while_the_host_was_suspended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from skylaunch import App
    from skylaunch.conds import every

    monkeypatch.setattr(clock_module, "_RECHECK_S", 0.5)
    clock = _SteppedClock()
    app = App(config={"execution": "main"}, clock=clock)
    runs: list[float] = []

    @app.task(every("1 hour"))
    def hourly() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:  # the host "sleeps for an hour" once the scheduler sleeps
            threading.Timer(0.3, setattr, (clock, "offset", 3600.0)).start()
        else:
            app.session.shut_down()

    app.run()  # (without the fix: no end for an hour)
    assert len(runs) == 2
    assert 0.3 <= runs[1] - runs[0] < 1.5


def test_system_clock_shared_by_two_schedulers_wakes_each_at_its_deadline() -> None:
    async def scenario() -> None:
        clock = SystemClock(UTC)
        early, late = asyncio.Event(), asyncio.Event()
        soon = clock.timestamp() + 0.03
        sleepers = [
            asyncio.create_task(clock.sleep_until(datetime.fromtimestamp(soon, UTC), early)),
            asyncio.create_task(clock.sleep_until(datetime.fromtimestamp(soon + 60, UTC), late)),
        ]
        await asyncio.wait_for(sleepers[0], 5)  # not cancelled by the other's later alarm
        assert not sleepers[1].done()
        sleepers[1].cancel()
        assert clock._alarms[early].rung
        assert not clock._alarms[late].rung

    asyncio.run(scenario())


def test_simulated_clock_moves_through_a_fold() -> None:
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from skylaunch.time.clock import SimulatedClock

    zone = ZoneInfo("Europe/Helsinki")
    clock = SimulatedClock(datetime(2024, 10, 27, 3, 30, tzinfo=zone))  # first 03:30 (EEST)
    later = datetime(2024, 10, 27, 3, 10, fold=1, tzinfo=zone)  # second 03:10 (EET), 40 min on

    async def sleep() -> None:
        await clock.sleep_until(later, asyncio.Event())

    asyncio.run(sleep())
    assert clock.timestamp() == later.timestamp()
    clock.set(
        datetime(2024, 10, 27, 3, 20, fold=1, tzinfo=zone)
    )  # forwards, though "earlier" on the wall
    assert clock.now().fold == 1


def test_simulated_clock_advances_by_text_durations() -> None:
    from skylaunch.time.clock import SimulatedClock

    clock = SimulatedClock("2024-01-01T10:00:00+00:00")
    clock.advance("1 hour 30 minutes")
    assert clock.now().isoformat() == "2024-01-01T11:30:00+00:00"
    with pytest.raises(ValueError):
        clock.advance("soonish")


class _Wall:
    """The clock module's ``time``, its ``time()`` handing out chosen readings."""

    def __init__(self, readings: list[float]) -> None:
        self.readings = list(reversed(readings))

    def time(self) -> float:
        return self.readings.pop()


@pytest.mark.parametrize(
    "tz",
    [UTC, timezone(timedelta(hours=3)), timezone(-timedelta(hours=9, minutes=30)), HEL],
    ids=str,
)
def test_system_clock_instant_is_now_and_exactly_its_timestamp(
    tz: timezone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``instant()`` (one a scheduler pass) gives a datetime in the clock's zone and, to the
    last bit of the float, that datetime's ``timestamp()``; the datetime is the reading
    rounded to the microsecond: across the years, at the edges of a microsecond, in a fixed
    offset and around a change of daylight saving time (1_711_846_800: Helsinki's spring
    change in 2024; 1_729_987_200: its autumn change, an hour read twice), and past 2242,
    where the two are taken the long way."""
    import skylaunch.time.clock as clock_module

    seconds = [
        0,
        1,
        86_399,
        1_700_000_000,
        1_711_846_799,
        1_711_846_800,
        1_729_983_600,
        1_729_987_199,
        1_729_987_200,
        4_102_444_800,
        2**33 - 1,
        2**33 + 7,
    ]
    fractions = (0.0, 1e-6, 7e-6, 0.499_999_4, 0.499_999_6, 0.5, 0.999_999, 0.999_999_7)
    readings = [s + f for s in seconds for f in fractions]
    monkeypatch.setattr(clock_module, "time", _Wall(readings))
    clock = SystemClock(tz)
    for reading in readings:
        now, ts = clock.instant()
        assert now.tzinfo is tz
        assert type(ts) is float
        assert ts == now.timestamp()
        expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(reading * 1e6))
        # the same instant (in UTC: in a zone's repeated hour, == across zones is False)
        assert now.astimezone(UTC) == expected, reading
        assert now.utcoffset() == tz.utcoffset(now)
        assert abs(ts - reading) <= 1e-6


def test_system_clock_instant_follows_a_new_zone() -> None:
    clock = SystemClock(UTC)
    assert clock.instant()[0].tzinfo is UTC
    east = timezone(timedelta(hours=2))
    clock.tz = east
    now, ts = clock.instant()
    assert now.tzinfo is east
    assert ts == now.timestamp()
    clock.tz = HEL
    now, ts = clock.instant()
    assert now.tzinfo is HEL
    assert ts == now.timestamp()


@pytest.fixture
def helsinki_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set the process's local zone (``TZ``, ``time.tzset``) for a test; restored after."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX")

    def use(value: str) -> None:
        monkeypatch.setenv("TZ", value)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "tz_env",
    [
        "Europe/Helsinki",
        ":Europe/Helsinki",
        "/usr/share/zoneinfo/Europe/Helsinki",
        "linked",  # a link to the zone's file (as /etc/localtime usually is)
        "copied",  # a copy of it (no zone name to be found)
    ],
)
def test_the_default_local_zone_follows_dst(
    helsinki_tz: Callable[[str], None], tmp_path: Path, tz_env: str
) -> None:
    # A probe: the default zone (config.timezone None) was the local zone's offset at start-up
    # (datetime.now().astimezone().tzinfo): a scheduler started in winter read `daily.at(...)`
    # an hour off all summer.
    source = Path("/usr/share/zoneinfo/Europe/Helsinki")
    if not source.exists():
        pytest.skip("no system zoneinfo")
    if tz_env == "linked":
        (tmp_path / "localtime").symlink_to(source)
        tz_env = str(tmp_path / "localtime")
    elif tz_env == "copied":
        shutil.copyfile(source, tmp_path / "localtime")
        tz_env = str(tmp_path / "localtime")
    helsinki_tz(tz_env)
    for zone in (local_zone(), SystemClock().tz):
        assert datetime(2024, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=2)
        assert datetime(2024, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=3)
        spring = datetime(2024, 3, 31, tzinfo=zone).timestamp()
        assert datetime(2024, 4, 1, tzinfo=zone).timestamp() - spring == 23 * 3600
    clock = SystemClock()
    now, ts = clock.instant()
    assert now.utcoffset() == datetime.now().astimezone().utcoffset()
    assert abs(ts - time.time()) < 5


@pytest.mark.parametrize("tz_env", ["UTC", "Etc/UTC", "", "Etc/GMT-3"])
def test_a_local_zone_without_dst_stays_a_fixed_offset(
    helsinki_tz: Callable[[str], None], tz_env: str
) -> None:
    # (SystemClock.instant's fast path is for fixed offsets: UTC servers keep it.)
    helsinki_tz(tz_env)
    zone = local_zone()
    assert type(zone) is timezone
    assert zone.utcoffset(None) == datetime.now().astimezone().utcoffset()


def test_an_unknown_local_zone_falls_back_to_the_current_offset(
    helsinki_tz: Callable[[str], None],
) -> None:
    helsinki_tz("XYZ-5:30")  # a POSIX rule no zone database names
    zone = local_zone()
    assert zone.utcoffset(datetime(2024, 1, 1)) == timedelta(hours=5, minutes=30)
