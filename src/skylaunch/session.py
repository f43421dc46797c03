"""The session: tasks, configuration, clock, history, parameters, repo, and control.

It is the only object that knows all the others: tasks and conditions reach the clock, the
history and the scheduler through it, and the scheduler reaches tasks through it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import Any

from skylaunch._tasknames import TaskKeyed, task_name
from skylaunch.args import call_with_arguments
from skylaunch.conds.base import Condition
from skylaunch.conds.scheduler import SchedulerCycles
from skylaunch.config import Config
from skylaunch.exc import ConfigError, TaskDefinitionError, TaskLookupError
from skylaunch.execution.base import Executor, Outcome
from skylaunch.execution.guard import refuse_start_while_bootstrapping
from skylaunch.execution.registry import BuiltinOptions, ExecutorRegistry, UnknownExecutorError
from skylaunch.history import Action, TaskHistory
from skylaunch.hooks import HookRound
from skylaunch.journal import Journal
from skylaunch.log.records import TaskRunRecord
from skylaunch.log.repos.memory import MemoryRepo
from skylaunch.scheduler import Scheduler
from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask
from skylaunch.time.clock import Clock, SystemClock, local_zone

__all__ = ["Session"]


class Session:
    """Everything one scheduler works with. ``App`` makes one for you."""

    log_flush_timeout_s: float = 10.0
    """How long shutdown (and replacing the repo) waits for buffered records to be written."""

    log_queue_max: int = 100_000
    """How many task records may wait for a slow or unavailable repo; beyond, they are dropped
    (counted and reported). Read when the repo is set."""

    crash_window: int = 1000
    """How many of a task's newest records start-up searches for runs that never ended."""

    def __init__(
        self,
        config: Config | Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        repo: Any = None,
        executors: Mapping[str, Executor] | None = None,
        parameters: Mapping[str, Any] | None = None,
        **config_kwargs: Any,
    ) -> None:
        self.config = Config.build(config, **config_kwargs)
        self.executors = ExecutorRegistry(executors, options=self._executor_options)
        """The executors by name: the user's own (``executors=``) and the built-in ones in
        use; a task's ``execution`` names one of :meth:`ExecutorRegistry.names`."""
        self._check_execution(self.config.execution)
        self.config._execution_check = self._check_execution
        self.clock: Clock = clock if clock is not None else SystemClock(self.config.timezone)
        if (
            clock is not None
            and self.config.timezone is not None
            and clock.tz != self.config.timezone
        ):
            self.clock.tz = self.config.timezone
        self.config._timezone_listeners.append(self._timezone_changed)
        self.history = TaskHistory(self.config.history_max_records)
        self._tasks: dict[str, Task] = {}
        self._tasks_lock = threading.RLock()
        self._order: dict[str, int] = {}
        self._sorted: list[Task] | None = None
        self.parameters: dict[str, Any] = dict(parameters or {})
        self._run_id_pid = os.getpid()
        self._run_id_prefix = secrets.token_hex(8)
        self._run_ids = itertools.count()
        self.returns: dict[str, Any] = TaskKeyed()  # session.returns[task or name or func]
        self.cond_names: dict[str, Condition] = {}
        self.startup_hooks: list[Callable[..., Any]] = []
        self.shutdown_hook_funcs: list[Callable[..., Any]] = []
        self.before_run_hooks: list[Callable[..., Any]] = []
        self.after_run_hooks: list[Callable[..., Any]] = []
        self.cycle_hooks: list[Callable[..., Any]] = []
        self.task_init_hooks: list[Callable[..., Any]] = []
        self.task_execute_hooks: list[Callable[..., Any]] = []
        self._startup_round = self._shutdown_round = HookRound((), {})
        self.task_logger = logging.getLogger(self.config.task_logger_basename)
        if self.task_logger.level == logging.NOTSET:
            self.task_logger.setLevel(logging.INFO)
        self.scheduler_logger = logging.getLogger(self.config.scheduler_logger_basename)
        self.scheduler = Scheduler(self)
        self.history.on_change = self.scheduler.on_history_change
        self.journal = Journal(self)
        # A repo handler the application already put on the task logger is the session's
        # repo (Rocketry's handbook sets it up before the app); else the default memory repo.
        if repo is not None or not self.journal.adopt_existing():
            self.set_repo(repo if repo is not None else self.default_repo())
        self.journal.attach_outputs()

    # --- repo -------------------------------------------------------------------------------
    def default_repo(self) -> Any:
        """A memory repo of :class:`TaskRunRecord` bounded per task (``history_max_records``).

        Reads give models (``record.action`` works as in Rocketry); writes from the lifecycle
        store plain dicts, turned into models only when read, which keeps logging cheap.
        """
        return MemoryRepo(TaskRunRecord, max_per_task=self.config.history_max_records)

    def _timezone_changed(self, tz: tzinfo | None) -> None:
        """``config.timezone`` was assigned: answer in that zone, and plan every task again."""
        self.clock.tz = tz if tz is not None else local_zone()
        for task in self.tasks:
            self.scheduler.task_changed(task)

    def set_repo(self, repo: Any, delete_existing: bool = True) -> None:
        """Store task records in ``repo`` from now on; the history is read back from it at start.

        ``repo`` is checked first (methods, record fields): a repo that cannot hold task
        records fails here, naming what is missing. With ``delete_existing`` (the default),
        repo handlers already on the task logger are removed, except those of other live
        sessions. This session's previous handler is closed after writing what it still
        buffers (waiting up to ``log_flush_timeout_s``).
        """
        self.journal.set_repo(repo, delete_existing)

    @property
    def repo(self) -> Any:
        """The log repo task records go to (:meth:`set_repo` changes it)."""
        return self.journal.repo

    def get_repo(self) -> Any:
        return self.repo

    def get_task_log(self, **query: Any) -> list[Any]:
        return list(self.repo.filter_by(**query).all())

    def get_task_loggers(self, with_adapters: bool = True) -> dict[str, Any]:
        """The loggers named ``config.task_logger_basename`` or under it, by name (Rocketry's).

        With ``with_adapters`` each is wrapped in a ``TaskAdapter`` for no one task, which reads
        every task's records from this session's repo (``filter_by``, ``get_records``); else
        they are the ``logging.Logger`` objects. Placeholders (names only ever used as
        parents) are left out.
        """
        from skylaunch.log.adapter import TaskAdapter

        basename = self.config.task_logger_basename
        found = {
            name: logger
            for name, logger in list(logging.root.manager.loggerDict.items())
            if (name == basename or name.startswith(basename + "."))
            and isinstance(logger, logging.Logger)
        }
        if not with_adapters:
            return found
        return {name: TaskAdapter(self, None, logger=logger) for name, logger in found.items()}

    def restore_history(self, task_names: Iterable[str] | None = None) -> None:
        """Rebuild tasks' in-memory history from the repo and log their crashed runs.

        Called at start-up (after the start-up hooks, which may set the repo) and whenever a
        repo is attached while the scheduler runs. Each task is read once per repo: per
        action, the timestamps of its newest ``history_max_records`` records, plus what the
        handler still buffers. A ``run`` among the task's newest ``crash_window`` records that
        no end matches by ``run_id``, and that is not running now, is logged as ``crash``, in
        the history and in the repo.
        """
        self.journal.restore(task_names)

    def flush_logs(self, timeout: float | None = None) -> bool:
        """Write what the repo handler buffers, retrying up to ``timeout`` seconds.

        Called at shutdown with ``log_flush_timeout_s``. Returns whether nothing is left;
        what is left stays buffered and retried in the background while the process lives.
        """
        return self.journal.flush(timeout)

    # --- tasks ------------------------------------------------------------------------------
    def add_task(self, task: Task) -> None:
        name = task.name
        if name in self._tasks and self._tasks[name] is not task:
            policy = self.config.task_pre_exist
            if policy == "raise":
                raise TaskDefinitionError(
                    f"a task named {name!r} exists already (config task_pre_exist='raise'; "
                    "use 'replace', 'ignore' or 'rename', or give another name=)"
                )
            if policy == "ignore":
                return
            if policy == "rename":
                n = 1
                while f"{name} - {n}" in self._tasks:
                    n += 1
                task.name = f"{name} - {n}"
                task._logger = None  # made again, under the new name, on first use
                name = task.name
        with self._tasks_lock:
            self._tasks[name] = task
            self._order.setdefault(name, len(self._order))
            self._sorted = None
        self.scheduler.task_added(task)

    def create_task(self, *, func: Callable[..., Any] | None = None, **kwargs: Any) -> Task:
        """A task in this session: ``func=`` (or ``path=``) a FuncTask, ``command=`` a CommandTask."""
        if "command" in kwargs:
            from skylaunch.tasks.command import CommandTask

            return CommandTask(kwargs.pop("command"), session=self, **kwargs)
        if func is None and "path" not in kwargs:
            raise TaskDefinitionError("create_task() needs func=, path= or command=")
        return FuncTask(func, session=self, **kwargs)

    @property
    def env(self) -> Any:
        """The session parameter ``env`` that ``is_env(...)`` compares (``session.env = "prod"``)."""
        return self.parameters.get("env")

    @env.setter
    def env(self, value: Any) -> None:
        self.parameters["env"] = value
        self.scheduler.notify()

    def rename_task(self, task: Task, old: str, new: str) -> None:
        """Key ``task`` by ``new`` instead of ``old`` (``task.name = new`` calls this)."""
        with self._tasks_lock:
            if new in self._tasks:
                raise TaskDefinitionError(
                    f"cannot rename task {old!r} to {new!r}: a task of that name exists"
                )
            del self._tasks[old]
            self._tasks[new] = task
            self._order[new] = self._order.pop(old)
            self._sorted = None
        self.scheduler.task_removed(old)

    def remove_task(self, task: Task | str) -> None:
        name = task if isinstance(task, str) else task.name
        if name not in self._tasks:
            raise TaskLookupError(name, list(self._tasks))
        with self._tasks_lock:
            del self._tasks[name]
            self._sorted = None
        self.scheduler.task_removed(name)

    def get(self, name: str) -> Task | None:
        return self._tasks.get(name)

    def __getitem__(self, task: str | Callable[..., Any]) -> Task:
        try:
            name: str | None = task_name(task)
        except TypeError:
            name = None
        if name is None or name not in self._tasks:
            raise TaskLookupError(str(name if name is not None else task), list(self._tasks))
        return self._tasks[name]

    def __contains__(self, task: object) -> bool:
        if isinstance(task, Task):
            return self._tasks.get(task.name) is task
        return task in self._tasks

    @property
    def tasks(self) -> set[Task]:
        return set(self._tasks.values())

    def order_key(self, task: Task) -> tuple[int, int]:
        """Higher priority first, then definition order."""
        return (-task.priority, self._order.get(task.name, 0))

    def tasks_in_order(self) -> list[Task]:
        ordered = self._sorted
        if ordered is None:
            with self._tasks_lock:  # tasks may be added from other threads meanwhile
                ordered = self._sorted = sorted(self._tasks.values(), key=self.order_key)
        return ordered

    # --- running ----------------------------------------------------------------------------
    @property
    def poll_interval_s(self) -> float:
        """How often opaque conditions are looked at (``cycle_sleep``, at least 1 ms)."""
        return max(self.config.cycle_sleep or 0.0, 0.001)

    def executor(self, name: str) -> Executor:
        """The executor a task with ``execution=name`` runs with (a built-in one is made now)."""
        try:
            return self.executors.use(name)
        except UnknownExecutorError as exc:
            raise TaskDefinitionError(str(exc)) from None

    def _executor_options(self) -> BuiltinOptions:
        return BuiltinOptions(
            max_processes=self.config.max_process_count, daemon=self.config.tasks_as_daemon
        )

    def _check_execution(self, name: object) -> None:
        """Config ``execution`` must name an executor of this session."""
        try:
            self.executors.check(name)
        except UnknownExecutorError as exc:
            raise ConfigError("execution", name, str(exc)) from None

    def new_run_id(self, task: Task, params: Mapping[str, Any]) -> str:
        """A run id unique across sessions, processes and restarts (the task's ``func_run_id``,
        else the config's, if set).

        32 hex digits, as ``uuid4().hex`` (what it replaces): a random 64-bit prefix drawn per
        session and process, then a counter. A uuid4 per run cost more than the rest of a
        trivial run's bookkeeping; uniqueness rests on the same randomness, drawn once.
        """
        factory = task.func_run_id or self.config.func_run_id
        if factory is not None:
            return str(factory(task, params))
        pid = os.getpid()
        if pid != self._run_id_pid:  # a forked child must not repeat its parent's ids
            self._run_id_pid = pid
            self._run_id_prefix = secrets.token_hex(8)
            self._run_ids = itertools.count()
        return f"{self._run_id_prefix}{next(self._run_ids):016x}"

    def log_action(
        self,
        task_name: str,
        action: Action,
        run_id: str | None,
        start: datetime,
        *,
        exc_text: str | None = None,
        ts: float | None = None,
    ) -> None:
        """Record an action: in the history first (it happened), then through the task logger.

        When this session's repo handler is the only consumer of task records and takes
        trusted writes (the default memory repo), the record goes to it as a dict, without a
        ``logging.LogRecord``: this is the scheduler's hot path (two records per run).
        """
        self.journal.record(task_name, action, run_id, start, exc_text=exc_text, ts=ts)

    # --- hooks ----------------------------------------------------------------------------
    def hook_context(self, task: Task | None = None) -> dict[str, Any]:
        """What a hook's argument parameters (``session=Session()``, ``task=Task()``) read."""
        return {"session": self, "task": task, "termination_flag": None}

    def startup(self) -> None:
        """Before the first pass: start-up hooks, then the history restored from the repo.

        Hooks run first because they may attach the repo (Rocketry's
        ``TaskLogger().set_repo``). A generator hook stops at its ``yield``;
        :meth:`startup_done` resumes it once the start-up tasks have been launched.
        """
        self._startup_round = HookRound(self.startup_hooks, self.hook_context())
        self.restore_history()

    def cycle_round(self) -> HookRound | None:
        """The scheduler-cycle hooks of one pass (None when there are none: the common case)."""
        if not self.cycle_hooks:
            return None
        return HookRound(self.cycle_hooks, self.hook_context())

    def startup_done(self) -> None:
        """The start-up tasks have been launched: resume the start-up generators."""
        self._startup_round.finish()

    def shutdown_begin(self) -> None:
        """Shutdown begins: shutdown hooks (generators up to their ``yield``)."""
        self._shutdown_round = HookRound(self.shutdown_hook_funcs, self.hook_context())

    def shutdown_done(self) -> None:
        """Every run has ended and been logged: resume the shutdown generators."""
        self._shutdown_round.finish()

    def before_run(self, task: Task, run_id: str) -> None:
        """Called by the scheduler before a run is handed to its executor (pre-run)."""
        for hook in self.before_run_hooks:
            call_with_arguments(hook, self.hook_context(task), task)

    def after_run(self, task: Task, run_id: str, outcome: Outcome) -> None:
        """Called by the scheduler when a run has ended and been logged.

        A failing hook is reported on the scheduler logger and does not stop the scheduler.
        """
        for hook in self.after_run_hooks:
            try:
                call_with_arguments(hook, self.hook_context(task), task, outcome)
            except Exception:  # noqa: PERF203 - one failing hook must not hide the others
                self.scheduler_logger.exception(
                    "after-run hook %r failed for task %r",
                    getattr(hook, "__name__", hook),
                    task.name,
                    extra={"action": "hook"},
                )

    # Rocketry's hook decorators
    def hook_startup(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return _appender(self.startup_hooks)

    def hook_shutdown(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return _appender(self.shutdown_hook_funcs)

    def hook_scheduler_cycle(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Around each pass of the scheduler (a generator resumes after the pass)."""
        return _appender(self.cycle_hooks)

    def hook_task_init(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """When a task is created, before its fields are set (a generator resumes after)."""
        return _appender(self.task_init_hooks)

    def hook_task_execute(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Around each run, where it runs (a generator gets the run's exception info back)."""
        return _appender(self.task_execute_hooks)

    async def serve(self, until: datetime | None = None) -> None:
        """Run the scheduler in the running event loop until it is shut down.

        A restart (``session.restart()``, ``SchedulerRestart``) runs the loop again in this
        process: inside someone else's event loop that is the only safe way (``recall``).
        """
        refuse_start_while_bootstrapping()
        while await self.scheduler.serve(until=until):
            self.scheduler_logger.info("Restarting...", extra={"action": "restart"})

    def start(self, until: datetime | None = None) -> None:
        """Run the scheduler until it is shut down (blocks; SIGTERM or Ctrl-C stops it cleanly).

        In the main thread, SIGTERM and SIGINT shut the scheduler down as ``shut_down()`` does
        (running tasks may finish within their timeouts) and this method returns; a second
        signal terminates the running tasks at once (see docs/deployment.md).

        A restart follows ``config.restarting`` (Rocketry's values): ``replace`` execs a new
        Python with the same command line in this process, ``relaunch``/``fresh`` start one and
        return, ``recall`` runs the loop again in this process.
        """
        refuse_start_while_bootstrapping()
        try:
            with self.scheduler.stopping_on_signals():
                while asyncio.run(self.scheduler.serve(until=until)):
                    self.scheduler_logger.info("Restarting...", extra={"action": "restart"})
                    if self.config.restarting != "recall":
                        self._restart_process(self.config.restarting)
                        return
        except KeyboardInterrupt:  # SIGINT handled by someone else's handler, or not ours
            self.scheduler_logger.info("Interrupted", extra={"action": "shutdown"})

    def _restart_process(self, how: str) -> None:
        command = [sys.executable, *sys.orig_argv[1:]]
        logging.shutdown()  # flush every handler before the process is replaced
        if how == "replace":
            os.execv(sys.executable, command)
        subprocess.Popen(command, close_fds=True)  # relaunch, fresh

    def run(self, *task_names: str, execution: str | None = None, obey_cond: bool = False) -> None:
        """Run the named tasks once each, then return (Rocketry's entry point for tests).

        Other tasks are held meanwhile. Without ``obey_cond`` each task runs at once whatever
        its start condition says; with it, as in Rocketry, the scheduler makes one pass: a task
        whose condition holds then runs (and is waited for), the others do not.
        ``execution`` overrides the tasks' execution mode for this call only.
        """
        if not task_names:
            raise ValueError("run() needs the names of the tasks to run")
        chosen = [self[name] for name in task_names]
        names = frozenset(t.name for t in chosen)
        saved = {t.name: (t.disabled, t._execution) for t in self.tasks_in_order()}
        saved_shut = self.config.shut_cond
        since = self.clock.timestamp()
        try:
            for task in self.tasks_in_order():
                if task.name not in names:
                    task.disabled = True
                elif execution is not None:
                    task.execution = execution
            for task in chosen:
                if not obey_cond:
                    task.run()
            ran: Condition = _RanOnce(names, since)
            if obey_cond:
                ran = ran | (SchedulerCycles() >= 1)
            self.config.shut_cond = ran
            self.start()
        finally:
            self.config.shut_cond = saved_shut
            for task in self.tasks_in_order():
                if task.name in saved:
                    task.disabled, task._execution = saved[task.name]

    def shut_down(self, force: bool | None = None) -> None:
        """Ask the scheduler to stop after the current pass (safe from any thread or task).

        ``force=True`` terminates the running tasks at once instead of letting them finish
        within their timeouts; left ``None``, a second call while the first is pending forces,
        as in Rocketry.
        """
        if force is None:
            force = self.scheduler.stop_requested
        self.scheduler.shut_down(
            "shut_down(force=True) called" if force else "shut_down() called", force=force
        )

    # Rocketry's deprecated names: they work, and warn as Rocketry did.
    def shutdown(self) -> None:
        """Deprecated (Rocketry too): :meth:`shut_down`."""
        _deprecated("session.shutdown()", "session.shut_down()")
        self.shut_down()

    def get_task(self, task: str | Callable[..., Any]) -> Task:
        """Deprecated (Rocketry too): ``session[task]``."""
        _deprecated("session.get_task(task)", "session[task]")
        return self[task]

    def task_exists(self, task: object) -> bool:
        """Deprecated (Rocketry too): ``task in session``."""
        _deprecated("session.task_exists(task)", "task in session")
        return (task if isinstance(task, Task) else task_name(task)) in self

    def restart(self) -> None:
        """Ask the scheduler to shut down and start again (safe from any thread or task)."""
        self.scheduler.restart()

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks_in_order())


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated (as in Rocketry): use {new}", DeprecationWarning, 3)


def _appender(
    hooks: list[Callable[..., Any]],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrapper(func: Callable[..., Any]) -> Callable[..., Any]:
        hooks.append(func)
        return func

    return wrapper


class _RanOnce(Condition):
    """True once each named task has started a run at or after ``since`` and is not running."""

    __slots__ = ("names", "since")

    def __init__(self, names: frozenset[str], since: float) -> None:
        self.names = names
        self.since = since

    def is_true(self, ctx: Any) -> bool:
        history = ctx.session.history
        for name in self.names:
            log = history.of(name)
            started = log.last("run")
            if started is None or started < self.since or log.running:
                return False
        return True

    def next_change(self, ctx: Any) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        return self.names

    def __str__(self) -> str:
        return " & ".join(f"task {name!r} has run once" for name in sorted(self.names))
