"""How long a web request waits while a scheduled task blocks, per execution mode (issue 16).

    .venv/bin/python bench/embedded_ping.py [--block 1.0] [--pings 20]

A Starlette app served by uvicorn (in this process, on a thread of its own) runs the scheduler in
its lifespan (``async with app.running()``). A task that blocks its caller for ``--block``
seconds (``time.sleep``, as a synchronous database call would) is started through the
controller, and ``/ping`` is called ``--pings`` times while it runs. Printed: the median and the
worst latency per mode, in ms. ``main`` is the unsafe mode: the run holds the server's loop.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
import warnings
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skylaunch import App
from skylaunch.embed import BlockingTaskWarning


def measure(mode: str, block_s: float, pings: int) -> list[float]:
    app = App(execution=mode)

    @app.task("false")
    def blocker() -> None:
        time.sleep(block_s)

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"pong": True})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BlockingTaskWarning)
            async with app.running():
                yield

    web = Starlette(routes=[Route("/ping", ping)], lifespan=lifespan)
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    latencies: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        client.get("/ping")
        app.control.run("blocker")
        time.sleep(0.05)  # let the run start
        for _ in range(pings):
            sent = time.perf_counter()
            client.get("/ping")
            latencies.append((time.perf_counter() - sent) * 1000)
    server.should_exit = True
    thread.join(30)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--block", type=float, default=1.0)
    parser.add_argument("--pings", type=int, default=20)
    args = parser.parse_args()
    print(f"/ping while a task blocks for {args.block:g} s ({args.pings} pings)")
    for mode in ("thread", "async", "main"):  # process: as thread, the loop is not involved
        found = measure(mode, args.block, args.pings)
        print(
            f"execution={mode:<7} median {statistics.median(found):8.1f} ms   "
            f"worst {max(found):8.1f} ms"
        )


if __name__ == "__main__":
    main()
