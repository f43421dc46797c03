"""The task: a definition of what to run, when (``start_cond``) and how (``execution``).

A task is a plain object with a keyword-only constructor that validates every argument at
definition time. Its status and ``last_*`` times are read from the session's in-memory history,
never from the repo. Its runtime state (runs asked for, termination requests) belongs to the
scheduler: :meth:`Task.run`, :meth:`Task.terminate` and :attr:`Task.batches` go through the
:class:`TaskRuntime` the session hands the task.
"""

from __future__ import annotations

import logging
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from skylaunch._hooks import HookRound
from skylaunch.conds.base import Condition, false
from skylaunch.exc import TaskDefinitionError, TaskLookupError
from skylaunch.history import Action
from skylaunch.time.parse import to_timedelta

if TYPE_CHECKING:
    from skylaunch.log.adapter import TaskAdapter
    from skylaunch.session import Session

__all__ = ["Task", "TaskRuntime"]


class TaskRuntime(Protocol):
    """What a task asks of the scheduler (which keeps each task's runtime state)."""

    def request_run(self, task_name: str, params: dict[str, Any]) -> None: ...

    def pending_runs(self, task_name: str) -> list[dict[str, Any]]: ...

    def request_terminate(self, task_name: str) -> None: ...

    def withdraw_terminate(self, task_name: str) -> None: ...

    def terminate_requested(self, task_name: str) -> bool: ...

    def notify(self, task_name: str | None = None) -> None: ...

    def task_changed(self, task: Task) -> None: ...


#: Classes of conditions given to tasks so far (an ordered set, emptied when full): a class
#: found to be a Condition stays one, so thousands of tasks skip the ABC check.
_CONDITION_TYPES: dict[type, None] = {}
_CONDITION_TYPES_MAX = 256

_NO_LIMIT = timedelta.max  # a task's timeout="never" (compared by identity)


class _NewSession:
    """A task made without ``session=`` gets a new session of its own, with a warning, as in
    Rocketry (even after ``set_as_default()``: Rocketry's own tests assert that). ``new`` is the
    ``Session`` class, set by ``skylaunch.session`` (a layer above this one)."""

    new: Callable[[], Session] | None = None

    @classmethod
    def make(cls, task_type: str) -> Session:
        warnings.warn(
            f"{task_type} made without session=: it gets a new session of its own, which no "
            "scheduler runs unless you start that one; pass session= or use app.task(...)",
            UserWarning,
            stacklevel=_user_stacklevel(),
        )
        assert cls.new is not None  # skylaunch.session is imported with the package
        return cls.new()


# Task properties whose fields the scheduler reads directly (see Task.plain_fields)
_PLAIN_FIELDS = ("name", "disabled", "start_cond", "end_cond")


class Task(ABC):
    """Base of every task. Subclasses say what a run does (:meth:`target`, :meth:`arguments`)."""

    plain_fields: bool = True
    """Whether this class keeps Task's own ``name``, ``disabled``, ``start_cond`` and
    ``end_cond`` properties, so that the scheduler and the registry may read their fields
    (``_name``, ``_disabled``, ``_start_cond``, ``_end_cond``) without a property call, on
    every look at the task. False for a subclass that overrides
    any of them: the scheduler then reads the properties (set by the class, never by hand)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Rocketry's form of a custom task: a subclass that defines ``execute(self, **params)``
        and no ``target`` runs ``execute`` (docs/extending.md)."""
        super().__init_subclass__(**kwargs)
        cls.plain_fields = all(getattr(cls, field) is vars(Task)[field] for field in _PLAIN_FIELDS)
        if "execute" in cls.__dict__ and "target" not in cls.__dict__:
            cls.target = _execute_target  # type: ignore[method-assign]
            if "arguments" not in cls.__dict__:
                cls.arguments = _execute_arguments  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        session: Session | None = None,
        name: str | None = None,
        start_cond: Condition | str | None = None,
        end_cond: Condition | str | None = None,
        execution: str | None = None,
        priority: int | None = None,
        timeout: timedelta | float | str | None = None,
        disabled: bool = False,
        multilaunch: bool | None = None,
        parameters: Mapping[str, Any] | None = None,
        description: str | None = None,
        on_startup: bool = False,
        on_shutdown: bool = False,
        permanent: bool = False,
        daemon: bool | None = None,
        func_run_id: Callable[..., str] | None = None,
        logger_name: str | logging.Logger | None = None,
        force_run: bool = False,
    ) -> None:
        if session is None:
            session = _NewSession.make(type(self).__name__)
        init_hooks = session.hooks.task_init
        hooked = HookRound(init_hooks, {"session": session, "task": self}) if init_hooks else None
        self.session = session
        self._runtime: TaskRuntime = session.runtime
        # not through the ``name`` setter: a task being made is in no session yet
        self._name = self._check_name(name if name is not None else self.default_name())
        self._start_cond = self._cond(start_cond, "start_cond")
        self._end_cond = self._cond(end_cond, "end_cond")
        if execution is not None:
            self._check_execution(execution)
        self._execution = execution
        self._priority = self._check_priority(
            session.config.task_priority if priority is None else priority
        )
        try:
            # "never": Rocketry's spelling of no time limit, whatever config.timeout says
            self._timeout = (
                None
                if timeout is None
                else _NO_LIMIT
                if timeout == "never"
                else to_timedelta(timeout)
            )
        except ValueError as exc:
            raise TaskDefinitionError(f"task {self.name!r}: bad timeout: {exc}") from None
        self._disabled = bool(disabled)
        self._multilaunch = multilaunch
        if parameters is not None and not isinstance(parameters, Mapping):
            raise TaskDefinitionError(
                f"task {self.name!r}: parameters must be a mapping of names to values, "
                f"got {parameters!r}"
            )
        self.parameters: dict[str, Any] = dict(parameters or {})
        self.description = description
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.permanent = permanent
        self.daemon = daemon
        if func_run_id is not None and not callable(func_run_id):
            raise TaskDefinitionError(
                f"task {self.name!r}: func_run_id must be a function (task, params) -> str, "
                f"got {func_run_id!r}"
            )
        self.func_run_id = func_run_id
        self._logger: TaskAdapter | None = None
        self._logger_name = None if logger_name is None else self._check_logger_name(logger_name)
        self._force_run = False
        self._forced_batch: dict[str, Any] | None = None
        self.validate()
        session.add_task(self)
        if force_run and self in session:  # under the name the session gave it
            self.force_run = True
        if hooked is not None:
            hooked.finish()

    # --- definition -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        """Renaming a task of a session re-keys it there (``session["new"]``) and re-plans it.

        The history stays with the old name (records are stored by name): the task starts with
        the history of its new name, and conditions made with the old name (another task's
        ``after_success("old")``) keep reading the old one. A running task cannot be renamed.
        """
        new = self._check_name(value)
        old: str | None = getattr(self, "_name", None)
        if old is None or old == new:
            self._name = new
            return
        registry = self.session.registry
        # Under the registry's lock from the look at the old name to the move of the pending
        # runs: two renames from two threads, or a rename and a run(), one after the other.
        with registry._lock:
            old = self._name
            if old == new or registry.get(old) is not self:
                self._name = new  # not (yet) in the session: nothing is keyed by it
                return
            if self.is_running:
                raise TaskDefinitionError(f"task {old!r} is running: rename it once it has ended")
            registry.rename(self, old, new)
            self._name = new
            self._logger = None  # made again, under the new name, on first use
            self._renamed(old, new)
            registry.renamed(old, self)

    @property
    def priority(self) -> int:
        """Higher runs first among the tasks due at the same pass (then definition order)."""
        return self._priority

    @priority.setter
    def priority(self, value: int) -> None:
        """A new priority orders the task anew from the next pass on."""
        self._priority = self._check_priority(value)
        registry = self.session.registry
        if registry.get(self._name) is self:
            registry.reordered()

    def _check_priority(self, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise TaskDefinitionError(
                f"task {self.name!r}: priority must be a whole number, got {value!r}"
            ) from None

    def _renamed(self, old: str, new: str) -> None:  # noqa: B027 - an optional hook
        """Hook for subclasses: the task's name changed from ``old`` to ``new``."""

    def default_name(self) -> str:
        raise TaskDefinitionError(f"{type(self).__name__} needs name=...")

    def validate(self) -> None:  # noqa: B027 - an optional hook
        """Hook for subclasses: raise TaskDefinitionError when the task cannot work as asked."""

    def _check_name(self, name: object) -> str:
        if not isinstance(name, str) or not name.strip():
            raise TaskDefinitionError(f"a task name must be a non-empty string, got {name!r}")
        return name

    def _cond(self, cond: Condition | str | None, what: str) -> Condition:
        if cond is None:
            return false
        kind = type(cond)
        if kind in _CONDITION_TYPES:  # asked before: no ABC check per task
            return cast("Condition", cond)
        if isinstance(cond, str):
            return self.session.grammar.parse(cond)
        if not isinstance(cond, Condition):
            raise TaskDefinitionError(
                f"task {self.name!r}: {what} must be a condition or a condition string, got {cond!r}"
            )
        if len(_CONDITION_TYPES) >= _CONDITION_TYPES_MAX:
            _CONDITION_TYPES.clear()
        _CONDITION_TYPES[kind] = None  # a class that is a Condition stays one
        return cond

    def _check_logger_name(self, value: object) -> str | None:
        if value is None:
            return None
        name = value.name if isinstance(value, logging.Logger) else value
        basename = self.session.config.task_logger_basename
        if not isinstance(name, str) or not (name == basename or name.startswith(basename + ".")):
            raise TaskDefinitionError(
                f"task {self.name!r}: logger_name must be the task logger {basename!r} or a "
                f"logger under it (such as {basename + '.' + self.name!r}), so that its records "
                f"still reach the log repo; got {value!r}"
            )
        return None if name == basename else name

    @property
    def logger_name(self) -> str:
        """The logger this task's records go to: ``config.task_logger_basename`` unless set.

        A logger under the task logger (``"skylaunch.task.reports"``) lets you give one task its
        own handlers or level; its records still propagate to the repo handler and the outputs
        on the task logger. The repo is read through the session either way.
        """
        return self._logger_name or self.session.config.task_logger_basename

    @logger_name.setter
    def logger_name(self, value: str | logging.Logger | None) -> None:
        self._logger_name = self._check_logger_name(value)
        self._logger = None  # made again, on the new logger, on first use

    @property
    def logger(self) -> TaskAdapter:
        """Made on first use: most tasks never log by hand, and thousands are defined at once."""
        logger = self._logger
        if logger is None:
            from skylaunch.log.adapter import TaskAdapter  # loaded by the first task that logs

            own = None if self._logger_name is None else logging.getLogger(self._logger_name)
            logger = self._logger = TaskAdapter(self.session, self.name, logger=own)
        return logger

    @logger.setter
    def logger(self, value: TaskAdapter) -> None:
        self._logger = value

    @property
    def start_cond(self) -> Condition:
        return self._start_cond

    @start_cond.setter
    def start_cond(self, value: Condition | str | None) -> None:
        """Parsed and checked as in the constructor; the scheduler re-plans the task at once.

        Without telling the scheduler, a running loop would keep the old condition's deadline
        and the old set of watched tasks (Rocketry allows this assignment at runtime).
        """
        self._start_cond = self._cond(value, "start_cond")
        if self in self.session:
            self._runtime.task_changed(self)

    @property
    def end_cond(self) -> Condition:
        return self._end_cond

    @end_cond.setter
    def end_cond(self, value: Condition | str | None) -> None:
        """Parsed and checked as in the constructor; the scheduler checks the new one at once."""
        self._end_cond = self._cond(value, "end_cond")
        if self in self.session:
            self._runtime.task_changed(self)

    @property
    def execution(self) -> str:
        return self._execution or self.session.config.execution

    @execution.setter
    def execution(self, value: str) -> None:
        self._check_execution(value)
        self._execution = value

    def execution_with(self, value: str) -> str:
        """The mode a run would use if ``execution=value`` were given (checked as if it were):
        ``Session.run(execution=...)`` applies it for one call without changing the task."""
        self._check_execution(value)
        return value

    def _check_execution(self, value: object) -> None:
        """``value`` must name one of the session's executors (built-in or the user's)."""
        executors = self.session.executors
        if not isinstance(value, str) or not executors.knows(value):
            raise TaskDefinitionError(
                f"task {self.name!r}: execution must be one of "
                f"{', '.join(map(repr, executors.names()))}; got {value!r} (add an executor "
                "with App(executors={name: executor}), see docs/extending.md)"
            )

    @property
    def multilaunch(self) -> bool:
        return self.session.config.multilaunch if self._multilaunch is None else self._multilaunch

    @property
    def timeout(self) -> timedelta | None:
        if self._timeout is _NO_LIMIT:
            return None
        return self._timeout if self._timeout is not None else self.session.config.timeout

    # --- what a run does --------------------------------------------------------------
    @abstractmethod
    def target(self) -> Callable[..., Any]:
        """The callable a run calls (must be picklable for ``process`` execution)."""

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of one run, from session, task and run parameters."""
        return dict(params)

    # --- control ----------------------------------------------------------------------
    def __call__(self, params: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Run once now and return when the run has ended (Rocketry's ``task()``).

        ``task(params={"x": 1})`` or ``task(x=1)`` gives run parameters. It is
        ``session.run(task.name, params=...)``: the scheduler runs only this task, whatever
        its start condition says, in the task's execution mode, and the run is logged as any
        other. Not while the session's scheduler is running: use :meth:`run` there.
        """
        self.session.run(self.name, params={**(params or {}), **kwargs})

    def run(self, **params: Any) -> None:
        """Run once as soon as the scheduler can, whatever the start condition says.

        A task removed from its session (or replaced by another of its name) cannot run:
        :class:`~skylaunch.exc.TaskLookupError` (its request would have waited under its name
        and run the next task defined with that name)."""
        self._request_run(params)

    def _request_run(self, params: dict[str, Any]) -> None:
        """Ask for a run with ``params`` (:meth:`run`, ``force_run = True``)."""
        registry = self.session.registry
        with registry._lock:  # not between a rename and the move of its runs
            name = self.name
            if registry.get(name) is not self:
                raise TaskLookupError(
                    name,
                    message=f"task {name!r} is not in its session any more (removed, or "
                    "replaced by another of its name): it cannot run",
                )
            self._runtime.request_run(name, params)

    @property
    def batches(self) -> list[dict[str, Any]]:
        """The runs asked for (their parameters) and not started yet, oldest first.

        The scheduler's own list for this task: appending to it asks for a run, as
        :meth:`run` does (which also wakes the scheduler).
        """
        return self._runtime.pending_runs(self.name)

    @property
    def force_run(self) -> bool:
        """Deprecated (as in Rocketry): True while a run asked for by ``force_run = True`` waits.

        Setting it True runs the task once, like :meth:`run`, with a ``DeprecationWarning``;
        setting it False clears the flag but, as in Rocketry, does not withdraw that run.
        """
        forced = self._forced_batch
        if self._force_run and forced is not None:
            self._force_run = any(batch is forced for batch in self.batches)
        return self._force_run

    @force_run.setter
    def force_run(self, value: bool) -> None:
        if not value:
            self._force_run = False
            return
        warnings.warn(
            f"task {self.name!r}: force_run is deprecated; call task.run() to run it once",
            DeprecationWarning,
            stacklevel=_user_stacklevel(),
        )
        batch: dict[str, Any] = {}
        self._request_run(batch)
        self._forced_batch = batch
        self._force_run = True

    @property
    def disabled(self) -> bool:
        """A disabled task is not started by its condition (``run()`` still runs it)."""
        return self._disabled

    @disabled.setter
    def disabled(self, value: bool) -> None:
        self._disabled = bool(value)
        self._runtime.notify(self.name)

    def delete(self) -> None:
        """Remove this task from its session (Rocketry's name): ``session.remove_task(task)``."""
        self.session.registry.remove(self)

    def disable(self) -> None:
        self.disabled = True

    def enable(self) -> None:
        self.disabled = False

    def terminate(self) -> None:
        """Ask every running run of this task to end (logged as ``terminate``)."""
        self._runtime.request_terminate(self.name)

    @property
    def terminate_requested(self) -> bool:
        """True while a termination asked for has not reached the runs yet."""
        return self._runtime.terminate_requested(self.name)

    @property
    def force_termination(self) -> bool:
        """Rocketry's name: True while a termination asked for has not reached the runs yet.

        Setting it True is :meth:`terminate`; setting it False withdraws a request not yet acted
        on.
        """
        return self.terminate_requested

    @force_termination.setter
    def force_termination(self, value: bool) -> None:
        if value:
            self.terminate()
        else:
            self._runtime.withdraw_terminate(self.name)

    # --- state, from the in-memory history ----------------------------------------------
    @property
    def status(self) -> Action | None:
        return self.session.history.of(self.name).last_action

    def _last(self, action: Action) -> datetime | None:
        ts = self.session.history.of(self.name).last(action)
        return None if ts is None else datetime.fromtimestamp(ts, self.session.clock.tz)

    @property
    def last_run(self) -> datetime | None:
        return self._last("run")

    @property
    def last_success(self) -> datetime | None:
        return self._last("success")

    @property
    def last_fail(self) -> datetime | None:
        return self._last("fail")

    @property
    def last_terminate(self) -> datetime | None:
        return self._last("terminate")

    @property
    def last_inaction(self) -> datetime | None:
        return self._last("inaction")

    @property
    def last_crash(self) -> datetime | None:
        return self._last("crash")

    @property
    def n_alive(self) -> int:
        return len(self.session.history.of(self.name).running)

    @property
    def is_running(self) -> bool:
        return self.n_alive > 0

    def is_alive(self) -> bool:
        return self.is_running

    # --- serialisation -----------------------------------------------------------------
    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> dict[str, Any]:
        """The task as a dict of plain values, for an API or a log (pydantic's method name).

        Conditions are given as their string form, durations in seconds, times as aware
        datetimes (ISO 8601 strings with ``mode="json"``). ``include`` keeps only the named
        keys; ``exclude`` drops keys and ignores names the dict does not have, so Rocketry-era
        code that excluded its private fields (``exclude={"_process", "session"}``) works.
        """
        timeout = self.timeout
        data: dict[str, Any] = {
            "name": self.name,
            "type": type(self).__name__,
            "description": self.description,
            "start_cond": str(self.start_cond),
            "end_cond": str(self.end_cond),
            "execution": self.execution,
            "priority": self.priority,
            "timeout": None if timeout is None else timeout.total_seconds(),
            "disabled": self.disabled,
            "multilaunch": self.multilaunch,
            "parameters": dict(self.parameters),
            "on_startup": self.on_startup,
            "on_shutdown": self.on_shutdown,
            "permanent": self.permanent,
            "logger_name": self.logger_name,
            "status": self.status,
            "is_running": self.is_running,
            "n_alive": self.n_alive,
            "force_run": self.force_run,
            "force_termination": self.force_termination,
            "last_run": self.last_run,
            "last_success": self.last_success,
            "last_fail": self.last_fail,
            "last_terminate": self.last_terminate,
            "last_inaction": self.last_inaction,
            "last_crash": self.last_crash,
        }
        if include is not None:
            wanted = set(include)
            data = {key: value for key, value in data.items() if key in wanted}
        for key in exclude:
            data.pop(key, None)
        if mode == "json":
            data = {
                key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in data.items()
            }
        elif mode != "python":
            raise ValueError(f"mode must be 'python' or 'json', got {mode!r}")
        return data

    def dict(
        self, *, include: Iterable[str] | None = None, exclude: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Rocketry's name (its tasks were pydantic v1 models): :meth:`model_dump`."""
        return self.model_dump(include=include, exclude=exclude)

    def model_dump_json(
        self,
        *,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        indent: int | None = None,
    ) -> str:
        """:meth:`model_dump` with ``mode="json"`` as JSON text (pydantic's method name).

        A value JSON has no form for (an argument object among the parameters) is given as its
        ``repr``.
        """
        import json  # here: nothing else at ``import skylaunch`` needs it (bench W5)

        data = self.model_dump(mode="json", include=include, exclude=exclude)
        return json.dumps(data, default=repr, indent=indent)

    def json(self, *, include: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> str:
        """Rocketry's name (pydantic v1's): :meth:`model_dump_json`."""
        return self.model_dump_json(include=include, exclude=exclude)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, start_cond={str(self.start_cond)!r})"


def _execute_target(self: Task) -> Callable[..., Any]:
    """``target`` of a subclass that defines Rocketry's ``execute`` instead."""
    return self.execute  # type: ignore[attr-defined,no-any-return]


def _execute_arguments(self: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """``execute`` gets every parameter: the session's, the task's, then the run's."""
    return {**self.session.parameters, **self.parameters, **params}


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside skylaunch."""
    level, frame = 2, sys._getframe(2)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("skylaunch."):
        level, frame = level + 1, frame.f_back
    return level
