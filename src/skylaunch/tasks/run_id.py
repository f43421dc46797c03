"""Run id functions for ``func_run_id`` (task option or config key), as Rocketry's
``rocketry.tasks.run_id``: ``App(config={"func_run_id": increment})``.

A run id function is called as ``func(task, params)`` when a run starts and returns a string.
Without one skylaunch draws 32 hex digits per run (see ``Session.new_run_id``), unique across
processes and restarts as :func:`uuid` is.
"""

from __future__ import annotations

import itertools
import uuid as _uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skylaunch.tasks.base import Task

__all__ = ["increment", "uuid"]


def uuid(task: Task, params: Mapping[str, Any] | None = None) -> str:
    """A random ``uuid4().hex``."""
    return _uuid.uuid4().hex


def increment(task: Task, params: Mapping[str, Any] | None = None) -> str:
    """The smallest whole number ("1", "2"...) no run of ``task`` going now has as its id.

    Only unique among the task's current runs (Rocketry's meaning): ids repeat over time, so
    a repo read after a restart pairs ends with starts by the order of the records.
    """
    taken = set(task.session.history.of(task.name).running)
    for n in itertools.count(1):
        if str(n) not in taken:
            return str(n)
    raise AssertionError("unreachable")  # pragma: no cover
