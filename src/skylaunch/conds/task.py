"""Conditions about task history: dependencies (``after_success``) and ``retry``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from skylaunch._tasknames import task_name
from skylaunch.conds.base import All, Any, Condition, Context
from skylaunch.history import Action

__all__ = ["DependFailure", "DependFinish", "DependSuccess", "Retry"]


class _Depend(Condition):
    """True when ``depend_task`` ended (as ``actions``) after the task last started.

    Several upstream ends before the task starts again collapse into one run; an upstream end
    while the task runs makes it due again afterwards (Rocketry's semantics).
    """

    __slots__ = ()
    depend_task: str
    task: str | None
    actions: ClassVar[tuple[Action, ...]]
    word: ClassVar[str]

    def __post_init__(self) -> None:
        # DependSuccess(depend_task=fetch): a task or its function, resolved once here
        object.__setattr__(self, "depend_task", task_name(self.depend_task))
        if self.task is not None:
            object.__setattr__(self, "task", task_name(self.task))

    def is_true(self, ctx: Context) -> bool:
        upstream = ctx.history.of(self.depend_task).last_of(self.actions)
        if upstream is None:
            return False
        own_start = ctx.log_of(self.task).last("run")
        return own_start is None or own_start < upstream

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        names = {self.depend_task}
        if name is not None:
            names.add(name)
        return frozenset(names)

    def __str__(self) -> str:
        base = f"after task {_quote(self.depend_task)}"
        return f"{base} {self.word}" if self.word != "succeeded" else base


@dataclass(frozen=True, slots=True)
class DependSuccess(_Depend):
    """``after_success("a")``: ``a`` succeeded since this task last started."""

    depend_task: str
    task: str | None = None
    actions: ClassVar[tuple[Action, ...]] = ("success",)
    word: ClassVar[str] = "succeeded"


@dataclass(frozen=True, slots=True)
class DependFailure(_Depend):
    """``after_fail("a")``: ``a`` failed since this task last started."""

    depend_task: str
    task: str | None = None
    actions: ClassVar[tuple[Action, ...]] = ("fail",)
    word: ClassVar[str] = "failed"


@dataclass(frozen=True, slots=True)
class DependFinish(_Depend):
    """``after_finish("a")``: ``a`` succeeded or failed since this task last started."""

    depend_task: str
    task: str | None = None
    actions: ClassVar[tuple[Action, ...]] = ("success", "fail")
    word: ClassVar[str] = "finished"


@dataclass(frozen=True, slots=True)
class Retry(Condition):
    """True when the task's latest action is a failure and it has failed at most ``n`` times in a row.

    ``n = -1`` retries forever, ``0`` never. A run in a row ends at a success, crash, inaction or
    terminate; as in Rocketry the count is not reset by a new period, so ``daily | retry(3)``
    runs at most 1 + 3 times in a row of failures.
    """

    n: int = -1
    task: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or self.n < -1:
            raise ValueError(f"retry(n) needs n >= 0 (or -1 for forever), got {self.n!r}")

    def is_true(self, ctx: Context) -> bool:
        log = ctx.log_of(self.task)
        if log.last_action != "fail" or self.n == 0:
            return False
        if self.n == -1:
            return True
        return log.fails_in_row() <= self.n

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        return frozenset() if name is None else frozenset({name})

    def __str__(self) -> str:
        return "retry" if self.n == -1 else f"retry {self.n}"


def _quote(name: str) -> str:
    if "'" in name:
        return '"' + name + '"'
    return "'" + name + "'"


def depend_all(kind: type[_Depend], names: tuple[str, ...]) -> Condition:
    return All.of(*(kind(name) for name in names))  # type: ignore[call-arg]


def depend_any(kind: type[_Depend], names: tuple[str, ...]) -> Condition:
    return Any.of(*(kind(name) for name in names))  # type: ignore[call-arg]
