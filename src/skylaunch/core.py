"""Rocketry's ``rocketry.core`` names, for code that reaches them through the package.

``from rocketry.core import Task`` becomes ``from skylaunch import Task`` (see the migration
page); this module serves code that keeps the attribute path after changing its import to
``import skylaunch as rocketry``: ``rocketry.core.Task``, ``rocketry.core.Scheduler``... Each
name is the skylaunch class Rocketry's maps to (``BaseCondition`` is :class:`Condition`).
"""

from __future__ import annotations

from skylaunch.args import BaseArgument, Parameters
from skylaunch.conds.base import Condition as BaseCondition
from skylaunch.config import Config
from skylaunch.scheduler import Scheduler
from skylaunch.session import Session
from skylaunch.tasks.base import Task
from skylaunch.time import TimePeriod

__all__ = [
    "BaseArgument",
    "BaseCondition",
    "Config",
    "Parameters",
    "Scheduler",
    "Session",
    "Task",
    "TimePeriod",
]
