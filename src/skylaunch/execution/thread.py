"""``execution="thread"``: run in a thread of its own.

Python cannot kill a thread: termination is cooperative. The run's ``TerminationFlag`` is set and
a task that checks it ends itself (``raise TaskTermination`` or return); the run is logged as
``terminate`` when the thread ends after a termination request, whatever it returned.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from datetime import datetime

from skylaunch.execution.base import Flag, Outcome, TaskCall, run_call

__all__ = ["ThreadExecutor"]


class _ThreadRun:
    __slots__ = ("flag", "reason", "run_id", "started", "thread")

    def __init__(self, run_id: str, started: datetime, flag: Flag) -> None:
        self.run_id = run_id
        self.started = started
        self.flag = flag
        self.reason: str | None = None
        self.thread: threading.Thread | None = None

    def is_alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def terminate(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.flag.set()


class ThreadExecutor:
    name = "thread"

    def __init__(self, *, daemon: bool = True) -> None:
        self.daemon = daemon
        self._runs: dict[str, _ThreadRun] = {}

    def has_capacity(self) -> bool:
        return True

    def new_flag(self) -> Flag:
        return threading.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> _ThreadRun:
        handle = _ThreadRun(call.run_id, started, call.flag or threading.Event())

        def target() -> None:
            outcome = run_call(call)
            if handle.reason is not None and outcome.action in ("success", "fail", "inaction"):
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

    def alive(self) -> list[threading.Thread]:
        """Threads of runs still going (for shutdown checks and tests)."""
        return [h.thread for h in list(self._runs.values()) if h.thread is not None]

    def shutdown(self, *, terminate: bool) -> None:
        if terminate:
            for handle in list(self._runs.values()):
                handle.terminate("shutdown")
