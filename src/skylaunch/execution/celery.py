"""``CeleryExecutor``: runs go to a Celery cluster; skylaunch keeps deciding when.

Register it under a name and point tasks at it::

    app = App(executors={"celery": CeleryExecutor(celery_app)})

    @app.task(daily, execution="celery")
    def report(): ...

Celery carries the run, skylaunch keeps the history. A run is recorded ``run`` when it is
handed over for sending, then its end comes from what the worker stored in the result backend:
``success`` (with the return value, so ``Return("upstream")`` works), ``fail`` with the remote
traceback, ``inaction``; ``terminate`` after a timeout or ``task.terminate()`` (Celery
``revoke(terminate=True)``); ``crash`` when no worker reports at all (the revocation of a run
that timed out was not confirmed within ``terminate_grace_s``, or Celery reports the worker
lost). The records the run logged on the worker come back with its result and reach this
process's loggers, stamped with the run id, just before the end is recorded.

Nothing here blocks the scheduler's loop: ``submit`` only queues the message. One thread sends
messages and revocations (a broker that does not answer holds this thread, never the loop; a
run not sent within ``send_timeout_s`` fails, reported once per ``report_every_s``), one
thread polls the result backend for every run in flight, and one keeps the deadlines (a result
backend that does not answer holds the poller, not the ``crash`` of a run whose revocation was
not confirmed within ``terminate_grace_s``).

Celery is imported when this module is, which happens only if an app uses it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import queue as _queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from types import FunctionType
from typing import Any

from celery import Celery
from celery.backends.base import DisabledBackend, KeyValueStoreBackend

from skylaunch.exc import TaskSetupError
from skylaunch.execution.base import Flag, Outcome, OutcomeAction, TaskCall
from skylaunch.execution.celery_worker import TASK_NAME, decode, defer, encode, register

__all__ = ["CeleryExecutor", "function_path"]

_log = logging.getLogger("skylaunch.execution.celery")

_ACTIONS: frozenset[str] = frozenset({"success", "fail", "terminate", "inaction", "crash"})


def function_path(func: Callable[..., Any]) -> str:
    """``module:qualname`` of a function the workers can import, or a clear error."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    where = f"{func!r}"
    if not module or not qualname or "<" in qualname:
        raise TaskSetupError(
            f"{where} cannot be run by a Celery worker: the worker imports the function by its "
            "path, so it must be a function defined at the top level of a module"
        )
    if module == "__main__":
        raise TaskSetupError(
            f"{where} is defined in the __main__ script, which a Celery worker cannot import: "
            "define it in a module that both the scheduler and the workers import"
        )
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if obj is not func:
        raise TaskSetupError(
            f"{where} is not what {module}:{qualname} names, so a Celery worker would not run "
            "it (a decorated or rebound function?): give the function itself"
        )
    return f"{module}:{qualname}"


class _CeleryRun:
    """A run in flight: queued for sending, sent, or ended."""

    __slots__ = (
        "call",
        "confirm_by",
        "executor",
        "on_done",
        "reason",
        "revoked",
        "run_id",
        "send_by",
        "sent",
        "spec",
        "started",
        "task_id",
        "time_limit",
    )

    def __init__(
        self,
        executor: CeleryExecutor,
        call: TaskCall,
        spec: dict[str, Any],
        on_done: Callable[[Outcome], None],
        started: datetime,
    ) -> None:
        self.executor = executor
        self.call = call
        self.run_id = call.run_id
        self.started = started
        self.spec = spec
        self.on_done: Callable[[Outcome], None] | None = on_done
        self.task_id = uuid.uuid4().hex
        self.sent = False
        self.revoked = False
        self.reason: str | None = None
        self.send_by = time.monotonic() + executor.send_timeout_s
        self.confirm_by: float | None = None
        self.time_limit: float | None = None

    def is_alive(self) -> bool:
        return self.on_done is not None

    def terminate(self, reason: str) -> None:
        if self.reason is not None or self.on_done is None:
            return
        self.reason = reason
        self.executor._revoke(self)


class CeleryExecutor:
    """Hands each run to a Celery cluster and reads its end from the result backend.

    ``app`` is a ``celery.Celery`` app with a result backend (the one the workers load, or one
    configured the same), or a broker URL, then ``backend`` is the result backend's URL.
    Workers need the skylaunch task registered on their app:
    :func:`skylaunch.execution.celery_worker.register` (done here for ``app`` too).

    ``queue`` and ``send_options`` go to every message (``apply_async`` options such as
    ``priority`` or ``routing_key``). ``send_timeout_s`` bounds how long a run may wait to be
    sent; ``terminate_grace_s`` how long a revoked run may take to be confirmed by its worker
    before it is recorded ``crash``; ``poll_interval_s`` how often the result backend is read.
    """

    shares_process = False
    runs_inline = False

    def __init__(
        self,
        app: Celery | str,
        *,
        backend: str | None = None,
        queue: str | None = None,
        send_options: Mapping[str, Any] | None = None,
        send_timeout_s: float = 10.0,
        terminate_grace_s: float = 5.0,
        poll_interval_s: float = 0.02,
        report_every_s: float = 60.0,
    ) -> None:
        if isinstance(app, str):
            app = Celery("skylaunch", broker=app, backend=backend)
        elif not isinstance(app, Celery):
            raise TypeError(
                f"CeleryExecutor takes a celery.Celery app or a broker URL, got {app!r}"
            )
        elif backend is not None:
            raise TypeError("backend= goes with a broker URL; a Celery app brings its own")
        for name, value in (
            ("send_timeout_s", send_timeout_s),
            ("terminate_grace_s", terminate_grace_s),
            ("poll_interval_s", poll_interval_s),
        ):
            if not value > 0:
                raise ValueError(f"CeleryExecutor: {name} must be positive, got {value!r}")
        disabled = isinstance(app.backend, DisabledBackend)
        if disabled:
            raise ValueError(
                "CeleryExecutor needs a Celery app with a result backend (result_backend, for "
                "example redis://...): that is where the workers leave each run's outcome"
            )
        register(app)
        self.app = app
        self.send_options = {**(send_options or {}), **({"queue": queue} if queue else {})}
        self.send_timeout_s = send_timeout_s
        self.terminate_grace_s = terminate_grace_s
        self.poll_interval_s = poll_interval_s
        self.report_every_s = report_every_s
        self._lock = threading.Lock()
        self._runs: dict[str, _CeleryRun] = {}
        self._outbox: _queue.SimpleQueue[tuple[str, _CeleryRun] | None] = _queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._unsent = 0  # runs not sent since the last report
        self._reported_at: float | None = None

    # --- protocol -------------------------------------------------------------------------
    def has_capacity(self) -> bool:
        return True  # the broker queues what the workers cannot take yet

    def new_flag(self) -> Flag:
        return threading.Event()

    def submit(
        self, call: TaskCall, on_done: Callable[[Outcome], None], started: datetime
    ) -> _CeleryRun:
        func, deferred = defer(call.func)
        try:
            target = function_path(func)
        except TaskSetupError:
            if isinstance(func, FunctionType):
                raise
            target = None  # a callable object (a code task's): it travels pickled
        flags = [k for k, v in call.kwargs.items() if call.flag is not None and v is call.flag]
        kwargs = {k: v for k, v in call.kwargs.items() if k not in flags}
        try:
            args = encode((kwargs, deferred))
            if target is None:
                target = "pickle:" + encode(func)
        except Exception as exc:
            raise TaskSetupError(
                f"task {call.task_name!r}: the run cannot be sent to Celery ({exc!r}); the "
                "function and every parameter value must be picklable"
            ) from exc
        spec = {
            "func": target,
            "task": call.task_name,
            "run": call.run_id,
            "args": args,
            "flags": flags,
            "level": logging.getLogger().getEffectiveLevel(),
        }
        run = _CeleryRun(self, call, spec, on_done, started)
        if call.timeout_s is not None:
            # A backstop for a scheduler that is gone: the worker ends the run itself.
            run.time_limit = call.timeout_s + self.terminate_grace_s + 5.0
        with self._lock:
            self._runs[run.run_id] = run
            self._ensure_threads()
        self._outbox.put(("send", run))
        return run

    def shutdown(self, *, terminate: bool) -> None:
        """With ``terminate``: revoke the runs in flight, wait briefly for their workers to
        confirm, record the rest ``terminate``, and stop this executor's threads."""
        if not terminate:
            return
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.terminate("shutdown")
        end = time.monotonic() + min(self.terminate_grace_s, 2.0)
        while time.monotonic() < end and any(r.is_alive() for r in runs):
            self._stop.wait(self.poll_interval_s)
        for run in runs:
            self._end(run, Outcome(run.run_id, "terminate", exc_text=run.reason or "shutdown"))
        self._stop.set()
        if self._threads:
            self._outbox.put(None)
        for thread in self._threads:
            thread.join(5.0)
        with self._lock:
            self._threads = []
            self._stop = threading.Event()
            self._outbox = _queue.SimpleQueue()

    # --- inside -----------------------------------------------------------------------------
    def _ensure_threads(self) -> None:
        if self._threads:
            return
        self._threads = [
            threading.Thread(
                target=self._send_loop,
                args=(self._outbox,),
                name="skylaunch:celery-send",
                daemon=True,
            ),
            threading.Thread(
                target=self._every_poll,
                args=(self._stop, self._poll, "polling Celery results failed"),
                name="skylaunch:celery-poll",
                daemon=True,
            ),
            # Deadlines are kept apart from the reads: a result backend that does not answer
            # holds the poller (up to the client's socket timeout), never a run's deadline.
            threading.Thread(
                target=self._every_poll,
                args=(self._stop, self._watch, "checking Celery run deadlines failed"),
                name="skylaunch:celery-watch",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()

    def _revoke(self, run: _CeleryRun) -> None:
        run.confirm_by = time.monotonic() + self.terminate_grace_s
        self._outbox.put(("revoke", run))

    def _end(self, run: _CeleryRun, outcome: Outcome) -> None:
        """Report ``outcome`` for ``run`` unless it has ended already (exactly once)."""
        with self._lock:
            on_done, run.on_done = run.on_done, None
            self._runs.pop(run.run_id, None)
        if on_done is not None:
            on_done(outcome)

    def _send_loop(self, outbox: _queue.SimpleQueue[tuple[str, _CeleryRun] | None]) -> None:
        while True:
            job = outbox.get()
            if job is None:
                return
            kind, run = job
            try:
                if kind == "send":
                    self._send(run)
                elif run.sent and not run.revoked:
                    run.revoked = True
                    self.app.control.revoke(run.task_id, terminate=True, signal="SIGTERM")
                elif not run.sent:  # never reached a worker: nothing to confirm
                    self._end(run, Outcome(run.run_id, "terminate", exc_text=run.reason))
            except Exception as exc:
                self._failed_to_send(run, kind, exc)

    def _send(self, run: _CeleryRun) -> None:
        if run.on_done is None or run.reason is not None:
            if run.reason is not None:
                self._end(run, Outcome(run.run_id, "terminate", exc_text=run.reason))
            return
        left = run.send_by - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"not sent within send_timeout_s={self.send_timeout_s:g}")
        options: dict[str, Any] = dict(self.send_options)
        if run.time_limit is not None:
            options.setdefault("time_limit", run.time_limit)
        self.app.send_task(
            TASK_NAME,
            args=[run.spec],
            task_id=run.task_id,
            retry=True,
            retry_policy={
                "max_retries": 3,
                "interval_start": 0,
                "interval_step": min(0.5, left / 4),
                "interval_max": 1,
            },
            **options,
        )
        run.sent = True
        if run.on_done is None:
            # It was failed for being late while the send went on: no worker must run it.
            run.revoked = True
            self.app.control.revoke(run.task_id)

    def _failed_to_send(self, run: _CeleryRun, kind: str, exc: BaseException) -> None:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if kind == "send":
            self._end(
                run,
                Outcome(
                    run.run_id,
                    "fail",
                    exc_text=f"the run could not be sent to the Celery broker: {text}",
                ),
            )
        self._report(f"{kind} failed: {text}")

    def _report(self, what: str) -> None:
        """Warn about the broker at most once per ``report_every_s``, counting the rest."""
        with self._lock:
            self._unsent += 1
            now = time.monotonic()
            if self._reported_at is not None and now - self._reported_at < self.report_every_s:
                return
            self._reported_at = now
            count, self._unsent = self._unsent, 0
        _log.warning(
            "Celery broker: %s; %d message(s) failed since the last report "
            "(reported at most once every %g s)",
            what,
            count,
            self.report_every_s,
        )

    def _every_poll(self, stop: threading.Event, step: Callable[[], None], failed: str) -> None:
        """Call ``step`` every ``poll_interval_s`` until ``stop``, whatever it raises."""
        while not stop.wait(self.poll_interval_s):
            try:
                step()
            except Exception:  # noqa: PERF203 - the loop must go on: runs in flight need it
                _log.warning(failed, exc_info=True)

    def _watch(self) -> None:
        """End the runs past a deadline: not sent in time, or revoked and not confirmed."""
        now = time.monotonic()
        with self._lock:
            late = [r for r in self._runs.values() if not r.sent and r.send_by < now]
            lost = [
                r
                for r in self._runs.values()
                if r.sent and r.confirm_by is not None and now > r.confirm_by
            ]
        for run in late:
            if run.reason is not None:
                self._end(run, Outcome(run.run_id, "terminate", exc_text=run.reason))
                continue
            text = (
                f"the run was not sent to the Celery broker within {self.send_timeout_s:g} s "
                "(send_timeout_s)"
            )
            self._end(run, Outcome(run.run_id, "fail", exc_text=text))
            self._report("a send took longer than send_timeout_s")
        for run in lost:
            self._end(
                run,
                Outcome(
                    run.run_id,
                    "crash",
                    exc_text=f"{run.reason}: no Celery worker confirmed the revocation "
                    f"within {self.terminate_grace_s:g} s (terminate_grace_s); the "
                    "worker was lost, none consumes the queue, or the result backend "
                    "did not answer",
                ),
            )

    def _poll(self) -> None:
        backend = self.app.backend
        with self._lock:
            runs = [r for r in self._runs.values() if r.sent]
        if not runs:
            return
        metas = self._read(backend, [r.task_id for r in runs])
        for run, meta in zip(runs, metas, strict=True):
            outcome = None if meta is None else self._outcome(run, meta)
            if outcome is not None:
                with contextlib.suppress(Exception):  # it expires anyway
                    backend.forget(run.task_id)
                self._end(run, outcome)

    @staticmethod
    def _read(backend: Any, task_ids: list[str]) -> list[dict[str, Any] | None]:
        """The stored state of each task (None while it has none)."""
        if isinstance(backend, KeyValueStoreBackend):
            keys = [backend.get_key_for_task(t) for t in task_ids]
            values = backend.mget(keys)
            if isinstance(values, Mapping):  # memcached and the cache backends answer by key
                values = [values.get(k, values.get(k.decode())) for k in keys]
            return [None if v is None else backend.decode_result(v) for v in values]
        metas = [backend.get_task_meta(t) for t in task_ids]
        return [None if m.get("status") == "PENDING" else m for m in metas]

    def _outcome(self, run: _CeleryRun, meta: Mapping[str, Any]) -> Outcome | None:
        """The run's end from the backend's record of it, or None while it is not over."""
        status, result = meta.get("status"), meta.get("result")
        if status == "SUCCESS" and isinstance(result, dict) and result.get("action") in _ACTIONS:
            self._replay(result.get("records") or ())
            action: OutcomeAction = result["action"]
            if run.reason is not None and action != "inaction":
                return Outcome(run.run_id, "terminate", exc_text=run.reason)
            value = None
            if result.get("value") is not None:
                try:
                    value = decode(result["value"])
                except Exception as exc:
                    return Outcome(
                        run.run_id, "fail", exc_text=f"the return value could not be read: {exc!r}"
                    )
            return Outcome(run.run_id, action, value, result.get("exc_text"), result.get("control"))
        if status == "REVOKED":
            return Outcome(run.run_id, "terminate", exc_text=run.reason or "revoked in Celery")
        if status == "FAILURE":
            kind = type(result).__name__
            text = meta.get("traceback") or f"{kind}: {result}"
            if run.reason is not None or kind in ("TimeLimitExceeded", "Terminated"):
                return Outcome(run.run_id, "terminate", exc_text=run.reason or text)
            action = "crash" if kind == "WorkerLostError" else "fail"
            return Outcome(run.run_id, action, exc_text=text)
        if status == "SUCCESS":
            return Outcome(
                run.run_id,
                "fail",
                exc_text=f"the Celery task returned {result!r}, not a skylaunch outcome "
                f"(is another task registered as {TASK_NAME!r}?)",
            )
        return None  # PENDING, RECEIVED, STARTED, RETRY: not over

    @staticmethod
    def _replay(records: Any) -> None:
        """Hand the run's records to this process's loggers, as if logged here."""
        for data in records:
            if not isinstance(data, dict):
                continue
            record = logging.makeLogRecord(data)
            record.args = None
            target = logging.getLogger(record.name)
            if target.isEnabledFor(record.levelno):
                target.handle(record)
