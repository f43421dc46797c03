"""Execution modes: how a run is carried out (inline, on the event loop, in a thread, a process)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skylaunch.execution.base import Executor, Flag, Outcome, RunHandle, TaskCall
from skylaunch.execution.main import MainExecutor

if TYPE_CHECKING:
    from skylaunch.execution.async_ import AsyncExecutor
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

_LAZY = {
    "AsyncExecutor": "skylaunch.execution.async_",
    "ProcessExecutor": "skylaunch.execution.process",
    "ThreadExecutor": "skylaunch.execution.thread",
}


def __getattr__(name: str) -> Any:
    """Load an executor's module on first use (multiprocessing is heavy, rarely needed)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
