"""Conditions on session parameters: ``is_env("prod")``, ``ParamExists("x", mode="full")``.

Parameters change outside task events (``app.params(...)``, a task's return value), so these
are looked at on every scheduler pass instead of being planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skylaunch._tasknames import quoted
from skylaunch.conds.base import EVERY_PASS, Condition, Context

__all__ = ["IsEnv", "ParamExists", "is_env"]


@dataclass(frozen=True, slots=True)
class IsEnv(Condition):
    """True when the session parameter ``env`` equals ``env`` (``env 'prod'``)."""

    env: str

    def __post_init__(self) -> None:
        if not isinstance(self.env, str) or not self.env:
            raise ValueError(f"is_env() needs a non-empty environment name, got {self.env!r}")

    def is_true(self, ctx: Context) -> bool:
        return bool(ctx.parameters.get("env") == self.env)

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        return frozenset({EVERY_PASS})

    def __str__(self) -> str:
        return f"env {quoted(self.env)}"


@dataclass(frozen=True, slots=True, init=False)
class ParamExists(Condition):
    """True when every named parameter exists and each given key has the given value.

    ``ParamExists("x", mode="full")`` is ``param 'x' exists, 'mode' is 'full'`` in strings.
    """

    keys: tuple[str, ...]
    values: tuple[tuple[str, Any], ...]

    def __init__(self, *keys: str, **values: Any) -> None:
        if not keys and not values:
            raise ValueError("ParamExists needs at least one parameter name or key=value")
        for key in keys:
            if not isinstance(key, str) or not key:
                raise ValueError(f"ParamExists: parameter names are non-empty text, got {key!r}")
        object.__setattr__(self, "keys", tuple(keys))
        object.__setattr__(self, "values", tuple(sorted(values.items())))

    def is_true(self, ctx: Context) -> bool:
        params: Mapping[str, Any] = ctx.parameters
        if any(key not in params for key in self.keys):
            return False
        return all(key in params and params[key] == value for key, value in self.values)

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def watches(self, own: str | None) -> frozenset[str]:
        return frozenset({EVERY_PASS})

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.keys, self.values))

    def __str__(self) -> str:
        parts = [f"{quoted(k)} exists" for k in self.keys]
        for key, value in self.values:
            if not isinstance(value, str):
                raise TypeError(f"param {key!r} = {value!r}: only text values have a string form")
            parts.append(f"{quoted(key)} is {quoted(value)}")
        return "param " + ", ".join(parts)


def _rebuild(keys: tuple[str, ...], values: tuple[tuple[str, Any], ...]) -> ParamExists:
    return ParamExists(*keys, **dict(values))


def is_env(env: str) -> IsEnv:
    """Due only in environment ``env`` (the session parameter ``env``)."""
    return IsEnv(env)
