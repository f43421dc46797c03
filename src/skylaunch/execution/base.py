"""What every execution mode shares: the call to make, its outcome, and the executor protocol.

The scheduler never branches on the mode: it hands a :class:`TaskCall` to the task's executor and
gets an :class:`Outcome` back through ``on_done`` (possibly from another thread; the scheduler
marshals it onto its loop).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from skylaunch.exc import SchedulerExit, SchedulerRestart, TaskInaction, TaskTermination

__all__ = [
    "Executor",
    "Outcome",
    "OutcomeAction",
    "RunHandle",
    "TaskCall",
    "outcome_of",
    "run_call",
]

OutcomeAction = Literal["success", "fail", "terminate", "inaction", "crash"]


@dataclass(frozen=True, slots=True)
class TaskCall:
    """One run to make: the function, its resolved arguments, and who it is for."""

    task_name: str
    run_id: str
    func: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended. ``control`` asks the scheduler to ``exit`` or ``restart``."""

    run_id: str
    action: OutcomeAction
    value: object = None
    exc_text: str | None = None
    control: Literal["exit", "restart"] | None = None


class RunHandle(Protocol):
    """A run in flight, as its executor tracks it."""

    run_id: str
    started: datetime

    def is_alive(self) -> bool: ...

    def terminate(self, reason: str) -> None: ...


class Executor(Protocol):
    """One per execution mode (``main``, ``async``, ``thread``, ``process``)."""

    name: str

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> RunHandle:
        """Start ``call``; ``on_done`` is called exactly once when it ends, from any thread."""
        ...

    def shutdown(self, *, terminate: bool) -> None:
        """Stop accepting work; ``terminate`` ends runs still going."""
        ...


def outcome_of(run_id: str, exc: BaseException | None, value: object = None) -> Outcome:
    """Map how a call ended onto a task action (one place for every mode)."""
    if exc is None:
        return Outcome(run_id, "success", value)
    if isinstance(exc, TaskInaction):
        return Outcome(run_id, "inaction")
    if isinstance(exc, TaskTermination):
        return Outcome(run_id, "terminate", exc_text=str(exc) or None)
    if isinstance(exc, SchedulerExit):
        return Outcome(run_id, "success", control="exit")
    if isinstance(exc, SchedulerRestart):
        return Outcome(run_id, "success", control="restart")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Outcome(run_id, "fail", exc_text=text)


def run_call(call: TaskCall) -> Outcome:
    """Call ``call.func`` here and now and turn whatever happens into an :class:`Outcome`."""
    try:
        value = call.func(**call.kwargs)
    except Exception as exc:
        return outcome_of(call.run_id, exc)
    return Outcome(call.run_id, "success", value)
