"""The Celery app: the workers load it (``celery -A celery_demo.app worker``), the scheduler too.

``register(app)`` is the one line a Celery worker needs to run skylaunch runs.
"""

from __future__ import annotations

import os

from celery import Celery

from skylaunch.execution.celery_worker import register

app = Celery(
    "celery_demo",
    broker=os.environ.get("SKYLAUNCH_DEMO_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("SKYLAUNCH_DEMO_BACKEND", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_default_queue=os.environ.get("SKYLAUNCH_DEMO_QUEUE", "skylaunch-demo"),
    worker_prefetch_multiplier=1,  # a busy worker leaves the next run to an idle one
    broker_connection_retry_on_startup=True,
)
register(app)
