"""The event-driven scheduling loop.

The loop sleeps until the earliest instant at which some task's start condition may change (its
``next_change``, kept in a heap) or until an event wakes it: a run ended, a task was added, run,
disabled or terminated from any thread. On waking it evaluates only the tasks that may have
changed: those whose deadline passed and those watching a task that just logged an action. An idle
scheduler therefore costs nothing, and the cost of a wake-up does not grow with the number of
tasks or of log records.
"""

from __future__ import annotations

import heapq
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from skylaunch._tasknames import TaskKeyed
from skylaunch.args import BaseArgument, CallInChild, FuncArg, made_in_child, materialize
from skylaunch.conds.base import (
    _CLOCK_FALSE,
    _WATCH_OWN_TASK,
    EVERY_PASS,
    All,
    AlwaysFalse,
    AlwaysTrue,
    Condition,
    Context,
    Not,
    false,
    label,
)
from skylaunch.conds.base import Any as AnyCond
from skylaunch.exc import (
    MissingReturnError,
    SimulatedTimeStuck,
    TaskSetupError,
    condition_check_error,
)
from skylaunch.execution.base import (
    Executor,
    Outcome,
    OutcomeAction,
    RunHandle,
    TaskCall,
    outcome_of,
    run_inline,
)
from skylaunch.execution.main import MainExecutor
from skylaunch.tasks.func import FuncTask
from skylaunch.time.clock import _EXACT_US, SystemClock
from skylaunch.time.periods import aware, naive_zone

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Collection, Mapping, Sized

    from skylaunch._hooks import SessionHooks
    from skylaunch._journal import Journal
    from skylaunch.conds.base import Facts
    from skylaunch.config import Config
    from skylaunch.coordination import Coordination
    from skylaunch.execution.registry import ExecutorRegistry
    from skylaunch.log.handler import RepoHandler
    from skylaunch.tasks._registry import TaskRegistry
    from skylaunch.tasks.base import Task
    from skylaunch.time.clock import Clock

__all__ = ["RunOnly", "Scheduler"]

#: Real seconds to wait, after terminating the runs at shutdown, for them to report.
_TERMINATE_GRACE_S = 5.0
#: The soonest a task is looked at again after a condition said it changes "now".
_MIN_REPLAN_S = 0.001
#: While tasks stay due pass after pass, the loop still lets other callbacks (finished
#: threads, asyncio tasks, control calls) run at least this often (event-loop seconds).
_YIELD_EVERY_S = 0.001
#: ... and step off the GIL this often, for _HAND_OFF_S real seconds, when the process has other
#: threads (see _hand_off): bounds how long they wait for it next to a busy loop. Every 2 ms, a
#: thread sleeping 5 ms at a time woke 1.3 ms late (median; 3.5 ms at most) instead of 3.3 ms
#: (7.4 ms at most) every 4 ms, for about 2 % of an always-due inline task's runs (bench W7, W3).
_HAND_OFF_EVERY_S = 0.002
_HAND_OFF_S = 0.00002
#: A run found due at most this long after the instant its condition became true is recorded
#: at that instant (see _consider): waking up is late by about that much, and no more.
_SNAP_S = 0.002
#: How often a due task whose executor has no capacity is looked at again, besides at the end
#: of each run (the clock's seconds).
_BLOCKED_RECHECK_S = 1.0
#: Real seconds the loop pauses, while tasks stay due, when the repo's writer falls behind.
_CATCH_UP_S = 0.001
#: Real seconds terminated runs get to report after a second stop signal (they were killed).
_FORCED_GRACE_S = 1.0
#: Passes at one instant of a simulated clock after which time is taken to be stuck (a chain of
#: thousands of dependent tasks at one instant still fits; an always-due task does not).
_MAX_PASSES_PER_INSTANT = 10_000
#: Real seconds between two warnings that runs started without a stored run record.
_UNRECORDED_EVERY_S = 60.0
_UNSET = object()  # no value stored (Scheduler._finish)


class _AwaitedStart:
    """A recorded run whose body waits for the repo to store its ``run`` record.

    It stands in the scheduler's handles as the run's handle, so the task counts as running
    (no second launch) and can be terminated; terminating it ends the run before it started.
    """

    __slots__ = (
        "call",
        "executor",
        "inline",
        "multilaunch",
        "name",
        "run_id",
        "scheduler",
        "started",
        "timer",
    )

    def __init__(
        self,
        scheduler: Scheduler,
        task: Task,
        run_id: str,
        call: TaskCall,
        executor: Executor,
        started: datetime,
        inline: bool,
    ) -> None:
        self.scheduler = scheduler
        self.name = task.name
        self.multilaunch = task.multilaunch
        self.run_id = run_id
        self.call = call
        self.executor = executor
        self.started = started
        self.inline = inline
        self.timer: asyncio.TimerHandle | None = None

    def is_alive(self) -> bool:
        return True

    def terminate(self, reason: str) -> None:
        self.scheduler._on_loop(self.scheduler._cancel_awaited, self.run_id, reason)


class RunOnly(NamedTuple):
    """A scheduler-level override for ``Session.run()``: only ``names`` start (by a pending
    run, or by their condition), ``executions`` replaces their modes, ``stop`` is the shut
    condition. The tasks' own settings and ``config.shut_cond`` are left as they are."""

    names: frozenset[str]
    executions: Mapping[str, str]
    stop: Condition


class Scheduler:
    """Runs a session's tasks when their conditions say so. One per session.

    It gets what it works with from the session that builds it (``session.py``): the
    configuration, the clock, the task registry, the journal that records actions, the hooks,
    the executors and the facts conditions read. It owns the runtime state of each task: the
    runs asked for (``task.run()``), termination requests, and ``Session.run()``'s override.
    """

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        tasks: TaskRegistry,
        journal: Journal,
        hooks: SessionHooks,
        executors: ExecutorRegistry,
        executor: Callable[[str], Executor],
        facts: Facts,
        new_run_id: Callable[[Task, Mapping[str, Any]], str],
        returns: dict[str, Any],
    ) -> None:
        self._config = config
        self._clock = clock
        self._tasks = tasks
        # tasks.get without its call (the registry's dict is never replaced): once a pass
        self._task_of = tasks._tasks.get
        self._journal = journal
        self._hooks = hooks
        self._executors = executors
        self._executor = executor
        # what executor(mode) returns for an executor made already, without its two calls
        # (two lookups per run); executor(mode) makes and checks the others
        self._made_executor = executors.made_lookup
        self._facts = facts
        self._new_run_id = new_run_id
        self._returns = returns
        # A task's name is a str: TaskKeyed's own __setitem__ would store it as it is. dict's
        # own methods bound to it (a method-wrapper is called with one tuple less than a
        # partial of dict.__setitem__); a success that returns None where None is stored
        # changes nothing, and skips the store (most tasks return None: once a run).
        keyed = type(returns) is TaskKeyed
        self._set_return: Callable[[str, Any], None] = (
            dict.__setitem__.__get__(returns) if keyed else returns.__setitem__
        )
        self._stored_return: Callable[[str, Any], Any] | None = (
            dict.get.__get__(returns) if keyed else None
        )
        # runtime state of the tasks, by name
        self._batches: dict[str, list[dict[str, Any]]] = {}
        self._terminate: set[str] = set()
        self._only: RunOnly | None = None
        self.coordination: Coordination | None = None
        """The lease this scheduler acts under with other replicas (``Coordination.attach``)."""
        self.cycles = 0
        self.started_at: datetime | None = None
        self.is_running = False
        self._on_hold = False
        self._held: set[str] = set()  # tasks passed over while on hold
        # The planned looks: _planned says when each task is next looked at (the truth); _at
        # lists the tasks planned at each instant, in planning order, and _heap holds those
        # instants. A task planned anew stays listed at its old instant (stale: skipped, as
        # _planned no longer says it). One list per instant, not one heap entry per task:
        # 10,000 tasks planned at the same instant (W5's first pass) append a name each.
        self._heap: list[float] = []
        self._at: dict[float, list[str]] = {}
        self._planned: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._spare: set[str] = set()
        self._watchers: dict[str, set[str]] = {}
        self._every_pass: set[str] = set()
        # tasks with an end condition (Rocketry's end_cond): checked while they have runs
        self._end_conds: set[str] = set()
        # tasks whose condition counts passes (scheduler_cycles): an idle loop ticks for them
        self._counting_cycles: set[str] = set()
        self._end_deadline: float | None = None
        # task -> the names it watches besides its own (every indexed task watches itself); a
        # tuple: the garbage collector stops tracking a tuple of strings, so 10,000 tasks do not
        # leave 10,000 more containers for every full collection
        self._watching: dict[str, tuple[str, ...]] = {}
        # Tasks whose condition has a part this package did not write (a Condition subclass of
        # the user's): its watches() may leave out a task whose history it reads, so while it
        # is false with no next change it is looked at again on every task's event, not only
        # on those of the tasks it names.
        self._unsure: set[str] = set()
        self._stalled_unsure: set[str] = set()
        # a new object at each removal (or replacement) of a task, from any thread (a count's
        # `+= 1` from two threads can lose one and come back to a value a pass saw): a pass
        # that sees it change checks that each task it still holds is registered
        self._removals = object()
        self._blocked: set[str] = set()  # tasks waiting for their executor's capacity
        # ... and the instant each is looked at again (_BLOCKED_RECHECK_S): a look that keeps
        # the instant the task became due (launch lateness, _SNAP_S), not its own
        self._rechecks: dict[str, float] = {}
        # task -> the planned instant (POSIX s) its last look was due at, kept only while a
        # skylaunch.metrics.Metrics watches (watch_lateness): it reads the entry on the task's
        # next 'run' record to measure how late the launch was. None: nobody watches.
        self.planned_due: dict[str, float] | None = None
        self._lateness_watchers = 0
        self._due_at: dict[str, float] = {}  # this pass: task -> the planned instant it was due
        # This pass, at the instant _known_at: id(condition) -> (the condition, its answer from
        # the clock alone (see conds.base._CLOCK_FALSE): None, or (POSIX time of its next change
        # or None,)). Keeps the condition (its id stays its own); emptied when the pass ends.
        self._known: dict[int, tuple[Condition, tuple[float | None] | None]] = {}
        self._known_at: datetime | None = None
        self._crashed = False
        self._handles: dict[str, dict[str, RunHandle]] = {}
        self._time_limits: dict[str, float] = {}  # run_id -> POSIX time it is terminated at
        self._stop_reason: str | None = None
        self.exited_by: str | None = None
        """The task whose run raised SchedulerExit in the last serve (``session.run`` reads it)."""
        self._restart = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake: asyncio.Event | None = None
        self._outside = 0  # runs going on outside the loop's thread (thread, process)
        self._ended_unregistered: set[str] = set()  # non-inline runs whose end came inside submit
        # runs whose end the shutdown logged because they did not report in time: a late
        # report (after a restart, or on a later start) must not log a second end
        self._abandoned: set[str] = set()
        self._error: BaseException | None = None
        self._signalled: str | None = None  # the stop signal received, e.g. "SIGTERM"
        self._forced = False  # a second stop signal: terminate the runs now
        self._stopping = False  # the shutdown sequence has begun
        self._awaited: dict[str, _AwaitedStart] = {}  # run_id -> a run waiting for its record
        self._unrecorded = 0  # runs started without a stored record since the last warning
        self._unrecorded_at: float | None = None
        self.logger = logging.getLogger(config.scheduler_logger_basename)

    # --- events (thread-safe) ---------------------------------------------------------
    def notify(self, task_name: str | None = None) -> None:
        """Something about ``task_name`` (or the session) changed: look again soon.

        Safe from any thread: from outside the loop's thread the mark is handed to the loop,
        so it cannot fall between the loop taking its dirty set and clearing it.
        """
        self._on_loop(self._mark, task_name)

    def _mark(self, task_name: str | None) -> None:
        if task_name is not None:
            self._dirty.add(task_name)
        if self._held and not self._on_hold:
            self._dirty |= self._held
            self._held.clear()
        self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        if threading.get_ident() == self._loop_thread:
            wake.set()
        else:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop has closed meanwhile
                pass

    @property
    def startup_time(self) -> datetime | None:
        """Rocketry's name for :attr:`started_at` (``None`` before the first start)."""
        return self.started_at

    @startup_time.setter
    def startup_time(self, value: datetime | None) -> None:
        # Rocketry's tests set a naive wall time (the system's now): read in the clock's zone
        self.started_at = None if value is None else aware(value, self._clock.tz)

    @property
    def on_hold(self) -> bool:
        """While true, no task starts by its condition (``run()`` still runs), as in Rocketry."""
        return self._on_hold

    @on_hold.setter
    def on_hold(self, value: bool) -> None:
        self._on_hold = bool(value)
        if not value:
            # The tasks passed over meanwhile have no deadline left in the heap: look again.
            self.notify(None)

    # --- each task's runtime state (Task's run(), terminate(), batches are views of it) -----
    def request_run(self, task_name: str, params: dict[str, Any]) -> None:
        """Run ``task_name`` once with ``params`` as soon as possible (any thread)."""
        self._batches.setdefault(task_name, []).append(params)
        self.notify(task_name)

    def watch_lateness(self, on: bool) -> None:
        """Keep (``on``) or stop keeping the planned instant of each launch in
        :attr:`planned_due`; counted, so each watcher (a ``Metrics``) turns it off once."""
        self._lateness_watchers += 1 if on else -1
        if self._lateness_watchers > 0:
            if self.planned_due is None:
                self.planned_due = {}
        else:
            self._lateness_watchers = 0
            self.planned_due = None

    def pending_runs(self, task_name: str) -> list[dict[str, Any]]:
        """The runs asked for and not started yet (the list itself: ``task.batches``)."""
        return self._batches.setdefault(task_name, [])

    def request_terminate(self, task_name: str) -> None:
        """End every running run of ``task_name`` (logged as ``terminate``); any thread."""
        self._terminate.add(task_name)
        self.notify(task_name)

    def withdraw_terminate(self, task_name: str) -> None:
        self._terminate.discard(task_name)

    def terminate_requested(self, task_name: str) -> bool:
        return task_name in self._terminate

    @contextmanager
    def running_only(self, only: RunOnly) -> Iterator[None]:
        """While the block runs, the override of ``Session.run()`` applies."""
        self._only = only
        try:
            yield
        finally:
            self._only = None

    def _execution_of(self, task: Task) -> str:
        only = self._only
        if only is not None:
            chosen = only.executions.get(task.name)
            if chosen is not None:
                return chosen
        return task.execution

    def _held_back(self, task: Task) -> bool:
        """Disabled, or left out by ``Session.run()``: not started by its condition."""
        only = self._only
        return task.disabled or (only is not None and task.name not in only.names)

    def _shut_cond(self) -> Condition | None:
        only = self._only
        return self._config.shut_cond if only is None else only.stop

    def on_history_change(self, task_name: str) -> None:
        """Called by the history on every logged action: mark the tasks that watch it.

        A task that is false with no next change is never dropped: it is looked at again on
        an action of a task it watches (its own included) or, when its condition has parts
        whose watches cannot be trusted (see ``_unsure``), on any task's action.
        """
        if task_name in self._watching:  # an indexed task watches itself
            self._dirty.add(task_name)
        watchers = self._watchers.get(task_name)
        if watchers:
            self._dirty.update(watchers)
        if self._stalled_unsure:
            self._dirty |= self._stalled_unsure

    def task_added(self, task: Task) -> None:
        """Index one new task (incremental: defining N tasks stays O(N)). Any thread."""
        if self._loop is None:  # defined before start-up: indexed now, as _on_loop would
            self._reindex(task)
        else:
            self._on_loop(self._reindex, task)

    def task_changed(self, task: Task) -> None:
        """A task's start condition was replaced: re-index its watches and look at it again."""
        self._on_loop(self._reindex, task)

    def task_renamed(self, old: str, task: Task) -> None:
        """``task`` was called ``old``: its pending runs and requests follow it."""
        batches = self._batches.pop(old, None)
        if batches is not None:
            self._batches[task.name] = batches
        if old in self._terminate:
            self._terminate.discard(old)
            self._terminate.add(task.name)
        self._on_loop(self._forget, old)
        self._on_loop(self._reindex, task)

    def task_removed(self, name: str) -> None:
        """The task is gone (or replaced by another of its name): so are its pending runs."""
        self._removals = object()
        self._batches.pop(name, None)
        self._terminate.discard(name)
        self._on_loop(self._forget, name)

    def _reindex(self, task: Task) -> None:
        """Index the watches of ``task`` anew and mark it for a look (one call per task
        defined: 10,000 definitions make 10,000)."""
        plain = task.plain_fields
        own = task._name if plain else task.name
        if own in self._watching:  # every indexed name is; a new task's is not
            self._unindex(own)
        start_cond = task._start_cond if plain else task.start_cond
        # Every task watches itself: that needs no set of its own in _watchers (10,000 tasks,
        # 10,000 sets for the garbage collector), its entry in _watching says it.
        others: tuple[str, ...] = ()
        if type(start_cond) in _WATCH_OWN_TASK and start_cond.task is None:  # type: ignore[attr-defined]
            pass  # daily, every...: it watches its own task alone (no frozenset made to say it)
        elif not (
            type(watched := start_cond.watches(own)) is frozenset
            and len(watched) == 1
            and own in watched
        ):
            names = set(watched)
            names.discard(own)
            if EVERY_PASS in names:
                self._every_pass.add(own)
                names.discard(EVERY_PASS)
            watchers = self._watchers
            for name in names:
                watching = watchers.get(name)
                if watching is None:
                    watchers[name] = {own}
                else:
                    watching.add(own)
            others = tuple(names)
        self._watching[own] = others  # the tasks it watches besides itself
        traits = _LEAF_TRAITS.get(type(start_cond))
        unsure, counts_cycles = _traits(start_cond) if traits is None else traits
        if unsure:
            self._unsure.add(own)
        end_cond = task._end_cond if plain else task.end_cond
        if end_cond is not false and not isinstance(end_cond, AlwaysFalse):
            self._end_conds.add(own)
        if counts_cycles:
            self._counting_cycles.add(own)
        if self.is_running:
            # defined after start-up: read its stored history before its first evaluation
            self._journal.restore([own])
        if self._held or self._loop is not None:
            self._mark(own)
        else:  # what _mark does with nothing held back and no loop to wake
            self._dirty.add(own)

    def _forget(self, name: str) -> None:
        self._unindex(name)
        self._planned.pop(name, None)
        self._rechecks.pop(name, None)
        self._dirty.discard(name)

    def _on_loop(self, func: Callable[..., None], *args: Any) -> None:
        """Run ``func`` on the loop's thread (now, if this is it or no loop runs)."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            try:
                loop.call_soon_threadsafe(func, *args)
                return
            except RuntimeError:  # the loop has closed meanwhile
                pass
        func(*args)

    def _unindex(self, name: str) -> None:
        self._every_pass.discard(name)
        self._end_conds.discard(name)
        self._counting_cycles.discard(name)
        self._unsure.discard(name)
        self._stalled_unsure.discard(name)
        for watched in self._watching.pop(name, ()):
            watchers = self._watchers.get(watched)
            if watchers is not None:
                watchers.discard(name)

    def shut_down(self, reason: str = "shut_down() called", *, force: bool = False) -> None:
        """Stop after the current pass; ``force`` also terminates the running tasks at once.

        Safe from any thread or task. As in Rocketry, a second call while a stop is already
        pending forces it (``session.shut_down()`` decides that).
        """
        if force:
            self._forced = True
        self._stop_reason = reason
        self._poke()

    @property
    def stop_requested(self) -> bool:
        """Whether a running scheduler has been asked to stop (and has not yet stopped)."""
        return self.is_running and self._stop_reason is not None

    def fail(self, exc: BaseException) -> None:
        """Stop after the current pass and raise ``exc`` from :meth:`serve` (first one wins)."""
        if self._error is None:
            self._error = exc
        self._poke()

    def restart(self) -> None:
        self._restart = True
        self.shut_down("restart requested")

    def __call__(self) -> None:
        """Rocketry's ``session.scheduler()``: run until shut down, as ``session.start()``."""
        self._facts.session.start()

    # --- stop signals (SIGTERM, SIGINT) ---------------------------------------------------------
    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        """While this block runs, SIGTERM and SIGINT shut the scheduler down gracefully.

        Only in the main thread (Python delivers signals there and only there may set
        handlers), and only for a signal whose handler is still Python's default: a handler of
        the application's own, or an ignored signal, is left alone. The previous handlers are
        restored on the way out. A second signal terminates the running tasks at once.
        """
        import signal  # when the scheduler starts, not at ``import skylaunch`` (bench W5)

        self._signalled = None
        self._forced = False
        installed: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            # What stops a scheduler that owns the main thread: Ctrl-C, and what systemd,
            # ``docker stop`` and Kubernetes send. Only signals still at Python's default
            # handling are taken over.
            stop_signals = (
                (signal.SIGINT, signal.default_int_handler),
                (signal.SIGTERM, signal.SIG_DFL),
            )
            for signum, default in stop_signals:
                previous = signal.getsignal(signum)
                if previous is default:
                    signal.signal(signum, self._on_signal)
                    installed[signum] = previous
        try:
            yield
        finally:
            for number, handler in installed.items():
                signal.signal(number, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        """The signal handler: runs in the main thread between two bytecodes of anything.

        It only sets flags and hands the rest to the loop (``call_soon_threadsafe`` also wakes
        a loop sleeping in ``select``); logging here could re-enter a handler mid-write.
        """
        import signal  # loaded by stopping_on_signals, which set this handler

        name = signal.Signals(signum).name
        force = self._signalled is not None
        if force:
            self._forced = True
        else:
            self._signalled = name
        self._stop_reason = f"{name} received"
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._signal_arrived, name, force)
            except RuntimeError:  # the loop has closed meanwhile
                pass

    def _signal_arrived(self, name: str, force: bool) -> None:
        if force:
            self.logger.warning(
                "%s received again: terminating the running tasks now",
                name,
                extra={"action": "shutdown"},
            )
            self.terminate_all(f"{name} received twice")
        elif self._stopping:  # else said when the shutdown begins
            self._report_signal(name)
        self._poke()

    def _report_signal(self, name: str) -> None:
        self.logger.warning(
            "%s received: shutting down; running tasks may finish within their timeouts "
            "(send it again to terminate them now)",
            name,
            extra={"action": "shutdown"},
        )

    # --- the loop -----------------------------------------------------------------------
    async def serve(self, until: datetime | None = None) -> bool:
        """Run until shut down (or ``until``); returns True when a restart was asked for.

        Meanwhile naive datetimes that periods are asked about are read in the clock's zone.
        """
        with naive_zone(self._clock):
            return await self._serve(until)

    async def _serve(self, until: datetime | None) -> bool:
        import asyncio  # loaded by whoever runs this coroutine: not by ``import skylaunch``

        clock = self._clock
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        # a stop signal may come before the loop runs: it is not forgotten
        self._stop_reason = None if self._signalled is None else f"{self._signalled} received"
        self.exited_by = None
        self._forced = (
            self._forced and self._signalled is not None
        )  # a forced stop of an earlier run is over
        self._restart = False
        self._error = None
        self._crashed = False
        self.cycles = 0
        self.started_at = clock.now()
        self.is_running = True
        self._heap.clear()
        self._at.clear()
        self._planned.clear()
        self._rechecks.clear()
        self._time_limits.clear()
        self.logger.info("Starting up...", extra={"action": "setup"})
        coordination = self.coordination
        try:
            if coordination is not None:  # one attempt at the lease before the restore
                coordination.start(self)
            # Start-up hooks run first: they may attach the repo the history is read from.
            self._hooks.begin_startup()
            self._journal.restore()
            self._launch_lifecycle("on_startup")
            self._hooks.end_startup()
            _collect_at_start(self._config.startup_gc, self._journal.handler)
            # who-watches-whom is kept up to date as tasks are added, changed and removed
            self._dirty.update(self._tasks.names())
            # The yield cadence in the monotonic clock's seconds: asyncio's loop.time(), read
            # without its call (once a pass)
            monotonic = time.monotonic
            next_yield = next_hand_off = monotonic() + _YIELD_EVERY_S
            journal = self._journal
            # asyncio's queue of ready callbacks, where the loop has one (see _yield_to_loop)
            ready: Sized | None = getattr(self._loop, "_ready", None)
            virtual = getattr(clock, "virtual", False)
            stuck_at, stuck = 0.0, 0
            config, hooks = self._config, self._hooks
            # (now, its timestamp) from one reading, where the clock can (SystemClock)
            instant: Callable[[], tuple[datetime, float]] | None = getattr(clock, "instant", None)
            # The real clock's timestamp alone, as instant() reads it (a whole number of
            # microseconds, until 2242): the pass makes its datetime only if it needs it (an
            # always-due task's run does not; see _moment). Inline: once a pass.
            real = type(clock) is SystemClock
            wall = time.time  # noqa: TID251 - SystemClock's own reading (see instant)
            now: datetime | None
            now_ts: float | None = None
            while True:
                if real and (us := round(wall() * 1_000_000)) < _EXACT_US:
                    now, now_ts = None, us / 1_000_000
                elif instant is not None:
                    now, now_ts = instant()
                else:
                    now = clock.now()
                if self._stop_reason is not None or (
                    until is not None
                    and (now_ts if now_ts is not None else _timestamp_of(now)) >= until.timestamp()
                ):
                    break
                only = self._only
                stop = config.shut_cond if only is None else only.stop
                if stop is not None:
                    if now is None:
                        now = self._moment(now_ts)
                    if self._shut_cond_holds(now):
                        self._stop_reason = "shut_cond is true"
                        break
                if coordination is not None and not coordination.may_act():
                    # a standby: nothing is looked at until it takes over (which pokes)
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                cycle = hooks.cycle_round() if hooks.cycle else None
                self._pass(now, now_ts)
                self.cycles += 1  # as in Rocketry: a pass counts once it is done
                if cycle is not None:
                    cycle.finish()
                if self._error is not None:
                    raise self._error
                if self._stop_reason is not None:
                    continue
                only = self._only
                stop = config.shut_cond if only is None else only.stop
                if stop is not None and self._shut_cond_holds(clock.now()):
                    # made true by this pass (a launch): stop now, not at the next wake-up,
                    # which may be much later (Rocketry checks it after every cycle)
                    self._stop_reason = "shut_cond is true"
                    continue
                if virtual and now is not None:  # a simulated clock moves only when the loop sleeps
                    if now.timestamp() != stuck_at:
                        stuck_at, stuck = now.timestamp(), 0
                    elif (stuck := stuck + 1) >= _MAX_PASSES_PER_INSTANT:
                        raise self._stuck(now)
                if self._dirty:
                    handler = journal.handler
                    if handler is not None and handler.queue_view and journal.writes_behind():
                        # Runs come faster than the repo stores their records: give its
                        # thread time (and the GIL) rather than fill its queue until it drops.
                        # (An empty queue, always the memory repo's, is never behind.)
                        await asyncio.sleep(_CATCH_UP_S)  # noqa: TID251 - real time, for a thread
                        next_yield = monotonic() + _YIELD_EVERY_S
                        continue
                    # More is due at once: a pass per loop iteration would spend most of the
                    # time in the event loop's machinery, so yield only every millisecond.
                    if (at := monotonic()) >= next_yield:
                        if at >= next_hand_off:
                            _hand_off()
                            next_hand_off = at + _HAND_OFF_EVERY_S
                        await _yield_to_loop(ready)
                        next_yield = monotonic() + _YIELD_EVERY_S
                    continue
                deadline = self._deadline(self._moment(now_ts) if now is None else now, until)
                await clock.sleep_until(deadline, self._wake, busy=self._outside > 0)
                self._wake.clear()
                next_yield = monotonic() + _YIELD_EVERY_S
        except BaseException as exc:
            self._crashed = True
            if not isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
                self.logger.critical(
                    "The scheduler crashed", exc_info=True, extra={"action": "crash"}
                )
            raise
        finally:
            await self._shutdown()
        return self._restart and self._signalled is None  # a stop signal wins over a restart

    def _check_end_conds(self, now: datetime) -> None:
        """Terminate the runs of tasks whose end condition holds; plan the next check.

        Only runs outside the loop's thread can be ended (an inline run has already finished
        when this is looked at). The next check is the earliest next change of the end
        conditions of running tasks; a record of a task they watch marks the task, and
        every pass looks again.
        """
        soonest: float | None = None
        for name in self._end_conds:
            handles = self._handles.get(name)
            task = self._tasks.get(name) if handles else None
            if task is None or not handles:
                continue
            ctx = Context(now, self._facts, task)
            if self._check(task.end_cond, ctx, "end_cond", of_task=name):
                for handle in list(handles.values()):
                    handle.terminate("end_cond is true")
                continue
            change = self._next_change(task.end_cond, ctx, name)
            if change is not None and (soonest is None or change.timestamp() < soonest):
                soonest = change.timestamp()
        self._end_deadline = soonest

    def _stuck(self, now: datetime) -> SimulatedTimeStuck:
        due = self._dirty or {name for name, runs in self._handles.items() if runs}
        names = ", ".join(repr(name) for name in sorted(due)[:5]) or "tasks"
        return SimulatedTimeStuck(
            f"simulated time cannot move past {now.isoformat()}: after "
            f"{_MAX_PASSES_PER_INSTANT:,} passes at that instant, {names} are due again after "
            "every run (an always-true condition such as `true`?). On a simulated clock time "
            "moves only when nothing is due: give such a task a condition that its run makes "
            "false (every('1 minute'), daily...), or bound the test with a shut condition "
            "(shut_cond=scheduler_cycles(more_than=...))"
        )

    def _shut_cond_holds(self, now: datetime) -> bool:
        only = self._only
        cond = self._config.shut_cond if only is None else only.stop
        if cond is None:
            return False
        # Never silenced (as Rocketry): a shut condition that cannot be read would keep the
        # scheduler running past the point its user wanted it to stop.
        return self._check(cond, Context(now, self._facts, None), "shut_cond", silence=False)

    def _moment(self, ts: float | None) -> datetime:
        """The datetime of a pass's instant read as a timestamp alone (what
        ``SystemClock.instant`` makes of it), made when the pass needs it."""
        assert ts is not None  # a pass without its datetime has its timestamp
        return datetime.fromtimestamp(ts, self._clock.tz)

    def _pass(self, now: datetime | None, ts: float | None = None) -> None:
        """Evaluate every task that may have changed, highest priority first (``ts``:
        ``now.timestamp()`` when the caller has it; ``now`` None: the instant ``ts``, its
        datetime made by whatever needs it, see :meth:`_moment`)."""
        if ts is None:
            assert now is not None  # one of the two is given
            ts = now.timestamp()
        if now is None and (self._time_limits or self._end_conds):
            now = self._moment(ts)
        if self._time_limits:
            assert now is not None  # made above
            self._reap_timeouts(now)
        if self._end_conds:
            assert now is not None  # made above
            self._check_end_conds(now)
        # Two sets take turns as the dirty set: no allocation per pass.
        due = self._dirty
        self._dirty = self._spare
        heap = self._heap
        planned = self._planned
        due_at = self._due_at
        if due_at:
            due_at.clear()
        planned_due = self.planned_due
        rechecks = self._rechecks
        while heap and heap[0] <= ts:
            when = heapq.heappop(heap)
            for name in self._at.pop(when):
                if planned.get(name) == when:
                    del planned[name]
                    due.add(name)
                    if rechecks and rechecks.get(name) == when:
                        del rechecks[name]  # due since before: that instant stands
                        continue
                    due_at[name] = when
                    if planned_due is not None:  # launch lateness (skylaunch.metrics)
                        planned_due[name] = when
        if self._every_pass:
            due |= self._every_pass
        if not due:
            self._spare = due
            return
        registry = self._tasks
        todo: list[Task]
        if len(due) == 1:
            # (a bound method kept as an attribute: read, then called, it is two specialised
            # steps; `self._task_of(...)` is an unspecialised method look-up, once a pass)
            task_of = self._task_of
            only = task_of(due.pop())
            todo = [] if only is None else [only]
        elif len(due) < len(tasks := registry.in_order()):
            chosen = [registry.get(name) for name in due]
            todo = sorted((t for t in chosen if t is not None), key=registry.order_key)
        else:
            # (the field, not the property, for a task that keeps Task's own: see _consider)
            todo = [t for t in tasks if (t._name if t.plain_fields else t.name) in due]
        due.clear()
        self._spare = due
        if now is None and len(todo) > 1:
            # one datetime for the pass: the conditions' look-ups are kept per instant
            now = self._moment(ts)
        stale = False
        removals = self._removals
        try:
            for task in todo:
                if self._stop_reason is not None or self._error is not None:
                    self._dirty.add(task.name)
                    continue
                if stale:
                    # A run in the loop's thread took time: the next task is judged, and its
                    # run recorded, at the instant it is looked at, not when the pass began.
                    now = self._clock.now()
                    ts = now.timestamp()
                if self._removals is not removals and self._task_of(task.name) is not task:
                    # removed (or replaced) since the pass began, from another thread or by
                    # a run of this pass: once its removal has returned, it never runs
                    continue
                stale = self._consider(task, now, ts)
        finally:
            if self._known:
                self._known.clear()
            self._known_at = None

    def _consider(self, task: Task, now: datetime | None, ts: float) -> bool:
        """Launch ``task`` if it is due, else plan its next look; True if it ran inline.

        ``ts`` is ``now.timestamp()`` (computed once per instant: it is not cheap); ``now``
        None: the instant ``ts``, made here if a condition is to read it (see _moment).
        The task's ``name``, ``disabled`` and ``start_cond`` are read from their fields
        where its class keeps Task's properties (:attr:`Task.plain_fields`): a property
        call each costs about as much as a tenth of an always-due task's run."""
        plain = task.plain_fields
        name = task._name if plain else task.name
        if self._stalled_unsure:
            self._stalled_unsure.discard(name)
        if self._terminate and name in self._terminate:
            self._terminate.discard(name)
            for handle in list(self._handles.get(name, {}).values()):
                handle.terminate("terminated by request")
        batches = self._batches.get(name)
        only = self._only  # Session.run()'s override, rarely set: the common case stays cheap
        held = (
            (task._disabled if plain else task.disabled) if only is None else self._held_back(task)
        )
        if (held and not batches) or task.on_startup or task.on_shutdown:
            # start-up and shutdown tasks run in those sequences only (_launch_lifecycle)
            self._plan(name, None, 0.0)
            return False
        if self._handles.get(name) and not task.multilaunch:
            return False  # its end marks it for a new look
        cond = task._start_cond if plain else task.start_cond
        if (
            type(cond) is not AlwaysTrue
            and (by_clock := _CLOCK_FALSE.get(type(cond)))
            and not batches
            and not self._on_hold
        ):
            # False by the clock alone (daily, time_of_*...): planned before its executor is
            # looked up, which a task that is not due does not need (a first pass of 10,000
            # such tasks). A full executor would have put it among the blocked instead, looked
            # at when a run ends; planned, it is looked at when it may be due, and blocked then.
            if now is None:
                now = self._moment(ts)
            entry = self._known.get(id(cond)) if now is self._known_at else None
            if entry is None or entry[0] is not cond:
                entry = self._learn(cond, by_clock, now)
            known = entry[1]
            if known is not None:  # false at `now` whatever the history holds
                when_ts = known[0]
                if when_ts is None:
                    if name in self._unsure:
                        self._stalled_unsure.add(name)
                    self._planned.pop(name, None)
                elif when_ts > ts + _MIN_REPLAN_S and self._planned.get(name) != when_ts:
                    # _plan_ts's common case, in place (a first pass plans every task)
                    self._planned[name] = when_ts
                    listed = self._at.get(when_ts)
                    if listed is None:
                        self._at[when_ts] = [name]
                        heapq.heappush(self._heap, when_ts)
                    else:
                        listed.append(name)
                else:
                    self._plan_ts(name, when_ts, ts)
                return False
        if only is not None:
            mode = self._execution_of(task)
        elif type(task) is FuncTask:
            # FuncTask.execution without its property call (once a run)
            mode = task._execution or task.session.config.execution
            if task.is_async and mode == "main":
                mode = "async"
        else:
            mode = task.execution
        made = self._made_executor  # (read, then called: see _pass)
        executor = made(mode)
        if executor is None:
            executor = self._executor(mode)
        if type(executor) is not MainExecutor and not executor.has_capacity():
            # (MainExecutor always has: one run at a time, in the loop's own thread)
            self._blocked.add(name)  # the end of any run marks it for a new look
            # ... and so does time: a user's executor may have room again without a run of
            # this app ending (a limit shared with other processes, a rate limit)
            self._plan_ts(name, ts + _BLOCKED_RECHECK_S, ts)
            self._rechecks[name] = self._planned[name]
            return False
        if batches:
            params = batches.pop(0)
            inline = self._launch(task, now, params, ts, executor)
            if batches:
                self._dirty.add(name)
            return inline
        if self._on_hold:
            self._held.add(name)
            return False
        # `true` holds whatever the context says: no Context is made for it (one per pass
        # of an always-due task), and checking it can neither fail nor differ
        if type(cond) is not AlwaysTrue:
            # a condition is user code: the launch looks the task's executor up anew
            executor = None
            if now is None:
                now = self._moment(ts)
            ctx = Context(now, self._facts, task)
            if not self._check(cond, ctx, "start_cond", of_task=name):
                change = self._next_change(task.start_cond, ctx, name)
                if change is None and name in self._unsure:
                    self._stalled_unsure.add(name)
                self._plan(name, change, ts)
                return False
        became = self._due_at.get(name) if self._due_at else None
        if became is not None and 0.0 < ts - became <= _SNAP_S:
            # Found due within the last stretch of the wake-up (the OS wakes the loop a
            # little late): record the run at the instant its condition became true, so
            # that `every` counts from there and the lateness does not add up as drift.
            # Never before a record already made (another task's run or end in this
            # pass): conditions read that order (after_success, retry).
            became = max(became, self._journal.last_ts)
            if became < ts:
                now = datetime.fromtimestamp(became, self._clock.tz if now is None else now.tzinfo)
                ts = now.timestamp()
        return self._launch(task, now, {}, ts, executor)

    def _launch_lifecycle(self, which: Literal["on_startup", "on_shutdown"]) -> None:
        """Launch the ``on_startup`` or ``on_shutdown`` tasks in priority order, as Rocketry.

        A task left with the default condition (``false``) runs once; one with a condition
        runs if the condition holds now; a disabled one does not run. A run in the loop's
        thread ends before the next task is looked at; the others are waited for as usual.
        """
        now = self._clock.now()
        for task in filter(attrgetter(which), self._tasks.in_order()):
            batches = self._batches.get(task.name)
            if self._held_back(task) and not batches:
                continue
            if batches:
                params = batches.pop(0)
            elif isinstance(task.start_cond, AlwaysFalse) or self._check(
                task.start_cond,
                Context(now, self._facts, task),
                "start_cond",
                of_task=task.name,
            ):
                params = {}
            else:
                continue
            if self._launch(task, now, params):
                now = self._clock.now()

    def _check(
        self,
        cond: Condition,
        ctx: Context,
        what: str,
        *,
        silence: bool = True,
        of_task: str | None = None,
    ) -> bool:
        """``cond.is_true(ctx)``; ``what`` (``of_task``'s, if given) names it in errors."""
        try:
            return cond.is_true(ctx)
        except Exception as exc:
            if of_task is not None:  # formatted only now: a check per task per pass
                what = f"{what} of task {of_task!r}"
            if not (silence and self._config.silence_cond_check):
                raise condition_check_error(
                    f"checking the {what} ({label(cond)}) failed: {exc!r}", exc
                ) from exc
            self.logger.exception(
                "Checking the %s failed (silenced)", what, extra={"action": "cond_check"}
            )
            return False

    def _next_change(
        self, cond: Condition, ctx: Context, name: str, *, silence: bool = True
    ) -> datetime | None:
        try:
            return cond.next_change(ctx)
        except Exception as exc:
            if not (silence and self._config.silence_cond_check):
                what = "the shut_cond" if ctx.task is None else f"the start_cond of task {name!r}"
                raise condition_check_error(f"planning {what} failed: {exc!r}", exc) from exc
            self.logger.exception("Planning task %r failed (silenced)", name)
            return ctx.poll_deadline

    def _learn(
        self,
        cond: Condition,
        by_clock: Callable[[Condition, datetime], tuple[datetime | None] | None],
        now: datetime,
    ) -> tuple[Condition, tuple[float | None] | None]:
        """What the clock alone says of ``cond`` at ``now`` (``by_clock``, see
        ``conds.base._CLOCK_FALSE``), kept for the other tasks of the pass that share ``cond``:
        ``(cond, (POSIX time of its next change or None,))`` if it is false whatever the history
        holds, ``(cond, None)`` if its own ``is_true`` and ``next_change`` must be asked."""
        if now is not self._known_at:  # a new instant (a pass, or a later look in one)
            self._known.clear()
            self._known_at = now
        found = None
        if now.tzinfo is not None:  # a naive instant is read in a zone of the context's
            try:
                found = by_clock(cond, now)
            except Exception:  # is_true and next_change report it, as for any condition
                found = None
        entry: tuple[Condition, tuple[float | None] | None] = (cond, None)
        if found is not None:
            when = found[0]
            entry = (cond, (None if when is None else when.timestamp(),))
        self._known[id(cond)] = entry
        return entry

    def _plan(self, name: str, when: datetime | None, now_ts: float) -> None:
        self._plan_ts(name, None if when is None else when.timestamp(), now_ts)

    def _plan_ts(self, name: str, when_ts: float | None, now_ts: float) -> None:
        if when_ts is None:
            self._planned.pop(name, None)
            return
        # A change "now or earlier" from a condition that is false now would spin the loop:
        # look again a millisecond later instead.
        ts = max(when_ts, now_ts + _MIN_REPLAN_S)
        if self._planned.get(name) == ts:
            return
        self._planned[name] = ts
        listed = self._at.get(ts)
        if listed is None:
            self._at[ts] = [name]
            heapq.heappush(self._heap, ts)
        else:
            listed.append(name)

    def _deadline(self, now: datetime, until: datetime | None) -> datetime | None:
        if self._end_conds:
            self._check_end_conds(now)  # runs launched by this pass count too
        candidates: list[float] = []
        heap, planned, at = self._heap, self._planned, self._at
        while heap:
            when = heap[0]
            listed = at[when]
            while listed and planned.get(listed[-1]) != when:
                listed.pop()  # drop stale entries (each once: the search stays amortised O(1))
            if listed:
                candidates.append(when)
                break
            heapq.heappop(heap)
            del at[when]
        cond = self._shut_cond()
        if cond is not None:
            change = self._next_change(
                cond, Context(now, self._facts, None), "shut_cond", silence=False
            )
            if change is not None:
                candidates.append(change.timestamp())
        if self._counting_cycles or (cond is not None and _counts_cycles(cond)):
            # Conditions that count passes (scheduler_cycles) change only if passes happen:
            # an idle scheduler passes every cycle_sleep for them, as Rocketry's loop does.
            candidates.append(now.timestamp() + self._facts.poll_interval_s)
        if self._time_limits:
            candidates.append(min(self._time_limits.values()))
        if self._end_deadline is not None:
            candidates.append(self._end_deadline)
        if until is not None:
            candidates.append(until.timestamp())
        if not candidates:
            return None
        return datetime.fromtimestamp(min(candidates), now.tzinfo)

    # --- runs -----------------------------------------------------------------------------
    def _launch(
        self,
        task: Task,
        now: datetime | None,
        params: dict[str, Any],
        ts: float | None = None,
        executor: Executor | None = None,
    ) -> bool:
        """Start a run of ``task`` decided at ``now``; True if it ran in the loop's thread.

        The run is recorded at ``now``, the instant its condition was found true, so that
        ``every`` and the other conditions that count from the last run do not drift by the
        time the bookkeeping takes. ``ts``: ``now.timestamp()`` when the caller has it;
        ``executor``: the task's, when the caller looked it up and no code ran since. ``now``
        None: the instant ``ts``, whose datetime an inline run's records do without (see
        _moment).
        """
        if self.coordination is not None and not self.coordination.may_act():
            self._dirty.add(task.name)  # looked at again once this replica is the active one
            return False
        config = self._config
        journal = self._journal
        if executor is None:
            mode = task.execution if self._only is None else self._execution_of(task)
            executor = self._made_executor(mode)
            if executor is None:
                executor = self._executor(mode)
        if ts is None:
            assert now is not None  # one of the two is given
            ts = now.timestamp()
        hooks = self._hooks
        new_run_id = self._new_run_id  # (read, then called: see _pass)
        run_id = new_run_id(task, params)
        flag = None
        try:
            kwargs = task.arguments(params)
            # Only an argument can hand the run its termination flag: without one, no flag
            # is made (an Event per run is a measurable share of a trivial run's cost).
            later: dict[str, FuncArg] | None = None
            if kwargs and any(isinstance(v, BaseArgument) for v in kwargs.values()):
                flag = executor.new_flag()
                if not executor.shares_process:
                    later = made_in_child(
                        kwargs,
                        config.param_materialize,
                        session=self._facts.session,
                        task=task,
                        termination_flag=flag,
                    )
                    kwargs = {k: v for k, v in kwargs.items() if k not in later}
                kwargs = materialize(
                    kwargs,
                    session=self._facts.session,
                    task=task,
                    termination_flag=flag,
                )
            func = task.target()
            if later:
                func = CallInChild(func, later)
            if hooks.task_execute and executor.shares_process:
                func = hooks.around(func, task)
            if hooks.before_run:
                hooks.run_before(task)
        except Exception as exc:
            # The run was decided and could not be prepared (an argument, a hook): as in
            # Rocketry it is a run that failed, recorded with its traceback (so retry and the
            # conditions that count runs see it); then, unless silence_task_prerun, the
            # scheduler stops with TaskSetupError. A missing upstream value (Return) is state,
            # not a mistake in the code: after a restart it stays missing until the upstream
            # succeeds again, so it never stops the scheduler.
            missing = isinstance(exc, MissingReturnError)
            text = f"{type(exc).__name__}: {exc}" if missing else traceback.format_exc()
            if now is None:
                now = self._moment(ts)
            journal.record(task.name, "run", run_id, now, ts=ts, start_ts=ts)
            outcome = Outcome(run_id, "fail", exc_text=text)
            self._finish(task.name, run_id, now, outcome, start_ts=ts)
            if missing:
                return False
            if not config.silence_task_prerun:
                raise TaskSetupError(
                    f"preparing a run of task {task.name!r} failed: {exc!r}"
                ) from exc
            self.logger.exception(
                "Preparing task %r failed (silenced)", task.name, extra={"action": "prerun"}
            )
            return False
        # A repo handler put on the task logger since the last record is the session's from
        # now on: whether this run is written ahead of its body depends on it. (The session's
        # handler alone on the logger, as almost always, leaves sync() nothing to do.)
        handler = journal.handler
        handlers = journal.task_logger.handlers
        if len(handlers) != 1 or handlers[0] is not handler:
            journal.sync()
            handler = journal.handler
        if type(executor) is MainExecutor and (handler is None or handler.writes_inline):
            # The common inline case (the in-memory repo): what MainExecutor.submit does,
            # without the TaskCall, the callback and the handle it would make for it.
            name = task._name if task.plain_fields else task.name
            journal.record(name, "run", run_id, now, None, ts, ts)  # (positional: cheaper)
            if name not in self._handles:  # as _submit leaves it
                self._handles[name] = {}
            try:
                value, ended = run_inline(name, run_id, func, kwargs)
                # (positional: keywords cost a call more, once a run)
                self._finish(name, run_id, now, ended, False, ts, value, False)
            except Exception:  # as _submit does when submit() raises
                failed = Outcome(run_id, "fail", exc_text=traceback.format_exc())
                self._finish(name, run_id, now, failed, start_ts=ts)
            except BaseException as exc:  # as _submit does
                if now is None:
                    now = self._moment(ts)
                self._end_interrupted(name, run_id, now, exc, ts)
                raise
            return True
        if now is None:
            now = self._moment(ts)
        timeout = None if task.permanent else task.timeout  # a permanent task never times out
        timeout_s = None if timeout is None else timeout.total_seconds()
        call = TaskCall(task.name, run_id, func, kwargs, timeout_s, flag)
        inline = executor.runs_inline
        # Write-ahead of the run record (docs/persistence.md): with a repo written in the
        # background, the body starts once the repo has the record, so a scheduler killed
        # meanwhile cannot lose a run that happened. The in-memory repo skips all of it.
        if handler is not None and handler.background:
            wait = config.run_record_wait
            if (wait is None or wait) and not (task.on_startup or task.on_shutdown):
                queued, dropped = handler.accepted, handler.dropped
                journal.record(task.name, "run", run_id, now, ts=ts)
                if handler.accepted != queued:
                    pending = _AwaitedStart(self, task, run_id, call, executor, now, inline)
                    if self._await_record(pending, handler, wait):
                        return False
                elif handler.dropped != dropped:
                    self._started_unrecorded(task.name, "its run record was dropped")
                return self._submit(
                    task.name, run_id, call, executor, now, inline, task.multilaunch
                )
        journal.record(task.name, "run", run_id, now, ts=ts)
        return self._submit(task.name, run_id, call, executor, now, inline, task.multilaunch)

    def _submit(
        self,
        name: str,
        run_id: str,
        call: TaskCall,
        executor: Executor,
        now: datetime,
        inline: bool,
        multilaunch: bool,
        begins: float | None = None,
    ) -> bool:
        """Hand a recorded run to its executor; True if it ran in the loop's thread.

        ``now`` is the run's recorded start; its time limit counts from ``begins`` (POSIX
        seconds; default ``now``): later when the start waited for its run record.
        """
        if not inline:
            self._outside += 1
        on_done = partial(self._on_done, name, run_id, now, inline)
        handles = self._handles.setdefault(name, {})
        try:
            handle = executor.submit(call, on_done, now)
        except Exception:
            # The executor could not start it: the run ended before it began.
            if not inline:
                self._outside -= 1
            text = traceback.format_exc()
            self._finish(name, run_id, now, Outcome(run_id, "fail", exc_text=text))
            return inline
        except BaseException as exc:
            if not inline:
                self._outside -= 1
            self._end_interrupted(name, run_id, now, exc)
            raise
        # A run outside the loop is "running" until its end is processed on the loop, even if
        # it already ended in its thread: its end is queued behind this pass, and until then the
        # history has no end record, so the task must not be launched again (no multilaunch).
        if not inline and run_id in self._ended_unregistered:
            self._ended_unregistered.discard(run_id)  # already ended and processed
        elif not inline:
            if call.timeout_s is not None:
                start = now.timestamp() if begins is None else begins
                self._time_limits[run_id] = start + call.timeout_s
            handles[run_id] = handle
            if not multilaunch:
                # Its own "run" record marked it; while it runs it cannot start again, and
                # its end marks it anew: no pass for nothing in between.
                self._dirty.discard(name)
        return inline

    def _end_interrupted(
        self,
        name: str,
        run_id: str,
        now: datetime,
        exc: BaseException,
        start_ts: float | None = None,
    ) -> None:
        """A run was cut short by what only the scheduler's thread lets through (Ctrl-C,
        ``sys.exit()`` in an inline body): log its end, unless it has one, before that stops
        the scheduler. Without an end the run would count as running for ever in this process
        (``task.is_running``, ``session.run()`` waiting for it to end)."""
        if run_id in self._journal.history.of(name).running:
            self._finish(name, run_id, now, outcome_of(run_id, exc), start_ts=start_ts)

    def _await_record(
        self, pending: _AwaitedStart, handler: RepoHandler, wait: timedelta | None
    ) -> bool:
        """Hold ``pending`` until ``handler`` has stored its run record (at most ``wait``).

        False when the record has left the queue already: start it now. Meanwhile the run counts as
        running (a handle that can be terminated) and the loop goes on with other tasks.
        """
        loop = self._loop
        if loop is None:
            return False
        run_id = pending.run_id

        def written(stored: bool) -> None:  # on the handler's thread
            try:
                loop.call_soon_threadsafe(self._record_written, run_id, stored)
            except RuntimeError:  # the loop has closed: shutdown has ended the run
                pass

        stored = handler.when_written(written)
        if stored is not None:  # settled already
            if not stored:
                self._started_unrecorded(pending.name, "the repo did not take its run record")
            return False
        self._awaited[run_id] = pending
        self._handles.setdefault(pending.name, {})[run_id] = pending
        self._outside += 1  # a simulated clock lets the confirmation arrive first
        if not pending.multilaunch:
            self._dirty.discard(pending.name)
        if wait is not None:
            pending.timer = loop.call_later(wait.total_seconds(), self._record_wait_over, run_id)
        return True

    def _take_awaited(self, run_id: str) -> _AwaitedStart | None:
        pending = self._awaited.pop(run_id, None)
        if pending is None:
            return None  # started after its wait, or ended meanwhile
        self._outside -= 1
        if pending.timer is not None:
            pending.timer.cancel()
        handles = self._handles.get(pending.name)
        if handles is not None and handles.get(run_id) is pending:
            del handles[run_id]
        return pending

    def _record_written(self, run_id: str, stored: bool) -> None:
        pending = self._take_awaited(run_id)
        if pending is None:
            return
        coordination = self.coordination
        if not stored and coordination is not None and not coordination.may_act():
            # refused by the database: another replica holds the lease and decides this run
            self._finish(pending.name, run_id, pending.started, Outcome(run_id, "terminate"))
            return
        if not stored:
            self._started_unrecorded(pending.name, "the repo did not take its run record")
        self._start_awaited(pending)

    def _record_wait_over(self, run_id: str) -> None:
        pending = self._take_awaited(run_id)
        if pending is None:
            return
        wait = self._config.run_record_wait
        seconds = 0.0 if wait is None else wait.total_seconds()
        self._started_unrecorded(
            pending.name, f"its run record was not stored within {seconds:g} s (run_record_wait)"
        )
        self._start_awaited(pending)

    def _start_awaited(self, pending: _AwaitedStart) -> None:
        self._submit(
            pending.name,
            pending.run_id,
            pending.call,
            pending.executor,
            pending.started,
            pending.inline,
            pending.multilaunch,
            begins=self._clock.timestamp(),
        )
        self._poke()

    def _cancel_awaited(self, run_id: str, reason: str) -> None:
        """End a run still waiting for its run record as ``terminate``: its body never ran."""
        pending = self._take_awaited(run_id)
        if pending is None:
            return
        outcome = Outcome(
            run_id,
            "terminate",
            exc_text=f"{reason} before the run started (its record was "
            "not stored yet): the task's body did not run",
        )
        self._finish(pending.name, run_id, pending.started, outcome)

    def _cancel_all_awaited(self, reason: str) -> None:
        for run_id in list(self._awaited):
            self._cancel_awaited(run_id, reason)

    def _started_unrecorded(self, name: str, why: str) -> None:
        """Warn that a run started without a stored run record, at most once a minute."""
        self._unrecorded += 1
        now = time.monotonic()
        if self._unrecorded_at is not None and now - self._unrecorded_at < _UNRECORDED_EVERY_S:
            return
        self._unrecorded_at = now
        count, self._unrecorded = self._unrecorded, 0
        self.logger.warning(
            "Task %r started without a stored run record: %s; a scheduler killed before the "
            "record is written may run it again after a restart (%d such start(s) since the "
            "last warning)",
            name,
            why,
            count,
        )

    def _on_done(
        self, name: str, run_id: str, started: datetime, inline: bool, outcome: Outcome
    ) -> None:
        if inline or threading.get_ident() == self._loop_thread:
            self._finish(name, run_id, started, outcome, counted=not inline)
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self._finish, name, run_id, started, outcome, True)

    def _finish(
        self,
        name: str,
        run_id: str,
        started: datetime | None,
        outcome: Outcome | None,
        counted: bool = False,
        start_ts: float | None = None,
        value: object = None,
        poke: bool = True,
    ) -> None:
        """Log how a run ended: ``outcome``, or None for a success that returned ``value``
        (an inline run: its Outcome is made only for the after-run hooks).
        ``start_ts``: ``started.timestamp()`` when the caller has it (``started`` may then be
        None, see Journal.record). ``poke=False``: the
        caller is the loop's own pass, which looks at what the end marked before it sleeps,
        so the wake event need not be set."""
        if self._abandoned and run_id in self._abandoned:
            self._abandoned.discard(run_id)
            return  # its end was logged at shutdown and it no longer counts as going on
        if counted:
            self._outside -= 1
        handles = self._handles.get(name)
        if (not handles or handles.pop(run_id, None) is None) and counted:
            self._ended_unregistered.add(run_id)  # reported from inside submit(): see _launch
        if self._time_limits:
            self._time_limits.pop(run_id, None)
        if outcome is None:
            action: OutcomeAction = "success"
            exc_text = control = None
        else:
            action, value, exc_text = outcome.action, outcome.value, outcome.exc_text
            control = outcome.control
        if action == "success":
            stored = self._stored_return
            if value is not None or stored is None or stored(name, _UNSET) is not None:
                self._set_return(name, value)
        try:
            self._journal.record(name, action, run_id, started, exc_text, None, start_ts)
        except Exception as exc:
            self._error = exc
        hooks = self._hooks
        if hooks.after_run:
            task = self._tasks.get(name)
            if task is not None:
                if outcome is None:
                    outcome = Outcome(run_id, "success", value)
                hooks.run_after(task, outcome)
        if self._blocked:
            self._dirty |= self._blocked
            self._blocked.clear()
        if control == "exit":
            self.exited_by = name
            self.shut_down(f"task {name!r} raised SchedulerExit")
        elif control == "restart":
            self.restart()
        if poke:
            self._poke()

    def _reap_timeouts(self, now: datetime) -> None:
        """Terminate the runs whose time limit has passed (their end is logged as terminate)."""
        if not self._time_limits:
            return
        now_ts = now.timestamp()
        expired = [run_id for run_id, limit in self._time_limits.items() if limit <= now_ts]
        for run_id in expired:
            del self._time_limits[run_id]
            for handles in self._handles.values():
                handle = handles.get(run_id)
                if handle is not None and handle.is_alive():
                    handle.terminate("timeout")

    def stand_down(self, reason: str) -> None:
        """This replica lost the lease (coordination): end its runs, launch nothing more."""
        self._cancel_all_awaited(reason)
        self.terminate_all(reason)
        self._poke()

    def terminate_all(self, reason: str) -> None:
        for handles in self._handles.values():
            for handle in list(handles.values()):
                handle.terminate(reason)

    async def _wait_for_runs(self) -> None:
        """Let running tasks finish, still ending those whose timeout passes meanwhile.

        Runs of permanent tasks would never finish: they are terminated at once.
        """
        for name, handles in self._handles.items():
            task = self._tasks.get(name)
            if task is not None and task.permanent:
                for handle in list(handles.values()):
                    handle.terminate("shutdown (permanent task)")
        clock, wake = self._clock, self._wake
        while wake is not None and any(self._handles.values()) and not self._forced:
            now = clock.now()
            self._reap_timeouts(now)
            if self._end_conds:
                self._check_end_conds(now)
            wake.clear()
            # Only a time limit ends a run from here on by itself (a run's end, a stop signal
            # or a request set `wake`). Not _deadline: it also holds the other tasks' next
            # looks, which nothing launches any more; once past, the wait spun on a core.
            limits = self._time_limits
            until = datetime.fromtimestamp(min(limits.values()), now.tzinfo) if limits else None
            await clock.sleep_until(until, wake, busy=True)

    async def _wait_for_reports(self, grace_s: float) -> None:
        """Give terminated runs ``grace_s`` real seconds to report how they ended."""
        import asyncio

        wake = self._wake
        loop = asyncio.get_running_loop()
        end = loop.time() + grace_s
        while wake is not None and any(self._handles.values()):
            left = end - loop.time()
            if left <= 0:
                break
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), left)
            except asyncio.TimeoutError:
                break

    async def _shutdown(self) -> None:
        """Shutdown hooks and tasks, then end the runs, release the executors, last hooks.

        As in Rocketry: the shutdown hooks run first (a generator up to its ``yield``), then
        the ``on_shutdown`` tasks (not after a crash). With ``instant_shutdown`` the runs are
        then terminated at once; otherwise they may finish, each within its own timeout.
        Nothing started by the scheduler outlives this: processes are killed, and a run that
        did not report in time is logged ``terminate``. Shutdown generators resume last,
        once every run has ended and been logged.
        """
        failure: BaseException | None = None
        self._stopping = True
        if self._signalled is not None:
            self._report_signal(self._signalled)
        try:
            self._hooks.begin_shutdown()
            if not self._crashed:
                self._launch_lifecycle("on_shutdown")
        except Exception as exc:  # the runs must still be ended: raise it afterwards
            failure = exc
        self._cancel_all_awaited("the scheduler shut down")
        if self._config.instant_shutdown or self._crashed or self._forced:
            self.terminate_all("shutdown")
        else:
            await self._wait_for_runs()
            self.terminate_all("shutdown")
        await self._wait_for_reports(_FORCED_GRACE_S if self._forced else _TERMINATE_GRACE_S)
        for executor in self._executors.values():
            executor.shutdown(terminate=True)
        await self._wait_for_reports(0.5)
        for name, handles in self._handles.items():
            for run_id, handle in list(handles.items()):
                # only runs outside the loop's thread are still registered here
                self._outside -= 1
                self._abandoned.add(run_id)
                self._journal.record(
                    name, "terminate", run_id, handle.started, exc_text="scheduler shut down"
                )
        self._handles.clear()
        self._time_limits.clear()
        self._blocked.clear()
        self._held.clear()
        try:
            self._hooks.end_shutdown()
            if failure is not None:
                raise failure
        finally:
            # Buffered task records (repo unavailable) get a bounded wait to be written.
            self._journal.flush()
            if self.coordination is not None:  # the last records are in: release the lease
                self.coordination.stop()
            self.is_running = False
            self._stopping = False
            self._loop = None
            self._wake = None
            self.logger.info(
                "Shut down (%s)", self._stop_reason or "stopped", extra={"action": "shutdown"}
            )

    @property
    def running_handles(self) -> dict[str, dict[str, RunHandle]]:
        return self._handles

    def running_runs(self, task_name: str) -> Collection[str]:
        """The run ids of ``task_name`` going on now (for the journal's crash check)."""
        return self._handles.get(task_name, {}).keys()


def _collect_at_start(mode: str, handler: RepoHandler | None) -> None:
    """The ``startup_gc`` setting, between start-up (restore, ``on_startup``) and the first pass.

    A repo written in the background has connected by now: its driver's imports (psycopg and
    SQLAlchemy's dialect, tens of thousands of objects) came after the last full collection
    of the program's own imports, and make the next one due. Left alone, CPython runs it in
    the loop's first seconds (bench W6: 20-60 ms, the loop's longest stall); collected here, it
    is part of the start. ``auto`` does it only then, so that a memory repo's start (W5) costs
    nothing more; ``freeze`` also moves what survives into the permanent generation, which no
    later full collection looks at again (see docs/operating.md).
    """
    if mode == "off" or (mode == "auto" and (handler is None or not handler.background)):
        return
    import gc  # here: W5's start (the memory repo) loads nothing it does not use

    gc.collect()
    if mode == "freeze":
        gc.freeze()


async def _yield_to_loop(ready: Sized | None) -> None:
    """Let the event loop run what is ready, and what that makes ready, before the next stretch.

    A due timer wakes a task in two steps: its callback completes a future, and the task's
    next step is queued behind the loop's own wake-up from the first yield. One bare yield
    thus left that task waiting for a whole further millisecond of passes; a second yield
    puts the loop's wake-up behind it (bench W7, an asyncio task sleeping 5 ms next to an
    always-due inline task: woken 1.35 ms late, median, instead of 2.4 ms). ``ready`` is the
    event loop's queue of ready callbacks (asyncio's ``_ready``): the second yield, a whole
    loop iteration (about 1.5 % of an always-due task's runs), is made only when something
    is queued; on a loop without that queue (``None``, another implementation) always.
    """
    import asyncio

    await asyncio.sleep(0)  # noqa: TID251 - a bare yield to the event loop
    if ready is None or ready:
        await asyncio.sleep(0)  # noqa: TID251 - ... and one for the tasks the first one woke


def _timestamp_of(now: datetime | None) -> float:
    """``now.timestamp()`` of a pass's instant read without its timestamp (never None then)."""
    assert now is not None  # a pass has its datetime, its timestamp or both
    return now.timestamp()


def _hand_off() -> None:
    """Let another thread of this process take the GIL, if one is waiting for it.

    A yield to the event loop releases the GIL for a zero-timeout poll and takes it straight
    back. CPython's waiting thread asks for the GIL only after a whole switch interval (5 ms)
    with no switch, and each of those releases counts as one: a loop that yields every
    millisecond kept a sleeping thread of the same process from waking for up to a second
    (bench W7). Staying off the GIL for a few microseconds lets a waiting thread, woken when
    it was released, take it; with no other thread alive there is nobody to wait for.
    """
    if threading.active_count() > 1:
        time.sleep(_HAND_OFF_S)  # noqa: TID251 - real time off the GIL, not the session's clock


def _unsure(cond: Condition) -> bool:
    """Whether some part of ``cond`` is a condition class from outside skylaunch.

    Those may read the history of tasks their ``watches()`` does not name (the default names
    none), so their "no next change" cannot be tied to the tasks they watch.
    """
    if isinstance(cond, (All, AnyCond)):
        return any(_unsure(part) for part in cond.conds)
    if isinstance(cond, Not):
        return _unsure(cond.cond)
    return not type(cond).__module__.startswith("skylaunch.")


#: (_unsure, _counts_cycles) of each condition class that is no combination: both depend on
#: the class alone, so defining thousands of tasks asks each class once.
_LEAF_TRAITS: dict[type[Condition], tuple[bool, bool]] = {}


def _traits(cond: Condition) -> tuple[bool, bool]:
    """``(_unsure(cond), _counts_cycles(cond))``."""
    kind = type(cond)
    traits = _LEAF_TRAITS.get(kind)
    if traits is None:
        traits = (_unsure(cond), _counts_cycles(cond))
        if not isinstance(cond, (All, AnyCond, Not)):
            _LEAF_TRAITS[kind] = traits
    return traits


def _counts_cycles(cond: Condition) -> bool:
    """Whether ``cond`` reads the scheduler's pass count (``scheduler_cycles``), in any part."""
    # (a condition of that module's is made only once it is loaded)
    module = sys.modules.get("skylaunch.conds.scheduler")
    if module is not None and isinstance(cond, module.SchedulerCycles):
        return True
    if isinstance(cond, (All, AnyCond)):
        return any(_counts_cycles(part) for part in cond.conds)
    if isinstance(cond, Not):
        return _counts_cycles(cond.cond)
    return False
