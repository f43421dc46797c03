"""Async execution specifics (the shared behaviour is in test_contract.py)."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from skylaunch import App
from skylaunch.conds import every
from skylaunch.testing import run_for, simulated_app


def _async_app() -> App:
    """A simulated async app whose run ids count up per task (``job-0``, ``job-1``...)."""
    counter = itertools.count()
    return simulated_app(
        "2024-01-01 00:00",
        execution="async",
        func_run_id=lambda task, params: f"{task.name}-{next(counter)}",
    )


@pytest.mark.parametrize("kind", [KeyboardInterrupt, SystemExit])
def test_a_coroutine_cut_short_by_a_base_exception_ends_as_a_fail(
    kind: type[BaseException],
) -> None:
    """Ctrl-C or ``sys.exit()`` raised by a coroutine body stops the scheduler, as in main
    execution, and its run is logged ``fail`` with the traceback. It was logged ``terminate``
    ("scheduler shut down"), as if the shutdown had cut a healthy run short."""
    app = _async_app()
    calls: list[int] = []

    @app.task(every("10 seconds"))
    async def job() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise kind

    try:
        run_for(app, "1 minute")
    except kind:  # SystemExit goes on up; KeyboardInterrupt stops the scheduler as Ctrl-C does
        pass
    records = app.session.repo.filter_by().all()
    assert [(r.action, r.run_id) for r in records] == [
        ("run", "job-0"),
        ("success", "job-0"),
        ("run", "job-1"),
        ("fail", "job-1"),
    ]
    assert kind.__name__ in (records[-1].exc_text or "")
    assert not app.session["job"].is_running


class _OwnBaseError(BaseException):
    """A body's own BaseException subclass: neither Ctrl-C, sys.exit() nor a cancellation."""


@pytest.mark.parametrize("body", ["coroutine", "function"])
def test_a_body_raising_its_own_base_exception_ends_as_a_fail_and_the_task_runs_again(
    body: str,
) -> None:
    """Its run had no end: the task counted as running for ever, was never launched again,
    and the simulated run below never returned (found by the stop-24 review)."""
    app = _async_app()
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise _OwnBaseError("its own kind")

    if body == "coroutine":

        @app.task(every("10 seconds"), name="job")
        async def job_coroutine() -> None:
            work()

    else:
        app.task(every("10 seconds"), name="job")(work)

    finished = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_for(app, "35 seconds")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            finished.set()

    threading.Thread(target=run, daemon=True).start()
    assert finished.wait(30), "the scheduler hung on a run that never ended"
    assert errors == []
    records = app.session.repo.filter_by(task_name="job").all()
    assert [(r.action, r.run_id) for r in records][:4] == [
        ("run", "job-0"),
        ("fail", "job-0"),
        ("run", "job-1"),
        ("success", "job-1"),
    ]
    assert "_OwnBaseError: its own kind" in (records[1].exc_text or "")
    assert not app.session["job"].is_running


@pytest.mark.timeout(30)
def test_a_plain_function_cut_short_by_its_timeout_does_not_overlap_its_next_run() -> None:
    # Found by probing: it ran in the loop's thread pool, and the cancelled `to_thread` ended
    # the run at once (logged terminate) while its thread went on; the task was launched again
    # and again, five copies of it running at once. Now its run lasts until its thread returns.
    app = App(config={"execution": "async"})
    lock = threading.Lock()
    running: list[int] = []
    most = [0]

    @app.task(every("0.05 seconds"), timeout="0.05 seconds")
    def deaf() -> None:
        with lock:
            running.append(1)
            most[0] = max(most[0], len(running))
        time.sleep(0.3)  # does not look at its termination flag
        with lock:
            running.pop()

    stopper = threading.Timer(1.0, app.session.shut_down)
    stopper.start()
    app.run()
    stopper.join()
    assert most[0] == 1
    actions = [r.action for r in app.session.repo.filter_by(task_name="deaf").all()]
    assert actions[:2] == ["run", "terminate"]
    assert actions.count("run") <= 5  # each run lasted its 0.3 s


@pytest.mark.timeout(30)
def test_plain_functions_run_at_once_however_many_are_due() -> None:
    # Found by probing: past the default pool's min(32, CPUs + 4) threads, runs were logged as
    # started and queued behind the others (on 2 CPUs the 7th started 2 s after its record).
    n = 40
    app = App(config={"execution": "async"})
    together = threading.Barrier(n, timeout=10)
    ended: list[str] = []

    for i in range(n):

        def body(i: int = i) -> None:
            together.wait()  # breaks (the run fails) unless all n run at the same time
            ended.append(f"job{i}")
            if len(ended) == n:
                app.session.shut_down()

        app.task(every("1 hour"), name=f"job{i}")(body)

    app.run()
    outcomes = [app.session.repo.filter_by(task_name=f"job{i}").all()[-1].action for i in range(n)]
    assert outcomes == ["success"] * n
