"""Rocketry's run id functions (rocketry.tasks.run_id) for func_run_id."""

from __future__ import annotations

import threading

from skylaunch.tasks.run_id import increment, uuid
from skylaunch.testing import run_for, simulated_app


def test_uuid_is_32_hex_digits() -> None:
    app = simulated_app()
    task = app.task(name="t")(lambda: None)
    first, second = uuid(task, {}), uuid(task, None)
    assert len(first) == 32
    int(first, 16)
    assert first != second


def test_increment_numbers_the_runs_going_at_once() -> None:
    app = simulated_app(func_run_id=increment)
    both = threading.Barrier(2, timeout=5)

    @app.task(execution="thread", multilaunch=True, name="slow")
    def slow() -> None:
        both.wait()  # the two runs are going at once

    task = app.session["slow"]
    assert increment(task, {}) == "1"
    task.run()
    task.run()
    run_for(app, "1 second")
    records = task.logger.filter_by(action="run").all()
    assert sorted(r.run_id for r in records) == ["1", "2"]
    assert [r.action for r in task.logger.filter_by(run_id="1").all()] == ["run", "success"]
    assert increment(task, {}) == "1"  # free again once they ended
