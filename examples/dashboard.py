"""The web dashboard and /metrics next to the HTTP API, with tasks that succeed, fail and run long.

    pip install 'skylaunch[http,metrics]'
    python examples/dashboard.py          # then open http://127.0.0.1:8000/
    PORT=8000 SKYLAUNCH_DEMO_SECONDS=600 python examples/dashboard.py

Log in with the token printed at start to see the run now / disable / enable / terminate
buttons. The demo stops itself after SKYLAUNCH_DEMO_SECONDS (default 10), having read its own
overview and metrics.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
import urllib.request
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from skylaunch import App
from skylaunch.dashboard import create_dashboard
from skylaunch.http import create_api
from skylaunch.log.context import task_log

SECONDS = float(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "10"))
TOKEN = os.environ.get("SKYLAUNCH_API_TOKEN") or secrets.token_urlsafe(24)

scheduler = App(execution="thread")


@scheduler.task("every 2 seconds")
def fetch_prices() -> None:
    task_log("fetched 120 prices")


@scheduler.task("every 5 seconds")
def sync_inventory() -> None:
    raise ConnectionError("the inventory service did not answer")


@scheduler.task("every 1 minute")
def rebuild_report() -> None:
    time.sleep(3)  # a long run, in its own thread


@scheduler.task("after task 'rebuild_report'")
def mail_report() -> None:
    task_log("report mailed")


@scheduler.task("daily after 02:00")
def vacuum() -> None: ...


board = create_dashboard(scheduler, token=TOKEN, metrics=True, title="shop")


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    # a mounted app's lifespan is not run by Starlette: the dashboard's is entered here
    async with scheduler.running(), board.router.lifespan_context(board):
        yield


web = Starlette(
    routes=[Mount("/api", app=create_api(scheduler, token=TOKEN)), Mount("/", app=board)],
    lifespan=lifespan,
)


def demo(server: uvicorn.Server, base: str) -> None:
    time.sleep(min(SECONDS, 1.5))
    with urllib.request.urlopen(base + "/", timeout=10) as response:
        page = response.read().decode()
    print(f"overview: {page.count('<tr data-name=')} tasks")
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        lines = [x for x in response.read().decode().splitlines() if x.startswith("skylaunch_runs")]
    print("\n".join(lines[:6]))
    time.sleep(max(SECONDS - 1.5, 0))
    server.should_exit = True


if __name__ == "__main__":
    config = uvicorn.Config(
        web, host="127.0.0.1", port=int(os.environ.get("PORT", "0") or 0), log_level="warning"
    )
    server = uvicorn.Server(config)

    def watch() -> None:
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        print(f"dashboard at http://127.0.0.1:{port}/ (token: {TOKEN})")
        demo(server, f"http://127.0.0.1:{port}")

    threading.Thread(target=watch, daemon=True).start()
    server.run()
