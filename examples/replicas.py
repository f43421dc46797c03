"""Two replicas of one app on one repo (PostgreSQL or Redis) acting as one scheduler.

    python examples/replicas.py [postgresql://user@host/db | redis://host:6379/0]

Both replicas run in this process (in production they are separate processes or hosts: see
docs/deployment.md). ``first`` takes the lease and runs ``daily_report`` and ``tick``; ``second``
waits as a standby. ``first`` then shuts down, releasing the lease: ``second`` takes over,
finds in the repo that ``daily_report`` already ran today, and goes on with ``tick``. On Redis,
then a record written with ``first``'s old lease token is refused by Redis itself.

Without an argument the demo runs on $SKYLAUNCH_TEST_PG_URL and then on
$SKYLAUNCH_TEST_REDIS_URL (else the local test servers); a server that cannot be reached is
said and skipped (under CI=true the example fails). Its table, or its Redis keys, are deleted
at the end.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
from urllib.parse import urlsplit

from skylaunch import App
from skylaunch.coordination import Coordination, FencedWriteError
from skylaunch.log import TaskRunRecord

PG_URL = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SKYLAUNCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECONDS = float(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "3"))


def make_repo(url: str, name: str) -> object:
    """The repo ``name`` (a table; a Redis key prefix) on the server at ``url``."""
    if url.startswith("redis"):
        from skylaunch.log.repos.redis import RedisRepo

        return RedisRepo(url, TaskRunRecord, key_prefix=name)
    from skylaunch.log.repos.sql import SQLRepo

    return SQLRepo(model=TaskRunRecord, conn_string=url, table=name, if_missing="create")


def replica(name: str, url: str, table: str) -> App:
    # lease_s=1: a quick demo; the default (3 s) suits production
    app = App(
        logger_repo=make_repo(url, table),
        coordination=Coordination(name=table, lease_s=1.0, holder=name),
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
    parts = urlsplit(url)
    port = parts.port or (6379 if url.startswith("redis") else 5432)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", port), 2).close()
    except OSError:
        return False
    return True


def stale_write(url: str, table: str) -> None:
    """What a replica paused past its lease sends when it wakes up: a record under its old
    lease token. The insert script compares it with the lease and Redis refuses it."""
    from skylaunch.coordination import RedisLease
    from skylaunch.log.repos.redis import RedisRepo

    with RedisRepo(url, TaskRunRecord, key_prefix=table) as stale:
        lease = RedisLease(stale.client, key=stale.key("lease", table))
        stale.write_guard = lambda write: write(lease.key, lease.token("first", 1))
        try:
            stale.add({"task_name": "tick", "action": "run", "created": 0.0, "message": "x"})
        except FencedWriteError as exc:
            print(f"a record under first's old lease: {exc}")


def demo(url: str) -> None:
    table = f"replicas_demo_{secrets.token_hex(3)}"
    first, second = replica("first", url, table), replica("second", url, table)
    runners = [threading.Thread(target=app.run) for app in (first, second)]
    runners[0].start()
    threading.Event().wait(0.5)
    runners[1].start()
    threading.Event().wait(SECONDS / 2)
    print("first: shutting down (the lease is released)")
    first.session.shut_down()
    runners[0].join()
    threading.Event().wait(SECONDS / 2)
    status = second.session.coordination.status() if second.session.coordination else None
    if status is not None:
        print(f"active: {status.holder} (epoch {status.epoch}) since {status.acquired_at}")
    if url.startswith("redis"):
        stale_write(url, table)
    second.session.shut_down()
    runners[1].join()
    repo = second.session.repo
    reports = repo.filter_by(task_name="daily_report", action="run").count()
    print(f"daily_report ran {reports} time(s) over both replicas")
    if url.startswith("redis"):
        keys = list(repo.client.scan_iter(match="{" + table + "}:*"))
        repo.client.delete(*keys)
    else:
        with repo.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {table}")
            conn.exec_driver_sql("DELETE FROM skylaunch_lease WHERE name = %(n)s", {"n": table})
    for app in (first, second):
        app.session.repo.close()


def main(urls: list[str]) -> None:
    for url in urls:
        if not reachable(url):
            print(f"no server at {urlsplit(url).hostname}:{urlsplit(url).port}: skipped")
            if os.environ.get("CI") == "true":
                sys.exit(1)
            continue
        print(f"--- on {urlsplit(url).scheme}")
        demo(url)


if __name__ == "__main__":
    main(sys.argv[1:] or [PG_URL, REDIS_URL])
