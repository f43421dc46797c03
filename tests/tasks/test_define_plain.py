"""``define_plain``: ``@app.task(cond, name=...)``'s one-call definition of a plain FuncTask.

It must make the very task ``FuncTask(func, session=..., start_cond=..., name=...)`` makes
(attribute for attribute, in the same order), index and register it the same way, and leave
every other case, untouched, to ``FuncTask`` (which then gives its own errors and warnings).
"""

from __future__ import annotations

import functools
import gc
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from skylaunch import App
from skylaunch._tasknames import task_name
from skylaunch.args import Return
from skylaunch.conds import after_success, daily, every, true
from skylaunch.conds.base import Condition
from skylaunch.exc import TaskDefinitionError
from skylaunch.session import Session
from skylaunch.tasks import FuncTask
from skylaunch.tasks.func import define_plain
from tests.execution._own_thread import OwnThreadExecutor


def noop() -> None:
    pass


def documented() -> None:
    """Makes a report.

    Twice indented.
    """


_RETURN_X = Return("x")


def takes(a: int, b: int = 2, *, c: Any = _RETURN_X) -> None:
    pass


def takes_any(**kwargs: Any) -> None:
    pass


async def coro() -> None:
    pass


FUNCS: list[Callable[..., Any]] = [noop, documented, takes, takes_any, coro, lambda: None]
CONDS: list[Condition | None] = [None, daily.at("03:00"), every("1 hour"), true, after_success("x")]


def _warm(session: Session, cond: Condition | None) -> None:
    """A first task with a condition of this class: FuncTask checks the class once for all."""
    FuncTask(noop, session=session, start_cond=cond, name="warm-up")


def _both(
    func: Callable[..., Any], cond: Condition | None, name: str | None, **config: Any
) -> tuple[FuncTask, FuncTask]:
    """The task define_plain makes and the one FuncTask makes, each in a session of its own."""
    fast_app, slow_app = App(config=config), App(config=config)
    _warm(fast_app.session, cond)
    _warm(slow_app.session, cond)
    assert define_plain(fast_app.session, func, cond, name)
    slow = FuncTask(func, session=slow_app.session, start_cond=cond, name=name)
    fast = fast_app.session[slow.name]
    assert isinstance(fast, FuncTask)
    return fast, slow


def _same_state(fast: FuncTask, slow: FuncTask) -> None:
    fast_vars, slow_vars = vars(fast), vars(slow)
    assert list(fast_vars) == list(slow_vars)  # the same keys, in the same order
    for key, value in slow_vars.items():
        if key in ("session", "_runtime"):
            assert type(fast_vars[key]) is type(value)
        else:
            assert fast_vars[key] == value, key
            assert type(fast_vars[key]) is type(value), key
    assert fast.model_dump() == slow.model_dump()
    fast_sched, slow_sched = fast.session.scheduler, slow.session.scheduler
    for index in ("_watching", "_watchers"):
        assert getattr(fast_sched, index) == getattr(slow_sched, index)
    for index in ("_every_pass", "_unsure", "_end_conds", "_counting_cycles", "_dirty"):
        assert getattr(fast_sched, index) == getattr(slow_sched, index), index
    assert fast.session.registry.names() == slow.session.registry.names()


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("cond", CONDS, ids=str)
def test_the_same_task_as_functask(func: Callable[..., Any], cond: Condition | None) -> None:
    for name in ("job", None):
        _same_state(*_both(func, cond, name, execution="main"))


@pytest.mark.parametrize("execution", ["main", "async", "thread"])
@pytest.mark.parametrize("priority", [0, 5, -3])
def test_the_same_task_under_other_settings(execution: str, priority: int) -> None:
    for func in (noop, coro):
        _same_state(*_both(func, daily, "job", execution=execution, task_priority=priority))


def test_the_same_names_for_conditions_and_arguments() -> None:
    app = App(config={"execution": "main"})
    _warm(app.session, daily)

    def job() -> None:
        pass

    def other() -> None:
        pass

    assert define_plain(app.session, job, daily, "first")
    assert task_name(job) == "first"  # after_success(job) names the task
    assert define_plain(app.session, job, daily, "second")
    with pytest.raises(TypeError, match="several tasks"):
        task_name(job)

    assert define_plain(app.session, other, daily, None)
    assert task_name(other) == "other"


def test_a_function_that_is_gone_leaves_no_name_to_the_next() -> None:
    app = App(config={"execution": "main"})
    _warm(app.session, daily)

    def make() -> Callable[[], None]:
        def job() -> None:
            pass

        return job

    first = make()
    assert define_plain(app.session, first, daily, "a")
    del first
    app.session.registry.remove("a")  # the task held the function
    gc.collect()
    second = make()  # may take the first one's address
    assert define_plain(app.session, second, daily, "b")
    assert task_name(second) == "b"


@pytest.mark.parametrize("policy", ["replace", "ignore", "rename"])
def test_a_taken_name_follows_the_policy_as_functask(policy: str) -> None:
    apps = [App(config={"execution": "main", "task_pre_exist": policy}) for _ in range(2)]
    for app in apps:
        _warm(app.session, daily)
        FuncTask(noop, session=app.session, start_cond=daily, name="job")

    def job2() -> None:
        pass

    assert define_plain(apps[0].session, job2, daily, "job")
    FuncTask(job2, session=apps[1].session, start_cond=daily, name="job")
    fast, slow = (app.session.registry for app in apps)
    assert fast.names() == slow.names()
    for name in slow.names():
        _same_state(fast[name], slow[name])  # type: ignore[arg-type]
    if policy != "ignore":
        assert task_name(job2) == slow.names()[-1]


def test_a_taken_name_raises_as_functask() -> None:
    app = App(config={"execution": "main", "task_pre_exist": "raise"})
    _warm(app.session, daily)
    define_plain(app.session, noop, daily, "job")
    with pytest.raises(TaskDefinitionError) as fast:
        define_plain(app.session, noop, daily, "job")
    with pytest.raises(TaskDefinitionError) as slow:
        FuncTask(noop, session=app.session, start_cond=daily, name="job")
    assert str(fast.value) == str(slow.value)


class _Fresh(Condition):
    """A condition class no task has taken yet."""

    def is_true(self, ctx: Any) -> bool:
        return False

    def __str__(self) -> str:
        return "fresh"


def _wrapped() -> Callable[[], None]:
    @functools.wraps(noop)
    def wrapper() -> None:
        pass

    return wrapper


def _marked() -> Callable[[], None]:
    def job() -> None:
        pass

    job.custom = 1  # type: ignore[attr-defined]
    return job


NOT_PLAIN: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("a partial", lambda: {"func": functools.partial(noop)}),
    ("a callable object", lambda: {"func": _Fresh()}),
    ("a wrapped function", lambda: {"func": _wrapped()}),
    ("a function with attributes", lambda: {"func": _marked()}),
    ("an empty name", lambda: {"name": ""}),
    ("a blank name", lambda: {"name": "  "}),
    ("a name that is no string", lambda: {"name": 5}),
    ("a condition string", lambda: {"start_cond": "daily"}),
    ("a condition of a new class", lambda: {"start_cond": _Fresh()}),
    ("no condition at all", lambda: {"start_cond": 5}),
    ("an execution in another process", lambda: {"config": {"execution": "process"}}),
    ("a task_init hook", lambda: {"hook": True}),
]


@pytest.mark.parametrize("case", [make for _, make in NOT_PLAIN], ids=[n for n, _ in NOT_PLAIN])
def test_anything_else_is_left_to_functask(case: Callable[[], dict[str, Any]]) -> None:
    given = {"func": noop, "start_cond": daily, "name": "job", **case()}
    app = App(config=given.get("config", {"execution": "main"}))
    _warm(App(config={"execution": "main"}).session, daily)  # the class is known
    if given.get("hook"):
        app.session.hooks.task_init.append(lambda: None)
    scheduler = app.session.scheduler
    before = (dict(scheduler._watching), set(scheduler._dirty))
    assert not define_plain(app.session, given["func"], given["start_cond"], given["name"])
    assert len(app.session.registry) == 0
    assert (scheduler._watching, scheduler._dirty) == before


@pytest.mark.parametrize("name", ["", "  ", 5])
def test_app_task_gives_funcktasks_errors_for_a_bad_name(name: Any) -> None:
    app = App(config={"execution": "main"})
    with pytest.raises(TaskDefinitionError) as through_app:
        app.task(daily, name=name)(noop)
    with pytest.raises(TaskDefinitionError) as direct:
        FuncTask(noop, session=app.session, start_cond=daily, name=name)
    assert str(through_app.value) == str(direct.value)


def test_app_task_warns_as_funcktask_for_a_lambda_to_pickle() -> None:
    messages = []
    for make in (
        lambda app, func: app.task(daily, name="job")(func),
        lambda app, func: FuncTask(func, session=app.session, start_cond=daily, name="job"),
    ):
        app = App(config={"execution": "process"})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            make(app, lambda: None)
        assert "job" in app.session
        messages.append([(w.category, str(w.message), w.filename) for w in caught])
    assert messages[0] == messages[1]
    assert len(messages[0]) == 1
    assert "is a lambda or a function local to another" in messages[0][0][1]


def test_app_task_defines_plain_tasks_and_others_alike() -> None:
    app = App(config={"execution": "main"})
    app.task(daily.at("03:00"), name="plain")(noop)
    app.task(daily.at("03:00"), name="described", description="mine")(noop)
    app.task("daily", name="parsed")(noop)
    assert app.session["plain"].start_cond is app.session["described"].start_cond
    assert app.session["described"].description == "mine"
    assert [task.name for task in app.session.registry] == ["plain", "described", "parsed"]


def test_a_coroutine_is_checked_for_the_async_executor_it_runs_on() -> None:
    """Under execution="main" a coroutine function runs as "async": a user's "async" executor
    outside the process makes its definition FuncTask's, which checks the pickling."""

    class Remote(OwnThreadExecutor):
        shares_process = False

    app = App(config={"execution": "main"}, executors={"async": Remote()})
    _warm(App(config={"execution": "main"}).session, daily)

    async def local() -> None:
        pass

    assert not define_plain(app.session, coro, daily, "job")
    assert len(app.session.registry) == 0
    with pytest.warns(UserWarning, match="cannot be pickled to run with execution='async'"):
        app.task(daily, name="local")(local)
    assert "local" in app.session
