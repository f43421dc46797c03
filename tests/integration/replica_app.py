"""One replica of a coordinated app (tests/coordination/test_chaos.py runs three and kills them).

``python replica_app.py URL TABLE LEASE_NAME LEASE_S [RUN_FOR_S]``: an app on the PostgreSQL
repo ``TABLE`` of ``URL`` (or, for a ``redis://`` URL, the Redis repo of key prefix ``TABLE``) with ``coordination`` under the lease ``LEASE_NAME``. It prints
``ready`` once the scheduler started, ``active`` each time it takes over, and stops by itself
after ``RUN_FOR_S`` seconds (default 60) so that nothing outlives a test that died.

Tasks: ``tick`` every second in the loop's thread, ``report`` daily, ``extract`` every two
seconds with ``load`` after its success (a chain across replicas), ``slow`` every second in a
thread that lasts 0.8 s (a kill often finds it running: its run must become ``crash``), and
``proc`` every three seconds in a child process.
"""

from __future__ import annotations

import logging
import sys
import threading

from skylaunch import App
from skylaunch.conds import after_success, daily, every
from skylaunch.coordination import Coordination
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo
from skylaunch.log.repos.sql import SQLRepo


def _sleep(seconds: float) -> None:
    threading.Event().wait(seconds)


def proc_body() -> None:
    pass


def main(url: str, table: str, name: str, lease_s: float, run_for_s: float) -> None:
    repo: SQLRepo | RedisRepo
    if url.startswith("redis"):
        repo = RedisRepo(url, TaskRunRecord, key_prefix=table)
    else:
        repo = SQLRepo(model=TaskRunRecord, conn_string=url, table=table, if_missing="create")
    coordination = Coordination(name=name, lease_s=lease_s)
    app = App(
        logger_repo=repo,
        coordination=coordination,
        execution="main",
        timeout=None,
        shut_cond=None,
        # SIGTERM at the end of a test: end the runs (logged terminate) rather than wait for
        # a child process still importing on a loaded machine
        instant_shutdown=True,
    )

    class Announce(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "took over" in record.getMessage() or "is active" in record.getMessage():
                sys.stdout.write(f"active {record.getMessage()}\n")
                sys.stdout.flush()

    coord_logger = logging.getLogger("skylaunch.coordination")
    coord_logger.setLevel(logging.INFO)
    coord_logger.addHandler(Announce())

    @app.task(every("1 second"))
    def tick() -> None: ...

    @app.task(daily)
    def report() -> None: ...

    @app.task(every("2 seconds"))
    def extract() -> None: ...

    @app.task(after_success("extract"))
    def load() -> None: ...

    @app.task(every("1 second"), execution="thread")
    def slow() -> None:
        _sleep(0.8)

    app.task(every("3 seconds"), name="proc", func=proc_body, execution="process")

    @app.startup()
    def ready() -> None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        timer = threading.Timer(run_for_s, app.session.shut_down)
        timer.daemon = True
        timer.start()

    app.run()


if __name__ == "__main__":
    run_for = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), run_for)
