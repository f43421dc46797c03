"""Runtime control of tasks: run now, disable/enable, control from inside a running task."""

from __future__ import annotations

from skylaunch.conds import every
from skylaunch.exc import SchedulerRestart
from skylaunch.testing import run_for, runs, simulated_app


def test_disable_and_enable_from_inside_another_task() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"))
    def tick() -> None: ...

    @app.task(every("1 hour"), priority=10)
    def switch() -> None:  # runs first each hour: disables, enables, disables...
        task = app.session["tick"]
        task.disabled = not task.disabled

    run_for(app, "4 hours 30 minutes")
    assert len(runs(app, "switch")) == 5
    assert [d.strftime("%H:%M") for d in runs(app, "tick")] == ["01:00", "03:00"]


def test_disabled_task_still_runs_when_asked() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour"), disabled=True)
    def job(x: int = 0) -> int:
        return x

    run_for(app, "2 hours")
    assert runs(app, "job") == []
    app.session["job"].enable()
    app.session["job"].disable()
    app.session["job"].run(x=7)
    run_for(app, "1 second")
    assert len(runs(app, "job")) == 1
    assert app.session.returns["job"] == 7


def test_run_another_task_from_inside_a_task() -> None:
    app = simulated_app("2024-01-01 00:00")
    got: list[int] = []

    @app.task(every("1 hour"))
    def trigger() -> None:
        app.session["worker"].run(n=len(got))

    @app.task()
    def worker(n: int) -> None:
        got.append(n)

    run_for(app, "150 minutes")
    assert got == [0, 1, 2]


def test_restart_from_a_task_starts_the_scheduler_again() -> None:
    app = simulated_app("2024-01-01 00:00")
    starts: list[int] = []
    app.setup()(lambda: starts.append(1))

    @app.task(every("1 hour"))
    def maybe_restart() -> None:
        if len(starts) == 1:
            raise SchedulerRestart()

    @app.task(every("1 hour"))
    def ask_restart() -> None:
        if len(starts) == 2:
            app.session.restart()

    run_for(app, "30 minutes")
    assert len(starts) == 3
