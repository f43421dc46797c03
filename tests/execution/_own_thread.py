"""A user's executor, written against the public protocol only: each run in a thread of its own.

It joins the contract suite (tests/execution/test_contract.py) as the mode ``"own-thread"``,
registered through ``App(executors=...)``: what holds for the built-in modes holds for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from skylaunch.execution import Flag, Outcome, TaskCall
from skylaunch.execution.base import run_call


class _Run:
    def __init__(self, run_id: str, started: datetime, flag: Flag | None) -> None:
        self.run_id = run_id
        self.started = started
        self.flag = flag
        self.reason: str | None = None
        self.ended = threading.Event()

    def is_alive(self) -> bool:
        return not self.ended.is_set()

    def terminate(self, reason: str) -> None:
        self.reason = self.reason or reason
        if self.flag is not None:
            self.flag.set()  # cooperative: the task watches its TerminationFlag


class OwnThreadExecutor:
    shares_process = True
    runs_inline = False

    def __init__(self) -> None:
        self.runs: dict[str, _Run] = {}
        self.submitted = 0

    def has_capacity(self) -> bool:
        return True

    def new_flag(self) -> Flag:
        return threading.Event()

    def submit(self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime) -> _Run:
        run = self.runs[call.run_id] = _Run(call.run_id, started, call.flag)
        self.submitted += 1

        def work() -> None:
            outcome = run_call(call)
            if run.reason is not None and outcome.action != "terminate":
                outcome = Outcome(call.run_id, "terminate", exc_text=run.reason)
            del self.runs[call.run_id]
            run.ended.set()
            on_done(outcome)

        threading.Thread(target=work, name=f"skylaunch:own-{call.run_id}", daemon=True).start()
        return run

    def shutdown(self, *, terminate: bool) -> None:
        if terminate:
            for run in list(self.runs.values()):
                run.terminate("shutdown")
