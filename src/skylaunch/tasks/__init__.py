"""Task kinds: :class:`FuncTask` runs a function, :class:`CommandTask` a command;
:class:`Task` is the base to subclass."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask

if TYPE_CHECKING:
    from skylaunch.tasks.command import CommandTask

__all__ = ["CommandTask", "FuncTask", "Task"]


def __getattr__(name: str) -> Any:
    """Load ``CommandTask`` on first use: most apps schedule functions, not commands."""
    if name == "CommandTask":
        return importlib.import_module("skylaunch.tasks.command").CommandTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
