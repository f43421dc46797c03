"""The HTTP API of a scheduler: an ASGI app (Starlette) to mount into a web app, or to serve.

``create_api(app)`` answers read-only questions (tasks, why, upcoming) with the dataclasses of
:mod:`skylaunch.control` as JSON, and describes itself at ``/openapi.json``. Control endpoints
(run, disable, enable, terminate, pause, resume, shutdown) answer only when the caller is
authorized by what you give: ``token=`` (``Authorization: Bearer <token>``) or
``authorize=`` (your function of the request). Without either they answer 403: control is
never open by default. They take POST with a JSON body only, which a cross-site form cannot
send, so a browser's cookies cannot be used to steer the scheduler (CSRF).

Needs the ``http`` extra (``pip install 'skylaunch[http]'``): Starlette is imported when this
module is. Mount it next to other apps (a dashboard) with :func:`api_routes`::

    from starlette.routing import Mount
    routes = [Mount("/api", app=create_api(app, token=...)), Mount("/", app=dashboard)]
"""

from __future__ import annotations

import hmac
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from skylaunch.app import App
from skylaunch.control import (
    Controller,
    ControlTimeout,
    SchedulerState,
    TaskState,
    Upcoming,
    Why,
)
from skylaunch.exc import TaskLookupError
from skylaunch.session import Session
from skylaunch.time.parse import from_iso

__all__ = [
    "Accepted",
    "Authorize",
    "Problem",
    "RunRequest",
    "ShutdownRequest",
    "api_routes",
    "create_api",
    "openapi_document",
]

Authorize = Callable[[Request], "bool | Awaitable[bool]"]


class RunRequest(BaseModel):
    """Body of ``POST /tasks/{name}/run``: the run's parameters (JSON values).

    Other keys are refused (422): ``{"params": {...}}`` ran the task without its parameters."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(default_factory=dict)


class ShutdownRequest(BaseModel):
    """Body of ``POST /shutdown``: ``force`` terminates the runs instead of waiting for them."""

    model_config = ConfigDict(extra="forbid")

    force: bool = False


class _Empty(BaseModel):
    """Body of the other control endpoints: an empty JSON object."""

    model_config = ConfigDict(extra="forbid")


class Accepted(BaseModel):
    """What a control endpoint answers: what was asked, and of which task."""

    ok: bool = True
    action: str
    task: str | None = None
    running: int | None = None


class Problem(BaseModel):
    detail: str


_STATE = TypeAdapter(SchedulerState)
_TASKS = TypeAdapter(list[TaskState])
_TASK = TypeAdapter(TaskState)
_WHY = TypeAdapter(Why)
_UPCOMING = TypeAdapter(Upcoming)


def _controller(target: App | Session | Controller) -> Controller:
    if isinstance(target, Controller):
        return target
    if isinstance(target, App):
        return target.control
    if isinstance(target, Session):
        return Controller(target)
    raise TypeError(f"create_api() takes an App, a Session or a Controller, got {target!r}")


def _check_token(token: str | None) -> None:
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        raise ValueError("token= must be a string of at least 16 characters")


def _bearer(request: Request) -> str | None:
    """The bearer token the request carries, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _same_token(given: str | None, token: str) -> bool:
    """Constant-time comparison (no timing oracle on the token)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), token.encode())


async def _authorized(authorize: Authorize, request: Request) -> bool:
    """The user's ``authorize`` verdict, awaited when it is a coroutine."""
    verdict = authorize(request)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


class _Api:
    def __init__(
        self,
        control: Controller,
        token: str | None,
        authorize: Authorize | None,
        protect_reads: bool,
    ) -> None:
        _check_token(token)
        self.control = control
        self.token = token
        self.authorize = authorize
        self.protect_reads = protect_reads

    async def _allowed(self, request: Request) -> Response | None:
        """None when the caller may go on, else the refusal."""
        if self.token is None and self.authorize is None:
            return _problem(
                403,
                "control is disabled: give create_api() token= or authorize= to allow it",
            )
        if self.token is not None:
            if _same_token(_bearer(request), self.token):
                return None
            if self.authorize is None:
                return _problem(401, "missing or wrong bearer token")
        assert self.authorize is not None
        return (
            None if await _authorized(self.authorize, request) else _problem(403, "not authorized")
        )

    async def _read_allowed(self, request: Request) -> Response | None:
        return await self._allowed(request) if self.protect_reads else None

    async def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(func, *args, **kwargs)

    # --- reads -------------------------------------------------------------------------
    async def state(self, request: Request) -> Response:
        return await self._read(request, _STATE, self.control.state)

    async def tasks(self, request: Request) -> Response:
        return await self._read(request, _TASKS, self.control.tasks)

    async def task(self, request: Request) -> Response:
        return await self._read(request, _TASK, self.control.task, request.path_params["name"])

    async def why(self, request: Request) -> Response:
        at = _instant(request.query_params.get("at"))
        if isinstance(at, Response):
            return at
        return await self._read(request, _WHY, self.control.why, request.path_params["name"], at)

    async def upcoming(self, request: Request) -> Response:
        query = request.query_params
        try:
            hours = float(query.get("hours", "24"))
            limit = int(query.get("limit", "1000"))
        except ValueError:
            return _problem(422, "hours must be a number and limit a whole number")
        if not 0 < hours <= 24 * 366 or limit < 1:
            return _problem(422, "hours must be in (0, 8784] and limit at least 1")
        return await self._read(
            request,
            _UPCOMING,
            self.control.upcoming,
            query.get("task"),
            hours=hours,
            limit=limit,
        )

    async def _read(
        self,
        request: Request,
        adapter: TypeAdapter[Any],
        func: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> Response:
        refused = await self._read_allowed(request)
        if refused is not None:
            return refused
        try:
            value = await self._call(func, *args, **kwargs)
        except TaskLookupError as exc:
            return _problem(404, str(exc))
        except ControlTimeout as exc:
            return _problem(503, str(exc))
        except ValueError as exc:
            return _problem(422, str(exc))
        return JSONResponse(adapter.dump_python(value, mode="json"))

    # --- control -----------------------------------------------------------------------
    async def _body(self, request: Request, model: type[BaseModel]) -> BaseModel | Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return _problem(415, "send a JSON body (Content-Type: application/json), even {}")
        raw = await request.body()
        try:
            return model.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            return _problem(422, f"{where}: {error['msg']}" if where else error["msg"])

    async def _control(
        self, request: Request, model: type[BaseModel], act: Callable[[Any], Accepted]
    ) -> Response:
        refused = await self._allowed(request)
        if refused is not None:
            return refused
        body = await self._body(request, model)
        if isinstance(body, Response):
            return body
        try:
            accepted = await self._call(act, body)
        except TaskLookupError as exc:
            return _problem(404, str(exc))
        except ControlTimeout as exc:
            return _problem(503, str(exc))
        return JSONResponse(accepted.model_dump(), status_code=202)

    async def run(self, request: Request) -> Response:
        name = request.path_params["name"]

        def act(body: RunRequest) -> Accepted:
            self.control.run(name, **body.parameters)
            return Accepted(action="run", task=name)

        return await self._control(request, RunRequest, act)

    def _task_action(self, action: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            name = request.path_params["name"]

            def act(body: _Empty) -> Accepted:
                running = getattr(self.control, action)(name)
                return Accepted(action=action, task=name, running=running)

            return await self._control(request, _Empty, act)

        return endpoint

    def _scheduler_action(self, action: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            def act(body: _Empty) -> Accepted:
                getattr(self.control, action)()
                return Accepted(action=action)

            return await self._control(request, _Empty, act)

        return endpoint

    async def shutdown(self, request: Request) -> Response:
        def act(body: ShutdownRequest) -> Accepted:
            self.control.shut_down(force=body.force)
            return Accepted(action="shutdown")

        return await self._control(request, ShutdownRequest, act)

    async def openapi(self, request: Request) -> Response:
        prefix = request.scope.get("root_path", "")
        return JSONResponse(openapi_document(prefix))


def api_routes(
    target: App | Session | Controller,
    *,
    token: str | None = None,
    authorize: Authorize | None = None,
    protect_reads: bool = False,
) -> list[BaseRoute]:
    """The API's routes, to put in a Starlette app of your own (see :func:`create_api`)."""
    api = _Api(_controller(target), token, authorize, protect_reads)
    routes: list[BaseRoute] = [
        Route("/", api.state, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"], include_in_schema=False),
        Route("/tasks", api.tasks, methods=["GET"]),
        Route("/tasks/{name:str}", api.task, methods=["GET"]),
        Route("/tasks/{name:str}/why", api.why, methods=["GET"]),
        Route("/upcoming", api.upcoming, methods=["GET"]),
        Route("/tasks/{name:str}/run", api.run, methods=["POST"]),
        Route("/pause", api._scheduler_action("pause"), methods=["POST"]),
        Route("/resume", api._scheduler_action("resume"), methods=["POST"]),
        Route("/shutdown", api.shutdown, methods=["POST"]),
    ]
    routes.extend(
        Route(f"/tasks/{{name:str}}/{action}", api._task_action(action), methods=["POST"])
        for action in ("disable", "enable", "terminate")
    )
    return routes


def create_api(
    target: App | Session | Controller,
    *,
    token: str | None = None,
    authorize: Authorize | None = None,
    protect_reads: bool = False,
) -> Starlette:
    """The scheduler's HTTP API as an ASGI app; mount it: ``Mount("/scheduler", app=api)``.

    ``token``: a secret of at least 16 characters; control endpoints then take
    ``Authorization: Bearer <token>``. ``authorize``: your function (sync or async) of the
    Starlette request, true to allow a control call (a session check, an API key...); with
    both, either lets the caller in. ``protect_reads``: the read endpoints ask the same.
    It does not run the scheduler: run it with ``async with app.running()`` in your app's
    lifespan, or ``app.start()``.
    """
    return Starlette(
        routes=api_routes(target, token=token, authorize=authorize, protect_reads=protect_reads)
    )


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _instant(text: str | None) -> datetime | Response | None:
    if text is None:
        return None
    try:
        return from_iso(text)
    except ValueError:
        return _problem(422, f"at: not an ISO 8601 instant: {text!r}")


# --- the OpenAPI document ---------------------------------------------------------------------


def _schemas() -> dict[str, Any]:
    components: dict[str, Any] = {}
    template = "#/components/schemas/{model}"
    for adapter in (
        _STATE,
        _WHY,
        _UPCOMING,
        TypeAdapter(RunRequest),
        TypeAdapter(ShutdownRequest),
        TypeAdapter(Accepted),
        TypeAdapter(Problem),
    ):
        schema = adapter.json_schema(ref_template=template)
        components.update(schema.pop("$defs", {}))
        components[schema["title"]] = schema
    components["Empty"] = {"type": "object", "title": "Empty", "additionalProperties": False}
    return components


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_PROBLEMS = {
    "404": _json(_ref("Problem"), "no task by that name"),
    "503": _json(_ref("Problem"), "the scheduler did not answer in time"),
}
_REFUSALS = {
    "401": _json(_ref("Problem"), "missing or wrong token"),
    "403": _json(_ref("Problem"), "control disabled, or not authorized"),
    "415": _json(_ref("Problem"), "not a JSON body"),
    "422": _json(_ref("Problem"), "invalid body"),
}


def _control_op(summary: str, body: str, *, task: bool) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {"202": _json(_ref("Accepted"), "accepted"), **_REFUSALS, **_PROBLEMS},
        "security": [{"bearer": []}],
    }
    if task:
        op["parameters"] = [_NAME]
    return {"post": op}


def openapi_document(prefix: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API (``prefix``: where it is mounted)."""
    tasks_list = {"type": "array", "items": _ref("TaskState")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "skylaunch scheduler", "version": "1"},
        "servers": [{"url": prefix or "/"}],
        "paths": {
            "/": {
                "get": {
                    "summary": "The scheduler and its tasks",
                    "responses": {"200": _json(_ref("SchedulerState"), "the state"), **_PROBLEMS},
                }
            },
            "/tasks": {
                "get": {
                    "summary": "Every task",
                    "responses": {"200": _json(tasks_list, "the tasks"), **_PROBLEMS},
                }
            },
            "/tasks/{name}": {
                "get": {
                    "summary": "One task",
                    "parameters": [_NAME],
                    "responses": {"200": _json(_ref("TaskState"), "the task"), **_PROBLEMS},
                }
            },
            "/tasks/{name}/why": {
                "get": {
                    "summary": "Why a task is or is not due",
                    "parameters": [
                        _NAME,
                        {
                            "name": "at",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "format": "date-time"},
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("Why"), "the explanation"),
                        "422": _json(_ref("Problem"), "bad instant"),
                        **_PROBLEMS,
                    },
                }
            },
            "/upcoming": {
                "get": {
                    "summary": "The next runs, on a simulated copy where runs succeed",
                    "parameters": [
                        {
                            "name": "task",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "hours",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 8784},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("Upcoming"), "the runs"),
                        "422": _json(_ref("Problem"), "bad query"),
                        **_PROBLEMS,
                    },
                }
            },
            "/tasks/{name}/run": _control_op("Run a task now", "RunRequest", task=True),
            "/tasks/{name}/disable": _control_op("Disable a task", "Empty", task=True),
            "/tasks/{name}/enable": _control_op("Enable a task", "Empty", task=True),
            "/tasks/{name}/terminate": _control_op("Terminate a task's runs", "Empty", task=True),
            "/pause": _control_op("Pause the scheduler", "Empty", task=False),
            "/resume": _control_op("Resume the scheduler", "Empty", task=False),
            "/shutdown": _control_op("Shut the scheduler down", "ShutdownRequest", task=False),
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
