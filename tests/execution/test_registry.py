"""Executors by name, per session: the built-in modes made on first use, the user's own added."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import pytest

from skylaunch import App, Session
from skylaunch.args import TerminationFlag
from skylaunch.conds import daily
from skylaunch.exc import ConfigError, TaskDefinitionError
from skylaunch.execution import Outcome, TaskCall, ThreadExecutor
from skylaunch.execution.base import run_call
from skylaunch.execution.registry import BUILTIN_EXECUTORS, ExecutorRegistry, UnknownExecutorError
from skylaunch.testing import run_for, run_until, runs, simulated_app
from tests.execution._own_thread import OwnThreadExecutor


class Ended:
    def __init__(self, run_id: str, started: datetime) -> None:
        self.run_id = run_id
        self.started = started

    def is_alive(self) -> bool:
        return False

    def terminate(self, reason: str) -> None:
        pass


class Inline:
    """Runs each call at once in the caller's thread, and counts them (no ``name`` attribute)."""

    shares_process = True
    runs_inline = True

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: set[int] = set()

    def has_capacity(self) -> bool:
        return True

    def new_flag(self) -> threading.Event:
        return threading.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> Ended:
        self.calls.append(call.task_name)
        self.threads.add(threading.get_ident())
        on_done(run_call(call))
        return Ended(call.run_id, started)

    def shutdown(self, *, terminate: bool) -> None:
        pass


def test_a_users_executor_runs_the_tasks_that_name_it() -> None:
    inline = Inline()
    app = simulated_app("2024-01-01 00:00", executors={"inline": inline})

    @app.task(daily, execution="inline")
    def job() -> None: ...

    run_for(app, "2 days")
    assert inline.calls == ["job", "job"]
    assert inline.threads == {threading.get_ident()}  # inline: in the loop's (this) thread
    assert len(runs(app, "job", "success")) == 2


def test_runs_inline_is_read_from_the_executor_not_its_name() -> None:
    """An executor that calls itself "main" but runs elsewhere is tracked as running elsewhere."""

    class Misnamed(OwnThreadExecutor):
        name = "main"

    own = Misnamed()
    app = App(config={"execution": "mine", "timeout": 0.1}, executors={"mine": own})
    started = threading.Event()

    def waits(flag: threading.Event = TerminationFlag()) -> None:  # type: ignore[assignment]  # noqa: B008
        started.set()
        assert flag.wait(5), "never terminated"

    app.task("true", name="waits")(waits)
    app.task("true", name="stop", execution="main")(
        lambda: app.session.shut_down() if runs(app, "waits", "terminate") else None
    )
    deadline = threading.Timer(10, app.session.shut_down)  # bounds the test if it is broken
    deadline.start()
    try:
        app.session.start()
    finally:
        deadline.cancel()
    assert started.is_set()
    assert len(runs(app, "waits", "terminate")) >= 1  # its timeout reached it: it was tracked


def test_a_built_in_mode_can_be_replaced_under_its_own_name() -> None:
    inline = Inline()
    app = simulated_app("2024-01-01 00:00", executors={"main": inline})
    app.task(daily, name="job")(lambda: None)
    run_for(app, "1 day")
    assert inline.calls == ["job"]
    assert app.session.executor("main") is inline


def test_an_unknown_execution_fails_at_definition_listing_the_known_names() -> None:
    app = App(executors={"inline": Inline()})
    with pytest.raises(TaskDefinitionError) as info:
        app.task(name="x", execution="celery")(lambda: None)
    message = str(info.value)
    assert "'celery'" in message
    assert "'main', 'async', 'thread', 'process', 'inline'" in message
    app.task(name="y")(lambda: None)
    with pytest.raises(TaskDefinitionError, match="'celery'"):
        app.session["y"].execution = "celery"


def test_config_execution_is_checked_against_the_session_when_it_is_built() -> None:
    with pytest.raises(ConfigError, match=r"'execution' = 'fast'.*'main', 'async'"):
        App(config={"execution": "fast"})
    app = App(config={"execution": "inline"}, executors={"inline": Inline()})
    assert app.session.config.execution == "inline"
    with pytest.raises(ConfigError, match="'execution' = 'celery'"):
        app.session.config.execution = "celery"
    with pytest.raises(ConfigError, match="'execution' = 'celery'"):
        app.session.config.set("execution", "celery")
    assert app.session.config.execution == "inline"
    app.session.config.execution = "thread"
    assert app.session.config.execution == "thread"


def test_session_executor_names_the_known_ones_for_an_unknown_name() -> None:
    with pytest.raises(TaskDefinitionError, match=r"no executor named 'nope'; .*'process'"):
        Session().executor("nope")


@pytest.mark.parametrize(
    ("bad", "missing"),
    [
        (object(), "has_capacity, new_flag, submit, shutdown, shares_process, runs_inline"),
        (ThreadExecutor, "give an instance, not the class ThreadExecutor"),
    ],
)
def test_an_object_that_is_no_executor_is_refused_naming_what_is_missing(
    bad: object, missing: str
) -> None:
    class NoFlags(ThreadExecutor):
        runs_inline = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match=r"missing or wrong .*runs_inline"):
        App(executors={"x": NoFlags()})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=rf"executor 'x'.*{missing}"):
        App(executors={"x": bad})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="non-empty string"):
        App(executors={"": Inline()})


def test_a_users_executor_outside_the_process_gets_picklable_tasks_only() -> None:
    class Remote(OwnThreadExecutor):
        shares_process = False

    app = App(executors={"remote": Remote()})
    with pytest.raises(
        TaskDefinitionError, match="cannot be pickled to run with execution='remote'"
    ):
        app.task(name="local", execution="remote")(lambda: None)


def test_built_in_capabilities_match_the_classes() -> None:
    """The registry knows each built-in's flags before loading it; they must not drift."""
    registry = ExecutorRegistry()
    for name, builtin in BUILTIN_EXECUTORS.items():
        assert registry.shares_process(name) is builtin.shares_process
        made = registry.use(name)
        assert (made.shares_process, made.runs_inline) == (
            builtin.shares_process,
            builtin.runs_inline,
        ), name
        made.shutdown(terminate=True)
    assert list(registry) == list(BUILTIN_EXECUTORS)
    with pytest.raises(UnknownExecutorError):
        registry.shares_process("nope")
    with pytest.raises(UnknownExecutorError):
        registry.use("nope")


def test_the_registry_is_per_session() -> None:
    inline = Inline()
    first = App(executors={"inline": inline})
    second = App()
    assert first.session.executors.knows("inline")
    assert not second.session.executors.knows("inline")
    assert dict(first.session.executors) == {"inline": inline}
    del first.session.executors["inline"]
    assert not first.session.executors.knows("inline")
    assert len(second.session.executors) == 0


def test_app_with_a_session_takes_no_executors() -> None:
    with pytest.raises(TypeError, match="executors"):
        App(session=Session(), executors={"inline": Inline()})


def test_made_lookup_sees_executors_made_later_and_only_those() -> None:
    """The scheduler binds ``made_lookup`` once: executors made afterwards must show in it,
    one not made yet gives None (the scheduler then calls ``use``)."""
    registry = ExecutorRegistry()
    lookup = registry.made_lookup
    assert lookup("thread") is None
    made = registry.use("thread")
    assert lookup("thread") is made
    assert lookup("nope") is None


class Gate(Inline):
    """An executor of the user's whose capacity comes back without a run of this app ending
    (a limit shared with other processes, a rate limit): full until ``opens_at``."""

    def __init__(self, app: App, opens_at: str) -> None:
        super().__init__()
        self.app = app
        self.opens_at = datetime.fromisoformat(opens_at).replace(tzinfo=app.session.clock.tz)
        self.asked: list[datetime] = []

    def has_capacity(self) -> bool:
        now = self.app.session.clock.now()
        self.asked.append(now)
        return now >= self.opens_at


def gated_app(opens_at: str) -> tuple[App, Gate]:
    """A simulated app at 2024-01-01 00:00 with a ``daily.at("10:00")`` task run by a Gate."""
    app = simulated_app("2024-01-01 00:00")
    gate = Gate(app, opens_at)
    app.session.executors["gate"] = gate
    app.task(daily.at("10:00"), name="job", execution="gate")(noop)
    return app, gate


def noop() -> None:
    pass


def test_a_task_waiting_for_a_users_executor_starts_once_it_has_capacity_again() -> None:
    # Found by probing: a task blocked by has_capacity() was looked at again only when a run
    # of the app ended. Alone on this executor, the 10:00 run waited forever (silently).
    app, gate = gated_app(opens_at="2024-01-01 10:20")
    run_until(app, "2024-01-01 12:00")
    assert [t.strftime("%H:%M:%S") for t in runs(app, "job")] == ["10:20:00"]
    assert gate.calls == ["job"]
    # asked while the run was due and the gate shut, about once a second; never before 10:00
    asked = [t for t in gate.asked if t < gate.opens_at]
    assert asked[0].strftime("%H:%M:%S") == "10:00:00"
    assert 1150 <= len(asked) <= 1250


def test_a_task_not_due_yet_is_planned_without_asking_its_executor() -> None:
    # the first pass plans a task that its condition's clock says is not due; the executor's
    # capacity only matters once it may be due
    app, gate = gated_app(opens_at="2024-01-01 00:00")
    run_until(app, "2024-01-01 09:00")
    assert gate.asked == []
    run_until(app, "2024-01-01 11:00")
    assert [t.strftime("%H:%M") for t in runs(app, "job")] == ["10:00"]


def test_a_run_that_waited_for_capacity_counts_its_wait_as_launch_lateness() -> None:
    # Found in review: the once-a-second look at a task waiting for its executor replaced the
    # instant it became due, so the metric read a 5-minute wait as 0 s late
    from skylaunch.metrics import Metrics

    app, _gate = gated_app(opens_at="2024-01-01 10:05")
    metrics = Metrics(app)
    try:
        run_until(app, "2024-01-01 11:00")
        samples = {s.name: s.value for s in metrics.lateness.collect()[0].samples}
    finally:
        metrics.close()  # its handler on the task logger would outlive the test
    assert [t.strftime("%H:%M:%S") for t in runs(app, "job")] == ["10:05:00"]
    assert samples["skylaunch_launch_lateness_seconds_count"] == 1
    assert samples["skylaunch_launch_lateness_seconds_sum"] == pytest.approx(300.0)
