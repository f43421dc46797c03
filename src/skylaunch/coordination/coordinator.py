"""Several replicas of one app, one scheduler: the active replica holds a lease, the others wait.

A :class:`Coordination` is attached to a session whose repo is a PostgreSQL
:class:`~skylaunch.log.repos.sql.SQLRepo` (lease: :mod:`skylaunch.coordination.lease`) or a
:class:`~skylaunch.log.repos.redis.RedisRepo` (lease: :mod:`skylaunch.coordination.redis`). Its thread (``skylaunch-lease``) takes or renews the
lease every ``poll_s`` seconds. The scheduler asks :meth:`Coordination.may_act` before each pass
and each launch: only the replica whose lease is valid by its *own* clock (``_elapsed``) schedules
and runs tasks. That local validity ends ``safety`` (a fraction of the lease) before the
database would let another replica take over, counted from the moment the renewal was *sent*:
a replica cut from the database (or paused) stops launching before any other can start.

What the scheduler is told, on its loop's thread:

- took over: drain what the old record handler still holds (refused: it was not written under
  this epoch), give the session a fresh handler on the same repo, which restores every task's
  history from the repo (so ``daily`` does not run again and ``after_success`` sees the
  previous active's runs) and logs the previous active's unfinished runs as ``crash``;
- lost the lease: terminate the runs going on (their records are refused by the database now)
  and stop launching; the replica is a standby again.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from skylaunch.coordination.lease import (
    DEFAULT_LEASE_TABLE,
    FencedWriteError,
    LeaseState,
    PostgresLease,
)
from skylaunch.exc import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from skylaunch._scheduler import Scheduler
    from skylaunch.coordination.redis import RedisLease
    from skylaunch.log.repos.redis import RedisRepo
    from skylaunch.session import Session

__all__ = ["Coordination", "coordination_for"]

T = TypeVar("T")
_log = logging.getLogger("skylaunch.coordination")


def _boot_time() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


#: The replica's own clock for its lease (seconds, any origin). Linux's CLOCK_BOOTTIME keeps
#: counting while the host is suspended (a laptop asleep, a paused VM), where the monotonic
#: clock stands still: a replica that wakes up after a suspend longer than its lease knows at
#: once that its lease is over, instead of acting on for the rest of it by a clock that missed
#: the pause (its records were refused all the same: see the fencing in docs/deployment.md).
#: Elsewhere, the monotonic clock.
_elapsed: Callable[[], float] = _boot_time if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic


class _TimedOut(Exception):
    pass


def _call_with_timeout(func: Callable[[], T], timeout: float, what: str) -> T:
    """``func()`` on its own daemon thread, waited for at most ``timeout`` seconds.

    A database call through a black-holed network blocks until the kernel gives up (minutes):
    the lease thread must not. A call that timed out is abandoned; its connection stays with
    its thread until the network answers or fails.
    """
    future: Future[T] = Future()

    def target() -> None:
        try:
            future.set_result(func())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=target, name=f"skylaunch-lease-{what}", daemon=True).start()
    try:
        return future.result(timeout=max(timeout, 0.0))
    except FutureTimeout:
        if future.done():
            raise  # the call itself timed out (a socket timeout, 3.11+: the same class)
        raise _TimedOut(f"{what}: no answer within {timeout:.2f} s") from None


class Coordination:
    """Make the replicas of one app, on one PostgreSQL or Redis repo, behave as one scheduler.

    ``name`` tells apart the schedulers that share a database (one lease each). ``lease_s``
    is how long a lease lasts without renewal; ``poll_s`` (default a third of it) how often
    the active renews and the standbys try to take over. The bound from the death of the
    active to the first run on another replica is ``lease_s + poll_s`` plus the restore of
    the history (defaults: 3 s + 1 s). ``safety`` is the fraction of the lease the active
    gives up early (default 0.2) against the drift between its clock and the database's.
    ``holder`` names this replica (default ``host:pid:random``). ``table`` is the lease
    table on PostgreSQL; on Redis the lease is the key ``{key_prefix}:lease:<name>``.
    """

    def __init__(
        self,
        *,
        name: str = "default",
        lease_s: float = 3.0,
        poll_s: float | None = None,
        safety: float = 0.2,
        holder: str | None = None,
        table: str = DEFAULT_LEASE_TABLE,
    ) -> None:
        if isinstance(lease_s, bool) or not isinstance(lease_s, (int, float)) or lease_s <= 0:
            raise ConfigError("lease_s", lease_s, "a number of seconds > 0")
        if poll_s is None:
            poll_s = lease_s / 3
        if (
            isinstance(poll_s, bool)
            or not isinstance(poll_s, (int, float))
            or not (0 < poll_s <= lease_s / 2)
        ):
            raise ConfigError("poll_s", poll_s, f"seconds > 0 and <= lease_s / 2 ({lease_s / 2})")
        if (
            isinstance(safety, bool)
            or not isinstance(safety, (int, float))
            or not (0 < safety < 0.5)
        ):
            raise ConfigError("safety", safety, "a fraction of the lease, 0 < safety < 0.5")
        self.name = name
        self.lease_s = float(lease_s)
        self.poll_s = float(poll_s)
        self.safety = float(safety)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.table = table
        self.lease: PostgresLease | RedisLease | None = None
        self._session: Session | None = None
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._held: int | None = None  # the epoch the lease thread holds the lease under
        self._write_epoch: int | None = None  # the epoch record writes are fenced with
        self._acting = False  # the loop's view: restored and scheduling (loop thread only)
        self._valid_until = 0.0  # _elapsed(): the end of the lease by this replica's clock
        self._since: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.takeovers = 0
        """How many times this replica became the active one."""
        self.losses = 0
        """How many times it stopped being the active one without releasing the lease."""
        self.refused = 0
        """How many record writes of this replica the database refused (no valid lease)."""
        self.transitions: list[tuple[float, str]] = []
        """``(_elapsed(), "active" | "standby")``: when this replica began to act, and the
        last instant it could act before standing down (its lease's local end, if that came
        first), on the replica's lease clock."""

    def __repr__(self) -> str:
        state = "active" if self._acting else "standby"
        return f"<Coordination {self.name!r} {self.holder} {state}>"

    # --- set-up -------------------------------------------------------------------------
    def attach(self, session: Session) -> None:
        """Fence ``session``'s record writes with this lease, and gate its scheduler.

        The session's repo must be a :class:`~skylaunch.log.repos.sql.SQLRepo` on PostgreSQL
        or a :class:`~skylaunch.log.repos.redis.RedisRepo`: the lease lives in the same
        database, so that a record and the lease are checked in one step (a transaction; a
        Lua script).
        """
        repo = session.repo
        redis_repo = _redis_repo(repo)
        if redis_repo is not None:
            from skylaunch.coordination.redis import RedisLease

            self.lease = RedisLease(
                redis_repo.client, key=redis_repo.key("lease", self.name), name=self.name
            )
            redis_repo.write_guard = self._redis_guard
        else:
            from skylaunch.log.repos.sql import SQLRepo

            if not isinstance(repo, SQLRepo) or repo.engine.dialect.name != "postgresql":
                raise ConfigError(
                    "coordination",
                    repo,
                    "a session whose repo is an SQLRepo on PostgreSQL or a RedisRepo (the "
                    "lease and the task records must live in one database, so that the "
                    "database fences the writes)",
                )
            self.lease = PostgresLease(
                repo.engine, name=self.name, table=self.table, idle_s=self.lease_s / 2
            )
            repo.write_guard = self._guard
        self._session = session
        session.coordination = self
        session.scheduler.coordination = self
        # A run must not start before its record is stored under the lease (write-ahead):
        # the wait ends when the record is written or when the lease is lost.
        session.config.run_record_wait = None

    def _guard(self, conn: Connection) -> None:
        """Called by the SQL repo inside every write transaction (the handler's thread)."""
        assert isinstance(self.lease, PostgresLease)
        try:
            self.lease.guard(conn, self.holder, self._write_epoch)
        except FencedWriteError:
            self.refused += 1
            raise

    def _redis_guard(self, write: Callable[[str, str], None]) -> None:
        """Called by the Redis repo for every insert: its script checks the lease's token."""
        from skylaunch.coordination.redis import RedisLease

        assert isinstance(self.lease, RedisLease)
        try:
            write(self.lease.key, self.lease.token(self.holder, self._write_epoch))
        except FencedWriteError:
            self.refused += 1
            raise

    # --- the scheduler's hooks ----------------------------------------------------------
    def start(self, scheduler: Scheduler) -> None:
        """At scheduler start, before the history is restored: one attempt to take the lease,
        then the lease thread."""
        if self.lease is None:
            raise RuntimeError("Coordination.start() before attach()")
        self._scheduler = scheduler
        self._stop.clear()
        _call_with_timeout(self.lease.create, max(self.lease_s, 5.0), "create")
        sent = _elapsed()
        try:
            state = _call_with_timeout(self._take, self.lease_s, "take")
        except Exception as exc:
            _log.warning("Could not reach the lease %r at start: %r", self.name, exc)
            state = None
        if state is not None:
            with self._lock:
                self._held = self._write_epoch = state.epoch
                self._valid_until = sent + self.lease_s * (1 - self.safety)
                self._since = state.acquired_at
            self._acting = True  # the restore that follows is the take-over's
            self.takeovers += 1
            self.transitions.append((_elapsed(), "active"))
            _log.info("Replica %s is active (epoch %d)", self.holder, state.epoch)
        else:
            _log.info("Replica %s is a standby", self.holder)
        self._thread = threading.Thread(target=self._run, name="skylaunch-lease", daemon=True)
        self._thread.start()

    def may_act(self) -> bool:
        """Whether this replica may schedule and launch now (the scheduler's loop asks)."""
        if not self._acting:
            return False
        if _elapsed() < self._valid_until:
            return True
        self._lose_locally("the lease ran out before it was renewed", self._valid_until)
        return False

    def stop(self) -> None:
        """At scheduler shutdown, after the last records were written: release the lease."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.lease_s)
        with self._lock:
            epoch, self._held = self._held, None
            self._write_epoch = None
        self._acting = False
        if epoch is not None and self.lease is not None:
            lease = self.lease
            try:
                _call_with_timeout(
                    lambda: lease.release(self.holder, epoch), self.poll_s, "release"
                )
            except Exception as exc:
                _log.warning("Could not release the lease %r: %r", self.name, exc)

    # --- state --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether this replica is the active one (restored and scheduling)."""
        return self._acting and _elapsed() < self._valid_until

    @property
    def since(self) -> datetime | None:
        """When this replica's current lease was taken (database clock), if it holds one."""
        return self._since if self._held is not None else None

    def status(self) -> LeaseState | None:
        """The lease row as the database has it now (None: never taken)."""
        if self.lease is None:
            raise RuntimeError("Coordination.status() before attach()")
        return self.lease.read()

    # --- the lease thread ---------------------------------------------------------------
    def _take(self) -> LeaseState | None:
        assert self.lease is not None
        return self.lease.take(self.holder, self.lease_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = _elapsed()
            with self._lock:
                epoch = self._held
                # the active waits no longer than its lease lasts; a standby is in no hurry
                left = self._valid_until - sent if epoch is not None else self.lease_s
            try:
                state = _call_with_timeout(self._take, max(0.05, left), "renew")
                failure: BaseException | None = None
            except Exception as exc:
                state, failure = None, exc
            if self._stop.is_set():
                break
            self._settle(epoch, state, failure, sent)
            self._stop.wait(max(0.0, self.poll_s - (_elapsed() - sent)))

    def _settle(
        self,
        epoch: int | None,
        state: LeaseState | None,
        failure: BaseException | None,
        sent: float,
    ) -> None:
        if failure is not None:
            if epoch is not None and _elapsed() >= self._valid_until:
                self._lose(f"the lease could not be renewed ({failure!r})")
            elif epoch is None:
                _log.debug("Standby %s could not reach the lease: %r", self.holder, failure)
            return
        if state is None:
            if epoch is not None:
                self._lose("the lease was found taken by another replica")
            return
        if epoch is not None and state.epoch != epoch:
            self._lose(f"the lease was found under epoch {state.epoch}, not {epoch}")
        with self._lock:
            self._valid_until = sent + self.lease_s * (1 - self.safety)
            if self._held == state.epoch:
                return
            self._held = state.epoch
            self._since = state.acquired_at
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler._on_loop(self._took_over, state.epoch, _elapsed())

    def _lose(self, reason: str) -> None:
        """On the lease thread: refuse writes at once, and tell the loop."""
        with self._lock:
            if self._held is None:
                return
            self._held = None
            self._write_epoch = None
            until, self._valid_until = self._valid_until, 0.0
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler._on_loop(self._lose_locally, reason, until)

    # --- on the loop's thread -----------------------------------------------------------
    def _took_over(self, epoch: int, taken: float) -> None:
        begun = _elapsed()
        with self._lock:
            if self._held != epoch:
                return  # lost again meanwhile
        session, scheduler = self._session, self._scheduler
        assert session is not None
        assert scheduler is not None
        old = session.journal.handler
        if old is not None:
            # What it still holds was logged while not active: it is refused (no epoch to
            # write under yet), and what a slow database leaves is dropped, never written
            # later under the new epoch.
            try:
                old.flush(self.poll_s)
            except Exception as exc:  # a record refused for another reason: said, not fatal
                _log.error("%s", exc)
            old.close(0.0)
        with self._lock:
            if self._held != epoch:
                return
            self._write_epoch = epoch
        # A fresh handler on the same repo: the history is restored from the repo (the
        # previous active's runs) and its unfinished runs are logged as crash.
        session.set_repo(session.repo)
        self._acting = True
        self.takeovers += 1
        self.transitions.append((_elapsed(), "active"))
        scheduler._dirty.update(task.name for task in session.tasks_in_order())
        scheduler.notify()
        _log.warning(
            "Replica %s took over the lease %r (epoch %d; the loop began %.3f s after the "
            "take, the history was restored in %.3f s)",
            self.holder,
            self.name,
            epoch,
            begun - taken,
            _elapsed() - begun,
        )

    def _lose_locally(self, reason: str, until: float) -> None:
        if not self._acting:
            return
        self._acting = False
        self.transitions.append((min(_elapsed(), until), "standby"))
        with self._lock:
            if self._held is not None:
                self._held = None
                self._write_epoch = None
        self.losses += 1
        _log.warning("Replica %s is a standby again: %s", self.holder, reason)
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler.stand_down(f"lease lost: {reason}")


def _redis_repo(repo: object) -> RedisRepo | None:
    """``repo`` if it is a RedisRepo (without importing redis for apps that do not use it)."""
    module = sys.modules.get("skylaunch.log.repos.redis")
    if module is None:
        return None
    redis_repo: type[RedisRepo] = module.RedisRepo
    return repo if isinstance(repo, redis_repo) else None


def coordination_for(session: Session, value: Any) -> Coordination | None:
    """What ``App(coordination=...)`` gives: ``True``, a lease name, or a :class:`Coordination`."""
    if value is None or value is False:
        return None
    if value is True:
        coordination = Coordination()
    elif isinstance(value, str):
        coordination = Coordination(name=value)
    elif isinstance(value, Coordination):
        coordination = value
    else:
        raise ConfigError(
            "coordination", value, "True, a lease name (str) or a skylaunch.Coordination"
        )
    coordination.attach(session)
    return coordination
