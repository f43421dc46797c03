"""The Celery app and probe task of bench/celery_vs_process.py (its workers load this module)."""

from __future__ import annotations

import os

from celery import Celery

from skylaunch.execution.celery_worker import register

app = Celery(
    "skylaunch-bench",
    broker=os.environ.get("SKYLAUNCH_BENCH_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("SKYLAUNCH_BENCH_BACKEND", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_default_queue=os.environ.get("SKYLAUNCH_BENCH_QUEUE", "skylaunch-bench"),
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
register(app)
