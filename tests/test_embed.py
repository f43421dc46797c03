"""Embedding: ``async with app.running()``, ``app.start()``/``app.stop()``, ``app.run()`` in a loop.

Real clock, short bounded runs; ordering and history are asserted, never durations. A real web
server around it (uvicorn, SIGTERM) is in tests/integration/test_http_server.py.
"""

from __future__ import annotations

import asyncio
import threading
import warnings

import pytest

from skylaunch import App
from skylaunch.conds.scheduler import SchedulerCycles
from skylaunch.embed import BlockingTaskWarning, EventLoopRunningError, check_blocking


def test_run_inside_a_running_loop_names_await_serve() -> None:
    app = App(execution="thread")

    async def main() -> None:
        app.run()

    with pytest.raises(EventLoopRunningError, match=r"await app\.serve\(\)"):
        asyncio.run(main())
    assert not app.session.scheduler.is_running


def test_running_starts_before_the_block_and_ends_every_run_after_it() -> None:
    app = App(execution="thread")
    started = threading.Event()
    release = threading.Event()

    @app.task("true")
    def slow() -> None:
        started.set()
        release.wait(5)

    async def main() -> None:
        async with app.running():
            assert app.session.scheduler.is_running  # entered once started
            while not started.is_set():
                await asyncio.sleep(0.005)
            release.set()
        assert not app.session.scheduler.is_running

    asyncio.run(main())
    log = app.session.history.of("slow")
    assert log.last("run") is not None
    assert not log.running  # every run ended (and was logged) before the block returned


def test_running_warns_about_main_tasks_and_names_the_safe_modes() -> None:
    app = App(execution="thread")

    @app.task(execution="main")
    def blocking() -> None: ...

    @app.task(execution="thread")
    def fine() -> None: ...

    with pytest.warns(BlockingTaskWarning, match=r"'blocking'.*thread.*process") as caught:
        assert check_blocking(app.session) == ["blocking"]
    assert "fine" not in str(caught[0].message)


def test_running_a_scheduler_that_fails_at_start_up_raises_from_the_block() -> None:
    app = App(execution="thread")

    @app.startup()
    def broken() -> None:
        raise ValueError("no database")

    async def main() -> None:
        async with app.running():
            raise AssertionError("the block must not run")

    with pytest.raises(ValueError, match="no database"):
        asyncio.run(main())


def test_cancelled_lifespan_terminates_the_runs_and_logs_them() -> None:
    """A second Ctrl-C cancels the server's lifespan: the runs end now, logged terminate."""
    app = App(execution="thread")
    started = threading.Event()

    @app.task("true")
    def stuck() -> None:
        started.set()
        threading.Event().wait(2)  # ignores termination: the thread is abandoned

    async def lifespan() -> None:
        async with app.running():
            await asyncio.sleep(60)

    async def main() -> None:
        server = asyncio.ensure_future(lifespan())
        while not started.is_set():
            await asyncio.sleep(0.005)
        server.cancel()  # first Ctrl-C: a graceful shutdown begins, waiting for the run
        await asyncio.sleep(0.05)
        assert not server.done()
        server.cancel()  # second: the run is terminated now
        with pytest.raises(asyncio.CancelledError):
            await server

    asyncio.run(main())
    assert not app.session.scheduler.is_running
    assert not app.session.history.of("stuck").running
    assert app.session.history.of("stuck").last("terminate") is not None


def test_start_returns_and_stop_waits_for_the_runs() -> None:
    app = App(execution="thread")
    ran = threading.Event()

    @app.task("every 10 ms")
    def tick() -> None:
        ran.set()

    app.start()
    try:
        assert app.session.scheduler.is_running  # start() returned with it running
        assert ran.wait(5)
        with pytest.raises(RuntimeError, match="already runs"):
            app.start()

        async def twice() -> None:
            async with app.running():
                raise AssertionError("a second scheduler loop must not start")

        with pytest.raises(RuntimeError, match="already running"):
            asyncio.run(twice())
    finally:
        assert app.stop(timeout=5) is True
    assert not app.session.scheduler.is_running
    assert not app.session.history.of("tick").running
    assert app.stop() is True  # twice is harmless


def test_stop_timeout_terminates_a_run_that_does_not_finish() -> None:
    app = App(execution="process")
    app.task("true", name="sleeper", command=["sleep", "30"])
    app.start()
    try:
        log = app.session.history.of("sleeper")
        for _ in range(500):
            if log.running:
                break
            threading.Event().wait(0.01)
        assert log.running
    finally:
        stopped = app.stop(timeout=0.2)
    assert stopped
    assert log.last("terminate") is not None
    assert not log.running


def test_start_raises_what_stopped_the_scheduler_at_start_up() -> None:
    app = App(execution="thread")

    @app.startup()
    def broken() -> None:
        raise ValueError("no database")

    with pytest.raises(ValueError, match="no database"):
        app.start()
    assert app.stop() is True


def test_serve_warns_about_main_tasks() -> None:
    app = App(execution="main", shut_cond=SchedulerCycles() >= 2)

    @app.task()
    def job() -> None: ...

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(app.serve())
    assert [type(w.message) for w in caught] == [BlockingTaskWarning]
