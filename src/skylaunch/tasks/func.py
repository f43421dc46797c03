"""Tasks that call a Python function."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from skylaunch.exc import TaskDefinitionError
from skylaunch.tasks.base import Task

__all__ = ["FuncTask"]


class FuncTask(Task):
    """Run ``func``. Its parameters are filled by name from session, task and run parameters."""

    def __init__(self, func: Callable[..., Any], **kwargs: Any) -> None:
        if not callable(func):
            raise TaskDefinitionError(f"FuncTask needs a callable, got {func!r}")
        self.func = func
        self.is_async = inspect.iscoroutinefunction(func)
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None
        self._accepts_any = signature is None or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
        )
        self._wanted = (
            frozenset()
            if signature is None
            else frozenset(
                n
                for n, p in signature.parameters.items()
                if p.kind
                in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            )
        )
        super().__init__(**kwargs)

    def default_name(self) -> str:
        name = getattr(self.func, "__name__", None)
        if not isinstance(name, str) or name == "<lambda>":
            raise TaskDefinitionError(f"give the task of {self.func!r} a name=...")
        return name

    def validate(self) -> None:
        if self.is_async and self._execution == "main":
            raise TaskDefinitionError(
                f"task {self.name!r}: {self.func.__name__} is a coroutine function; "
                "run it with execution='async'"
            )

    @property
    def execution(self) -> str:
        chosen = self._execution or self.session.config.execution
        return "async" if self.is_async and chosen == "main" else chosen

    @execution.setter
    def execution(self, value: str) -> None:
        Task.execution.fset(self, value)  # type: ignore[attr-defined]

    def target(self) -> Callable[..., Any]:
        return self.func

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if not self._wanted and not self._accepts_any:
            return {}
        merged = {**self.session.parameters, **self.parameters, **params}
        if self._accepts_any:
            return merged
        return {k: v for k, v in merged.items() if k in self._wanted}
