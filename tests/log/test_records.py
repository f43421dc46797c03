"""Record models: Rocketry's field sets, conversions, extra keys ignored, subclassing."""

from __future__ import annotations

import logging
import typing
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from skylaunch.log.records import (
    Action,
    LogRecord,
    MinimalRecord,
    MinimalRunRecord,
    RunRecord,
    TaskLogRecord,
    TaskRunRecord,
)


def test_actions() -> None:
    assert typing.get_args(Action) == ("run", "success", "fail", "terminate", "inaction", "crash")


def test_field_sets_follow_rocketry() -> None:
    assert list(MinimalRecord.model_fields) == ["task_name", "action", "created"]
    assert set(TaskLogRecord.model_fields) == {
        "task_name", "action", "created", "start", "end", "runtime", "message", "exc_text",
    }  # fmt: skip
    assert set(MinimalRunRecord.model_fields) - set(MinimalRecord.model_fields) == {"run_id"}
    assert set(RunRecord.model_fields) - set(LogRecord.model_fields) == {"run_id"}
    assert set(TaskRunRecord.model_fields) - set(TaskLogRecord.model_fields) == {"run_id"}
    stdlib = set(vars(logging.LogRecord("n", 20, "p", 1, "m", None, None)))
    assert set(LogRecord.model_fields) - stdlib == {
        "task_name", "action", "message", "formatted_message",
    }  # fmt: skip


def test_conversions() -> None:
    rec = TaskRunRecord(
        task_name="x",
        action="success",
        created="1.5",  # type: ignore[arg-type]
        start="2024-03-01T12:00:00+02:00",  # type: ignore[arg-type]
        end=1709287200.0,  # type: ignore[arg-type]
        runtime=2.5,  # type: ignore[arg-type]
        message="m",
    )
    assert rec.created == 1.5
    assert rec.start == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert rec.end == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert rec.runtime == timedelta(seconds=2.5)
    assert rec.run_id is None
    assert rec.exc_text is None


def test_extra_keys_are_ignored_and_bad_action_refused() -> None:
    rec = MinimalRecord.model_validate(
        {"task_name": "x", "action": "run", "created": 1.0, "levelno": 20}
    )
    assert not hasattr(rec, "levelno")
    with pytest.raises(ValidationError, match="action"):
        MinimalRecord(task_name="x", action="started", created=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="created"):
        MinimalRecord.model_validate({"task_name": "x", "action": "run"})


def test_subclass_adds_fields() -> None:
    class WithHost(MinimalRunRecord):
        host: str = "localhost"

    rec = WithHost.model_validate({"task_name": "x", "action": "run", "created": 1.0, "z": 0})
    assert (rec.host, rec.run_id) == ("localhost", None)
