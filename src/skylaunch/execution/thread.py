"""``execution="thread"``: run in a thread, taken from a pool of daemon workers.

Python cannot kill a thread: termination is cooperative. The run's ``TerminationFlag`` is set and
a task that checks it ends itself (``raise TaskTermination`` or return); the run is logged as
``terminate`` when the run ends after a termination request, whatever it returned.

Starting a thread per run cost more than everything else a trivial run does, so daemon runs go to
a pool: a worker that finishes a run waits ``idle_timeout_s`` for the next one before it leaves,
and a run that finds no idle worker gets a new one (runs never queue behind each other, as with a
thread per run). Non-daemon runs (``tasks_as_daemon=False``) keep a thread of their own: a pooled
worker could not keep the process alive for its run alone. ``shutdown`` lets idle workers go and
busy ones leave after their run, so nothing the executor started outlives the scheduler.
"""

from __future__ import annotations

import contextvars
import itertools
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from skylaunch.execution.base import Flag, Outcome, TaskCall, outcome_of, run_call

__all__ = ["ThreadExecutor"]

_Job = tuple[contextvars.Context, "_ThreadRun", TaskCall, Callable[[Outcome], None]]


class _ThreadRun:
    __slots__ = ("done", "flag", "reason", "run_id", "started", "thread")

    def __init__(self, run_id: str, started: datetime, flag: Flag | None) -> None:
        self.run_id = run_id
        self.started = started
        self.flag = flag  # None: the run was given no flag, so nobody could look at one
        self.reason: str | None = None
        self.thread: threading.Thread | None = None
        self.done = False

    def is_alive(self) -> bool:
        return not self.done

    def terminate(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        if self.flag is not None:
            self.flag.set()


class ThreadExecutor:
    name = "thread"
    shares_process = True
    runs_inline = False

    idle_timeout_s: float = 30.0
    """How long (real seconds) a pooled worker waits for another run before it ends."""

    def __init__(self, *, daemon: bool = True) -> None:
        self.daemon = daemon
        self._runs: dict[str, _ThreadRun] = {}
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # Idle workers that no queued run has claimed yet. A plain lock and a count, not a
        # ``threading.Semaphore`` (a Python-level Condition): this is taken twice per run.
        self._lock = threading.Lock()
        self._idle = 0
        self._generation = 0  # bumped by shutdown: workers of an older one leave
        self._names = itertools.count(1)

    def has_capacity(self) -> bool:
        return True

    def new_flag(self) -> Flag:
        return threading.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> _ThreadRun:
        handle = _ThreadRun(call.run_id, started, call.flag)
        job: _Job = (contextvars.copy_context(), handle, call, on_done)
        self._runs[call.run_id] = handle
        if not self.daemon:
            thread = threading.Thread(
                target=self._run, args=(job,), name=f"skylaunch:{call.task_name}", daemon=False
            )
            handle.thread = thread
            thread.start()
        elif self._claim_idle():
            self._jobs.put(job)  # an idle worker takes it
        else:
            worker = threading.Thread(
                target=self._work,
                args=(job, self._generation),
                name=f"skylaunch:worker-{next(self._names)}",
                daemon=True,
            )
            worker.start()
        return handle

    def _claim_idle(self) -> bool:
        with self._lock:
            if self._idle:
                self._idle -= 1
                return True
            return False

    def _execute(self, job: _Job) -> Outcome:
        ctx, handle, call, _ = job
        handle.thread = threading.current_thread()
        try:
            outcome = ctx.run(run_call, call)
        except BaseException as exc:  # every run must report its end
            # SystemExit, KeyboardInterrupt... raised by the body would end this thread
            # silently: the run would count as running for ever (its task never launched again)
            outcome = outcome_of(call.run_id, exc)
        if handle.reason is not None and outcome.action in ("success", "fail", "inaction"):
            outcome = Outcome(call.run_id, "terminate", exc_text=handle.reason)
        self._runs.pop(call.run_id, None)
        handle.done = True
        return outcome

    def _run(self, job: _Job) -> None:
        job[3](self._execute(job))

    def _work(self, job: _Job | None, generation: int) -> None:
        while job is not None:
            outcome = self._execute(job)
            on_done = job[3]
            job = None
            if generation != self._generation:
                on_done(outcome)
                return  # shut down meanwhile
            # Idle before reporting, and reporting the last thing before waiting: the loop's
            # thread wakes on the report and needs the GIL, which this thread then gives up
            # at once; a run the report leads to finds this worker ready for it.
            with self._lock:
                self._idle += 1
            on_done(outcome)
            while job is None:
                try:
                    job = self._jobs.get(timeout=self.idle_timeout_s)
                except queue.Empty:
                    if self._claim_idle():
                        return  # idle too long, and no run counts on this worker
                    continue  # a run claimed an idle worker: its job is on the way
                if job is None:
                    return  # shutdown: this worker's permit was taken by it

    def alive(self) -> list[threading.Thread]:
        """Threads of runs still going (for shutdown checks and tests)."""
        return [h.thread for h in list(self._runs.values()) if h.thread is not None]

    def shutdown(self, *, terminate: bool) -> None:
        """Terminate runs (if asked) and let every worker go once it is idle."""
        if terminate:
            for handle in list(self._runs.values()):
                handle.terminate("shutdown")
        self._generation += 1
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)
