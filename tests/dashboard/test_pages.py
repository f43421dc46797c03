"""The dashboard's pages in-process (httpx over ASGI) on a simulated clock."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import anyio
import httpx
import pytest
from starlette.requests import Request

from skylaunch import App
from skylaunch.dashboard import LiveLog, create_dashboard, run_rows
from skylaunch.testing import run_for, simulated_app

TOKEN = "pages-test-token-0123456789"
Check = Callable[[httpx.AsyncClient], Coroutine[Any, Any, None]]


@pytest.fixture
def live() -> Iterator[LiveLog]:
    """The dashboards' live log, taken off the (process-wide) task logger afterwards."""
    handler = LiveLog()
    yield handler
    handler.close()


def serve(board: Any, check: Check, **headers: str) -> None:
    """Run ``check`` with a client of ``board`` (no lifespan: the app's clock is simulated)."""

    async def main() -> None:
        transport = httpx.ASGITransport(app=board)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://board", headers=headers
        ) as client:
            await check(client)

    anyio.run(main)


def _app() -> App:
    app = simulated_app("2026-01-05 10:00")

    @app.task("every 10 minutes")
    def tick() -> None: ...

    @app.task("every 15 minutes")
    def flaky() -> None:
        raise RuntimeError("flaky <script>")

    @app.task("after task 'tick'")
    def follow() -> None: ...

    run_for(app, "1 hour")
    return app


def test_overview_task_and_run_pages(live: LiveLog) -> None:
    app = _app()
    rows = run_rows(app.session.repo, "flaky")
    assert len(rows) == 4
    assert all(r.outcome == "fail" and r.exc_text for r in rows)

    async def check(client: httpx.AsyncClient) -> None:
        page = (await client.get("/")).text
        assert page.count("<tr data-name=") == 3
        assert 'data-name="flaky" data-status="idle" data-outcome="fail"' in page
        assert page.count("<script") == 1  # only the package's own script
        task = (await client.get("/tasks/flaky")).text
        assert "RuntimeError: flaky &lt;script&gt;" in task  # escaped
        assert 'class="act"' not in task  # no control without the token
        run = (await client.get(f"/tasks/flaky/runs/{rows[0].run_id}")).text
        assert "RuntimeError" in run
        assert (await client.get("/tasks/nope")).status_code == 404
        assert "follow" in (await client.get("/timeline?fragment=1")).text
        assert (await client.get("/static/dashboard.js")).status_code == 200
        assert (await client.post("/tasks/tick/disable", json={})).status_code == 403

    serve(create_dashboard(app, token=TOKEN, live=live), check)

    async def control(client: httpx.AsyncClient) -> None:
        task = (await client.get("/tasks/tick")).text
        assert 'data-action="run"' in task
        assert 'data-action="enable"' not in task  # not disabled: no enable button
        assert (await client.post("/tasks/tick/disable", json={})).status_code == 202
        assert (await client.post("/tasks/tick/explode", json={})).status_code == 404
        assert (await client.post("/tasks/nope/run", json={})).status_code == 404

    serve(create_dashboard(app, token=TOKEN, live=live), control, cookie=f"skylaunch_token={TOKEN}")
    assert app.control.task("tick").status == "disabled"


def test_authorize_function_and_protected_reads(live: LiveLog) -> None:
    def authorize(request: Request) -> bool:
        return request.headers.get("x-user") == "admin"

    board = create_dashboard(_app(), authorize=authorize, protect_reads=True, live=live)

    async def check(client: httpx.AsyncClient) -> None:
        response = await client.get("/")
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        page = (await client.get("/tasks/tick", headers={"x-user": "admin"})).text
        assert 'data-action="terminate"' in page
        assert (await client.post("/tasks/tick/run", json={})).status_code == 403

    serve(board, check)


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ValueError, match="16 characters"):
        create_dashboard(_app(), token="short")
