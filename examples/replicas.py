"""Two replicas of one app on one PostgreSQL repo acting as one scheduler.

    python examples/replicas.py [postgresql://user@host/db]

Both replicas run in this process (in production they are separate processes or hosts: see
docs/deployment.md). ``first`` takes the lease and runs ``daily_report`` and ``tick``; ``second``
waits as a standby. ``first`` then shuts down, releasing the lease: ``second`` takes over,
finds in the repo that ``daily_report`` already ran today, and goes on with ``tick``.

The URL defaults to $SKYLAUNCH_TEST_PG_URL, else the local test server; without a reachable
server the example says so and exits (it fails under CI=true).
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading

from sqlalchemy.engine import make_url

from skylaunch import App
from skylaunch.coordination import Coordination
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, normalize_url

URL = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECONDS = float(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "3"))


def replica(name: str, url: str, table: str) -> App:
    repo = SQLRepo(model=TaskRunRecord, conn_string=url, table=table, if_missing="create")
    # lease_s=1: a quick demo; the default (3 s) suits production
    app = App(
        logger_repo=repo,
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
    parsed = make_url(normalize_url(url))
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 2).close()
    except OSError:
        return False
    return True


def main(url: str) -> None:
    if not reachable(url):
        print(f"no PostgreSQL server at {url}: give a URL as the first argument")
        sys.exit(1 if os.environ.get("CI") == "true" else 0)
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
    second.session.shut_down()
    runners[1].join()
    repo = second.session.repo
    reports = repo.filter_by(task_name="daily_report", action="run").count()
    print(f"daily_report ran {reports} time(s) over both replicas")
    with repo.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("DELETE FROM skylaunch_lease WHERE name = %(n)s", {"n": table})
    for app in (first, second):
        app.session.repo.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else URL)
