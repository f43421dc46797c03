"""See what a scheduler does and why, and steer it while it runs: one model, three surfaces.

:class:`Controller` (``app.control``) answers from the session's restored history:

- :meth:`Controller.tasks`: each task's condition, execution, status, last run and outcome,
  and :class:`NextRun` (the exact instant from the condition's ``next_change``, "waiting for
  task X", or "never");
- :meth:`Controller.why`: the condition's :class:`Explanation` tree, each part's value and next
  change;
- :meth:`Controller.upcoming`: the runs of the coming hours, computed on a simulated copy of
  the session that assumes every run succeeds at once;
- control: :meth:`~Controller.run` (with parameters), :meth:`~Controller.disable`,
  :meth:`~Controller.enable`, :meth:`~Controller.pause`, :meth:`~Controller.resume`,
  :meth:`~Controller.terminate`, :meth:`~Controller.shut_down`.

Every call is safe from any thread: when the scheduler runs in another thread (``app.start()``)
the work is handed to its event loop and the caller waits for the answer. The CLI
(``skylaunch tasks``) and the HTTP API (:mod:`skylaunch.http`) are views of these dataclasses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from skylaunch._scheduler import _unsure
from skylaunch.conds.base import EVERY_PASS, All, AlwaysFalse, Condition, Context, Not, label
from skylaunch.conds.base import Any as AnyCond
from skylaunch.exc import SkylaunchError
from skylaunch.history import ACTIONS, Action
from skylaunch.log._restore import restore_recent, restore_times
from skylaunch.session import Session
from skylaunch.time.clock import _LATEST_AT, SimulatedClock, _plannable

if TYPE_CHECKING:
    from skylaunch.tasks.base import Task

__all__ = [
    "ControlTimeout",
    "Controller",
    "Explanation",
    "LastRun",
    "NextKind",
    "NextRun",
    "ReplicaState",
    "SchedulerState",
    "Status",
    "TaskState",
    "Upcoming",
    "UpcomingRun",
    "Why",
    "as_json",
    "explain",
    "label",
]

T = TypeVar("T")

Status = Literal["idle", "running", "disabled", "paused"]
"""A task's status: ``running`` (a run is going on), ``disabled``, ``paused`` (the scheduler is
paused, so its condition starts nothing), else ``idle``."""

NextKind = Literal["due", "at", "queued", "running", "waiting", "polled", "never", "disabled"]

#: How many instants :class:`NextRun` looks at before it answers "polled" (an opaque condition).
_MAX_LOOKS = 1000
#: The scheduler looks again this long after a condition said it changes "now" (see scheduler).
_MIN_REPLAN_S = 0.001
#: Real seconds the simulation of :meth:`Controller.upcoming` may take before it stops early.
_SIMULATION_BUDGET_S = 10.0
_SIM_TASK_LOGGER = "skylaunch-upcoming.task"
_SIM_SCHEDULER_LOGGER = "skylaunch-upcoming.scheduler"


_ONE_US = timedelta(microseconds=1)


def _in_range(value: datetime, tz: tzinfo | None, what: str) -> datetime:
    """``value`` made aware (a naive one in ``tz``), or ValueError outside the instants the
    planning can look at (its arithmetic would overflow near datetime's edges)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    _plannable(aware, what)
    return aware


class ControlTimeout(SkylaunchError, TimeoutError):
    """The scheduler's loop did not answer in time (busy with a run in its own thread?)."""


@dataclass(frozen=True)
class Explanation:
    """A condition's value at an instant, with the values of its parts."""

    condition: str
    value: bool
    next_change: datetime | None = None
    parts: tuple[Explanation, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.value

    def lines(self, depth: int = 0) -> list[str]:
        note = f"  (may change at {self.next_change.isoformat()})" if self.next_change else ""
        out = [f"{'  ' * depth}{'TRUE ' if self.value else 'FALSE'} {self.condition}{note}"]
        for part in self.parts:
            out.extend(part.lines(depth + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def explain(cond: Condition, ctx: Context) -> Explanation:
    """Evaluate ``cond`` and each of its parts at ``ctx.now``."""
    parts: tuple[Explanation, ...] = ()
    if isinstance(cond, (All, AnyCond)):
        parts = tuple(explain(c, ctx) for c in cond.conds)
    elif isinstance(cond, Not):
        parts = (explain(cond.cond, ctx),)
    change = cond.next_change(ctx)
    if change is not None:  # shown in the session's zone, whatever zone the condition used
        change = change.astimezone(ctx.now.tzinfo)
    return Explanation(label(cond), cond.is_true(ctx), change, parts)


@dataclass(frozen=True)
class NextRun:
    """When a task runs next by its condition, as far as time alone tells.

    ``kind``: ``due`` (its condition holds: the next pass starts it, ``at`` is now), ``at``
    (at the instant ``at``), ``queued`` (a run asked for with ``run()`` waits for the next
    pass), ``running`` (decided when the current run ends), ``waiting`` (only an action of a
    task of ``waits_for`` can make it due), ``polled`` (an opaque condition, looked at again at
    ``at``), ``never`` (nothing but a manual run starts it) or ``disabled``.
    """

    kind: NextKind
    at: datetime | None = None
    waits_for: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "at" and self.at is not None:
            return self.at.isoformat(sep=" ", timespec="seconds")
        if self.kind == "waiting":
            return "waiting for " + ", ".join(f"task {name!r}" for name in self.waits_for)
        if self.kind == "polled" and self.at is not None:
            return f"unknown (checked again at {self.at.isoformat(sep=' ', timespec='seconds')})"
        return {
            "due": "now",
            "queued": "now (asked for)",
            "running": "after the current run",
        }.get(self.kind, self.kind)


@dataclass(frozen=True)
class LastRun:
    """A task's newest run: when it started, and how and when it ended (None: not yet)."""

    started: datetime
    outcome: Action | None = None
    ended: datetime | None = None


@dataclass(frozen=True)
class TaskState:
    """One task as :meth:`Controller.tasks` sees it."""

    name: str
    condition: str
    execution: str
    status: Status
    running: int
    last: LastRun | None
    next_run: NextRun
    priority: int = 0
    description: str | None = None


@dataclass(frozen=True)
class ReplicaState:
    """This process among the replicas of a coordinated app (``App(coordination=...)``)."""

    lease: str
    holder: str
    active: bool
    since: datetime | None
    """When this replica took the lease it holds (database clock); None on a standby."""


@dataclass(frozen=True)
class SchedulerState:
    """The scheduler as a whole, with its tasks."""

    now: datetime
    running: bool
    paused: bool
    started_at: datetime | None
    tasks: tuple[TaskState, ...]
    replica: ReplicaState | None = None
    """Set on a coordinated app: whether this replica is the active one, and since when."""


@dataclass(frozen=True)
class Why:
    """Whether a task's condition holds at ``at``, why, and what comes next."""

    task: str
    at: datetime
    due: bool
    status: Status
    explanation: Explanation
    next_run: NextRun

    def __str__(self) -> str:
        head = f"task {self.task!r} is {'due' if self.due else 'not due'} at {self.at.isoformat()}"
        return "\n".join([head, *self.explanation.lines(1), f"next run: {self.next_run}"])


@dataclass(frozen=True)
class UpcomingRun:
    task: str
    at: datetime


@dataclass(frozen=True)
class Upcoming:
    """The runs from ``start`` to ``end``, soonest first, if every run succeeds at once.

    ``complete`` is False when the list was cut at ``limit`` runs or the simulation stopped
    early (a condition looked at on every pass over a long horizon).
    """

    start: datetime
    end: datetime
    runs: tuple[UpcomingRun, ...]
    complete: bool = True


def _replica_state(session: Session) -> ReplicaState | None:
    coordination = session.coordination
    if coordination is None:
        return None
    active = coordination.active
    return ReplicaState(
        coordination.name, coordination.holder, active, coordination.since if active else None
    )


def as_json(value: Any) -> Any:
    """A dataclass of this module as plain JSON values (ISO 8601 instants)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Controller:
    """Inspect and control the scheduler of one session (``app.control``).

    ``timeout``: seconds a call from another thread waits for the scheduler's loop to answer
    before :class:`ControlTimeout` (a loop running a long ``execution="main"`` task answers
    only once the run has ended).
    """

    def __init__(self, session: Session, *, timeout: float = 10.0) -> None:
        self.session = session
        self.timeout = timeout
        self._read: set[tuple[int, str]] = set()

    # --- marshalling -----------------------------------------------------------------------
    def on_loop_thread(self) -> bool:
        """Whether a call made here runs at once (no scheduler loop, or this is its thread)."""
        scheduler = self.session.scheduler
        loop = scheduler._loop
        return loop is None or threading.get_ident() == scheduler._loop_thread

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` on the scheduler's loop and return its result (any thread)."""
        scheduler = self.session.scheduler
        loop = scheduler._loop
        if loop is None or threading.get_ident() == scheduler._loop_thread:
            return func(*args)
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not done.set_running_or_notify_cancel():
                return
            try:
                done.set_result(func(*args))
            except BaseException as exc:
                done.set_exception(exc)

        try:
            loop.call_soon_threadsafe(job)
        except RuntimeError:  # the loop has closed meanwhile: nothing runs there any more
            return func(*args)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return done.result(min(0.05, max(deadline - time.monotonic(), 0.0)))
            except concurrent.futures.TimeoutError:
                pass
            # The scheduler may stop between the hand-over and the job (its loop then never
            # runs it): once it has left that loop, nothing runs there any more.
            if scheduler._loop is not loop and done.cancel():
                return func(*args)
            if time.monotonic() >= deadline:
                break
        if not done.cancel():
            # Begun on the loop by now: it acts, so its answer is waited for. A timeout here
            # would tell the caller it did not, and a caller that tries again runs a task twice.
            try:
                return done.result(self.timeout)
            except concurrent.futures.TimeoutError:
                raise ControlTimeout(
                    f"the scheduler began the call but did not finish it within "
                    f"{2 * self.timeout:g} s: it may still act"
                ) from None
        raise ControlTimeout(
            f"the scheduler did not answer within {self.timeout:g} s: its loop is busy "
            "(a long task with execution='main'?); the call was withdrawn and will not act"
        )

    # --- inspection ------------------------------------------------------------------------
    def state(self) -> SchedulerState:
        """The scheduler and all its tasks, in priority order."""
        return self.call(self._state)

    def tasks(self) -> list[TaskState]:
        """Every task, highest priority first, then in definition order."""
        return list(self.state().tasks)

    def task(self, name: str) -> TaskState:
        """One task (:class:`~skylaunch.exc.TaskLookupError` if there is none by that name)."""
        return self.call(self._task_state, name)

    def next_run(self, name: str, at: datetime | None = None) -> NextRun:
        """When ``name`` runs next by its condition, looking from ``at`` (default: now)."""
        return self.call(self._next_run_of, name, at)

    def why(self, name: str, at: datetime | None = None) -> Why:
        """Whether task ``name`` is due at ``at`` (default: now), each part of its condition."""
        return self.call(self._why, name, at)

    def upcoming(
        self,
        task: str | None = None,
        *,
        hours: float | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> Upcoming:
        """The runs of ``task`` (or of every task) from now for ``hours`` (default 24) or
        ``until``, computed on a simulated copy of the session where every run succeeds at
        the instant it starts. At most ``limit`` runs."""
        if hours is not None and until is not None:
            raise ValueError("give hours= or until=, not both")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if hours is not None and not hours > 0:  # NaN too
            raise ValueError(f"hours must be more than 0, got {hours!r}")
        if task is not None:
            self.session[task]  # an unknown name fails here, naming the tasks
        snapshot = self.call(self._snapshot)
        start: datetime = snapshot.now
        if until is None:
            try:
                # a positive horizon under a microsecond (the instants' resolution) is one
                end = start + max(timedelta(hours=24 if hours is None else hours), _ONE_US)
                if not end <= _LATEST_AT:
                    raise OverflowError
            except OverflowError:
                raise ValueError(
                    f"hours={hours:g} reaches past {_LATEST_AT.date()}, the last instant "
                    "the planning can look at"
                ) from None
        else:
            end = _in_range(until, start.tzinfo, "until")
        if end.timestamp() <= start.timestamp():
            raise ValueError(f"the horizon ends ({end.isoformat()}) before now ({start})")
        if task is not None:  # only the task and those its condition (transitively) reads
            snapshot.tasks = _needed(snapshot.tasks, task)
        found, complete = _simulate(snapshot, end, limit=limit, task=task)
        runs = [run for run in found if task is None or run.task == task]
        if len(runs) > limit:
            runs, complete = runs[:limit], False
        return Upcoming(start, end, tuple(runs), complete)

    # --- control ---------------------------------------------------------------------------
    def run(self, name: str, **params: Any) -> None:
        """Run task ``name`` once at the next pass, with ``params`` as its run parameters."""
        self.call(self._control, name, lambda task: task.run(**params))

    def disable(self, name: str) -> None:
        """Stop starting ``name`` by its condition (runs going on go on; ``run`` still works)."""
        self.call(self._control, name, lambda task: setattr(task, "disabled", True))

    def enable(self, name: str) -> None:
        self.call(self._control, name, lambda task: setattr(task, "disabled", False))

    def terminate(self, name: str) -> int:
        """Ask the runs of ``name`` to end (logged ``terminate``); how many were running."""
        return self.call(self._terminate, name)

    def pause(self) -> None:
        """Start no task by its condition until :meth:`resume` (runs going on go on)."""
        self.call(setattr, self.session.scheduler, "on_hold", True)

    def resume(self) -> None:
        self.call(setattr, self.session.scheduler, "on_hold", False)

    def shut_down(self, force: bool = False) -> None:
        """Stop the scheduler; ``force`` terminates the runs instead of letting them finish."""
        self.session.shut_down(force=force)

    # --- on the loop -----------------------------------------------------------------------
    def _restore(self, tasks: Iterable[Task]) -> None:
        """Read the stored history of tasks a stopped scheduler never read (read-only).

        A running scheduler restored it at start-up. Unlike that restore, this one logs no
        crash for a run without an end: another process may be running it.
        """
        session = self.session
        journal = session.journal
        if session.scheduler.is_running:
            return
        repo = journal.repo
        restored = journal._restored
        if restored is None or repo is None:  # an empty memory repo: only this session's records
            return
        limit = session.config.history_max_records
        for task in tasks:
            key = (id(repo), task.name)
            if task.name in restored or key in self._read:
                continue
            times = restore_times(repo, task.name, limit=limit, actions=ACTIONS)
            recent = restore_recent(repo, task.name, limit=session.crash_window)
            session.history.load(task.name, times, recent)
            self._read.add(key)

    def _state(self) -> SchedulerState:
        session = self.session
        tasks = session.tasks_in_order()
        self._restore(tasks)
        now = session.clock.now()
        scheduler = session.scheduler
        return SchedulerState(
            now,
            scheduler.is_running,
            scheduler.on_hold,
            scheduler.started_at if scheduler.is_running else None,
            tuple(self._state_of(task, now) for task in tasks),
            _replica_state(session),
        )

    def _task_state(self, name: str) -> TaskState:
        task = self.session[name]
        self._restore([task])
        return self._state_of(task, self.session.clock.now())

    def _state_of(self, task: Task, now: datetime) -> TaskState:
        session = self.session
        log = session.history.of(task.name)
        last: LastRun | None = None
        started = log.last("run")
        tz = session.clock.tz
        if started is not None:
            action, when = log.last_action, log.last_time
            ended = action is not None and action != "run" and not log.running
            last = LastRun(
                datetime.fromtimestamp(started, tz),
                action if ended else None,
                datetime.fromtimestamp(when, tz) if ended and when is not None else None,
            )
        return TaskState(
            name=task.name,
            condition=label(task.start_cond),
            execution=task.execution,
            status=self._status(task),
            running=len(log.running),
            last=last,
            next_run=self._next(task, now),
            priority=task.priority,
            description=task.description,
        )

    def _status(self, task: Task) -> Status:
        if self.session.history.of(task.name).running:
            return "running"
        if task.disabled:
            return "disabled"
        if self.session.scheduler.on_hold:
            return "paused"
        return "idle"

    def _next_run_of(self, name: str, at: datetime | None) -> NextRun:
        task = self.session[name]
        self._restore([task])
        return self._next(task, self._at(at))

    def _at(self, at: datetime | None) -> datetime:
        clock = self.session.clock
        if at is None:
            return clock.now()
        return _in_range(at, clock.tz, "at").astimezone(clock.tz)

    def _next(self, task: Task, now: datetime) -> NextRun:
        """What the scheduler's planning would do from ``now``, if no task logs anything."""
        session = self.session
        if task.batches:
            return NextRun("queued", now)
        if task.on_startup or task.on_shutdown or isinstance(task.start_cond, AlwaysFalse):
            return NextRun("never")
        if task.disabled:
            return NextRun("disabled")
        if session.history.of(task.name).running and not task.multilaunch:
            return NextRun("running")
        cond = task.start_cond
        ctx = Context(now, session, task)
        if cond.is_true(ctx):
            return NextRun("due", now)
        watches = cond.watches(task.name)
        poll = session.cond_facts.poll_interval_s
        if EVERY_PASS in watches:
            return NextRun("polled", datetime.fromtimestamp(now.timestamp() + poll, now.tzinfo))
        first: datetime | None = None
        at = now
        for _ in range(_MAX_LOOKS):
            change = cond.next_change(Context(at, session, task))
            if change is None:
                break
            soonest = at.timestamp() + _MIN_REPLAN_S
            at = (
                change.astimezone(now.tzinfo)
                if change.timestamp() >= soonest
                else datetime.fromtimestamp(soonest, now.tzinfo)
            )
            if first is None:
                first = at
            if cond.is_true(Context(at, session, task)):
                return NextRun("at", at)
        else:
            return NextRun("polled", first)
        waits = tuple(sorted(name for name in watches if name != task.name))
        return NextRun("waiting", waits_for=waits) if waits else NextRun("never")

    def _why(self, name: str, at: datetime | None) -> Why:
        session = self.session
        task = session[name]
        self._restore([task])
        now = self._at(at)
        tree = explain(task.start_cond, Context(now, session, task))
        return Why(task.name, now, tree.value, self._status(task), tree, self._next(task, now))

    def _control(self, name: str, action: Callable[[Task], None]) -> None:
        action(self.session[name])

    def _terminate(self, name: str) -> int:
        task = self.session[name]
        count = len(self.session.scheduler.running_handles.get(task.name, {}))
        task.terminate()
        return count

    def _snapshot(self) -> _Snapshot:
        session = self.session
        tasks = session.tasks_in_order()
        self._restore(tasks)
        now = session.clock.now()
        logs = {}
        for task in tasks:
            log = copy.deepcopy(session.history.of(task.name))
            for run_id in list(log.running):  # assumed to succeed now
                log.add("success", now.timestamp(), run_id or None)
            logs[task.name] = log
        return _Snapshot(
            now=now,
            tasks=[
                _TaskCopy(
                    t.name,
                    t.start_cond,
                    t.priority,
                    t.disabled or t.on_startup or t.on_shutdown,
                    t.multilaunch,
                    len(t.batches),
                )
                for t in tasks
            ],
            logs=logs,
            parameters=dict(session.parameters),
            cycle_sleep=session.config.cycle_sleep,
            history_max_records=session.config.history_max_records,
        )


@dataclass
class _TaskCopy:
    name: str
    cond: Condition
    priority: int
    disabled: bool
    multilaunch: bool
    queued: int


@dataclass
class _Snapshot:
    now: datetime
    tasks: list[_TaskCopy]
    logs: dict[str, Any]
    parameters: dict[str, Any]
    cycle_sleep: float | None
    history_max_records: int


def _needed(tasks: list[_TaskCopy], name: str) -> list[_TaskCopy]:
    """``name`` and the tasks whose actions its condition reads, transitively, in order.

    A condition class of the user's may read tasks it does not name: then all of them.
    """
    by_name = {item.name: item for item in tasks}
    wanted = {name}
    todo = [name]
    while todo:
        item = by_name.get(todo.pop())
        if item is None:
            continue
        if _unsure(item.cond):
            return tasks
        for watched in item.cond.watches(item.name) - wanted - {EVERY_PASS}:
            wanted.add(watched)
            todo.append(watched)
    return [item for item in tasks if item.name in wanted]


def _quiet(name: str) -> None:
    logging.getLogger(name).propagate = False  # the copy's records reach no user handler


#: One simulation at a time per process: an open ``/upcoming`` endpoint called in a loop costs
#: at most one core, never one per request.
_SIMULATING = threading.Lock()


def _simulate(
    snapshot: _Snapshot, end: datetime, *, limit: int, task: str | None
) -> tuple[list[UpcomingRun], bool]:
    """Run a copy of the session on a simulated clock from ``snapshot.now`` to ``end``; it
    stops early once more than ``limit`` runs (of ``task``, if given) are found."""
    if not _SIMULATING.acquire(timeout=_SIMULATION_BUDGET_S):
        raise ControlTimeout("another upcoming() computation is still running: try again")
    try:
        return _simulate_alone(snapshot, end, limit, task)
    finally:
        _SIMULATING.release()


def _simulate_alone(
    snapshot: _Snapshot, end: datetime, limit: int, wanted: str | None
) -> tuple[list[UpcomingRun], bool]:
    _quiet(_SIM_TASK_LOGGER)
    _quiet(_SIM_SCHEDULER_LOGGER)
    tz = snapshot.now.tzinfo
    clock = SimulatedClock(snapshot.now, tz=tz)
    copy_session = Session(
        clock=clock,
        execution="main",
        restarting="recall",
        cycle_sleep=snapshot.cycle_sleep,
        history_max_records=snapshot.history_max_records,
        silence_cond_check=True,
        silence_task_prerun=True,
        task_logger_basename=_SIM_TASK_LOGGER,
        scheduler_logger_basename=_SIM_SCHEDULER_LOGGER,
        timezone=tz,
    )
    copy_session.parameters.update(snapshot.parameters)
    found: list[UpcomingRun] = []
    counted = 0

    def ran(name: str) -> Callable[[], None]:
        def body() -> None:
            nonlocal counted
            found.append(UpcomingRun(name, clock.now()))
            if wanted is None or name == wanted:
                counted += 1
                if counted > limit:  # one more than asked: enough to know the list is cut
                    copy_session.shut_down()

        return body

    from skylaunch.tasks.func import FuncTask

    for item in snapshot.tasks:
        task = FuncTask(
            ran(item.name),
            session=copy_session,
            name=item.name,
            start_cond=item.cond,
            priority=item.priority,
            disabled=item.disabled,
            multilaunch=item.multilaunch,
        )
        task.batches.extend({} for _ in range(item.queued))
    for name, log in snapshot.logs.items():
        copy_session.history._logs[name] = log
    complete = True

    async def bounded() -> None:
        nonlocal complete
        try:
            await asyncio.wait_for(copy_session.serve(until=end), _SIMULATION_BUDGET_S)
        except asyncio.TimeoutError:
            complete = False

    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(bounded())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=main, name="skylaunch-upcoming", daemon=True)
    thread.start()
    thread.join()
    handler = copy_session.journal.handler
    if handler is not None:
        copy_session.task_logger.removeHandler(handler)
        handler.close(0.0)
    if errors:
        raise errors[0]
    return found, complete
