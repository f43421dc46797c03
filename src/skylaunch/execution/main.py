"""``execution="main"``: run the task inline in the scheduler's own thread.

The cheapest mode and the most predictable one for tests; the scheduler waits for the task, so a
long task delays everything else and can neither be timed out nor terminated while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from skylaunch.execution.base import Flag, Outcome, TaskCall, run_call

__all__ = ["MainExecutor"]


class _Done:
    """The handle of a run that has ended (a plain slotted class: no dataclass at import)."""

    __slots__ = ("run_id", "started")
    __match_args__ = ("run_id", "started")
    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value, as the dataclass

    def __init__(self, run_id: str, started: datetime) -> None:
        self.run_id = run_id
        self.started = started

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(run_id={self.run_id!r}, started={self.started!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.run_id, self.started) == (other.run_id, other.started)

    def is_alive(self) -> bool:
        return False

    def terminate(self, reason: str) -> None:
        """Nothing to do: an inline run has ended before anyone can ask."""


class MainExecutor:
    name = "main"
    shares_process = True
    runs_inline = True

    def has_capacity(self) -> bool:
        return True

    def new_flag(self) -> Flag:
        return threading.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> _Done:
        handle = _Done(call.run_id, started)
        on_done(run_call(call))
        return handle

    def shutdown(self, *, terminate: bool) -> None:
        """Nothing runs in the background."""
