"""Writing task records to a repo through the standard ``logging`` module, without losing any.

:class:`RepoHandler` turns each ``logging.LogRecord`` into the repo's item and hands it to a
:class:`~skylaunch.log._queued.QueuedWriter`: a bounded queue written out, in order and in
batches, by one daemon thread. The caller (the scheduler's loop) never waits for the repo: a
``LOCK TABLE`` or a network that stops answering delays the records, not the scheduling. While
the repo is unavailable (a raised exception listed in its ``transient_errors``) the items stay
queued and are retried with exponential backoff; a batch leaves the queue only after the repo
accepted it, so items are written in order and never twice. Beyond ``max_queue`` waiting items
new ones are dropped, counted and reported (the in-memory history, which conditions read, still
has them). See docs/persistence.md for what this means for durability.

The in-memory repo (:class:`~skylaunch.log.MemoryRepo`, the default) cannot block: it is written
on the caller's thread, as fast as a dict append, and only a transient failure (a test double's)
sends items to the queue. Lifecycle records bound for it skip copying, formatting and
validation: the handler hands the repo a plain dict of the record's fields.

Records without an ``action`` (user lines from :func:`skylaunch.log.context.task_log`, which
propagate to the task logger) are not task actions and are skipped. A record that cannot be
turned into an item raises :class:`~skylaunch.exc.TaskLoggingError` from ``emit`` at once. A
write the repo refuses for good (not transient, e.g. a schema error) drops only the bad item;
its :class:`TaskLoggingError` is raised by the next ``emit`` or :meth:`RepoHandler.flush` (on
the caller's thread, so the scheduler decides through ``silence_task_logging`` whether to go on)
rather than going through ``logging``'s ``handleError``.
"""

from __future__ import annotations

import logging
import time
import typing
from collections import deque
from collections.abc import Callable, Iterator, Sequence, Sized
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from skylaunch.exc import FencedWriteError, RepoUnavailableError, TaskLoggingError
from skylaunch.history import Action
from skylaunch.log._lifecycle import Lifecycle, lifecycle_fields
from skylaunch.log._models import is_model_class
from skylaunch.log._queued import QueuedWriter, check_positive
from skylaunch.log.repos.base import BaseRepo, Repo, field_getter
from skylaunch.log.repos.foreign import as_store
from skylaunch.log.repos.memory import MemoryRepo

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["RepoHandler"]

# What a repo that does not declare ``transient_errors`` (a Red Bird repo, a user's own) may
# raise when its storage is away for a moment.
_DEFAULT_TRANSIENT: tuple[type[BaseException], ...] = (
    RepoUnavailableError,
    ConnectionError,
    TimeoutError,
)


_ACTIONS = frozenset(typing.get_args(Action))
#: Real seconds the handler's thread waits for a batch to fill while nobody waits for a
#: record to be stored (a run's write-ahead, a flush, the close): records come to the repo that
#: much later at most, in fewer, larger writes (see ``QueuedWriter``).
_LINGER_S = 0.02
#: ... only once a batch held this many records (a stream of them): the odd record, such as a
#: daily task's, is written at once, as soon as without lingering.
_LINGER_AFTER = 100


class RepoHandler(logging.Handler):
    """A ``logging.Handler`` that stores records in a log repo (Red Bird's ``RepoHandler``).

    ``model`` is the record model items are built with; by default the repo's own model (our
    repos), else the record's attributes are passed as a dict (any ``add``-able repo).
    ``retry_initial_s`` and ``retry_max_s`` bound the backoff between write attempts while
    the repo is unavailable. At most ``max_queue`` records wait to be written; ``close`` waits
    at most ``flush_timeout_s`` for them. ``background`` writes from the handler's thread
    (default: every repo but the in-memory one and a ``thread_bound`` one).
    """

    def __init__(
        self,
        repo: Repo,
        *,
        model: type[BaseModel] | None = None,
        level: int = logging.NOTSET,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 30.0,
        batch_size: int = 5_000,
        max_queue: int = 100_000,
        flush_timeout_s: float = 10.0,
        report_interval_s: float = 60.0,
        background: bool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(level)
        if not callable(getattr(repo, "add", None)):
            raise TypeError(f"RepoHandler needs a repo with an add() method; got {repo!r}")
        if (
            isinstance(retry_initial_s, bool)
            or not isinstance(retry_initial_s, (int, float))
            or not isinstance(retry_max_s, (int, float))
            or retry_initial_s <= 0
            or retry_max_s < retry_initial_s
        ):
            raise ValueError(
                f"need 0 < retry_initial_s <= retry_max_s; got {retry_initial_s!r}, {retry_max_s!r}"
            )
        check_positive("RepoHandler", "batch_size", batch_size, integer=True)
        check_positive("RepoHandler", "max_queue", max_queue, integer=True)
        check_positive("RepoHandler", "report_interval_s", report_interval_s)
        if isinstance(flush_timeout_s, bool) or not (
            isinstance(flush_timeout_s, (int, float)) and flush_timeout_s >= 0
        ):
            raise ValueError(f"RepoHandler flush_timeout_s: got {flush_timeout_s!r}; expected >= 0")
        self.repo = repo
        self._model = model
        self.transient_errors: tuple[type[BaseException], ...] = getattr(
            repo, "transient_errors", _DEFAULT_TRANSIENT
        )
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        # One interface from here on: a foreign repo is wrapped once (ForeignRepo), ours is
        # used as it is. ``repo`` stays what the caller gave (repr, the session's ``repo``).
        self.store = repo if isinstance(repo, BaseRepo) else as_store(repo, self.model)
        """The repo behind the internal interface (:class:`~skylaunch.log.repos.base.BaseRepo`)."""
        batches = self.store.writes_batches
        # A repo whose data only the calling thread sees (SQLRepo.thread_bound) is written
        # on the caller's thread too.
        self._inline = (
            isinstance(repo, MemoryRepo) or getattr(repo, "thread_bound", False) is True
            if background is None
            else not background
        )
        self.writes_inline: bool = self._inline
        """``not background`` as a plain attribute (fixed at construction): the scheduler
        reads it on every launch."""
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
        # Our memory repo, written on the caller's thread, stores a lifecycle record's parts.
        self._compact: Callable[[Lifecycle], None] | None = (
            repo.add_lifecycle
            if self._trusted is not None and self._inline and isinstance(repo, MemoryRepo)
            else None
        )
        self.compact_sink = self._compact
        """Our memory repo's ``add_lifecycle`` when records go to it as their parts, else None
        (fixed at construction). The scheduler's hot path calls it itself while nothing is
        queued (:attr:`queue_view` empty), as :meth:`emit_lifecycle` would, and hands a
        failure to :meth:`lifecycle_failed`."""
        # Written in the background: lifecycle field dicts are queued as they are and the
        # store builds its rows on the handler's thread (nothing validated on the loop's).
        self._trusted_queued = (
            not self._inline
            and self.store.takes_trusted
            and (model is None or model is getattr(repo, "model", None))
        )
        self.takes_lifecycle = (self._trusted is not None and self._inline) or self._trusted_queued
        """:attr:`takes_trusted` as a plain attribute (fixed at construction): the scheduler
        reads it on every record."""
        self._errors: deque[TaskLoggingError] = deque()
        self.failing = False
        """True from a transient write failure until the queue has been written out (a plain
        attribute: the scheduler reads it after every record)."""
        transient = self.transient_errors
        self._writer: QueuedWriter[Any] = QueuedWriter(
            f"Task records to {repo!r}",
            self._write,
            is_transient=lambda exc: isinstance(exc, transient),
            max_queue=max_queue,
            batch=batch_size if batches else 1,
            backoff_s=retry_initial_s,
            max_backoff_s=retry_max_s,
            report_interval_s=report_interval_s,
            close_timeout_s=flush_timeout_s,
            isolate=batches,
            on_reject=self._rejected,
            on_failing=self._set_failing,
            linger_s=_LINGER_S if batches and not self._inline else 0.0,
            linger_after=_LINGER_AFTER,
            unit="record",
            thread_name=f"skylaunch-repo-writer-{id(self):x}",
            monotonic=monotonic,
        )

        self._queued = self._writer.queue_view  # the hot path's "is anything waiting?"
        #: The records waiting for the handler's thread (read only: its truth and ``len``),
        #: for a caller's hot path; :attr:`pending` is the same count through a property.
        self.queue_view: Sized = self._queued

    @property
    def model(self) -> type[BaseModel] | None:
        """The pydantic model records are built with: ``model=``, else the repo's own (a
        repo's ``model`` that is no pydantic model, e.g. Red Bird's ``dict``, means none)."""
        model = self._model if self._model is not None else getattr(self.repo, "model", None)
        return model if is_model_class(model) else None

    def __repr__(self) -> str:
        return f"<RepoHandler {self.repo!r} pending={self.pending}>"

    @property
    def background(self) -> bool:
        """Whether writes happen on the handler's thread (never on the caller's)."""
        return not self._inline

    @property
    def accepted(self) -> int:
        """Records queued for the handler's thread since construction (a running count)."""
        return self._writer.accepted

    def when_written(self, callback: Callable[[bool], None]) -> bool | None:
        """Be told, without waiting, when the newest queued record has been stored.

        Returns None when it still waits: ``callback(stored)`` is then called once, from the
        handler's thread (or from :meth:`close`), with whether the repo took the record (False:
        refused for good, or dropped at close). When the record has left the queue already,
        returns that at once instead (True when nothing was ever queued).
        """
        return self._writer.when_settled(callback)

    @property
    def behind(self) -> bool:
        """The repo takes records slower than they come (see ``QueuedWriter.behind``): the
        scheduler then slows its launches down rather than let the queue fill and drop."""
        return self._writer.behind

    @property
    def pending(self) -> int:
        """Records waiting to be written (the repo is slow or unavailable)."""
        return self._writer.pending

    @property
    def dropped(self) -> int:
        """Records lost: the queue was full, or close timed out (each reported)."""
        return self._writer.dropped

    @property
    def written(self) -> int:
        """Records the handler's thread wrote (those written on the caller's thread excluded)."""
        return self._writer.written

    @property
    def last_error(self) -> BaseException | None:
        """The most recent write failure (transient or not), for health checks."""
        return self._writer.last_error

    @property
    def takes_trusted(self) -> bool:
        """Whether :meth:`emit_trusted` skips the ``LogRecord`` path: our memory repo, or a
        repo written in the background whose model the lifecycle fields fill
        (:attr:`~skylaunch.log.repos.base.BaseRepo.takes_trusted`)."""
        return self.takes_lifecycle

    def emit_trusted(self, fields: dict[str, Any]) -> None:
        """Write a lifecycle record given as its fields (those of
        :class:`~skylaunch.log.records.TaskRunRecord`), no ``LogRecord``.

        The session's hot path, used only when this handler is the sole consumer of the task
        logger's records; the dict is stored (or queued) as it is (do not reuse it).
        """
        if self._trusted_queued:
            self._writer.put(fields)
            self._raise_deferred()
        elif self._trusted is not None:
            self._write_trusted(fields)
        else:
            self._enqueue(self.store.to_item(fields))

    def emit_lifecycle(self, parts: Lifecycle) -> None:
        """:meth:`emit_trusted` for a record given as its parts (the scheduler's hot path).

        Our memory repo stores the parts as they are (no fields dict until the record is
        read); every other store gets the fields dict."""
        compact = self._compact
        if compact is not None and not self._queued:
            try:
                compact(parts)
            except Exception as exc:
                self.lifecycle_failed(parts, exc)
            return
        self.emit_trusted(lifecycle_fields(*parts))

    def lifecycle_failed(self, parts: Lifecycle, exc: Exception) -> None:
        """Storing ``parts`` through :attr:`compact_sink` raised ``exc``: a transient error
        queues the record to be retried; any other is raised again."""
        if not isinstance(exc, self.transient_errors):
            raise exc
        self._writer.put_failed(lifecycle_fields(*parts), exc)

    def _write_trusted(self, fields: dict[str, Any]) -> None:
        if self._inline and not self._queued:
            try:
                self._trusted(fields)  # type: ignore[misc]
            except self.transient_errors as exc:
                self._writer.put_failed(fields, exc)
            return
        self._writer.put(fields)
        self._raise_deferred()

    def pending_items(self) -> list[Any]:
        """A copy of the queued items, oldest first (restore adds them to what the repo has)."""
        return self._writer.pending_items()

    @contextmanager
    def holding_writes(self) -> Iterator[None]:
        """While inside, no write starts or ends: read the repo, then :meth:`pending_items`,
        and no record is seen in both or in neither."""
        with self._writer.holding_writes():
            yield

    # -- building items -----------------------------------------------------------------------

    def to_item(self, record: logging.LogRecord) -> Any:
        """The repo item for ``record``: its attributes plus ``message``/``formatted_message``."""
        from copy import copy  # here: the first pass logs no such record (bench W5's import)

        record = copy(record)  # formatting caches text on the record; keep the caller's intact
        data = vars(record)
        data["message"] = record.getMessage()
        data["formatted_message"] = self.format(record)
        if not isinstance(record.msg, str):
            data["msg"] = str(record.msg)
        return self.store.to_item(data)

    # -- logging.Handler ----------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record (memory repo) or queue it for the handler's thread.

        Records without an ``action`` are skipped. Raises :class:`TaskLoggingError` for a
        record that cannot be stored, and for one the repo refused since the last call.
        """
        fields = record.__dict__
        action = fields.get("action")
        if action is None:
            return
        trusted = self._trusted
        task_name = fields.get("task_name")
        # Records that do not look like the lifecycle's own go through validation instead.
        if (
            (trusted is not None or self._trusted_queued)
            and action in _ACTIONS
            and type(task_name) is str
            and not isinstance(fields.get("run_id"), (int, float))
        ):
            self.emit_trusted(
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
        self._enqueue(item)

    def _enqueue(self, item: Any) -> None:
        writer = self._writer
        if not self._inline or self._queued:
            writer.put(item)
            self._raise_deferred()
            return
        try:
            self._write([item])
        except self.transient_errors as exc:
            writer.put_failed(item, exc)
        except Exception as exc:
            writer.last_error = exc
            raise self._refused(item, exc) from exc

    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait up to ``timeout`` seconds for what is queued to be written (a retry waiting
        for its backoff is made at once). Returns whether nothing is left, and raises the
        :class:`TaskLoggingError` of a record the repo refused since the last call.

        Without a timeout (how ``logging.shutdown`` calls it, before :meth:`close`) it only
        wakes the handler's thread: no waiting, nothing raised.
        """
        if timeout is None:
            return self._writer.flush(0.0)
        done = self._writer.flush(max(0.0, timeout))
        self._raise_deferred()
        return done

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, waiting up to ``timeout`` (default ``flush_timeout_s``), then
        stop the handler's thread. Unwritten records stay in :meth:`pending_items`, are counted
        in :attr:`dropped` and reported."""
        try:
            self._writer.close(timeout)
            while self._errors:
                error = self._errors.popleft()
                logging.getLogger("skylaunch.scheduler").error("%s", error)
        finally:
            super().close()

    # -- writing (the handler's thread, or the caller's for the memory repo) -----------------

    def _write(self, batch: Sequence[Any]) -> None:
        self.store.insert_items(batch)

    def _refused(self, item: Any, exc: BaseException) -> TaskLoggingError:
        get = field_getter(item)
        return TaskLoggingError(
            f"cannot write the record of task {get('task_name')!r} (action {get('action')!r}) "
            f"to {self.repo!r}: {type(exc).__name__}: {exc}"
        )

    def _rejected(self, items: list[Any], exc: BaseException) -> None:
        if isinstance(exc, FencedWriteError):
            # A replica without the lease: its records are not the history (not an error).
            logging.getLogger("skylaunch.coordination").debug("%d record(s): %s", len(items), exc)
            return
        for item in items:
            error = self._refused(item, exc)
            error.__cause__ = exc
            self._errors.append(error)

    def _set_failing(self, value: bool) -> None:
        self.failing = value

    def _raise_deferred(self) -> None:
        if self._errors:
            raise self._errors.popleft()
