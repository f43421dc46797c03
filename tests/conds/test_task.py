from __future__ import annotations

from collections.abc import Callable

import pytest

from skylaunch.conds import (
    DependSuccess,
    Every,
    Retry,
    TaskExecutable,
    TaskRunnable,
    TaskRunning,
    TaskStarted,
    after_all_success,
    after_any_fail,
    after_fail,
    after_finish,
    after_success,
    daily,
    retry,
    started,
)
from skylaunch.conds.base import Condition
from skylaunch.testing import seed, simulated_app


def value(
    cond: Condition, own: list[tuple[str, str]], upstream: list[tuple[str, str]] = ()
) -> bool:  # type: ignore[assignment]
    app = simulated_app("2024-01-02 00:00")

    @app.task()
    def up() -> None: ...

    @app.task(cond)
    def down() -> None: ...

    seed(app, "up", upstream)  # type: ignore[arg-type]
    seed(app, "down", own)  # type: ignore[arg-type]
    return cond.observe(task="down", session=app.session)


S = [("2024-01-01 10:00", "run"), ("2024-01-01 10:01", "success")]
F = [("2024-01-01 10:00", "run"), ("2024-01-01 10:01", "fail")]


def test_after_success_runs_once_per_upstream_success() -> None:
    assert value(after_success("up"), [], []) is False
    assert value(after_success("up"), [], S) is True
    assert value(after_success("up"), [("2024-01-01 11:00", "run")], S) is False
    assert value(after_success("up"), [("2024-01-01 09:00", "run")], S) is True
    assert value(after_success("up"), [], F) is False


def test_after_fail_and_finish() -> None:
    assert value(after_fail("up"), [], F) is True
    assert value(after_fail("up"), [], S) is False
    assert value(after_finish("up"), [], F) is True
    assert value(after_finish("up"), [], S) is True


def test_after_all_and_any() -> None:
    assert str(after_all_success("a", "b")) == "after task 'a' & after task 'b'"
    assert str(after_any_fail("a", "b")) == "after task 'a' failed | after task 'b' failed"


def test_dependencies_watch_both_tasks() -> None:
    assert after_success("up").watches("down") == frozenset({"up", "down"})


FAILS = [
    ("2024-01-01 10:00", "run"),
    ("2024-01-01 10:01", "fail"),
    ("2024-01-01 10:02", "run"),
    ("2024-01-01 10:03", "fail"),
]


@pytest.mark.parametrize(
    ("cond", "history", "expected"),
    [
        (retry(3), [], False),
        (retry(3), S, False),
        (retry(3), F, True),
        (retry(1), FAILS, False),  # two fails in a row > 1
        (retry(2), FAILS, True),
        (retry(), FAILS * 1, True),
        (retry(0), F, False),
        # a success resets the row
        (
            retry(1),
            [
                *FAILS,
                ("2024-01-01 11:00", "run"),
                ("2024-01-01 11:01", "success"),
                ("2024-01-01 12:00", "run"),
                ("2024-01-01 12:01", "fail"),
            ],
            True,
        ),
        # a crash resets it too
        (
            retry(1),
            [
                *FAILS,
                ("2024-01-01 11:00", "run"),
                ("2024-01-01 11:01", "crash"),
                ("2024-01-01 12:00", "run"),
                ("2024-01-01 12:01", "fail"),
            ],
            True,
        ),
        # records at one instant count in the order they were logged: the failure logged
        # after the terminate is in the row (it answered "retry")
        (
            retry(1),
            [
                ("2024-01-01 10:00", "terminate"),
                ("2024-01-01 10:00", "run"),
                ("2024-01-01 10:00", "fail"),
                ("2024-01-01 10:01", "run"),
                ("2024-01-01 10:01", "fail"),
            ],
            False,
        ),
        # while running, the latest action is "run": no retry
        (retry(3), [*F, ("2024-01-01 11:00", "run")], False),
    ],
)
def test_retry(cond: Condition, history: list[tuple[str, str]], expected: bool) -> None:
    assert value(cond, history) is expected


def test_retry_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="retry"):
        retry(-2)


# --- an empty task name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: TaskRunning(task=""),
        lambda: TaskStarted(task=""),
        lambda: started(task=""),
        lambda: DependSuccess(depend_task=""),
        lambda: DependSuccess(depend_task="a", task=""),
        lambda: Retry(1, task=""),
        lambda: TaskExecutable(daily.period, task=""),
        lambda: TaskRunnable(daily.period, task=""),
        lambda: Every("1 hour", task=""),
    ],
    ids=[
        "TaskRunning",
        "TaskStarted",
        "started()",
        "DependSuccess.depend_task",
        "DependSuccess.task",
        "Retry",
        "TaskExecutable",
        "TaskRunnable",
        "Every",
    ],
)
def test_an_empty_task_name_is_refused_not_read_as_the_own_task(make: Callable[[], object]) -> None:
    # found by fuzzing the parser: '' was falsy, so `self.task or own` took the condition's own
    # task, and str() printed the condition without a name (the parser refuses `task ''` too)
    with pytest.raises(ValueError, match="task name is not empty"):
        make()
