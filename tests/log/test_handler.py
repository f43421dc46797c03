"""RepoHandler: records become items; transient failures are buffered in order, never doubled."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skylaunch.exc import RepoUnavailableError, TaskLoggingError
from skylaunch.log import (
    LogRecord,
    MemoryRepo,
    MinimalRecord,
    MinimalRunRecord,
    RepoHandler,
    RunRecord,
    TaskRunRecord,
    restore_query,
    restore_recent,
    restore_times,
)

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


class FlakyRepo(MemoryRepo):
    """Fails the next ``failures`` writes, transiently; counts attempts."""

    def __init__(self, model: Any = MinimalRecord, failures: int = 0) -> None:
        super().__init__(model)
        self.failures = failures
        self.attempts = 0

    def insert_items(self, items: Sequence[Any]) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise RepoUnavailableError("down")
        super().insert_items(items)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(task: str = "x", action: str = "run", created: float = 1.0, **extra: Any) -> Any:
    rec = logging.LogRecord("skylaunch.task", logging.INFO, __file__, 7, "Task %r", (task,), None)
    rec.__dict__.update(task_name=task, action=action, **extra)
    rec.created = created
    return rec


def test_emit_builds_the_model_from_the_record() -> None:
    repo = MemoryRepo(TaskRunRecord)
    handler = RepoHandler(repo)
    handler.emit(
        record(
            start=T0,
            end=T0 + timedelta(seconds=3),
            runtime=timedelta(seconds=3),
            run_id="r1",
        )
    )
    item = repo.filter_by(task_name="x").last()
    assert item == TaskRunRecord(
        task_name="x",
        action="run",
        created=1.0,
        start=T0,
        end=T0 + timedelta(seconds=3),
        runtime=timedelta(seconds=3),
        message="Task 'x'",
        exc_text=None,
        run_id="r1",
    )


def test_full_log_record_with_traceback() -> None:
    repo = MemoryRepo(RunRecord)
    handler = RepoHandler(repo)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    try:
        raise ValueError("boom")
    except ValueError:
        rec = record(action="fail", run_id=None)
        rec.exc_info = sys.exc_info()
        rec.msg, rec.args = {"not": "a string"}, ()
    handler.emit(rec)
    item = repo.filter_by().first()
    assert isinstance(item, LogRecord)
    assert item.msg == "{'not': 'a string'}"
    assert item.message == "{'not': 'a string'}"
    assert item.formatted_message.startswith("INFO {'not': 'a string'}\nTraceback")
    assert item.exc_text is not None
    assert item.exc_text.endswith("ValueError: boom")
    assert item.lineno == 7
    assert rec.__dict__.get("formatted_message") is None  # the caller's record is untouched


def test_through_a_logger() -> None:
    repo = MemoryRepo(MinimalRecord)
    logger = logging.getLogger("skylaunch.test.handler.logger")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = RepoHandler(repo)
    logger.addHandler(handler)
    try:
        logger.info("hi", extra={"task_name": "x", "action": "success"})
    finally:
        logger.removeHandler(handler)
    assert repo.filter_by(task_name="x", action="success").count() == 1


def test_bad_record_raises_task_logging_error_and_buffers_nothing() -> None:
    handler = RepoHandler(MemoryRepo(MinimalRecord))
    with pytest.raises(TaskLoggingError, match=r"task 'x'.*action 'exploded'"):
        handler.emit(record(action="exploded"))
    assert handler.pending == 0


def test_transient_failures_buffer_in_order_and_write_once() -> None:
    clock = FakeClock()
    repo = FlakyRepo(failures=2)
    handler = RepoHandler(repo, retry_initial_s=1.0, retry_max_s=4.0, monotonic=clock)
    handler._start_timer = lambda: None  # type: ignore[method-assign]  # drive retries by hand
    handler.emit(record(created=1.0))  # fails: buffered, next try at t=1
    assert (handler.pending, repo.attempts) == (1, 1)
    assert isinstance(handler.last_error, RepoUnavailableError)
    handler.emit(record(created=2.0))  # not yet due: no attempt on the caller's thread
    assert (handler.pending, repo.attempts) == (2, 1)
    clock.now = 1.0
    handler.emit(record(created=3.0))  # due: one attempt for the batch, fails again
    assert (handler.pending, repo.attempts) == (3, 2)
    clock.now = 2.0
    handler.emit(record(created=4.0))  # backoff doubled: due at t=3
    assert repo.attempts == 2
    assert handler.flush()  # flush tries at once, whatever the backoff
    assert handler.pending == 0
    assert repo.attempts == 3
    assert [i.created for i in repo.filter_by().all()] == [1.0, 2.0, 3.0, 4.0]
    handler.emit(record(created=5.0))  # healthy again: written at once
    assert repo.filter_by().count() == 5


def test_backoff_is_capped() -> None:
    clock = FakeClock()
    handler = RepoHandler(
        FlakyRepo(failures=10), retry_initial_s=1.0, retry_max_s=3.0, monotonic=clock
    )
    handler._start_timer = lambda: None  # type: ignore[method-assign]
    delays = []
    for _ in range(4):
        handler.emit(record())
        delays.append(handler._next_try - clock.now)
        clock.now = handler._next_try
    assert delays == [1.0, 2.0, 3.0, 3.0]


def test_flush_gives_up_after_timeout_and_reports() -> None:
    repo = FlakyRepo(failures=1000)
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.002)
    handler._start_timer = lambda: None  # type: ignore[method-assign]
    handler.emit(record())
    assert handler.flush() is False
    assert handler.flush(timeout=0.01) is False
    assert handler.pending == 1
    repo.failures = 0
    assert handler.flush() is True


def test_background_timer_drains_the_buffer() -> None:
    repo = FlakyRepo(failures=3)
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.002)
    for i in range(5):
        handler.emit(record(created=float(i)))
    timer = handler._timer
    if timer is not None:
        timer.join(5)
    assert handler.pending == 0
    assert [i.created for i in repo.filter_by().all()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert handler._timer is None
    handler.close()


def test_permanent_failure_drops_only_the_bad_record() -> None:
    class PickyRepo(MemoryRepo):
        def insert_items(self, items: Sequence[Any]) -> None:
            if any(i.task_name == "bad" for i in items):
                raise RuntimeError("constraint violated")
            super().insert_items(items)

    repo = PickyRepo(MinimalRecord)
    handler = RepoHandler(repo)
    handler._buffer.extend(
        repo.to_item({"task_name": t, "action": "run", "created": float(n)})
        for n, t in enumerate(["a", "bad", "c"])
    )
    with pytest.raises(TaskLoggingError, match=r"task 'bad'.*RuntimeError: constraint violated"):
        handler.flush()
    assert handler.pending == 1  # "c" waits for the next write
    assert handler.flush()
    assert [i.task_name for i in repo.filter_by().all()] == ["a", "c"]


def test_red_bird_style_repo_gets_dicts() -> None:
    class DuckRepo:
        def __init__(self) -> None:
            self.items: list[dict[str, Any]] = []
            self.down = True

        def add(self, item: dict[str, Any]) -> None:
            if self.down:
                raise ConnectionError("no route")
            self.items.append(item)

        def filter_by(self, **query: Any) -> Any:
            items = [i for i in self.items if all(i.get(k) == v for k, v in query.items())]

            class Result:
                def all(self) -> list[dict[str, Any]]:
                    return items

            return Result()

    repo = DuckRepo()
    handler = RepoHandler(repo, retry_initial_s=0.001)
    handler._start_timer = lambda: None  # type: ignore[method-assign]
    handler.emit(record(created=1.0))
    handler.emit(record(created=2.0))
    assert handler.pending == 2
    repo.down = False
    assert handler.flush()
    assert [i["created"] for i in repo.items] == [1.0, 2.0]
    assert repo.items[0]["formatted_message"] == "Task 'x'"
    assert [i["created"] for i in restore_query(repo, "x", since=1.5, limit=5)] == [2.0]
    with pytest.raises(TypeError, match="add"):
        RepoHandler(object())


def test_close_stops_the_timer_and_keeps_pending() -> None:
    repo = FlakyRepo(failures=10**6)
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.001)
    handler.emit(record())
    handler.close()
    assert handler._timer is None or not handler._timer.is_alive()
    assert handler.pending == 1


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="retry_initial_s"):
        RepoHandler(MemoryRepo(), retry_initial_s=0)
    with pytest.raises(ValueError, match="limit"):
        restore_query(MemoryRepo(), "x", limit=-1)


def test_records_without_action_are_skipped() -> None:
    repo = MemoryRepo(TaskRunRecord)
    handler = RepoHandler(repo)
    logger = logging.getLogger("skylaunch.test.noaction")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.info("a user line", extra={"task_name": "x", "run_id": "r"})
        handler.emit(record(action="run"))
    finally:
        logger.removeHandler(handler)
    assert [(i.task_name, i.action) for i in repo.filter_by().all()] == [("x", "run")]


def test_trusted_path_stores_the_lifecycle_fields_unvalidated() -> None:
    repo = MemoryRepo(TaskRunRecord)
    handler = RepoHandler(repo)
    assert handler.takes_trusted
    start = T0 - timedelta(seconds=2)
    handler.emit(record(action="success", run_id="r", start=start, end=T0, runtime=timedelta(2)))
    (stored,) = repo._tasks["x"]["success"].items
    assert type(stored) is dict  # no model built on the write path
    (item,) = repo.filter_by(task_name="x").all()
    assert isinstance(item, TaskRunRecord)
    assert (item.run_id, item.start, item.message) == ("r", start, "Task 'x'")


@pytest.mark.parametrize(
    ("model", "override", "expected"),
    [
        (TaskRunRecord, None, True),
        (MinimalRecord, None, True),
        (None, None, True),
        (LogRecord, None, False),  # needs fields the trusted dict does not carry
        (TaskRunRecord, MinimalRecord, False),  # the handler builds another model
    ],
)
def test_which_repos_take_trusted_writes(model: Any, override: Any, expected: bool) -> None:
    assert RepoHandler(MemoryRepo(model), model=override).takes_trusted is expected


def test_odd_records_still_go_through_validation() -> None:
    handler = RepoHandler(MemoryRepo(TaskRunRecord))
    with pytest.raises(TaskLoggingError, match="exploded"):
        handler.emit(record(action="exploded"))
    with pytest.raises(TaskLoggingError, match="task 5"):
        handler.emit(record(task=5))  # type: ignore[arg-type]


def test_trusted_writes_are_buffered_when_the_repo_is_down() -> None:
    repo = FlakyRepo(TaskRunRecord, failures=1)
    clock = FakeClock()
    handler = RepoHandler(repo, monotonic=clock)
    handler._start_timer = lambda: None  # type: ignore[method-assign]
    handler.emit(record(created=1.0))
    assert (handler.pending, handler.failing) == (1, True)
    handler.emit_trusted(
        {"task_name": "x", "action": "success", "created": 2.0, "message": "m", "run_id": None}
    )
    assert handler.pending == 2
    assert [i["created"] for i in handler.pending_items()] == [1.0, 2.0]
    assert handler.flush()
    assert handler.failing is False
    assert [i.created for i in repo.filter_by().all()] == [1.0, 2.0]


def test_emit_trusted_on_other_repos_converts_and_writes() -> None:
    repo = MemoryRepo(LogRecord)
    handler = RepoHandler(repo)
    with pytest.raises(Exception, match="validation error"):
        handler.emit_trusted({"task_name": "x", "action": "run", "created": 1.0})
    repo2 = MemoryRepo(MinimalRecord)
    handler2 = RepoHandler(repo2, model=MinimalRecord)
    handler2.emit_trusted({"task_name": "x", "action": "run", "created": 1.0})
    assert repo2.filter_by().count() == 1


def test_restore_times_per_action_oldest_first_with_limit() -> None:
    repo = MemoryRepo(MinimalRunRecord)
    for i in range(6):
        repo.add({"task_name": "x", "action": "run", "created": float(i), "run_id": str(i)})
    repo.add({"task_name": "x", "action": "fail", "created": 9.0, "run_id": "5"})
    repo.add({"task_name": "y", "action": "run", "created": 3.0, "run_id": "y"})
    times = restore_times(repo, "x", limit=3, actions=("run", "fail", "crash"))
    assert times == {"run": [3.0, 4.0, 5.0], "fail": [9.0], "crash": []}
    assert restore_recent(repo, "x", limit=2) == [(5.0, "run", "5"), (9.0, "fail", "5")]
    with pytest.raises(ValueError, match="limit"):
        restore_times(repo, "x", limit=-1, actions=("run",))


def test_restore_from_a_duck_repo() -> None:
    reads: list[dict[str, Any]] = []
    items = [
        {"task_name": "x", "action": "run", "created": float(i), "run_id": str(i)} for i in range(5)
    ] + [{"task_name": "x", "action": "success", "created": T0, "run_id": "4"}]

    class Duck:
        def add(self, item: Any) -> None: ...

        def filter_by(self, **query: Any) -> Any:
            reads.append(query)
            found = [i for i in items if all(i[k] == v for k, v in query.items())]

            class Result:
                def all(self) -> list[dict[str, Any]]:
                    return found

            return Result()

    times = restore_times(Duck(), "x", limit=2, actions=("run", "success"))
    assert times == {"run": [3.0, 4.0], "success": [T0.timestamp()]}
    assert restore_recent(Duck(), "x", limit=2) == [
        (4.0, "run", "4"),
        (T0.timestamp(), "success", "4"),
    ]
    assert reads == [{"task_name": "x"}] * 2
