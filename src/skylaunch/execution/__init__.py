"""Execution modes: how a run is carried out (inline, on the event loop, in a thread, a process,
on a Celery cluster)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.execution.base import Executor, Flag, Outcome, RunHandle, TaskCall
from skylaunch.execution.main import MainExecutor

if TYPE_CHECKING:
    from skylaunch.execution.async_ import AsyncExecutor
    from skylaunch.execution.celery import CeleryExecutor
    from skylaunch.execution.process import ProcessExecutor
    from skylaunch.execution.thread import ThreadExecutor

__all__ = [
    "AsyncExecutor",
    "CeleryExecutor",
    "Executor",
    "Flag",
    "MainExecutor",
    "Outcome",
    "ProcessExecutor",
    "RunHandle",
    "TaskCall",
    "ThreadExecutor",
]

# An executor's module loads on first use (multiprocessing is heavy, rarely needed).
__getattr__ = lazy_attributes(
    __name__,
    {
        "AsyncExecutor": "skylaunch.execution.async_",
        "CeleryExecutor": "skylaunch.execution.celery",  # needs skylaunch[celery]
        "ProcessExecutor": "skylaunch.execution.process",
        "ThreadExecutor": "skylaunch.execution.thread",
    },
)
