"""The worker side of ``CeleryExecutor``: one Celery task that runs a skylaunch run.

A Celery worker runs skylaunch tasks once its app has the task registered, which is one line in
the module that defines the Celery app the workers load (``celery -A proj.celery_app worker``)::

    from skylaunch.execution.celery_worker import register
    register(celery_app)

The message a run is sent as names the function by its import path (``package.module:name``),
so the worker imports it as it would import its own tasks (a callable object, such as a code
task's, travels pickled instead); the parameters travel pickled (the
same values ``execution="process"`` sends to its child). What the run logs is caught here,
stamped with the run's task name and id, and sent back with the result: the scheduler hands
the records to its own loggers when the run's outcome arrives, before it records the end.

This module imports nothing from Celery: the worker's app is given to :func:`register`.
"""

from __future__ import annotations

import base64
import importlib
import logging
import pickle
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from skylaunch.args import CallInChild, FuncArg
from skylaunch.exc import TaskTermination
from skylaunch.execution.base import Outcome, TaskCall, outcome_of, run_call
from skylaunch.log.context import RunContextFilter

__all__ = [
    "MAX_RECORDS",
    "TASK_NAME",
    "decode",
    "defer",
    "encode",
    "import_path",
    "register",
    "run_remote",
]

#: The name of the Celery task that runs skylaunch runs (the executor sends to it).
TASK_NAME = "skylaunch.run"

#: Records of one run sent back at most; the rest are counted in a last warning record.
MAX_RECORDS = 1000

_PLAIN = (str, int, float, bool, type(None))
_SKIP = frozenset({"args", "exc_info", "msg", "message", "stack_info"})


def encode(value: object) -> str:
    """Pickle ``value`` into text that a JSON message can carry."""
    return base64.b64encode(pickle.dumps(value)).decode("ascii")


def decode(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))


def import_path(path: str) -> Callable[..., Any]:
    """The object at ``package.module:qualified.name``."""
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{path} is not callable ({type(obj).__name__})")
    return obj  # type: ignore[no-any-return]


class _Capture(logging.Handler):
    """Keeps the records a run logs (as plain dicts), up to ``MAX_RECORDS``."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[dict[str, Any]] = []
        self.dropped = 0
        self.addFilter(RunContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) >= MAX_RECORDS:
            self.dropped += 1
            return
        data = {k: v for k, v in record.__dict__.items() if k not in _SKIP and type(v) in _PLAIN}
        data["msg"] = record.getMessage()
        if record.exc_info and not record.exc_text:
            data["exc_text"] = logging.Formatter().formatException(record.exc_info)
        self.records.append(data)


def _call_of(spec: Mapping[str, Any]) -> TaskCall:
    target: str = spec["func"]
    # A function by its import path; a callable object (a code task's) pickled
    func = decode(target[7:]) if target.startswith("pickle:") else import_path(target)
    kwargs, deferred = decode(spec["args"])
    kwargs = dict(kwargs)
    if deferred:
        func = CallInChild(func, deferred)
    flag = threading.Event()  # the run's TerminationFlag here (Celery ends a run by signal)
    for name in spec.get("flags", ()):
        kwargs[name] = flag
    return TaskCall(spec["task"], spec["run"], func, kwargs, None, flag)


def _in_pool_child() -> bool:
    """Whether this is the main thread of a process a Celery pool (prefork) started."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        from billiard.process import current_process
    except ImportError:  # pragma: no cover - Celery always brings billiard
        return False
    return getattr(current_process(), "_parent_pid", None) is not None


@contextmanager
def _terminable(flag: threading.Event | None) -> Iterator[None]:
    """In a prefork child, SIGTERM (``revoke(terminate=True)``) ends the run, not the child.

    The run's TerminationFlag is set and ``TaskTermination`` raised in the task, as in
    ``execution="process"``: ``finally`` blocks run and the pool keeps its child (a killed
    child takes the pool a second or more to replace). Elsewhere (solo pool: SIGTERM is the
    worker's own shutdown signal) nothing changes.
    """
    if flag is None or not _in_pool_child():
        yield
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        flag.set()
        raise TaskTermination("terminated by Celery (revoke, SIGTERM)")

    old = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_remote(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the call ``spec`` describes and return its outcome with the records it logged.

    Never raises for the run's own errors (they are its ``fail`` outcome, with the traceback):
    a Celery failure state means the worker itself lost the run.
    """
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(int(spec.get("level", logging.INFO)))
    try:
        try:
            call = _call_of(spec)
        except Exception as exc:
            outcome = outcome_of(spec["run"], exc)
        else:
            with _terminable(call.flag):  # type: ignore[arg-type]
                outcome = run_call(call)
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    value: str | None = None
    if outcome.action == "success" and outcome.value is not None:
        try:
            value = encode(outcome.value)
        except Exception as exc:
            outcome = Outcome(
                outcome.run_id,
                "fail",
                exc_text=(
                    f"the return value of task {spec['task']!r} ({type(outcome.value).__name__}) "
                    f"cannot be sent back from the Celery worker: {exc!r}"
                ),
            )
    records = capture.records
    if capture.dropped:
        records.append(
            {
                "name": "skylaunch.execution.celery",
                "levelno": logging.WARNING,
                "levelname": "WARNING",
                "msg": f"{capture.dropped} more record(s) of this run were not sent back "
                f"(at most {MAX_RECORDS} are)",
                "task_name": spec["task"],
                "run_id": spec["run"],
            }
        )
    return {
        "action": outcome.action,
        "value": value,
        "exc_text": outcome.exc_text,
        "control": outcome.control,
        "records": records,
    }


def register(app: Any, *, name: str = TASK_NAME) -> Any:
    """Register the task that runs skylaunch runs on the Celery ``app`` (idempotent).

    It is registered with ``acks_late`` and ``reject_on_worker_lost``: a worker lost in the
    middle of a run (killed, out of memory) leaves the message to the broker, which delivers
    it again to a worker; the scheduler records the run once, when a result arrives.
    """
    return app.task(
        name=name,
        acks_late=True,
        reject_on_worker_lost=True,
        # The run's errors are its outcome: Celery must not retry or log them as its own.
        autoretry_for=(),
        shared=False,
    )(run_remote)


def defer(func: Callable[..., Any]) -> tuple[Callable[..., Any], dict[str, FuncArg] | None]:
    """Split a run's target into the function and the ``FuncArg`` values made on the worker."""
    if isinstance(func, CallInChild):
        return func.func, func.deferred
    return func, None
