"""Tasks that act on the scheduler itself (Rocketry's ``rocketry.tasks.maintain``).

A run of :class:`ShutDown` stops the scheduler, a run of :class:`Restart` restarts it (how:
``config.restarting``). Both are logged ``success``. Like any task they never run on their own
(the default start condition is false): give a ``start_cond`` or call ``task.run()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from skylaunch.exc import SchedulerExit, SchedulerRestart
from skylaunch.tasks.base import Task

__all__ = ["Restart", "ShutDown", "restart_scheduler", "shut_down_scheduler"]


def shut_down_scheduler() -> None:
    """Raise :class:`SchedulerExit`: the scheduler stops once the run is logged."""
    raise SchedulerExit("shut down by a task")


def restart_scheduler() -> None:
    """Raise :class:`SchedulerRestart`: the scheduler restarts once the run is logged."""
    raise SchedulerRestart("restarted by a task")


class _SchedulerTask(Task):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("execution", "main")
        super().__init__(**kwargs)

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """None: the run only signals the scheduler (parameters given to it are ignored)."""
        return {}


class ShutDown(_SchedulerTask):
    """Shut the scheduler down when it runs. Default name ``"shutdown"``, execution ``main``.

    ``ShutDown(start_cond="time of day after 23:00", session=app.session)``.
    """

    def default_name(self) -> str:
        return "shutdown"

    def target(self) -> Callable[..., Any]:
        return shut_down_scheduler


class Restart(_SchedulerTask):
    """Restart the scheduler when it runs. Default name ``"restart"``, execution ``main``."""

    def default_name(self) -> str:
        return "restart"

    def target(self) -> Callable[..., Any]:
        return restart_scheduler
