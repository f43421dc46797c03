"""User functions as conditions (``@app.cond()``, ``condition(func)``)."""

from __future__ import annotations

import inspect
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
    #: parameters of ``func`` filled by name from ``session.parameters`` (found at construction)
    session_params: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.session_params:
            object.__setattr__(self, "session_params", _named_params(self.func, len(self.args)))

    def is_true(self, ctx: Context) -> bool:
        if not self.session_params:
            return bool(self.func(*self.args))
        params = ctx.session.parameters
        kwargs = {name: params[name] for name in self.session_params if name in params}
        return bool(self.func(*self.args, **kwargs))

    def next_change(self, ctx: Context) -> datetime | None:
        return ctx.poll_deadline

    def __str__(self) -> str:
        return self.name or getattr(self.func, "__name__", repr(self.func))


def _named_params(func: Callable[..., object], skip: int) -> tuple[str, ...]:
    """Parameters that are filled from the session by name (all but the positional ``args``)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return ()
    names = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    return tuple(names[skip:])


def condition(func: Callable[..., object], name: str | None = None) -> FuncCond:
    """Wrap ``func`` as a condition; its parameters are filled from ``session.parameters``."""
    if not callable(func):
        raise TypeError(f"condition() needs a callable, got {func!r}")
    return FuncCond(func, name or str(getattr(func, "__name__", "")))
