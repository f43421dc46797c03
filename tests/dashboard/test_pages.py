"""The dashboard's pages in-process (httpx over ASGI) on a simulated clock."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Iterator, MutableMapping
from typing import Any

import anyio
import httpx
import pytest
from starlette.requests import Request

from skylaunch import App
from skylaunch.dashboard import LiveLog, create_dashboard, run_rows
from skylaunch.testing import downtime, run_for, simulated_app

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


def _rows(page: str) -> dict[str, str]:
    """The overview's rows by task name."""
    found = re.findall(r'<tr data-name="([^"]+)"(.*?)</tr>', page)
    return dict(found)


def _strip_of(row: str) -> tuple[int, int, int]:
    """(runs, succeeded, failed) from a row's strip of outcomes."""
    got = re.search(r'aria-label="last (\d+) runs: (\d+) succeeded, (\d+) failed', row)
    assert got is not None, row
    return int(got[1]), int(got[2]), int(got[3])


def _fails_cell(row: str) -> int:
    got = re.search(r'<td data-sort="(\d+)" class="num', row)
    assert got is not None, row
    return int(got[1])


def test_overview_rows_follow_the_history_between_requests(live: LiveLog) -> None:
    """The rows are kept between requests (strips of unchanged tasks are not rebuilt): each
    overview still shows what the history holds then."""
    app = _app()
    board = create_dashboard(app, live=live)
    pages: list[str] = []

    async def check(client: httpx.AsyncClient) -> None:
        pages.append((await client.get("/")).text)

    def expected(name: str) -> tuple[int, int, int]:
        log = app.session.history.of(name)
        ok, bad = len(list(log.times("success"))), len(list(log.times("fail")))
        return min(ok + bad, 30), min(ok, 30), min(bad, 30)

    serve(board, check)
    before = _rows(pages[0])
    assert _strip_of(before["flaky"]) == expected("flaky") == (4, 0, 4)
    assert _fails_cell(before["flaky"]) == 4
    run_for(app, "2 hours")
    app.session["tick"].start_cond = "every 20 minutes"
    serve(board, check)
    after = _rows(pages[1])
    assert _strip_of(after["flaky"]) == expected("flaky") == (12, 0, 12)
    assert _strip_of(after["tick"]) == expected("tick")
    assert _strip_of(after["tick"]) != _strip_of(before["tick"])
    assert _fails_cell(after["flaky"]) == 12
    assert "<code>every 20 minutes</code>" in after["tick"]
    # a day later the failures have left the 24-hour count, the strip stays
    downtime(app, "25 hours")
    serve(board, check)
    later = _rows(pages[2])
    assert _fails_cell(later["flaky"]) == 0
    assert _strip_of(later["flaky"]) == (12, 0, 12)


def test_the_lifespan_takes_the_dashboards_handlers_off_the_task_logger() -> None:
    app = _app()
    logger = app.session.task_logger
    before = list(logger.handlers)
    mine = LiveLog()
    mine.attach(logger)  # attached by its owner before the dashboards: stays attached
    shared = LiveLog()  # given to a dashboard that attaches it: taken off again
    boards = [
        create_dashboard(app, metrics=True),
        create_dashboard(app, live=mine),
        create_dashboard(app, live=shared),
    ]
    added = [h for h in logger.handlers if h not in before]
    assert len(added) == 4  # the made live log, the metrics' listener, mine, shared
    assert shared in added
    assert app.session.scheduler.planned_due is not None  # the metrics watch launches

    async def lifespans() -> None:
        for board in boards:
            async with board.router.lifespan_context(board):
                pass

    anyio.run(lifespans)
    assert [h for h in logger.handlers if h not in before] == [mine]
    assert app.session.scheduler.planned_due is None
    mine.close()
    assert logger.handlers == before


def test_the_timeline_is_reused_while_it_holds_and_equals_a_fresh_one(
    live: LiveLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = simulated_app("2026-01-05 10:00:30")

    @app.task("every 10 minutes")
    def tick() -> None: ...

    @app.task("daily after 10:05")
    def daily() -> None: ...

    @app.task("after task 'tick'")
    def follow() -> None: ...

    run_for(app, "1 minute")  # the first runs are done: the next one is minutes ahead
    computed: list[object] = []
    upcoming = app.control.upcoming

    def counted(*args: Any, **kwargs: Any) -> Any:
        computed.append(kwargs)
        return upcoming(*args, **kwargs)

    monkeypatch.setattr(app.control, "upcoming", counted)
    board = create_dashboard(app, live=live)

    def timeline(target: Any) -> str:
        got: list[str] = []

        async def check(client: httpx.AsyncClient) -> None:
            got.append((await client.get("/timeline?fragment=1")).text)

        serve(target, check)
        return got[0]

    def fresh() -> str:  # a dashboard with nothing kept
        other = LiveLog()
        try:
            return timeline(create_dashboard(app, live=other))
        finally:
            other.close()

    first = timeline(board)
    assert "tick" in first
    assert "daily" in first
    assert len(computed) == 1
    assert timeline(board) == first == fresh()
    assert len(computed) == 2  # the fresh one's; the board's second answer was kept
    downtime(app, "30 seconds")  # still before the next run: the kept runs hold
    assert timeline(board) == fresh()
    assert len(computed) == 3
    downtime(app, "31 seconds")  # past the margin: computed again
    assert timeline(board) == fresh()
    assert len(computed) == 5
    run_for(app, "20 minutes")  # the history changed
    assert timeline(board) == fresh()
    assert len(computed) == 7
    app.session["daily"].start_cond = "daily after 11:00"  # a condition changed
    changed = timeline(board)
    assert changed == fresh()
    assert len(computed) == 9


def test_an_event_carries_at_most_a_thousand_lines_and_counts_the_rest() -> None:
    app = _app()
    live = LiveLog(max_lines=5000)
    board = create_dashboard(app, live=live)
    for i in range(1500):
        live.append({"message": f"line {i}", "task_name": "tick", "created": float(i)})
    events: list[dict[str, Any]] = []

    async def main() -> None:
        got_event = anyio.Event()
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await got_event.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            body = message.get("body", b"").decode()
            for block in body.split("\n\n"):
                if block.startswith("id:") and "event: lines" in block:
                    data = block.split("data: ", 1)[1]
                    events.append(json.loads(data))
                    got_event.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/live/events",
            "raw_path": b"/live/events",
            "root_path": "",
            "query_string": b"after=0",
            "headers": [(b"host", b"board")],
            "client": ("127.0.0.1", 1),
            "server": ("board", 80),
        }
        with anyio.fail_after(10):
            await board(scope, receive, send)

    try:
        anyio.run(main)
    finally:
        live.close()
    first = events[0]
    assert len(first["lines"]) == 1000
    assert first["skipped"] == 500
    assert first["lines"][0]["message"] == "line 500"  # the newest thousand
    assert first["lines"][-1]["message"] == "line 1499"
