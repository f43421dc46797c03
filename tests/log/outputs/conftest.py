"""Task records shaped as the scheduler logs them, and the task logger wired for a test."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)

MakeRecord = Callable[..., logging.LogRecord]


@pytest.fixture
def make_record() -> MakeRecord:
    """Build a task status record (INFO; ``fail`` is ERROR with a traceback)."""

    def make(
        task_name: str,
        action: str,
        run_id: str | None = "run-1",
        *,
        at: datetime = T0,
        **extra: Any,
    ) -> logging.LogRecord:
        level = logging.ERROR if action == "fail" else logging.INFO
        fields: dict[str, Any] = {
            "name": "skylaunch.task",
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": f"Task '{task_name}' status: '{action}'",
            "task_name": task_name,
            "action": action,
            "run_id": run_id,
            "start": at,
            "end": None if action == "run" else at,
            "runtime": None if action == "run" else timedelta(0),
            "created": at.timestamp(),
        }
        if action == "fail":
            try:
                raise ValueError(f"{task_name} broke")
            except ValueError:
                fields["exc_info"] = sys.exc_info()
        fields.update(extra)
        return logging.makeLogRecord(fields)

    return make


@pytest.fixture
def task_logger() -> Iterator[Callable[[logging.Handler], logging.Logger]]:
    """Attach handlers to ``skylaunch.task`` (at DEBUG) for one test, then detach and close them."""
    logger = logging.getLogger("skylaunch.task")
    old_level = logger.level
    attached: list[logging.Handler] = []

    def attach(handler: logging.Handler) -> logging.Logger:
        logger.addHandler(handler)
        attached.append(handler)
        return logger

    logger.setLevel(logging.DEBUG)
    try:
        yield attach
    finally:
        for handler in attached:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(old_level)
