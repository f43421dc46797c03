"""A scheduler inside a web app: Starlette (FastAPI works the same), its lifespan, and the API.

    pip install 'skylaunch[http]'
    python examples/web_app.py            # serves http://127.0.0.1:8000 for a while
    SKYLAUNCH_API_TOKEN=... python examples/web_app.py

The scheduler starts and stops with the server (``async with app.running()`` in the lifespan);
Ctrl-C or SIGTERM stop both. ``/ping`` stays fast while ``slow_report`` runs: it runs in a
thread (``execution="thread"``), not on the server's event loop. The scheduler's HTTP API is
mounted at ``/scheduler``: ``curl http://127.0.0.1:8000/scheduler/tasks``, or
``skylaunch tasks --url http://127.0.0.1:8000/scheduler``. Its control endpoints answer only
with the token (``Authorization: Bearer ...``).

The demo stops itself after SKYLAUNCH_DEMO_SECONDS (default 10), having called its own API.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
import urllib.request
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from skylaunch import App
from skylaunch.http import create_api

SECONDS = float(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "10"))
TOKEN = os.environ.get("SKYLAUNCH_API_TOKEN") or secrets.token_urlsafe(24)

scheduler = App(execution="thread")  # safe next to a web server: runs never hold the loop


@scheduler.task("every 1 second")
def slow_report() -> None:
    time.sleep(0.5)  # a blocking call: fine in a thread


@scheduler.task("false")
def rebuild_index(full: bool = False) -> None:
    print(f"rebuild_index(full={full})")


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"pong": True})


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    async with scheduler.running():  # started before the first request, stopped after the last
        yield


web = Starlette(
    routes=[
        Route("/ping", ping),
        Mount("/scheduler", app=create_api(scheduler, token=TOKEN)),
    ],
    lifespan=lifespan,
)


def call(base: str, path: str, body: dict[str, object] | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    request = urllib.request.Request(base + path, data, headers if data else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def demo(server: uvicorn.Server, base: str) -> None:
    """What an operator does from outside, then stop the server."""
    call(base, "/scheduler/tasks/rebuild_index/run", {"parameters": {"full": True}})
    while call(base, "/scheduler/tasks/rebuild_index")["last"] is None:  # type: ignore[index]
        time.sleep(0.05)
    for task in call(base, "/scheduler/tasks"):  # type: ignore[union-attr]
        last = task["last"] or {}
        print(
            f"{task['name']:<14} {task['status']:<8} last: {last.get('outcome')}  "
            f"next: {task['next_run']['kind']} {task['next_run']['at'] or ''}"
        )
    sent = time.perf_counter()
    call(base, "/ping")
    print(f"/ping answered in {(time.perf_counter() - sent) * 1000:.1f} ms")
    time.sleep(max(SECONDS - 2, 0))  # serve a while longer (the smoke test: not at all)
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
        demo(server, f"http://127.0.0.1:{port}")

    threading.Thread(target=watch, daemon=True).start()
    server.run()
