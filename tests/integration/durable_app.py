"""The app that tests/integration/test_durable_start.py runs in a subprocess and SIGKILLs.

``python durable_app.py URL TABLE WORKDIR WAIT EXECUTION``: a ``daily`` task (in ``EXECUTION``,
``thread`` or ``process``) appends its pid to ``WORKDIR/body.txt``; a task after its success
shuts the scheduler down. ``WAIT`` is ``run_record_wait`` in seconds, or ``default``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from skylaunch import App
from skylaunch.conds import after_success, daily
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo


def body(workdir: str) -> None:
    with open(Path(workdir) / "body.txt", "a") as out:
        out.write(f"{os.getpid()}\n")


def main(url: str, table: str, workdir: str, wait: str, execution: str) -> None:
    repo = SQLRepo(model=TaskRunRecord, conn_string=url, table=table, if_missing="create")
    config: dict[str, Any] = {"execution": "main", "silence_task_logging": True}
    if wait != "default":
        config["run_record_wait"] = float(wait)
    app = App(logger_repo=repo, config=config)
    app.task(daily, name="work", execution=execution, parameters={"workdir": workdir})(body)
    app.task(after_success("work"), name="stop")(app.session.shut_down)
    app.run()


if __name__ == "__main__":
    main(*sys.argv[1:6])
