"""The thread pool behind ``execution="thread"``: reuse, concurrency, termination, shutdown."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from skylaunch.execution.base import Outcome, TaskCall
from skylaunch.execution.thread import ThreadExecutor

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
WAIT_S = 10.0


class Ends:
    """Collects outcomes from worker threads and lets the test wait for them."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.threads: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, outcome: Outcome) -> None:
        with self._cond:
            self.outcomes.append(outcome)
            self.threads.append(threading.current_thread().name)
            self._cond.notify_all()

    def wait(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.outcomes) >= n, WAIT_S), self.outcomes


_EARLIER: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def _ignore_earlier_workers() -> None:
    """Idle workers of other tests' pools may still be waiting out their idle timeout."""
    _EARLIER.clear()
    _EARLIER.update(t for t in threading.enumerate() if t.name.startswith("skylaunch:worker-"))


def workers() -> list[threading.Thread]:
    """Pool workers started during this test."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("skylaunch:worker-") and t not in _EARLIER
    ]


def test_sequential_runs_reuse_one_worker() -> None:
    executor = ThreadExecutor()
    ends = Ends()
    try:
        for i in range(5):
            executor.submit(TaskCall("t", f"r{i}", lambda n=i: n), ends, T0)
            ends.wait(i + 1)
        assert len(set(ends.threads)) == 1
        assert [o.action for o in ends.outcomes] == ["success"] * 5
    finally:
        executor.shutdown(terminate=True)


def test_runs_never_wait_for_a_busy_worker() -> None:
    executor = ThreadExecutor()
    ends = Ends()
    release = threading.Event()
    try:
        handles = [
            executor.submit(TaskCall("t", f"r{i}", release.wait, {"timeout": WAIT_S}), ends, T0)
            for i in range(3)
        ]
        assert all(h.is_alive() for h in handles)
        release.set()
        ends.wait(3)
        assert len(set(ends.threads)) == 3
        assert not any(h.is_alive() for h in handles)
    finally:
        executor.shutdown(terminate=True)


def test_terminate_sets_the_flag_and_logs_terminate() -> None:
    executor = ThreadExecutor()
    ends = Ends()
    flag = threading.Event()
    try:
        handle = executor.submit(
            TaskCall("t", "r1", flag.wait, {"timeout": WAIT_S}, flag=flag), ends, T0
        )
        handle.terminate("asked")
        ends.wait(1)
        assert flag.is_set()
        assert ends.outcomes[0].action == "terminate"
        assert ends.outcomes[0].exc_text == "asked"
    finally:
        executor.shutdown(terminate=True)


def test_terminate_without_a_flag_still_logs_terminate() -> None:
    executor = ThreadExecutor()
    ends = Ends()
    release = threading.Event()
    try:
        handle = executor.submit(TaskCall("t", "r1", release.wait, {"timeout": WAIT_S}), ends, T0)
        handle.terminate("asked")
        release.set()
        ends.wait(1)
        assert ends.outcomes[0].action == "terminate"
    finally:
        executor.shutdown(terminate=True)


def test_shutdown_ends_idle_and_busy_workers_and_the_pool_restarts() -> None:
    executor = ThreadExecutor()
    ends = Ends()
    release = threading.Event()
    executor.submit(TaskCall("t", "idle", lambda: None), ends, T0)
    ends.wait(1)
    executor.submit(TaskCall("t", "busy", release.wait, {"timeout": WAIT_S}), ends, T0)
    executor.shutdown(terminate=False)
    release.set()
    ends.wait(2)
    for thread in workers():
        thread.join(WAIT_S)
    assert workers() == []
    executor.submit(TaskCall("t", "again", lambda: 1), ends, T0)
    ends.wait(3)
    assert ends.outcomes[-1].value == 1
    executor.shutdown(terminate=True)


def test_idle_worker_leaves_after_the_idle_timeout() -> None:
    executor = ThreadExecutor()
    executor.idle_timeout_s = 0.01
    ends = Ends()
    executor.submit(TaskCall("t", "r1", lambda: None), ends, T0)
    ends.wait(1)
    for worker in workers():
        worker.join(WAIT_S)
    assert workers() == []
    executor.submit(TaskCall("t", "r2", lambda: 2), ends, T0)
    ends.wait(2)
    assert ends.outcomes[-1].value == 2
    executor.shutdown(terminate=True)


def test_non_daemon_runs_get_their_own_thread() -> None:
    executor = ThreadExecutor(daemon=False)
    ends = Ends()
    executor.submit(TaskCall("job", "r1", lambda: None), ends, T0)
    ends.wait(1)
    assert ends.threads == ["skylaunch:job"]
    assert workers() == []  # no pooled worker was started for it


@pytest.mark.parametrize("daemon", [True, False])
@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt])
def test_a_body_that_raises_a_base_exception_still_reports_its_end(
    daemon: bool, kind: type[BaseException]
) -> None:
    """``sys.exit()`` in a thread ends only that thread, silently: the run must still end
    (``fail``, with its traceback) or it counts as running for ever and its task, never
    launched again, stops being scheduled. (In ``main`` execution it reaches the scheduler's
    loop, as Ctrl-C does.)"""
    executor = ThreadExecutor(daemon=daemon)
    ends = Ends()

    def body() -> None:
        raise kind(3)

    try:
        executor.submit(TaskCall("t", "r1", body), ends, T0)
        ends.wait(1)
        executor.submit(TaskCall("t", "r2", lambda: 2), ends, T0)  # the pool still serves
        ends.wait(2)
    finally:
        executor.shutdown(terminate=True)
    assert [(o.run_id, o.action) for o in ends.outcomes] == [("r1", "fail"), ("r2", "success")]
    assert f"{kind.__name__}: 3" in (ends.outcomes[0].exc_text or "")
    assert executor.alive() == []
