"""The app that tests/integration/test_restart.py SIGKILLs while records stream to SQLite.

``python linger_app.py DB WAIT PHASE``: ``spin`` (always due, on the loop) logs a steady stream
of records, so the repo handler's thread batches them and lingers for fuller batches; ``hold``
(``daily``, in a thread) announces itself on stdout and, in phase ``kill``, blocks until the
process is killed. In phase ``last`` it returns at once and ``stop`` shuts the scheduler down
after it. ``WAIT`` is ``run_record_wait`` in seconds, or ``default``.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from skylaunch import App
from skylaunch.conds import after_success, daily, true
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo


def main(db: str, wait: str, phase: str) -> None:
    repo = SQLRepo(
        model=TaskRunRecord, conn_string=f"sqlite:///{db}", table="log", if_missing="create"
    )
    config: dict[str, Any] = {"execution": "main", "timeout": None}
    if wait != "default":
        config["run_record_wait"] = float(wait)
    app = App(logger_repo=repo, config=config)

    @app.task(true)
    def spin() -> None: ...

    @app.task(daily, execution="thread")
    def hold() -> None:
        sys.stdout.write("hold started\n")
        sys.stdout.flush()
        if phase == "kill":
            threading.Event().wait(60)  # killed long before

    @app.task(after_success("hold"))
    def stop() -> None:
        app.session.shut_down()

    app.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
