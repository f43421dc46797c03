"""Task kinds: :class:`FuncTask` runs a function, :class:`CommandTask` a command,
:class:`CodeTask` a string of Python code; :class:`Task` is the base to subclass.
:mod:`skylaunch.tasks.maintain` has the tasks that shut down or restart the scheduler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask

if TYPE_CHECKING:
    from skylaunch.tasks.code import CodeTask
    from skylaunch.tasks.command import CommandTask

__all__ = ["CodeTask", "CommandTask", "FuncTask", "Task"]

# CommandTask and CodeTask load on first use: most apps schedule functions.
__getattr__ = lazy_attributes(
    __name__, {"CodeTask": "skylaunch.tasks.code", "CommandTask": "skylaunch.tasks.command"}
)
