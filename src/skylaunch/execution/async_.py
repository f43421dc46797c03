"""``execution="async"``: run on the scheduler's event loop without blocking it.

Coroutine functions become asyncio tasks; plain functions run in the loop's default thread pool
(``asyncio.to_thread``) so a slow one does not stall scheduling. Termination cancels the task.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from skylaunch.execution.base import Outcome, TaskCall, outcome_of

__all__ = ["AsyncExecutor"]


class _AsyncRun:
    __slots__ = ("_task", "reason", "run_id", "started")

    def __init__(self, run_id: str, started: datetime) -> None:
        self.run_id = run_id
        self.started = started
        self.reason: str | None = None
        self._task: asyncio.Task[Any] | None = None

    def is_alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def terminate(self, reason: str) -> None:
        if self._task is not None and not self._task.done():
            self.reason = reason
            self._task.cancel()


class AsyncExecutor:
    name = "async"

    def __init__(self) -> None:
        self._runs: set[asyncio.Task[Any]] = set()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> _AsyncRun:
        handle = _AsyncRun(call.run_id, started)

        async def runner() -> None:
            try:
                if inspect.iscoroutinefunction(call.func):
                    value = await call.func(**call.kwargs)
                else:
                    value = await asyncio.to_thread(call.func, **call.kwargs)
            except asyncio.CancelledError:
                on_done(Outcome(call.run_id, "terminate", exc_text=handle.reason))
                return
            except Exception as exc:
                on_done(outcome_of(call.run_id, exc))
                return
            on_done(Outcome(call.run_id, "success", value))

        task = asyncio.get_running_loop().create_task(runner(), name=f"skylaunch:{call.task_name}")
        handle._task = task
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        return handle

    def shutdown(self, *, terminate: bool) -> None:
        if terminate:
            for task in list(self._runs):
                task.cancel()
