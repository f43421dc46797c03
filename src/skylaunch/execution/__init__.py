"""Execution modes: how a run is carried out (inline, on the event loop, in a thread, a process)."""

from __future__ import annotations

from skylaunch.execution.async_ import AsyncExecutor
from skylaunch.execution.base import Executor, Flag, Outcome, RunHandle, TaskCall
from skylaunch.execution.main import MainExecutor
from skylaunch.execution.process import ProcessExecutor
from skylaunch.execution.thread import ThreadExecutor

__all__ = [
    "AsyncExecutor",
    "Executor",
    "Flag",
    "MainExecutor",
    "Outcome",
    "ProcessExecutor",
    "RunHandle",
    "TaskCall",
    "ThreadExecutor",
]
