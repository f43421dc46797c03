"""The Celery app of the Celery tests: the scheduler side and the worker subprocesses load it.

Broker and result backend come from SKYLAUNCH_TEST_RABBITMQ_URL and SKYLAUNCH_TEST_REDIS_URL;
the queue from SKYLAUNCH_TEST_CELERY_QUEUE (each test session uses its own, so that runs of
parallel test sessions on the same broker never meet).
"""

from __future__ import annotations

import os

from celery import Celery

from skylaunch.execution.celery_worker import register

RABBITMQ_URL = os.environ.get("SKYLAUNCH_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("SKYLAUNCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("SKYLAUNCH_TEST_CELERY_QUEUE", "skylaunch-tests")

app = Celery("skylaunch-tests", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
register(app)
