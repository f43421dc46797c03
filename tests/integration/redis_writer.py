"""A replica reduced to its writes, for the fencing test of the Redis lease.

``python redis_writer.py URL KEY_PREFIX LEASE_S``: takes the lease ``unit`` of the Redis repo
``KEY_PREFIX``, prints ``holding <epoch>``, then for each line read from stdin writes one task
record fenced with that epoch and prints ``written`` or ``refused``. It never checks the lease
itself: whether a write goes through is Redis's decision alone.
"""

from __future__ import annotations

import sys

from skylaunch.coordination import FencedWriteError, RedisLease
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo


def main(url: str, prefix: str, lease_s: float) -> None:
    repo = RedisRepo(url, TaskRunRecord, key_prefix=prefix)
    lease = RedisLease(repo.client, key=repo.key("lease", "unit"), name="unit")
    state = lease.take("paused-writer", lease_s)
    assert state is not None, "the lease is taken"
    token = lease.token("paused-writer", state.epoch)
    repo.write_guard = lambda write: write(lease.key, token)
    print(f"holding {state.epoch}", flush=True)
    for line in sys.stdin:
        print(write(repo, line), flush=True)


def write(repo: RedisRepo, message: str) -> str:
    try:
        repo.add({"task_name": "stale", "action": "run", "created": 1.0, "message": message})
    except FencedWriteError:
        return "refused"
    return "written"


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
