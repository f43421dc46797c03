"""What every execution mode shares: the call to make, its outcome, and the executor protocol.

The scheduler never branches on the mode: it hands a :class:`TaskCall` to the task's executor and
gets an :class:`Outcome` back through ``on_done`` (possibly from another thread; the scheduler
marshals it onto its loop). Everything a mode must answer to is in :class:`Executor`.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import CoroutineType
from typing import Any, Literal, Protocol

from skylaunch._frozen import Frozen
from skylaunch.exc import SchedulerExit, SchedulerRestart, TaskInaction, TaskTermination
from skylaunch.log.context import RunInfo, current_run, run_context

__all__ = [
    "Executor",
    "Flag",
    "Outcome",
    "OutcomeAction",
    "RunHandle",
    "TaskCall",
    "outcome_of",
    "run_call",
    "run_inline",
    "run_scope",
]

OutcomeAction = Literal["success", "fail", "terminate", "inaction", "crash"]


class Flag(Protocol):
    """A termination flag: ``threading.Event`` or a ``multiprocessing`` event."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...


class _NoKwargs:
    """The type of the default of ``TaskCall(kwargs=...)``: each call then gets a dict of its own."""

    __slots__ = ()


_NO_KWARGS = _NoKwargs()


class TaskCall(Frozen):
    """One run to make: the function, its resolved arguments, and who it is for.

    It is picklable whenever ``func`` and the argument values are: ``process`` execution sends
    it to the child as it is.
    """

    __slots__ = ("flag", "func", "kwargs", "run_id", "task_name", "timeout_s")
    _fields = ("task_name", "run_id", "func", "kwargs", "timeout_s", "flag")
    task_name: str
    run_id: str
    func: Callable[..., Any]
    kwargs: Mapping[str, Any]
    timeout_s: float | None
    flag: Flag | None

    def __init__(
        self,
        task_name: str,
        run_id: str,
        func: Callable[..., Any],
        kwargs: Mapping[str, Any] | _NoKwargs = _NO_KWARGS,
        timeout_s: float | None = None,
        flag: Flag | None = None,
    ) -> None:
        object.__setattr__(self, "task_name", task_name)
        object.__setattr__(self, "run_id", run_id)
        object.__setattr__(self, "func", func)
        object.__setattr__(self, "kwargs", {} if kwargs is _NO_KWARGS else kwargs)
        object.__setattr__(self, "timeout_s", timeout_s)
        object.__setattr__(self, "flag", flag)


class Outcome(Frozen):
    """How a run ended. ``control`` asks the scheduler to ``exit`` or ``restart``."""

    __slots__ = ("action", "control", "exc_text", "run_id", "value")
    _fields = ("run_id", "action", "value", "exc_text", "control")
    run_id: str
    action: OutcomeAction
    value: object
    exc_text: str | None
    control: Literal["exit", "restart"] | None

    def __init__(
        self,
        run_id: str,
        action: OutcomeAction,
        value: object = None,
        exc_text: str | None = None,
        control: Literal["exit", "restart"] | None = None,
    ) -> None:
        object.__setattr__(self, "run_id", run_id)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "exc_text", exc_text)
        object.__setattr__(self, "control", control)


class RunHandle(Protocol):
    """A run in flight, as its executor tracks it."""

    run_id: str
    started: datetime

    def is_alive(self) -> bool: ...

    def terminate(self, reason: str) -> None:
        """Ask the run to end; it then reports ``terminate`` through ``on_done`` (once)."""
        ...


class Executor(Protocol):
    """One per execution mode: the built-in ``main``, ``async``, ``thread``, ``process``, or a
    user's own (``App(executors={"name": executor})``, see docs/extending.md).

    The contract every mode keeps (tested once for all in tests/execution/test_contract.py):
    ``on_done`` is called exactly once per submitted run, from any thread, after every record
    the run logged has reached the parent's handlers; ``terminate`` ends the run as soon as the
    mode allows (kill, cancel, or the flag for a cooperative thread) and the run then reports
    ``terminate``; after ``shutdown(terminate=True)`` returns, no process it started is alive.
    """

    shares_process: bool
    """Whether runs execute in this interpreter (objects such as hooks reach them as they are)."""

    runs_inline: bool
    """Whether ``submit`` runs the call to its end in the caller's thread (the scheduler's loop)
    and calls ``on_done`` before it returns; such runs cannot be timed out or terminated."""

    def has_capacity(self) -> bool:
        """Whether one more run may start now (``max_process_count`` for processes)."""
        ...

    def new_flag(self) -> Flag:
        """A termination flag usable by a run of this mode (crosses into a process if needed)."""
        ...

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> RunHandle:
        """Start ``call``; ``on_done`` is called exactly once when it ends, from any thread.

        Raises when the run cannot be started at all (for example its arguments cannot be sent
        to a process); ``on_done`` is then never called.
        """
        ...

    def shutdown(self, *, terminate: bool) -> None:
        """Release what the mode holds; ``terminate`` first ends runs still going."""
        ...


def outcome_of(run_id: str, exc: BaseException | None, value: object = None) -> Outcome:
    """Map how a call ended onto a task action (one place for every mode)."""
    if exc is None:
        return Outcome(run_id, "success", value)
    if isinstance(exc, TaskInaction):
        return Outcome(run_id, "inaction")
    if isinstance(exc, TaskTermination) or _is_cancelled(exc):
        return Outcome(run_id, "terminate", exc_text=str(exc) or None)
    if isinstance(exc, SchedulerExit):
        return Outcome(run_id, "success", control="exit")
    if isinstance(exc, SchedulerRestart):
        return Outcome(run_id, "success", control="restart")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Outcome(run_id, "fail", exc_text=text)


def _is_cancelled(exc: BaseException) -> bool:
    """``isinstance(exc, asyncio.CancelledError)``, without importing asyncio: where it has
    not been imported, no exception can be one (``import skylaunch`` does not load it)."""
    exceptions = sys.modules.get("asyncio.exceptions")
    return exceptions is not None and isinstance(exc, exceptions.CancelledError)


@contextmanager
def run_scope(call: TaskCall) -> Iterator[None]:
    """Code inside belongs to ``call``'s run; every mode enters it where user code runs.

    It sets the run context (:data:`skylaunch.log.context.current_run`), so ``task_log`` and
    ``RunContextFilter`` label the user's own log lines with the task and run id in every mode,
    the child process included (context variables do not cross into a process by themselves).
    """
    with run_context(RunInfo(call.task_name, call.run_id)):
        yield


def run_call(call: TaskCall) -> Outcome:
    """Call ``call.func`` here and now and turn whatever happens into an :class:`Outcome`.

    A coroutine function (in ``thread`` or ``process`` execution) runs on a loop of its own.
    The run context is set as :func:`run_scope` does, without its two generator frames: this
    is every mode's hot path.
    """
    value, outcome = run_inline(call.task_name, call.run_id, call.func, call.kwargs)
    return Outcome(call.run_id, "success", value) if outcome is None else outcome


_new_object = object.__new__
_set_task_name = vars(RunInfo)["task_name"].__set__  # the slots' own setters
_set_run_id = vars(RunInfo)["run_id"].__set__


def run_inline(
    task_name: str, run_id: str, func: Callable[..., Any], kwargs: Mapping[str, Any]
) -> tuple[object, Outcome | None]:
    """:func:`run_call` from the call's parts: the value returned, and the outcome unless the
    run simply succeeded (None: the scheduler's inline runs then make no :class:`Outcome`
    nor :class:`TaskCall`, see ``Scheduler._launch``)."""
    # RunInfo(task_name, run_id) without the frozen dataclass's __init__ (object.__setattr__
    # per field, through type.__call__): the same object, a third cheaper, once per run
    info = _new_object(RunInfo)
    _set_task_name(info, task_name)
    _set_run_id(info, run_id)
    token = current_run.set(info)
    try:
        value = func(**kwargs)
        if type(value) is CoroutineType:  # inspect.iscoroutine (coroutine has no subclasses)
            import asyncio  # only for a coroutine function's run

            value = asyncio.run(value)
    except Exception as exc:
        return None, outcome_of(run_id, exc)
    finally:
        current_run.reset(token)
    return value, None
