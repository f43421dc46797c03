"""An ASGI app embedding a coordinated scheduler, for ``uvicorn --workers N`` (a test runs it).

``uvicorn tests.integration.uvicorn_replica_app:web --workers 4`` with the environment:
``REPLICA_URL`` (PostgreSQL or Redis), ``REPLICA_TABLE`` (the table or key prefix), ``REPLICA_LEASE``, ``REPLICA_LEASE_S``
and ``REPLICA_RUNS`` (a file each run appends ``pid task`` to, so the test sees which worker
ran what). Every worker imports this module and starts its own scheduler from the lifespan
(``async with app.running()``); the lease makes one of them the active one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from skylaunch import App
from skylaunch.conds import after_success, daily, every
from skylaunch.coordination import Coordination
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.redis import RedisRepo
from skylaunch.log.repos.sql import SQLRepo

RUNS = os.environ.get("REPLICA_RUNS", os.devnull)

URL, TABLE = os.environ["REPLICA_URL"], os.environ["REPLICA_TABLE"]

scheduler = App(
    logger_repo=RedisRepo(URL, TaskRunRecord, key_prefix=TABLE)
    if URL.startswith("redis")
    else SQLRepo(model=TaskRunRecord, conn_string=URL, table=TABLE, if_missing="create"),
    coordination=Coordination(
        name=os.environ["REPLICA_LEASE"], lease_s=float(os.environ.get("REPLICA_LEASE_S", "3"))
    ),
    execution="thread",
    shut_cond=None,
    instant_shutdown=True,
)


def _ran(task: str) -> None:
    # O_APPEND: each line is written whole even with several workers appending at once
    fd = os.open(RUNS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {task}\n".encode())
    finally:
        os.close(fd)


@scheduler.task(every("1 second"))
def tick() -> None:
    _ran("tick")


@scheduler.task(daily)
def report() -> None:
    _ran("report")


@scheduler.task(every("2 seconds"))
def extract() -> None:
    _ran("extract")


@scheduler.task(after_success("extract"))
def load() -> None:
    _ran("load")


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    async with scheduler.running():
        yield


web = Starlette(lifespan=lifespan)
