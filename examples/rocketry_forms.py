"""Code written for Rocketry 2.5, with only its imports changed, on a simulated clock.

Run: ``python examples/rocketry_forms.py``. Shows the forms Rocketry users write that skylaunch
takes as they are: positional ``All``/``Any``, periods combined with ``&``, ``time_point=True``,
``TimeOfYear``, ``FuncTask`` as a decorator, ``session.create_task``, ``timeout="never"``,
``session.returns[task]`` and ``Grouper.cond``/``params``.
"""

from __future__ import annotations

from skylaunch import App, FuncTask, Grouper
from skylaunch.conds import All, IsPeriod, SchedulerStarted, TaskExecutable, parse_time
from skylaunch.testing import run_until, runs, simulated_app
from skylaunch.time import TimeOfDay, TimeOfWeek, TimeOfYear

app: App = simulated_app("2024-01-01 00:00", tz="Europe/Helsinki")
session = app.session
session.env = "prod"  # the session parameter is_env() and the group's condition read

# A period made of two: Monday mornings. Rocketry's time_point=True is .at()/.on().
monday_morning = TimeOfDay("10:00", "12:00") & TimeOfWeek("Mon", time_point=True)
assert parse_time("time of week on Mon & time of day between 10:00 and 12:00") == monday_morning


@FuncTask(start_cond=TaskExecutable(monday_morning), name="weekly_report", session=session)
def weekly_report() -> str:
    return "report"


# Positional All, a period by month of year, no time limit.
session.create_task(
    func=lambda: None,
    name="winter_maintenance",
    start_cond=All(TaskExecutable(TimeOfDay()), IsPeriod(TimeOfYear("Nov", "Feb"))),
    timeout="never",
)

group = Grouper(prefix="etl.")
group.params(batch=100)


@group.cond("is prod")
def is_prod(env: str) -> bool:
    return env == "prod"


@group.task("daily after 06:00 & is prod")
def load(batch: int) -> int:
    return batch


app.include_grouper(group)
app.task(SchedulerStarted() & TaskExecutable(TimeOfWeek()), name="weekly_check")(lambda: None)


def main() -> None:
    run_until(app, "2024-01-15 00:00")
    for name in ("weekly_report", "winter_maintenance", "etl.load", "weekly_check"):
        started = sorted(runs(app, name))
        first = started[0].strftime("%a %d.%m %H:%M") if started else "-"
        print(f"{name:<20} ran {len(started)} times, first {first}")
    print("returns by task object:", session.returns[session["weekly_report"]])
    print("returns by function:   ", session.returns[load])
    assert len(runs(app, "weekly_report")) == 2
    assert len(runs(app, "winter_maintenance")) == 14


if __name__ == "__main__":
    main()
