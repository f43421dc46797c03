"""Several replicas of one app behaving as one scheduler (docs/deployment.md).

``App(logger_repo=SQLRepo(conn_string="postgresql://...", ...), coordination=True)``: the
replicas share a lease row in the repo's database; the one holding it schedules and runs
tasks, the others wait and take over when it dies, and the database refuses the task records
of a replica whose lease is stale (fencing).
"""

from __future__ import annotations

from skylaunch.coordination.coordinator import Coordination, coordination_for
from skylaunch.coordination.lease import (
    DEFAULT_LEASE_TABLE,
    FencedWriteError,
    LeaseState,
    PostgresLease,
)

__all__ = [
    "DEFAULT_LEASE_TABLE",
    "Coordination",
    "FencedWriteError",
    "LeaseState",
    "PostgresLease",
    "coordination_for",
]
