"""Task functions for the execution tests, at module level so ``process`` runs can import them."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

from skylaunch.args import Arg, Return, TerminationFlag
from skylaunch.args import Session as SessionArg
from skylaunch.exc import TaskInaction
from skylaunch.log.context import task_log

USER_LOGGER = "tests.user_code"


def add(x: int, y: int) -> int:
    logging.getLogger(USER_LOGGER).warning("adding %s and %s", x, y)
    return x + y


def double(value: int = Return("add")) -> int:  # type: ignore[assignment]
    return value * 2


def fail() -> None:
    raise ValueError("boom in the task")


def skip() -> None:
    raise TaskInaction()


def wait_for_flag(flag: threading.Event = TerminationFlag()) -> str:  # type: ignore[assignment]  # noqa: B008
    """Block until terminated (30 s at most, far beyond every test's timeout)."""
    flag.wait(30)
    return "flag seen" if flag.is_set() else "flag never set"


async def wait_async(flag: threading.Event = TerminationFlag()) -> None:  # type: ignore[assignment]  # noqa: B008
    for _ in range(3000):
        if flag.is_set():
            return
        await asyncio.sleep(0.01)


def short(seconds: float = 0.3, flag: threading.Event = TerminationFlag()) -> str:  # type: ignore[assignment]  # noqa: B008
    """Work for ``seconds`` (an interruptible wait) and succeed."""
    flag.wait(seconds)
    return "finished"


def unpicklable_result() -> Any:
    return threading.Lock()


def log_inside() -> None:
    task_log("hello from inside")
    logging.getLogger(USER_LOGGER).warning("plain logging inside")


def echo(value: Any = None) -> Any:
    """Return the parameter it was given (the value a FuncArg made, and where)."""
    return value


def connect(session: Any = SessionArg()) -> int:  # noqa: B008 - as users write it
    """A FuncArg function that needs the session (which cannot be sent to a process child)."""
    return 1


def where_made(setting: Any = Arg("setting")) -> tuple[Any, int]:  # noqa: B008
    """A FuncArg function with a session-parameter default: (its value, the pid it ran in)."""
    return setting, os.getpid()


def die_once(marker: str) -> int:
    """First delivery: leave this process's pid in ``marker`` and wait to be killed.

    A delivery that finds the marker (the message delivered again after the kill) returns
    its own pid at once.
    """
    path = Path(marker)
    if path.exists():
        return os.getpid()
    path.write_text(str(os.getpid()))
    threading.Event().wait(30)
    return -1


def pid_after(seconds: float = 0.2) -> int:
    """Work ``seconds`` and return the pid of the process that did."""
    threading.Event().wait(seconds)
    return os.getpid()
