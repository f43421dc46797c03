"""A session's tasks by name, in scheduling order (higher priority first, then definition order).

The registry only keys and orders definitions; it tells one listener (the scheduler) what was
added, renamed and removed, so that the scheduler can index the task's watches and move the
runtime state it keeps for it (pending runs, termination requests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Protocol

from skylaunch._tasknames import task_name
from skylaunch.exc import TaskDefinitionError, TaskLookupError
from skylaunch.tasks.base import Task

__all__ = ["TaskListener", "TaskRegistry"]

_PRIORITY = attrgetter("priority")


class TaskListener(Protocol):
    """Who hears of tasks coming and going (the scheduler)."""

    def task_added(self, task: Task) -> None: ...

    def task_renamed(self, old: str, task: Task) -> None: ...

    def task_removed(self, name: str) -> None: ...


class TaskRegistry:
    """Tasks by name; ``pre_exist`` reads the ``task_pre_exist`` policy when a name is taken."""

    def __init__(self, pre_exist: Callable[[], str]) -> None:
        self._pre_exist = pre_exist
        self._tasks: dict[str, Task] = {}
        self._lock = threading.RLock()
        self._order: dict[str, int] = {}
        self._sorted: list[Task] | None = None
        # Whether _tasks holds the tasks in definition order (_order's numbers ascending): true
        # until a rename or the return of a removed name, which keep the task's old number but
        # move it to the end of _tasks. While true, ordering is a stable sort by priority alone.
        self._in_definition_order = True
        self.listener: TaskListener | None = None

    def add(self, task: Task) -> None:
        name = task._name if task.plain_fields else task.name
        # The look for a task of that name and the insert are one step: two threads defining
        # the same name at once get what the policy says (one raises, both are kept renamed).
        with self._lock:
            replaced = False
            present = self._tasks.get(name)
            if present is not None and present is not task:
                policy = self._pre_exist()
                if policy == "raise":
                    raise TaskDefinitionError(
                        f"a task named {name!r} exists already (config task_pre_exist='raise'; "
                        "use 'replace', 'ignore' or 'rename', or give another name=)"
                    )
                if policy == "ignore":
                    return
                if policy == "rename":
                    n = 1
                    while f"{name} - {n}" in self._tasks:
                        n += 1
                    task.name = f"{name} - {n}"
                    task._logger = None  # made again, under the new name, on first use
                    name = task.name
                else:  # replace: what the scheduler kept for the old task goes with it
                    replaced = True
            if replaced and self.listener is not None:
                self.listener.task_removed(name)
            if name in self._order and name not in self._tasks:
                self._in_definition_order = False  # back after a removal: it keeps its place
            self._tasks[name] = task
            self._order.setdefault(name, len(self._order))
            self._sorted = None
        if self.listener is not None:
            self.listener.task_added(task)

    def rename(self, task: Task, old: str, new: str) -> None:
        with self._lock:
            if new in self._tasks:
                raise TaskDefinitionError(
                    f"cannot rename task {old!r} to {new!r}: a task of that name exists"
                )
            del self._tasks[old]
            self._tasks[new] = task
            self._order[new] = self._order.pop(old)
            self._in_definition_order = False
            self._sorted = None

    def reordered(self) -> None:
        """A task's priority changed: the order is sorted again when next asked for."""
        with self._lock:
            self._sorted = None

    def renamed(self, old: str, task: Task) -> None:
        """``task`` now answers to its new name: the listener moves what it keeps for ``old``."""
        if self.listener is not None:
            self.listener.task_renamed(old, task)

    def remove(self, task: Task | str | Callable[..., object]) -> None:
        name = task.name if isinstance(task, Task) else task_name(task)
        with self._lock:  # two threads removing it at once: the second finds it gone
            if name not in self._tasks:
                raise TaskLookupError(name, list(self._tasks))
            del self._tasks[name]
            self._sorted = None
        if self.listener is not None:
            self.listener.task_removed(name)

    def get(self, name: str) -> Task | None:
        return self._tasks.get(name)

    def __getitem__(self, task: str | Callable[..., object]) -> Task:
        name = task_name(task)  # TypeError for what is no name, task or task function
        if name not in self._tasks:
            raise TaskLookupError(name, list(self._tasks))
        return self._tasks[name]

    def __contains__(self, task: object) -> bool:
        if isinstance(task, Task):
            return self._tasks.get(task.name) is task
        return task in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.in_order())

    def names(self) -> list[str]:
        return list(self._tasks)

    def all(self) -> set[Task]:
        return set(self._tasks.values())

    def order_key(self, task: Task) -> tuple[int, int]:
        """Higher priority first, then definition order."""
        return (-task.priority, self._order.get(task.name, 0))

    def in_order(self) -> list[Task]:
        ordered = self._sorted
        if ordered is None:
            with self._lock:  # tasks may be added from other threads meanwhile
                if self._in_definition_order:
                    # the same order as order_key's: a reversed sort keeps equal keys in place
                    ordered = sorted(self._tasks.values(), key=_PRIORITY, reverse=True)
                else:
                    ordered = sorted(self._tasks.values(), key=self.order_key)
                self._sorted = ordered
        return ordered
