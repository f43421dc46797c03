"""The app that tests/integration/test_restart.py runs in a subprocess and kills.

``python killable_app.py DB PHASE``: in phase 1 the ``slow`` task waits for the records logged
so far to be written, announces itself on stdout and then blocks until the process is killed; in phase 2 it returns at once, and ``stop`` shuts
the scheduler down after it. ``report`` is a quick ``daily`` task: it must run once in all.
"""

from __future__ import annotations

import sys
import threading

from skylaunch import App
from skylaunch.conds import after_success, daily
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo


def main(db: str, phase: str) -> None:
    repo = SQLRepo(
        model=TaskRunRecord, conn_string=f"sqlite:///{db}", table="log", if_missing="create"
    )
    # timeout=None: the thread executor on main cannot take a deadline yet (wip/exec)
    app = App(logger_repo=repo, execution="main", cycle_sleep=0.01, timeout=None)

    @app.task(daily)
    def report() -> None: ...

    @app.task(daily, execution="thread")
    def slow() -> None:
        if phase == "1":
            # Records reach the repo from the handler's thread a moment after they are logged;
            # what a SIGKILL finds still queued is lost (docs/persistence.md). Announce only
            # once the records so far (report's, and this run's "run") are in the file.
            if not app.session.flush_logs(5):
                raise RuntimeError("the task records were not written within 5 s")
            sys.stdout.write("slow started\n")
            sys.stdout.flush()
            threading.Event().wait(60)  # killed long before

    @app.task(after_success("slow"))
    def stop() -> None:
        app.session.shut_down()

    app.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
