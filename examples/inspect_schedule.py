"""What is scheduled, when, and why: the inspection API on a simulated clock (instant).

    python examples/inspect_schedule.py

The same answers come from ``skylaunch tasks module:app``, ``skylaunch why module:app TASK``,
``skylaunch upcoming module:app --hours 24`` and the HTTP API.
"""

from __future__ import annotations

from skylaunch.testing import seed, simulated_app

app = simulated_app("2024-03-04 07:30")  # a Monday; the app's clock stands still here


@app.task("daily after 08:00")
def extract() -> None: ...


@app.task("after task 'extract'")
def load() -> None: ...


@app.task("every 4 hours")
def heartbeat() -> None: ...


@app.task("weekly on Friday & time of day after 17:00")
def weekly_report() -> None: ...


seed(app, "heartbeat", [("2024-03-04 06:00", "run"), ("2024-03-04 06:00", "success")])

if __name__ == "__main__":
    control = app.control
    for task in control.tasks():
        print(f"{task.name:<14} {task.condition:<45} next run: {task.next_run}")
    print()
    print(control.why("weekly_report"))
    print()
    tonight = control.upcoming(hours=24)
    for run in tonight.runs:
        print(f"{run.at:%a %H:%M}  {run.task}")
    assert control.next_run("extract").at is not None
    assert [run.task for run in tonight.runs][:3] == ["extract", "load", "heartbeat"]
