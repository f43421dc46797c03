"""The condition DSL: import what you schedule with from here (Rocketry's names).

>>> from skylaunch.conds import daily, time_of_day, retry
>>> print(daily & time_of_day.between("10:00", "12:00") | retry(3))
daily & time of day between 10:00 and 12:00 | retry 3
"""

from __future__ import annotations

from skylaunch.conds.base import (
    All,
    AlwaysFalse,
    AlwaysTrue,
    Any,
    Condition,
    Context,
    Not,
    false,
    true,
)
from skylaunch.conds.func import FuncCond, condition
from skylaunch.conds.parse import parse_condition
from skylaunch.conds.scheduler import (
    SchedulerCycles,
    SchedulerRunning,
    scheduler_cycles,
    scheduler_running,
)
from skylaunch.conds.task import DependFailure, DependFinish, DependSuccess, Retry
from skylaunch.conds.task import depend_all as _depend_all
from skylaunch.conds.task import depend_any as _depend_any
from skylaunch.conds.timing import Every, IsPeriod, TaskExecutable
from skylaunch.time.periods import (
    TimeOfDay,
    TimeOfHour,
    TimeOfMinute,
    TimeOfMonth,
    TimeOfSecond,
    TimeOfWeek,
)

__all__ = [
    "All",
    "AlwaysFalse",
    "AlwaysTrue",
    "Any",
    "Condition",
    "Context",
    "DependFailure",
    "DependFinish",
    "DependSuccess",
    "Every",
    "FuncCond",
    "IsPeriod",
    "Not",
    "Retry",
    "SchedulerCycles",
    "SchedulerRunning",
    "TaskExecutable",
    "after_all_fail",
    "after_all_finish",
    "after_all_success",
    "after_any_fail",
    "after_any_finish",
    "after_any_success",
    "after_fail",
    "after_finish",
    "after_success",
    "condition",
    "daily",
    "every",
    "false",
    "hourly",
    "minutely",
    "monthly",
    "parse_condition",
    "retry",
    "scheduler_cycles",
    "scheduler_running",
    "secondly",
    "time_of_day",
    "time_of_hour",
    "time_of_minute",
    "time_of_month",
    "time_of_second",
    "time_of_week",
    "true",
    "weekly",
]

secondly = TaskExecutable(TimeOfSecond())
minutely = TaskExecutable(TimeOfMinute())
hourly = TaskExecutable(TimeOfHour())
daily = TaskExecutable(TimeOfDay())
weekly = TaskExecutable(TimeOfWeek())
monthly = TaskExecutable(TimeOfMonth())

time_of_second = IsPeriod(TimeOfSecond())
time_of_minute = IsPeriod(TimeOfMinute())
time_of_hour = IsPeriod(TimeOfHour())
time_of_day = IsPeriod(TimeOfDay())
time_of_week = IsPeriod(TimeOfWeek())
time_of_month = IsPeriod(TimeOfMonth())


def every(past: str | float | object, based: str = "run") -> Every:
    """Due when the task has not started (``based="run"``) in the past ``past``."""
    return Every(past, based=based)  # type: ignore[arg-type]


def retry(n: int = -1) -> Retry:
    """Due again after a failure, at most ``n`` times in a row (``-1``: forever)."""
    return Retry(n)


def after_success(task: str) -> DependSuccess:
    """Due once after each success of ``task``."""
    return DependSuccess(_name(task))


def after_fail(task: str) -> DependFailure:
    """Due once after each failure of ``task``."""
    return DependFailure(_name(task))


def after_finish(task: str) -> DependFinish:
    """Due once after each success or failure of ``task``."""
    return DependFinish(_name(task))


def after_all_success(*tasks: str) -> Condition:
    return _depend_all(DependSuccess, tuple(_name(t) for t in tasks))


def after_all_fail(*tasks: str) -> Condition:
    return _depend_all(DependFailure, tuple(_name(t) for t in tasks))


def after_all_finish(*tasks: str) -> Condition:
    return _depend_all(DependFinish, tuple(_name(t) for t in tasks))


def after_any_success(*tasks: str) -> Condition:
    return _depend_any(DependSuccess, tuple(_name(t) for t in tasks))


def after_any_fail(*tasks: str) -> Condition:
    return _depend_any(DependFailure, tuple(_name(t) for t in tasks))


def after_any_finish(*tasks: str) -> Condition:
    return _depend_any(DependFinish, tuple(_name(t) for t in tasks))


def _name(task: object) -> str:
    """Accept a task name, a Task or a decorated function, as Rocketry does."""
    if isinstance(task, str):
        return task
    name = getattr(task, "name", None) or getattr(task, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"a task name (str) is needed, got {task!r}")
    return name
