"""skylaunch: an in-process task scheduler with a composable condition DSL."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skylaunch.app import App, Grouper
from skylaunch.config import Config
from skylaunch.session import Session
from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask

if TYPE_CHECKING:
    from skylaunch.tasks.command import CommandTask

__all__ = ["App", "CommandTask", "Config", "FuncTask", "Grouper", "Session", "Task"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load ``CommandTask`` on first use: most apps schedule functions, not commands."""
    if name == "CommandTask":
        return importlib.import_module("skylaunch.tasks.command").CommandTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
