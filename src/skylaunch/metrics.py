"""Prometheus metrics of a scheduler (the ``metrics`` extra: ``pip install 'skylaunch[metrics]'``).

``Metrics(app)`` listens to the task logger (a logging handler: the scheduler's loop does not
change) and reads the rest when scraped:

==========================================  ==========  =======================================
``skylaunch_runs_total{task,outcome}``      counter     runs ended, by outcome
``skylaunch_run_duration_seconds{task}``    histogram   how long runs took
``skylaunch_launch_lateness_seconds``       histogram   start minus the planned instant
``skylaunch_running_runs{task}``            gauge       runs going on now
``skylaunch_waiting_for_slot``              gauge       tasks due but waiting for a free slot
``skylaunch_output_buffered_records{output}``  gauge    records waiting to be written
``skylaunch_output_dropped_records{output}``   gauge    records dropped (queue full, closed)
``skylaunch_repo_write_seconds``            histogram   how long a write to the log repo took
``skylaunch_replica_active{lease,holder}``  gauge       1 on the active replica, else 0
==========================================  ==========  =======================================

The replica gauge is there only with coordination (``App(coordination=...)``). Serve
:meth:`Metrics.exposition` at ``/metrics`` (the dashboard does with ``metrics=True``) or use
:meth:`Metrics.asgi`. ``otel=True`` also opens an OpenTelemetry span per run (the
``opentelemetry-api`` package), with the task name and run id as attributes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

try:
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.exposition import CONTENT_TYPE_LATEST
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - the extra is installed in dev
    raise ImportError(
        "skylaunch.metrics needs the 'prometheus-client' package: pip install 'skylaunch[metrics]'"
    ) from exc

from skylaunch.log._queued import QueuedWriter

if TYPE_CHECKING:
    from skylaunch.app import App
    from skylaunch.session import Session

__all__ = ["DURATION_BUCKETS", "LATENESS_BUCKETS", "WRITE_BUCKETS", "Metrics"]

_FINISHES = frozenset({"success", "fail", "terminate", "inaction", "crash"})
_ERRORS = frozenset({"fail", "crash"})  # the ends whose span has the error status
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600)
LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300)
WRITE_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5)


def _last_line(text: Any) -> str:
    """The last line of a traceback (the exception), for a span's status description."""
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _session(target: App | Session) -> Session:
    from skylaunch.app import App

    return target.session if isinstance(target, App) else target


class _Listener(logging.Handler):
    """Counts run ends and observes durations and lateness from the task's status records."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.DEBUG)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        action = getattr(record, "action", None)
        task = getattr(record, "task_name", None)
        if action is None or task is None:
            return
        try:
            self.metrics.observe(str(task), str(action), record)
        except Exception:
            self.handleError(record)


class _Scraped(Collector):
    """What is read when scraped: running runs, waiting tasks, output queues."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        session = self.metrics.session
        self.metrics.watch_repo_writes()
        running = GaugeMetricFamily(
            "skylaunch_running_runs", "Runs going on now, by task", labels=["task"]
        )
        history = session.history
        for name in history.task_names():
            count = len(history.of(name).running)
            if count:
                running.add_metric([name], count)
        yield running
        yield GaugeMetricFamily(
            "skylaunch_waiting_for_slot",
            "Tasks due but waiting for a free slot of their executor",
            value=len(session.scheduler._blocked),
        )
        buffered = GaugeMetricFamily(
            "skylaunch_output_buffered_records",
            "Log records waiting to be written, by output",
            labels=["output"],
        )
        dropped = GaugeMetricFamily(
            "skylaunch_output_dropped_records",
            "Log records dropped (queue full, or unsent at close), by output",
            labels=["output"],
        )
        for label, writer in self.metrics.writers():
            buffered.add_metric([label], writer.pending)
            dropped.add_metric([label], writer.dropped)
        yield buffered
        yield dropped
        coordination = session.coordination
        if coordination is not None:
            active = GaugeMetricFamily(
                "skylaunch_replica_active",
                "1 while this replica holds the lease and schedules, else 0 (a standby)",
                labels=["lease", "holder"],
            )
            active.add_metric(
                [coordination.name, coordination.holder], 1.0 if coordination.active else 0.0
            )
            yield active


class Metrics:
    """The metrics of one session, in a registry of their own (``registry=`` to share one).

    ``otel=True``: a span per run from OpenTelemetry's global tracer provider (attributes
    ``skylaunch.task``, ``skylaunch.run_id``, ``skylaunch.outcome``; a failed or crashed run
    ends its span with the error status). ``tracer_provider=``: that provider instead of the
    global one (implies ``otel``).
    """

    def __init__(
        self,
        target: App | Session,
        *,
        registry: CollectorRegistry | None = None,
        otel: bool = False,
        tracer_provider: Any = None,
    ) -> None:
        self.session = _session(target)
        self.registry = registry if registry is not None else CollectorRegistry()
        self.runs = Counter(
            "skylaunch_runs",
            "Runs ended, by task and outcome",
            ["task", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "skylaunch_run_duration_seconds",
            "How long runs took, by task",
            ["task"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.lateness = Histogram(
            "skylaunch_launch_lateness_seconds",
            "How long after its planned instant a run started",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.repo_write = Histogram(
            "skylaunch_repo_write_seconds",
            "How long one write of records to the log repo took",
            buckets=WRITE_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Scraped(self))
        self._starts: dict[str, float] = {}
        self._measured: dict[str, float] = {}  # task -> the planned instant last measured
        self._lock = threading.Lock()
        self._spans: dict[str, Any] = {}
        self._tracer: Any = None
        if otel or tracer_provider is not None:
            try:
                from opentelemetry import trace
            except ImportError as exc:
                raise ImportError(
                    "Metrics(otel=True) needs 'opentelemetry-api': pip install 'skylaunch[otel]'"
                ) from exc
            self._tracer = trace.get_tracer("skylaunch", tracer_provider=tracer_provider)
        self.listener = _Listener(self)
        self.session.task_logger.addHandler(self.listener)
        self.session.scheduler.watch_lateness(True)
        self._closed = False
        self.watch_repo_writes()

    # --- from the status records -----------------------------------------------------------
    def observe(self, task: str, action: str, record: logging.LogRecord) -> None:
        run_id = getattr(record, "run_id", None)
        key = f"{task}\0{run_id}"
        if action == "run":
            with self._lock:
                self._starts[key] = record.created
            # the instant the scheduler's look that launched it was planned for; left in place
            # for any other Metrics of the session, each measures a planned instant once
            planned_due = self.session.scheduler.planned_due
            planned = None if planned_due is None else planned_due.get(task)
            if planned is not None and self._measured.get(task) != planned:
                self._measured[task] = planned
                if 0 <= record.created - planned < 86_400:
                    self.lateness.observe(record.created - planned)
            if self._tracer is not None:
                span = self._tracer.start_span(
                    f"skylaunch run {task}",
                    attributes={"skylaunch.task": task, "skylaunch.run_id": str(run_id)},
                )
                with self._lock:
                    self._spans[key] = span
            return
        if action not in _FINISHES:
            return
        self.runs.labels(task, action).inc()
        runtime = getattr(record, "runtime", None)
        seconds = runtime.total_seconds() if runtime is not None else None
        with self._lock:
            started = self._starts.pop(key, None)
            span = self._spans.pop(key, None)
        if seconds is None and started is not None:
            seconds = record.created - started
        if seconds is not None and seconds >= 0:
            self.duration.labels(task).observe(seconds)
        if span is not None:
            span.set_attribute("skylaunch.outcome", action)
            if action in _ERRORS:
                from opentelemetry.trace import Status, StatusCode

                exc_text = getattr(record, "exc_text", None)
                span.set_status(Status(StatusCode.ERROR, _last_line(exc_text) or action))
            span.end()

    # --- outputs and the repo --------------------------------------------------------------
    def writers(self) -> Iterator[tuple[str, QueuedWriter[Any]]]:
        """The queued outputs on the task logger, with a label each (repo, redis, ...)."""
        seen: dict[str, int] = {}
        for handler in self.session.task_logger.handlers:
            writer = getattr(handler, "_writer", None)
            if not isinstance(writer, QueuedWriter):
                continue
            base = type(handler).__name__
            seen[base] = seen.get(base, 0) + 1
            yield (base if seen[base] == 1 else f"{base}#{seen[base]}"), writer

    def watch_repo_writes(self) -> None:
        """Time the writes of the session's repo handler (again after the repo changed)."""
        handler = self.session.journal.handler
        writer = getattr(handler, "_writer", None)
        if not isinstance(writer, QueuedWriter) or getattr(writer, "_skylaunch_timed", False):
            return
        write: Callable[[list[Any]], None] = writer._write
        histogram = self.repo_write

        def timed(batch: list[Any]) -> None:
            began = time.perf_counter()
            try:
                write(batch)
            finally:
                histogram.observe(time.perf_counter() - began)

        writer._write = timed
        writer._skylaunch_timed = True  # type: ignore[attr-defined]

    # --- serving ---------------------------------------------------------------------------
    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus text format, and the content type to send them with."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def asgi(self) -> Callable[..., Any]:
        """A tiny ASGI app that answers every GET with :meth:`exposition`."""

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            body, content_type = self.exposition()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", content_type.encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return app

    def close(self) -> None:
        """Stop listening to the task logger (the scheduler stops noting planned instants
        when no other ``Metrics`` of the session listens)."""
        self.session.task_logger.removeHandler(self.listener)
        if not self._closed:
            self._closed = True
            self.session.scheduler.watch_lateness(False)
