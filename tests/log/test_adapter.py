"""``task.logger.handle(record)``: a ready-made record joins the history conditions read."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from skylaunch.conds import daily, failed
from skylaunch.testing import simulated_app


def _record(action: str, created: float, task_name: str | None = None) -> logging.LogRecord:
    record = logging.LogRecord("skylaunch.task", logging.INFO, "", 1, "", None, None)
    record.created = created
    record.action = action
    if task_name is not None:
        record.task_name = task_name
    return record


def test_a_handled_record_is_history_and_reaches_the_repo() -> None:
    app = simulated_app("2024-01-01 12:00")

    @app.task(daily, name="job")
    def job() -> None:
        pass

    task = app.session["job"]
    assert daily.observe(task=task)
    ten = datetime(2024, 1, 1, 10, tzinfo=timezone.utc).timestamp()
    task.logger.handle(_record("run", ten))
    task.logger.handle(_record("fail", ten + 60))
    assert not daily.observe(task=task)  # it ran today: the condition reads the record
    assert failed.today.observe(task=task)
    assert [r.action for r in task.logger.get_records()] == ["run", "fail"]
    assert task.status == "fail"


def test_handle_takes_the_records_task_name_and_refuses_unknown_actions() -> None:
    app = simulated_app("2024-01-01 12:00")

    @app.task(daily, name="a")
    def a() -> None:
        pass

    @app.task(daily, name="b")
    def b() -> None:
        pass

    ts = datetime(2024, 1, 1, 11, tzinfo=timezone.utc).timestamp()
    app.session["a"].logger.handle(_record("run", ts, task_name="b"))
    app.session["a"].logger.handle(_record("success", ts + 1, task_name="b"))
    assert not daily.observe(task=app.session["b"])
    assert daily.observe(task=app.session["a"])
    with pytest.raises(ValueError, match="action must be one of"):
        app.session["a"].logger.handle(_record("started", ts))


def test_a_record_without_an_action_goes_to_the_loggers_handlers() -> None:
    app = simulated_app("2024-01-01 12:00")

    @app.task(daily, name="job")
    def job() -> None:
        pass

    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    adapter = app.session["job"].logger
    keep = Keep()
    adapter.logger.addHandler(keep)
    try:
        line = logging.LogRecord("skylaunch.task", logging.INFO, "", 1, "hello", None, None)
        adapter.handle(line)
    finally:
        adapter.logger.removeHandler(keep)
    assert seen == [line]
    assert daily.observe(task=app.session["job"])  # not a run
