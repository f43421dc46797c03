"""A scheduler in a background thread of a synchronous program (Flask, Django, a script).

    python examples/background_thread.py

``app.start()`` runs the scheduler in a thread of its own and returns at once; the program goes
on with its own work (here: a loop standing in for a WSGI server) and may look at the schedule
or steer it through ``app.control``. ``app.stop(timeout=...)`` shuts it down: runs may finish
for ``timeout`` seconds, then they are terminated. At interpreter exit it is stopped anyway.
"""

from __future__ import annotations

import os
import time

from skylaunch import App

SECONDS = float(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "5"))

app = App(execution="thread")
done: list[str] = []


@app.task("every 1 second")
def refresh_cache() -> None:
    done.append("refresh_cache")


@app.task("daily after 02:00")
def nightly_export() -> None:
    done.append("nightly_export")


@app.task("false")
def send_digest(to: str = "team") -> None:
    done.append(f"send_digest to {to}")


if __name__ == "__main__":
    app.start()  # returns once the scheduler runs
    app.control.run("send_digest", to="ops")  # e.g. from a Flask view
    end = time.monotonic() + max(SECONDS - 2, 0)  # the program's own work, for a while
    while time.monotonic() < end or "send_digest to ops" not in done or not done[1:]:
        time.sleep(0.05)
    for task in app.control.tasks():
        print(f"{task.name:<15} {task.status:<8} next run: {task.next_run}")
    print(
        "next exports:",
        [f"{run.at:%a %H:%M}" for run in app.control.upcoming("nightly_export").runs],
    )
    assert app.stop(timeout=5)
    print(f"{len(done)} runs; {done.count('refresh_cache')} of refresh_cache")
    assert "send_digest to ops" in done
