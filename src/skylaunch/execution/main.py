"""``execution="main"``: run the task inline in the scheduler's own thread.

The cheapest mode and the most predictable one for tests; the scheduler waits for the task, so a
long task delays everything else and can neither be timed out nor terminated while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from skylaunch.execution.base import Flag, Outcome, TaskCall, run_call

__all__ = ["MainExecutor"]


@dataclass(slots=True)
class _Done:
    run_id: str
    started: datetime

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
