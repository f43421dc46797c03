"""ShutDown and Restart: tasks whose run stops or restarts the scheduler."""

from __future__ import annotations

import pytest

from skylaunch.conds import every
from skylaunch.exc import SchedulerExit, SchedulerRestart
from skylaunch.tasks.maintain import Restart, ShutDown
from skylaunch.testing import run_for, runs, simulated_app
from tests.execution.test_contract import Collector, Running, make_app, records  # noqa: F401


def test_default_names_condition_and_execution_are_rocketrys() -> None:
    app = simulated_app(execution="thread")
    shutdown = ShutDown(session=app.session)
    restart = Restart(session=app.session)
    assert (shutdown.name, restart.name) == ("shutdown", "restart")
    assert str(shutdown.start_cond) == str(restart.start_cond) == "false"
    assert shutdown.execution == restart.execution == "main"
    assert ShutDown(name="stop", execution="thread", session=app.session).execution == "thread"


def test_shutdown_task_stops_the_scheduler_and_is_logged_success() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("10 minutes"))
    def tick() -> None: ...

    ShutDown(start_cond="time of day after 00:25", session=app.session)
    run_for(app, "2 hours")  # stops at 00:25, not at 02:00
    assert [t.strftime("%H:%M") for t in runs(app, "tick")] == ["00:00", "00:10", "00:20"]
    assert len(runs(app, "shutdown", "success")) == 1
    assert app.session.clock.now().strftime("%H:%M") == "00:25"


def test_restart_task_restarts_the_scheduler() -> None:
    app = simulated_app("2024-01-01 00:00")
    starts: list[str] = []

    @app.setup()
    def count() -> None:
        starts.append(app.session.clock.now().strftime("%H:%M"))

    restart = Restart(session=app.session)
    restart.run(ignored="parameters are not passed to the run")
    run_for(app, "1 hour")
    assert starts == ["00:00", "00:00"]
    assert len(runs(app, "restart", "success")) == 1


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_shutdown_works_from_another_execution_mode(mode: str, records: Collector) -> None:  # noqa: F811
    app = make_app(mode)
    ShutDown(execution=mode, session=app.session)
    running = Running(app)
    with running:
        app.session["shutdown"].run()
        running.thread.join(15)
        assert not running.thread.is_alive()
    assert records.actions("shutdown") == ["run", "success"]


def test_calling_a_restart_task_raises_and_does_not_restart_the_process() -> None:
    """Rocketry's ``Restart(session=s)()`` raised SchedulerRestart; the process stays."""
    app = simulated_app()  # restarting="recall": a restart here would run the loop again
    app.session.config.restarting = "replace"  # would exec a new Python if it were honoured
    task = Restart(session=app.session)
    with pytest.raises(SchedulerRestart, match="returns instead of restarting"):
        task()
    assert task.status == "success"
    stop = ShutDown(session=app.session)
    with pytest.raises(SchedulerExit, match="'shutdown' asked for a shutdown"):
        stop()  # as Rocketry's ShutDown(session=s)() did
    assert stop.status == "success"
    app.session.run("shutdown", obey_cond=True)  # its condition is false: no run, no raise
