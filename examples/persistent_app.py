"""A scheduler whose task history survives restarts: run it twice.

    python examples/persistent_app.py [app.db]

The first run creates ``app.db`` (SQLite) and runs ``daily_report`` and ``tick`` for about
two seconds. The second run reads the history back at start-up: ``daily_report`` does not run
again today, ``tick`` goes on every second, and the history printed below the run grows.
"""

from __future__ import annotations

import sys
from datetime import datetime

from skylaunch import App
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo


def main(path: str = "app.db") -> None:
    repo = SQLRepo(
        model=TaskRunRecord, conn_string=f"sqlite:///{path}", table="tasks", if_missing="create"
    )
    app = App(
        logger_repo=repo,
        execution="main",
        shut_cond="scheduler has run over 2 seconds",
    )

    @app.task("daily")
    def daily_report() -> None:
        print("daily_report: running (once a day, restarts included)")

    @app.task("every 1 second")
    def tick() -> None: ...

    app.run()

    print(f"History in {path}:")
    for name in ("daily_report", "tick"):
        records = app.session[name].logger.filter_by(action="success").all()
        last = records[-1] if records else None
        when = "never" if last is None else datetime.fromtimestamp(last.created).isoformat(" ")
        print(f"  {name:<13} {len(records):>3} successful run(s), last at {when}")
    crashes = repo.filter_by(action="crash").count()
    print(f"  crashed runs found at start-ups: {crashes}")
    repo.engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:2])
