"""A user's app as mypy --strict sees it: decorated functions keep their signatures.

Not collected by pytest (no test functions); ``tests/typing/test_user_app.py`` runs mypy over it,
and so does ``.ci/run``. Each ``reveal_type``-free assignment below fails type checking if a
decorator loses the function's type.
"""

from __future__ import annotations

from collections.abc import Callable

from skylaunch import App
from skylaunch.conds import after_success, daily, every
from skylaunch.tasks import CommandTask, FuncTask

app = App(config={"execution": "thread"})


@app.task(every("10 minutes"))
def fetch(url: str = "https://example.invalid", retries: int = 3) -> list[str]:
    return [url] * retries


@app.task(after_success("fetch"), name="store")
async def store(rows: list[str] | None = None) -> int:
    return len(rows or [])


@app.startup()
def warm_up() -> None:
    return None


@app.param("region")
def region() -> str:
    return "eu"


@app.cond()
def file_ready() -> bool:
    return True


def report() -> None:
    return None


# The decorated functions are still the functions: their parameters and returns are known.
rows: list[str] = fetch("u", retries=1)
as_callable: Callable[[str, int], list[str]] = fetch
store_func: Callable[[list[str] | None], object] = store
name: str = region()
warm_up()

# The non-decorator forms return the task they create.
report_task: FuncTask = app.task(daily, func=report, name="report")
backup_task: CommandTask = app.task(daily, command=["echo", "backup"], name="backup")
both = daily & file_ready
