"""Task kinds: :class:`FuncTask` runs a function; :class:`Task` is the base to subclass."""

from __future__ import annotations

from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask

__all__ = ["FuncTask", "Task"]
