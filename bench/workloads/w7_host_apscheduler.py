"""W7 host process, APScheduler 3: how late a sleeper in the same process wakes while the
scheduler is busy with one always-due job run inline (``DebugExecutor``, W3's trigger).

``probe=thread``: a ``BackgroundScheduler`` (its own thread), a plain thread sleeps 5 ms in a
loop. ``probe=asyncio``: an ``AsyncIOScheduler`` in an event loop, where an asyncio task sleeps
5 ms in a loop. The window is run by a thread of its own; the asyncio scheduler is shut down in
its loop (it is not thread-safe).
"""

from __future__ import annotations

import asyncio
import logging

from _apscheduler import AlwaysTrigger
from _probe import WakeProbe, Window, emit, params, run_in_background
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

p = params(probe="thread", window_s=5.0, warmup_s=0.5)
logging.getLogger("apscheduler").setLevel(logging.ERROR)
counts = [0]


def busy() -> None:
    counts[0] += 1


def with_job(sched: BaseScheduler) -> BaseScheduler:
    sched.add_job(busy, AlwaysTrigger(), misfire_grace_time=None)
    return sched


probe = WakeProbe()
window = Window(float(p["warmup_s"]), float(p["window_s"]), counts, probe=probe)


async def embedded() -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    sched = with_job(AsyncIOScheduler(executors={"default": DebugExecutor()}))
    prober = asyncio.create_task(probe.task_loop())
    sched.start()
    window.in_background(lambda: loop.call_soon_threadsafe(stopped.set))
    await stopped.wait()
    sched.shutdown(wait=False)
    prober.cancel()


if p["probe"] == "thread":
    sched = with_job(BackgroundScheduler(executors={"default": DebugExecutor()}))
    sched.start()
    run_in_background(probe.thread_loop)
    window.run(lambda: sched.shutdown(wait=False))
elif p["probe"] == "asyncio":
    asyncio.run(embedded())
else:
    raise SystemExit(f"probe={p['probe']!r}: expected thread or asyncio")
emit(**probe.figures(), runs_per_s=window.runs_per_s)
