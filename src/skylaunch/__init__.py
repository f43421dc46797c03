"""skylaunch: an in-process task scheduler with a composable condition DSL."""

from __future__ import annotations

from skylaunch.app import App
from skylaunch.config import Config
from skylaunch.session import Session
from skylaunch.tasks.base import Task
from skylaunch.tasks.command import CommandTask
from skylaunch.tasks.func import FuncTask

__all__ = ["App", "CommandTask", "Config", "FuncTask", "Session", "Task"]
__version__ = "0.1.0"
