"""Durable start: with a repo written in the background, a run's body waits for its run record.

The repo here is one of your own whose ``add`` waits for a gate the test opens; it is written
from the handler's thread, as every repo but the in-memory one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from skylaunch import App
from skylaunch.exc import ConfigError
from skylaunch.testing import run_until, runs, simulated_app


@pytest.fixture(autouse=True)
def _detach_session_handlers() -> Iterator[None]:
    logger = logging.getLogger("skylaunch.task")
    before = set(logger.handlers)
    yield
    for handler in set(logger.handlers) - before:
        logger.removeHandler(handler)
        handler.close(0.0) if hasattr(handler, "pending") else handler.close()


class Gated:
    """A repo whose writes wait until ``gate`` is set; ``entered`` is set by the first write."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.stored_at: list[float] = []

    def add(self, item: dict[str, Any]) -> None:
        self.entered.set()
        self.gate.wait(20)
        self.items.append(item)
        self.stored_at.append(time.monotonic())

    def filter_by(self, **query: Any) -> Any:
        found = [i for i in self.items if all(i.get(k) == v for k, v in query.items())]

        class Result:
            def all(self) -> list[dict[str, Any]]:
                return found

        return Result()

    def actions(self) -> list[str]:
        return [i["action"] for i in self.items]


def on_gated(start: str = "2024-01-01 09:00", **config: Any) -> tuple[App, Gated]:
    app = simulated_app(start, tz="UTC", **config)
    repo = Gated()
    app.session.set_repo(repo)
    app.session.log_flush_timeout_s = 0.0
    return app, repo


def meanwhile(action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("execution", ["main", "thread", "async"])
def test_the_body_waits_until_the_run_record_is_stored(execution: str) -> None:
    app, repo = on_gated(run_record_wait=None, execution=execution)
    started: list[float] = []

    @app.task("every 1 minute", name="tick")
    def tick() -> None:
        started.append(time.monotonic())

    opened: list[float] = []

    def open_later() -> None:
        repo.entered.wait(10)
        time.sleep(0.3)
        opened.append(time.monotonic())
        repo.gate.set()

    meanwhile(open_later)
    try:
        run_until(app, "2024-01-01 09:02")
    finally:
        repo.gate.set()
    assert len(started) == 2
    assert opened
    assert started[0] >= opened[0]  # not before the repo took the record
    # and every run after its own record was stored
    handler = app.session.journal.handler
    assert handler is not None
    assert handler.flush(5)
    stored = zip(repo.stored_at, repo.items, strict=True)
    run_stored = [at for at, item in stored if item["action"] == "run"]
    assert all(s >= r for s, r in zip(started, run_stored, strict=True))
    assert [r.minute for r in runs(app, "tick")] == [0, 1]  # recorded at their instants


def test_without_a_wait_the_body_does_not_wait() -> None:
    app, repo = on_gated(run_record_wait=0, execution="main")
    ran: list[bool] = []
    app.task("daily", name="d")(lambda: ran.append(repo.gate.is_set()))
    try:
        run_until(app, "2024-01-01 09:01")
    finally:
        repo.gate.set()
    assert ran == [False]  # ran while its record was still waiting


def test_after_the_bound_the_run_starts_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    app, repo = on_gated(run_record_wait="200 ms", execution="main")
    started: list[float] = []
    app.task("every 1 minute", name="tick")(lambda: started.append(time.monotonic()))
    caplog.set_level(logging.WARNING, "skylaunch.scheduler")
    began = time.monotonic()
    try:
        run_until(app, "2024-01-01 09:03")
        assert not repo.items  # the gate never opened
    finally:
        repo.gate.set()
    assert len(started) == 3
    assert started[0] - began >= 0.2
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(started))  # each waited its bound
    warnings = [r.getMessage() for r in caplog.records if "without a stored run" in r.message]
    assert len(warnings) == 1, warnings  # rate-limited: one for the three
    assert "Task 'tick' started without a stored run record" in warnings[0]
    assert "not stored within 0.2 s (run_record_wait)" in warnings[0]


def test_a_refused_run_record_starts_the_run_at_once_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, repo = on_gated(run_record_wait=None, execution="main", silence_task_logging=True)
    refused = threading.Event()

    def add(item: dict[str, Any]) -> None:
        refused.set()
        raise ValueError("no such column")

    repo.add = add  # type: ignore[method-assign]
    ran: list[bool] = []
    app.task("daily", name="d")(lambda: ran.append(refused.is_set()))
    caplog.set_level(logging.WARNING, "skylaunch.scheduler")
    run_until(app, "2024-01-01 09:01")
    assert ran == [True]
    assert any("the repo did not take its run record" in r.getMessage() for r in caplog.records)


def test_terminating_a_run_that_waits_ends_it_unstarted() -> None:
    app, repo = on_gated(run_record_wait=None, execution="thread")
    ran: list[int] = []
    app.task("daily", name="d")(lambda: ran.append(1))

    def terminate() -> None:
        repo.entered.wait(10)
        time.sleep(0.1)
        task = app.session.get("d")
        assert task is not None
        task.terminate()

    meanwhile(terminate)
    began = time.monotonic()
    try:
        run_until(app, "2024-01-01 09:01")
    finally:
        repo.gate.set()
    assert time.monotonic() - began < 10
    assert ran == []  # never started
    history = app.session.history.of("d")
    assert len(list(history.times("run"))) == 1
    assert len(list(history.times("terminate"))) == 1
    handler = app.session.journal.handler
    assert handler is not None
    assert handler.flush(5)
    assert repo.actions() == ["run", "terminate"]
    assert "the task's body did not run" in str(repo.items[1]["exc_text"])


@pytest.mark.parametrize("instant", [False, True])
def test_shutdown_ends_a_waiting_run_unstarted_and_does_not_hang(instant: bool) -> None:
    app, repo = on_gated(run_record_wait=None, execution="main", instant_shutdown=instant)
    ran: list[int] = []
    app.task("daily", name="d")(lambda: ran.append(1))

    def stop() -> None:
        repo.entered.wait(10)
        time.sleep(0.1)
        app.session.shut_down()

    meanwhile(stop)
    began = time.monotonic()
    try:
        run_until(app, "2024-01-02 00:00")
    finally:
        repo.gate.set()
    assert time.monotonic() - began < 10
    assert ran == []
    assert len(list(app.session.history.of("d").times("terminate"))) == 1
    assert app.session.clock.now().hour == 9  # time did not move on while it waited
    assert not app.session.scheduler.running_handles.get("d")


def test_the_time_limit_counts_from_the_actual_start() -> None:
    # Real clock: the record is stored 0.4 s after the decision; the body then needs 0.3 s of
    # its 0.5 s limit. Counted from the decision it would be terminated after 0.1 s.
    app = App(config={"execution": "async", "run_record_wait": None, "timeout": 0.5})
    repo = Gated()
    app.session.set_repo(repo)
    app.session.log_flush_timeout_s = 1.0

    @app.task("daily", name="d")
    async def d() -> str:
        await asyncio.sleep(0.3)
        return "done"

    def script() -> None:
        repo.entered.wait(10)
        time.sleep(0.4)
        repo.gate.set()
        time.sleep(0.8)
        app.session.shut_down()

    meanwhile(script)
    try:
        app.run()
    finally:
        repo.gate.set()
    history = app.session.history.of("d")
    assert len(list(history.times("success"))) == 1, repo.actions()
    assert not list(history.times("terminate"))


def test_the_memory_repo_starts_at_once() -> None:
    app = simulated_app("2024-01-01 09:00", tz="UTC", run_record_wait=None, execution="main")
    app.task("every 1 minute", name="tick")(lambda: None)
    run_until(app, "2024-01-01 09:05")
    assert len(runs(app, "tick", "success")) == 5
    assert not app.session.scheduler._awaited


@pytest.mark.parametrize("bad", ["-1 second", -1, "soon"])
def test_run_record_wait_must_be_a_duration_of_zero_or_more(bad: object) -> None:
    with pytest.raises(ConfigError, match="run_record_wait"):
        App(config={"run_record_wait": bad})
