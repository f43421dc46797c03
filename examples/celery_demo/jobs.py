"""Task functions: plain functions in a module the workers can import by its path."""

from __future__ import annotations

import os
import threading

from skylaunch.args import Return
from skylaunch.log.context import task_log


def fetch(count: int = 5) -> list[int]:
    numbers = [n * n for n in range(count)]
    task_log(f"fetched {len(numbers)} numbers in worker process {os.getpid()}")
    return numbers  # travels back through the result backend


def summarize(numbers: list[int] = Return("fetch")) -> int:  # type: ignore[assignment]  # noqa: B008
    total = sum(numbers)
    task_log(f"the total is {total}")
    return total


def stuck() -> None:
    """Never ends by itself: its timeout revokes it (terminate=True) on the worker."""
    threading.Event().wait(60)
