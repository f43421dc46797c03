from __future__ import annotations

import logging

import pytest

from skylaunch.log.context import (
    TASK_USER_LOGGER,
    RunContextFilter,
    RunInfo,
    current_run,
    level_number,
    run_context,
    task_log,
)


def test_run_context_sets_and_restores_the_current_run() -> None:
    outer, inner = RunInfo("a", "r1"), RunInfo("b", "r2")
    assert current_run.get() is None
    with run_context(outer) as given:
        assert given is outer
        assert current_run.get() is outer
        with run_context(inner):
            assert current_run.get() is inner
        assert current_run.get() is outer
    assert current_run.get() is None


def test_run_context_restores_after_an_exception() -> None:
    with pytest.raises(RuntimeError), run_context(RunInfo("a", "r1")):
        raise RuntimeError("boom")
    assert current_run.get() is None


def test_run_info_is_frozen() -> None:
    info = RunInfo("a", None)
    with pytest.raises(AttributeError):
        info.task_name = "b"  # type: ignore[misc]


def test_task_log_inside_a_run_names_the_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=TASK_USER_LOGGER)
    with run_context(RunInfo("fetch", "run-7")):
        task_log("fetched %d rows", "warning", rows=3)
    (record,) = caplog.records
    assert record.name == "skylaunch.task.user"
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "fetched %d rows"  # no args: the message is taken literally
    assert (record.task_name, record.run_id, record.rows) == ("fetch", "run-7", 3)
    assert not hasattr(record, "action")
    assert record.funcName == "test_task_log_inside_a_run_names_the_run"


def test_task_log_outside_a_run_is_a_plain_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=TASK_USER_LOGGER)
    task_log("hello")
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert not hasattr(record, "task_name")
    assert not hasattr(record, "run_id")


def test_task_log_refuses_an_unknown_level() -> None:
    with pytest.raises(ValueError, match=r"level: got 'loud'; expected one of 'debug'"):
        task_log("x", "loud")


@pytest.mark.parametrize("field", ["message", "name", "created", "task_name", "run_id"])
def test_task_log_refuses_extra_fields_that_clash(field: str) -> None:
    with pytest.raises(ValueError, match=rf"\['{field}'\] clash"):
        task_log("x", **{field: 1})


def test_level_number_is_case_insensitive_and_names_the_argument() -> None:
    assert level_number("ERROR") == logging.ERROR
    assert level_number("debug") == logging.DEBUG
    with pytest.raises(ValueError, match="min_level: got 20"):
        level_number(20, name="min_level")  # type: ignore[arg-type]


def _record(**extra: object) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "user.module", "msg": "hi", **extra})


def test_filter_stamps_records_created_inside_a_run() -> None:
    flt = RunContextFilter()
    with run_context(RunInfo("report", "r9")):
        record = _record()
        assert flt.filter(record) is True
    assert (record.task_name, record.run_id) == ("report", "r9")


def test_filter_leaves_records_outside_a_run_alone() -> None:
    record = _record()
    assert RunContextFilter().filter(record) is True
    assert not hasattr(record, "task_name")


def test_filter_keeps_a_task_name_already_on_the_record() -> None:
    record = _record(task_name="other", run_id="r1")
    with run_context(RunInfo("report", "r9")):
        RunContextFilter().filter(record)
    assert (record.task_name, record.run_id) == ("other", "r1")


def test_filter_on_a_handler_attributes_a_users_own_logger() -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Collect()
    handler.addFilter(RunContextFilter())
    logger = logging.getLogger("tests.log.context.user_module")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with run_context(RunInfo("etl", "r3")):
            logger.info("step one")
    finally:
        logger.removeHandler(handler)
    assert [(r.task_name, r.run_id, r.getMessage()) for r in seen] == [("etl", "r3", "step one")]
