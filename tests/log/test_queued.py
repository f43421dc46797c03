"""The queued-writer base itself: what the output contract suite cannot reach from outside."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from skylaunch.log._queued import QueuedWriter, backoff_delay, check_positive


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, Keep]]:
    logger = logging.getLogger("skylaunch.test.queued")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    keep = Keep()
    logger.addHandler(keep)
    yield logger, keep
    logger.removeHandler(keep)


def _probe(
    write: Callable[[list[int]], None], now: list[float], **options: Any
) -> QueuedWriter[int]:
    """A writer of ints, every failure transient, a queue of 10, on the clock ``now[0]``."""
    return QueuedWriter(
        "probe",
        write,
        is_transient=lambda e: True,
        max_queue=10,
        monotonic=lambda: now[0],
        **options,
    )


def _until(check: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_drops_left_unreported_are_reported_by_the_thread_after_the_interval(
    log: tuple[logging.Logger, Keep],
) -> None:
    logger, keep = log

    def down(batch: list[int]) -> None:
        raise ConnectionError("away")

    writer: QueuedWriter[int] = QueuedWriter(
        "out", down, is_transient=lambda e: True, max_queue=2, backoff_s=0.05,
        max_backoff_s=0.05, report_interval_s=0.2, logger=logger,
    )  # fmt: skip
    try:
        for i in range(5):
            writer.put(i)
        assert writer.dropped == 3

        def drops() -> list[str]:
            return [m for m in keep.messages() if "dropped" in m]

        first = (
            "out: dropped 1 item(s) since the last report (total dropped 1): the queue of 2 is "
            "full or the output is closed"
        )
        assert drops() == [first]
        # No more puts: the thread itself reports the two drops after the interval.
        assert _until(lambda: len(drops()) == 2)
        assert "dropped 2 item(s) since the last report (total dropped 3)" in drops()[1]
        failures = [r for r in keep.records if "write failed" in r.getMessage()]
        assert failures
        assert failures[0].exc_info is not None
        assert all(r.exc_info is None for r in failures[1:])  # one traceback per kind
    finally:
        writer.close(0)
    assert writer.dropped == 5


def test_a_new_kind_of_failure_gets_its_traceback(log: tuple[logging.Logger, Keep]) -> None:
    logger, keep = log
    errors = iter([ConnectionError("a"), TimeoutError("b")])

    def flaky(batch: list[int]) -> None:
        error = next(errors, None)
        if error is not None:
            raise error

    writer: QueuedWriter[int] = QueuedWriter(
        "out", flaky, is_transient=lambda e: True, max_queue=10, backoff_s=0.001,
        max_backoff_s=0.001, report_interval_s=0.0001, logger=logger,
    )  # fmt: skip
    writer.put(1)
    assert writer.flush(5)
    shown = [type(r.exc_info[1]) for r in keep.records if r.exc_info and r.exc_info[1]]
    assert shown == [ConnectionError, TimeoutError]
    assert (writer.failures, writer.written, writer.failing) == (2, 1, False)
    assert "out: writing again after 2 failed attempt(s)" in keep.messages()
    writer.close()


def test_refused_items_are_isolated_and_reported(log: tuple[logging.Logger, Keep]) -> None:
    logger, keep = log
    stored: list[int] = []

    def picky(batch: list[int]) -> None:
        if any(i < 0 for i in batch):
            raise ValueError("negative")
        stored.extend(batch)

    writer: QueuedWriter[int] = QueuedWriter(
        "out", picky, is_transient=lambda e: False, max_queue=10, batch=10, isolate=True,
        logger=logger,
    )  # fmt: skip
    for i in (1, -2, 3):
        writer.put(i)
    assert writer.flush(5)
    assert stored == [1, 3]
    assert (writer.written, writer.rejected) == (2, 1)
    assert "out: 1 item(s) refused for good (1 in all; not retried): ValueError: negative" in (
        keep.messages()
    )
    writer.close()


def test_on_stop_runs_at_close_without_a_thread_and_close_is_idempotent() -> None:
    stopped: list[int] = []
    writer: QueuedWriter[int] = QueuedWriter(
        "out", lambda b: None, is_transient=lambda e: True, max_queue=1,
        on_stop=lambda: stopped.append(1),
    )  # fmt: skip
    assert writer.close() is True
    assert writer.close() is True
    assert stopped == [1]
    assert writer.put(1) is False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_fresh() -> None:
    writer: QueuedWriter[int] = QueuedWriter(
        "out", lambda b: None, is_transient=lambda e: True, max_queue=10
    )
    writer.put(1)
    assert writer.flush(5)
    view = writer.queue_view
    writer._pid = -1  # as a child sees it after fork
    writer.put(2)
    assert writer.flush(5)
    assert (writer.accepted, writer.written) == (1, 1)  # counters of the child only
    assert writer.queue_view is view  # the same deque: a hot path may hold it
    writer.close()


def test_helpers() -> None:
    assert [backoff_delay(n, 0.5, 1.5) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]
    with pytest.raises(ValueError, match="Out batch: got 0; expected an integer > 0"):
        check_positive("Out", "batch", 0, integer=True)
    with pytest.raises(ValueError, match="got True"):
        check_positive("Out", "x", True)


# --- confirmations (the scheduler's write-ahead of run records) --------------------------------


def test_when_settled_tells_whether_the_newest_item_was_stored(
    log: tuple[logging.Logger, Keep],
) -> None:
    logger, _ = log
    gate = threading.Event()
    stored: list[int] = []

    def write(batch: list[int]) -> None:
        gate.wait(5)
        if 13 in batch:
            raise ValueError("13 is refused")
        stored.extend(batch)

    writer: QueuedWriter[int] = QueuedWriter(
        "out", write, is_transient=lambda e: False, max_queue=10, isolate=True, logger=logger
    )
    told: list[tuple[str, bool, str]] = []

    def ticket(name: str) -> Callable[[bool], None]:
        return lambda ok: told.append((name, ok, threading.current_thread().name))

    try:
        assert writer.when_settled(ticket("nothing queued")) is True  # nothing waits
        writer.put(1)
        assert writer.when_settled(ticket("one")) is None
        writer.put(13)
        assert writer.when_settled(ticket("thirteen")) is None
        writer.put(2)
        writer.put(3)
        assert writer.when_settled(ticket("three")) is None
        time.sleep(0.1)
        assert told == []  # the backend has not answered: nobody is told anything
        gate.set()
        assert _until(lambda: len(told) == 3)
        assert [(name, ok) for name, ok, _ in told] == [
            ("one", True),
            ("thirteen", False),  # refused for good
            ("three", True),
        ]
        assert {thread for _, _, thread in told} == {"skylaunch-output"}
        assert stored == [1, 2, 3]
        assert writer.when_settled(ticket("settled")) is True  # 3, the newest, was written
        writer.put(13)
        assert _until(lambda: writer.pending == 0)
        assert writer.when_settled(ticket("refused")) is False  # answered at once
        assert len(told) == 3
    finally:
        writer.close(1.0)


def test_when_settled_answers_false_for_what_close_abandons(
    log: tuple[logging.Logger, Keep],
) -> None:
    logger, _ = log
    gate = threading.Event()
    writer: QueuedWriter[int] = QueuedWriter(
        "out", lambda batch: gate.wait(5) and None, is_transient=lambda e: False,
        max_queue=10, batch=1, logger=logger,
    )  # fmt: skip
    told: list[bool] = []
    writer.put(1)
    writer.put(2)
    assert writer.when_settled(told.append) is None
    assert not writer.close(0.05)  # item 1 hangs in the backend: both are abandoned
    assert told == [False]
    assert writer.when_settled(told.append) is False  # the newest item was dropped at close
    assert told == [False]
    gate.set()


def test_a_failing_confirmation_is_reported_and_the_others_still_told(
    log: tuple[logging.Logger, Keep],
) -> None:
    logger, keep = log
    writer: QueuedWriter[int] = QueuedWriter(
        "out", lambda batch: None, is_transient=lambda e: False, max_queue=10, logger=logger
    )
    told: list[bool] = []

    def broken(ok: bool) -> None:
        raise RuntimeError("callback broke")

    with writer.holding_writes():  # the worker cannot write before both tickets are in
        writer.put(1)
        assert writer.when_settled(broken) is None
        assert writer.when_settled(told.append) is None
    assert _until(lambda: told == [True])
    assert "out: a write confirmation failed" in keep.messages()
    writer.close(1.0)


def test_an_item_queued_after_a_failure_is_never_seen_before_its_backoff_is_set() -> None:
    # A write that failed on the caller's thread is queued with its retry time in one step:
    # the worker, woken by the queueing, once saw the item with no retry time yet and retried
    # at once (found by CI: a second attempt, then a doubled backoff).
    now = [0.0]

    def fail(items: list[int]) -> None:
        raise ConnectionError("down")

    writer = _probe(fail, now, backoff_s=1.0)
    seen: list[tuple[int, float]] = []
    notify = writer._cond.notify_all

    def spy() -> None:
        seen.append((len(writer._queue), writer._retry_at))
        notify()

    writer._cond.notify_all = spy  # type: ignore[method-assign]
    writer.put_failed(1, ConnectionError("down"))
    assert seen
    assert all(retry_at == 1.0 for queued, retry_at in seen if queued)
    time.sleep(0.05)
    assert writer.failures == 1  # the worker waits for the backoff: no second attempt yet
    writer.close(0)


def test_behind_means_half_the_queue_waits_while_the_backend_drains() -> None:
    # The scheduler slows its launches down while this holds (instead of filling the queue
    # until it drops); it must never hold while nothing drains, or the producer would stall.
    now = [100.0]
    gate = threading.Event()
    failing = [False]

    def write(items: list[int]) -> None:
        gate.wait(5)
        if failing[0]:
            raise ConnectionError("down")

    writer = _probe(write, now, batch=1, backoff_s=60.0)
    for i in range(6):
        writer.put(i)
    assert not writer.behind  # nothing written yet: no sign the backend drains at all
    gate.set()
    assert _until(lambda: writer.pending == 0)
    gate.clear()
    for i in range(5):
        writer.put(i)
    assert writer.behind  # half the queue waits, and a batch was written just now
    now[0] += 2.0
    assert not writer.behind  # no batch for longer than the window: hung, do not wait for it
    now[0] -= 2.0
    failing[0] = True
    gate.set()
    assert _until(lambda: writer.failing)
    assert not writer.behind  # failing: it is not draining either
    writer.close(0)


def test_behind_is_false_below_half_the_queue() -> None:
    now = [0.0]
    writer = _probe(lambda items: None, now)
    writer.put(1)
    assert _until(lambda: writer.pending == 0)
    assert not writer.behind
    writer.close(0)


def _lingering(batches: list[list[int]], **options: Any) -> QueuedWriter[int]:
    """A writer of ints in batches of 5 that lingers an hour for a batch to fill: within a
    test, nothing is written unless a batch fills or someone waits for the items."""
    return _probe(batches.append, [0.0], batch=5, linger_s=3600.0, **options)


def test_a_lingering_worker_writes_full_batches() -> None:
    batches: list[list[int]] = []
    writer = _lingering(batches)
    for i in range(4):
        writer.put(i)
        time.sleep(0.01)  # a worker that did not linger would write what it found
    assert batches == []
    writer.put(4)  # the batch is full: written at once
    assert _until(lambda: writer.pending == 0)
    assert batches == [[0, 1, 2, 3, 4]]
    writer.close()


def test_a_lingering_worker_writes_at_once_for_a_confirmation_a_flush_or_the_close() -> None:
    batches: list[list[int]] = []
    writer = _lingering(batches)
    writer.put(0)
    time.sleep(0.05)  # the worker starts, finds one item and lingers
    told = threading.Event()
    assert writer.when_settled(lambda stored: told.set()) is None
    assert told.wait(5.0)
    writer.put(1)
    writer.put(2)
    assert writer.flush(5.0)
    writer.put(3)
    assert writer.close(5.0)
    assert batches == [[0], [1, 2], [3]]


def test_a_lingering_worker_does_not_linger_before_a_retry() -> None:
    batches: list[list[int]] = []
    failures = [RuntimeError("away")]

    def write(items: list[int]) -> None:
        if failures:
            raise failures.pop()
        batches.append(items)

    now = [0.0]
    writer = _probe(write, now, batch=5, backoff_s=0.5)
    writer.put(0)
    assert _until(lambda: writer.failures == 1)
    writer.linger_s = 3600.0
    now[0] = 1.0  # past the backoff: retried then, not once a batch is full
    assert _until(lambda: writer.pending == 0)
    assert batches == [[0]]
    writer.close()


def test_a_worker_lingers_only_after_a_batch_of_linger_after_items() -> None:
    # The odd item (a daily task's record) is written at once; a stream is batched.
    batches: list[list[int]] = []
    failures = [RuntimeError("away")]

    def write(items: list[int]) -> None:
        if failures and items == [1]:
            raise failures.pop()
        batches.append(items)

    now = [0.0]
    writer = _probe(write, now, batch=5, backoff_s=0.5, linger_s=3600.0, linger_after=3)
    writer.put(0)
    assert _until(lambda: batches == [[0]])  # after no batch at all: at once
    writer.put(1)
    assert _until(lambda: writer.failures == 1)  # [1] failed: retried after the backoff
    for i in (2, 3, 4):
        writer.put(i)
    now[0] = 1.0
    assert _until(lambda: writer.pending == 0)
    assert batches == [[0], [1, 2, 3, 4]]
    writer.put(5)
    time.sleep(0.05)  # after a batch of four: the worker lingers
    assert writer.pending == 1
    assert writer.flush(5.0)
    assert batches == [[0], [1, 2, 3, 4], [5]]
    writer.close()
