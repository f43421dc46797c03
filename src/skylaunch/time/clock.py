"""Clocks: the only place that reads the wall clock or really sleeps.

Everything else in skylaunch asks the session's clock for ``now()`` and sleeps through
``sleep_until``, so a :class:`SimulatedClock` can run a whole day of schedule in milliseconds.
Instants are aware datetimes in the clock's zone (``tz``).
"""

from __future__ import annotations

import os
import time
import weakref
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from skylaunch.time.parse import to_timedelta

if TYPE_CHECKING:
    import asyncio

__all__ = ["Clock", "SimulatedClock", "SystemClock", "local_zone"]

_UTC = timezone.utc
# instant(): below 2**33 seconds after the epoch (the year 2242), half a float's step is
# under half a microsecond, so whole microseconds over 10**6 turn back into the same datetime
_EXACT_US = 2**33 * 1_000_000
#: Real seconds before a deadline at which the system clock stops sleeping and starts yielding.
_SPIN_S = 0.002
#: The longest the system clock sleeps towards a deadline before it reads the time again. The
#: event loop's timers run on the monotonic clock, which stands still while the host is
#: suspended (a laptop asleep, a paused VM) and does not follow a step of the wall clock (NTP);
#: without a fresh reading, a run due during the pause started up to as much later as the
#: pause was long. With it, at most this much later. Each early wake-up is one empty look
#: (~0.3 ms of CPU with 10,000 tasks waiting on the 2-core bench machine): Celery beat
#: re-reads its schedule every 5 minutes by default, Rocketry polls without pause.
_RECHECK_S = 5.0
# The instants the planning can look at: a year inside datetime's range on either side, so the
# periods' arithmetic (the cycles before and after an instant, a zone's offset) stays inside it.
# A simulated clock stays between them; control's why/next_run/upcoming refuse what is outside.
_EARLIEST_AT = datetime(2, 1, 1, tzinfo=_UTC)
_LATEST_AT = datetime(9998, 12, 31, tzinfo=_UTC)


def _plannable(value: datetime, what: str) -> None:
    """ValueError unless the aware ``value`` lies between ``_EARLIEST_AT`` and ``_LATEST_AT``.

    Compared as given: converting an instant at datetime's edge to UTC may overflow.
    """
    if not _EARLIEST_AT <= value <= _LATEST_AT:
        raise ValueError(
            f"{what}: {value.isoformat()} is out of range; give an instant between "
            f"{_EARLIEST_AT.date()} and {_LATEST_AT.date()} (UTC), the instants the planning "
            "can look at"
        )


#: Names of zones that are one fixed offset for ever (besides ``Etc/...``): kept as that offset.
_FIXED_NAMES = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu"}
)


def local_zone() -> tzinfo:
    """The system's local zone, following its daylight saving time.

    The zone the C library reads (``TZ``, else ``/etc/localtime``) as a ``ZoneInfo``, by its
    name where the system gives one, else from the zone file itself. A zone that is one offset
    for ever (UTC, ``Etc/GMT-3``), or one not found or not agreeing with the C library's
    current offset (a POSIX ``TZ`` rule, Windows), is that current fixed offset (a
    ``datetime.timezone``, ``datetime.astimezone``'s): it does not follow a DST change.
    """
    fixed = datetime.now().astimezone().tzinfo
    assert fixed is not None
    try:
        zone = _named_local_zone()
    except (OSError, ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        zone = None
    if zone is None or datetime.now(zone).utcoffset() != fixed.utcoffset(None):
        return fixed
    return zone


def _named_local_zone() -> tzinfo | None:
    """The IANA zone ``TZ`` or ``/etc/localtime`` stands for, or None for a fixed one.

    (``zoneinfo`` is imported only for a zone with DST: a UTC server's sessions do without.)
    """
    spec = os.environ.get("TZ")
    if spec == "":
        return None  # the C library reads an empty TZ as UTC
    if spec is not None:
        spec = spec.removeprefix(":")
    path = "/etc/localtime" if spec is None else spec
    if not path.startswith("/"):
        name = path
    else:
        real = os.path.realpath(path)
        _, found, name = real.rpartition("/zoneinfo/")
        if not found:  # a copied file: no name, but the rules are in it
            from zoneinfo import ZoneInfo

            with open(real, "rb") as file:
                return ZoneInfo.from_file(file, key="localtime")
    if name in _FIXED_NAMES or name.startswith("Etc/"):
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@runtime_checkable
class Clock(Protocol):
    """Where the scheduler gets the time from."""

    tz: tzinfo

    def now(self) -> datetime:
        """The current instant, aware, in ``tz``."""
        ...

    def timestamp(self) -> float:
        """The current instant as POSIX seconds (cheap; used on hot paths)."""
        ...

    async def sleep_until(
        self, deadline: datetime | None, wake: asyncio.Event, *, busy: bool = False
    ) -> None:
        """Return at ``deadline`` (``None``: never by itself) or as soon as ``wake`` is set.

        ``busy`` says work runs outside the loop (threads, processes) whose end will set
        ``wake``; a real clock ignores it, a simulated one lets that work finish first.
        """
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` of this clock's time."""
        ...


class _Alarm:
    """A pending timer of :class:`SystemClock` that sets a scheduler's wake event at ``at``."""

    __slots__ = ("at", "handle", "loop", "rung", "wake")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event, at: float, wall: float
    ) -> None:
        self.loop = loop
        self.wake = wake
        self.at = at
        self.rung = False
        self.handle = loop.call_later(max(0.0, at - wall), self._ring)

    def _ring(self) -> None:
        self.rung = True
        self.wake.set()


class SystemClock:
    """The real clock. ``tz`` defaults to the system's local zone."""

    virtual = False
    """Whether time stands still while the scheduler works (only a simulated clock's does)."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz: tzinfo = tz if tz is not None else local_zone()
        # One pending timer per scheduler (its wake event): a clock may serve several.
        self._alarms: weakref.WeakKeyDictionary[asyncio.Event, _Alarm] = weakref.WeakKeyDictionary()

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def timestamp(self) -> float:
        return time.time()

    def instant(self) -> tuple[datetime, float]:
        """``now()`` and its ``timestamp()``, cheaper than the two calls (one a pass).

        The instant is read as a whole number of microseconds (what a datetime holds) and
        both are made from it: the float is that number over 10**6, correctly rounded, which
        is what ``timestamp()`` of the datetime computes; and the datetime made from the
        float is that same microsecond while half a float's step at that size is under half
        a microsecond (until the year 2242; later readings take the two calls). Taking
        ``timestamp()`` of ``now()`` instead costs a timedelta's exact arithmetic in Python
        integers, in every zone. (The scheduler's loop reads the float alone the same way
        and makes the datetime only when a pass needs it.)
        """
        tz = self.tz
        reading = time.time()
        us = round(reading * 1_000_000)
        if us < _EXACT_US:
            ts = us / 1_000_000
            return datetime.fromtimestamp(ts, tz), ts
        now = datetime.fromtimestamp(reading, tz)
        return now, now.timestamp()

    async def sleep_until(
        self, deadline: datetime | None, wake: asyncio.Event, *, busy: bool = False
    ) -> None:
        import asyncio  # loaded by the scheduler's loop, not by ``import skylaunch``

        if wake.is_set():
            return
        wall = self._wall
        timeout = None if deadline is None else max(0.0, deadline.timestamp() - wall())
        if timeout == 0.0:
            await asyncio.sleep(0)  # still let the loop run ready callbacks
            return
        if timeout is not None and timeout <= _SPIN_S:
            # epoll sleeps in whole milliseconds rounded up, and the thread then has to be
            # scheduled: the last stretch is spent yielding to the loop, so a run starts at
            # its instant rather than 1-2 ms later (and ``every`` does not drift by as much).
            end = wall() + timeout
            while not wake.is_set() and wall() < end:
                await asyncio.sleep(0)
            return
        if timeout is not None:
            # no longer than _RECHECK_S at a time: the time is read again then (see there)
            self._set_alarm(wake, wall() + min(timeout - _SPIN_S, _RECHECK_S))
        await wake.wait()

    def _wall(self) -> float:
        """The wall clock's reading (POSIX seconds) the sleeps are measured against."""
        return time.time()

    def _set_alarm(self, wake: asyncio.Event, at: float) -> None:
        """Make sure ``wake`` is set by ``at`` (POSIX seconds), reusing the pending timer.

        The timer outlives the sleep that made it: a scheduler that sleeps between every run
        with the same far deadline (a task's time limit) would otherwise create and cancel a
        timer per run. A timer that fires earlier than needed is kept: its early wake-up costs
        the scheduler one empty look, less than a timer per sleep.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        alarm = self._alarms.get(wake)
        if alarm is not None:
            if alarm.loop is loop and not alarm.rung and alarm.at <= at:
                return
            alarm.handle.cancel()
        self._alarms[wake] = _Alarm(loop, wake, at, self._wall())

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"SystemClock(tz={self.tz!r})"


class SimulatedClock:
    """A clock that only moves when told to, or when the scheduler sleeps.

    ``sleep_until`` jumps straight to the deadline, so a scheduler on this clock runs through
    virtual time as fast as the CPU allows. While work runs outside the event loop (``busy``),
    it first waits up to ``settle_s`` real seconds for that work to report, so thread and
    process tasks finish at the virtual instant they started unless they run long.
    """

    virtual = True

    def __init__(
        self, start: datetime | str, tz: tzinfo | None = None, *, settle_s: float = 5.0
    ) -> None:
        if isinstance(start, str):
            start = datetime.fromisoformat(start)
        if tz is None:
            tz = start.tzinfo if start.tzinfo is not None else local_zone()
        if start.tzinfo is None:
            start = start.replace(tzinfo=tz)
        _plannable(start, "a simulated clock's start")
        self._tz: tzinfo = tz
        self._now = start.astimezone(tz)
        self.settle_s = settle_s

    @property
    def tz(self) -> tzinfo:
        """The zone ``now()`` answers in; setting it keeps the instant, not the wall time."""
        return self._tz

    @tz.setter
    def tz(self, value: tzinfo) -> None:
        self._tz = value
        self._now = self._now.astimezone(value)

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def set(self, instant: datetime | str) -> None:
        """Move to ``instant`` (naive values are read in ``tz``); it may not go backwards."""
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=self.tz)
        _plannable(instant, "a simulated clock's instant")
        if instant.timestamp() < self._now.timestamp():
            raise ValueError(f"a simulated clock does not go back: {instant} < {self._now}")
        self._now = instant.astimezone(self.tz)

    def advance(self, delta: timedelta | float | str) -> None:
        """Move forward by ``delta`` (a timedelta, seconds or ``"1 hour"``) of real time."""
        if isinstance(delta, str):
            delta = to_timedelta(delta)
        elif not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError(f"a simulated clock does not go back: {delta}")
        try:
            moved = self._now.astimezone(_UTC) + delta
        except OverflowError:
            moved = datetime.max.replace(tzinfo=_UTC)
        _plannable(moved, f"a simulated clock advanced by {delta}")
        self._now = moved.astimezone(self.tz)

    async def sleep_until(
        self, deadline: datetime | None, wake: asyncio.Event, *, busy: bool = False
    ) -> None:
        import asyncio

        # Let ready callbacks (finished async tasks, thread callbacks) run first.
        await asyncio.sleep(0)
        if wake.is_set():
            return
        if busy:
            try:
                await asyncio.wait_for(wake.wait(), self.settle_s)
            except asyncio.TimeoutError:
                pass
            if wake.is_set():
                return
        if deadline is None:
            if busy:
                return
            raise RuntimeError(
                "the scheduler would sleep forever on a simulated clock: nothing is due ever "
                "again and no shut_cond ends the run (give shut_cond or an end time)"
            )
        if deadline.timestamp() > self._now.timestamp():
            if not deadline <= _LATEST_AT:
                raise RuntimeError(
                    f"the scheduler would sleep until {deadline.isoformat()} on a simulated "
                    f"clock, past {_LATEST_AT.date()}, the last instant the planning can look "
                    "at (end the run earlier: an end time or shut_cond)"
                )
            self._now = deadline.astimezone(self.tz)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now.isoformat()!r})"
