"""``execution="thread"``: run in a thread of its own.

Python cannot kill a thread: termination is cooperative. The run's ``TerminationFlag`` is set and
a task that checks it ends itself (``raise TaskTermination`` or return); the scheduler logs
``terminate`` when the thread ends after a termination request.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from datetime import datetime

from skylaunch.execution.base import Outcome, TaskCall, run_call

__all__ = ["ThreadExecutor"]


class _ThreadRun:
    __slots__ = ("flag", "reason", "run_id", "started", "thread")

    def __init__(self, run_id: str, started: datetime, flag: threading.Event) -> None:
        self.run_id = run_id
        self.started = started
        self.flag = flag
        self.reason: str | None = None
        self.thread: threading.Thread | None = None

    def is_alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def terminate(self, reason: str) -> None:
        self.reason = reason
        self.flag.set()


class ThreadExecutor:
    name = "thread"

    def __init__(self, *, daemon: bool = True) -> None:
        self.daemon = daemon
        self._runs: dict[str, _ThreadRun] = {}

    def submit(
        self,
        call: TaskCall,
        on_done: Callable[[Outcome], None],
        started: datetime,
        flag: threading.Event | None = None,
    ) -> _ThreadRun:
        handle = _ThreadRun(call.run_id, started, flag or threading.Event())

        def target() -> None:
            outcome = run_call(call)
            if handle.flag.is_set() and outcome.action in ("success", "fail"):
                outcome = Outcome(call.run_id, "terminate", exc_text=handle.reason)
            self._runs.pop(call.run_id, None)
            on_done(outcome)

        ctx = contextvars.copy_context()
        thread = threading.Thread(
            target=ctx.run, args=(target,), name=f"skylaunch:{call.task_name}", daemon=self.daemon
        )
        handle.thread = thread
        self._runs[call.run_id] = handle
        thread.start()
        return handle

    def shutdown(self, *, terminate: bool) -> None:
        if terminate:
            for handle in list(self._runs.values()):
                handle.terminate("shutdown")
