"""Task kinds: :class:`FuncTask` runs a function, :class:`CommandTask` a command,
:class:`CodeTask` a string of Python code; :class:`Task` is the base to subclass.
:mod:`skylaunch.tasks.maintain` has the tasks that shut down or restart the scheduler."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask

if TYPE_CHECKING:
    from skylaunch.tasks.code import CodeTask
    from skylaunch.tasks.command import CommandTask

__all__ = ["CodeTask", "CommandTask", "FuncTask", "Task"]

_LAZY = {"CodeTask": "skylaunch.tasks.code", "CommandTask": "skylaunch.tasks.command"}


def __getattr__(name: str) -> Any:
    """Load ``CommandTask`` and ``CodeTask`` on first use: most apps schedule functions."""
    module = _LAZY.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
