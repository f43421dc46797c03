"""User functions as conditions (``@app.cond()``, ``condition(func)``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from skylaunch.conds.base import Condition, Context

__all__ = ["FuncCond", "condition"]


@dataclass(frozen=True, slots=True)
class FuncCond(Condition):
    """True when ``func()`` returns a truthy value.

    Opaque to the scheduler, so it is looked at again every ``cycle_sleep`` seconds while its task
    waits on it. ``name`` is how it appears in (and is found from) the string syntax.
    """

    func: Callable[..., object]
    name: str = ""
    args: tuple[object, ...] = field(default=())

    def is_true(self, ctx: Context) -> bool:
        return bool(self.func(*self.args))

    def next_change(self, ctx: Context) -> datetime | None:
        return ctx.poll_deadline

    def __str__(self) -> str:
        return self.name or getattr(self.func, "__name__", repr(self.func))


def condition(func: Callable[..., object], name: str | None = None) -> FuncCond:
    """Wrap ``func`` as a condition (it is called with no arguments)."""
    if not callable(func):
        raise TypeError(f"condition() needs a callable, got {func!r}")
    return FuncCond(func, name or str(getattr(func, "__name__", "")))
