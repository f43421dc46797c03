"""The no-op task of bench/celery_vs_process.py, in a module that imports no Celery (a process
child imports it too, and must not pay for Celery)."""

from __future__ import annotations

import time

from skylaunch.log.context import task_log


def probe() -> None:
    """Say when the body began (a wall-clock stamp: the scheduler runs on the same machine)."""
    task_log("began", began=time.time())
