"""A lease in PostgreSQL: which replica is the active one, until when, and under which epoch.

One row per scheduler name in ``skylaunch_lease``. Every statement computes time with the
database clock (``now()``, the start of its own short transaction), so replicas on hosts whose
clocks disagree still agree on who holds the lease. What each statement relies on:

- **take / renew** is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: PostgreSQL locks the
  conflicting row and evaluates the ``WHERE`` on its newest version, so of two replicas that
  try at the same instant exactly one gets a row back. A replica takes the lease only when it
  has expired (``expires_at <= now()``); the holder extends it only while it is still valid
  under the same epoch. Each take adds one to ``epoch``: the fencing token.
- **fencing** (:meth:`PostgresLease.guard`) runs inside the transaction of every record write:
  ``SELECT ... FOR SHARE`` of the lease row with the writer's holder id and epoch and
  ``expires_at > now()``. A take is an ``UPDATE`` of that row, which waits for the share lock:
  a record written under a valid lease is committed before another replica's take returns,
  and so before its restore reads the history; once the row has another epoch, the write
  finds no row and is refused (:class:`FencedWriteError`) by the database, not by Python.
- **a paused writer** (SIGSTOP, a frozen VM) between two statements of a write would keep its
  share lock, and so every take, waiting: each lease transaction sets
  ``idle_in_transaction_session_timeout`` (``idle_s``) locally, and the database ends such a
  session, releasing its locks, before the lease can expire.
- **release** sets ``expires_at = now()`` for the holder's own epoch: a standby takes over at
  its next poll instead of waiting for the lease to run out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from skylaunch.exc import FencedWriteError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["DEFAULT_LEASE_TABLE", "FencedWriteError", "LeaseState", "PostgresLease"]

DEFAULT_LEASE_TABLE = "skylaunch_lease"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class LeaseState:
    """The lease row as the database saw it (all times from the database clock)."""

    name: str
    holder: str
    epoch: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    db_now: datetime

    @property
    def valid(self) -> bool:
        """Whether the lease had not expired when it was read."""
        return self.expires_at > self.db_now


class PostgresLease:
    """The lease row ``name`` of ``table`` in the database of ``engine`` (PostgreSQL only)."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = "default",
        table: str = DEFAULT_LEASE_TABLE,
        idle_s: float = 1.5,
    ):
        if engine.dialect.name != "postgresql":
            raise ValueError(
                f"coordination needs PostgreSQL; the repo's database is {engine.dialect.name!r}"
            )
        if not _NAME.match(table):
            raise ValueError(f"lease table must be a plain SQL identifier, got {table!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"the lease name must be a non-empty string, got {name!r}")
        self.engine = engine
        self.name = name
        self.table = table
        self.idle_s = idle_s
        """How long the database lets a transaction on the lease row sit idle before it ends
        the session (``idle_in_transaction_session_timeout``): a replica paused in the middle
        of a write must not keep the row locked, or no other replica could take over."""
        t = table
        self._create = sa.text(
            f"CREATE TABLE IF NOT EXISTS {t} ("
            " name text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL,"
            " acquired_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL,"
            " expires_at timestamptz NOT NULL)"
        )
        # The holder id is unique per process: a valid lease held under this id is this
        # replica's, even under an epoch it never heard of (a take whose answer was lost).
        still_mine = "l.holder = EXCLUDED.holder AND l.expires_at > now()"
        self._take = sa.text(
            f"INSERT INTO {t} AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)"
            " VALUES (:name, :me, 1, now(), now(), now() + make_interval(secs => :lease))"
            " ON CONFLICT (name) DO UPDATE SET"
            " holder = EXCLUDED.holder,"
            f" epoch = CASE WHEN {still_mine} THEN l.epoch ELSE l.epoch + 1 END,"
            f" acquired_at = CASE WHEN {still_mine} THEN l.acquired_at ELSE now() END,"
            " renewed_at = now(),"
            " expires_at = now() + make_interval(secs => :lease)"
            f" WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder"
            " RETURNING name, holder, epoch, acquired_at, renewed_at, expires_at, now()"
        )
        self._read = sa.text(
            "SELECT name, holder, epoch, acquired_at, renewed_at, expires_at, now()"
            f" FROM {t} WHERE name = :name"
        )
        self._release = sa.text(
            f"UPDATE {t} SET expires_at = now()"
            " WHERE name = :name AND holder = :me AND epoch = :epoch AND expires_at > now()"
        )
        self._guard = sa.text(
            "WITH cfg AS (SELECT set_config('idle_in_transaction_session_timeout', :idle, true))"
            f" SELECT 1 FROM cfg, {t} AS l WHERE l.name = :name AND l.holder = :me"
            " AND l.epoch = :epoch AND l.expires_at > now() FOR SHARE OF l"
        )
        self._idle = sa.text(
            "SELECT set_config('idle_in_transaction_session_timeout', :idle, true)"
        )

    def __repr__(self) -> str:
        return f"<PostgresLease {self.table}/{self.name} on {self.engine.url.host}>"

    @property
    def _idle_ms(self) -> str:
        return f"{max(100, round(self.idle_s * 1000))}ms"

    def create(self) -> None:
        """Create the lease table if it does not exist (idempotent, safe from every replica)."""
        with self.engine.begin() as conn:
            # Two replicas creating it at once race on the catalog: one lock makes it one.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": self.table})
            conn.execute(self._create)

    def take(self, holder: str, lease_s: float) -> LeaseState | None:
        """Take the lease if it is free, or extend it if ``holder`` holds it.

        Returns the row when ``holder`` holds it now (its ``epoch`` is one more after a take,
        the same after an extension), else None: another replica holds a valid lease. A
        holder whose lease expired gets it back under a new epoch: writes fenced with the
        old one stay refused.
        """
        with self.engine.begin() as conn:
            conn.execute(self._idle, {"idle": self._idle_ms})
            row = conn.execute(
                self._take, {"name": self.name, "me": holder, "lease": float(lease_s)}
            ).first()
        return None if row is None else _state(row)

    def read(self) -> LeaseState | None:
        """The lease row, or None if no replica ever took it."""
        with self.engine.connect() as conn:
            row = conn.execute(self._read, {"name": self.name}).first()
        return None if row is None else _state(row)

    def release(self, holder: str, epoch: int) -> bool:
        """End ``holder``'s lease now (a standby takes over at its next poll)."""
        with self.engine.begin() as conn:
            result = conn.execute(self._release, {"name": self.name, "me": holder, "epoch": epoch})
        return bool(result.rowcount)

    def guard(self, conn: Connection, holder: str, epoch: int | None) -> None:
        """Inside a write transaction: refuse the write unless ``holder`` holds the lease
        under ``epoch`` now; the row stays share-locked until the transaction ends."""
        if epoch is not None:
            found = conn.execute(
                self._guard,
                {"name": self.name, "me": holder, "epoch": epoch, "idle": self._idle_ms},
            ).first()
            if found is not None:
                return
        raise FencedWriteError(
            f"replica {holder!r} does not hold the lease {self.name!r}"
            + ("" if epoch is None else f" under epoch {epoch}")
            + ": the database refused the write"
        )


def _state(row: Any) -> LeaseState:
    name, holder, epoch, acquired, renewed, expires, now = row
    return LeaseState(name, holder, int(epoch), acquired, renewed, expires, now)
