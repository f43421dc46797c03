"""RepoHandler: records become items; transient failures are buffered in order, never doubled."""

from __future__ import annotations

import logging
import sys
import threading
import time
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
)
from skylaunch.log._models import TASK_RUN_RECORD
from skylaunch.log._queued import backoff_delay
from skylaunch.log._restore import restore_query, restore_recent, restore_times
from skylaunch.log.repos.base import field_getter

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


class Gate(MemoryRepo):
    """Writes fail transiently while ``down``; every attempt is counted."""

    def __init__(self, model: Any = MinimalRecord) -> None:
        super().__init__(model)
        self.down = True
        self.attempts = 0

    def insert_items(self, items: Sequence[Any]) -> None:
        self.attempts += 1
        if self.down:
            raise RepoUnavailableError("down")
        super().insert_items(items)


def test_transient_failures_buffer_in_order_and_write_once() -> None:
    repo = Gate()
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.005)
    handler.emit(record(created=1.0))  # written on the caller's thread: fails, queued
    assert handler.pending == 1
    assert isinstance(handler.last_error, RepoUnavailableError)
    assert handler.failing
    for created in (2.0, 3.0, 4.0):
        handler.emit(record(created=created))  # queued behind it, in order
    assert handler.flush(timeout=0.05) is False  # still down: retried, nothing written
    assert repo.attempts >= 2
    repo.down = False
    assert handler.flush(timeout=10)
    assert (handler.pending, handler.failing) == (0, False)
    assert [i.created for i in repo.filter_by().all()] == [1.0, 2.0, 3.0, 4.0]
    attempts = repo.attempts
    handler.emit(record(created=5.0))  # healthy again: written at once, on the caller's thread
    assert repo.attempts == attempts + 1
    assert repo.filter_by().count() == 5
    handler.close(0)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 1.0, 3.0) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert backoff_delay(10**6, 0.1, 30.0) == 30.0  # no overflow after a long outage


def test_retries_follow_the_backoff() -> None:
    clock = FakeClock()
    repo = Gate()
    handler = RepoHandler(repo, retry_initial_s=1.0, retry_max_s=3.0, monotonic=clock)
    handler.emit(record())
    deadline = time.monotonic() + 5
    while repo.attempts < 1 and time.monotonic() < deadline:
        time.sleep(0.001)  # the first attempt is the handler thread's
    assert handler._writer._retry_at == 1.0  # first retry one initial delay after the failure
    assert repo.attempts == 1  # the handler's thread waits for the retry to be due
    clock.now = 1.0
    handler.flush(timeout=0.0)  # wakes the thread: the retry is due
    deadline = time.monotonic() + 5
    while repo.attempts < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert repo.attempts == 2
    handler.close(0)


def test_flush_gives_up_after_timeout_and_reports() -> None:
    repo = FlakyRepo(failures=1000)
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.002)
    handler.emit(record())
    assert handler.flush() is False
    assert handler.flush(timeout=0.01) is False
    assert handler.pending == 1
    assert repo.attempts >= 2  # retried while flush waited
    repo.failures = 0
    assert handler.flush(timeout=10) is True
    handler.close(0)


def test_the_handlers_thread_drains_the_queue_by_itself() -> None:
    repo = FlakyRepo(failures=3)
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.002)
    for i in range(5):
        handler.emit(record(created=float(i)))
    deadline = time.monotonic() + 10
    while handler.pending and time.monotonic() < deadline:
        time.sleep(0.001)  # no flush: the retries are the thread's own
    assert handler.pending == 0
    assert [i.created for i in repo.filter_by().all()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    handler.close()
    thread = handler._writer._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()


def test_permanent_failure_drops_only_the_bad_record() -> None:
    gate = threading.Event()

    class PickyRepo(MemoryRepo):
        def insert_items(self, items: Sequence[Any]) -> None:
            gate.wait(10)  # the three records are queued before the first write
            if any(field_getter(i)("task_name") == "bad" for i in items):
                raise RuntimeError("constraint violated")
            super().insert_items(items)

    repo = PickyRepo(MinimalRecord)
    handler = RepoHandler(repo, background=True)
    # Held: otherwise the thread may refuse "bad" before "c" is emitted, and emit raises it.
    with handler.holding_writes():
        for n, t in enumerate(["a", "bad", "c"]):
            handler.emit(record(task=t, created=float(n)))
    assert handler.flush() is False  # as logging.shutdown calls it: no wait, nothing raised
    gate.set()
    with pytest.raises(TaskLoggingError, match=r"task 'bad'.*RuntimeError: constraint violated"):
        handler.flush(timeout=10)
    assert handler.flush(timeout=0)  # reported once
    assert handler.pending == 0
    assert [i.task_name for i in repo.filter_by().all()] == ["a", "c"]
    assert isinstance(handler.last_error, RuntimeError)
    handler.close(0)


def test_a_refused_record_is_raised_by_the_next_emit() -> None:
    class PickyRepo(MemoryRepo):
        def insert_items(self, items: Sequence[Any]) -> None:
            if any(field_getter(i)("task_name") == "bad" for i in items):
                raise RuntimeError("constraint violated")
            super().insert_items(items)

    repo = PickyRepo(MinimalRecord)
    handler = RepoHandler(repo, background=True)
    handler.emit(record(task="bad"))
    assert handler._writer.flush(10)  # written (refused) without raising yet
    with pytest.raises(TaskLoggingError, match=r"task 'bad'"):
        handler.emit(record(task="good"))  # queued all the same
    assert handler.flush(timeout=10)
    assert [i.task_name for i in repo.filter_by().all()] == ["good"]
    handler.close(0)


def test_a_refused_record_on_the_callers_thread_raises_at_once() -> None:
    class PickyRepo(MemoryRepo):
        def insert_items(self, items: Sequence[Any]) -> None:
            raise RuntimeError("constraint violated")

    handler = RepoHandler(PickyRepo(LogRecord))
    assert not handler.background
    with pytest.raises(TaskLoggingError, match=r"task 'x'.*constraint violated"):
        handler.emit(record())
    assert handler.pending == 0
    assert isinstance(handler.last_error, RuntimeError)


def test_refused_records_not_raised_before_close_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class NoRepo(MemoryRepo):
        def insert_items(self, items: Sequence[Any]) -> None:
            raise RuntimeError("constraint violated")

    handler = RepoHandler(NoRepo(MinimalRecord), background=True)
    handler.emit(record(task="lost"))
    with caplog.at_level(logging.ERROR, logger="skylaunch.scheduler"):
        handler.close(10)
    assert "cannot write the record of task 'lost'" in caplog.text


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
    assert handler.background  # a foreign repo may block: written from the handler's thread
    handler.emit(record(created=1.0))
    handler.emit(record(created=2.0))
    assert handler.flush(timeout=0.05) is False
    assert handler.pending == 2
    repo.down = False
    assert handler.flush(timeout=10)
    assert [i["created"] for i in repo.items] == [1.0, 2.0]
    assert repo.items[0]["formatted_message"] == "Task 'x'"
    assert [i["created"] for i in restore_query(repo, "x", since=1.5, limit=5)] == [2.0]
    with pytest.raises(TypeError, match="add"):
        RepoHandler(object())
    handler.close(0)


def test_close_stops_the_thread_and_keeps_pending(caplog: pytest.LogCaptureFixture) -> None:
    repo = FlakyRepo(failures=10**6)
    handler = RepoHandler(repo, retry_initial_s=0.001, retry_max_s=0.001)
    handler.emit(record())
    with caplog.at_level(logging.WARNING, logger="skylaunch.scheduler"):
        handler.close(0.05)
    thread = handler._writer._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()
    assert handler.pending == 1
    assert handler.dropped == 1
    assert "closed with 1 record(s) unwritten" in caplog.text


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="retry_initial_s"):
        RepoHandler(MemoryRepo(), retry_initial_s=0)
    with pytest.raises(ValueError, match="max_queue: got 0"):
        RepoHandler(MemoryRepo(), max_queue=0)
    with pytest.raises(ValueError, match="flush_timeout_s: got -1"):
        RepoHandler(MemoryRepo(), flush_timeout_s=-1)
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
    handler = RepoHandler(repo, retry_initial_s=10.0, retry_max_s=10.0)
    handler.emit(record(created=1.0))
    assert (handler.pending, handler.failing) == (1, True)
    handler.emit_trusted(
        {"task_name": "x", "action": "success", "created": 2.0, "message": "m", "run_id": None}
    )
    assert handler.pending == 2
    assert [i["created"] for i in handler.pending_items()] == [1.0, 2.0]
    assert handler.flush(timeout=10)  # made at once, whatever the backoff
    assert handler.failing is False
    assert [i.created for i in repo.filter_by().all()] == [1.0, 2.0]
    handler.close(0)


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


def test_a_background_writer_lingers_for_fuller_batches_an_inline_one_does_not(
    tmp_path: Any,
) -> None:
    # Written by the handler's thread, records wait a moment for a fuller batch (unless
    # someone waits for them: QueuedWriter's tests); written on the caller's thread, the
    # queue only holds what failed, and is drained as soon as the repo answers.
    from skylaunch.log.repos.sql import SQLRepo

    with SQLRepo(
        MinimalRecord,
        conn_string=f"sqlite:///{tmp_path / 'log.db'}",
        table="log",
        if_missing="create",
    ) as repo:
        background = RepoHandler(repo)
        assert background.background
        assert background._writer.linger_s > 0
        assert background._writer.linger_after > 1  # the odd record goes at once
        background.close()
    inline = RepoHandler(MemoryRepo(MinimalRecord))
    assert not inline.background
    assert inline._writer.linger_s == 0
    inline.close()


class _FlakyMemoryRepo(MemoryRepo):
    """A memory repo of the user's whose first compact record write fails as a moment's
    outage would (the queued record is then written through its fields' path)."""

    transient_errors = (ConnectionError,)

    def __init__(self, fail: type[Exception]) -> None:
        super().__init__(TASK_RUN_RECORD)  # the default repo's model: records kept compact
        self.failures = 1
        self.fail = fail

    def add_lifecycle(self, parts: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise self.fail("the store is away for a moment")
        super().add_lifecycle(parts)


def test_a_transient_failure_of_the_compact_write_queues_the_records_and_loses_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scheduler writes a memory repo's records through its compact sink itself; a write
    failing with one of the repo's transient errors is queued and written later, and every
    record is stored once; any other error is a TaskLoggingError naming the record."""
    from skylaunch.conds import every
    from skylaunch.testing import run_for, simulated_app

    # pytest's log capture on the root logger would take the records off the hot path
    monkeypatch.setattr(logging.getLogger("skylaunch.task"), "propagate", False)

    # silenced: the scheduler goes on while the records wait (else it stops, as documented)
    app = simulated_app("2024-01-01 00:00", execution="main", silence_task_logging=True)
    repo = _FlakyMemoryRepo(ConnectionError)
    app.session.set_repo(repo)
    assert app.session.journal.handler is not None
    assert app.session.journal.handler.compact_sink is not None

    @app.task(every("1 hour"), name="job")
    def job() -> None:
        pass

    run_for(app, "3 hours 30 minutes")
    assert app.session.flush_logs(timeout=10)
    assert repo.failures == 0
    stored = [(r.action, r.created) for r in repo.filter_by(task_name="job")]
    assert sorted(action for action, _ in stored) == ["run"] * 4 + ["success"] * 4
    assert len(set(stored)) == 8

    app = simulated_app("2024-01-01 00:00", execution="main")
    app.session.set_repo(_FlakyMemoryRepo(ValueError))
    app.task(every("1 hour"), name="job")(job)
    with pytest.raises(TaskLoggingError, match="logging 'run' of task 'job' failed"):
        run_for(app, "30 minutes")
