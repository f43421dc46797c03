"""A Starlette app with a scheduler in its lifespan and the scheduler's HTTP API mounted.

Served by a real uvicorn in tests/integration/test_http_server.py: ``SKYLAUNCH_TEST_DB`` is the
SQLite file of its task history (read by the test after the server has exited).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from skylaunch import App
from skylaunch.http import create_api
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo

TOKEN = "integration-test-token-0123456789"

repo = SQLRepo(
    model=TaskRunRecord,
    conn_string=f"sqlite:///{os.environ['SKYLAUNCH_TEST_DB']}",
    table="tasks",
    if_missing="create",
)
app = App(logger_repo=repo, execution="thread", cycle_sleep=0.05)


@app.task("false")
def blocker(seconds: float = 1.0) -> None:
    """Blocks its thread (as a slow database call would)."""
    threading.Event().wait(seconds)


app.task("false", name="sleeper", command=["sleep", "30"], execution="process")


@app.task("every 100 ms")
def ticker() -> None: ...


@app.task("daily after 23:59:59")
def report() -> None: ...


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"pong": True})


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    async with app.running():
        yield


server = Starlette(
    routes=[Route("/ping", ping), Mount("/scheduler", app=create_api(app, token=TOKEN))],
    lifespan=lifespan,
)
