"""skylaunch: an in-process task scheduler with a composable condition DSL."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.app import App, Grouper
from skylaunch.config import Config
from skylaunch.session import Session
from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask

if TYPE_CHECKING:
    from skylaunch.tasks.command import CommandTask

__all__ = ["App", "CommandTask", "Config", "FuncTask", "Grouper", "Session", "Task"]
__version__ = "0.1.0"


# CommandTask loads on first use: most apps schedule functions, not commands.
_lazy = lazy_attributes(__name__, {"CommandTask": "skylaunch.tasks.command"})


def __getattr__(name: str) -> object:
    if name == "core":  # Rocketry's `rocketry.core.Task` path, after `import skylaunch as rocketry`
        return importlib.import_module("skylaunch.core")
    return _lazy(name)
