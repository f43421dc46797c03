"""The journal: where a session's task actions are written, and where its history comes back from.

Every action is recorded twice: in the in-memory :class:`~skylaunch.history.TaskHistory` (what
conditions read, at once) and through the task logger into the log repo (what outlives the
process). The journal owns the second half for one session: the repo and its handler, the
restore of the history at start-up, the flush at shutdown, and the log file output.

The task logger is shared by every session of the process, so each handler a session puts on it
carries an :class:`Ownership` filter: it takes only that session's records, and it tells the
session which handlers are its own (to replace them) and which belong to others (to leave alone).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
import weakref
from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from skylaunch.exc import TaskLoggingError
from skylaunch.history import ACTIONS, Action
from skylaunch.log.handler import RepoHandler
from skylaunch.log.repos.base import Repo, check_log_repo, field_getter
from skylaunch.log.repos.memory import MemoryRepo
from skylaunch.time.clock import SystemClock

if TYPE_CHECKING:
    from skylaunch.config import Config
    from skylaunch.history import TaskHistory
    from skylaunch.log.outputs.file import FileLogger
    from skylaunch.tasks._registry import TaskRegistry
    from skylaunch.time.clock import Clock

__all__ = ["Journal", "JournalOwner", "Ownership", "RunState", "ownership"]


class JournalOwner(Protocol):
    """The session a journal belongs to: its identity (whose handlers are whose) and limits."""

    log_flush_timeout_s: float
    log_queue_max: int
    crash_window: int


class RunState(Protocol):
    """What the journal needs to know of the scheduler, and the one thing it asks of it."""

    @property
    def is_running(self) -> bool: ...

    def notify(self, task_name: str | None = None) -> None:
        """Something changed (a repo was attached): look at the tasks again."""

    def running_runs(self, task_name: str) -> Collection[str]:
        """The run ids of ``task_name`` going on now: not crashed, whatever the repo says."""

    def fail(self, exc: BaseException) -> None:
        """Stop the scheduler with ``exc`` (the repo is unavailable and that is not silenced)."""


_MESSAGE = "Task '%s' status: '%s'"
#: The level from which a status record nobody else hears goes to Python's last resort (stderr).
_LAST_RESORT_LEVEL = logging.WARNING
#: With ``silence_task_logging``, a record that could not be logged is reported with its
#: traceback at most once in this many seconds; the others are counted into the next report
#: (an always-due task whose records a repo refuses made a thousand tracebacks a second).
_SILENCED_REPORT_S = 60.0
_monotonic = time.monotonic  # (the tests' clock for that minute)
_INFO = logging.INFO
# Whether loggers keep isEnabledFor()'s answers in ``_cache`` (CPython 3.7 and later), which
# Logger.isEnabledFor reads after its ``disabled`` check
_LEVEL_CACHE = isinstance(getattr(logging.getLogger("skylaunch.task"), "_cache", None), dict)
_wall_time = time.time  # noqa: TID251 - what SystemClock.timestamp() returns, read without its call


def _status_record(
    logger: logging.Logger,
    level: int,
    task_name: str,
    action: str,
    ts: float,
    exc_text: str | None,
) -> logging.LogRecord:
    record = logging.LogRecord(logger.name, level, __file__, 0, _MESSAGE, (task_name, action), None)
    record.created = ts
    record.msecs = (ts - int(ts)) * 1000
    record.task_name = task_name
    record.action = action
    record.exc_text = exc_text
    return record


def _last_resort(record: logging.LogRecord) -> None:
    """What ``logging`` does with a record no handler takes: one line and its traceback."""
    last = logging.lastResort
    if last is not None and record.levelno >= last.level:
        last.handle(record)


def _levels_allow(task_logger: logging.Logger, level: int) -> bool:
    """Whether the loggers above the task logger let a record of ``level`` through."""
    parent = task_logger.parent
    return parent is None or not task_logger.propagate or parent.isEnabledFor(level)


def _deliver(
    logger: logging.Logger, record: logging.LogRecord, task_logger: logging.Logger
) -> None:
    """``logger.handle(record)`` for a status record, with two differences.

    The handlers on the task logger and below it (the repo handler, log outputs, a task's own
    logger) get every record whatever the levels above: the history must not depend on them. Above
    it, the application's configuration rules: the record goes on only if the parent's level
    lets it (``logging.basicConfig(level=WARNING)`` keeps the per-run status lines out of the
    root handler). And the sessions' repo handlers do not count as "someone heard it": a
    failure nobody configured a handler for goes to Python's last resort, on stderr.
    """
    heard = False
    current: logging.Logger | None = logger
    inside = True
    while current is not None:
        if (
            inside
            and current is not task_logger
            and not current.name.startswith(task_logger.name + ".")
        ):
            inside = False
            if not current.isEnabledFor(record.levelno):
                return  # the application's levels say no: not even the last resort
        for handler in current.handlers:
            own = ownership(handler)
            if own is None or not own.status_only:
                heard = True
            if record.levelno >= handler.level:
                handler.handle(record)
        current = current.parent if current.propagate else None
    if not heard:
        _last_resort(record)


class Ownership(logging.Filter):
    """Marks a handler as a session's, and lets it take only that session's records.

    ``status_only`` marks the repo handler: it also refuses user lines logged under the task
    logger (``task_log``, a task's ``logger.info``), which have no ``action`` and belong to log
    outputs, not to the history the repo is read back into.
    """

    def __init__(self, session: object, *, status_only: bool) -> None:
        super().__init__()
        self.key = id(session)
        self.status_only = status_only
        self._session = weakref.ref(session)

    @property
    def owner(self) -> object | None:
        """The session, or None once it no longer exists (its handler is an orphan)."""
        return self._session()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.status_only and not hasattr(record, "action"):
            return False
        return getattr(record, "session_key", self.key) == self.key


def ownership(handler: logging.Handler) -> Ownership | None:
    """The :class:`Ownership` of a handler some session put on the task logger, else None."""
    for item in handler.filters:
        if isinstance(item, Ownership):
            return item
    return None


def _may_hold_history(repo: Repo) -> bool:
    """False for an empty memory repo: it cannot hold records of an earlier process."""
    return not (isinstance(repo, MemoryRepo) and len(repo) == 0)


class Journal:
    """A session's repo, its handler on the task logger, and its log file output.

    The session builds it with what it writes to and reads from; ``runs`` (the scheduler) is
    wired in once the scheduler exists.
    """

    def __init__(
        self,
        owner: JournalOwner,
        *,
        config: Config,
        clock: Clock,
        history: TaskHistory,
        tasks: TaskRegistry,
        task_logger: logging.Logger,
        scheduler_logger: logging.Logger,
        shutdown_hooks: list[Callable[..., Any]],
    ) -> None:
        self.owner = owner
        self.config = config
        self.clock = clock
        self.history = history
        self.tasks = tasks
        # tasks.get without its call (the registry's dict is never replaced): two per run
        self._task_of = tasks._tasks.get
        self.task_logger = task_logger
        self.scheduler_logger = scheduler_logger
        self._shutdown_hooks = shutdown_hooks
        self.runs: RunState | None = None
        self._repo: Repo | None = None
        self.handler: RepoHandler | None = None
        # What the task logger's handler list looked like at the last sync (see _handlers_key).
        self._seen: tuple[int, int, int] | None = None
        self._level_reported = False
        self._restored: set[str] | None = None
        self.last_ts = float("-inf")
        """The latest ``created`` recorded so far (POSIX seconds): the scheduler never records
        a run earlier than a record it has already seen (see ``Scheduler._consider``)."""
        self._buffering_reported = False
        self._silenced_at: float | None = None  # when a silenced failure was last reported
        self._silenced_since = 0  # silenced failures not reported since
        self._file_output: FileLogger | None = None

    # --- the repo ---------------------------------------------------------------------------
    @property
    def repo(self) -> Repo | None:
        """The session's repo: the one of the last repo handler on the task logger (see
        :meth:`sync`)."""
        self.sync()
        return self._repo

    @staticmethod
    def _handlers_key(handlers: list[logging.Handler]) -> tuple[int, int, int]:
        """Cheap fingerprint of a handler list: a new list, an added or removed handler."""
        return (id(handlers), len(handlers), id(handlers[-1]) if handlers else 0)

    def sync(self) -> None:
        """Follow the task logger: the last repo handler on it is the session's repo.

        ``logging.getLogger("skylaunch.task").addHandler(RepoHandler(repo=repo))`` (Rocketry's
        handbook form) and :meth:`set_repo` are two ways to the same thing: the repo of the
        last :class:`RepoHandler` on the task logger that no other live session owns is the
        one the history is restored from, queries read and records go to. Adopting a
        handler replaces this session's previous one (closed after writing what it buffers).
        When this session's handler was taken off the logger (``logger.handlers = [...]``)
        and no other repo handler is there, it is put back: the history must be written.
        Called before every record, every read of :attr:`repo` and every restore; it costs
        a tuple comparison while the handler list is unchanged.
        """
        logger = self.task_logger
        handlers = logger.handlers
        key = self._handlers_key(handlers)
        if key == self._seen:
            return
        chosen: RepoHandler | None = None
        for handler in reversed(handlers):
            if not isinstance(handler, RepoHandler):
                continue
            own = ownership(handler)
            if own is None or (own.status_only and own.owner is self.owner):
                chosen = handler
                break
        if chosen is None:
            if self.handler is not None:
                logger.addHandler(self.handler)
        elif chosen is not self.handler:
            self._adopt(chosen)
        self._seen = self._handlers_key(logger.handlers)

    def adopt_existing(self) -> bool:
        """At construction: take a repo handler the application put on the task logger
        before the session existed; whether there was one."""
        for handler in reversed(self.task_logger.handlers):
            if isinstance(handler, RepoHandler) and ownership(handler) is None:
                self._adopt(handler)
                self._seen = self._handlers_key(self.task_logger.handlers)
                return True
        return False

    def _adopt(self, handler: RepoHandler) -> None:
        check_log_repo(handler.repo)
        old = self.handler
        if old is not None and old is not handler:
            self.task_logger.removeHandler(old)
            old.close(self.owner.log_flush_timeout_s)
        handler.addFilter(Ownership(self.owner, status_only=True))
        self._use(handler.repo, handler)

    def _use(self, repo: Repo, handler: RepoHandler) -> None:
        """``repo`` (written through ``handler``) is the session's from now on."""
        self._repo = repo
        self.handler = handler
        self.history.clear()
        # A memory repo that starts empty holds only what this session logs: nothing to read.
        self._restored = set() if _may_hold_history(repo) else None
        self._buffering_reported = False
        runs = self.runs
        if runs is not None:
            if runs.is_running:
                self.restore()
            runs.notify()

    def set_repo(self, repo: object, delete_existing: bool = True) -> None:
        """See :meth:`Session.set_repo` (the public name)."""
        check_log_repo(repo)
        assert isinstance(repo, Repo)  # what check_log_repo made sure of
        me = self.owner
        logger = self.task_logger
        for handler in list(logger.handlers):
            own = ownership(handler)
            if own is not None and own.status_only:
                owner = own.owner
                if owner is me or owner is None:  # ours, or an orphan's
                    logger.removeHandler(handler)
                    if owner is me and isinstance(handler, RepoHandler):
                        handler.close(me.log_flush_timeout_s)
            elif own is None and delete_existing and isinstance(handler, RepoHandler):
                logger.removeHandler(handler)
        handler = RepoHandler(
            repo, max_queue=me.log_queue_max, flush_timeout_s=me.log_flush_timeout_s
        )
        handler.addFilter(Ownership(me, status_only=True))
        logger.addHandler(handler)
        self._seen = self._handlers_key(logger.handlers)
        self._use(repo, handler)

    def restore(self, task_names: Iterable[str] | None = None) -> None:
        """See :meth:`Session.restore_history` (the public name)."""
        self.sync()
        restored, repo = self._restored, self._repo
        if restored is None or repo is None:
            return
        # here, not at import: with the default repo (nothing stored) nothing is read
        from skylaunch.log._restore import restore_recent, restore_times

        names = [t.name for t in self.tasks.in_order()] if task_names is None else task_names
        handler = self.handler
        store: Repo = repo if handler is None else handler.store  # wrapped once if foreign
        limit = self.config.history_max_records
        for name in names:
            if name in restored:
                continue
            try:
                # Writes are held while reading, so a record is in the repo or in the queue.
                with handler.holding_writes() if handler is not None else nullcontext():
                    times = restore_times(store, name, limit=limit, actions=ACTIONS)
                    recent = restore_recent(store, name, limit=self.owner.crash_window)
                    pending = handler.pending_items() if handler is not None else []
            except Exception as exc:
                # Never silenced: a history that could not be read is not an empty one, and
                # scheduling from an empty one runs a `daily` task twice the same day.
                raise TaskLoggingError(
                    f"reading the history of task {name!r} from {self.repo!r} failed: {exc!r} "
                    "(this stops the scheduler even with silence_task_logging=True: without "
                    "its history a task could run again what it already did)"
                ) from exc
            for item in pending:
                get = field_getter(item)
                action = get("action")
                if get("task_name") == name and action in ACTIONS:
                    created = float(get("created"))
                    times.setdefault(action, []).append(created)
                    recent.append((created, action, get("run_id")))
            log = self.history.load(name, times, recent)
            restored.add(name)
            alive = () if self.runs is None else self.runs.running_runs(name)
            for run_id, ts in sorted(log.running.items(), key=lambda pair: pair[1]):
                if run_id in alive:
                    continue
                start = datetime.fromtimestamp(ts, self.clock.tz)
                self.record(
                    name,
                    "crash",
                    run_id or None,
                    start,
                    exc_text="the run had no end when the scheduler started (process died?)",
                )

    def writes_behind(self) -> bool:
        """Whether the repo written in the background falls behind the records (see
        :attr:`RepoHandler.behind`): the scheduler then waits a moment before launching more."""
        handler = self.handler
        # an empty queue (always, for the memory repo) is not behind: once a pass, so the
        # properties are read only when something waits
        return handler is not None and bool(handler.queue_view) and handler.behind

    def flush(self, timeout: float | None = None) -> bool:
        """See :meth:`Session.flush_logs` (the public name)."""
        handler = self.handler
        if handler is None:
            return True
        wait = self.owner.log_flush_timeout_s if timeout is None else timeout
        while True:
            try:
                done = handler.flush(wait)
                break
            except TaskLoggingError as exc:
                # A record the repo refused for good; at shutdown there is nobody to raise to.
                self.scheduler_logger.error("%s", exc, exc_info=exc)
        if done:
            return True
        error = handler.last_error
        # (a write that hangs, a black-holed connection, has raised nothing: say so rather
        # than "None", or than an error of an earlier outage the repo recovered from)
        why = f"last error: {error!r}" if handler.failing and error is not None else "no answer"
        self.scheduler_logger.error(
            "%d task record(s) could not be written to %r within %.1f s (%s); they stay "
            "buffered and retried while this process lives, and are lost if it exits",
            handler.pending,
            self.repo,
            wait,
            why,
            extra={"action": "shutdown"},
        )
        return False

    # --- writing ----------------------------------------------------------------------------
    def record(
        self,
        task_name: str,
        action: Action,
        run_id: str | None,
        start: datetime | None,
        exc_text: str | None = None,
        ts: float | None = None,
        start_ts: float | None = None,
    ) -> None:
        """Record an action: in the history first (it happened), then through the task logger.

        When this session's repo handler is the only consumer of task records and takes
        trusted writes (the default memory repo), the record goes to it as a dict, without a
        ``logging.LogRecord``: this is the scheduler's hot path (two records per run).
        ``start_ts`` is ``start.timestamp()`` when the caller has it (it saves computing it);
        ``start`` may then be None: ``start_ts`` in the clock's zone, made where needed (the
        memory repo keeps the float alone).
        """
        clock = self.clock
        if ts is None:
            # the real clock's reading without its method's call (a run's end record)
            ts = _wall_time() if type(clock) is SystemClock else clock.timestamp()
        if ts > self.last_ts:  # noqa: PLR1730 - max() is a call, on a path taken twice a run
            self.last_ts = ts
        # TaskHistory.add, inline (two records a run)
        history = self.history
        history.version += 1
        log = history.logs.get(task_name)
        if log is None:
            log = history.of(task_name)
        log.add(action, ts, run_id)
        on_change = history.on_change
        if on_change is not None:
            on_change(task_name)
        logger = task_logger = self.task_logger
        handlers = logger.handlers
        handler = self.handler
        # The hot path (two records a run), everything below in the state it is in almost
        # always: this session's handler alone on the task logger (so sync() has nothing to
        # do), a task without its own logger, an INFO record the levels let through, no
        # filter but the handler's Ownership, no handler above. Each is read anew on every
        # record (user code may change any between two runs); the general path below makes
        # the same decision for every other state.
        if (
            action != "fail"
            and handler is not None
            and len(handlers) == 1
            and handlers[0] is handler
            and handler.takes_lifecycle
            and handler.level <= _INFO
            and not logger.filters
            and len(handler.filters) == 1
            and not logger.disabled
            # isEnabledFor(INFO), without its call where logging has the answer cached for
            # this logger (the cache is emptied on every change of a level or of disable())
            and (
                (logger._cache.get(_INFO) if _LEVEL_CACHE else None)  # type: ignore[attr-defined]
                or logger.isEnabledFor(_INFO)
            )
        ):
            task_of = self._task_of  # (read, then called: two specialised steps)
            task = task_of(task_name)
            own = None if task is None else task._logger_name
            parent = logger.parent if logger.propagate else None
            while parent is not None and not parent.handlers:
                parent = parent.parent if parent.propagate else None
            if parent is None and (own is None or own == logger.name):
                parts = (task_name, action, ts, start, run_id, exc_text, clock.tz, start_ts)
                try:
                    sink = handler.compact_sink
                    if sink is not None and not handler.queue_view:
                        # emit_lifecycle's own first step, without its call
                        try:
                            sink(parts)
                        except Exception as exc:
                            handler.lifecycle_failed(parts, exc)
                    else:
                        handler.emit_lifecycle(parts)
                except Exception as exc:
                    self._record_failed(exc, task_name, action, ts, run_id)
                if handler.failing:
                    self._repo_unavailable(handler, task_name, action)
                return
        if (
            id(handlers),
            len(handlers),
            id(handlers[-1]) if handlers else 0,
        ) != self._seen:  # _handlers_key, inline: two records per run
            self.sync()
            handler = self.handler
        if start is None:
            assert start_ts is not None  # a start not made is given by its timestamp
            start = datetime.fromtimestamp(start_ts, clock.tz)
        task = self.tasks.get(task_name)
        own = None if task is None else task._logger_name  # set only when the task has its own
        if own is not None and own != logger.name:
            # The task's own logger_name (under the task logger): its handlers, then the ones
            # of the task logger by propagation, the repo handler among them.
            logger = logging.getLogger(own)
        level = logging.ERROR if action == "fail" else logging.INFO
        # The application's levels keep a record from the other handlers, never from the
        # repo: a history missing its runs would run a `daily` task again after a restart.
        blocked = logger.disabled or not logger.isEnabledFor(level)
        if blocked:
            if handler is None:
                return
            self._level_blocked(logger)
        try:
            if (
                handler is not None
                and not blocked
                and self._sole_trusted_consumer(logger, handler, level)
            ):
                handler.emit_lifecycle(
                    (task_name, action, ts, start, run_id, exc_text, clock.tz, start_ts)
                )
                if level >= _LAST_RESORT_LEVEL and _levels_allow(task_logger, level):
                    # nobody else hears it: Python's last resort
                    _last_resort(_status_record(logger, level, task_name, action, ts, exc_text))
            else:
                record = _status_record(logger, level, task_name, action, ts, exc_text)
                record.run_id = run_id
                record.start = start
                if action == "run":
                    record.end = record.runtime = None
                else:
                    record.end = datetime.fromtimestamp(ts, clock.tz)
                    record.runtime = timedelta(seconds=ts - start.timestamp())
                record.session_key = id(self.owner)
                if blocked:
                    assert handler is not None  # checked above
                    handler.handle(record)
                elif logger.filter(record):
                    _deliver(logger, record, task_logger)
        except Exception as exc:
            self._record_failed(exc, task_name, action, ts, run_id)
        if handler is not None and handler.failing:
            self._repo_unavailable(handler, task_name, action)

    def _record_failed(
        self, exc: Exception, task_name: str, action: Action, ts: float, run_id: str | None
    ) -> None:
        """A record could not be logged: raise, or report it when silenced."""
        if not self.config.silence_task_logging:
            if action not in ("fail", "crash"):
                # The error stops the scheduler (a `run` that could not be logged does not
                # start). As in Rocketry the task's status is then `fail`: logging is part
                # of the run, and a run must not be left open.
                self.history.add(task_name, "fail", ts, run_id)
            raise TaskLoggingError(
                f"logging {action!r} of task {task_name!r} failed: {exc!r}"
            ) from exc
        now = _monotonic()
        if self._silenced_at is not None and now - self._silenced_at < _SILENCED_REPORT_S:
            self._silenced_since += 1
            return
        more, self._silenced_since, self._silenced_at = self._silenced_since, 0, now
        self.scheduler_logger.exception(
            "Logging %r of task %r failed (silenced)%s",
            action,
            task_name,
            f"; {more} other record(s) failed to log since the last report" if more else "",
        )

    def _level_blocked(self, logger: logging.Logger) -> None:
        """Say once that the logger's level or ``disabled`` keeps records from its handlers."""
        if self._level_reported:
            return
        self._level_reported = True
        state = (
            "is disabled"
            if logger.disabled
            else f"has level {logging.getLevelName(logger.getEffectiveLevel())}"
        )
        warnings.warn(
            f"logger {logger.name!r} {state}: task records below it ('run', 'success'...) "
            f"still go to the session's repo {self._repo!r}, but not to the logger's other "
            "handlers; set its level to INFO to let them through",
            UserWarning,
            stacklevel=2,
        )

    def _repo_unavailable(self, handler: RepoHandler, task_name: str, action: str) -> None:
        """A record waits in the handler's buffer: stop the scheduler unless silenced.

        Nothing is lost either way: the history has the action, and the buffered record is
        written when the repo is back (at the latest by :meth:`flush` at shutdown).
        """
        if not self.config.silence_task_logging:
            if self.runs is not None:
                self.runs.fail(
                    TaskLoggingError(
                        f"logging {action!r} of task {task_name!r}: {self.repo!r} is unavailable "
                        f"({handler.last_error!r}); {handler.pending} record(s) buffered "
                        "(set silence_task_logging=True to keep scheduling meanwhile)"
                    )
                )
        elif not self._buffering_reported:
            self._buffering_reported = True
            self.scheduler_logger.warning(
                "Task records are buffered: %r is unavailable (%r); retrying in the background",
                self.repo,
                handler.last_error,
            )
        if not handler.pending:
            self._buffering_reported = False

    @staticmethod
    def _sole_trusted_consumer(logger: logging.Logger, handler: RepoHandler, level: int) -> bool:
        """Whether a record may skip ``logging`` and go to ``handler`` as a plain dict."""
        if not handler.takes_trusted or level < handler.level:
            return False
        if logger.filters or len(handler.filters) != 1:
            return False
        for other in logger.handlers:
            if other is handler:
                continue
            # Other sessions' repo handlers take only their own session's records.
            own = ownership(other)
            if own is None or not own.status_only:
                return False
        parent = logger.parent if logger.propagate else None
        while parent is not None:
            if parent.handlers:
                return False
            parent = parent.parent if parent.propagate else None
        return True

    # --- the log file -----------------------------------------------------------------------
    def attach_outputs(self) -> None:
        """Put the FileLogger that ``config.log_file`` asks for on the task logger.

        One left by this session or by a session that no longer exists is closed and
        replaced: call again after changing the keys.
        """
        me = self.owner
        logger = self.task_logger
        config = self.config
        # Imported only once a log file is or was asked for (no FileLogger can exist before).
        if "skylaunch.log.outputs.file" not in sys.modules and config.log_file is None:
            self._file_output = None
            return
        from skylaunch.log.outputs.file import FileLogger

        for handler in list(logger.handlers):
            own = ownership(handler)
            if isinstance(handler, FileLogger) and own is not None and own.owner in (me, None):
                logger.removeHandler(handler)
                handler.close()
        self._file_output = None
        if config.log_file is not None:
            output = FileLogger(
                config.log_file,
                mode=config.log_file_mode,
                max_bytes=config.log_file_max_bytes,
                backup_count=config.log_file_backup_count,
                log_lifecycle=config.log_lifecycle,
                tz=config.timezone,
                permissions=config.log_file_permissions,
            )
            output.addFilter(Ownership(me, status_only=False))
            logger.addHandler(output)
            self._file_output = output
            if self.close_outputs not in self._shutdown_hooks:
                self._shutdown_hooks.append(self.close_outputs)

    def close_outputs(self) -> None:
        """Release the log file at shutdown; the next record (a restart) reopens it."""
        if self._file_output is not None:
            self._file_output.close()
