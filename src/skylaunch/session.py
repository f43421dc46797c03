"""The session: the composition root that builds and wires a scheduler's parts once.

It makes the task registry, the hooks, the executors, the history, the journal and the scheduler,
and hands each what it needs (constructor arguments, small protocols): the scheduler never
reaches back through the session, conditions read a :class:`~skylaunch.conds.base.Facts`
object, tasks ask the scheduler for runs through the ``TaskRuntime`` protocol. The session's own
methods are the public face (Rocketry's names among them); docs/architecture.md has the map.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from skylaunch._hooks import SessionHooks
from skylaunch._journal import Journal
from skylaunch._scheduler import RunOnly, Scheduler
from skylaunch._tasknames import TaskKeyed, task_name
from skylaunch.conds.base import Condition, Context
from skylaunch.config import Config
from skylaunch.exc import ConfigError, SchedulerExit, SchedulerRestart, TaskDefinitionError
from skylaunch.execution._guard import refuse_start_while_bootstrapping
from skylaunch.execution.base import Executor
from skylaunch.execution.registry import BuiltinOptions, ExecutorRegistry, UnknownExecutorError
from skylaunch.history import ACTIONS, TaskHistory
from skylaunch.log._models import TASK_RUN_RECORD
from skylaunch.log.repos.memory import MemoryRepo
from skylaunch.tasks._registry import TaskRegistry
from skylaunch.tasks.base import Task, _NewSession
from skylaunch.tasks.func import FuncTask
from skylaunch.time.clock import Clock, SystemClock, local_zone
from skylaunch.time.periods import aware

if TYPE_CHECKING:
    from skylaunch.conds.parse import Grammar
    from skylaunch.coordination import Coordination


def _random_run_id_base() -> int:
    """A random 64-bit prefix, shifted above a 64-bit counter (see ``Session.new_run_id``);
    ``os.urandom``, as ``secrets`` draws, without importing it (it loads hmac and hashlib)."""
    return int.from_bytes(os.urandom(8), "big") << 64


__all__ = ["Session"]

# Forks this process is a child of (counted by an at-fork hook): a forked session draws a new
# run-id prefix. Reading it costs less than the getpid() system call it replaces (per run).
_forks = [0]


def _count_fork() -> None:
    _forks[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)


class _Facts:
    """What this session's conditions read (:class:`~skylaunch.conds.base.Facts`)."""

    __slots__ = ("_config", "cond_facts", "history", "parameters", "scheduler", "session")

    scheduler: Scheduler  # set once the scheduler is built (it is given these facts)

    def __init__(self, session: Session) -> None:
        self.cond_facts = self  # what Context(now, x, task) reads from a session or from this
        self.session = session
        self.history = session.history
        self.parameters = session.parameters
        self._config = session.config

    @property
    def poll_interval_s(self) -> float:
        """How often opaque conditions are looked at (``cycle_sleep``, at least 1 ms)."""
        return max(self._config.cycle_sleep or 0.0, 0.001)

    @property
    def cycles(self) -> int:
        return self.scheduler.cycles

    @property
    def started_at(self) -> datetime | None:
        return self.scheduler.started_at


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
        self.config = config = Config.build(config, **config_kwargs)
        self.executors = ExecutorRegistry(executors, options=self._executor_options)
        """The executors by name: the user's own (``executors=``) and the built-in ones in
        use; a task's ``execution`` names one of :meth:`ExecutorRegistry.names`."""
        self._check_execution(config.execution)
        config._execution_check = self._check_execution
        self.clock: Clock = clock if clock is not None else SystemClock(config.timezone)
        if clock is not None and config.timezone is not None and clock.tz != config.timezone:
            self.clock.tz = config.timezone
        config._timezone_listeners.append(self._timezone_changed)
        self.history = TaskHistory(config.history_max_records)
        self.registry = TaskRegistry(lambda: self.config.task_pre_exist)
        """This session's tasks by name and in scheduling order."""
        self.parameters: dict[str, Any] = dict(parameters or {})
        self._run_id_forks = _forks[0]
        self._run_id_base = _random_run_id_base()
        self._run_ids = itertools.count()
        self.returns: dict[str, Any] = TaskKeyed()  # session.returns[task or name or func]
        self.cond_names: dict[str, Condition] = {}
        self._grammar: Grammar | None = None
        self.task_logger = logging.getLogger(config.task_logger_basename)
        if self.task_logger.level == logging.NOTSET:
            self.task_logger.setLevel(logging.INFO)
        self.scheduler_logger = logging.getLogger(config.scheduler_logger_basename)
        self.coordination: Coordination | None = None
        """The lease this session's scheduler acts under with other replicas (set by
        ``Coordination.attach``, which also gives it to the scheduler; docs/deployment.md)."""
        self.hooks = SessionHooks(self.hook_context, self.scheduler_logger)
        self.journal = Journal(
            self,
            config=config,
            clock=self.clock,
            history=self.history,
            tasks=self.registry,
            task_logger=self.task_logger,
            scheduler_logger=self.scheduler_logger,
            shutdown_hooks=self.hooks.shutdown,
        )
        self.cond_facts = facts = _Facts(self)
        """What this session's conditions read (``Context(now, session.cond_facts, task)``)."""
        self.scheduler = scheduler = Scheduler(
            config=config,
            clock=self.clock,
            tasks=self.registry,
            journal=self.journal,
            hooks=self.hooks,
            executors=self.executors,
            executor=self.executor,
            facts=facts,
            new_run_id=self.new_run_id,
            returns=self.returns,
        )
        facts.scheduler = scheduler
        self.registry.listener = scheduler
        self.history.on_change = scheduler.on_history_change
        self.journal.runs = scheduler
        # A repo handler the application already put on the task logger is the session's
        # repo (Rocketry's handbook sets it up before the app); else the default memory repo.
        if repo is not None or not self.journal.adopt_existing():
            self.set_repo(repo if repo is not None else self.default_repo())
        self.journal.attach_outputs()

    @property
    def runtime(self) -> Scheduler:
        """Where tasks ask for runs and terminations (the scheduler, as ``TaskRuntime``)."""
        return self.scheduler

    @property
    def grammar(self) -> Grammar:
        """This session's condition language: the built-in phrases plus its own
        (``@app.cond()``, :meth:`Grammar.add_phrase`); ``cond_names`` is its ``names``.
        Made when first used (a session whose conditions are all objects never loads it)."""
        grammar = self._grammar
        if grammar is None:
            from skylaunch.conds.parse import Grammar

            grammar = self._grammar = Grammar(self.cond_names)
        return grammar

    # --- repo -------------------------------------------------------------------------------
    def default_repo(self) -> Any:
        """A memory repo of :class:`TaskRunRecord` bounded per task (``history_max_records``).

        Reads give models (``record.action`` works as in Rocketry); writes from the lifecycle
        store plain dicts, turned into models only when read, which keeps logging cheap.
        """
        return MemoryRepo(TASK_RUN_RECORD, max_per_task=self.config.history_max_records)

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
        """Rocketry's name for :attr:`repo`."""
        return self.repo

    def get_task_log(self, **query: Any) -> list[Any]:
        return list(self.repo.filter_by(**query).all())

    def handle_record(self, record: logging.LogRecord, task_name: str) -> None:
        """Record a ready-made lifecycle record of ``task_name`` as the scheduler records one.

        Into the history conditions read, then through the task logger to the repo, at the
        record's ``created`` instant, with its ``run_id`` and ``start`` if it has them (what
        ``task.logger.handle(record)`` does; Rocketry's tests seed history so).
        """
        action = getattr(record, "action", None)
        if action not in ACTIONS:
            raise ValueError(f"record action must be one of {', '.join(ACTIONS)}; got {action!r}")
        ts = float(record.created)
        start = getattr(record, "start", None)
        if not isinstance(start, datetime):
            start = datetime.fromtimestamp(ts, self.clock.tz)
        self.journal.record(
            task_name,
            action,
            getattr(record, "run_id", None),
            aware(start),
            exc_text=record.exc_text,
            ts=ts,
        )

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
        repo is attached while the scheduler runs (the journal's ``restore``; this is its
        public name). Each task is read once per repo: per
        action, the timestamps of its newest ``history_max_records`` records, plus what the
        handler still buffers. A ``run`` among the task's newest ``crash_window`` records that
        no end matches by ``run_id``, and that is not running now, is logged as ``crash``, in
        the history and in the repo.
        """
        self.journal.restore(task_names)

    def flush_logs(self, timeout: float | None = None) -> bool:
        """Write what the repo handler buffers, retrying up to ``timeout`` seconds.

        Called at shutdown with ``log_flush_timeout_s`` (the journal's ``flush``; this is its
        public name). Returns whether nothing is left;
        what is left stays buffered and retried in the background while the process lives.
        """
        return self.journal.flush(timeout)

    # --- tasks (the registry's, under Rocketry's names) ----------------------------------------
    def add_task(self, task: Task) -> None:
        self.registry.add(task)

    def create_task(self, *, func: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        """A task in this session: ``func=`` (or ``path=``) a FuncTask, ``command=`` a CommandTask.

        Without any of them it is a decorator, as in Rocketry:
        ``@session.create_task(start_cond="daily")`` makes a FuncTask of the function it
        decorates and gives the function back.
        """
        if "command" in kwargs:
            from skylaunch.tasks.command import CommandTask

            return CommandTask(kwargs.pop("command"), session=self, **kwargs)
        return FuncTask(func, session=self, **kwargs)

    def clear(self) -> None:
        """Remove every task and every session parameter (Rocketry's ``session.clear()``)."""
        for task in self.tasks:
            self.remove_task(task)
        self.parameters.clear()

    def set_as_default(self) -> None:
        """Record this session as the default one (Rocketry's name): :meth:`get_default`.

        Nothing else reads it. As in Rocketry, a task made without ``session=`` does not join
        it: such a task warns and gets a new session of its own. Until a program calls this
        there is no default.
        """
        _DEFAULT[0] = self

    @staticmethod
    def get_default() -> Session | None:
        """The session :meth:`set_as_default` set last, or ``None`` if none did."""
        return _DEFAULT[0]

    @property
    def env(self) -> Any:
        """The session parameter ``env`` that ``is_env(...)`` compares (``session.env = "prod"``)."""
        return self.parameters.get("env")

    @env.setter
    def env(self, value: Any) -> None:
        self.parameters["env"] = value
        self.scheduler.notify()

    def remove_task(self, task: Task | str | Callable[..., Any]) -> None:
        """Remove a task given by its name, the task or the function it runs."""
        self.registry.remove(task)

    def get(self, name: str) -> Task | None:
        return self.registry.get(name)

    def __getitem__(self, task: str | Callable[..., Any]) -> Task:
        return self.registry[task]

    def __contains__(self, task: object) -> bool:
        return task in self.registry

    @property
    def tasks(self) -> set[Task]:
        return self.registry.all()

    def tasks_in_order(self) -> list[Task]:
        """Higher priority first, then definition order."""
        return self.registry.in_order()

    # --- running ----------------------------------------------------------------------------
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
        if _forks[0] != self._run_id_forks:  # a forked child must not repeat its parent's ids
            self._run_id_forks = _forks[0]
            self._run_id_base = _random_run_id_base()
            self._run_ids = itertools.count()
        # the prefix's 16 hex digits, then the counter's: one %-format of their sum is about
        # a third cheaper than formatting the two (once a run)
        return "%032x" % (self._run_id_base + next(self._run_ids))

    # --- hooks ----------------------------------------------------------------------------
    def hook_context(self, task: Task | None = None) -> dict[str, Any]:
        """What a hook's argument parameters (``session=Session()``, ``task=Task()``) read."""
        return {"session": self, "task": task, "termination_flag": None}

    # Rocketry's hook decorators
    def hook_startup(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return _appender(self.hooks.startup)

    def hook_shutdown(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return _appender(self.hooks.shutdown)

    def hook_scheduler_cycle(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Around each pass of the scheduler (a generator resumes after the pass)."""
        return _appender(self.hooks.cycle)

    def hook_task_init(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """When a task is created, before its fields are set (a generator resumes after)."""
        return _appender(self.hooks.task_init)

    def hook_task_execute(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Around each run, where it runs (a generator gets the run's exception info back)."""
        return _appender(self.hooks.task_execute)

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
        while self._serve(until):
            self.scheduler_logger.info("Restarting...", extra={"action": "restart"})
            if self.config.restarting != "recall":
                self._restart_process(self.config.restarting)
                return

    def _serve(self, until: datetime | None = None) -> bool:
        """One run of the scheduler's loop; True when a restart was asked for."""
        refuse_start_while_bootstrapping()
        import asyncio  # the scheduler's loop: loaded when it runs, not by ``import skylaunch``

        try:
            with self.scheduler.stopping_on_signals():
                return asyncio.run(self.scheduler.serve(until=until))
        except KeyboardInterrupt:  # SIGINT handled by someone else's handler, or not ours
            self.scheduler_logger.info("Interrupted", extra={"action": "shutdown"})
            return False

    def _restart_process(self, how: str) -> None:
        command = [sys.executable, *sys.orig_argv[1:]]
        logging.shutdown()  # flush every handler before the process is replaced
        if how == "replace":
            os.execv(sys.executable, command)
        import subprocess  # only a relaunch starts a process

        subprocess.Popen(command, close_fds=True)  # relaunch, fresh

    def run(
        self,
        *task_names: str,
        execution: str | None = None,
        obey_cond: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Run the named tasks once each, then return (Rocketry's entry point for tests).

        Other tasks are held meanwhile. Without ``obey_cond`` each task runs at once whatever
        its start condition says; with it, as in Rocketry, the scheduler makes one pass: a task
        whose condition holds then runs (and is waited for), the others do not.
        ``execution`` overrides the tasks' execution mode for this call only. The tasks'
        settings and ``config.shut_cond`` are not touched: the scheduler applies the override.
        ``params`` are run parameters for each of the runs (as ``task.run(**params)`` gives).
        Not while this session's scheduler runs (from a task, a hook): ``task.run()`` asks it
        for a run there. A run that asks for a restart (a ``Restart`` task) raises
        :class:`~skylaunch.exc.SchedulerRestart` here, as Rocketry's ``task()`` did: the process
        is not restarted; one that asks for a shutdown (``ShutDown``) raises
        :class:`~skylaunch.exc.SchedulerExit` likewise, once the run is logged.
        """
        if not task_names:
            raise ValueError("run() needs the names of the tasks to run")
        if self.scheduler.is_running:
            raise RuntimeError(
                f"session.run({', '.join(map(repr, task_names))}) (or calling a task) while the "
                "scheduler runs: use task.run() to ask for a run"
            )
        chosen = [self[name] for name in task_names]
        names = frozenset(t.name for t in chosen)
        executions = (
            {} if execution is None else {t.name: t.execution_with(execution) for t in chosen}
        )
        stop: Condition = _RanOnce(names, self.clock.timestamp(), self.history)
        if obey_cond:
            from skylaunch.conds.scheduler import SchedulerCycles

            stop = stop | (SchedulerCycles() >= 1)
        with self.scheduler.running_only(RunOnly(names, executions, stop)):
            if not obey_cond:
                for task in chosen:
                    self.scheduler.request_run(task.name, dict(params or {}))
            restart = self._serve()
        if restart:
            raise SchedulerRestart(
                f"a run of {', '.join(sorted(names))} asked for a restart; session.run() "
                "returns instead of restarting"
            )
        if self.scheduler.exited_by is not None:
            raise SchedulerExit(f"a run of {self.scheduler.exited_by!r} asked for a shutdown")

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


_NewSession.new = Session
_DEFAULT: list[Session | None] = [None]  # Session.set_as_default(); None until it is called


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
    """True once each named task has started a new run at or after ``since`` and is not running.

    Runs already at ``since`` are counted first: a simulated clock that has not moved since
    an earlier call still needs a new run.
    """

    __slots__ = ("before", "names", "since")

    def __init__(self, names: frozenset[str], since: float, history: TaskHistory) -> None:
        self.names = names
        self.since = since
        self.before = {name: self._started(history, name) for name in names}

    def _started(self, history: TaskHistory, name: str) -> int:
        return len(history.of(name).times_between("run", self.since, None))

    def is_true(self, ctx: Context) -> bool:
        history = ctx.history
        for name in self.names:
            if history.of(name).running or self._started(history, name) <= self.before[name]:
                return False
        return True

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        return self.names

    def __str__(self) -> str:
        return " & ".join(f"task {name!r} has run once" for name in sorted(self.names))
