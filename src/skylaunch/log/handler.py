"""Writing task records to a repo through the standard ``logging`` module, without losing any.

:class:`RepoHandler` turns each ``logging.LogRecord`` into the repo's item and writes it. When
the repo is unavailable for now (a raised exception listed in its ``transient_errors``), the
item waits in an ordered in-memory buffer and is retried with exponential backoff: on a later
``emit``, on :meth:`RepoHandler.flush`, and from a small timer thread the handler owns, so the
caller's thread never sleeps. Items are written in order and never twice (a batch is taken
off the buffer only after the repo accepted it).

Records without an ``action`` (user lines from :func:`skylaunch.log.context.task_log`, which
propagate to the task logger) are not task actions and are skipped. Lifecycle records bound for
a repo that takes trusted writes (the default :class:`~skylaunch.log.MemoryRepo`) skip copying,
formatting and validation: the handler hands the repo a plain dict of the record's fields.

Any other failure is not retried: ``emit`` raises :class:`~skylaunch.exc.TaskLoggingError`
itself rather than going through ``logging``'s ``handleError`` (which would print and swallow
it), so the scheduler decides, through ``silence_task_logging``, whether to go on.
"""

from __future__ import annotations

import logging
import threading
import time
import typing
from collections import deque
from collections.abc import Callable, Sequence
from copy import copy
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from skylaunch.exc import RepoUnavailableError, TaskLoggingError
from skylaunch.log.query import Equal, GreaterEqual, Operator, Query
from skylaunch.log.records import Action
from skylaunch.log.repos.base import BaseRepo, field_getter

__all__ = ["RepoHandler", "restore_query", "restore_recent", "restore_times"]

# What a repo that does not declare ``transient_errors`` (a Red Bird repo, a user's own) may
# raise when its storage is away for a moment.
_DEFAULT_TRANSIENT: tuple[type[BaseException], ...] = (
    RepoUnavailableError,
    ConnectionError,
    TimeoutError,
)


_ACTIONS = frozenset(typing.get_args(Action))


class RepoHandler(logging.Handler):
    """A ``logging.Handler`` that stores records in a log repo (Red Bird's ``RepoHandler``).

    ``model`` is the record model items are built with; by default the repo's own model (our
    repos), else the record's attributes are passed as a dict (any ``add``-able repo).
    ``retry_initial_s`` and ``retry_max_s`` bound the backoff between write attempts while
    the repo is unavailable.
    """

    def __init__(
        self,
        repo: Any,
        *,
        model: type[BaseModel] | None = None,
        level: int = logging.NOTSET,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 30.0,
        batch_size: int = 500,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(level)
        if not callable(getattr(repo, "add", None)):
            raise TypeError(f"RepoHandler needs a repo with an add() method; got {repo!r}")
        if retry_initial_s <= 0 or retry_max_s < retry_initial_s:
            raise ValueError(
                f"need 0 < retry_initial_s <= retry_max_s; got {retry_initial_s!r}, {retry_max_s!r}"
            )
        self.repo = repo
        self.model = model if model is not None else getattr(repo, "model", None)
        if self.model is not None and not (
            isinstance(self.model, type) and issubclass(self.model, BaseModel)
        ):
            self.model = None  # e.g. Red Bird's model=dict
        self.transient_errors: tuple[type[BaseException], ...] = getattr(
            repo, "transient_errors", _DEFAULT_TRANSIENT
        )
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self._ours = isinstance(repo, BaseRepo)
        # The fast path: our memory repo, with no model override and a model the trusted
        # fields fill completely.
        trusted = getattr(repo, "add_trusted", None)
        self._trusted: Callable[[dict[str, Any]], None] | None = (
            trusted
            if callable(trusted)
            and getattr(repo, "takes_trusted", False)
            and (model is None or model is getattr(repo, "model", None))
            else None
        )
        self.failing = False
        """True from a transient write failure until the buffer has been written out."""
        self._batch_size = batch_size if self._ours else 1
        self._monotonic = monotonic
        self._buffer: deque[Any] = deque()
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._delay_s = retry_initial_s
        self._next_try = 0.0
        self._wake = threading.Event()
        self._closed = False
        self._timer: threading.Thread | None = None
        self._timer_lock = threading.Lock()
        self.last_error: BaseException | None = None
        """The most recent write failure (transient or not), for health checks."""

    def __repr__(self) -> str:
        return f"<RepoHandler {self.repo!r} pending={self.pending}>"

    @property
    def pending(self) -> int:
        """Records waiting for the repo to come back."""
        return len(self._buffer)

    @property
    def takes_trusted(self) -> bool:
        """Whether :meth:`emit_trusted` skips the ``LogRecord`` path (our memory repo)."""
        return self._trusted is not None

    def emit_trusted(self, fields: dict[str, Any]) -> None:
        """Write a lifecycle record given as its fields (``TRUSTED_FIELDS``), no ``LogRecord``.

        The session's hot path, used only when this handler is the sole consumer of the task
        logger's records; the dict is stored as it is (do not reuse it).
        """
        if self._trusted is not None:
            self._write_trusted(fields)
            return
        item = self.repo.to_item(fields) if self._ours else fields
        with self._buffer_lock:
            self._buffer.append(item)
        if self._monotonic() >= self._next_try:
            self._drain(blocking=False)

    def _write_trusted(self, fields: dict[str, Any]) -> None:
        if not self._buffer:
            try:
                self._trusted(fields)  # type: ignore[misc]
            except self.transient_errors as exc:
                with self._buffer_lock:
                    self._buffer.append(fields)
                self._backoff(exc)
            return
        with self._buffer_lock:
            self._buffer.append(fields)
        if self._monotonic() >= self._next_try:
            self._drain(blocking=False)

    def pending_items(self) -> list[Any]:
        """A copy of the buffered items, oldest first (restore adds them to what the repo has)."""
        with self._buffer_lock:
            return list(self._buffer)

    # -- building items -----------------------------------------------------------------------

    def to_item(self, record: logging.LogRecord) -> Any:
        """The repo item for ``record``: its attributes plus ``message``/``formatted_message``."""
        record = copy(record)  # formatting caches text on the record; keep the caller's intact
        data = vars(record)
        data["message"] = record.getMessage()
        data["formatted_message"] = self.format(record)
        if not isinstance(record.msg, str):
            data["msg"] = str(record.msg)
        if self._ours:
            return self.repo.to_item(data)
        if self.model is not None:
            return self.model.model_validate(data)
        return data

    # -- logging.Handler ----------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record and write what is queued, unless a retry is not yet due.

        Records without an ``action`` are skipped. Raises :class:`TaskLoggingError` for
        failures that retrying will not fix.
        """
        fields = record.__dict__
        action = fields.get("action")
        if action is None:
            return
        trusted = self._trusted
        task_name = fields.get("task_name")
        # Records that do not look like the lifecycle's own go through validation instead.
        if (
            trusted is not None
            and action in _ACTIONS
            and type(task_name) is str
            and not isinstance(fields.get("run_id"), (int, float))
        ):
            self._write_trusted(
                {
                    "task_name": task_name,
                    "action": action,
                    "created": record.created,
                    "start": fields.get("start"),
                    "end": fields.get("end"),
                    "runtime": fields.get("runtime"),
                    "message": record.getMessage(),
                    "exc_text": record.exc_text,
                    "run_id": fields.get("run_id"),
                }
            )
            return
        try:
            item = self.to_item(record)
        except Exception as exc:
            raise TaskLoggingError(
                f"cannot log the record of task {getattr(record, 'task_name', None)!r} "
                f"(action {getattr(record, 'action', None)!r}) to {self.repo!r}: {exc}"
            ) from exc
        with self._buffer_lock:
            self._buffer.append(item)
        if self._monotonic() >= self._next_try:
            self._drain(blocking=False)

    def flush(self, timeout: float = 0.0) -> bool:  # type: ignore[override]
        """Write what is buffered, retrying with backoff for up to ``timeout`` seconds.

        Returns whether the buffer is empty. ``logging.shutdown`` calls it without arguments:
        one immediate attempt, no waiting.
        """
        deadline = self._monotonic() + max(0.0, timeout)
        while True:
            if self._drain(blocking=True):
                return True
            remaining = deadline - self._monotonic()
            if remaining <= 0 or self._closed:
                return False
            self._wake.wait(min(self._delay_s, remaining))

    def close(self, timeout: float = 0.0) -> None:
        """Stop the retry thread after a last write attempt (waiting up to ``timeout``)."""
        try:
            self.flush(timeout)
        finally:
            self._closed = True
            self._wake.set()
            timer = self._timer
            if timer is not None and timer is not threading.current_thread():
                timer.join(5.0)
            super().close()

    # -- writing ------------------------------------------------------------------------------

    def _drain(self, *, blocking: bool) -> bool:
        """Write buffered items in order; ``True`` when the buffer ended up empty.

        Only one thread writes at a time. ``blocking=False`` (emit) leaves the items to the
        thread already writing instead of waiting for it; that thread looks at the buffer
        again after letting go of the lock, so nothing is left behind.
        """
        while True:
            if not self._write_lock.acquire(blocking=blocking):
                return False
            try:
                done = self._drain_locked()
            finally:
                self._write_lock.release()
            if not done or not self._buffer:
                return done

    def _drain_locked(self) -> bool:
        while True:
            with self._buffer_lock:
                batch = [self._buffer[i] for i in range(min(self._batch_size, len(self._buffer)))]
            if not batch:
                self._delay_s = self.retry_initial_s
                self._next_try = 0.0
                self.failing = False
                return True
            try:
                self._write(batch)
            except self.transient_errors as exc:
                self._backoff(exc)
                return False
            except Exception as exc:
                self.last_error = exc
                self._reject(batch, exc)

    def _write(self, batch: Sequence[Any]) -> None:
        if self._ours:
            self.repo.insert_items(batch)
        else:
            self.repo.add(batch[0])
        with self._buffer_lock:
            for _ in batch:
                self._buffer.popleft()

    def _reject(self, batch: Sequence[Any], exc: Exception) -> None:
        """A non-transient failure: write the batch's good items, drop and report the bad one."""
        if len(batch) > 1:
            # One by one, to find the culprit; the items before it are written.
            culprit = next((e for e in map(self._try_one, batch) if e is not None), None)
            if culprit is None:
                return
            exc = culprit
        with self._buffer_lock:
            bad = self._buffer.popleft()
        get = field_getter(bad)
        raise TaskLoggingError(
            f"cannot write the record of task {get('task_name')!r} (action {get('action')!r}) "
            f"to {self.repo!r}: {type(exc).__name__}: {exc}"
        ) from exc

    def _try_one(self, item: Any) -> Exception | None:
        try:
            self._write([item])
        except self.transient_errors as again:
            self._backoff(again)
            raise TaskLoggingError(
                f"{self.repo!r} became unavailable while isolating a failed record"
            ) from again
        except Exception as exc:
            return exc
        return None

    def _backoff(self, exc: BaseException) -> None:
        self.last_error = exc
        self.failing = True
        self._next_try = self._monotonic() + self._delay_s
        self._delay_s = min(self._delay_s * 2, self.retry_max_s)
        self._start_timer()

    def _start_timer(self) -> None:
        with self._timer_lock:
            if self._closed or self._timer is not None:
                return
            self._timer = threading.Thread(
                target=self._retry_loop, name=f"skylaunch-repo-retry-{id(self):x}", daemon=True
            )
            self._timer.start()

    def _retry_loop(self) -> None:
        """Retry until the buffer is empty; the next transient failure starts a new loop."""
        while True:
            self._wake.wait(max(0.0, self._next_try - self._monotonic()))
            if not self._closed:
                try:
                    self._drain(blocking=True)
                except TaskLoggingError:
                    continue  # that record was dropped and reported; keep writing the rest
            with self._timer_lock:
                if self._closed or not self._buffer:
                    self._timer = None
                    return


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def restore_times(
    repo: Any, task_name: str, *, limit: int, actions: Sequence[str]
) -> dict[str, list[float]]:
    """Per action, the ``created`` of the task's newest ``limit`` records, oldest first.

    What start-up needs for the history that conditions read: one index seek per action on
    SQL reading one column (no model built, no strings), bucket slices in memory. Any other
    repo is read once with ``filter_by(task_name=...)``.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0; got {limit!r}")
    found: dict[str, list[float]] = {}
    if isinstance(repo, BaseRepo):
        for action in actions:
            query = Query((("task_name", Equal(task_name)), ("action", Equal(action))))
            values = repo.query_column(query, "created", order="-created", limit=limit)
            times = [v if type(v) is float else _seconds(v) for v in values if v is not None]
            times.reverse()
            found[action] = times
        return found
    wanted = set(actions)
    for item in restore_query(repo, task_name, limit=2**62):
        get = field_getter(item)
        action, created = get("action"), get("created")
        if action in wanted and created is not None:
            times = found.setdefault(action, [])
            if len(times) < limit:
                times.append(_seconds(created))
    for times in found.values():
        times.reverse()
    return found


def restore_recent(repo: Any, task_name: str, *, limit: int) -> list[tuple[float, str, str | None]]:
    """The task's newest ``limit`` records of any action as ``(created, action, run_id)``,
    oldest first: the window in which start-up looks for runs that never ended."""
    if isinstance(repo, BaseRepo):
        query = Query((("task_name", Equal(task_name)),))
        values = repo.query_values(
            query, ("created", "action", "run_id"), order="-created", limit=limit
        )
        rows = [(_seconds(c), a, r) for c, a, r in values if c is not None]
    else:
        rows = []
        for item in restore_query(repo, task_name, limit=limit):
            get = field_getter(item)
            if get("created") is not None:
                rows.append((_seconds(get("created")), get("action"), get("run_id")))
    rows.reverse()
    return rows


def restore_query(
    repo: Any, task_name: str, since: float | None = None, limit: int = 1000
) -> list[Any]:
    """A task's newest records, newest first: what start-up needs to rebuild its history.

    ``since`` (POSIX seconds, inclusive) and ``limit`` bound the read. Our repos answer from
    an index (SQL: ``ORDER BY created DESC LIMIT n`` on ``(task_name, created)``; memory: the
    task's buckets); any other repo is read with ``filter_by(task_name=...)`` and sorted here.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0; got {limit!r}")
    if isinstance(repo, BaseRepo):
        conditions: list[tuple[str, Operator]] = [("task_name", Equal(task_name))]
        if since is not None:
            conditions.append(("created", GreaterEqual(since)))
        return list(repo.query_items(Query(tuple(conditions)), order="-created", limit=limit))
    found = list(repo.filter_by(task_name=task_name).all())

    def created(item: Any) -> float:
        value = field_getter(item)("created")
        return float("-inf") if value is None else _seconds(value)

    if since is not None:
        found = [item for item in found if created(item) >= since]
    found.reverse()  # newest insertion first among equal ``created``
    found.sort(key=created, reverse=True)
    return found[:limit]
