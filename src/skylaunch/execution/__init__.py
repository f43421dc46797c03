"""Execution modes: how a run is carried out (inline, on the event loop, in a thread...)."""

from __future__ import annotations

from skylaunch.execution.async_ import AsyncExecutor
from skylaunch.execution.base import Executor, Outcome, RunHandle, TaskCall
from skylaunch.execution.main import MainExecutor
from skylaunch.execution.thread import ThreadExecutor

__all__ = [
    "AsyncExecutor",
    "Executor",
    "MainExecutor",
    "Outcome",
    "RunHandle",
    "TaskCall",
    "ThreadExecutor",
]
