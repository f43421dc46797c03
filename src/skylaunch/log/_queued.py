"""The one base for outputs whose backend may be slow, away, or not answer at all.

The scheduler's loop must never wait for a database, an SMTP server or Redis. An output built on
:class:`QueuedWriter` only appends to a bounded in-memory queue on the caller's thread; one
daemon thread per output, started by the first item, writes batches in order. What it
guarantees, and what the output contract suite (``tests/log/outputs/test_contract.py``) checks
for every output:

- **The caller never waits.** :meth:`QueuedWriter.put` takes a lock held only for queue
  bookkeeping, never across a write.
- **Bounded memory, truthful drops.** At most ``max_queue`` items wait (the batch in flight
  included); beyond that, and after close, items are dropped and counted. Drops are reported on
  ``skylaunch.scheduler`` at most once per ``report_interval_s``, each report giving the count
  since the previous one and the running total (so the reports add up to the total), and once
  more at close with the final total.
- **Outages are survived.** A failure the backend may recover from (``is_transient``) keeps the
  batch at the head of the queue and is retried with exponential backoff; the first failure is
  reported with its traceback, later ones as counts at most once per ``report_interval_s``, and
  the recovery in one line. Any other failure rejects the batch (optionally item by item, to find
  the bad one): retrying it could never succeed and would hold the queue for good.
- **A bounded exit.** :meth:`QueuedWriter.close` makes one immediate attempt, waits at most
  ``close_timeout_s`` for the queue to drain, then counts what is left as dropped and reports
  the totals. A write blocked in the backend is abandoned (the thread is a daemon).
- **Confirmations.** :meth:`QueuedWriter.when_settled` tells a caller, without making it wait,
  when the newest queued item has left the queue and whether the backend took it (the
  scheduler's write-ahead of a run record).
- **Fuller batches, optionally.** With ``linger_s``, a worker whose last batch held at least
  ``linger_after`` items (a stream, not the odd item) and that finds fewer than a batch
  waiting waits up to ``linger_s`` (real seconds, from the first item queued or the end of the
  last write) for more, unless someone waits for them: a confirmation, a flush, the close, or
  a retry after a failure. Fewer, larger writes cost the backend and the producer's thread
  less (each write takes the GIL from it several times); the odd item is written at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence, Sized
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

__all__: list[str] = []

T = TypeVar("T")

_scheduler_log = logging.getLogger("skylaunch.scheduler")
#: How recent the last written batch must be for a writer to count as draining (``behind``).
_PROGRESS_WINDOW_S = 1.0


class WriterCounts:
    """``sent``/``dropped``/``pending`` of an output that writes through a :class:`QueuedWriter`
    (``self._writer``); the output names its refusals itself (``failed``, ``rejected``)."""

    _writer: QueuedWriter[Any]

    @property
    def sent(self) -> int:
        """Items the backend took."""
        return self._writer.written

    @property
    def dropped(self) -> int:
        """Items lost: the queue was full, the output closed, or close timed out."""
        return self._writer.dropped

    @property
    def pending(self) -> int:
        """Items waiting to be sent (the batch in flight included)."""
        return self._writer.pending


def backoff_delay(failures: int, initial_s: float, max_s: float) -> float:
    """The wait before the next attempt after ``failures`` consecutive failures (>= 1)."""
    return float(min(max_s, initial_s * 2.0 ** min(failures - 1, 60)))


def check_positive(owner: str, name: str, value: object, *, integer: bool = False) -> None:
    """Raise a ``ValueError`` naming ``owner`` and ``name`` unless ``value`` is a number > 0."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{owner} {name}: got {value!r}; expected {kind} > 0")


class QueuedWriter(Generic[T]):
    """A bounded queue written out by one worker thread, in order, in batches.

    ``describe`` names the output in reports (a URL without its password, a mail server);
    ``name_items`` names rejected items in them.

    ``write(batch)`` stores a batch or raises. ``is_transient(exc)`` says whether a failure is
    worth retrying. ``isolate`` retries a rejected batch one item at a time so only the bad
    items are rejected (for writes that are all-or-nothing, such as one SQL insert).
    ``on_failing(flag)`` is told when :attr:`failing` changes (a flag a hot path can read
    as a plain attribute). ``on_reject(items, exc)`` is told about rejected items; by default they are reported here,
    rate-limited. ``on_stop`` runs on the worker thread when it ends (to release a connection
    the worker may still be using), or at close when no worker was ever started.
    """

    def __init__(
        self,
        describe: str,
        write: Callable[[list[T]], None],
        *,
        is_transient: Callable[[BaseException], bool],
        max_queue: int,
        batch: int = 100,
        backoff_s: float = 0.1,
        max_backoff_s: float = 30.0,
        report_interval_s: float = 60.0,
        close_timeout_s: float = 5.0,
        isolate: bool = False,
        on_reject: Callable[[list[T], BaseException], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        on_failing: Callable[[bool], None] | None = None,
        linger_s: float = 0.0,
        linger_after: int = 0,
        name_items: Callable[[list[T]], str] | None = None,
        unit: str = "item",
        thread_name: str = "skylaunch-output",
        logger: logging.Logger = _scheduler_log,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.describe = describe
        self._write = write
        self._is_transient = is_transient
        self.max_queue = max_queue
        self.batch = batch
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.report_interval_s = report_interval_s
        self.close_timeout_s = close_timeout_s
        self._isolate = isolate
        self._on_reject = on_reject
        self._on_stop = on_stop
        self._on_failing = on_failing
        self.linger_s = linger_s
        self.linger_after = linger_after
        self._name_items = name_items
        self._unit = unit
        self._thread_name = thread_name
        self._log = logger
        self._monotonic = monotonic
        self.write_lock = threading.RLock()
        """Held around every write: :meth:`holding_writes` uses it to read a consistent view."""
        self._reset()

    def _reset(self) -> None:
        """Fresh state: at construction, and in a forked child (the parent's thread is not ours)."""
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        if hasattr(self, "_queue"):
            self._queue.clear()  # the same deque: callers may hold it (see ``queue_view``)
        else:
            self._queue: deque[T] = deque()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._stopped = False
        self.accepted = 0
        """Items queued since construction."""
        self.written = 0
        """Items the backend took."""
        self.rejected = 0
        """Items the backend refused for good (reported; not retried)."""
        self.dropped = 0
        """Items lost: the queue was full, the output was closed, or close timed out."""
        self.failures = 0
        """Failed write attempts the backend may recover from (each retried)."""
        self.last_error: BaseException | None = None
        """The most recent failure, transient or not."""
        self._failing = False
        self._consecutive = 0
        self._retry_at = 0.0
        self._dropped_reported = 0
        self._drop_reported_at: float | None = None
        self._failures_reported = 0
        self._failure_reported_at: float | None = None
        self._traceback_shown: type[BaseException] | None = None
        # (item number, callback) of :meth:`when_settled`, in item order; the item numbered n
        # is the n-th accepted one, and it leaves the queue when ``_settled_locked() >= n``.
        self._tickets: deque[tuple[int, Callable[[bool], None]]] = deque()
        self._last_stored = True  # whether the newest item that left the queue was written
        self._progress_at: float | None = None  # monotonic time of the last batch written
        self._linger_from = 0.0  # real monotonic time a lingering worker counts from
        self._flushes = 0  # flush() calls waiting: the worker does not linger for them
        self._last_batch = 0  # items in the last batch that left the queue

    # -- the caller's side ----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Items waiting to be written (the batch in flight included)."""
        return len(self._queue)

    @property
    def failing(self) -> bool:
        """True from a transient failure until the queue has been written out."""
        return self._failing

    def _set_failing(self, value: bool) -> None:
        if value is not self._failing:
            self._failing = value
            if self._on_failing is not None:
                self._on_failing(value)

    @property
    def behind(self) -> bool:
        """The backend takes items, but slower than they come: half the queue or more waits
        while batches were written within the last second. A producer that can slow
        down should (:class:`~skylaunch.log.handler.RepoHandler`'s scheduler does), or the
        queue fills and drops. False while the backend fails or stops answering: then
        nothing would drain the queue, and waiting for it would stop the producer."""
        if len(self._queue) * 2 < self.max_queue or self._failing:
            return False
        progress = self._progress_at
        return progress is not None and self._monotonic() - progress <= _PROGRESS_WINDOW_S

    @property
    def queue_view(self) -> Sized:
        """The queue itself, for a hot path's emptiness test (read only, no lock)."""
        return self._queue

    @property
    def idle(self) -> bool:
        """Nothing waits: a write made now on the caller's thread would keep the order."""
        return not self._queue

    @property
    def closed(self) -> bool:
        return self._closing

    def pending_items(self) -> list[T]:
        """A copy of what waits, oldest first."""
        with self._cond:
            return list(self._queue)

    def put(self, item: T) -> bool:
        """Queue ``item`` for the worker; False (counted, reported) when it had to be dropped."""
        return self._put(item, None)

    def put_failed(self, item: T, exc: BaseException) -> bool:
        """Queue ``item`` after a transient failure to write it on the caller's thread.

        The failure is counted and its backoff scheduled under the same lock as the item is
        queued: the worker never sees the item before its retry time is set (it would retry
        at once, with no backoff)."""
        return self._put(item, exc)

    def _put(self, item: T, exc: BaseException | None) -> bool:
        if self._pid != os.getpid():
            self._reset()
        failure = None
        with self._cond:
            if exc is not None:
                failure = self._failed_locked(exc)
            if self._closing or len(self._queue) >= self.max_queue:
                self.dropped += 1
                report = self._drop_report_due_locked()
                queued = False
            else:
                queue = self._queue
                queue.append(item)
                self.accepted += 1
                if self._thread is None:
                    self._start_locked()
                if len(queue) == 1:
                    self._linger_from = time.monotonic()
                    self._cond.notify_all()
                elif not self.linger_s or len(queue) == self.batch:
                    # (a lingering worker is woken once, when a batch is full: each wake-up
                    # takes the GIL from this thread)
                    self._cond.notify_all()
                report = None
                queued = True
        if report is not None:
            self._report_drops(*report)
        if exc is not None:
            self._report_failure(failure, exc)
        return queued

    def when_settled(self, callback: Callable[[bool], None]) -> bool | None:
        """Be told when the newest accepted item leaves the queue, without waiting for it.

        Returns None when that item is still queued: ``callback(stored)`` is then called once,
        on the worker's thread (or on the thread that closes the writer), with whether the
        backend took the item (False: refused for good, or dropped at close). When it has left
        the queue already, returns that at once instead (True when nothing was ever queued) and
        ``callback`` is not called.
        """
        with self._cond:
            target = self.accepted
            if self._settled_locked() >= target:
                return self._last_stored
            if self._stopped:
                return False  # counted as dropped at close
            self._tickets.append((target, callback))
            if self.linger_s:
                self._cond.notify_all()  # someone waits: no more lingering
            return None

    def _due_tickets_locked(
        self, first: int, written: int, rejected: int
    ) -> list[tuple[Callable[[bool], None], bool]]:
        """The tickets of the items numbered ``first`` + 1 onwards that just left the queue:
        ``written`` were written, the ``rejected`` after them refused."""
        tickets = self._tickets
        due = []
        last = first + written + rejected
        while tickets and tickets[0][0] <= last:
            number, callback = tickets.popleft()
            due.append((callback, number <= first + written))
        return due

    def _call_tickets(self, due: list[tuple[Callable[[bool], None], bool]]) -> None:
        for callback, stored in due:
            try:
                callback(stored)
            except Exception:  # noqa: PERF203 - one failing callback must not hide the others
                self._log.exception("%s: a write confirmation failed", self.describe)

    def flush(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) until what was queued before this
        call is written or rejected; a retry that is waiting for its backoff is made at once.
        Returns whether nothing queued before the call is still waiting."""
        with self._cond:
            target = self.accepted
            if self._settled_locked() >= target:
                return True
            self._retry_at = 0.0
            self._flushes += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(
                    lambda: self._settled_locked() >= target or self._stopped, timeout
                )
            finally:
                self._flushes -= 1
            return self._settled_locked() >= target

    def close(self, timeout: float | None = None) -> bool:
        """Stop taking items, write what is queued (waiting at most ``timeout``, default
        ``close_timeout_s``), then stop the worker; what is left is counted as dropped and the
        totals are reported. Returns whether everything was written. Idempotent."""
        wait = self.close_timeout_s if timeout is None else max(0.0, timeout)
        with self._cond:
            if self._closing:
                return not self._queue
            self._closing = True
            self._retry_at = 0.0
            self._cond.notify_all()
            thread = self._thread
            if thread is not None:
                self._cond.wait_for(lambda: not self._queue, wait)
            self._stopped = True
            unsent = len(self._queue)
            self.dropped += unsent
            pending_drops = self.dropped - self._dropped_reported
            self._dropped_reported = self.dropped
            abandoned = [(callback, False) for _, callback in self._tickets]
            self._tickets.clear()
            self._cond.notify_all()
        self._call_tickets(abandoned)
        if thread is None and self._on_stop is not None:
            self._on_stop()
        if unsent:
            self._log.warning(
                "%s: closed with %d %s(s) unwritten after %.1f s; dropped %d %s(s) since the "
                "last report (total dropped %d)",
                self.describe,
                unsent,
                self._unit,
                wait,
                pending_drops,
                self._unit,
                self.dropped,
            )
        elif pending_drops:
            self._log.warning(
                "%s: closed; dropped %d %s(s) since the last report (total dropped %d)",
                self.describe,
                pending_drops,
                self._unit,
                self.dropped,
            )
        return unsent == 0

    @contextmanager
    def holding_writes(self) -> Iterator[None]:
        """No write starts or ends while inside: the backend and :meth:`pending_items` agree."""
        with self.write_lock:
            yield

    # -- reporting ------------------------------------------------------------------------

    def _drop_report_due_locked(self) -> tuple[int, int] | None:
        now = self._monotonic()
        due = self._drop_reported_at is None or now - self._drop_reported_at >= (
            self.report_interval_s
        )
        if not due or self.dropped == self._dropped_reported:
            return None
        self._drop_reported_at = now
        new = self.dropped - self._dropped_reported
        self._dropped_reported = self.dropped
        return new, self.dropped

    def _report_drops(self, new: int, total: int) -> None:
        self._log.warning(
            "%s: dropped %d %s(s) since the last report (total dropped %d): the queue of %d "
            "is full or the output is closed",
            self.describe,
            new,
            self._unit,
            total,
            self.max_queue,
        )

    def _failed_locked(self, exc: BaseException) -> tuple[int, int, bool] | None:
        """Count a transient failure and schedule the retry; the report due, if any."""
        self.failures += 1
        self._consecutive += 1
        self.last_error = exc
        self._set_failing(True)
        delay = backoff_delay(self._consecutive, self.backoff_s, self.max_backoff_s)
        now = self._monotonic()
        self._retry_at = now + delay
        return self._failure_report_due_locked(now, exc)

    def _failure_report_due_locked(
        self, now: float, exc: BaseException
    ) -> tuple[int, int, bool] | None:
        if self._failure_reported_at is not None and (
            now - self._failure_reported_at < self.report_interval_s
        ):
            return None
        self._failure_reported_at = now
        new = self.failures - self._failures_reported
        self._failures_reported = self.failures
        # A traceback for the first failure of each kind; counts for the rest.
        first_of_kind = type(exc) is not self._traceback_shown
        if first_of_kind:
            self._traceback_shown = type(exc)
        return new, len(self._queue), first_of_kind

    def _report_failure(self, report: tuple[int, int, bool] | None, exc: BaseException) -> None:
        if report is None:
            return
        new, queued, with_traceback = report
        self._log.error(
            "%s: write failed (%d failed attempt(s) since the last report, %d in all; %d "
            "%s(s) queued; retrying with backoff): %s: %s",
            self.describe,
            new,
            self.failures,
            queued,
            self._unit,
            type(exc).__name__,
            exc,
            exc_info=exc if with_traceback else None,
        )

    def _report_rejected(self, items: list[T], exc: BaseException) -> None:
        with self._cond:
            report = self._failure_report_due_locked(self._monotonic(), exc)
        if report is None:
            return
        what = self._name_items(items) if self._name_items else f"{len(items)} {self._unit}(s)"
        self._log.error(
            "%s: %s refused for good (%d in all; not retried): %s: %s",
            self.describe,
            what,
            self.rejected + len(items),
            type(exc).__name__,
            exc,
            exc_info=exc if report[2] else None,
        )

    # -- the worker -----------------------------------------------------------------------

    def _start_locked(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def _settled_locked(self) -> int:
        return self.accepted - len(self._queue)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self._on_stop is not None:
                self._on_stop()

    def _next_batch(self) -> list[T] | None:
        """Wait for work; the next batch (left at the head of the queue), None to stop."""
        while True:
            with self._cond:
                drops = self._wait_locked()
                if not isinstance(drops, tuple):
                    return drops
            self._report_drops(*drops)

    def _wait_locked(self) -> list[T] | tuple[int, int] | None:
        """Wait until a batch is due (it), drops are to be reported (their counts) or the
        worker is to stop (None)."""
        while True:
            if self._stopped:
                return None
            if self._drop_reported_at is not None:
                drops = self._drop_report_due_locked()
                if drops is not None:
                    return drops
            now = self._monotonic()
            lingering = 0.0
            if self._queue and now >= self._retry_at:
                lingering = self._linger_left_locked()
                if lingering <= 0.0:
                    return list(itertools.islice(self._queue, self.batch))
            if not self._queue and self._closing:
                return None
            waits = []
            if lingering:
                waits.append(lingering)
            elif self._queue:
                waits.append(self._retry_at - now)
            if self.dropped > self._dropped_reported and self._drop_reported_at is not None:
                waits.append(self._drop_reported_at + self.report_interval_s - now)
            self._cond.wait(max(0.0, min(waits)) if waits else None)

    def _linger_left_locked(self) -> float:
        """Real seconds the worker still waits for a fuller batch (<= 0: write now)."""
        if (
            not self.linger_s
            or self._last_batch < self.linger_after
            or len(self._queue) >= self.batch
            or self._tickets
            or self._flushes
            or self._closing
            or self._consecutive
        ):
            return 0.0
        return self._linger_from + self.linger_s - time.monotonic()

    def _loop(self) -> None:
        while True:
            items = self._next_batch()
            if items is None:
                return
            with self.write_lock:
                if self._stopped:
                    return
                self._attempt(items)

    def _try(self, items: list[T]) -> Exception | None:
        """Write ``items``; the exception it raised, if any."""
        try:
            self._write(items)
        except Exception as exc:
            return exc
        return None

    def _attempt(self, items: list[T]) -> None:
        exc = self._try(items)
        if exc is None:
            self._settle(len(items), [], None)
        elif self._is_transient(exc):
            self._transient(exc)
        elif self._isolate and len(items) > 1:
            self._one_by_one(items)
        else:
            self._settle(0, items, exc)

    def _one_by_one(self, items: Sequence[T]) -> None:
        for item in items:
            exc = self._try([item])
            if exc is None:
                self._settle(1, [], None)
            elif self._is_transient(exc):
                self._transient(exc)
                return
            else:
                self._settle(0, [item], exc)

    def _transient(self, exc: BaseException) -> None:
        with self._cond:
            report = self._failed_locked(exc)
        self._report_failure(report, exc)

    def _settle(self, written: int, rejected: list[T], exc: BaseException | None) -> None:
        """Take ``written`` written items, then the ``rejected`` ones, off the queue's head.

        Reports come first, so whoever waits in :meth:`flush` sees them once it returns.
        """
        if written and self._consecutive:
            self._log.info(
                "%s: writing again after %d failed attempt(s)", self.describe, self._consecutive
            )
        if exc is not None:
            self.last_error = exc
            if self._on_reject is not None:
                self._on_reject(rejected, exc)
            else:
                self._report_rejected(rejected, exc)
        with self._cond:
            if self._stopped:
                return  # close() already counted what was left
            due = (
                self._due_tickets_locked(self._settled_locked(), written, len(rejected))
                if self._tickets
                else None
            )
            for _ in range(written + len(rejected)):
                self._queue.popleft()
            self._last_batch = written + len(rejected)
            self.written += written
            if written:
                self._consecutive = 0
                self._progress_at = self._monotonic()
            self.rejected += len(rejected)
            if written or rejected:
                self._last_stored = not rejected  # the refused ones come last
            if not self._queue:
                self._set_failing(False)
            else:
                self._linger_from = time.monotonic()
            self._cond.notify_all()
        if due:
            self._call_tickets(due)
