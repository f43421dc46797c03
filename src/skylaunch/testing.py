"""Helpers to test schedules without waiting: simulated time, seeded history, "is it due, and why?".

>>> from skylaunch.testing import simulated_app, run_until, runs
>>> from skylaunch.conds import daily
>>> app = simulated_app("2024-01-01 00:00", tz="UTC")
>>> @app.task(daily.at("10:00"))
... def report(): ...
>>> run_until(app, "2024-01-03 00:00")
>>> [t.isoformat() for t in runs(app, "report")]
['2024-01-01T10:00:00+00:00', '2024-01-02T10:00:00+00:00']
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from skylaunch.app import App
from skylaunch.conds.base import EVERY_PASS, AlwaysFalse, Condition, Context, label
from skylaunch.control import Explanation, explain
from skylaunch.execution.base import Executor
from skylaunch.history import ACTIONS, Action
from skylaunch.session import Session
from skylaunch.time.clock import SimulatedClock, _plannable
from skylaunch.time.parse import to_timedelta

__all__ = [
    "Explanation",
    "Record",
    "Stalled",
    "downtime",
    "evaluate",
    "explain",
    "is_due",
    "run_for",
    "run_until",
    "runs",
    "seed",
    "simulated_app",
    "stalled",
]


def _zone(tz: tzinfo | str | None) -> tzinfo | None:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def simulated_app(
    start: datetime | str = "2024-01-01 00:00",
    *,
    tz: tzinfo | str | None = "UTC",
    config: Mapping[str, Any] | None = None,
    executors: Mapping[str, Executor] | None = None,
    **config_kwargs: Any,
) -> App:
    """An App on a :class:`SimulatedClock` starting at ``start`` (naive values read in ``tz``).

    Tasks run in the main thread unless told otherwise, so a run happens at the virtual
    instant it starts; a restart runs the loop again in this process (``restarting="recall"``).
    """
    zone = _zone(tz)
    settings = {"execution": "main", "restarting": "recall", **(config or {}), **config_kwargs}
    if zone is not None and isinstance(tz, str):
        settings.setdefault("timezone", zone)
    return App(config=settings, clock=SimulatedClock(start, tz=zone), executors=executors)


def _session(target: App | Session) -> Session:
    return target.session if isinstance(target, App) else target


def _instant(session: Session, value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=session.clock.tz)
    return value


def _clock(session: Session) -> SimulatedClock:
    clock = session.clock
    if not isinstance(clock, SimulatedClock):
        raise TypeError("this helper needs a session on a SimulatedClock (see simulated_app)")
    return clock


def run_until(target: App | Session, end: datetime | str) -> None:
    """Run the scheduler on its simulated clock until ``end`` (or until it shuts down)."""
    session = _session(target)
    _warn_future(session, _clock(session))
    until = _instant(session, end)
    _plannable(until, "run_until's end")
    session.start(until=until)


def run_for(target: App | Session, duration: timedelta | float | str) -> None:
    """Run the scheduler for ``duration`` of simulated time from the clock's current instant."""
    session = _session(target)
    clock = _clock(session)
    _warn_future(session, clock)
    step = to_timedelta(duration)
    try:
        end = (clock.now().astimezone(timezone.utc) + step).astimezone(clock.tz)
    except OverflowError:
        end = datetime.max.replace(tzinfo=timezone.utc)
    _plannable(end, f"run_for({duration!r}) ends")
    session.start(until=end)


def downtime(target: App | Session, duration: timedelta | float | str) -> None:
    """Move the simulated clock ``duration`` ahead with no scheduler running.

    What a stopped process, or a failover with no active replica, looks like to the
    conditions: the windows in between pass without runs (see ``catch_up``,
    docs/conditions.md). Call it between two :func:`run_for`/:func:`run_until`.
    """
    session = _session(target)
    if session.scheduler.is_running:
        raise RuntimeError("downtime() is for a stopped scheduler: call it between two runs")
    _clock(session).advance(to_timedelta(duration))


def _warn_future(session: Session, clock: SimulatedClock) -> None:
    """Warn when the history holds records later than the clock (seeded from the future)."""
    now = clock.timestamp()
    late = sorted(
        name
        for name in session.history.task_names()
        if (last := session.history.of(name).last_time) is not None and last > now
    )
    if late:
        warnings.warn(
            f"the history of {', '.join(map(repr, late))} has records later than the simulated "
            f"clock ({clock.now().isoformat()}): the scheduler sees them as already logged. "
            "Seed only the past, or start the app at a later instant",
            UserWarning,
            stacklevel=3,
        )


def runs(target: App | Session, task: str, action: Action = "run") -> list[datetime]:
    """When ``task`` logged ``action`` (default: its starts), oldest first, in the session zone."""
    session = _session(target)
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}; got {action!r}")
    tz = session.clock.tz
    return [datetime.fromtimestamp(ts, tz) for ts in session.history.of(task).times(action)]


Record = tuple[datetime | str, Action] | tuple[datetime | str, Action, str | None]
"""A seeded record: ``(when, action)`` or ``(when, action, run_id)``."""


def seed(target: App | Session, task: str, records: Iterable[Record]) -> None:
    """Give ``task`` a past: ``seed(app, "report", [("2024-01-01 10:00", "run"), (..., "success")])``.

    The records go to the history and, like real ones, through the task logger into the repo,
    in the order given: records at one instant keep that order (``retry`` reads it), and a
    record earlier than one seeded before it is refused. A third item gives the run id;
    without it a ``run`` gets an id of its own and an end closes the task's oldest open run,
    also one seeded by an earlier call. Records may lie after the clock's now (to ask
    :func:`is_due` about a later instant), but :func:`run_for` and :func:`run_until` warn
    about them: a scheduler would see runs from its future.
    """
    session = _session(target)
    numbering = _seed_numbers.setdefault(session, itertools.count())
    last: datetime | None = None
    for record in records:
        if len(record) not in (2, 3):
            raise ValueError(
                f"a seeded record is (when, action) or (when, action, run_id); got {record!r}"
            )
        when, action = _instant(session, record[0]), record[1]
        run_id: str | None = record[2] if len(record) == 3 else None
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}; got {action!r}")
        if last is not None and when < last:
            raise ValueError(
                f"seed({task!r}): records go in the order they happened; {when.isoformat()} "
                f"comes after {last.isoformat()}"
            )
        last = when
        ts = when.timestamp()
        if action == "run":
            run_id = run_id or f"seed-{task}-{next(numbering)}"
            session.journal.record(task, "run", run_id, when, ts=ts)
            continue
        running = session.history.of(task).running
        if run_id is None and running:
            run_id = min(running, key=running.__getitem__) or None
        start_ts = running.get(run_id or "", ts)
        start = datetime.fromtimestamp(start_ts, when.tzinfo)
        session.journal.record(task, action, run_id, start, ts=ts)


# per session: seeded run ids stay unique across calls
_seed_numbers: weakref.WeakKeyDictionary[Session, itertools.count[int]] = (
    weakref.WeakKeyDictionary()
)


def evaluate(
    cond: Condition | str,
    at: datetime | str,
    history: Mapping[str, Iterable[Record]] | None = None,
    *,
    task: str = "task",
    tz: tzinfo | str = "UTC",
) -> Explanation:
    """Whether ``cond`` holds for ``task`` at ``at``, given ``history``, and why.

    No app to define: ``evaluate("daily after 10:00", "2024-01-02 11:00", {"task": [...]})``.
    ``history`` maps task names to records as :func:`seed` takes them; the task the condition
    is checked for is ``task`` (the one ``daily`` or ``retry`` speak of), and every task named
    in the history or the condition exists. Naive instants are read in ``tz``.
    """
    app = simulated_app(at, tz=tz)
    session = app.session
    if isinstance(cond, str):
        cond = session.grammar.parse(cond)
    names = {task, *(history or {})}
    names.update(name for name in cond.watches(task) if name != EVERY_PASS)
    for name in sorted(names):
        app.task(name=name, func=_nothing)
    for name, records in (history or {}).items():
        seed(app, name, records)
    return explain(cond, Context(session.clock.now(), session, session[task]))


def _nothing() -> None:
    """The body of the tasks :func:`evaluate` makes: they never run."""


def is_due(target: App | Session, task: str, at: datetime | str | None = None) -> Explanation:
    """Whether ``task``'s start condition holds at ``at`` (default: the clock's now), and why.

    ``bool(is_due(...))`` is the answer; ``print(is_due(...))`` shows each part's value.
    """
    session = _session(target)
    now = session.clock.now() if at is None else _instant(session, at).astimezone(session.clock.tz)
    the_task = session[task]
    return explain(the_task.start_cond, Context(now, session, the_task))


@dataclass(frozen=True)
class Stalled:
    """A task its condition will never start again unless some task's history changes."""

    task: str
    #: its start condition, in the string syntax
    condition: str
    #: the other tasks whose actions may make it due; empty when none can (only running it by
    #: hand, or giving it another condition, will)
    waits_for: tuple[str, ...]

    def __str__(self) -> str:
        waits = ", ".join(repr(n) for n in self.waits_for) if self.waits_for else "nothing"
        return f"{self.task!r} ({self.condition}) waits for {waits}"


def stalled(target: App | Session, at: datetime | str | None = None) -> list[Stalled]:
    """The tasks that can never run again by their condition unless a task's history changes.

    Each is false at ``at`` (default: the clock's now) and its ``next_change`` is "never": time
    alone will not make it due. That is expected of a task waiting for another
    (``after_success("extract")``: ``waits_for`` names it) and a sign of a schedule that ended
    for good when ``waits_for`` is empty. Left out: disabled, running and start-up/shutdown
    tasks, tasks whose condition is ``false`` (run by hand only) and tasks looked at on every
    scheduler pass (parameters, cycles).
    """
    session = _session(target)
    now = session.clock.now() if at is None else _instant(session, at).astimezone(session.clock.tz)
    handles = session.scheduler.running_handles
    found: list[Stalled] = []
    for task in session.tasks_in_order():
        cond = task.start_cond
        if (
            task.disabled
            or task.batches
            or task.on_startup
            or task.on_shutdown
            or isinstance(cond, AlwaysFalse)
            or handles.get(task.name)
        ):
            continue
        watches = cond.watches(task.name)
        if EVERY_PASS in watches:
            continue
        ctx = Context(now, session, task)
        if cond.is_true(ctx) or cond.next_change(ctx) is not None:
            continue
        waits = tuple(sorted(watches - {task.name}))
        found.append(Stalled(task.name, label(cond), waits))
    return found
