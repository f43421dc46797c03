"""Conditions about task history: dependencies (``after_success``) and ``retry``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from skylaunch._tasknames import condition_task, quoted
from skylaunch.conds.base import All, Any, Condition, Context, instant_from
from skylaunch.history import Action, TaskLog
from skylaunch.time.parse import format_timedelta, to_timedelta

__all__ = [
    "DependFailure",
    "DependFinish",
    "DependSuccess",
    "Retry",
    "depend_all",
    "depend_any",
    "retry",
]


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
        object.__setattr__(self, "depend_task", condition_task(self.depend_task))
        if self.task is not None:
            object.__setattr__(self, "task", condition_task(self.task))

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
        base = f"after task {quoted(self.depend_task)}"
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


@dataclass(frozen=True, slots=True, init=False)
class Retry(Condition):
    """True when the task's latest action is a failure and it has failed at most ``n`` times in a row.

    ``n = None`` (or ``-1``) retries forever, ``0`` never; ``Retry()`` retries once, as in
    Rocketry. A run in a row ends at a success, crash, inaction or terminate; as in Rocketry the
    count is not reset by a new period, so ``daily | retry(3)`` runs at most 1 + 3 times in a row
    of failures.

    With ``delay`` the k-th retry (k = 1, 2...) waits ``delay * backoff ** (k - 1)`` after the
    failure, at most ``max_delay``: ``retry(3, delay="10 minutes", backoff=2)`` retries 10, 20
    and 40 minutes after each failure. The wait is exact: :meth:`next_change` is the instant the
    retry becomes due.

    The module's ``retry`` is a ``Retry`` too (forever, no delay), so ``daily | retry`` works
    as a condition, and calling it builds another one: ``retry(3, delay="1 minute")``.
    """

    n: int
    task: str | None
    delay: timedelta
    backoff: float
    max_delay: timedelta | None

    def __init__(
        self,
        n: int | None = 1,
        task: str | None = None,
        *,
        delay: timedelta | float | str | None = None,
        backoff: float = 1,
        max_delay: timedelta | float | str | None = None,
    ) -> None:
        if n is None:
            n = -1
        if isinstance(n, bool) or not isinstance(n, int) or n < -1:
            raise ValueError(f"retry(n) needs n >= 0 (or None / -1 for forever), got {n!r}")
        wait = timedelta(0) if delay is None else to_timedelta(delay)
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)):
            raise TypeError(f"retry(backoff=...) must be a number >= 1, got {backoff!r}")
        if not 1 <= backoff < float("inf"):
            raise ValueError(f"retry(backoff=...) must be a number >= 1, got {backoff!r}")
        cap = None if max_delay is None else to_timedelta(max_delay)
        if (cap is not None or backoff != 1) and not wait:
            raise ValueError("retry(backoff=..., max_delay=...) need a delay: give delay=...")
        if cap is not None and cap < wait:
            raise ValueError(
                f"retry(max_delay=...) must be at least the delay ({format_timedelta(wait)}), "
                f"got {format_timedelta(cap)}"
            )
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "task", condition_task(task))
        object.__setattr__(self, "delay", wait)
        object.__setattr__(self, "backoff", float(backoff))
        object.__setattr__(self, "max_delay", cap)

    def __call__(
        self,
        n: int | None = -1,
        *,
        delay: timedelta | float | str | None = None,
        backoff: float = 1,
        max_delay: timedelta | float | str | None = None,
    ) -> Retry:
        """``retry(3)``, ``retry(None)``, ``retry(3, delay="10 minutes", backoff=2)``."""
        return Retry(n, self.task, delay=delay, backoff=backoff, max_delay=max_delay)

    def _due(self, log: TaskLog) -> float | None:
        """The POSIX time from which a retry is due, or ``None`` when none is allowed."""
        if log.last_action != "fail" or self.n == 0:
            return None
        fails = log.fails_in_row()
        if self.n != -1 and fails > self.n:
            return None
        failed_at = log.last("fail")
        assert failed_at is not None
        if not self.delay:
            return failed_at
        try:
            wait = self.delay.total_seconds() * self.backoff ** (fails - 1)
        except OverflowError:
            wait = float("inf")
        if self.max_delay is not None:
            wait = min(wait, self.max_delay.total_seconds())
        return failed_at + wait

    def is_true(self, ctx: Context) -> bool:
        due = self._due(ctx.log_of(self.task))
        return due is not None and ctx.ts >= due

    def next_change(self, ctx: Context) -> datetime | None:
        due = self._due(ctx.log_of(self.task))
        if due is None or ctx.ts >= due or due >= _LAST_TS:
            return None
        return instant_from(due, ctx.now.tzinfo)

    def watches(self, own: str | None) -> frozenset[str]:
        name = self.task or own
        return frozenset() if name is None else frozenset({name})

    def __str__(self) -> str:
        text = "retry" if self.n == -1 else f"retry {self.n}"
        if self.delay:
            text += f" with delay {format_timedelta(self.delay)}"
        if self.backoff != 1:
            text += f" backoff {_number(self.backoff)}"
        if self.max_delay is not None:
            text += f" max delay {format_timedelta(self.max_delay)}"
        return text

    def __repr__(self) -> str:
        extra = ""
        if self.delay:
            extra += f", delay={self.delay!r}"
        if self.backoff != 1:
            extra += f", backoff={_number(self.backoff)}"
        if self.max_delay is not None:
            extra += f", max_delay={self.max_delay!r}"
        return f"Retry(n={self.n!r}, task={self.task!r}{extra})"


# A wait past this POSIX time (the year 9000) is "never": no datetime to plan a wake-up at.
_LAST_TS = 221_845_392_000.0


#: Due again after a failure, forever; call it for a limit or a delay: ``retry(3)``,
#: ``retry(None)`` (forever), ``retry(3, delay="10 minutes", backoff=2, max_delay="1 hour")``.
#: ``skylaunch.conds.retry``.
retry = Retry(None)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def depend_all(kind: type[_Depend], names: tuple[str, ...]) -> Condition:
    return All.of(*(kind(name) for name in names))  # type: ignore[call-arg]


def depend_any(kind: type[_Depend], names: tuple[str, ...]) -> Condition:
    return Any.of(*(kind(name) for name in names))  # type: ignore[call-arg]
