"""The inspection and control model: next run, why, upcoming, control, from any thread.

``next run`` is checked against what the scheduler then does on the simulated clock: for every
condition family, the instant it announces is the instant of the first run.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from skylaunch import App
from skylaunch import control as control_module
from skylaunch.control import Controller, NextRun, as_json
from skylaunch.exc import TaskLookupError
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo
from skylaunch.testing import is_due, run_until, runs, seed, simulated_app

START = "2024-01-03 07:13:21"  # a Wednesday

# condition -> history seeded before START (a past that makes it not due now)
FAMILIES: list[tuple[str, list[tuple[str, str]]]] = [
    ("daily", [("2024-01-03 00:05", "run"), ("2024-01-03 00:06", "success")]),
    ("daily between 10:00 and 12:00", []),
    ("daily after 22:30", []),
    ("hourly", [("2024-01-03 07:01", "run"), ("2024-01-03 07:02", "success")]),
    ("weekly on Friday", []),
    ("monthly between 10th and 12th", []),
    ("monthly on last", []),
    ("every 25 minutes", [("2024-01-03 07:00", "run"), ("2024-01-03 07:00", "success")]),
    ("every 10 minutes after finish", [("2024-01-03 07:00", "run"), ("2024-01-03 07:09", "fail")]),
    (
        "every 1 hour with jitter 5 minutes",
        [("2024-01-03 07:00", "run"), ("2024-01-03 07:00", "success")],
    ),
    ("cron */5 9-17 * * 1-5", []),
    ("crontime 30 8 * * *", []),
    ("time of day between 20:00 and 21:00", []),
    ("time of week between Sat and Sun", []),
    ("daily between 08:00 and 09:00 & every 20 minutes", []),
    ("(daily after 23:00) | (weekly on Thursday)", []),
    ("hourly & ~(time of day between 07:00 and 12:00)", []),
    (
        "daily | retry 3 with delay 10 minutes",
        [("2024-01-03 07:00", "run"), ("2024-01-03 07:05", "fail")],
    ),
    ("is running for more than 10 minutes & daily", [("2024-01-03 07:10", "run")]),
]


@pytest.mark.parametrize(("cond", "past"), FAMILIES, ids=[c for c, _ in FAMILIES])
def test_next_run_is_the_instant_the_scheduler_runs_the_task(
    cond: str, past: list[tuple[str, str]]
) -> None:
    app = simulated_app(START, multilaunch="is running" in cond)
    # the first run ends the test: clock predicates (crontime) stay true for a while
    app.task(cond, name="job", func=app.session.shut_down)
    seed(app, "job", past)
    announced = app.control.next_run("job")
    assert announced.kind in ("at", "due"), announced
    assert announced.at is not None
    before = len(runs(app, "job"))
    run_until(app, announced.at + timedelta(seconds=1))  # a later first run is no run here
    started = runs(app, "job")[before:]
    assert started, f"{cond!r} did not run at {announced.at}"
    assert started[0] == announced.at


def test_next_run_says_due_waiting_never_disabled_and_queued() -> None:
    app = simulated_app(START)
    app.task("daily", name="due", func=_nothing)
    app.task("after task 'due'", name="downstream", func=_nothing)
    app.task("false", name="manual", func=_nothing)
    app.task("daily", name="off", func=_nothing, disabled=True)
    app.task("is running", name="self_only", func=_nothing)
    control = app.control
    assert control.next_run("due") == NextRun("due", app.session.clock.now())
    waiting = control.next_run("downstream")
    assert waiting == NextRun("waiting", waits_for=("due",))
    assert str(waiting) == "waiting for task 'due'"
    assert control.next_run("manual").kind == "never"
    assert control.next_run("off").kind == "disabled"
    assert control.next_run("self_only").kind == "never"
    control.run("manual", x=1)
    assert control.next_run("manual").kind == "queued"
    with pytest.raises(TaskLookupError, match="known tasks"):
        control.next_run("nope")


def test_why_is_the_explain_tree_of_testing() -> None:
    app = simulated_app(START)
    app.task("daily between 10:00 and 12:00 & every 1 hour", name="job", func=_nothing)
    why = app.control.why("job")
    assert not why.due
    assert why.explanation == is_due(app, "job")
    assert [part.value for part in why.explanation.parts] == [False, True]
    assert why.explanation.parts[0].next_change == datetime.fromisoformat("2024-01-03 10:00+00:00")
    assert str(why).startswith("task 'job' is not due at 2024-01-03T07:13:21+00:00")
    assert "next run: 2024-01-03 10:00:00+00:00" in str(why)
    later = app.control.why("job", at=datetime.fromisoformat("2024-01-03 10:30"))
    assert later.due


@pytest.mark.parametrize(
    "at",
    [
        datetime.fromisoformat("0001-01-01 00:00+01:00"),
        datetime.fromisoformat("9999-12-30 00:00+00:00"),
        datetime.fromisoformat("9999-12-31 23:59:59"),
    ],
)
def test_why_and_next_run_refuse_an_instant_at_the_edge_of_the_calendar(at: datetime) -> None:
    # found by fuzzing: converting it, or the period's cycle before or after it, overflowed
    app = simulated_app(START)
    app.task("daily between 10:00 and 12:00", name="job", func=_nothing)
    with pytest.raises(ValueError, match="out of range"):
        app.control.why("job", at)
    with pytest.raises(ValueError, match="out of range"):
        app.control.next_run("job", at)
    # a year inside datetime's range is still answered
    assert app.control.why("job", datetime.fromisoformat("9998-12-30 11:00+00:00")).due


def test_upcoming_is_what_the_scheduler_then_does() -> None:
    app = simulated_app(START)
    app.task("daily after 08:00", name="extract", func=_nothing)
    app.task("after task 'extract'", name="load", func=_nothing)
    app.task("every 3 hours", name="ping", func=_nothing)
    app.task("cron 30 */4 * * *", name="cron", func=_nothing)
    app.task("false", name="manual", func=_nothing)
    upcoming = app.control.upcoming(hours=30)
    assert upcoming.complete
    only = app.control.upcoming("load", hours=30, limit=1)
    assert [r.task for r in only.runs] == ["load"]
    assert not only.complete  # cut at the limit
    assert app.session.history.of("extract").last("run") is None  # the copy ran, not the app
    run_until(app, upcoming.end)
    actual = sorted(
        (t, name) for name in ("extract", "load", "ping", "cron") for t in runs(app, name)
    )
    assert [(r.at, r.task) for r in upcoming.runs] == actual


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"until": datetime.max}, "until: 9999-12-31T23:59:59.999999\\+00:00 is out of range"),
        ({"until": datetime.fromisoformat("9999-06-01 00:00+00:00")}, "until: .* out of range"),
        ({"hours": 1e9}, "hours=1e\\+09 reaches past 9998-12-31"),
        ({"hours": float("inf")}, "hours=inf reaches past"),
        ({"hours": float("nan")}, "hours must be more than 0, got nan"),
        ({"hours": -5.0}, "hours must be more than 0, got -5.0"),
    ],
)
def test_upcoming_refuses_a_horizon_beyond_the_instants_it_can_plan(
    kwargs: dict[str, Any], message: str
) -> None:
    # Found by fuzzing the horizon: until=datetime.max crashed the simulated copy's loop
    # ("year 10000 is out of range") and hours=1e9 raised OverflowError.
    app = simulated_app("9996-02-28 23:00")
    app.task("daily", name="job", func=_nothing)
    with pytest.raises(ValueError, match=message):
        app.control.upcoming(**kwargs)
    # the last day it can plan is still answered
    upcoming = app.control.upcoming(
        "job", until=datetime.fromisoformat("9998-12-31 00:00"), limit=2000
    )
    assert upcoming.complete
    assert upcoming.runs[-1].at == datetime.fromisoformat("9998-12-30 00:00+00:00")
    assert len(upcoming.runs) == 1037  # 9996-02-28 23:00, then each day from 02-29 to 9998-12-30


@pytest.mark.parametrize("hours", [1.4e-45, 1e-12, 2.7e-10])
def test_upcoming_over_a_horizon_under_a_microsecond_answers_the_run_due_now(hours: float) -> None:
    # Found by schemathesis (tests/test_http.py, /upcoming?hours=1.4e-45): a positive horizon
    # under a microsecond ended "now" (the instants' resolution), so it was refused as ending
    # before now (HTTP 422 for a value the document allows). It is one microsecond.
    app = simulated_app(START)
    app.task("daily", name="job", func=_nothing)
    upcoming = app.control.upcoming(hours=hours)
    assert upcoming.end - upcoming.start == timedelta(microseconds=1)
    assert [(r.task, r.at) for r in upcoming.runs] == [("job", upcoming.start)]
    assert upcoming.complete


def test_upcoming_stops_the_simulation_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by the dashboard's timeline: the copy ran the whole horizon (or its time budget)
    # and only then cut the list, so a busy schedule took the full budget every time. With no
    # budget and a horizon of years of every-second runs, only stopping at the limit ends it.
    import skylaunch.control

    monkeypatch.setattr(skylaunch.control, "_SIMULATION_BUDGET_S", 3600.0)
    app = simulated_app(START)
    app.task("every 1 second", name="tick", func=_nothing)
    app.task("daily", name="daily", func=_nothing)
    upcoming = app.control.upcoming("tick", hours=24 * 365 * 5, limit=3)
    assert [r.at - upcoming.start for r in upcoming.runs] == [
        timedelta(0),
        timedelta(seconds=1),
        timedelta(seconds=2),
    ]
    assert not upcoming.complete


def test_upcoming_assumes_a_running_run_succeeds_now() -> None:
    app = simulated_app(START)
    app.task("after task 'extract'", name="load", func=_nothing)
    app.task("false", name="extract", func=_nothing)
    seed(app, "extract", [("2024-01-03 07:00", "run")])
    upcoming = app.control.upcoming(hours=1)
    assert [(r.task, r.at.isoformat()) for r in upcoming.runs] == [
        ("load", "2024-01-03T07:13:21+00:00")
    ]
    with pytest.raises(ValueError, match="before now"):
        app.control.upcoming(until=datetime.fromisoformat("2024-01-01 00:00"))


def test_tasks_show_status_last_run_and_outcome() -> None:
    app = simulated_app(START)
    app.task("daily", name="a", func=_nothing, execution="thread")
    app.task("false", name="b", func=_nothing)
    seed(app, "a", [("2024-01-03 07:00", "run"), ("2024-01-03 07:01", "fail")])
    seed(app, "b", [("2024-01-03 07:05", "run")])
    state = app.control.state()
    a, b = state.tasks
    assert (a.name, a.condition, a.execution, a.status) == ("a", "daily", "thread", "idle")
    assert a.last is not None
    assert a.last.outcome == "fail"
    assert a.last.ended == datetime.fromisoformat("2024-01-03 07:01+00:00")
    assert b.status == "running"
    assert b.running == 1
    assert b.last is not None
    assert b.last.outcome is None
    app.control.disable("a")
    assert app.control.task("a").status == "disabled"
    app.control.enable("a")
    app.control.pause()
    assert app.control.task("a").status == "paused"
    app.control.resume()
    assert app.control.task("a").status == "idle"
    document = as_json(state)
    assert document["tasks"][0]["last"]["ended"] == "2024-01-03T07:01:00+00:00"


def test_inspection_reads_the_stored_history_without_logging_crashes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"

    def make() -> App:
        repo = SQLRepo(model=TaskRunRecord, conn_string=url, table="t", if_missing="create")
        app = App(logger_repo=repo, execution="thread")
        app.task("daily", name="report", func=_nothing)
        app.task("false", name="stuck", func=_nothing)
        return app

    first = make()
    seed(first, "report", [("2024-01-03 07:00", "run"), ("2024-01-03 07:01", "success")])
    seed(first, "stuck", [("2024-01-03 07:02", "run")])
    assert first.session.flush_logs(5)

    second = make()  # another process, not running its scheduler
    report, stuck = Controller(second.session).tasks()
    assert report.last is not None
    assert report.last.outcome == "success"
    assert stuck.status == "running"  # maybe still running elsewhere: not called a crash
    rows = second.session.repo.filter_by(task_name="stuck").all()
    assert [row.action for row in rows] == ["run"]
    for app in (first, second):
        app.session.repo.engine.dispose()


def test_control_from_many_threads_while_the_scheduler_runs_in_another() -> None:
    app = App(execution="thread")
    seen: list[int] = []
    lock = threading.Lock()

    @app.task("false")
    def manual(n: int = 0) -> None:
        with lock:
            seen.append(n)

    app.task("every 1 hour", name="hourly", func=_nothing)
    app.start()
    try:
        control = app.control
        assert not control.on_loop_thread()
        with ThreadPoolExecutor(8) as pool:
            states = list(pool.map(lambda _: control.tasks(), range(40)))
            list(pool.map(lambda n: control.run("manual", n=n), range(20)))
        assert all(len(s) == 2 for s in states)
        for _ in range(500):
            if len(seen) == 20 and not app.session.history.of("manual").running:
                break
            threading.Event().wait(0.01)
        assert sorted(seen) == list(range(20))
        control.pause()
        assert control.state().paused
        assert control.task("hourly").status in ("paused", "running")
        control.resume()
        assert not control.state().paused
        assert control.why("manual").explanation.condition == "false"
        upcoming = control.upcoming(hours=3)
        assert [r.task for r in upcoming.runs] == ["hourly"] * 3
    finally:
        assert app.stop(timeout=5)


def _nothing() -> None:
    """A task body that does nothing."""


@pytest.mark.timeout(30)
def test_a_call_the_loop_began_is_answered_not_timed_out() -> None:
    # Found by a concurrency probe: a call the loop began just before the deadline raised
    # ControlTimeout while it went on and acted, so a caller that tried again ran it twice.
    app = App(execution="thread")
    app.task("every 1 hour", name="hourly", func=_nothing)
    app.start()
    try:
        control = app.control
        control.timeout = 0.2
        acted: list[str] = []

        def slow() -> str:  # begins at once, ends after the deadline
            time.sleep(0.35)
            acted.append("done")
            return "answer"

        assert control.call(slow) == "answer"
        assert acted == ["done"]

        def stuck() -> str:
            time.sleep(0.6)  # longer than the deadline and the wait after it
            return "late"

        with pytest.raises(control_module.ControlTimeout, match="began the call"):
            control.call(stuck)
    finally:
        assert app.stop(timeout=5)


def test_one_upcoming_simulation_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """An open /upcoming called in a loop costs one core at most: others wait, then give up."""
    from skylaunch import control

    app = simulated_app(START)
    app.task("every 1 hour", name="job", func=_nothing)
    monkeypatch.setattr(control, "_SIMULATION_BUDGET_S", 0.01)
    with control._SIMULATING, pytest.raises(control.ControlTimeout, match="still running"):
        app.control.upcoming(hours=1)
    monkeypatch.undo()
    assert [r.task for r in app.control.upcoming(hours=2).runs] == ["job", "job"]
