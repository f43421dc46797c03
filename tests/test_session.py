"""Session: run ids (the journal's tests cover the repo and the history it reads back)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from skylaunch.exc import TaskDefinitionError
from skylaunch.session import Session


def test_run_ids_are_unique_hex_across_sessions_and_restarts() -> None:
    first = Session()
    task = first.create_task(func=lambda: None, name="t")
    ids = [first.new_run_id(task, {}) for _ in range(1000)]
    again = Session()  # a restarted process makes a new session: a new random prefix
    ids += [again.new_run_id(task, {}) for _ in range(1000)]
    assert len(set(ids)) == 2000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0][:16] != ids[1000][:16]


def test_a_run_id_is_the_random_prefix_then_the_counter_in_32_hex_digits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a prefix drawn with leading zero bits still gives 32 digits: the id is one number
    # formatted whole, the prefix above the counter
    monkeypatch.setattr(os, "urandom", lambda n: bytes([0, 0, 0, 0x0A, 0, 0, 0, 0xFF])[:n])
    session = Session()
    task = session.create_task(func=lambda: None, name="t")
    ids = [session.new_run_id(task, {}) for _ in range(17)]
    assert ids[0] == "0000000a000000ff" + "0" * 16
    assert ids[16] == "0000000a000000ff" + "0" * 14 + "10"
    assert all(i == i.lower() and len(i) == 32 for i in ids)


_FORK_PROBE = """
import os
from skylaunch import Session

session = Session()
task = session.create_task(func=lambda: None, name="t")
parent = session.new_run_id(task, {})
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, session.new_run_id(task, {}).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(parent, os.read(read, 64).decode(), session.new_run_id(task, {}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_the_parents_run_ids() -> None:
    # A real fork, in a fresh single-threaded interpreter (forking pytest's would warn).
    out = subprocess.run(
        [sys.executable, "-c", _FORK_PROBE], check=True, capture_output=True, text=True
    ).stdout.split()
    parent, child, parent_again = out
    assert child[:16] != parent[:16]  # the child drew its own prefix
    assert child.endswith("0" * 16)  # and counts from zero
    assert parent_again[:16] == parent[:16]  # the parent goes on with its own
    assert parent_again.endswith("1".zfill(16))


def test_get_task_loggers_lists_the_task_logger_and_those_under_it() -> None:
    import logging

    from skylaunch.log.adapter import TaskAdapter
    from skylaunch.testing import run_for, simulated_app

    app = simulated_app(task_logger_basename="gtl.task")
    session = app.session
    app.task(name="a", logger_name="gtl.task.special")(lambda: 1)
    app.task(name="b")(lambda: 2)
    logging.getLogger("gtl.task.deep.leaf")  # makes "gtl.task.deep" a placeholder
    logging.getLogger("gtl.taskforce")  # a name that only starts like it
    session["a"].run()
    session["b"].run()
    run_for(app, "1 minute")

    plain = session.get_task_loggers(with_adapters=False)
    assert sorted(plain) == ["gtl.task", "gtl.task.deep.leaf", "gtl.task.special"]
    assert plain["gtl.task.special"] is logging.getLogger("gtl.task.special")
    adapters = session.get_task_loggers()
    assert sorted(adapters) == sorted(plain)
    special = adapters["gtl.task.special"]
    assert isinstance(special, TaskAdapter)
    assert special.logger is plain["gtl.task.special"]
    assert special.task_name is None
    # An adapter for no task reads every task's records from the session's repo.
    assert sorted({r.task_name for r in special.get_records(action="success")}) == ["a", "b"]
    assert special.filter_by(task_name="a", action="run").count() == 1


def test_a_task_func_run_id_comes_before_the_configs() -> None:
    """Rocketry's per-task ``func_run_id`` field: ``(task, params) -> str``."""
    session = Session(func_run_id=lambda task, params: "from-config")
    own = session.create_task(
        func=lambda: None, name="own", func_run_id=lambda task, params: f"{task.name}-{params['n']}"
    )
    other = session.create_task(func=lambda: None, name="other")
    assert session.new_run_id(own, {"n": 3}) == "own-3"
    assert session.new_run_id(other, {}) == "from-config"
    with pytest.raises(TaskDefinitionError, match="func_run_id must be a function"):
        session.create_task(func=lambda: None, name="bad", func_run_id="abc")


def test_config_timezone_rules_a_simulated_clock_made_in_another_zone() -> None:
    """Session(config={"timezone": ...}, clock=SimulatedClock(...)) answers in the config's zone."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from skylaunch import App
    from skylaunch.conds import daily
    from skylaunch.testing import run_for, runs
    from skylaunch.time.clock import SimulatedClock

    utc = ZoneInfo("UTC")
    clock = SimulatedClock("2024-01-01 00:00", tz=utc)
    app = App(config={"timezone": "Europe/Helsinki", "execution": "main"}, clock=clock)
    assert app.session.clock.now().utcoffset() == timedelta(hours=2)

    @app.task(daily.between("10:00", "10:30"))
    def job() -> None: ...

    run_for(app, "1 day")
    (started,) = runs(app, "job")
    assert started.tzinfo == ZoneInfo("Europe/Helsinki")
    assert started.astimezone(utc).hour == 8  # 10:00 in Helsinki

    # Assigned later, the zone moves the clock and every task's plan.
    app.session.config.timezone = "America/New_York"
    assert str(app.session.clock.now().tzinfo) == "America/New_York"
    run_for(app, "1 day")
    assert runs(app, "job")[-1].astimezone(utc).hour == 15  # 10:00 in New York


@pytest.mark.slow
def test_a_second_shut_down_terminates_the_running_tasks_as_in_rocketry() -> None:
    import threading
    import time as real_time
    from typing import Any

    from skylaunch import App
    from skylaunch.args import TerminationFlag

    app = App(config={"execution": "thread", "timeout": "30 seconds"})
    started = threading.Event()

    @app.task("true")
    def slow(flag: Any = TerminationFlag()) -> None:  # noqa: B008 - as users write it
        started.set()
        flag.wait(20)

    def stop_twice() -> None:
        started.wait(10)
        app.session.shut_down()  # graceful: the run may finish within its timeout
        real_time.sleep(0.3)
        assert app.session["slow"].is_running
        app.session.shut_down()  # the second call forces

    helper = threading.Thread(target=stop_twice)
    helper.start()
    begun = real_time.monotonic()
    app.run()
    helper.join(5)
    assert real_time.monotonic() - begun < 10
    assert app.session["slow"].status == "terminate"


def test_run_leaves_the_config_and_the_other_tasks_as_they_are() -> None:
    """Session.run() is an override the scheduler applies, not a rewrite of settings."""
    from skylaunch.conds import true
    from skylaunch.testing import simulated_app

    app = simulated_app("2024-01-01 10:00", config={"execution": "main"})
    seen: list[tuple[object, bool, str]] = []

    @app.task(true)
    def other() -> None: ...

    @app.task()
    def chosen() -> None:
        seen.append((app.session.config.shut_cond, other_task.disabled, chosen_task.execution))

    other_task, chosen_task = app.session["other"], app.session["chosen"]
    app.session.run("chosen", execution="thread")
    assert seen == [(None, False, "main")]  # as they were, while it ran
    assert app.session.config.shut_cond is None
    assert other_task.last_run is None  # held back all the same
    assert chosen_task.last_success is not None
    assert app.session.scheduler.pending_runs("chosen") == []


def test_pending_runs_follow_a_rename_and_go_with_a_replaced_task() -> None:
    from skylaunch.testing import simulated_app

    app = simulated_app("2024-01-01 10:00", config={"task_pre_exist": "replace"})

    @app.task(name="a")
    def a() -> None: ...

    task = app.session["a"]
    task.run(x=1)
    assert task.batches == [{"x": 1}]
    assert task.batches is app.session.scheduler.pending_runs("a")  # a view, not a copy
    task.name = "b"
    assert app.session["b"].batches == [{"x": 1}]
    assert app.session.scheduler.pending_runs("a") == []
    task.terminate()
    assert app.session.scheduler.terminate_requested("b")

    @app.task(name="b")
    def b() -> None: ...

    assert app.session["b"] is not task
    assert app.session["b"].batches == []
    assert not app.session["b"].terminate_requested


def test_session_parameters_create_task_and_timeout_never() -> None:
    from skylaunch.tasks.command import CommandTask
    from skylaunch.tasks.func import FuncTask

    session = Session(parameters={"env": "dev"}, timeout="10 minutes")
    assert session.parameters == {"env": "dev"}
    assert session.env == "dev"

    def work() -> None: ...

    task = session.create_task(func=work, name="w", timeout="never")
    assert isinstance(task, FuncTask)
    assert task.timeout is None  # no limit, whatever config.timeout says
    assert session.create_task(func=work, name="v").timeout == timedelta(minutes=10)
    assert isinstance(session.create_task(command=["true"], name="c"), CommandTask)
    assert Session(timeout="never").config.timeout is None


def test_create_task_without_a_function_is_a_decorator() -> None:
    session = Session()

    @session.create_task(name="later", start_cond="daily")
    def work() -> None: ...

    assert session["later"].func is work
    assert session[work] is session["later"]


def test_lookup_by_something_that_names_no_task_is_a_type_error() -> None:
    session = Session()
    with pytest.raises(TypeError, match="a task name"):
        session[1234]  # type: ignore[index]
    with pytest.raises(KeyError):
        session["missing"]


def test_clear_removes_every_task_and_parameter() -> None:
    session = Session(parameters={"x": 1})

    def work() -> None: ...

    session.create_task(func=work)
    session.clear()
    assert session.tasks == set()
    assert session.parameters == {}


def test_a_task_without_a_session_warns_and_gets_its_own() -> None:
    from skylaunch import session as session_module
    from skylaunch.tasks.func import FuncTask

    def work() -> None: ...

    assert Session.get_default() is None  # nothing is recorded until a program asks
    session = Session()
    session.set_as_default()
    try:
        assert Session.get_default() is session
        with pytest.warns(UserWarning, match="without session=: it gets a new session"):
            alone = FuncTask(work, name="alone")
        assert alone.session is not session  # as in Rocketry, even with a default set
        assert alone.session.tasks == {alone}
        assert session.tasks == set()
    finally:
        session_module._DEFAULT[0] = None


def test_rocketrys_deprecated_session_methods_warn_and_work() -> None:
    session = Session()

    def work() -> None: ...

    task = session.create_task(func=work, name="w")
    with pytest.warns(DeprecationWarning, match=r"session\[task\]"):
        assert session.get_task("w") is task
    with pytest.warns(DeprecationWarning, match="task in session"):
        assert session.task_exists(task)
    with pytest.warns(DeprecationWarning, match="shut_down"):
        session.shutdown()  # not running: nothing to stop, as shut_down()
    with pytest.warns(DeprecationWarning, match="config.execution"):
        assert session.config.task_execution == session.config.execution
    assert session.config.to_dict()["execution"] == session.config.execution


def test_remove_task_by_the_function_it_runs() -> None:
    session = Session()

    def work() -> None: ...

    session.create_task(func=work, name="renamed")
    session.remove_task(work)
    assert session.tasks == set()
