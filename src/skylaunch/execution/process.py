"""``execution="process"``: run in a child process (``spawn`` by default).

A process can be killed, so it is the mode for work that must be stoppable or that holds the
GIL. What the child logs (skylaunch's records and the user's own ``logging`` calls) travels to
the parent through one ``multiprocessing`` queue per executor: a ``QueueHandler`` on the child's
root logger, a ``QueueListener`` here that hands each record to the parent logger of the same
name, so the parent's handlers (repo, file, Redis...) see it as if it had been logged here,
stamped in the child with the task and run id (``RunContextFilter``). The
run's outcome follows its records through the same queue, so when ``on_done`` is called every
record of the run has been handled.

Termination sends SIGTERM (the child turns it into ``TaskTermination``, so ``finally`` blocks
run and a command task kills its own subprocess), then SIGKILL after ``kill_after_s``.

A child never outlives its scheduler: a thread in the child waits on the pipe that
``multiprocessing`` keeps open between parent and child (EOF means the parent is gone, however it
died) and ends the child with ``os._exit``; on Linux the kernel also sends the child SIGKILL when
the parent dies (``PR_SET_PDEATHSIG``), which works even while the task holds the GIL.

A child that re-imports a main script without an ``if __name__ == "__main__":`` guard would
start a scheduler of its own while bootstrapping: :func:`skylaunch.execution._guard.refuse_start_while_bootstrapping`
stops it at once with an explanation, and the parent fails the run with the same explanation.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

from skylaunch.exc import TaskSetupError, TaskTermination
from skylaunch.execution._guard import NO_MAIN_GUARD, NO_MAIN_GUARD_EXIT
from skylaunch.execution.base import Flag, Outcome, TaskCall, run_call
from skylaunch.log.context import RunContextFilter

__all__ = ["ProcessExecutor"]

#: How long the parent waits for a finished child's outcome to come through the queue.
_RESULT_WAIT_S = 5.0

#: Linux ``<sys/prctl.h>``: deliver a signal to this process when its parent thread ends.
_PR_SET_PDEATHSIG = 1


def _exit_with_parent(parent_pid: int | None) -> None:
    """In the child: end this process as soon as the scheduler that started it is gone.

    Everywhere, a daemon thread waits for EOF on the parent's sentinel pipe. With a
    ``parent_pid`` (given only when the scheduler forked this child from its main thread, see
    :meth:`ProcessExecutor._deathsig_parent`), Linux also kills the child when the parent dies;
    a parent that died before that was set shows as another parent pid, or as EOF already there.
    """
    if parent_pid is not None and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the watchdog below still holds
            pass
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel
    if multiprocessing.connection.wait([sentinel], 0):  # already gone: not a moment of work
        os._exit(1)

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)  # the parent closed its end of the pipe: it is gone

    threading.Thread(target=watch, name="skylaunch:parent-watch", daemon=True).start()


@dataclass(frozen=True, slots=True)
class _Result:
    """A child's outcome, pickled in the child so that a bad return value fails there."""

    run_id: str
    payload: bytes


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise TaskTermination("terminated by the scheduler (SIGTERM)")


def _child_main(call: TaskCall, queue: Any, level: int, parent_pid: int | None) -> None:
    """Entry point of the child: route logging to the parent, run, send the outcome."""
    _exit_with_parent(parent_pid)
    signal.signal(signal.SIGTERM, _on_sigterm)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.handlers.QueueHandler(queue)
    handler.addFilter(RunContextFilter())  # the run context does not exist in the parent
    root.addHandler(handler)
    root.setLevel(level)
    outcome = run_call(call)
    try:
        payload = pickle.dumps(outcome)
    except Exception as exc:
        outcome = Outcome(
            call.run_id,
            "fail",
            exc_text=(
                f"the return value of task {call.task_name!r} ({type(outcome.value).__name__}) "
                f"cannot be sent back from the process: {exc!r}"
            ),
        )
        payload = pickle.dumps(outcome)
    queue.put(_Result(call.run_id, payload))


class _SkipFlag(pickle.Pickler):
    """Pickles a call as the child will get it, except the flag (shared only by inheritance)."""

    def __init__(self, file: io.BytesIO, flag: object) -> None:
        super().__init__(file)
        self.flag = flag

    def persistent_id(self, obj: object) -> str | None:
        return "flag" if obj is self.flag and obj is not None else None


def _check_picklable(call: TaskCall) -> None:
    _SkipFlag(io.BytesIO(), call.flag).dump(call)


class _Listener(logging.handlers.QueueListener):
    """Hands child records to the parent's loggers and outcomes to their runs."""

    def __init__(self, queue: Any, executor: ProcessExecutor) -> None:
        super().__init__(queue)
        self.executor = executor

    def handle(self, record: Any) -> None:
        if isinstance(record, _Result):
            self.executor._deliver(record)
            return
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


class _ProcessRun:
    __slots__ = (
        "_kill_timer",
        "arrived",
        "flag",
        "outcome",
        "process",
        "reason",
        "run_id",
        "started",
    )

    def __init__(self, run_id: str, started: datetime, process: Any, flag: Flag) -> None:
        self.run_id = run_id
        self.started = started
        self.process = process
        self.flag = flag
        self.reason: str | None = None
        self.outcome: Outcome | None = None
        self.arrived = threading.Event()
        self._kill_timer: threading.Timer | None = None

    def is_alive(self) -> bool:
        return bool(self.process.is_alive())

    def terminate(self, reason: str, kill_after_s: float = 2.0) -> None:
        if self.reason is not None or not self.process.is_alive():
            return
        self.reason = reason
        self.flag.set()
        self.process.terminate()
        timer = threading.Timer(kill_after_s, self.kill)
        timer.daemon = True
        self._kill_timer = timer
        timer.start()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def cancel_timer(self) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()


class ProcessExecutor:
    """Runs each call in a new process; at most ``max_processes`` at a time."""

    name = "process"
    shares_process = False
    runs_inline = False

    def __init__(
        self,
        *,
        max_processes: int = 1,
        start_method: str = "spawn",
        daemon: bool = True,
        kill_after_s: float = 2.0,
    ) -> None:
        if max_processes < 1:
            raise ValueError(f"max_processes must be at least 1, got {max_processes}")
        self.max_processes = max_processes
        self.daemon = daemon
        self.kill_after_s = kill_after_s
        self._ctx = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._runs: dict[str, _ProcessRun] = {}
        self._queue: Any = None
        self._listener: _Listener | None = None

    # --- protocol -------------------------------------------------------------------------
    def has_capacity(self) -> bool:
        return len(self._runs) < self.max_processes

    def new_flag(self) -> Flag:
        return self._ctx.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> _ProcessRun:
        queue = self._ensure_listener()
        try:
            _check_picklable(call)
        except Exception as exc:
            raise TaskSetupError(
                f"task {call.task_name!r}: the run cannot be sent to a process ({exc!r}); "
                "its function and every parameter value must be picklable "
                "(Session(), Task() and TaskLogger() stay in the parent)"
            ) from exc
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_child_main,
            args=(call, queue, logging.getLogger().getEffectiveLevel(), self._deathsig_parent()),
            name=f"skylaunch:{call.task_name}",
            daemon=self.daemon,
        )
        run = _ProcessRun(call.run_id, started, process, call.flag or self._ctx.Event())
        with self._lock:
            self._runs[call.run_id] = run
        try:
            process.start()
        except BaseException:
            with self._lock:
                self._runs.pop(call.run_id, None)
            raise
        watcher = threading.Thread(
            target=self._watch,
            args=(run, on_done),
            name=f"skylaunch:watch:{call.task_name}",
            daemon=True,
        )
        watcher.start()
        return run

    def shutdown(self, *, terminate: bool) -> None:
        if not terminate:
            return
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.terminate("shutdown", self.kill_after_s)
        for run in runs:
            run.process.join(self.kill_after_s + 1.0)
            if run.process.is_alive():
                run.process.kill()
                run.process.join()
        with self._lock:
            idle = not self._runs
        if idle:
            self._stop_listener()

    # --- inside -----------------------------------------------------------------------------
    def _deathsig_parent(self) -> int | None:
        """This pid when a child started now may ask Linux to kill it when its parent dies.

        ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child ends, not the
        process: it is safe only from the main thread (whose end is the process's). A scheduler
        run in another thread, and ``forkserver`` (whose children are the server's), leave it
        to the pipe watchdog alone.
        """
        if self._ctx.get_start_method() == "forkserver":
            return None
        if threading.current_thread() is not threading.main_thread():
            return None
        return os.getpid()

    def alive(self) -> list[Any]:
        """Child processes still running (for shutdown checks and tests)."""
        with self._lock:
            return [r.process for r in self._runs.values() if r.process.is_alive()]

    def _ensure_listener(self) -> Any:
        with self._lock:
            if self._listener is None:
                self._queue = self._ctx.Queue()
                self._listener = _Listener(self._queue, self)
                self._listener.start()
            return self._queue

    def _stop_listener(self) -> None:
        with self._lock:
            listener, queue = self._listener, self._queue
            self._listener = self._queue = None
        if listener is not None:
            listener.stop()
        if queue is not None:
            queue.close()
            queue.join_thread()

    def _deliver(self, result: _Result) -> None:
        with self._lock:
            run = self._runs.get(result.run_id)
        if run is None:
            return
        try:
            run.outcome = pickle.loads(result.payload)
        except Exception as exc:
            run.outcome = Outcome(
                result.run_id, "fail", exc_text=f"the outcome could not be read: {exc!r}"
            )
        run.arrived.set()

    def _watch(self, run: _ProcessRun, on_done: Callable[[Outcome], None]) -> None:
        run.process.join()
        run.cancel_timer()
        code = run.process.exitcode
        # Records and outcome travel through the queue: wait for the outcome, which comes
        # after every record the child logged.
        run.arrived.wait(_RESULT_WAIT_S if code == 0 else 0.2)
        outcome = run.outcome
        if run.reason is not None and (outcome is None or outcome.action != "inaction"):
            outcome = Outcome(run.run_id, "terminate", exc_text=run.reason)
        elif outcome is None and code == NO_MAIN_GUARD_EXIT:
            outcome = Outcome(
                run.run_id,
                "fail",
                exc_text=f"the child process stopped (exit code {code}): " + NO_MAIN_GUARD,
            )
        elif outcome is None:
            outcome = Outcome(
                run.run_id,
                "fail",
                exc_text=f"the process of the run ended with exit code {code} without a result",
            )
        with self._lock:
            self._runs.pop(run.run_id, None)
        on_done(outcome)
