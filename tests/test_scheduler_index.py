"""The scheduler's index of what each task watches (``_watching``, ``_watchers``) and its plan.

``daily``, ``every`` and their kin watch their own task: the index takes that from the class
(``conds.base._WATCH_OWN_TASK``) without asking ``watches``; with a ``task`` of their own, or
in any other class, ``watches`` is asked. Either way the index must say what ``watches`` says.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from skylaunch import App
from skylaunch.conds import after_success, daily, every, true
from skylaunch.conds.base import _WATCH_OWN_TASK, Condition
from skylaunch.conds.timing import Every, TaskExecutable
from skylaunch.testing import run_until, runs, simulated_app


def noop() -> None:
    pass


CONDS: list[Condition] = [
    daily,
    daily.at("03:00"),
    every("1 hour"),
    daily._replace(task="other"),
    every("1 hour")._replace(task="other"),
    daily._replace(task="job"),
    daily & after_success("other"),
    after_success("other"),
    true,
]


def test_the_classes_taken_on_trust_are_the_ones_that_watch_their_task() -> None:
    assert {TaskExecutable, Every} <= _WATCH_OWN_TASK


@pytest.mark.parametrize("cond", CONDS, ids=repr)
def test_the_index_says_what_watches_says(cond: Condition) -> None:
    app = App(config={"execution": "main"})
    app.task(cond, name="job")(noop)
    scheduler = app.session.scheduler
    others = set(cond.watches("job")) - {"job"}
    assert set(scheduler._watching["job"]) == others
    assert {name for name, watching in scheduler._watchers.items() if "job" in watching} == others


def test_tasks_planned_at_one_instant_run_there_and_a_replanned_one_at_its_new_instant() -> None:
    # the first pass plans a, b and c at 10:00; at 05:00 c is planned anew at 11:00, its
    # 10:00 entry left stale: skipped at 10:00, c not run twice, not lost
    app = simulated_app("2024-01-01 00:00")
    for name in ("a", "b", "c"):
        app.task(daily.at("10:00"), name=name)(noop)

    @app.task(daily.at("05:00"), name="changer")
    def changer() -> None:
        app.session["c"].start_cond = daily.at("11:00")

    run_until(app, "2024-01-01 12:00")
    assert [hm(runs(app, name)) for name in ("a", "b", "c")] == [["10:00"], ["10:00"], ["11:00"]]


def test_the_next_wake_up_skips_an_instant_whose_tasks_were_all_planned_anew() -> None:
    # within one run: a and b, planned at 10:00, are planned anew at 11:00 at 05:00; at 06:00
    # the scheduler's next wake-up is 11:00, not the instant only stale entries are left at
    app = simulated_app("2024-01-01 00:00")
    for name in ("a", "b"):
        app.task(daily.at("10:00"), name=name)(noop)
    wakes: list[datetime | None] = []

    @app.task(daily.at("05:00"), name="changer")
    def changer() -> None:
        for name in ("a", "b"):
            app.session[name].start_cond = daily.at("11:00")

    @app.task(daily.at("06:00"), name="probe")
    def probe() -> None:
        wakes.append(app.session.scheduler._deadline(app.session.clock.now(), None))

    run_until(app, "2024-01-01 12:00")
    assert [None if w is None else w.strftime("%H:%M") for w in wakes] == ["11:00"]
    assert [hm(runs(app, name)) for name in ("a", "b")] == [["11:00"], ["11:00"]]


def hm(values: list[datetime]) -> list[str]:
    return [v.strftime("%H:%M") for v in values]
