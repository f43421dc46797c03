"""One contract for every execution mode: the same scenarios, asserted on the logged records.

The scheduler runs for real (system clock, in a background thread) because threads and processes
run in real time; every wait is bounded and ends on an event (a record arriving), never on a
fixed sleep. After each test no child process and no task thread may be left.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from skylaunch import App
from skylaunch.args import FuncArg, Return
from skylaunch.conds import TaskStarted, after_success, true
from skylaunch.log.context import RunContextFilter
from tests.execution import _targets as t
from tests.execution._own_thread import OwnThreadExecutor

# "own-thread" is a user's executor (tests/execution/_own_thread.py) given to App(executors=...);
# "celery" sends runs to two real Celery workers (tests/execution/_celery_cluster.py)
MODES = ["main", "async", "thread", "process", "own-thread", "celery"]
BACKGROUND = ["async", "thread", "process", "own-thread", "celery"]  # can be timed out, terminated
WAIT_S = 15.0

_cluster: Any = None


@pytest.fixture(autouse=True)
def _celery_for_celery_mode(request: pytest.FixtureRequest) -> None:
    """A test in ``celery`` mode gets the session's Celery workers (skipped without services)."""
    global _cluster
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("mode") == "celery":
        _cluster = request.getfixturevalue("celery_cluster")


class Collector(logging.Handler):
    """Keeps every record that reaches the root logger and wakes waiters."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()

    def actions(self, task: str) -> list[str]:
        return [
            r.action  # type: ignore[attr-defined]
            for r in list(self.records)
            if getattr(r, "task_name", None) == task and hasattr(r, "action")
        ]

    def of(self, task: str, action: str) -> list[logging.LogRecord]:
        return [
            r
            for r in list(self.records)
            if getattr(r, "task_name", None) == task and getattr(r, "action", None) == action
        ]

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, WAIT_S):
                raise AssertionError(f"waited {WAIT_S} s for {what}; records: {self.records}")

    def wait_action(self, task: str, action: str, count: int = 1) -> None:
        self.wait(
            lambda: len(self.of(task, action)) >= count,
            f"{count} {action!r} of {task!r} (have {self.actions(task)})",
        )


@pytest.fixture
def records() -> Iterator[Collector]:
    collector = Collector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)


def task_threads() -> list[threading.Thread]:
    return [th for th in threading.enumerate() if th.name.startswith("skylaunch:")]


class Running:
    """A scheduler serving in a background thread for the length of a ``with`` block."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, name="test-scheduler")
        self.started = threading.Event()

    def _serve(self) -> None:
        self.app.session.hooks.startup.insert(0, self.started.set)
        try:
            self.app.session.start()
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Running:  # noqa: PYI034
        self.thread.start()
        assert self.started.wait(WAIT_S), "the scheduler did not start"
        return self

    def stop(self) -> None:
        self.app.session.shut_down()
        self.thread.join(WAIT_S + 10)
        assert not self.thread.is_alive(), "the scheduler did not stop"

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.stop()
        if self.error is not None:
            raise self.error
        # nothing left behind
        assert multiprocessing.active_children() == []
        leftover = [th for th in task_threads() if th.is_alive()]
        for th in leftover:
            th.join(2)
        assert [th.name for th in task_threads() if th.is_alive()] == []


def make_app(mode: str, **config: Any) -> App:
    executors: dict[str, Any] = {"own-thread": OwnThreadExecutor()}
    if mode == "celery":
        from skylaunch.execution.celery import CeleryExecutor
        from tests.execution._celery_app import app as celery_app

        executors["celery"] = CeleryExecutor(celery_app, queue=_cluster.queue)
    app = App(config={"execution": mode, "max_process_count": 2, **config}, executors=executors)
    assert app.session.executors.knows(mode)
    return app


@pytest.mark.parametrize("mode", MODES)
def test_success_with_parameters_and_return_piping(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.params(x=40)
    app.session.create_task(func=t.add, name="add")
    app.session.create_task(func=t.double, name="double", start_cond=after_success("add"))
    with Running(app):
        app.session["add"].run(y=2)
        records.wait_action("double", "success")
    assert records.actions("add") == ["run", "success"]
    assert records.actions("double") == ["run", "success"]
    assert app.session.returns == {"add": 42, "double": 84}
    # the user's own logging inside the task reached the parent's handlers (from the child too)
    user = [r for r in records.records if r.name == t.USER_LOGGER]
    assert [r.getMessage() for r in user] == ["adding 40 and 2"]
    run_ids = {r.run_id for r in records.of("add", "run") + records.of("add", "success")}  # type: ignore[attr-defined]
    assert len(run_ids) == 1


@pytest.mark.parametrize("mode", MODES)
def test_failure_logs_the_traceback(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.session.create_task(func=t.fail, name="fail")
    with Running(app):
        app.session["fail"].run()
        records.wait_action("fail", "fail")
    (record,) = records.of("fail", "fail")
    assert record.levelno == logging.ERROR
    assert "Traceback" in record.exc_text  # type: ignore[operator]
    assert "ValueError: boom in the task" in record.exc_text  # type: ignore[operator]
    assert "fail" not in app.session.returns


@pytest.mark.parametrize("mode", MODES)
def test_inaction(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.session.create_task(func=t.skip, name="skip")
    with Running(app):
        app.session["skip"].run()
        records.wait_action("skip", "inaction")
    assert records.actions("skip") == ["run", "inaction"]


@pytest.mark.parametrize("mode", BACKGROUND)
def test_timeout_terminates(mode: str, records: Collector) -> None:
    app = make_app(mode)
    func = t.wait_async if mode == "async" else t.wait_for_flag
    app.session.create_task(func=func, name="slow", timeout=0.2)
    with Running(app):
        app.session["slow"].run()
        records.wait_action("slow", "terminate")
    assert records.actions("slow") == ["run", "terminate"]
    assert records.of("slow", "terminate")[0].exc_text == "timeout"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["async", "thread"])  # the process path is the same as above
def test_config_timeout_is_the_default(mode: str, records: Collector) -> None:
    app = make_app(mode, timeout=0.2)
    app.session.create_task(func=t.wait_for_flag, name="slow")
    with Running(app):
        app.session["slow"].run()
        records.wait_action("slow", "terminate")
    assert records.actions("slow") == ["run", "terminate"]


@pytest.mark.parametrize("mode", BACKGROUND)
def test_terminate_from_another_thread(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.session.create_task(func=t.wait_for_flag, name="long")
    with Running(app):
        app.session["long"].run()
        records.wait_action("long", "run")
        app.session["long"].terminate()
        records.wait_action("long", "terminate")
    assert records.actions("long") == ["run", "terminate"]


@pytest.mark.parametrize("mode", BACKGROUND)
def test_multilaunch_runs_concurrently_with_own_run_ids(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.session.create_task(func=t.wait_for_flag, name="many", multilaunch=True)
    with Running(app):
        task = app.session["many"]
        task.run()
        task.run()
        records.wait_action("many", "run", 2)
        records.wait(lambda: task.n_alive == 2, "two runs alive at once")
        task.terminate()
        records.wait_action("many", "terminate", 2)
    run_ids = [r.run_id for r in records.of("many", "run")]  # type: ignore[attr-defined]
    assert len(set(run_ids)) == 2
    assert sorted(r.run_id for r in records.of("many", "terminate")) == sorted(run_ids)  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", BACKGROUND)
def test_without_multilaunch_runs_queue_up(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.session.create_task(func=t.short, name="once", parameters={"seconds": 0.05})
    with Running(app):
        task = app.session["once"]
        task.run()
        task.run()
        records.wait_action("once", "success", 2)
    assert records.actions("once") == ["run", "success", "run", "success"]


def test_max_process_count_caps_processes(records: Collector) -> None:
    app = make_app("process", max_process_count=1)
    app.session.create_task(func=t.short, name="a", parameters={"seconds": 0.05})
    app.session.create_task(func=t.short, name="b", parameters={"seconds": 0.05})
    with Running(app):
        app.session["a"].run()
        app.session["b"].run()
        records.wait(
            lambda: bool(records.of("a", "success") and records.of("b", "success")),
            "both to succeed",
        )
    order = [
        (r.task_name, r.action)  # type: ignore[attr-defined]
        for r in records.records
        if getattr(r, "action", None) in ("run", "success")
    ]
    # never two processes at once: each run ends before the next one starts
    assert order in (
        [("a", "run"), ("a", "success"), ("b", "run"), ("b", "success")],
        [("b", "run"), ("b", "success"), ("a", "run"), ("a", "success")],
    )


@pytest.mark.parametrize("mode", BACKGROUND)
def test_instant_shutdown_terminates_running_tasks(mode: str, records: Collector) -> None:
    app = make_app(mode, instant_shutdown=True)
    app.session.create_task(func=t.wait_for_flag, name="long")
    with Running(app) as running:
        app.session["long"].run()
        records.wait_action("long", "run")
        running.stop()
    assert records.actions("long") == ["run", "terminate"]


@pytest.mark.parametrize("mode", ["async", "thread", "process", "own-thread"])
def test_a_run_terminated_in_the_pass_that_launched_it_ends(mode: str, records: Collector) -> None:
    # The shut condition holds once the permanent task is launched: the shutdown terminates
    # a run that may not have taken its first step yet (an asyncio task cancelled before it
    # started never ran its body, and its end was never reported: the shutdown waited for ever).
    app = make_app(mode)
    app.session.create_task(func=t.wait_for_flag, name="forever", start_cond=true, permanent=True)
    app.session.config.shut_cond = TaskStarted(task="forever") >= 1
    with Running(app) as running:
        running.thread.join(WAIT_S)
        assert not running.thread.is_alive(), "the shutdown waited for a run that never ended"
    assert records.actions("forever") == ["run", "terminate"]


@pytest.mark.parametrize("mode", BACKGROUND)
def test_shutdown_lets_running_tasks_finish(mode: str, records: Collector) -> None:
    app = make_app(mode, instant_shutdown=False)
    app.session.create_task(func=t.short, name="work", parameters={"seconds": 0.3})
    with Running(app) as running:
        app.session["work"].run()
        records.wait_action("work", "run")
        running.stop()
    assert records.actions("work") == ["run", "success"]
    assert app.session.returns["work"] == "finished"


@pytest.mark.parametrize("mode", BACKGROUND)
def test_shutdown_without_instant_still_obeys_the_timeout(mode: str, records: Collector) -> None:
    app = make_app(mode, instant_shutdown=False)
    app.session.create_task(func=t.wait_for_flag, name="long", timeout=0.3)
    with Running(app) as running:
        app.session["long"].run()
        records.wait_action("long", "run")
        running.stop()
    assert records.actions("long") == ["run", "terminate"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("silenced", [False, True])
def test_a_missing_return_is_a_failed_run(mode: str, silenced: bool, records: Collector) -> None:
    app = make_app(mode, silence_task_prerun=silenced)
    app.session.create_task(func=t.double, name="double", parameters={"value": Return("double")})
    with Running(app):
        app.session["double"].run()
        records.wait_action("double", "fail")
    assert records.actions("double") == ["run", "fail"]
    (failed,) = records.of("double", "fail")
    assert failed.exc_text.startswith("MissingReturnError: parameter 'value' = Return('double')")
    assert "default=" in failed.exc_text


@pytest.mark.parametrize("mode", MODES)
def test_user_log_lines_carry_the_run(mode: str, records: Collector) -> None:
    app = make_app(mode)
    app.session.create_task(func=t.log_inside, name="chatty")
    stamp = RunContextFilter()
    records.addFilter(stamp)
    with Running(app):
        app.session["chatty"].run()
        records.wait_action("chatty", "success")
    (run,) = records.of("chatty", "run")
    user = [r for r in records.records if not hasattr(r, "action")]
    assert sorted(r.getMessage() for r in user) == ["hello from inside", "plain logging inside"]
    # task_log stamps the run itself; RunContextFilter stamps plain logging (a child process
    # stamps its records before sending them)
    tagged = [r for r in user if getattr(r, "run_id", None) == run.run_id]  # type: ignore[attr-defined]
    assert len(tagged) == 2
    assert {r.task_name for r in tagged} == {"chatty"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("materialize", "made_in_child"), [(None, True), ("post", True), ("pre", False)]
)
def test_a_funcarg_is_made_where_materialize_says(
    materialize: str | None, made_in_child: bool, records: Collector
) -> None:
    """Rocketry's param_materialize: 'post' (the default) makes the value in the child."""
    app = make_app("process")
    app.session.create_task(
        func=t.echo, name="where", parameters={"value": FuncArg(os.getpid, materialize=materialize)}
    )
    with Running(app):
        app.session["where"].run()
        records.wait_action("where", "success")
    assert (app.session.returns["where"] != os.getpid()) is made_in_child


def test_a_funcarg_needing_the_session_cannot_be_made_in_a_child(records: Collector) -> None:
    app = make_app("process", silence_task_prerun=True)
    app.session.create_task(func=t.echo, name="needs", parameters={"value": FuncArg(t.connect)})
    with Running(app):
        app.session["needs"].run()
        records.wait(
            lambda: any("materialize='pre'" in (r.exc_text or "") for r in records.records),
            "the pre-run error naming materialize='pre'",
        )
    assert records.actions("needs") == []  # not started: nothing logged for the task
