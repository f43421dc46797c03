"""Which task run the current code belongs to, so any log line can name its run.

The scheduler sets :data:`current_run` around each run (``with run_context(RunInfo(...)):``).
A :class:`contextvars.ContextVar` follows the code that runs the task: the thread of a thread
executor, the asyncio task of an async one, the main thread otherwise. A process executor must
set it again in the child, since context variables do not cross process boundaries.

Two ways to get the run onto a record:

- :func:`task_log` logs on :data:`TASK_USER_LOGGER` (``"skylaunch.task.user"``), a child of the
  task logger, so every handler attached to ``skylaunch.task`` (file, Redis, e-mail) sees user
  lines next to the task's status records. User records carry ``task_name`` and ``run_id`` but
  no ``action``: handlers that store actions (the repo handler) must skip records without one.
- :class:`RunContextFilter` attached to a handler stamps the same two fields on records from any
  logger, so ``logging.getLogger(__name__).info(...)`` inside a task is attributed too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from skylaunch._frozen import Frozen

__all__ = [
    "LEVELS",
    "TASK_USER_LOGGER",
    "RunContextFilter",
    "RunInfo",
    "current_run",
    "level_number",
    "run_context",
    "task_log",
]

TASK_USER_LOGGER = "skylaunch.task.user"

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

# Attributes a LogRecord already has (plus what ``Logger.makeRecord`` refuses to overwrite):
# ``extra`` keys with these names would silently lose or raise deep inside logging.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RunInfo(Frozen):
    """The identity of one run; frozen so code inside the run cannot relabel it."""

    __slots__ = ("run_id", "task_name")
    _fields = ("task_name", "run_id")
    task_name: str
    run_id: str | None

    def __init__(self, task_name: str, run_id: str | None) -> None:
        object.__setattr__(self, "task_name", task_name)
        object.__setattr__(self, "run_id", run_id)


current_run: ContextVar[RunInfo | None] = ContextVar("skylaunch_current_run", default=None)


@contextmanager
def run_context(info: RunInfo) -> Iterator[RunInfo]:
    """Mark the code inside the block as part of ``info``'s run; nesting restores the outer one."""
    token = current_run.set(info)
    try:
        yield info
    finally:
        current_run.reset(token)


def level_number(level: str, *, name: str = "level") -> int:
    """Convert a level name once, at the boundary, so a typo fails where it was written."""
    number = LEVELS.get(level.lower()) if isinstance(level, str) else None
    if number is None:
        expected = ", ".join(repr(k) for k in LEVELS)
        raise ValueError(f"{name}: got {level!r}; expected one of {expected}")
    return number


def task_log(message: str, level: str = "info", /, **extra: Any) -> None:
    """Log a user line that outputs can tie to the running task (or to nothing, outside a run).

    ``extra`` becomes attributes of the record, as with ``logging``'s ``extra=``; names that a
    record already has (``message``, ``name``, ``task_name``...) raise :class:`ValueError`.
    """
    number = level_number(level)
    clashes = sorted(k for k in extra if k in _RESERVED or k in {"task_name", "run_id"})
    if clashes:
        raise ValueError(f"task_log: extra field(s) {clashes} clash with log record attributes")
    info = current_run.get()
    if info is not None:
        extra = {**extra, "task_name": info.task_name, "run_id": info.run_id}
    logging.getLogger(TASK_USER_LOGGER).log(number, message, extra=extra, stacklevel=2)


class RunContextFilter(logging.Filter):
    """Stamp ``task_name``/``run_id`` of the current run on records that do not carry them.

    Never drops a record. Records that already name a task (the scheduler's status records,
    :func:`task_log` lines) are left alone, so a record about task A logged while task B runs in
    the same thread keeps saying A.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        info = current_run.get()
        if info is not None and not hasattr(record, "task_name"):
            record.task_name = info.task_name
            record.run_id = info.run_id
        return True
