"""The app that tests/integration/test_orphans.py runs in a subprocess and SIGKILLs.

``python orphan_app.py DB WORKDIR SECONDS [THREAD [BODY]]``: ``work`` is a ``daily`` task in
``process`` execution. Its body appends ``start PID`` to ``WORKDIR/body.log``, sleeps
``SECONDS`` and appends ``end PID``; while it runs it holds an exclusive lock on
``WORKDIR/body.lock``, and a body that finds the lock taken (another body still running) appends
``concurrent PID``. ``stop`` shuts the scheduler down once ``work`` has succeeded.

``THREAD`` is ``main`` (the scheduler runs in the main thread, the default) or ``other`` (in a
thread of its own). ``BODY`` is ``sleep`` (``time.sleep``, the default) or ``gil`` (libc's
``sleep`` called with the GIL held, so no other thread of the child can run meanwhile).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import sys
import threading
import time
from pathlib import Path

from skylaunch import App
from skylaunch.conds import after_success, daily


def note(workdir: str, line: str) -> None:
    with open(Path(workdir, "body.log"), "a") as file:
        file.write(f"{line}\n")


def work(workdir: str, seconds: float, body: str) -> None:
    pid = os.getpid()
    with open(Path(workdir, "body.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note(workdir, f"concurrent {pid}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        note(workdir, f"start {pid}")
        if body == "gil":
            ctypes.PyDLL(None).sleep(round(seconds))
        else:
            time.sleep(seconds)
        note(workdir, f"end {pid}")


def main(db: str, workdir: str, seconds: float, thread: str, body: str) -> None:
    # imported here: the child imports this script too, and needs none of it
    from skylaunch.log import TaskRunRecord
    from skylaunch.log.repos.sql import SQLRepo

    repo = SQLRepo(
        model=TaskRunRecord, conn_string=f"sqlite:///{db}", table="log", if_missing="create"
    )
    app = App(logger_repo=repo, execution="main", cycle_sleep=0.01, timeout=None)
    app.session.create_task(
        func=work,
        name="work",
        start_cond=daily,
        execution="process",
        parameters={"workdir": workdir, "seconds": seconds, "body": body},
    )

    @app.task(after_success("work"))
    def stop() -> None:
        app.session.shut_down()

    if thread == "main":
        app.run()
    else:
        runner = threading.Thread(target=app.run, name="scheduler")
        runner.start()
        runner.join()


if __name__ == "__main__":
    db, workdir, seconds, *rest = sys.argv[1:]
    thread, body = [*rest, "main", "sleep"][:2]
    main(db, workdir, float(seconds), thread, body)
