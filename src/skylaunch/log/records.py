"""The record models written to log repos and read back from them.

They are pydantic models because records cross a boundary twice: they are persisted (CSV, SQL)
and parsed back after a restart, so types must be checked and converted in one place. The
field sets follow Rocketry 2.5's ``rocketry.log`` so existing tables and CSV files keep
working. Users subclass them to add fields; unknown keys (every other ``logging.LogRecord``
attribute) are ignored rather than rejected, because the handler passes the whole record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from skylaunch.history import Action  # the one definition; re-exported for record users

__all__ = [
    "Action",
    "LogRecord",
    "MinimalRecord",
    "MinimalRunRecord",
    "RunRecord",
    "TaskLogRecord",
    "TaskRunRecord",
]


class MinimalRecord(BaseModel):
    """The fields the scheduler needs to rebuild a task's history after a restart."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    task_name: str
    action: Action
    created: float
    """POSIX seconds (``logging.LogRecord.created``); the order of a task's history."""


class LogRecord(MinimalRecord):
    """The standard ``logging.LogRecord`` attributes, for users who want the whole record.

    ``message`` is ``record.getMessage()``; ``formatted_message`` is the handler's formatter
    output (traceback included when there is one).
    """

    name: str
    msg: str
    levelname: str
    levelno: int
    pathname: str
    filename: str
    module: str
    exc_text: str | None = None
    lineno: int
    funcName: str | None = None
    msecs: float
    relativeCreated: float
    thread: int | None = None
    threadName: str | None = None
    processName: str | None = None
    process: int | None = None
    message: str
    formatted_message: str


class TaskLogRecord(MinimalRecord):
    """A task action with its timing: enough to answer "how long did it run" from the repo."""

    start: datetime | None = None
    end: datetime | None = None
    runtime: timedelta | None = None
    message: str
    exc_text: str | None = None


class MinimalRunRecord(MinimalRecord):
    """:class:`MinimalRecord` plus the run that the action belongs to (parallel runs)."""

    run_id: str | None = None


class RunRecord(LogRecord):
    """:class:`LogRecord` plus ``run_id``."""

    run_id: str | None = None


class TaskRunRecord(TaskLogRecord):
    """:class:`TaskLogRecord` plus ``run_id``."""

    run_id: str | None = None
