"""Several replicas of one app behaving as one scheduler (docs/deployment.md).

``App(logger_repo=SQLRepo(conn_string="postgresql://...", ...), coordination=True)``: the
replicas share a lease row in the repo's database; the one holding it schedules and runs
tasks, the others wait and take over when it dies, and the database refuses the task records
of a replica whose lease is stale (fencing). ``App(logger_repo=RedisRepo(url), coordination=True)``
does the same on Redis: the lease is a key next to the records, and the insert script checks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.coordination.coordinator import Coordination, coordination_for
from skylaunch.coordination.lease import (
    DEFAULT_LEASE_TABLE,
    FencedWriteError,
    LeaseState,
    PostgresLease,
)

if TYPE_CHECKING:
    from skylaunch.coordination.redis import RedisLease

__all__ = [
    "DEFAULT_LEASE_TABLE",
    "Coordination",
    "FencedWriteError",
    "LeaseState",
    "PostgresLease",
    "RedisLease",
    "coordination_for",
]

__getattr__ = lazy_attributes(__name__, {"RedisLease": "skylaunch.coordination.redis"})
