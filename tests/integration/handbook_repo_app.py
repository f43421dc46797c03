"""One process of the handbook's pattern: a daily task, a repo put on the task logger with
``logger.addHandler(RepoHandler(repo=repo))``; prints how many records the repo holds at exit.

Usage: handbook_repo_app.py csv|sql PATH "YYYY-MM-DD HH:MM"
"""

from __future__ import annotations

import logging
import sys

from sqlalchemy import create_engine

from skylaunch.log import MinimalRunRecord, RepoHandler
from skylaunch.log.repos import CSVFileRepo, SQLRepo
from skylaunch.testing import run_for, simulated_app


def main() -> None:
    kind, path, start = sys.argv[1:4]
    repo: CSVFileRepo | SQLRepo
    if kind == "csv":
        repo = CSVFileRepo(filename=path, model=MinimalRunRecord)
    else:
        repo = SQLRepo(
            engine=create_engine(f"sqlite:///{path}"),
            table="tasks",
            if_missing="create",
            model=MinimalRunRecord,
            id_field="created",
        )
    app = simulated_app(start)
    logging.getLogger("skylaunch.task").addHandler(RepoHandler(repo=repo))

    @app.task("daily")
    def do_things() -> None:
        pass

    run_for(app, "5 minutes")
    app.session.flush_logs(5)
    print(len(repo.filter_by().all()), flush=True)


if __name__ == "__main__":
    main()
