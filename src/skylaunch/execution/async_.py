"""``execution="async"``: run on the scheduler's event loop without blocking it.

Coroutine functions become asyncio tasks; termination cancels the task and sets the run's
termination flag. A plain function runs in a thread, exactly as with ``execution="thread"``, so a
slow one does not stall scheduling: it can only stop cooperatively, and its run lasts until its
thread returns. (It used to go to the loop's default thread pool through ``asyncio.to_thread``:
a cancelled run was logged ``terminate`` while its thread went on, so a task with a timeout
overlapped itself, and past the pool's few threads runs were logged as started while they
queued.)
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from skylaunch.execution.base import Flag, Outcome, RunHandle, TaskCall, outcome_of, run_scope

if TYPE_CHECKING:
    from skylaunch.execution.thread import ThreadExecutor

__all__ = ["AsyncExecutor"]


class _AsyncRun:
    __slots__ = ("_task", "flag", "reason", "run_id", "started")

    def __init__(self, run_id: str, started: datetime, flag: Flag | None) -> None:
        self.run_id = run_id
        self.started = started
        self.flag = flag
        self.reason: str | None = None
        self._task: asyncio.Task[Any] | None = None

    def is_alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def terminate(self, reason: str) -> None:
        if self._task is not None and not self._task.done():
            if self.reason is None:
                self.reason = reason
            if self.flag is not None:  # None: the run was given no flag to look at
                self.flag.set()
            self._task.cancel()


class AsyncExecutor:
    name = "async"
    shares_process = True
    runs_inline = False

    def __init__(self) -> None:
        self._runs: dict[asyncio.Task[Any], _AsyncRun] = {}
        self._threads: ThreadExecutor | None = None  # plain functions' (made on first use)

    def has_capacity(self) -> bool:
        return True

    def new_flag(self) -> Flag:
        return threading.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> RunHandle:
        if not inspect.iscoroutinefunction(call.func):
            threads = self._threads
            if threads is None:
                from skylaunch.execution.thread import ThreadExecutor

                threads = self._threads = ThreadExecutor()
            return threads.submit(call, on_done, started)
        handle = _AsyncRun(call.run_id, started, call.flag)

        async def runner() -> None:
            try:
                with run_scope(call):
                    value = await call.func(**call.kwargs)
                outcome = Outcome(call.run_id, "success", value)
            except asyncio.CancelledError:
                outcome = Outcome(call.run_id, "terminate", exc_text=handle.reason)
            except Exception as exc:
                outcome = outcome_of(call.run_id, exc)
            except (KeyboardInterrupt, SystemExit) as exc:
                # the body's own Ctrl-C or sys.exit(): it stops the scheduler, as in main
                # execution, and the run ends as what it was, a fail with its traceback
                on_done(outcome_of(call.run_id, exc))
                raise
            except BaseException as exc:
                # any other BaseException of the body's own (a class of its own, say): the run
                # ends as a fail and nothing else stops, as in thread execution. Left to
                # asyncio, its end was never reported: the task counted as running for ever.
                outcome = outcome_of(call.run_id, exc)
            if handle.reason is not None and outcome.action != "terminate":
                outcome = Outcome(call.run_id, "terminate", exc_text=handle.reason)
            on_done(outcome)

        def ended(task: asyncio.Task[Any]) -> None:
            self._runs.pop(task, None)
            if task.cancelled():
                # Cancelled before its first step (terminated in the pass that launched it):
                # the coroutine never ran, so its end must be reported from here, or the run
                # would count as going on for ever (and a shutdown would wait for it).
                on_done(Outcome(call.run_id, "terminate", exc_text=handle.reason))
            else:
                # a body's KeyboardInterrupt or SystemExit went on up through the loop and its
                # end is logged: mark it seen, or the task's finalizer logs "Task exception was
                # never retrieved" whenever the garbage collector gets to it
                task.exception()

        task = asyncio.get_running_loop().create_task(runner(), name=f"skylaunch:{call.task_name}")
        handle._task = task
        self._runs[task] = handle
        task.add_done_callback(ended)
        return handle

    def shutdown(self, *, terminate: bool) -> None:
        if terminate:
            for handle in list(self._runs.values()):
                handle.terminate("shutdown")
        if self._threads is not None:
            self._threads.shutdown(terminate=terminate)
