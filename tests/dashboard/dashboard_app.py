"""A real app for the dashboard's browser tests: tasks that succeed, fail, run long and talk.

Served by uvicorn in a subprocess (tests/dashboard/test_browser.py); the scheduler runs in the
web app's lifespan, the HTTP API is at /api and the dashboard (with /metrics) at /.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount

from skylaunch import App
from skylaunch.dashboard import create_dashboard
from skylaunch.http import create_api
from skylaunch.log.context import task_log

TOKEN = "dashboard-test-token-0123456789"

app = App(execution="thread", cycle_sleep=0.05)


@app.task("every 1 second")
def steady() -> None:
    task_log("steady did its work")


@app.task("every 1 second")
def broken() -> None:
    raise ValueError("the data source is gone")


@app.task("every 10 minutes")
def long_haul() -> None:
    threading.Event().wait(3)


@app.task("false")
def manual() -> None:
    task_log("manual run says hello")


@app.task("daily after 23:00")
def nightly() -> None: ...


board = create_dashboard(app, token=TOKEN, metrics=True, title="test board")


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    async with app.running(), board.router.lifespan_context(board):
        yield


server = Starlette(
    routes=[Mount("/api", app=create_api(app, token=TOKEN)), Mount("/", app=board)],
    lifespan=lifespan,
)
