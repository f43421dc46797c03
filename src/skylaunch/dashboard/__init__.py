"""A web dashboard for a scheduler: server-rendered pages, a live log, and (optionally) metrics.

``create_dashboard(app)`` is an ASGI app (Starlette) to mount next to the HTTP API of
:mod:`skylaunch.http`::

    from starlette.applications import Starlette
    from starlette.routing import Mount
    web = Starlette(routes=[
        Mount("/api", app=create_api(app, token=TOKEN)),
        Mount("/", app=create_dashboard(app, token=TOKEN)),
    ])

Pages: the overview (``/``: every task, its status, last and next run, the last outcomes, a
24-hour timeline), a task (``/tasks/<name>``: why it is or is not due, run history with a
duration plot and tracebacks, control buttons), a run's lines (``/tasks/<name>/runs/<id>``)
and the live log (``/live``, fed by server-sent events from ``/live/events``). ``/metrics``
answers in Prometheus text format when ``metrics=`` is given (see :mod:`skylaunch.metrics`).

Control (run now, disable, enable, terminate) follows the API's rules: never open by default;
allowed by ``token=`` (a bearer header, or the cookie the ``/login`` form sets) or by your
``authorize=`` function of the request. The buttons are only shown to a caller who may use
them, and their POSTs carry a JSON body, which a cross-site form cannot send (CSRF).
Needs the ``http`` extra (Starlette). Everything the page needs is in the package: no CDN.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from itertools import repeat
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import parse_qs, quote

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from typing_extensions import Unpack

from skylaunch._scheduler import _counts_cycles, _unsure
from skylaunch.app import App
from skylaunch.conds.base import EVERY_PASS, Condition
from skylaunch.control import Controller, ControlTimeout, Explanation, TaskState, Upcoming
from skylaunch.dashboard.live import LiveLog, LiveSlice
from skylaunch.exc import TaskLookupError
from skylaunch.history import TaskLog
from skylaunch.http import _authorized, _bearer, _check_token, _controller, _same_token
from skylaunch.session import Session

if TYPE_CHECKING:
    from skylaunch.metrics import Metrics

__all__ = [
    "Authorize",
    "DashboardOptions",
    "LiveLog",
    "LiveSlice",
    "RunRow",
    "create_dashboard",
    "dashboard_routes",
    "run_rows",
]

Authorize = Callable[[Request], "bool | Awaitable[bool]"]

_HERE = Path(__file__).parent
_PAGE = Template((_HERE / "templates" / "page.html").read_text(encoding="utf-8"))
_COOKIE = "skylaunch_token"
_STRIP = 30
_DAY_S = 86_400.0
_FINISHES = ("success", "fail", "terminate", "inaction", "crash")
_ACTIONS = ("run", "disable", "enable", "terminate")
#: Seconds an events stream stays open before the browser reconnects (Last-Event-ID resumes).
_STREAM_S = 300.0
_POLL_S = 0.25
#: Lines per event at most: a reader further behind skips to the newest (4,000 lines/s at
#: one event per _POLL_S before anything is skipped; bench/dashboard_browser.py)
_EVENT_LINES = 1000
_TIMELINE_RUNS = 500
#: How far past its window one timeline computation looks, so it serves later requests too.
_TIMELINE_MARGIN_S = 60.0

_esc = html.escape


# --- formatting ---------------------------------------------------------------------------------


def _when(at: datetime | None) -> str:
    return "" if at is None else at.isoformat(sep=" ", timespec="seconds")


def _span(seconds: float) -> str:
    """``1 h 5 min``, ``42 s``, ``0.3 s``: a duration for people."""
    s = abs(seconds)
    if s < 1:
        text = f"{s * 1000:.0f} ms"
    elif s < 10:
        text = f"{s:.1f} s"
    elif s < 120:
        text = f"{s:.0f} s"
    elif s < 7200:
        text = f"{s / 60:.0f} min"
    elif s < 2 * _DAY_S:
        text = f"{int(s // 3600)} h {int(s % 3600 // 60)} min"
    else:
        text = f"{s / _DAY_S:.0f} d"
    return text


def _time_tag(at: datetime | None, now: datetime) -> str:
    # ISO instants, spans and the Literal statuses/outcomes hold no markup: not escaped (the
    # overview builds thousands of these)
    if at is None:
        return ""
    delta = (at - now).total_seconds()
    rel = f"in {_span(delta)}" if delta >= 0 else f"{_span(delta)} ago"
    return f'<time datetime="{at.isoformat()}">{rel}</time>'


def _ends(log: TaskLog) -> list[tuple[float, str]]:
    """The task's newest ``_STRIP`` ends, oldest first."""
    ends: list[tuple[float, str]] = []
    # read from the in-memory index (bounded per action), never from the repo: the overview
    # costs the same with a million records
    times = log._times
    for action in _FINISHES:
        got = times[action]
        if got:
            ends.extend(zip(got[-_STRIP:], repeat(action)))
    ends.sort()
    return ends[-_STRIP:]


_CELLS = {a: f'<i class="o-{a}"></i>' for a in _FINISHES}


def _strip(ends: list[tuple[float, str]]) -> str:
    if not ends:
        return '<span class="muted">no runs yet</span>'
    kinds = [a for _, a in ends]
    ok, bad = kinds.count("success"), kinds.count("fail")
    label = f"last {len(ends)} runs: {ok} succeeded, {bad} failed, {len(ends) - ok - bad} other"
    cells = "".join([_CELLS[a] for a in kinds])
    return f'<span class="strip" role="img" aria-label="{label}" title="{label}">{cells}</span>'


def _status_badge(state: TaskState) -> str:
    text = state.status if state.running <= 1 else f"running ×{state.running}"
    return f'<span class="badge s-{state.status}">{text}</span>'


def _next_cell(state: TaskState, now: datetime) -> str:
    nxt = state.next_run
    if nxt.kind == "at" and nxt.at is not None:
        return f"{_when(nxt.at)}<br>{_time_tag(nxt.at, now)}"
    return _esc(str(nxt))


def _last_cell(state: TaskState, now: datetime) -> tuple[str, str]:
    """The last run's cell and its outcome (for filtering)."""
    last = state.last
    if last is None:
        return '<span class="muted">never</span>', "none"
    outcome = last.outcome or "running"
    cell = f'<span class="badge o-{outcome}">{outcome}</span> {_time_tag(last.started, now)}'
    if last.ended is not None:
        cell += f' <span class="dur">{_span((last.ended - last.started).total_seconds())}</span>'
    return cell, outcome


# --- run history ---------------------------------------------------------------------------------


class RunRow:
    """One run as the task page shows it, built from the repo's records of its run id."""

    __slots__ = ("exc_text", "outcome", "run_id", "seconds", "started")

    def __init__(self, run_id: str, started: float | None) -> None:
        self.run_id = run_id
        self.started = started
        self.outcome: str = "running"
        self.seconds: float | None = None
        self.exc_text: str | None = None


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _seconds(value: Any) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _ts(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return None


def run_rows(repo: Any, task_name: str, limit: int = 200) -> list[RunRow]:
    """The task's newest runs (newest first) from ``repo``: start, outcome, duration, traceback."""
    items = repo.filter_by(task_name=task_name).newest(limit * 2)
    rows: dict[str, RunRow] = {}
    order: list[str] = []
    for item in reversed(items):  # oldest first
        action = _get(item, "action")
        created = _ts(_get(item, "created"))
        run_id = _get(item, "run_id") or f"@{created}"
        row = rows.get(run_id)
        if row is None:
            row = rows[run_id] = RunRow(run_id, created if action == "run" else None)
            order.append(run_id)
        if action == "run":
            row.started = created
        elif action in _FINISHES:
            row.outcome = str(action)
            runtime = _seconds(_get(item, "runtime"))
            if runtime is None and row.started is not None and created is not None:
                runtime = created - row.started
            row.seconds = runtime
            if row.started is None:
                start = _ts(_get(item, "start"))
                row.started = start if start is not None else created
            row.exc_text = _get(item, "exc_text") or None
    return [rows[r] for r in reversed(order)][:limit]


def _plot(rows: list[RunRow]) -> str:
    """An inline SVG: the duration of each run (oldest left), failures marked in red."""
    done = [r for r in reversed(rows) if r.seconds is not None]
    if not done:
        return '<p class="muted">No finished runs to plot yet.</p>'
    width, height, pad = 600, 160, 30
    top = max(r.seconds or 0.0 for r in done) or 1.0
    step = (width - 2 * pad) / max(len(done) - 1, 1)
    points, marks = [], []
    for i, r in enumerate(done):
        x = pad + i * step
        y = height - pad - (r.seconds or 0.0) / top * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
        cls = "pf" if r.outcome == "fail" else ("ps" if r.outcome == "success" else "po")
        marks.append(
            f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{5 if cls == "pf" else 3}">'
            f"<title>{_esc(r.outcome)}: {_esc(_span(r.seconds or 0.0))}</title></circle>"
        )
    fails = sum(1 for r in done if r.outcome == "fail")
    desc = f"Durations of the last {len(done)} runs, longest {_span(top)}, {fails} failed"
    return (
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(desc)}">'
        f"<title>{_esc(desc)}</title>"
        f'<line class="axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>'
        f'<line class="axis" x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}"/>'
        f'<text x="2" y="{pad}" class="lbl">{_esc(_span(top))}</text>'
        f'<text x="2" y="{height - pad}" class="lbl">0</text>'
        f'<polyline class="line" points="{" ".join(points)}"/>{"".join(marks)}</svg>'
    )


def _tree(node: Explanation) -> str:
    mark = "true" if node.value else "false"
    change = ""
    if node.next_change is not None:
        change = f' <span class="muted">(may change at {_esc(_when(node.next_change))})</span>'
    head = f'<span class="badge b-{mark}">{mark.upper()}</span> <code>{_esc(node.condition)}</code>{change}'
    kids = "".join(_tree(p) for p in node.parts)
    return f"<li>{head}{f'<ul>{kids}</ul>' if kids else ''}</li>"


def _plan_key(session: Session) -> tuple[Any, list[Condition]] | None:
    """What the timeline is computed from (the history's version, each task's condition and
    settings), or None when a computation at a later instant may differ with nothing changed:
    a run going on (assumed to end at the instant computed from), a condition looked at on
    every pass, one of a class from outside skylaunch, or one counting scheduler passes.

    Conditions are compared by identity (``id``); the list of them returned with the key is
    kept with it, so an id is not reused by another condition meanwhile.
    """
    history = session.history
    parts: list[Any] = [history.version, session.config.cycle_sleep]
    conds: list[Condition] = []
    for task in session.tasks_in_order():
        cond = task.start_cond
        if (
            history.of(task.name).running
            or _unsure(cond)
            or _counts_cycles(cond)
            or EVERY_PASS in cond.watches(task.name)
        ):
            return None
        conds.append(cond)
        parts.append(
            (
                task.name,
                id(cond),
                task.priority,
                task.disabled or task.on_startup or task.on_shutdown,
                task.multilaunch,
                len(task.batches),
            )
        )
    return tuple(parts), conds


# --- the app -------------------------------------------------------------------------------------


class DashboardOptions(TypedDict, total=False):
    """The keyword arguments of :func:`create_dashboard` and :func:`dashboard_routes`."""

    token: str | None
    authorize: Authorize | None
    protect_reads: bool
    live: LiveLog | None
    metrics: Metrics | bool | None
    title: str
    upcoming_hours: float


class _Dashboard:
    def __init__(
        self,
        control: Controller,
        *,
        token: str | None,
        authorize: Authorize | None,
        protect_reads: bool,
        live: LiveLog | None,
        metrics: Metrics | None,
        title: str,
        upcoming_hours: float,
    ) -> None:
        _check_token(token)
        self.control = control
        self.token = token
        self.authorize = authorize
        self.protect_reads = protect_reads
        self.live = live if live is not None else LiveLog()
        self.own_live = live is None
        self._attached = self.live.attach(control.session.task_logger)
        self.metrics = metrics
        self.own_metrics = False
        self.title = title
        self.upcoming_hours = upcoming_hours
        # task -> (its log, the log's version, the strip of its last outcomes): a strip is
        # built again only for a task whose history changed since the last overview
        self._strips: dict[str, tuple[TaskLog, int, str]] = {}
        # the timeline's plan key, its start, until when it holds, its runs (see upcoming())
        self._timeline: tuple[Any, datetime, datetime, Upcoming] | None = None
        # (root, task, condition) -> the row's fixed parts (the escaped name, link, condition)
        self._heads: dict[tuple[str, str, str], tuple[str, str]] = {}

    def close(self) -> None:
        """Undo what the dashboard attached: its live log (closed if it made it, else taken
        off the loggers it put it on) and the metrics it made (``metrics=True``)."""
        if self.own_live:
            self.live.close()
        else:
            self.live.detach(self._attached)
        self._attached = []
        if self.own_metrics and self.metrics is not None:
            self.metrics.close()

    # --- auth ------------------------------------------------------------------------------
    async def may_control(self, request: Request) -> bool:
        if self.token is not None:
            given = _bearer(request)
            if _same_token(
                given if given is not None else request.cookies.get(_COOKIE), self.token
            ):
                return True
        if self.authorize is not None:
            return await _authorized(self.authorize, request)
        return False

    async def refused_read(self, request: Request) -> Response | None:
        if self.protect_reads and not await self.may_control(request):
            return RedirectResponse(f"{_root(request)}/login", status_code=303)
        return None

    # --- pages -----------------------------------------------------------------------------
    async def page(self, request: Request, title: str, body: str, *, status: int = 200) -> Response:
        allowed = await self.may_control(request)
        now = self.control.session.clock.now()
        nav = ""
        if self.metrics is not None:
            nav += f'<a href="{_root(request)}/metrics">Metrics</a> '
        if self.token is not None:
            nav += (
                f'<a href="{_root(request)}/logout">Log out</a>'
                if request.cookies.get(_COOKIE)
                else f'<a href="{_root(request)}/login">Log in</a>'
            )
        text = _PAGE.substitute(
            title=_esc(f"{title} · {self.title}"),
            app_title=_esc(self.title),
            root=_esc(_root(request)),
            control="yes" if allowed else "no",
            nav_extra=nav,
            now_iso=_esc(now.isoformat()),
            now_text=_esc(_when(now)),
            body=body,
        )
        return HTMLResponse(text, status_code=status, headers=_HEADERS)

    def overview_body(self, request: Request, states: list[TaskState]) -> str:
        root = _root(request)
        now = self.control.session.clock.now()
        since = now.timestamp() - _DAY_S
        history = self.control.session.history
        strips = self._strips
        kept: dict[str, tuple[TaskLog, int, str]] = {}
        heads = self._heads
        kept_heads: dict[tuple[str, str, str], tuple[str, str]] = {}
        rows = []
        for st in states:
            log = history.of(st.name)
            version = log.version  # read first: a change while building shows next time
            got = strips.get(st.name)
            if got is None or got[0] is not log or got[1] != version:
                got = (log, version, _strip(_ends(log)))
            kept[st.name] = got
            fails = log.count("fail", since, None)
            last_cell, outcome = _last_cell(st, now)
            sort_next = st.next_run.at.timestamp() if st.next_run.at is not None else 9e18
            sort_last = st.last.started.timestamp() if st.last is not None else 0
            key = (root, st.name, st.condition)
            fixed = heads.get(key)
            if fixed is None:
                name = _esc(st.name)
                fixed = (
                    f'<tr data-name="{name}"',
                    (
                        f'<th scope="row"><a href="{root}/tasks/{quote(st.name, safe="")}">'
                        f"{name}</a></th><td><code>{_esc(st.condition)}</code></td>"
                    ),
                )
            kept_heads[key] = fixed
            rows.append(
                f'{fixed[0]} data-status="{st.status}" data-outcome="{outcome}">{fixed[1]}'
                f'<td data-sort="{st.status}">{_status_badge(st)}</td>'
                f'<td data-sort="{sort_last}">{last_cell}</td>'
                f'<td data-sort="{sort_next}">{_next_cell(st, now)}</td>'
                f"<td>{got[2]}</td>"
                f'<td data-sort="{fails}" class="num{" bad" if fails else ""}">{fails}</td></tr>'
            )
        self._strips, self._heads = kept, kept_heads  # tasks gone are forgotten
        statuses = "".join(
            f'<option value="{s}">{s}</option>' for s in ("idle", "running", "disabled", "paused")
        )
        head = "".join(
            f'<th scope="col" aria-sort="none"><button type="button" class="sort" data-col="{i}">'
            f"{label}</button></th>"
            for i, label in enumerate(
                (
                    "Task",
                    "Condition",
                    "Status",
                    "Last run",
                    "Next run",
                    "Last outcomes",
                    "Fails 24 h",
                )
            )
        )
        return (
            f'<h1>Tasks <span class="muted">({len(states)})</span></h1>'
            '<form class="filters" role="search">'
            '<label for="f-name">Name</label> <input id="f-name" type="search" autocomplete="off">'
            ' <label for="f-status">Status</label> <select id="f-status">'
            f'<option value="">any</option>{statuses}<option value="failed">last run failed</option>'
            "</select></form>"
            f'<div class="scroll"><table id="tasks" class="tasks"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
            f'<h2 id="timeline-h">Next {self.upcoming_hours:g} hours</h2>'
            f'<div id="timeline" data-src="{root}/timeline" aria-labelledby="timeline-h">'
            f'<noscript><a href="{root}/timeline">The timeline</a></noscript></div>'
        )

    async def overview(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        states = await self._call(self.control.tasks)
        if isinstance(states, Response):
            return states
        return await self.page(request, "Tasks", self.overview_body(request, states))

    def upcoming(self) -> Upcoming:
        """The timeline's runs: computed once, then reused while nothing it depends on moved.

        One computation covers ``_TIMELINE_MARGIN_S`` more than the window. Until its first
        run and for at most that margin, with the same history and tasks, a computation from
        a later instant finds the same runs (nothing starts before the first one), so the kept
        runs, cut at the later window's end, are what it would return (see :func:`_plan_key`).
        """
        session = self.control.session
        planned = _plan_key(session)  # read before computing: a change meanwhile shows next time
        now = session.clock.now()
        window = timedelta(hours=self.upcoming_hours)
        kept = self._timeline
        if (
            planned is not None
            and kept is not None
            and kept[0][0] == planned[0]
            and kept[1] <= now < kept[2]
        ):
            full, start = kept[3], now
        else:
            full = self.control.upcoming(
                until=now + window + timedelta(seconds=_TIMELINE_MARGIN_S), limit=_TIMELINE_RUNS
            )
            start = full.start
            until = start + timedelta(seconds=_TIMELINE_MARGIN_S)
            if full.runs:
                until = min(until, full.runs[0].at)
            self._timeline = None if planned is None else (planned, start, until, full)
        end = start + window
        runs = tuple(run for run in full.runs if run.at <= end)
        return Upcoming(start, end, runs, full.complete or len(runs) < len(full.runs))

    async def timeline(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        ahead = await self._call(self.upcoming)
        if isinstance(ahead, Response):
            return ahead
        states: list[TaskState] = []
        if not ahead.complete:  # cut short: the tasks it did not reach show their next run
            got = await self._call(self.control.tasks)
            states = [] if isinstance(got, Response) else got
        root = _root(request)
        total = (ahead.end - ahead.start).total_seconds() or 1.0
        by_task: dict[str, list[datetime]] = {}
        for run in ahead.runs:
            by_task.setdefault(run.task, []).append(run.at)
        for st in states:
            at = st.next_run.at
            if st.name not in by_task and at is not None and ahead.start <= at <= ahead.end:
                by_task[st.name] = [at]
        lines = []
        for name, ats in sorted(by_task.items(), key=lambda kv: kv[1][0]):
            places: dict[float, datetime] = {}  # one tick per 0.5 % of the window
            for at in ats:
                places.setdefault(round((at - ahead.start).total_seconds() / total * 200) / 2, at)
            ticks = "".join(
                f'<i style="left:{pos:.1f}%" title="{_esc(_when(at))}"></i>'
                for pos, at in places.items()
            )
            first = ", ".join(_when(at)[11:16] for at in ats[:6]) + (" …" if len(ats) > 6 else "")
            lines.append(
                f'<li><a href="{root}/tasks/{quote(name, safe="")}">{_esc(name)}</a> '
                f'<span class="muted">{len(ats)} run(s): {_esc(first)}</span>'
                f'<span class="track" aria-hidden="true">{ticks}</span></li>'
            )
        note = (
            ""
            if ahead.complete
            else '<p class="muted">(cut short: too many runs to list; the tasks not reached show their next run only)</p>'
        )
        body = (
            f'<ul class="timeline">{"".join(lines)}</ul>{note}'
            if lines
            else '<p class="muted">Nothing is planned to run in this window.</p>'
        )
        if request.query_params.get("fragment"):
            return HTMLResponse(body, headers=_HEADERS)
        return await self.page(
            request, "Timeline", f"<h1>Next {self.upcoming_hours:g} hours</h1>{body}"
        )

    async def task_page(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        why = await self._call(self.control.why, name)
        if isinstance(why, Response):
            return why
        state = await self._call(self.control.task, name)
        if isinstance(state, Response):
            return state
        rows = await run_in_threadpool(run_rows, self.control.session.repo, name)
        root = _root(request)
        now = self.control.session.clock.now()
        quoted = quote(name, safe="")
        buttons = ""
        if await self.may_control(request):
            buttons = (
                '<div class="actions" role="group" aria-label="Control">'
                + "".join(
                    f'<button type="button" class="act" data-url="{root}/tasks/{quoted}/{a}" '
                    f'data-action="{a}">{label}</button>'
                    for a, label in (
                        ("run", "Run now"),
                        ("disable", "Disable"),
                        ("enable", "Enable"),
                        ("terminate", "Terminate"),
                    )
                    if not (a == "disable" and state.status == "disabled")
                    and not (a == "enable" and state.status != "disabled")
                )
                + "</div>"
            )
        history = []
        for r in rows:
            started = datetime.fromtimestamp(r.started, now.tzinfo) if r.started else None
            tb = ""
            if r.exc_text:
                tb = (
                    f'<details class="tb"><summary>Traceback</summary>'
                    f"<pre>{_esc(r.exc_text)}</pre></details>"
                )
            history.append(
                f'<tr data-run="{_esc(r.run_id)}" data-outcome="{_esc(r.outcome)}">'
                f'<td><a href="{root}/tasks/{quoted}/runs/{quote(r.run_id, safe="")}">'
                f"<code>{_esc(r.run_id[-12:])}</code></a></td>"
                f"<td>{_esc(_when(started))}</td>"
                f'<td><span class="badge o-{_esc(r.outcome)}">{_esc(r.outcome)}</span>{tb}</td>'
                f'<td class="num">{_esc(_span(r.seconds)) if r.seconds is not None else ""}</td></tr>'
            )
        last, _ = _last_cell(state, now)
        body = (
            f"<h1>Task <code>{_esc(name)}</code> {_status_badge(state)}</h1>{buttons}"
            f'<dl class="facts"><dt>Condition</dt><dd><code>{_esc(state.condition)}</code></dd>'
            f"<dt>Execution</dt><dd>{_esc(state.execution)}</dd>"
            f"<dt>Last run</dt><dd>{last}</dd>"
            f"<dt>Next run</dt><dd>{_next_cell(state, now)}</dd>"
            + (
                f"<dt>Description</dt><dd>{_esc(state.description)}</dd>"
                if state.description
                else ""
            )
            + "</dl>"
            f"<h2>Why it is {'due' if why.due else 'not due'} now</h2>"
            f'<ul class="tree">{_tree(why.explanation)}</ul>'
            f"<h2>Run durations</h2>{_plot(rows)}"
            f'<h2>Runs <span class="muted">(newest first)</span></h2>'
            '<div class="scroll"><table class="runs"><thead><tr><th scope="col">Run</th>'
            '<th scope="col">Started</th><th scope="col">Outcome</th><th scope="col">Duration</th>'
            f"</tr></thead><tbody>{''.join(history)}</tbody></table></div>"
            f'<h2>Live lines of this task</h2><ol class="live" data-task="{_esc(name)}" '
            'aria-live="off"></ol>'
        )
        return await self.page(request, name, body)

    async def run_page(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        name, run_id = request.path_params["name"], request.path_params["run_id"]
        repo = self.control.session.repo

        def lines() -> list[dict[str, Any]]:
            stored = [
                {
                    "created": _ts(_get(item, "created")),
                    "action": _get(item, "action"),
                    "message": _get(item, "message") or "",
                    "exc_text": _get(item, "exc_text"),
                }
                for item in repo.filter_by(task_name=name, run_id=run_id).limit(1000)
            ]
            seen = {(x["created"], x["action"]) for x in stored}
            extra = [
                x
                for x in self.live.of_run(run_id)
                if (x.get("created"), x.get("action")) not in seen
            ]
            return sorted(stored + extra, key=lambda x: x.get("created") or 0.0)

        got = await run_in_threadpool(lines)
        tz = self.control.session.clock.now().tzinfo
        items = []
        for x in got:
            ts = x.get("created")
            when = _when(datetime.fromtimestamp(ts, tz)) if isinstance(ts, (int, float)) else ""
            tb = f"<pre>{_esc(x['exc_text'])}</pre>" if x.get("exc_text") else ""
            items.append(
                f"<li><time>{_esc(when)}</time> <b>{_esc(str(x.get('action') or x.get('level') or ''))}</b> "
                f"{_esc(str(x.get('message', '')))}{tb}</li>"
            )
        body = (
            f'<h1>Run <code>{_esc(run_id)}</code> of <a href="{_root(request)}/tasks/'
            f'{quote(name, safe="")}">{_esc(name)}</a></h1>'
            + (
                f'<ol class="lines">{"".join(items)}</ol>'
                if items
                else "<p>No lines of this run.</p>"
            )
        )
        return await self.page(request, f"Run {run_id}", body)

    async def live_page(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        body = (
            "<h1>Live log</h1>"
            '<form class="filters">'
            '<label for="live-filter">Show lines containing</label> '
            '<input id="live-filter" type="search" autocomplete="off"> '
            '<button type="button" id="live-pause" aria-pressed="false">Pause</button> '
            '<button type="button" id="live-clear">Clear</button> '
            '<span id="live-count" class="muted" aria-live="off"></span></form>'
            '<ol class="live" id="live-all" aria-live="off"></ol>'
        )
        return await self.page(request, "Live log", body)

    async def events(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        task = request.query_params.get("task") or None
        start = request.headers.get("last-event-id") or request.query_params.get("after")
        try:
            seq = int(start) if start else max(self.live.last - 200, 0)
        except ValueError:
            seq = 0
        live = self.live

        async def stream() -> AsyncIterator[str]:
            nonlocal seq
            yield "retry: 1000\n\n"
            with anyio.move_on_after(_STREAM_S):
                while True:
                    got = live.after(seq, limit=_EVENT_LINES, task=task)
                    if got.lines or got.skipped:
                        data = json.dumps({"lines": got.lines, "skipped": got.skipped}, default=str)
                        yield f"id: {got.last}\nevent: lines\ndata: {data}\n\n"
                    seq = got.last
                    if await request.is_disconnected():
                        return
                    await anyio.sleep(_POLL_S)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # --- control ---------------------------------------------------------------------------
    async def act(self, request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in _ACTIONS:
            return JSONResponse({"detail": f"unknown action {action!r}"}, status_code=404)
        if not await self.may_control(request):
            return JSONResponse({"detail": "not authorized to control tasks"}, status_code=403)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return JSONResponse(
                {"detail": "send a JSON body (Content-Type: application/json)"}, status_code=415
            )
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
        func = getattr(self.control, action)
        done = await self._call(func, name)
        if isinstance(done, Response):
            return done
        return JSONResponse({"ok": True, "action": action, "task": name}, status_code=202)

    async def login(self, request: Request) -> Response:
        root = _root(request)
        if request.method == "POST":
            # parsed here: Starlette's form parser needs python-multipart, not a dependency
            form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
            given = (form.get("token") or [""])[0]
            if self.token is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                response = RedirectResponse(f"{root}/", status_code=303)
                response.set_cookie(
                    _COOKIE, given, httponly=True, samesite="strict", path=root or "/"
                )
                return response
            error = '<p class="bad" role="alert">Wrong token.</p>'
        else:
            error = ""
        body = (
            f"<h1>Log in</h1>{error}"
            f'<form method="post" action="{root}/login" class="login">'
            '<label for="token">Control token</label> '
            '<input id="token" name="token" type="password" autocomplete="current-password" required>'
            ' <button type="submit">Log in</button></form>'
        )
        return await self.page(request, "Log in", body, status=401 if error else 200)

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse(f"{_root(request)}/", status_code=303)
        response.delete_cookie(_COOKIE, path=_root(request) or "/")
        return response

    async def metrics_endpoint(self, request: Request) -> Response:
        refused = await self.refused_read(request)
        if refused is not None:
            return refused
        assert self.metrics is not None
        body, content_type = await run_in_threadpool(self.metrics.exposition)
        return Response(body, media_type=content_type)

    # --- helpers ---------------------------------------------------------------------------
    async def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await run_in_threadpool(func, *args, **kwargs)
        except TaskLookupError as exc:
            return HTMLResponse(f"<h1>Not found</h1><p>{_esc(str(exc))}</p>", status_code=404)
        except ControlTimeout as exc:
            return HTMLResponse(f"<h1>Busy</h1><p>{_esc(str(exc))}</p>", status_code=503)


_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def dashboard_routes(
    target: App | Session | Controller,
    *,
    token: str | None = None,
    authorize: Authorize | None = None,
    protect_reads: bool = False,
    live: LiveLog | None = None,
    metrics: Metrics | bool | None = None,
    title: str = "skylaunch",
    upcoming_hours: float = 24.0,
) -> list[BaseRoute]:
    """The dashboard's routes, to put in a Starlette app of your own (see :func:`create_dashboard`).

    Nothing takes the live log off the task logger here: pass a ``live=`` you close yourself
    (:meth:`LiveLog.close`) when the app ends, or use :func:`create_dashboard` (its lifespan does).
    """
    return _routes(
        _board(
            target,
            token=token,
            authorize=authorize,
            protect_reads=protect_reads,
            live=live,
            metrics=metrics,
            title=title,
            upcoming_hours=upcoming_hours,
        )
    )


def _board(target: App | Session | Controller, **options: Unpack[DashboardOptions]) -> _Dashboard:
    control = _controller(target)
    metrics = options.get("metrics")
    own_metrics = metrics is True
    if metrics is True:
        from skylaunch.metrics import Metrics

        metrics = Metrics(control.session)
    board = _Dashboard(
        control,
        token=options.get("token"),
        authorize=options.get("authorize"),
        protect_reads=options.get("protect_reads", False),
        live=options.get("live"),
        metrics=metrics or None,
        title=options.get("title", "skylaunch"),
        upcoming_hours=options.get("upcoming_hours", 24.0),
    )
    board.own_metrics = own_metrics
    return board


def _routes(board: _Dashboard) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/", board.overview, methods=["GET"]),
        Route("/timeline", board.timeline, methods=["GET"]),
        Route("/live", board.live_page, methods=["GET"]),
        Route("/live/events", board.events, methods=["GET"]),
        Route("/login", board.login, methods=["GET", "POST"]),
        Route("/logout", board.logout, methods=["GET"]),
        Route("/tasks/{name:str}", board.task_page, methods=["GET"]),
        Route("/tasks/{name:str}/runs/{run_id:path}", board.run_page, methods=["GET"]),
        Route("/tasks/{name:str}/{action:str}", board.act, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    if board.metrics is not None:
        routes.append(Route("/metrics", board.metrics_endpoint, methods=["GET"]))
    return routes


def create_dashboard(
    target: App | Session | Controller, **options: Unpack[DashboardOptions]
) -> Starlette:
    """The dashboard as an ASGI app; mount it next to the API: ``Mount("/", app=...)``.

    ``token`` / ``authorize``: who may control tasks (as :func:`skylaunch.http.create_api`;
    the ``/login`` form stores the token in a same-site, HTTP-only cookie).
    ``protect_reads``: the pages too need that. ``live``: the :class:`LiveLog` to show (one is
    made and attached to the task logger by default; call :meth:`LiveLog.follow_redis` on it
    to watch other replicas). ``metrics``: ``True`` or a :class:`skylaunch.metrics.Metrics`
    to serve ``/metrics``. ``title``: the pages' heading. ``upcoming_hours``: the timeline's
    window.

    The app's lifespan takes the dashboard's live log (and the metrics it made) off the task
    logger at shut-down. Starlette does not run the lifespan of a mounted app: enter it from
    your web app's (``async with board.router.lifespan_context(board): ...``).
    """
    board = _board(target, **options)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            board.close()

    return Starlette(routes=_routes(board), lifespan=lifespan)
