"""The HTTP API in-process: answers, refusals, the OpenAPI document, schemathesis against it.

The real-server tests (uvicorn, SIGTERM, a blocking run next to /ping) are in
tests/integration/test_http_server.py.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from starlette.requests import Request
from typing_extensions import Self

from skylaunch import App
from skylaunch.http import create_api, openapi_document
from skylaunch.testing import seed, simulated_app

TOKEN = "a-token-of-sixteen-or-more"


class TestClient:
    """A synchronous client of an ASGI app, on an event loop in a thread of its own."""

    __test__ = False

    def __init__(self, app: Any) -> None:
        self._stack = contextlib.ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal())
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://api")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._portal.call(self._client.aclose)
        self._stack.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.get(path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.post(path, **kwargs))


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app() -> App:
    app = simulated_app("2024-01-03 07:13:21")
    app.task("daily after 10:00", name="report", func=_nothing)
    app.task("after task 'report'", name="load", func=_nothing)
    seed(app, "report", [("2024-01-02 10:00", "run"), ("2024-01-02 10:01", "success")])
    seed(app, "load", [("2024-01-02 10:01", "run"), ("2024-01-02 10:02", "success")])
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_api(_app(), token=TOKEN)) as test_client:
        yield test_client


def test_reads_are_open_and_typed(client: TestClient) -> None:
    state = client.get("/").json()
    assert state["running"] is False
    report, load = state["tasks"]
    assert report["next_run"] == {"kind": "at", "at": "2024-01-03T10:00:00Z", "waits_for": []}
    assert report["last"]["outcome"] == "success"
    assert load["next_run"]["waits_for"] == ["report"]
    assert client.get("/tasks").json() == state["tasks"]
    why = client.get("/tasks/report/why", params={"at": "2024-01-03T11:00:00+00:00"}).json()
    assert why["due"] is True
    upcoming = client.get("/upcoming", params={"hours": "12"}).json()
    assert [(r["task"], r["at"]) for r in upcoming["runs"]] == [
        ("report", "2024-01-03T10:00:00Z"),
        ("load", "2024-01-03T10:00:00Z"),
    ]


def test_mistakes_get_clear_statuses(client: TestClient) -> None:
    missing = client.get("/tasks/nope")
    assert missing.status_code == 404
    assert "known tasks" in missing.json()["detail"]
    assert client.get("/tasks/report/why", params={"at": "soon"}).status_code == 422
    assert client.get("/upcoming", params={"hours": "-1"}).status_code == 422
    assert client.get("/upcoming", params={"hours": "x"}).status_code == 422
    assert client.post("/tasks/nope/run", json={}, headers=AUTH).status_code == 404
    bad = client.post("/tasks/report/run", json={"parameters": 3}, headers=AUTH)
    assert bad.status_code == 422
    assert client.get("/tasks/report/run").status_code == 405  # control is POST only


def test_a_control_body_with_a_key_it_does_not_take_is_refused(client: TestClient) -> None:
    # Found by a concurrency probe: {"params": {...}} was answered 202 and the task ran
    # without its parameters (the key is "parameters").
    typo = client.post("/tasks/report/run", json={"params": {"day": 1}}, headers=AUTH)
    assert typo.status_code == 422
    assert typo.json()["detail"].startswith("params: ")
    assert client.post("/tasks/report/disable", json={"x": 1}, headers=AUTH).status_code == 422
    assert client.post("/shutdown", json={"forced": True}, headers=AUTH).status_code == 422
    assert client.post("/tasks/report/disable", json={}, headers=AUTH).status_code == 202


def test_control_is_closed_by_default_and_csrf_safe() -> None:
    app = _app()
    with TestClient(create_api(app)) as closed:
        refused = closed.post("/tasks/report/disable", json={})
        assert refused.status_code == 403
        assert "token= or authorize=" in refused.json()["detail"]
    assert not app.session["report"].disabled
    with TestClient(create_api(app, token=TOKEN)) as client:
        assert client.post("/tasks/report/disable", json={}).status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * len(TOKEN)}
        assert client.post("/tasks/report/disable", json={}, headers=wrong).status_code == 401
        # a form (what a cross-site page can send without asking) is refused
        form = client.post("/tasks/report/disable", data={"a": "b"}, headers=AUTH)
        assert form.status_code == 415
        assert not app.session["report"].disabled
        assert client.post("/tasks/report/disable", json={}, headers=AUTH).status_code == 202
    assert app.session["report"].disabled
    with pytest.raises(ValueError, match="16 characters"):
        create_api(app, token="short")


def test_authorize_function_and_protected_reads() -> None:
    app = _app()

    async def authorize(request: Request) -> bool:
        return request.headers.get("x-user") == "ops"

    with TestClient(create_api(app, authorize=authorize, protect_reads=True)) as client:
        assert client.get("/tasks").status_code == 403
        assert client.get("/tasks", headers={"x-user": "ops"}).status_code == 200
        ops = {"x-user": "ops"}
        answer = client.post("/tasks/report/run", json={"parameters": {"day": 1}}, headers=ops)
        assert answer.status_code == 202
        assert answer.json() == {"ok": True, "action": "run", "task": "report", "running": None}
    assert app.session["report"].batches == [{"day": 1}]


def test_shutdown_pause_and_terminate_on_a_running_scheduler() -> None:
    app = App(execution="thread")
    release = threading.Event()

    @app.task("false")
    def slow() -> None:
        release.wait(5)

    app.start()
    try:
        with TestClient(create_api(app, token=TOKEN)) as client:
            assert client.post("/pause", json={}, headers=AUTH).status_code == 202
            assert client.get("/").json()["paused"] is True
            assert client.post("/resume", json={}, headers=AUTH).status_code == 202
            assert client.post("/tasks/slow/run", json={}, headers=AUTH).status_code == 202
            for _ in range(500):
                if client.get("/tasks/slow").json()["status"] == "running":
                    break
                threading.Event().wait(0.01)
            stop = client.post("/shutdown", json={"force": True}, headers=AUTH)
            assert stop.status_code == 202
            for _ in range(500):
                answer = client.get("/").json()
                assert "running" in answer, answer
                if not answer["running"]:
                    break
                threading.Event().wait(0.01)
            state = client.get("/tasks/slow").json()
        assert state["last"]["outcome"] == "terminate"  # forced: the run ended, logged
    finally:
        release.set()
        app.stop(timeout=5)
    assert not app.session.scheduler.is_running


def test_openapi_document_describes_every_route() -> None:
    document = openapi_document("/scheduler")
    assert document["servers"] == [{"url": "/scheduler"}]
    paths = document["paths"]
    assert set(paths) == {
        "/",
        "/tasks",
        "/tasks/{name}",
        "/tasks/{name}/why",
        "/upcoming",
        "/tasks/{name}/run",
        "/tasks/{name}/disable",
        "/tasks/{name}/enable",
        "/tasks/{name}/terminate",
        "/pause",
        "/resume",
        "/shutdown",
    }
    for path, item in paths.items():
        if "post" in item:
            assert item["post"]["security"] == [{"bearer": []}], path
    schemas = document["components"]["schemas"]
    assert {"SchedulerState", "TaskState", "Why", "Explanation", "NextRun", "Upcoming"} <= set(
        schemas
    )
    with TestClient(create_api(_app())) as client:
        assert client.get("/openapi.json").json()["paths"] == paths


@pytest.mark.slow
def test_schemathesis_finds_no_answer_outside_the_document() -> None:
    """Two generated cases per operation: most of the cost is importing schemathesis."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    api = create_api(_app(), token=TOKEN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    checked = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(
            max_examples=2,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers=AUTH)

        check()
        checked.append(op.path)
    assert len(checked) == 12


def _nothing() -> None:
    """A task body that does nothing."""


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-30T00:00:00Z",
        "0001-01-01",
    ],
)
def test_an_instant_at_the_edge_of_the_calendar_is_a_422(client: TestClient, at: str) -> None:
    # found by fuzzing: converting it or the periods' next cycle overflowed (500, OverflowError)
    answer = client.get("/tasks/report/why", params={"at": at})
    assert answer.status_code == 422
    assert "out of range" in answer.json()["detail"]
