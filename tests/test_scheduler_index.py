"""The scheduler's index of what each task watches (``_watching``, ``_watchers``).

``daily``, ``every`` and their kin watch their own task: the index takes that from the class
(``conds.base._WATCH_OWN_TASK``) without asking ``watches``; with a ``task`` of their own, or
in any other class, ``watches`` is asked. Either way the index must say what ``watches`` says.
"""

from __future__ import annotations

import pytest

from skylaunch import App
from skylaunch.conds import after_success, daily, every, true
from skylaunch.conds.base import _WATCH_OWN_TASK, Condition
from skylaunch.conds.timing import Every, TaskExecutable


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
