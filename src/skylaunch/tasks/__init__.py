"""Task kinds: :class:`FuncTask` runs a function, :class:`CommandTask` a command;
:class:`Task` is the base to subclass."""

from __future__ import annotations

from skylaunch.tasks.base import Task
from skylaunch.tasks.command import CommandTask
from skylaunch.tasks.func import FuncTask

__all__ = ["CommandTask", "FuncTask", "Task"]
