"""``skylaunch run|tasks|why|upcoming|disable|enable|pause|resume|terminate``: operate an app.

Two ways to reach a scheduler:

- ``module:app`` (as ``uvicorn module:app``): the app is imported here. ``run`` runs it (with
  ``--http HOST:PORT``, under uvicorn with its HTTP API); ``tasks``, ``why`` and ``upcoming``
  read its definitions and its stored history without starting it.
- ``--url http://host:port/prefix``: a running scheduler's HTTP API (:mod:`skylaunch.http`),
  for the inspection commands and for control (``run TASK``, ``disable``...). The token of its
  control endpoints is read from the environment variable ``--token-env`` names
  (``SKYLAUNCH_API_TOKEN`` by default), never from the command line (where ``ps`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from skylaunch.cli.entries import CLIError
from skylaunch.cli.output import printable
from skylaunch.time.parse import from_iso

__all__ = ["COMMANDS", "TOKEN_ENV", "add_commands", "load_target", "operate"]

TOKEN_ENV = "SKYLAUNCH_API_TOKEN"
COMMANDS = ("run", "tasks", "why", "upcoming", "disable", "enable", "pause", "resume", "terminate")
_URL_ONLY = ("disable", "enable", "pause", "resume", "terminate")


def add_commands(commands: Any) -> None:
    """Add the operating commands to the ``skylaunch`` parser's subcommands."""

    def common(parser: argparse.ArgumentParser, *, target: bool = True) -> None:
        if target:
            parser.add_argument(
                "target", nargs="?", metavar="MODULE:APP", help="the app, as module:attribute"
            )
        parser.add_argument("--url", help="the HTTP API of a running scheduler")
        parser.add_argument(
            "--token-env",
            default=TOKEN_ENV,
            metavar="VAR",
            help="environment variable holding the API token (default: %(default)s)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")

    run = commands.add_parser(
        "run",
        help="run an app's scheduler (module:app), or run a task now (--url URL TASK)",
        description=(
            "skylaunch run module:app [--http HOST:PORT] runs the scheduler until SIGTERM or "
            "Ctrl-C; skylaunch run --url URL TASK [--param k=v] asks a running one to run TASK."
        ),
        allow_abbrev=False,
    )
    common(run)
    run.add_argument("task", nargs="?", help="with --url: the task to run now")
    run.add_argument(
        "--http", metavar="HOST:PORT", help="serve the HTTP API with uvicorn (':8000' for all)"
    )
    run.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="with --url: a run parameter"
    )
    tasks = commands.add_parser(
        "tasks", help="list tasks: status, last run, next run", allow_abbrev=False
    )
    common(tasks)
    why = commands.add_parser(
        "why", help="why a task is (not) due now, part by part", allow_abbrev=False
    )
    common(why)
    why.add_argument("task", nargs="?", help="the task")
    upcoming = commands.add_parser(
        "upcoming", help="the runs of the coming hours (if every run succeeds)", allow_abbrev=False
    )
    common(upcoming)
    upcoming.add_argument("--hours", type=float, default=24.0, help="default: %(default)s")
    upcoming.add_argument("--task", dest="only", metavar="NAME", help="only this task")
    for name in _URL_ONLY:
        parser = commands.add_parser(
            name, help=f"{name} (a running scheduler, --url)", allow_abbrev=False
        )
        common(parser, target=False)
        if name in ("disable", "enable", "terminate"):
            parser.add_argument("task", help="the task")


def load_target(spec: str) -> Any:
    """Import ``module:attribute`` (the current directory first on ``sys.path``)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CLIError(f"expected MODULE:APP such as 'myapp:app', got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import {module_name!r}: {exc}") from None
    value: Any = module
    missing = object()
    for part in attribute.split("."):
        value = getattr(value, part, missing)
        if value is missing:
            raise CLIError(f"module {module_name!r} has no attribute {attribute!r}")
    from skylaunch.app import App
    from skylaunch.session import Session

    if not isinstance(value, (App, Session)):
        raise CLIError(f"{spec} is a {type(value).__name__}, not a skylaunch App or Session")
    return value


# -- the two sources ------------------------------------------------------------------------


class _Remote:
    def __init__(self, url: str, token_env: str) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise CLIError(f"--url: expected http://host:port[/prefix], got {url!r}")
        self.base = url.rstrip("/")
        self.token = os.environ.get(token_env)
        self.token_env = token_env

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", exc.reason)
            except (ValueError, AttributeError):
                detail = exc.reason
            hint = ""
            if exc.code in (401, 403) and not self.token:
                hint = f" (set the API token in ${self.token_env})"
            raise CLIError(f"{self.base}{path}: HTTP {exc.code}: {detail}{hint}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CLIError(f"cannot reach {self.base}: {reason}") from None

    def get(self, path: str, **query: Any) -> Any:
        given = {k: v for k, v in query.items() if v is not None}
        suffix = "?" + urllib.parse.urlencode(given) if given else ""
        return (
            self._request("GET", path, None) if not suffix else self._request("GET", path + suffix)
        )

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request("POST", path, body or {})


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _local(target: str | None, command: str) -> Any:
    if target is None:
        raise CLIError(f"{command} needs MODULE:APP or --url URL")
    from skylaunch.control import Controller
    from skylaunch.session import Session

    value = load_target(target)
    session = value if isinstance(value, Session) else value.session
    return Controller(session)


# -- commands ---------------------------------------------------------------------------------


def operate(args: argparse.Namespace, out: TextIO) -> int:
    """Run one of the operating commands; returns the exit code."""
    from skylaunch.exc import TaskLookupError

    try:
        return _operate(args, out)
    except TaskLookupError as exc:
        raise CLIError(str(exc)) from None


def _operate(args: argparse.Namespace, out: TextIO) -> int:
    command: str = args.command
    url: str | None = args.url
    if url is not None and command in ("why", "run") and not args.task:
        args.task, args.target = args.target, None  # `why --url URL TASK`: no MODULE:APP
    if url is not None and getattr(args, "target", None) is not None and command != "run":
        raise CLIError("give MODULE:APP or --url, not both")
    if command in _URL_ONLY and url is None:
        raise CLIError(f"{command} acts on a running scheduler: give --url URL")
    if command == "run":
        return _run(args, out)
    if command == "tasks":
        if url is not None:
            document = _Remote(url, args.token_env).get("/")
        else:
            from skylaunch.control import as_json

            document = as_json(_local(args.target, "tasks").state())
        if args.json:
            _dump(document["tasks"], out)
        else:
            _table(document, out)
        return 0
    if command == "why":
        if not args.task:
            raise CLIError("why needs the TASK name")
        if url is not None:
            why = _Remote(url, args.token_env).get(f"/tasks/{_quote(args.task)}/why")
        else:
            from skylaunch.control import as_json

            why = as_json(_local(args.target, "why").why(args.task))
        if args.json:
            _dump(why, out)
        else:
            _print_why(why, out)
        return 0
    if command == "upcoming":
        if not args.hours > 0:
            raise CLIError(f"--hours must be more than 0, got {args.hours:g}")
        if url is not None:
            found = _Remote(url, args.token_env).get("/upcoming", hours=args.hours, task=args.only)
        else:
            from skylaunch.control import as_json

            found = as_json(_local(args.target, "upcoming").upcoming(args.only, hours=args.hours))
        if args.json:
            _dump(found, out)
        else:
            _print_upcoming(found, out)
        return 0
    remote = _Remote(url or "", args.token_env)
    if command in ("disable", "enable", "terminate"):
        answer = remote.post(f"/tasks/{_quote(args.task)}/{command}")
    else:
        answer = remote.post(f"/{command}")
    if args.json:
        _dump(answer, out)
    else:
        out.write(_accepted(answer) + "\n")
    return 0


def _accepted(answer: dict[str, Any]) -> str:
    text = answer.get("action", "done")
    if answer.get("task"):
        text += f" {answer['task']!r}"
    if answer.get("running") is not None:
        text += f" ({answer['running']} run(s) going on)"
    return f"ok: {text}"


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.url is not None:
        name = args.task  # `run --url URL TASK`
        if not name or args.target:
            raise CLIError("run --url URL takes one TASK name")
        params: dict[str, Any] = {}
        for item in args.param:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CLIError(f"--param: expected KEY=VALUE, got {item!r}")
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        answer = _Remote(args.url, args.token_env).post(
            f"/tasks/{_quote(name)}/run", {"parameters": params}
        )
        out.write((json.dumps(answer) if args.json else _accepted(answer)) + "\n")
        return 0
    if args.target is None:
        raise CLIError("run needs MODULE:APP (or --url URL TASK)")
    if args.task or args.param:
        raise CLIError("a TASK and --param go with --url (run a task of a running scheduler)")
    value = load_target(args.target)
    from skylaunch.app import App

    app = value if isinstance(value, App) else App(session=value)
    if args.http is None:
        app.run()
        return 0
    return _serve_http(app, args.http, os.environ.get(args.token_env))


def _serve_http(app: Any, where: str, token: str | None) -> int:
    host, sep, port_text = where.rpartition(":")
    if not sep or not port_text.isdigit():
        raise CLIError(f"--http: expected HOST:PORT or :PORT, got {where!r}")
    try:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Mount

        from skylaunch.http import create_api
    except ImportError as exc:
        raise CLIError(
            f"--http needs the http extra: pip install 'skylaunch[http]' ({exc})"
        ) from None
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> Any:
        async with app.running():
            yield

    try:
        api = create_api(app, token=token)
    except ValueError as exc:
        raise CLIError(f"the API token: {exc}") from None
    server_app = Starlette(routes=[Mount("/", app=api)], lifespan=lifespan)
    config = uvicorn.Config(server_app, host=host or "0.0.0.0", port=int(port_text))
    uvicorn.Server(config).run()
    return 0


# -- printing ---------------------------------------------------------------------------------


def _dump(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, indent=2) + "\n")


def _short(instant: str | None) -> str:
    if not instant:
        return "-"
    return from_iso(instant).strftime("%Y-%m-%d %H:%M:%S")


def _until(instant: str | None, now: datetime) -> str:
    if not instant:
        return "-"
    seconds = int((from_iso(instant) - now).total_seconds())
    if seconds <= 0:
        return "now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _next_text(next_run: dict[str, Any]) -> str:
    kind = next_run["kind"]
    if kind == "at":
        return _short(next_run["at"])
    if kind == "waiting":
        return "after " + ", ".join(next_run["waits_for"])
    texts = {"due": "now", "queued": "now (asked)", "running": "after this run"}
    return texts.get(kind, str(kind))


def _table(document: dict[str, Any], out: TextIO) -> None:
    now = from_iso(document["now"])
    header = ("NAME", "CONDITION", "STATUS", "LAST", "OUTCOME", "NEXT", "LEFT")
    rows: list[Sequence[str]] = [header]
    for task in document["tasks"]:
        last = task["last"] or {}
        next_run = task["next_run"]
        left = _until(next_run.get("at"), now) if next_run["kind"] in ("at", "due") else "-"
        rows.append(
            (
                task["name"],
                task["condition"],
                task["status"],
                _short(last.get("started")),
                last.get("outcome") or ("running" if last else "-"),
                _next_text(next_run),
                left,
            )
        )
    widths = [min(max(len(printable(row[i])) for row in rows), 40) for i in range(len(header))]
    for row in rows:
        cells = [printable(cell)[:40].ljust(width) for cell, width in zip(row, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")
    if document.get("paused"):
        out.write("(the scheduler is paused)\n")
    replica = document.get("replica")
    if replica:
        state = f"active since {_short(replica.get('since'))}" if replica["active"] else "a standby"
        out.write(
            printable(f"(replica {replica['holder']} of lease {replica['lease']}: {state})") + "\n"
        )


def _print_why(why: dict[str, Any], out: TextIO) -> None:
    verdict = "due" if why["due"] else "not due"
    out.write(f"task {why['task']!r} is {verdict} at {why['at']} ({why['status']})\n")

    def walk(node: dict[str, Any], depth: int) -> None:
        note = f"  (may change at {node['next_change']})" if node.get("next_change") else ""
        mark = "TRUE " if node["value"] else "FALSE"
        out.write(f"{'  ' * depth}{mark} {printable(node['condition'])}{note}\n")
        for part in node.get("parts", ()):
            walk(part, depth + 1)

    walk(why["explanation"], 1)
    out.write(f"next run: {_next_text(why['next_run'])}\n")


def _print_upcoming(found: dict[str, Any], out: TextIO) -> None:
    runs = found["runs"]
    out.write(f"runs from {_short(found['start'])} to {_short(found['end'])}")
    out.write(" (if every run succeeds):\n" if runs else ": none\n")
    out.writelines(f"{_short(run['at'])}  {printable(run['task'])}\n" for run in runs)
    if not found.get("complete", True):
        out.write("(cut short: more runs follow)\n")
