"""Tasks on a Celery cluster: skylaunch decides when, Celery workers do the work.

The scheduler runs in this process; two Celery workers run in others (started here as
subprocesses, as you would start them on other machines with
``celery -A celery_demo.app worker``). Needs a broker and a result backend: RabbitMQ and Redis
on this machine by default (SKYLAUNCH_DEMO_BROKER, SKYLAUNCH_DEMO_BACKEND).
Run: python examples/celery_cluster.py
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # celery_demo is importable here and in the workers
os.environ.setdefault("SKYLAUNCH_DEMO_QUEUE", f"skylaunch-demo-{uuid.uuid4().hex[:8]}")

from celery_demo import jobs
from celery_demo.app import app as celery_app

from skylaunch import App
from skylaunch.conds import after_success, every
from skylaunch.execution.celery import CeleryExecutor

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
SECONDS = int(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "6"))  # the smoke test shortens it

app = App(
    config={
        "execution": "celery",
        "shut_cond": f"scheduler has run over {SECONDS} seconds",
        "instant_shutdown": True,
    },
    executors={"celery": CeleryExecutor(celery_app)},
)
app.task(every("1 second"), name="fetch")(jobs.fetch)
app.task(after_success("fetch"), name="summarize")(jobs.summarize)
app.task(every("10 seconds"), name="stuck", timeout=0.5)(jobs.stuck)


def start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path[1:]])}
    return [
        subprocess.Popen(
            [
                "timeout",
                "120",
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_demo.app",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=WARNING",
                "-n",
                f"demo{i}-{os.environ['SKYLAUNCH_DEMO_QUEUE']}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            env=env,
            start_new_session=True,
        )
        for i in (1, 2)
    ][:count]


def wait_for_workers(count: int) -> None:
    queue = os.environ["SKYLAUNCH_DEMO_QUEUE"]
    pause = threading.Event()
    for _ in range(60):
        replies = celery_app.control.ping(timeout=0.5) or []
        if sum(queue in name for reply in replies for name in reply) >= count:
            return
        pause.wait(0.5)
    raise SystemExit("the Celery workers did not start")


if __name__ == "__main__":
    workers = start_workers(2)
    try:
        wait_for_workers(2)
        app.run()
    finally:
        for worker in workers:  # SIGQUIT: Celery's cold shutdown, nothing is running now
            os.killpg(worker.pid, signal.SIGQUIT)
        for worker in workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:  # noqa: PERF203 - two workers
                os.killpg(worker.pid, signal.SIGKILL)
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(os.environ["SKYLAUNCH_DEMO_QUEUE"])
    for name in ("fetch", "summarize", "stuck"):
        actions = [r.action for r in app.session[name].logger.filter_by().all()]
        print(f"  {name:<9} {actions}")
