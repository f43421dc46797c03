"""``CeleryExecutor`` beyond the contract suite: lost workers, a cut or silent broker, no
worker at all, two workers sharing runs, and the mapping of Celery's states onto actions.

The contract suite (tests/execution/test_contract.py) runs the common scenarios in ``celery``
mode against the same two workers (tests/execution/_celery_cluster.py).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytest.importorskip("celery")

from billiard.exceptions import WorkerLostError
from celery import Celery

from skylaunch import App
from skylaunch.exc import TaskDefinitionError, TaskSetupError
from skylaunch.execution.base import TaskCall
from skylaunch.execution.celery import CeleryExecutor, _CeleryRun, function_path
from tests.execution import _celery_app
from tests.execution import _targets as t
from tests.execution._celery_cluster import Cluster
from tests.execution.test_contract import Collector, Running, records
from tests.integration.relay import Relay

__all__ = ["records"]

WAIT_S = 15.0


def wait_until(predicate: Any, what: str) -> None:
    pause = threading.Event()
    for _ in range(int(WAIT_S / 0.02)):
        if predicate():
            return
        pause.wait(0.02)
    raise AssertionError(f"waited {WAIT_S} s for {what}")


def relayed_app(relay: Relay, name: str) -> Celery:
    """A Celery app whose broker connection goes through ``relay`` (results: Redis)."""
    url = urlparse(_celery_app.RABBITMQ_URL)
    broker = url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{relay.port}").geturl()
    app = Celery(name, broker=broker, backend=_celery_app.REDIS_URL)
    app.conf.update(broker_connection_timeout=0.5, broker_pool_limit=2)
    return app


def make_app(executor: CeleryExecutor) -> App:
    return App(config={"execution": "celery"}, executors={"celery": executor})


def test_a_worker_killed_mid_run_is_redelivered_and_recorded_once(
    celery_cluster: Cluster, records: Collector, tmp_path: Path
) -> None:
    marker = tmp_path / "pid"
    app = make_app(CeleryExecutor(_celery_app.app, queue=celery_cluster.queue))
    app.session.create_task(func=t.die_once, name="die", parameters={"marker": str(marker)})
    with Running(app):
        app.session["die"].run()
        wait_until(lambda: marker.exists() and marker.read_text().isdigit(), "the run to start")
        killed = int(marker.read_text())
        os.kill(killed, signal.SIGKILL)  # the pool child running it: the worker is lost
        records.wait_action("die", "success")
    # acks_late + reject_on_worker_lost: the broker delivered it again, to another process
    assert records.actions("die") == ["run", "success"]
    assert app.session.returns["die"] not in (killed, -1)


def test_two_workers_share_the_runs(celery_cluster: Cluster, records: Collector) -> None:
    app = make_app(CeleryExecutor(_celery_app.app, queue=celery_cluster.queue))
    names = [f"p{i}" for i in range(4)]
    for name in names:
        app.session.create_task(func=t.pid_after, name=name, parameters={"seconds": 0.3})
    with Running(app):
        for name in names:
            app.session[name].run()
        for name in names:
            records.wait_action(name, "success")
    pids = {app.session.returns[name] for name in names}
    assert len(pids) == 2  # one prefork child per worker, and both took runs


def test_a_broker_cut_mid_run(celery_cluster: Cluster, records: Collector) -> None:
    """The result comes through the backend; a run sent while the broker is cut fails, and
    the next one, once the broker is back, goes through the same executor."""
    port = urlparse(_celery_app.RABBITMQ_URL).port or 5672
    with Relay(port) as relay:
        celery_app = relayed_app(relay, "cut")
        executor = CeleryExecutor(celery_app, queue=celery_cluster.queue, send_timeout_s=5)
        app = make_app(executor)
        app.session.create_task(func=t.short, name="work", parameters={"seconds": 0.5})
        try:
            with Running(app):
                task = app.session["work"]
                task.run()
                wait_until(lambda: any(r.sent for r in executor._runs.values()), "the send")
                relay.cut()
                records.wait_action("work", "success")
                task.run()
                records.wait_action("work", "fail")
                relay.forward()
                task.run()
                records.wait_action("work", "success", 2)
        finally:
            celery_app.close()
    assert records.actions("work") == ["run", "success", "run", "fail", "run", "success"]
    (failed,) = records.of("work", "fail")
    assert "could not be sent to the Celery broker" in failed.exc_text  # type: ignore[operator]


def test_a_silent_broker_never_blocks_the_loop(redis_url: str, records: Collector) -> None:
    """Sends wait on a black-holed broker in the executor's thread: a local task still runs at
    once, the remote runs fail after send_timeout_s, and the broker is reported once."""
    with Relay(5672) as relay:
        relay.black_hole()
        celery_app = relayed_app(relay, "silent")
        executor = CeleryExecutor(celery_app, send_timeout_s=0.5)
        app = make_app(executor)
        app.session.create_task(func=t.skip, name="remote1")
        app.session.create_task(func=t.skip, name="remote2")
        app.session.create_task(func=t.add, name="local", execution="main")
        try:
            with Running(app):
                app.session["remote1"].run()
                app.session["remote2"].run()
                app.session["local"].run(x=1, y=2)
                records.wait_action("remote1", "fail")
                records.wait_action("remote2", "fail")
                relay.forward()  # let the held connection attempt end
        finally:
            celery_app.close()
    ends = [
        r.task_name  # type: ignore[attr-defined]
        for r in records.records
        if getattr(r, "action", None) in ("success", "fail")
    ]
    assert ends.index("local") < ends.index("remote1")
    # Late by send_timeout_s (the poller's verdict) or refused by kombu's own connect timeout
    # first, whichever ends first on a loaded machine: either way it was never sent.
    reason = records.of("remote1", "fail")[0].exc_text
    assert reason is not None
    assert "within 0.5 s (send_timeout_s)" in reason or "could not be sent" in reason
    warnings = [r for r in records.records if r.name == "skylaunch.execution.celery"]
    assert len(warnings) == 1  # rate-limited: two runs, one report


def test_no_worker_confirming_a_timeout_ends_as_crash(records: Collector) -> None:
    """Nothing consumes the (in-memory) broker: the run is sent, times out, its revocation is
    never confirmed (a live Celery 5 worker stores REVOKED for any id it is told to revoke)."""
    executor = CeleryExecutor(local_app(), terminate_grace_s=0.3)
    app = make_app(executor)
    app.session.create_task(func=t.short, name="orphan", timeout=0.2)
    with Running(app):
        app.session["orphan"].run()
        records.wait_action("orphan", "crash")
    assert records.actions("orphan") == ["run", "crash"]
    (crash,) = records.of("orphan", "crash")
    assert crash.exc_text.startswith("timeout: no Celery worker confirmed the revocation")  # type: ignore[union-attr]


def test_a_silent_result_backend_does_not_hold_a_timed_out_run(
    celery_cluster: Cluster, records: Collector
) -> None:
    """The result backend black-holed while a run is awaited: reading it hangs (up to the Redis
    client's socket timeout, 120 s), but the run still ends once it timed out and its
    revocation was not confirmed within terminate_grace_s."""
    port = urlparse(_celery_app.REDIS_URL).port or 6379
    with Relay(port) as relay:
        celery_app = Celery(
            "silent-backend",
            broker=_celery_app.RABBITMQ_URL,
            backend=f"redis://127.0.0.1:{relay.port}/0",
        )
        executor = CeleryExecutor(celery_app, queue=celery_cluster.queue, terminate_grace_s=0.5)
        app = make_app(executor)
        app.session.create_task(func=t.short, name="work", parameters={"seconds": 5}, timeout=0.5)
        try:
            with Running(app):
                app.session["work"].run()
                wait_until(lambda: any(r.sent for r in executor._runs.values()), "the send")
                relay.black_hole()
                try:
                    records.wait_action("work", "crash")
                finally:
                    relay.forward()  # let the held read end
        finally:
            celery_app.close()
    assert records.actions("work") == ["run", "crash"]
    (crash,) = records.of("work", "crash")
    assert "result backend did not answer" in crash.exc_text  # type: ignore[operator]


# --- without services -------------------------------------------------------------------


def local_app() -> Celery:
    return Celery("local", broker="memory://", backend="cache+memory://")


def _local() -> None:
    pass


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(TypeError, match=r"celery\.Celery app or a broker URL"):
        CeleryExecutor(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="result backend"):
        CeleryExecutor(Celery("nobackend", broker="memory://"))
    with pytest.raises(TypeError, match="backend= goes with a broker URL"):
        CeleryExecutor(local_app(), backend="redis://")
    with pytest.raises(ValueError, match="poll_interval_s must be positive"):
        CeleryExecutor(local_app(), poll_interval_s=0)


def test_only_importable_functions_can_be_sent() -> None:
    assert function_path(t.add) == "tests.execution._targets:add"
    with pytest.raises(TaskSetupError, match="top level of a module"):
        function_path(lambda: None)

    def inner() -> None: ...

    with pytest.raises(TaskSetupError, match="top level of a module"):
        function_path(inner)
    _local.__module__ = "__main__"
    try:
        with pytest.raises(TaskSetupError, match="__main__ script"):
            function_path(_local)
    finally:
        _local.__module__ = __name__


def test_a_run_that_cannot_be_sent_fails_with_the_reason(records: Collector) -> None:
    app = make_app(CeleryExecutor(local_app()))
    with pytest.raises(TaskDefinitionError, match="lambda"):  # refused at definition already
        app.session.create_task(func=lambda: None, name="anon", execution="celery")
    with pytest.warns(UserWarning, match="lambda.*runs will fail"):  # only from the config
        app.session.create_task(func=lambda: None, name="anon")
    app.session.create_task(func=t.echo, name="locked", parameters={"value": threading.Lock()})
    with Running(app):
        app.session["locked"].run()
        records.wait_action("locked", "fail")
    assert "cannot be sent to Celery" in records.of("locked", "fail")[0].exc_text  # type: ignore[operator]


@pytest.mark.parametrize(
    ("meta", "reason", "action", "text"),
    [
        ({"status": "PENDING"}, None, None, None),
        ({"status": "STARTED"}, None, None, None),
        ({"status": "REVOKED"}, "timeout", "terminate", "timeout"),
        ({"status": "REVOKED"}, None, "terminate", "revoked in Celery"),
        (
            {"status": "FAILURE", "result": WorkerLostError("gone"), "traceback": "TB lost"},
            None,
            "crash",
            "TB lost",
        ),
        (
            {"status": "FAILURE", "result": KeyError("k"), "traceback": None},
            None,
            "fail",
            "KeyError",
        ),
        ({"status": "FAILURE", "result": KeyError("k")}, "shutdown", "terminate", "shutdown"),
        ({"status": "SUCCESS", "result": 42}, None, "fail", "not a skylaunch outcome"),
        (
            {"status": "SUCCESS", "result": {"action": "success", "value": "broken"}},
            None,
            "fail",
            "could not be read",
        ),
        ({"status": "SUCCESS", "result": {"action": "inaction"}}, "timeout", "inaction", None),
        ({"status": "SUCCESS", "result": {"action": "success"}}, "timeout", "terminate", "timeout"),
    ],
)
def test_celery_states_map_onto_actions(
    meta: dict[str, Any], reason: str | None, action: str | None, text: str | None
) -> None:
    executor = CeleryExecutor(local_app())
    from datetime import datetime, timezone

    run = _CeleryRun(
        executor, TaskCall("t", "r1", t.add), {}, lambda o: None, datetime.now(timezone.utc)
    )
    run.reason = reason
    outcome = executor._outcome(run, meta)
    if action is None:
        assert outcome is None
        return
    assert outcome is not None
    assert outcome.action == action
    if text is None:
        assert outcome.exc_text is None
    else:
        assert text in (outcome.exc_text or "")


def test_records_the_worker_sent_back_reach_local_loggers(records: Collector) -> None:
    CeleryExecutor._replay(
        [
            {"name": "tests.remote", "levelno": logging.WARNING, "msg": "hi", "run_id": "r1"},
            {"name": "tests.remote", "levelno": logging.DEBUG, "msg": "below the level"},
            "not a record",
        ]
    )
    (record,) = [r for r in records.records if r.name == "tests.remote"]
    assert record.getMessage() == "hi"
    assert record.run_id == "r1"  # type: ignore[attr-defined]
