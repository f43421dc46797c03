"""The condition DSL: import what you schedule with from here (Rocketry's names).

>>> from skylaunch.conds import daily, time_of_day, retry
>>> print(daily & time_of_day.between("10:00", "12:00") | retry(3))
daily & time of day between 10:00 and 12:00 | retry 3
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch._tasknames import task_name
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
from skylaunch.conds.timing import Every, IsPeriod, TaskExecutable, TaskRunnable
from skylaunch.exc import ConditionParseError
from skylaunch.time import (
    Cron,
    TimeDelta,
    TimeOfDay,
    TimeOfHour,
    TimeOfMinute,
    TimeOfMonth,
    TimeOfSecond,
    TimeOfWeek,
    TimePeriod,
)
from skylaunch.time.parse import to_timedelta

if TYPE_CHECKING:
    from skylaunch.conds.params import IsEnv, ParamExists, is_env
    from skylaunch.conds.parse import parse_condition, parse_time
    from skylaunch.conds.scheduler import (
        SchedulerCycles,
        SchedulerRunning,
        SchedulerStarted,
        scheduler_cycles,
        scheduler_running,
    )
    from skylaunch.conds.status import (
        Counted,
        TaskFailed,
        TaskFinished,
        TaskInacted,
        TaskRunning,
        TaskStarted,
        TaskStatus,
        TaskSucceeded,
        TaskTerminated,
        failed,
        finished,
        inacted,
        running,
        started,
        succeeded,
        terminated,
    )
    from skylaunch.conds.task import DependFailure, DependFinish, DependSuccess, Retry, retry

__all__ = [
    "All",
    "AlwaysFalse",
    "AlwaysTrue",
    "Any",
    "Condition",
    "ConditionParseError",
    "Context",
    "Counted",
    "DependFailure",
    "DependFinish",
    "DependSuccess",
    "Every",
    "FuncCond",
    "IsEnv",
    "IsPeriod",
    "Not",
    "ParamExists",
    "Retry",
    "SchedulerCycles",
    "SchedulerRunning",
    "SchedulerStarted",
    "TaskExecutable",
    "TaskFailed",
    "TaskFinished",
    "TaskInacted",
    "TaskRunnable",
    "TaskRunning",
    "TaskStarted",
    "TaskStatus",
    "TaskSucceeded",
    "TaskTerminated",
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
    "cron",
    "crontime",
    "daily",
    "every",
    "failed",
    "false",
    "finished",
    "hourly",
    "inacted",
    "is_env",
    "minutely",
    "monthly",
    "parse_condition",
    "parse_time",
    "retry",
    "running",
    "scheduler_cycles",
    "scheduler_running",
    "scheduler_started",
    "secondly",
    "started",
    "succeeded",
    "terminated",
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


def cron(
    expr: str | None = None,
    *,
    minute: str | int = "*",
    hour: str | int = "*",
    day_of_month: str | int = "*",
    month: str | int = "*",
    day_of_week: str | int = "*",
    second: str | int | None = None,
) -> TaskRunnable:
    """Due once in each minute the cron expression names, if the task has not started in it.

    Run-based as Rocketry's ``cron``: a start in the minute is enough, whatever its outcome.
    With a seconds field (six fields, seconds first, or ``second=``) each second is an occurrence.
    """
    return TaskRunnable(_cron(expr, second, minute, hour, day_of_month, month, day_of_week))


def crontime(
    expr: str | None = None,
    *,
    minute: str | int = "*",
    hour: str | int = "*",
    day_of_month: str | int = "*",
    month: str | int = "*",
    day_of_week: str | int = "*",
    second: str | int | None = None,
) -> IsPeriod:
    """True during each minute (or second) the cron expression names (a clock predicate)."""
    return IsPeriod(_cron(expr, second, minute, hour, day_of_month, month, day_of_week))


def _cron(expr: str | None, second: str | int | None, *fields: str | int) -> Cron:
    if expr is not None:
        if second is not None or any(f != "*" for f in fields):
            raise ValueError(f"give either a cron expression or fields, not both: {expr!r}")
        return Cron.from_expr(expr)
    minute, hour, day_of_month, month, day_of_week = fields
    return Cron(minute, hour, day_of_month, month, day_of_week, second=second)


def scheduler_started(within: TimePeriod | timedelta | float | str) -> SchedulerStarted:
    """True when the scheduler started within ``within`` (a duration, or a period: today...)."""
    from skylaunch.conds.scheduler import SchedulerStarted

    period = within if isinstance(within, TimePeriod) else TimeDelta(to_timedelta(within))
    return SchedulerStarted(period)


def every(
    past: str | float | object,
    based: str = "run",
    *,
    jitter: str | float | timedelta | None = None,
    seed: int = 0,
) -> Every:
    """Due when the task has not started (``based="run"``) in the past ``past``.

    ``jitter="5 minutes"`` delays each due time by a reproducible offset in [0, 5 minutes).
    """
    return Every(past, based=based, jitter=jitter, seed=seed)  # type: ignore[arg-type]


def after_success(task: str) -> DependSuccess:
    """Due once after each success of ``task``."""
    from skylaunch.conds import task as conds_task

    return conds_task.DependSuccess(_name(task))


def after_fail(task: str) -> DependFailure:
    """Due once after each failure of ``task``."""
    from skylaunch.conds import task as conds_task

    return conds_task.DependFailure(_name(task))


def after_finish(task: str) -> DependFinish:
    """Due once after each success or failure of ``task``."""
    from skylaunch.conds import task as conds_task

    return conds_task.DependFinish(_name(task))


def after_all_success(*tasks: str) -> Condition:
    from skylaunch.conds import task as conds_task

    return conds_task.depend_all(conds_task.DependSuccess, tuple(_name(t) for t in tasks))


def after_all_fail(*tasks: str) -> Condition:
    from skylaunch.conds import task as conds_task

    return conds_task.depend_all(conds_task.DependFailure, tuple(_name(t) for t in tasks))


def after_all_finish(*tasks: str) -> Condition:
    from skylaunch.conds import task as conds_task

    return conds_task.depend_all(conds_task.DependFinish, tuple(_name(t) for t in tasks))


def after_any_success(*tasks: str) -> Condition:
    from skylaunch.conds import task as conds_task

    return conds_task.depend_any(conds_task.DependSuccess, tuple(_name(t) for t in tasks))


def after_any_fail(*tasks: str) -> Condition:
    from skylaunch.conds import task as conds_task

    return conds_task.depend_any(conds_task.DependFailure, tuple(_name(t) for t in tasks))


def after_any_finish(*tasks: str) -> Condition:
    from skylaunch.conds import task as conds_task

    return conds_task.depend_any(conds_task.DependFinish, tuple(_name(t) for t in tasks))


_name = task_name  # a task name, a Task or a task's function, as Rocketry accepts


# Loaded on first use (bench W5: not at import): the condition language when a string is first
# parsed, the dependency, parameter, task-status and scheduler conditions when one is first
# named (``daily``, ``every`` and the time conditions need none of them).
__getattr__ = lazy_attributes(
    __name__,
    {
        **dict.fromkeys(("parse_condition", "parse_time"), "skylaunch.conds.parse"),
        **dict.fromkeys(
            ("DependFailure", "DependFinish", "DependSuccess", "Retry", "retry"),
            "skylaunch.conds.task",
        ),
        **dict.fromkeys(("IsEnv", "ParamExists", "is_env"), "skylaunch.conds.params"),
        # the task-status and scheduler conditions, and their ready-made values
        **dict.fromkeys(
            (
                "Counted",
                "TaskFailed",
                "TaskFinished",
                "TaskInacted",
                "TaskRunning",
                "TaskStarted",
                "TaskStatus",
                "TaskSucceeded",
                "TaskTerminated",
                "failed",
                "finished",
                "inacted",
                "running",
                "started",
                "succeeded",
                "terminated",
            ),
            "skylaunch.conds.status",
        ),
        **dict.fromkeys(
            (
                "SchedulerCycles",
                "SchedulerRunning",
                "SchedulerStarted",
                "scheduler_cycles",
                "scheduler_running",
            ),
            "skylaunch.conds.scheduler",
        ),
    },
)
