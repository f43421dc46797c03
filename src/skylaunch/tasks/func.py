"""Tasks that call a Python function."""

from __future__ import annotations

import inspect
import pickle
import types
from collections.abc import Callable, Mapping
from typing import Any

from skylaunch.args import BaseArgument, argument_defaults
from skylaunch.exc import TaskDefinitionError
from skylaunch.tasks.base import Task

__all__ = ["FuncTask", "check_picklable"]


_CO_VARKEYWORDS = inspect.CO_VARKEYWORDS


def _parameters(func: Callable[..., Any]) -> tuple[frozenset[str], bool, dict[str, BaseArgument]]:
    """(names it takes by keyword, takes **kwargs, defaults that are arguments).

    Read straight off the code object for plain functions (defining thousands of tasks must stay
    fast: ``inspect.signature`` costs tens of microseconds); other callables go through inspect.
    """
    code = getattr(func, "__code__", None)
    if inspect.isfunction(func) and code is not None and not hasattr(func, "__wrapped__"):
        n_pos = code.co_argcount
        names = code.co_varnames[: n_pos + code.co_kwonlyargcount]
        positional_only = code.co_posonlyargcount
        wanted = frozenset(names[positional_only:])
        given = func.__defaults__ or ()
        pairs = [*zip(names[n_pos - len(given) : n_pos], given, strict=True)]
        pairs.extend((func.__kwdefaults__ or {}).items())
        defaults = {name: value for name, value in pairs if isinstance(value, BaseArgument)}
        return wanted, bool(code.co_flags & _CO_VARKEYWORDS), defaults
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return frozenset(), True, {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = signature.parameters
    return (
        frozenset(n for n, p in params.items() if p.kind in kinds),
        any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()),
        argument_defaults(func),
    )


class FuncTask(Task):
    """Run ``func``. Its parameters are filled by name from session, task and run parameters.

    Parameters whose default is an argument (``def load(data=Return("fetch"))``) get the
    argument's value unless a parameter of that name is given. Precedence, lowest first:
    argument defaults, session parameters, task ``parameters``, ``run(**params)``.
    """

    def __init__(self, func: Callable[..., Any], **kwargs: Any) -> None:
        if not callable(func):
            raise TaskDefinitionError(f"FuncTask needs a callable, got {func!r}")
        self.func = func
        self.is_async = inspect.iscoroutinefunction(func)
        self._wanted, self._accepts_any, self._arg_defaults = _parameters(func)
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
        if self.execution == "process":
            check_picklable(self.name, self.func)

    @property
    def execution(self) -> str:
        chosen = self._execution or self.session.config.execution
        return "async" if self.is_async and chosen == "main" else chosen

    @execution.setter
    def execution(self, value: str) -> None:
        Task.execution.fset(self, value)  # type: ignore[attr-defined]
        self.validate()

    def target(self) -> Callable[..., Any]:
        return self.func

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if not self._wanted and not self._accepts_any:
            return {}
        merged = {**self._arg_defaults, **self.session.parameters, **self.parameters, **params}
        if self._accepts_any:
            return merged
        return {k: v for k, v in merged.items() if k in self._wanted}


def check_picklable(name: str, func: Callable[..., Any]) -> None:
    """A ``process`` task's function travels to the child by pickle: refuse early if it can't.

    A plain function pickles by reference (module + qualified name). Under ``@app.task`` the
    name is not bound in its module yet, so for functions the check is on the qualified name
    (no lambda, no function local to another); other callables are pickled for real.
    """
    problem: str | None = None
    if isinstance(func, types.FunctionType):
        qualname = func.__qualname__
        if "<lambda>" in qualname or "<locals>" in qualname:
            problem = f"{qualname!r} is a lambda or a function local to another"
    else:
        try:
            pickle.dumps(func)
        except Exception as exc:
            problem = f"{func!r} cannot be pickled ({exc})"
    if problem is not None:
        raise TaskDefinitionError(
            f"task {name!r}: {problem}, so it cannot be pickled to run with "
            "execution='process'; define it at module level or choose another execution"
        )
