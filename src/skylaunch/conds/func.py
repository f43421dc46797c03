"""User functions as conditions (``@app.cond()``, ``condition(func)``, ``@condition()``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, overload

from skylaunch._frozen import Frozen
from skylaunch.conds.base import Condition, Context

__all__ = ["FuncCond", "condition"]


class FuncCond(Condition, Frozen):
    """True when ``func()`` returns a truthy value.

    Opaque to the scheduler, so it is looked at again every ``cycle_sleep`` seconds while its task
    waits on it. ``name`` is how it appears in (and is found from) the string syntax.
    Calling it gives the same condition with arguments for ``func``, as in Rocketry:
    ``file_exists("data.csv")`` is true when ``file_exists("data.csv")`` returns a truthy value.

    Rocketry's forms work too: ``FuncCond(is_foo, syntax="is foo")`` names it, and
    ``@FuncCond(syntax="is foo")`` over ``def is_foo()`` is a decorator (giving the condition;
    ``decor_return_func=True`` gives back the function instead). The name is how it prints;
    to use it inside condition strings register it with the app: ``@app.cond("is foo")``
    (there is no global session to register it in).
    """

    __slots__ = (
        "arg_params",
        "args",
        "decor_return_func",
        "func",
        "kwargs",
        "name",
        "session_params",
    )
    # as the dataclass had them: ``syntax`` (an init-only argument) last, though never an attribute
    __match_args__ = (
        "func",
        "name",
        "args",
        "kwargs",
        "session_params",
        "arg_params",
        "decor_return_func",
        "syntax",
    )
    _fields = __match_args__[:-1]

    func: Callable[..., object] | None
    name: str
    args: tuple[object, ...]
    #: keyword arguments given by calling the condition, as (name, value) pairs
    kwargs: tuple[tuple[str, object], ...]
    #: parameters of ``func`` filled by name from ``session.parameters`` (found at construction;
    #: not compared, hashed or printed, nor are ``arg_params`` and ``decor_return_func``)
    session_params: tuple[str, ...]
    #: parameters whose default is an argument (``this_task=Task()``), resolved at each check
    arg_params: tuple[tuple[str, Any], ...]
    #: Rocketry's option for the decorator form: ``@FuncCond(decor_return_func=True)`` leaves
    #: the decorated name bound to the function itself, not to the condition (not printed)
    decor_return_func: bool

    def __init__(
        self,
        func: Callable[..., object] | None = None,
        name: str = "",
        args: tuple[object, ...] = (),
        kwargs: tuple[tuple[str, object], ...] = (),
        session_params: tuple[str, ...] = (),
        arg_params: tuple[tuple[str, Any], ...] = (),
        decor_return_func: bool = False,
        syntax: str | list[str] | tuple[str, ...] | None = None,
    ) -> None:
        if syntax is not None:
            spellings = [syntax] if isinstance(syntax, str) else list(syntax)
            if not spellings or not all(isinstance(n, str) and n.strip() for n in spellings):
                raise TypeError(f"FuncCond(syntax=...) takes a name or names, got {syntax!r}")
            name = spellings[0]
        if func is not None and not callable(func):  # None: FuncCond(syntax="is foo")(is_foo)
            raise TypeError(f"FuncCond needs a callable, got {func!r}")
        if func is not None and not session_params:
            given = {key for key, _ in kwargs}
            names, defaults = _named_params(func, len(args))
            session_params = tuple(n for n in names if n not in given and n not in defaults)
            arg_params = tuple((n, d) for n, d in defaults.items() if n not in given)
        object.__setattr__(self, "func", func)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "session_params", session_params)
        object.__setattr__(self, "arg_params", arg_params)
        object.__setattr__(self, "decor_return_func", decor_return_func)

    def _values(self) -> tuple[Any, ...]:
        """What equality and the hash look at: not the parameters found from ``func``."""
        return (self.func, self.name, self.args, self.kwargs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__qualname__}(func={self.func!r}, name={self.name!r}, "
            f"args={self.args!r}, kwargs={self.kwargs!r}, "
            f"session_params={self.session_params!r}, arg_params={self.arg_params!r})"
        )

    def __call__(self, *args: object, **kwargs: object) -> FuncCond:
        """The same condition calling ``func(*args, **kwargs)`` (Rocketry's ``is_foo(x)``).

        Made without a function (``FuncCond(syntax="is foo")``) it is a decorator: the call
        takes the function and gives the condition.
        """
        if self.func is None:
            if len(args) != 1 or kwargs or not callable(args[0]):
                raise TypeError(
                    f"FuncCond(syntax={self.name!r}) decorates one function, got {args!r}"
                )
            func = args[0]
            cond = FuncCond(func, self.name or str(getattr(func, "__name__", "")))
            return func if self.decor_return_func else cond  # type: ignore[return-value]
        return FuncCond(self.func, self.name, args, tuple(kwargs.items()))

    def is_true(self, ctx: Context) -> bool:
        if self.func is None:
            raise TypeError(f"FuncCond(syntax={self.name!r}) was never given its function")
        kwargs = dict(self.kwargs)
        if self.session_params:
            params = ctx.parameters
            kwargs.update((n, params[n]) for n in self.session_params if n in params)
        for name, arg in self.arg_params:
            kwargs[name] = arg.get_value(session=ctx.session, task=ctx.task, termination_flag=None)
        return bool(self.func(*self.args, **kwargs))

    def next_change(self, ctx: Context) -> datetime | None:
        return ctx.poll_deadline

    def __str__(self) -> str:
        name = self.name or getattr(self.func, "__name__", repr(self.func))
        if not self.args and not self.kwargs:
            return name
        # With arguments it has no string syntax: say what it is rather than print a name that
        # would parse back to the condition without them.
        given = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{name}({', '.join(given)})"


def _named_params(func: Callable[..., object], skip: int) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Parameters filled by name (all but the positional ``args``), and those of them whose
    default is an argument such as ``Task()`` (anything with ``get_value``, as in
    ``skylaunch.args``, which this layer does not import)."""
    import inspect  # not at ``import skylaunch`` (bench W5)

    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return (), {}
    params = [
        p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ][skip:]
    defaults = {
        p.name: p.default
        for p in params
        if p.default is not p.empty
        and not isinstance(p.default, type)
        and callable(getattr(p.default, "get_value", None))
    }
    return tuple(p.name for p in params), defaults


@overload
def condition(func: Callable[..., object], name: str | None = None) -> FuncCond: ...
@overload
def condition(
    func: None = None, name: str | None = None
) -> Callable[[Callable[..., object]], FuncCond]: ...
def condition(
    func: Callable[..., object] | None = None, name: str | None = None
) -> FuncCond | Callable[[Callable[..., object]], FuncCond]:
    """Wrap ``func`` as a condition; its parameters are filled from ``session.parameters``.

    Without ``func`` it is a decorator, Rocketry's form: ``@condition()`` over ``def is_foo()``.
    """
    if func is None:
        return lambda f: condition(f, name)
    if not callable(func):
        raise TypeError(f"condition() needs a callable, got {func!r}")
    return FuncCond(func, name or str(getattr(func, "__name__", "")))
