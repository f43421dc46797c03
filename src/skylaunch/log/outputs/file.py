"""A human-readable task log file for ``tail -f``, grep and log shippers.

Every physical line starts with ``[<run id>] [<task name>] <ISO timestamp> ``, so
``grep '\\[my_task\\]'`` or ``grep <run id>`` returns whole entries, tracebacks included.
Status records of the task logger (those with an ``action``) become lifecycle lines when
``log_lifecycle`` is on; every other record (user lines from :func:`~skylaunch.log.context.task_log`
or from a logger this handler is attached to) is written as its message.

``mode="rotate"`` rotates by size inside this process (stdlib ``RotatingFileHandler``), which is
only safe when one process writes the file; ``mode="watched"`` never rotates and reopens the path
when an outside tool (logrotate) moved or removed it (stdlib ``WatchedFileHandler``).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback
from datetime import datetime, timezone, tzinfo
from typing import Any, Literal

from skylaunch.log.context import RunContextFilter, level_number
from skylaunch.log.permissions import DEFAULT_PERMISSIONS, check_permissions, opener

__all__ = ["STATUS_WORDS", "FileLogger"]

STATUS_WORDS: dict[str, str] = {
    "run": "RUNNING",
    "success": "SUCCESS",
    "fail": "FAILED",
    "terminate": "TERMINATED",
    "inaction": "INACTION",
    "crash": "CRASHED",
}

_MODES = ("rotate", "watched")
_PLACEHOLDER = "-"


class _RotatingFile(logging.handlers.RotatingFileHandler):
    """Creates its files (the first one, and each one after a rotation) with ``permissions``."""

    def __init__(self, path: str, permissions: int | None, **kwargs: Any) -> None:
        self.permissions = permissions
        super().__init__(path, **kwargs)

    def _open(self) -> Any:
        return _open_with(self, self.permissions)


class _WatchedFile(logging.handlers.WatchedFileHandler):
    """Creates its file (the first one, and a new one after logrotate) with ``permissions``."""

    def __init__(self, path: str, permissions: int | None, **kwargs: Any) -> None:
        self.permissions = permissions
        super().__init__(path, **kwargs)

    def _open(self) -> Any:
        return _open_with(self, self.permissions)


def _open_with(handler: logging.FileHandler, permissions: int | None) -> Any:
    return open(  # the handler owns the stream and closes it
        handler.baseFilename,
        handler.mode,
        encoding=handler.encoding,
        errors=handler.errors,
        opener=opener(permissions),
    )


def _non_negative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"FileLogger {name}: got {value!r}; expected an integer >= 0")
    return value


class FileLogger(logging.Handler):
    """Write task entries as one prefixed line each; attach to the ``skylaunch.task`` logger.

    A handler instance tracks consecutive failures per task to write ``--- Retry N ---`` before
    a run that follows ``N`` failed runs in a row; any other end state resets the count.
    ``min_level`` is the handler level (``setLevel`` later works the same way).
    ``max_bytes=0`` disables rotation; both size arguments are ignored in ``watched`` mode.
    ``tz`` is the zone of the timestamps (default: the local zone). ``permissions`` is the
    mode of a file the logger creates (default ``0o600``: task lines hold tracebacks), also
    after a rotation; an existing file keeps its mode, ``None`` leaves the mode to the umask.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Literal["rotate", "watched"] = "rotate",
        max_bytes: int = 10 * 1024 * 1024,
        backup_count: int = 5,
        log_lifecycle: bool = False,
        min_level: str = "info",
        tz: tzinfo | None = None,
        permissions: int | None = DEFAULT_PERMISSIONS,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"FileLogger mode: got {mode!r}; expected 'rotate' or 'watched'")
        max_bytes = _non_negative_int("max_bytes", max_bytes)
        backup_count = _non_negative_int("backup_count", backup_count)
        level = level_number(min_level, name="FileLogger min_level")
        self.permissions = check_permissions(permissions)
        super().__init__(level)
        self.path = os.fspath(path)
        self.mode = mode
        self.log_lifecycle = log_lifecycle
        self.tz = tz
        self._fails: dict[str, int] = {}
        # Opened now (not on first record) so a bad path fails at configuration time.
        self._file: logging.FileHandler
        if mode == "rotate":
            self._file = _RotatingFile(
                self.path,
                self.permissions,
                maxBytes=max_bytes,
                backupCount=backup_count,
                encoding="utf-8",
            )
        else:
            self._file = _WatchedFile(self.path, self.permissions, encoding="utf-8")
        self._file.setFormatter(logging.Formatter("%(message)s"))
        # Lines a user logs through their own logger inside a task carry the run too.
        self.addFilter(RunContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.render(record)
            if text:
                line = logging.makeLogRecord({"msg": text, "levelno": record.levelno})
                self._file.handle(line)
        except Exception:
            self.handleError(record)

    def render(self, record: logging.LogRecord) -> str:
        """The text this record adds to the file ('' for nothing); updates the retry count."""
        task_name = getattr(record, "task_name", None)
        action = getattr(record, "action", None)
        prefix = (
            f"[{getattr(record, 'run_id', None) or _PLACEHOLDER}] "
            f"[{task_name or _PLACEHOLDER}] {self._timestamp(record.created)} "
        )
        lines: list[str] = []
        if action is not None and task_name is not None:
            if action == "run":
                retries = self._fails.get(task_name, 0)
                if retries:
                    lines.append(f"--- Retry {retries} ---")
            elif action == "fail":
                self._fails[task_name] = self._fails.get(task_name, 0) + 1
            else:
                self._fails.pop(task_name, None)
            if self.log_lifecycle:
                lines.append(f"-- {STATUS_WORDS.get(action, str(action).upper())}")
                lines.extend(_exception_lines(record))
        else:
            lines.extend(record.getMessage().splitlines() or [""])
            lines.extend(_exception_lines(record))
        return "\n".join(prefix + line for line in lines)

    def _timestamp(self, created: float) -> str:
        moment = datetime.fromtimestamp(created, tz=timezone.utc).astimezone(self.tz)
        return moment.isoformat(timespec="milliseconds")

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """Refuse formatters: the line format is this handler's contract with grep and shippers."""
        raise TypeError("FileLogger writes a fixed line format; it takes no formatter")

    def close(self) -> None:
        self.acquire()
        try:
            self._file.close()
        finally:
            self.release()
        super().close()


def _exception_lines(record: logging.LogRecord) -> list[str]:
    text = record.exc_text
    if not text and record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    return text.splitlines() if text else []
