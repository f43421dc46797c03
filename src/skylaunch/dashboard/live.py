"""The live log: a logging handler that keeps the newest records in a bounded buffer.

:class:`LiveLog` is attached to the task logger (``skylaunch.task``: status records and the
lines of :func:`~skylaunch.log.context.task_log`) and to any logger you name; each record
becomes a small JSON-ready dict (the Redis output's document) with a sequence number. Readers
(the dashboard's server-sent events) ask for what came after the number they saw last, so the
handler never waits for a reader and a slow reader only misses what fell out of the buffer
(:meth:`LiveLog.after` says how many). :meth:`LiveLog.follow_redis` feeds the same buffer from
the global Redis stream that :class:`~skylaunch.log.outputs.redis.RedisStreamHandler` writes,
so one page shows the lines of several replicas.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

from skylaunch.log.context import RunContextFilter

__all__ = ["LiveLog", "LiveSlice"]


class LiveSlice:
    """What :meth:`LiveLog.after` returns: the lines, the newest sequence number, and the gap."""

    __slots__ = ("last", "lines", "skipped")

    def __init__(self, lines: list[dict[str, Any]], last: int, skipped: int) -> None:
        self.lines = lines
        self.last = last
        self.skipped = skipped


def _payload(record: logging.LogRecord, host: str) -> dict[str, Any]:
    exc_text = record.exc_text
    if not exc_text and record.exc_info and record.exc_info[0] is not None:
        exc_text = logging.Formatter().formatException(record.exc_info)
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    return {
        "created": record.created,
        "task_name": getattr(record, "task_name", None),
        "run_id": getattr(record, "run_id", None),
        "action": getattr(record, "action", None),
        "level": record.levelname,
        "logger": record.name,
        "message": message,
        "exc_text": exc_text or None,
        "host": host,
        "pid": os.getpid(),
    }


class LiveLog(logging.Handler):
    """A bounded buffer of the newest log records, read by sequence number.

    ``max_lines``: records kept (older ones are forgotten; readers that fall behind are told
    how many they missed). ``loggers``: names of loggers to listen to besides the task logger
    (their records get the run's task name and run id when logged inside a run).
    """

    def __init__(self, max_lines: int = 10_000, *, loggers: Iterable[str] = ()) -> None:
        super().__init__(logging.DEBUG)
        if not isinstance(max_lines, int) or max_lines < 1:
            raise ValueError(
                f"LiveLog max_lines must be a positive whole number; got {max_lines!r}"
            )
        self.max_lines = max_lines
        self.loggers = tuple(loggers)
        self._lines: deque[tuple[int, dict[str, Any]]] = deque(maxlen=max_lines)
        self._seq = 0
        self._lock_ = threading.Lock()
        self._host = socket.gethostname()
        self._attached: list[logging.Logger] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.addFilter(RunContextFilter())

    # --- writing ---------------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.append(_payload(record, self._host))
        except Exception:
            self.handleError(record)

    def append(self, line: dict[str, Any]) -> int:
        """Add one line (a dict with at least ``message``); returns its sequence number."""
        with self._lock_:
            self._seq += 1
            self._lines.append((self._seq, line))
            return self._seq

    # --- reading ---------------------------------------------------------------------------
    @property
    def last(self) -> int:
        """The sequence number of the newest line (0: none yet)."""
        return self._seq

    def after(self, seq: int, *, limit: int = 500, task: str | None = None) -> LiveSlice:
        """Up to ``limit`` lines newer than ``seq``, oldest first (of ``task`` only if given).

        ``skipped``: lines newer than ``seq`` that are not returned because they fell out of
        the buffer or beyond ``limit`` (the reader jumps ahead to the newest ``limit``).
        """
        with self._lock_:
            newest = self._seq
            if seq >= newest or not self._lines:
                return LiveSlice([], newest, 0)
            oldest = self._lines[0][0]
            start = max(seq + 1, oldest)
            first = start - oldest
            count = newest - start + 1
            skipped = start - (seq + 1)
            if count > limit:
                skipped += count - limit
                first += count - limit
            picked = [self._lines[i] for i in range(first, len(self._lines))]
        lines = [line for _, line in picked if task is None or line.get("task_name") == task]
        return LiveSlice(lines, newest, skipped)

    def of_run(self, run_id: str) -> list[dict[str, Any]]:
        """The lines of one run still in the buffer, oldest first."""
        with self._lock_:
            items = list(self._lines)
        return [line for _, line in items if line.get("run_id") == run_id]

    # --- attaching -------------------------------------------------------------------------
    def attach(self, task_logger: logging.Logger) -> list[logging.Logger]:
        """Listen to ``task_logger`` and to the loggers named at construction (idempotent).

        Returns the loggers it was not attached to before (what :meth:`detach` undoes).
        """
        added = []
        for logger in (task_logger, *(logging.getLogger(name) for name in self.loggers)):
            if self not in logger.handlers:
                logger.addHandler(self)
                self._attached.append(logger)
                added.append(logger)
        return added

    def detach(self, loggers: Iterable[logging.Logger] | None = None) -> None:
        """Stop listening to ``loggers`` (all it is attached to: ``None``); the buffer stays."""
        for logger in list(self._attached if loggers is None else loggers):
            logger.removeHandler(self)
            if logger in self._attached:
                self._attached.remove(logger)

    def follow_redis(self, url: str, key: str = "skylaunch:global") -> None:
        """Also read the Redis stream ``key`` (the output's global stream) into the buffer.

        A daemon thread reads new entries (``XREAD``, blocking at most one second) until
        :meth:`close`; a lost connection is retried every second.
        """
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the extra is installed in dev
            raise ImportError("LiveLog.follow_redis needs 'skylaunch[redis]'") from exc
        client = redis.Redis.from_url(url, socket_timeout=5)

        def follow() -> None:
            last_id = "$"
            while not self._stop.is_set():
                try:
                    got = client.xread({key: last_id}, block=1000, count=500)
                except Exception:
                    self._stop.wait(1.0)
                    continue
                for _, entries in cast("list[Any]", got or []):
                    for entry_id, fields in entries:
                        last_id = entry_id
                        raw = fields.get(b"record") or fields.get("record")
                        try:
                            line = json.loads(raw)
                        except (TypeError, ValueError):
                            continue
                        if isinstance(line, dict) and not self._local(line):
                            self.append(line)
            client.close()

        thread = threading.Thread(target=follow, name="skylaunch-live-redis", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _local(self, line: dict[str, Any]) -> bool:
        """Whether a line from Redis came from this process (its handler saw it already)."""
        return bool(line.get("host") == self._host and line.get("pid") == os.getpid())

    def close(self) -> None:
        """Detach from every logger and stop following Redis."""
        self._stop.set()
        self.detach()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        super().close()
