"""Two replicas of one app on one Redis repo acting as one scheduler, and a stale write refused.

    pip install 'skylaunch[redis]'
    python examples/replicas_redis.py [redis://host:6379/0]

Both replicas run in this process (in production: separate processes or hosts, see
docs/deployment.md). ``first`` takes the lease and runs ``daily_report`` and ``tick``;
``second`` waits as a standby. ``first`` shuts down, releasing the lease: ``second`` takes
over, finds in Redis that ``daily_report`` already ran today, and goes on with ``tick``.
Last, a record written with ``first``'s old lease token is refused by Redis itself.

The URL defaults to $SKYLAUNCH_TEST_REDIS_URL, else the local server; without a reachable
server the example says so and exits (it fails under CI=true). Its keys (prefix
``{replicas_demo_...}``) are deleted at the end.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from urllib.parse import urlsplit

import redis

from skylaunch import App
from skylaunch.coordination import Coordination, FencedWriteError, RedisLease
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo

URL = os.environ.get("SKYLAUNCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECONDS = float(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "3"))


def replica(name: str, url: str, prefix: str) -> App:
    # lease_s=1: a quick demo; the default (3 s) suits production
    app = App(
        logger_repo=RedisRepo(url, TaskRunRecord, key_prefix=prefix),
        coordination=Coordination(lease_s=1.0, holder=name),
        execution="main",
    )

    @app.task("daily")
    def daily_report() -> None:
        print(f"{name}: daily_report (once a day, whichever replica is active)")

    @app.task("every 1 second")
    def tick() -> None:
        print(f"{name}: tick")

    return app


def reachable(url: str) -> bool:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
    return True


def main(url: str) -> None:
    if not reachable(url):
        print(f"no Redis server at {urlsplit(url).hostname}: give a URL as the first argument")
        sys.exit(1 if os.environ.get("CI") == "true" else 0)
    prefix = f"replicas_demo_{secrets.token_hex(3)}"
    first, second = replica("first", url, prefix), replica("second", url, prefix)
    runners = [threading.Thread(target=app.run) for app in (first, second)]
    runners[0].start()
    threading.Event().wait(0.5)
    runners[1].start()
    threading.Event().wait(SECONDS / 2)
    print("first: shutting down (the lease is released)")
    first.session.shut_down()
    runners[0].join()
    threading.Event().wait(SECONDS / 2)
    coordination = second.session.coordination
    status = coordination.status() if coordination is not None else None
    if status is not None:
        print(f"active: {status.holder} (epoch {status.epoch}) since {status.acquired_at}")
    second.session.shut_down()
    runners[1].join()
    repo = second.session.repo
    assert isinstance(repo, RedisRepo)
    reports = repo.filter_by(task_name="daily_report", action="run").count()
    print(f"daily_report ran {reports} time(s) over both replicas")

    # What a replica paused past its lease would send when it wakes up: its old token.
    lease = RedisLease(repo.client, key=repo.key("lease", "default"))
    stale = RedisRepo(url, TaskRunRecord, key_prefix=prefix)
    stale.write_guard = lambda write: write(lease.key, lease.token("first", 1))
    try:
        stale.add({"task_name": "tick", "action": "run", "created": 0.0, "message": "stale"})
    except FencedWriteError as exc:
        print(f"a write with first's old lease: {exc}")
    stale.close()
    keys = list(repo.client.scan_iter(match="{" + prefix + "}:*"))
    if keys:
        repo.client.delete(*keys)
    for app in (first, second):
        app.session.repo.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else URL)
