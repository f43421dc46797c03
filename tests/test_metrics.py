"""skylaunch.metrics: what the scheduler keeps for the lateness histogram, and the spans."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from skylaunch import App
from skylaunch.dashboard import run_rows
from skylaunch.metrics import Metrics
from skylaunch.testing import run_for, simulated_app


def _app() -> App:
    app = simulated_app("2026-03-02 08:00")

    @app.task("every 10 minutes")
    def fine() -> None: ...

    @app.task("every 20 minutes")
    def broken() -> None:
        raise ValueError("the input was empty")

    return app


def _lateness_count(metrics: Metrics) -> float:
    got = metrics.registry.get_sample_value("skylaunch_launch_lateness_seconds_count")
    return 0.0 if got is None else got


def test_planned_instants_are_kept_only_while_metrics_watch() -> None:
    app = _app()
    scheduler = app.session.scheduler
    run_for(app, "1 hour")
    assert scheduler.planned_due is None  # no Metrics: nothing noted
    first, second = Metrics(app), Metrics(app)
    assert scheduler.planned_due == {}
    run_for(app, "1 hour")
    assert _lateness_count(first) == _lateness_count(second) > 0  # fine's and broken's launches
    first.close()
    first.close()  # closing twice counts once
    assert scheduler.planned_due is not None  # the second still watches
    run_for(app, "30 minutes")
    counted = _lateness_count(second)
    assert counted > _lateness_count(first)
    second.close()
    assert scheduler.planned_due is None
    run_for(app, "30 minutes")
    assert _lateness_count(second) == counted


def test_a_run_is_a_span_with_its_run_id_and_failures_are_errors() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app()
    metrics = Metrics(app, tracer_provider=provider)
    try:
        run_for(app, "1 hour")
    finally:
        metrics.close()
    by_task: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        by_task.setdefault(str((span.attributes or {})["skylaunch.task"]), []).append(span)
    for task, outcome in (("fine", "success"), ("broken", "fail")):
        rows = run_rows(app.session.repo, task)
        assert rows
        got = by_task[task]
        assert {(s.attributes or {})["skylaunch.run_id"] for s in got} == {r.run_id for r in rows}
        for span in got:
            assert span.name == f"skylaunch run {task}"
            assert (span.attributes or {})["skylaunch.outcome"] == outcome
            if outcome == "fail":
                assert span.status.status_code is StatusCode.ERROR
                assert span.status.description == "ValueError: the input was empty"
            else:
                assert span.status.status_code is StatusCode.UNSET
