"""A live feed of task records through Redis: pub/sub for watchers, streams for late joiners.

Each record becomes one JSON document, PUBLISHed to the task's channel and to the global channel
and appended (XADD, ``MAXLEN ~``) to a stream of the same name, whose TTL is renewed on every
write so the streams of retired tasks disappear on their own. Pub/sub channels and keys live in
separate namespaces in Redis, so a channel and its stream share one name:
``<prefix>:task:<task name>`` and ``<prefix>:<global channel>``.

The scheduler must never wait for Redis. :meth:`RedisStreamHandler.emit` only serialises the
record and appends it to a bounded in-memory queue; a daemon thread, started by the first record
(never at import), sends batches through one pipeline. A batch leaves the queue only once Redis
acknowledged it: while Redis is away the thread retries with backoff and new records wait behind
it, up to ``max_queue`` records in all (in flight included); beyond that records are dropped,
counted in :attr:`RedisStreamHandler.dropped` and reported on ``skylaunch.scheduler`` at most once
per ``report_interval_s``. Delivery is at least once: a batch cut off half-way by a lost
connection is sent again, so a consumer that must not see duplicates skips ``(host, pid, seq)``
it has already seen.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised in a test through sys.modules
    raise ImportError(
        "skylaunch.log.outputs.redis needs the 'redis' package: pip install 'skylaunch[redis]'"
    ) from exc

from skylaunch.log._redact import redact_url

__all__ = ["DEFAULT_URL", "RedisStreamHandler", "record_payload"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
_scheduler_log = logging.getLogger("skylaunch.scheduler")


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def record_payload(record: logging.LogRecord, *, host: str, seq: int) -> dict[str, Any]:
    """The JSON document published for a record (also what ``skylaunch logs --follow`` reads)."""
    exc_text = record.exc_text
    if not exc_text and record.exc_info and record.exc_info[0] is not None:
        exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    runtime = getattr(record, "runtime", None)
    return {
        "task_name": getattr(record, "task_name", None),
        "action": getattr(record, "action", None),
        "run_id": getattr(record, "run_id", None),
        "created": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
        "start": _iso(getattr(record, "start", None)),
        "end": _iso(getattr(record, "end", None)),
        "runtime_s": runtime.total_seconds() if isinstance(runtime, timedelta) else None,
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        "exc_text": exc_text or None,
        "host": host,
        "pid": os.getpid(),
        "seq": seq,
    }


def _positive(name: str, value: float, *, integer: bool = False) -> None:
    bad = isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
    if bad or not value > 0:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"RedisStreamHandler {name}: got {value!r}; expected {kind} > 0")


class RedisStreamHandler(logging.Handler):
    """Publish task records to Redis from a background thread; ``emit`` never blocks on Redis.

    ``close()`` (called by ``logging.shutdown`` at exit) sends what is queued, waiting at most
    ``flush_timeout_s``; :meth:`drain` waits for the records logged so far, for tests and for
    callers that need them on the wire before going on.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        channel_prefix: str = "skylaunch",
        global_channel: str = "global",
        stream_maxlen: int = 1000,
        stream_ttl_s: float | None = 86400,
        max_queue: int = 10000,
        batch: int = 100,
        flush_timeout_s: float = 5.0,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        report_interval_s: float = 60.0,
        socket_timeout_s: float = 5.0,
        client_name: str | None = "skylaunch-log",
        level: int | str = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        for name, int_value in (
            ("stream_maxlen", stream_maxlen),
            ("max_queue", max_queue),
            ("batch", batch),
        ):
            _positive(name, int_value, integer=True)
        for name, value in (
            ("flush_timeout_s", flush_timeout_s),
            ("backoff_s", backoff_s),
            ("max_backoff_s", max_backoff_s),
            ("report_interval_s", report_interval_s),
            ("socket_timeout_s", socket_timeout_s),
        ):
            _positive(name, value)
        if stream_ttl_s is not None:
            _positive("stream_ttl_s", stream_ttl_s)
        if not channel_prefix or not global_channel:
            raise ValueError("RedisStreamHandler channel_prefix and global_channel must be set")
        self.url = url
        self.channel_prefix = channel_prefix
        self.global_key = f"{channel_prefix}:{global_channel}"
        self.stream_maxlen = stream_maxlen
        self.stream_ttl_s = stream_ttl_s
        self.max_queue = max_queue
        self.batch = batch
        self.flush_timeout_s = flush_timeout_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.report_interval_s = report_interval_s
        self.host = socket.gethostname()
        try:
            # No connection is made here; a malformed URL fails now instead of in the thread.
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=socket_timeout_s,
                socket_connect_timeout=socket_timeout_s,
                # One immediate retry replaces a pooled connection the server dropped; longer
                # outages are this handler's business (backoff, queue bound, reporting).
                retry=Retry(NoBackoff(), 1),
                client_name=client_name,  # so CLIENT LIST tells operators who is connected
            )
        except ValueError as exc:
            raise ValueError(f"RedisStreamHandler url: got {redact_url(url)!r}; {exc}") from exc
        self._reset_worker_state()

    def _reset_worker_state(self) -> None:
        """Fresh counters, queue and worker: at construction, and in a forked child."""
        self.dropped = 0
        """Records lost because the queue was full or the handler was closed."""
        self.sent = 0
        """Records Redis acknowledged."""
        self.rejected = 0
        """Records in batches Redis refused (logged); not retried."""
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[tuple[str | None, str]] = deque()
        self._enqueued = 0
        self._seq = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._stop = threading.Event()
        self._last_drop_report: float | None = None
        self._dropped_reported = 0

    def task_channel(self, task_name: str) -> str:
        """The channel (and stream key) of one task."""
        return f"{self.channel_prefix}:task:{task_name}"

    # -- producer side (the scheduler's threads) ------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._pid != os.getpid():  # forked: the parent's thread and queue are not ours
                self._reset_worker_state()
            # Serialised outside the lock: formatting may run user code that logs again.
            task_name = getattr(record, "task_name", None)
            payload = json.dumps(
                record_payload(record, host=self.host, seq=next(self._seq)), default=str
            )
            channel = self.task_channel(task_name) if task_name else None
            with self._cond:
                if self._closing or len(self._queue) >= self.max_queue:
                    self.dropped += 1
                    report = self._drop_report_due()
                else:
                    self._queue.append((channel, payload))
                    self._enqueued += 1
                    report = False
                    if self._thread is None:
                        self._start_worker()
                    self._cond.notify_all()
            if report:
                self._report_drops()
        except Exception:
            self.handleError(record)

    def _start_worker(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"skylaunch-redis-log-{self.global_key}", daemon=True
        )
        self._thread.start()

    def _drop_report_due(self) -> bool:
        now = time.monotonic()
        if self._last_drop_report is None or now - self._last_drop_report >= (
            self.report_interval_s
        ):
            self._last_drop_report = now
            return True
        return False

    def _report_drops(self) -> None:
        new = self.dropped - self._dropped_reported
        self._dropped_reported = self.dropped
        _scheduler_log.warning(
            "Redis log output %s: dropped %d record(s) (total %d): the queue of %d is full "
            "or the handler is closed",
            redact_url(self.url),
            new,
            self.dropped,
            self.max_queue,
        )

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every record logged before this call was sent; False on timeout or close."""
        with self._cond:
            target = self._enqueued

            def settled() -> bool:
                return self.sent + self.rejected >= target

            self._cond.wait_for(lambda: settled() or self._stop.is_set(), timeout_s)
            return settled()

    # -- consumer side (the worker thread) ------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            # Closed here, not in close(): a worker still blocked on a socket must not have
            # the connection pulled from under it.
            self._client.close()

    def _loop(self) -> None:
        failures = 0
        last_failure_report: float | None = None
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closing)
                if not self._queue:
                    return  # closing and everything sent
                items = list(itertools.islice(self._queue, self.batch))
            try:
                self._send(items)
            except redis.ResponseError:
                # Redis answered but refused a command (e.g. a key of another type): sending
                # the batch again cannot help, and holding it would block the queue for good.
                # The other commands of the batch were applied (the pipeline is no transaction).
                _scheduler_log.exception(
                    "Redis log output %s rejected a batch of %d record(s)",
                    redact_url(self.url),
                    len(items),
                )
                outcome = "rejected"
            except Exception as exc:
                failures += 1
                now = time.monotonic()
                if last_failure_report is None or (
                    now - last_failure_report >= self.report_interval_s
                ):
                    last_failure_report = now
                    _scheduler_log.warning(
                        "Redis log output %s unreachable (attempt %d, %d record(s) queued): %r",
                        redact_url(self.url),
                        failures,
                        len(self._queue),
                        exc,
                    )
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** min(failures - 1, 30))
                self._stop.wait(delay)
                continue
            else:
                outcome = "sent"
            if failures:
                _scheduler_log.info(
                    "Redis log output %s reachable again after %d failed attempt(s)",
                    redact_url(self.url),
                    failures,
                )
                failures = 0
                last_failure_report = None
            with self._cond:
                for _ in items:
                    self._queue.popleft()
                if outcome == "sent":
                    self.sent += len(items)
                else:
                    self.rejected += len(items)
                self._cond.notify_all()

    def _send(self, items: Sequence[tuple[str | None, str]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        keys: dict[str, None] = {}
        for channel, payload in items:
            for key in (channel, self.global_key):
                if key is None:
                    continue
                pipe.publish(key, payload)
                pipe.xadd(key, {"record": payload}, maxlen=self.stream_maxlen, approximate=True)
                keys[key] = None
        if self.stream_ttl_s is not None:
            ttl = math.ceil(self.stream_ttl_s)
            for key in keys:
                pipe.expire(key, ttl)
        pipe.execute()

    # -- shutdown -------------------------------------------------------------------------

    def close(self) -> None:
        """Send what is queued (up to ``flush_timeout_s``), then stop; later records are dropped."""
        with self._cond:
            already_closed = self._closing
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if not already_closed:
            if thread is None:
                self._client.close()
            else:
                thread.join(self.flush_timeout_s)
                with self._cond:
                    self._stop.set()
                    unsent = len(self._queue)
                    self.dropped += unsent
                    self._cond.notify_all()
                if unsent:
                    _scheduler_log.warning(
                        "Redis log output %s closed with %d record(s) unsent after %.1f s",
                        redact_url(self.url),
                        unsent,
                        self.flush_timeout_s,
                    )
        super().close()
