"""A tour of the condition DSL: build conditions, print them, and ask "is it due, and why?".

Run: ``python examples/conditions.py``. Everything happens on a simulated clock.
"""

from __future__ import annotations

from skylaunch.conds import (
    Condition,
    after_success,
    daily,
    every,
    failed,
    parse_condition,
    retry,
    running,
    started,
    time_of_day,
    time_of_week,
)
from skylaunch.testing import is_due, run_until, runs, seed, simulated_app

app = simulated_app("2024-03-30 09:00", tz="Europe/Helsinki")
app.session.parameters["env"] = "prod"


@app.cond()
def is_prod(env: str) -> bool:
    return env == "prod"


def on_weekend(rest: str) -> Condition:
    """A phrase of this app's own grammar: "weekend" (nothing may follow it)."""
    if rest:
        raise ValueError(f"'weekend' takes no words after it, got {rest!r}")
    return time_of_week.between("Sat 00:00", "Mon 00:00")


app.session.grammar.add_phrase("weekend", on_weekend)


@app.task("daily & weekend")
def backup() -> None: ...


@app.task("daily between 10:00 and 12:00 & is_prod")
def report() -> None: ...


@app.task((daily | retry(2)) & time_of_day.after("08:00"))
def load() -> None: ...


@app.task(after_success("load") & ~running(task="report"))
def transform() -> None: ...


@app.task(every("90 minutes") & (started.today < 5))
def poll() -> None: ...


def main() -> None:
    print("Conditions print as the strings that build them:")
    for task in ("report", "load", "transform", "poll"):
        cond = app.session[task].start_cond
        print(f"  {task:<10} {cond}")
        assert parse_condition(str(cond), app.session.cond_names) == cond
    print(f"  {'backup':<10} {app.session['backup'].start_cond} (from 'daily & weekend')")

    seed(app, "load", [("2024-03-30 08:30", "run"), ("2024-03-30 08:31", "fail")])
    print("\nAt 09:00, is 'report' due?")
    print(is_due(app, "report"))
    print("\nAt 10:00?")
    print(is_due(app, "report", "2024-03-30 10:00"))
    print("\n'load' failed once today: retry makes it due again")
    print(is_due(app, "load"))
    two = failed.today >= 2
    print(f"\nA count: {two!s} -> {two.observe(task='load', session=app.session)}")

    run_until(app, "2024-04-01 00:00")  # Helsinki springs forward on 2024-03-31
    print("\nRuns over the DST weekend:")
    for task in ("report", "load", "transform", "poll", "backup"):
        stamps = [t.strftime("%a %H:%M") for t in runs(app, task)]
        print(f"  {task:<10} {', '.join(stamps)}")


if __name__ == "__main__":
    main()
