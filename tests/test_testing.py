"""skylaunch.testing is public API: each helper does what docs/testing.md says."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from skylaunch import App
from skylaunch.conds import (
    after_success,
    daily,
    every,
    retry,
    scheduler_cycles,
    started,
    time_of_day,
)
from skylaunch.testing import (
    Stalled,
    explain,
    is_due,
    run_for,
    run_until,
    runs,
    seed,
    simulated_app,
    stalled,
)


def test_simulated_app_defaults() -> None:
    app = simulated_app("2024-05-01 08:00", tz="Europe/Helsinki")
    session = app.session
    assert session.config.execution == "main"
    assert session.config.timezone == ZoneInfo("Europe/Helsinki")
    assert session.clock.now() == datetime(2024, 5, 1, 8, 0, tzinfo=ZoneInfo("Europe/Helsinki"))


def test_run_until_and_run_for_carry_on_from_each_other() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task("daily at 10:00")
    def report() -> None: ...

    run_until(app, "2024-01-02 00:00")
    assert [t.isoformat() for t in runs(app, "report")] == ["2024-01-01T10:00:00+00:00"]
    run_for(app, "1 day")
    assert len(runs(app, "report")) == 2
    assert app.session.clock.now().isoformat() == "2024-01-03T00:00:00+00:00"


def test_simulated_time_ends_where_the_planning_can_look() -> None:
    """A simulated run up to 9998-12-31 works for every period; one that would go past it is
    refused with a clear error before it starts, not stopped by an overflow in a condition
    (a daily task there failed with ConditionCheckError: OverflowError; run_for raised
    "year 10000 is out of range" from datetime)."""
    app = simulated_app("9998-12-01 00:00")

    @app.task("daily")
    def day() -> None: ...

    @app.task("monthly")
    def month() -> None: ...

    with pytest.raises(ValueError, match=r"run_for\('40 days'\) ends: 9999-01-10.* out of range"):
        run_for(app, "40 days")
    with pytest.raises(
        ValueError, match=r"run_for\('400 days'\) ends: 9999-12-31T23.* out of range"
    ):
        run_for(app, "400 days")  # past datetime.max itself
    with pytest.raises(ValueError, match=r"run_until's end: 9999-01-01.* out of range"):
        run_until(app, "9999-01-01 00:00")
    assert runs(app, "day") == []  # nothing ran: refused before the start
    run_until(app, "9998-12-31 00:00")  # the end itself is not run (as with any end time)
    assert len(runs(app, "day")) == 30
    assert [t.day for t in runs(app, "month")] == [1]


def test_a_simulated_run_that_would_sleep_past_the_last_plannable_instant_stops_clearly() -> None:
    """No end time: the scheduler runs what is due up to 9998-12-31, then its sleep to the
    next day is refused (a crash that names the limit) rather than overflowing."""
    app = simulated_app("9998-12-30 12:00")

    @app.task("daily")
    def day() -> None: ...

    with pytest.raises(RuntimeError, match=r"sleep until 9999-01-01.* past 9998-12-31"):
        app.session.start()
    assert [t.isoformat() for t in runs(app, "day")] == [
        "9998-12-30T12:00:00+00:00",
        "9998-12-31T00:00:00+00:00",
    ]


def test_runs_of_other_actions_and_bad_action() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task("daily")
    def broken() -> None:
        raise ValueError("no")

    run_for(app, "1 minute")
    assert len(runs(app, "broken", "fail")) == 1
    assert runs(app, "broken", "success") == []
    with pytest.raises(ValueError, match="action must be one of"):
        runs(app, "broken", "finish")  # type: ignore[arg-type]


def test_seed_goes_to_history_and_repo() -> None:
    app = simulated_app("2024-01-02 00:00")

    @app.task("daily between 10:00 and 12:00")
    def report() -> None: ...

    seed(app, "report", [("2024-01-01 10:00", "run"), ("2024-01-01 10:05", "success")])
    assert [t.isoformat() for t in runs(app, "report")] == ["2024-01-01T10:00:00+00:00"]
    stored = app.session["report"].logger.filter_by(action="success").all()
    assert len(stored) == 1
    assert stored[0].run_id == app.session["report"].logger.filter_by(action="run").all()[0].run_id
    with pytest.raises(ValueError, match="action must be one of"):
        seed(app, "report", [("2024-01-01 11:00", "started")])  # type: ignore[list-item]


def test_is_due_explains_each_part() -> None:
    app = simulated_app("2024-01-01 09:00")

    @app.task(daily & time_of_day.between("10:00", "12:00"))
    def report() -> None: ...

    early = is_due(app, "report")
    assert not early
    assert str(early).splitlines() == [
        "FALSE daily & time of day between 10:00 and 12:00  (may change at 2024-01-01T10:00:00+00:00)",
        "  TRUE  daily",
        "  FALSE time of day between 10:00 and 12:00  (may change at 2024-01-01T10:00:00+00:00)",
    ]
    assert is_due(app, "report", "2024-01-01 10:30")
    seed(app, "report", [("2024-01-01 10:00", "run"), ("2024-01-01 10:01", "success")])
    later = is_due(app, "report", "2024-01-01 10:30")
    assert not later
    assert [part.value for part in later.parts] == [False, True]


def test_explain_a_single_condition() -> None:
    from skylaunch.conds.base import Context

    app = simulated_app("2024-01-01 11:00")
    ctx = Context(app.session.clock.now(), app.session)
    result = explain(time_of_day.between("10:00", "12:00"), ctx)
    assert result.value is True
    assert result.parts == ()
    assert result.next_change == datetime.fromisoformat("2024-01-01T12:00:00+00:00")


def test_helpers_refuse_a_real_clock() -> None:
    app = App()
    with pytest.raises(TypeError, match="SimulatedClock"):
        run_for(app, "1 hour")


def test_evaluate_answers_without_defining_a_task() -> None:
    from skylaunch.testing import evaluate

    done = [("2024-01-02 10:00", "run"), ("2024-01-02 10:05", "success")]
    assert not evaluate("daily after 09:00", "2024-01-02 11:00", {"task": done})
    assert evaluate("daily after 09:00", "2024-01-03 09:30", {"task": done})
    why = evaluate(daily & after_success("load"), "2024-01-02 12:00", {"load": done})
    assert why.value is True
    assert [part.value for part in why.parts] == [True, True]
    assert evaluate(retry(1), "2024-01-02 12:00", {"job": done}, task="job").value is False
    assert "TRUE" in str(evaluate("true", "2024-01-01 00:00"))


def test_seed_keeps_the_given_order_run_ids_and_open_runs_across_calls() -> None:
    app = simulated_app("2024-01-02 00:00")

    @app.task()
    def job() -> None: ...

    seed(app, "job", [("2024-01-01 10:00", "run"), ("2024-01-01 10:00", "run")])
    assert app.session["job"].n_alive == 2  # two runs at one instant are two runs
    seed(app, "job", [("2024-01-01 10:05", "success"), ("2024-01-01 10:06", "fail", None)])
    assert app.session["job"].n_alive == 0  # ends pair with runs seeded by an earlier call
    seed(app, "job", [("2024-01-01 11:00", "run", "mine"), ("2024-01-01 11:01", "success", "mine")])
    assert app.session["job"].status == "success"
    with pytest.raises(ValueError, match="in the order they happened"):
        seed(app, "job", [("2024-01-01 12:00", "run"), ("2024-01-01 11:59", "success")])
    with pytest.raises(ValueError, match="seeded record"):
        seed(app, "job", [("2024-01-01 12:00",)])  # type: ignore[list-item]


def test_running_over_a_history_from_the_future_warns() -> None:
    app = simulated_app("2024-01-01 00:00")

    @app.task("daily")
    def job() -> None: ...

    seed(app, "job", [("2024-01-05 10:00", "run"), ("2024-01-05 10:01", "success")])
    with pytest.warns(UserWarning, match="later than the simulated clock"):
        run_for(app, "1 minute")


def test_explain_works_for_a_condition_without_a_string_form() -> None:
    from skylaunch.conds import ParamExists

    app = simulated_app("2024-01-01 00:00")
    cond = ParamExists(mode=1)

    @app.task(cond)
    def job() -> None: ...

    why = is_due(app, "job")
    assert "ParamExists" in why.condition


def test_stalled_lists_the_tasks_that_time_alone_will_not_start_again() -> None:
    app = simulated_app("2024-01-01 00:00")
    app.task(every("1 hour"), name="extract")(lambda: None)
    app.task(after_success("extract"), name="load")(lambda: None)
    app.task(~started, name="once")(lambda: None)  # runs once, then never again
    app.task(daily.at("10:00"), name="report")(lambda: None)
    app.task(name="by_hand")(lambda: None)  # condition false: run by hand only
    app.task(~started, name="off", disabled=True)(lambda: None)
    app.task(scheduler_cycles(more_than=10**9), name="passes")(lambda: None)
    run_for(app, "90 minutes")
    assert [len(runs(app, n)) for n in ("extract", "load", "once", "report")] == [2, 2, 1, 0]
    found = stalled(app)
    assert found == [
        Stalled("load", "after task 'extract'", ("extract",)),
        Stalled("once", "~(has started)", ()),
    ]
    assert str(found[0]) == "'load' (after task 'extract') waits for 'extract'"
    assert str(found[1]) == "'once' (~(has started)) waits for nothing"
    # at an instant where extract has run again, load is due: not stalled
    seed(app, "extract", [("2024-01-01 02:00", "run"), ("2024-01-01 02:00:01", "success")])
    assert [s.task for s in stalled(app, "2024-01-01 02:00:02")] == ["once"]
