"""Arguments: values a task receives that are only known when a run starts.

A task parameter may be a plain value or an *argument*, an object resolved at launch (in the
scheduler, before the run is handed to its executor): the session's parameter ``Arg("x")``, the
upstream task's last return value ``Return("fetch")``, an environment variable, the running task
itself, the run's termination flag... Resolving at launch keeps the run's inputs fixed once it has
started, and lets a failure to resolve obey ``silence_task_prerun`` like any other pre-run error.

The names and call forms are Rocketry's (``rocketry.args``), so ``get_value`` is called with
keyword arguments (``task=``, ``session=``, ``termination_flag=``) and custom arguments written
for Rocketry keep working. ``a >> b`` tries ``a`` and falls back on ``b`` when ``a`` has no value.
"""

from __future__ import annotations

import logging
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from skylaunch._tasknames import task_name
from skylaunch.exc import MissingReturnError, TaskLookupError

if TYPE_CHECKING:
    from skylaunch.session import Session as _Session
    from skylaunch.tasks.base import Task as _Task

__all__ = [
    "NOTSET",
    "Arg",
    "BaseArgument",
    "CallInChild",
    "CliArg",
    "Config",
    "EnvArg",
    "FuncArg",
    "Parameters",
    "PipeArg",
    "Private",
    "Return",
    "SchedulerLogger",
    "Session",
    "SimpleArg",
    "Task",
    "TaskLogger",
    "TerminationFlag",
    "argument",
    "argument_defaults",
    "call_with_arguments",
    "made_in_child",
    "materialize",
]

F = TypeVar("F", bound=Callable[..., Any])


class Parameters(dict[str, Any]):
    """Rocketry's ``Parameters``: parameters by name. skylaunch keeps them in plain dicts
    (``session.parameters``, ``task.parameters``), which compare equal to this;
    ``Parameters(x=1)`` and ``Parameters({"x": 1})`` are accepted where a mapping is."""

    def __or__(self, other: Any) -> Parameters:  # type: ignore[override]
        """Both, the right side winning (Rocketry's ``|``)."""
        return Parameters({**self, **other})


class _NotSet:
    """Marks "no default given" (``None`` is a valid default)."""

    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()


class BaseArgument(ABC):
    """A value looked up when a run starts. Subclasses say how (:meth:`get_value`).

    ``get_value`` raises :class:`KeyError` when there is no value and no default: that is what
    ``>>`` falls back on, and what the scheduler reports as a pre-run failure.
    """

    @abstractmethod
    def get_value(self, **context: Any) -> Any:
        """The value for one run. ``context``: ``task``, ``session``, ``termination_flag``."""

    def stage(self, **context: Any) -> BaseArgument:
        """The argument whose ``get_value`` gives the run its value (Rocketry's hook, called
        first for each run, in the scheduler); this one by default. Raising here fails the run
        as a failing ``get_value`` does."""
        return self

    def __rshift__(self, other: BaseArgument) -> PipeArg:
        if not isinstance(other, BaseArgument):
            raise TypeError(
                f"{self!r} >> {other!r}: the right side must be an argument "
                "(wrap a constant in SimpleArg(...) or give default=...)"
            )
        return PipeArg([*_parts(self), *_parts(other)])

    def _default_or(self, default: Any, problem: str) -> Any:
        if default is NOTSET:
            raise KeyError(problem)
        return default


def _parts(arg: BaseArgument) -> list[BaseArgument]:
    return list(arg.args) if isinstance(arg, PipeArg) else [arg]


class PipeArg(BaseArgument):
    """``a >> b >> c``: the first of them that has a value."""

    def __init__(self, args: Iterable[BaseArgument]) -> None:
        self.args = tuple(args)
        if not self.args:
            raise ValueError("PipeArg needs at least one argument")

    def get_value(self, **context: Any) -> Any:
        problems = []
        for arg in self.args:
            try:
                return arg.get_value(**context)
            except KeyError as exc:  # noqa: PERF203 - falling back is the point
                problems.append(exc.args[0] if exc.args else repr(arg))
        raise KeyError("; ".join(str(p) for p in problems))

    def __repr__(self) -> str:
        return " >> ".join(repr(a) for a in self.args)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PipeArg) and self.args == other.args

    def __hash__(self) -> int:
        return hash(self.args)


class SimpleArg(BaseArgument):
    """A constant (useful at the end of a ``>>`` chain)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def get_value(self, **context: Any) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"SimpleArg({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SimpleArg) and self.value == other.value

    def __hash__(self) -> int:
        return hash(("SimpleArg", repr(self.value)))


class Arg(BaseArgument):
    """A session parameter by name (itself resolved if it is an argument).

    The key may also be a function made a parameter with ``@app.param(...)``: ``Arg(get_conn)``
    is the parameter that function fills, whatever its name (Rocketry's form).
    """

    def __init__(self, key: str | Callable[..., Any], default: Any = NOTSET) -> None:
        self.key = key
        self.default = default

    def get_value(self, **context: Any) -> Any:
        session = _session_of(context)
        key = self.key
        if not isinstance(key, str):
            key = next(
                (
                    n
                    for n, v in session.parameters.items()
                    if isinstance(v, FuncArg) and v.func is key
                ),
                getattr(key, "__name__", key),
            )
        if key not in session.parameters:
            return self._default_or(self.default, f"no session parameter {key!r}")
        return _resolve(session.parameters[key], context)

    def __repr__(self) -> str:
        return f"Arg({self.key!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arg) and (self.key, self.default) == (other.key, other.default)

    def __hash__(self) -> int:
        return hash(("Arg", self.key))


class Return(BaseArgument):
    """The last value returned by a successful run of task ``task_name`` (for pipelines).

    ``task_name`` may also be the task or its decorated function, as in Rocketry:
    ``Return(do_first)``.
    """

    def __init__(self, task_name: Any, default: Any = NOTSET) -> None:
        self.task_name = _task_name(task_name)
        self.default = default

    def get_value(self, **context: Any) -> Any:
        session = _session_of(context)
        if self.task_name not in session:
            raise TaskLookupError(self.task_name)
        if self.task_name not in session.returns:
            if self.default is not NOTSET:
                return self.default
            raise MissingReturnError(
                f"task {self.task_name!r} has not returned a value yet in this process "
                "(return values live in memory: after a restart there is none until "
                f"{self.task_name!r} succeeds again; give Return a default= to run without it)"
            )
        return session.returns[self.task_name]

    def __repr__(self) -> str:
        if self.default is NOTSET:
            return f"Return({self.task_name!r})"
        return f"Return({self.task_name!r}, default={self.default!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Return) and self.task_name == other.task_name

    def __hash__(self) -> int:
        return hash(("Return", self.task_name))


_task_name = task_name  # a name, a Task or a function decorated with ``@app.task()``


class FuncArg(BaseArgument):
    """The value returned by ``func(*args, **kwargs)``, called at each launch.

    ``func``'s own parameters whose defaults are arguments (``def conn(config=Config())``) are
    resolved too. ``materialize`` (else ``config.param_materialize``, ``"post"`` by default)
    says where a ``process`` run gets the value, as in Rocketry: ``"post"`` calls ``func`` in
    the child process (a connection or a lock made there, not pickled across), ``"pre"`` in the
    scheduler before the child starts. Other modes run in the scheduler's process either way.
    A ``func`` called in a child has no session there: its argument parameters are looked up
    in the scheduler and sent along as values (which must pickle).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        /,
        *args: Any,
        materialize: Literal["pre", "post"] | None = None,
        **kwargs: Any,
    ) -> None:
        if not callable(func):
            raise TypeError(f"FuncArg needs a callable, got {func!r}")
        if materialize not in (None, "pre", "post"):
            raise ValueError(f"FuncArg materialize must be 'pre' or 'post', got {materialize!r}")
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.materialize = materialize

    def get_value(self, **context: Any) -> Any:
        return call_with_arguments(self.func, context, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"FuncArg({getattr(self.func, '__name__', self.func)!r})"


class CallInChild:
    """A process run's target with the ``FuncArg`` values to make in the child first.

    Picklable when the target and the functions are (module-level functions).
    """

    __slots__ = ("deferred", "func")

    def __init__(self, func: Callable[..., Any], deferred: Mapping[str, FuncArg]) -> None:
        self.func = func
        self.deferred = dict(deferred)

    def __call__(self, **kwargs: Any) -> Any:
        for name, arg in self.deferred.items():
            kwargs[name] = arg.get_value()
        return self.func(**kwargs)


def made_in_child(params: Mapping[str, Any], default: str, **context: Any) -> dict[str, FuncArg]:
    """The ``FuncArg`` values of ``params`` that a process run makes itself (``"post"``).

    The child has no session: the function's own parameters whose defaults are arguments
    (``def connect(url=Arg("db_url"))``) are looked up here, in the scheduler, with ``context``
    (``session``, ``task``, ``termination_flag``), and sent with it as plain values (they must
    pickle; ``Session()`` itself does not). A lookup that fails raises as :func:`materialize`.
    """
    later: dict[str, FuncArg] = {}
    for name, value in params.items():
        if not isinstance(value, FuncArg) or (value.materialize or default) != "post":
            continue
        needs = {k: v for k, v in argument_defaults(value.func).items() if k not in value.kwargs}
        if needs:
            made = materialize(needs, **context)
            value = FuncArg(value.func, *value.args, materialize="post", **value.kwargs, **made)
        later[name] = value
    return later


class EnvArg(BaseArgument):
    """An environment variable, read at launch."""

    def __init__(self, var: str, default: Any = NOTSET) -> None:
        self.var = var
        self.default = default

    def get_value(self, **context: Any) -> Any:
        if self.var not in os.environ:
            return self._default_or(self.default, f"no environment variable {self.var!r}")
        return os.environ[self.var]

    def __repr__(self) -> str:
        return f"EnvArg({self.var!r})"


class CliArg(BaseArgument):
    """A command-line option of the running program: ``--name value`` or ``--name=value``."""

    def __init__(self, param: str, default: Any = NOTSET) -> None:
        self.param = param
        self.default = default
        self.cli_args: list[str] | None = None  # tests may set it; None means sys.argv

    def get_value(self, **context: Any) -> Any:
        argv = sys.argv if self.cli_args is None else self.cli_args
        for i, item in enumerate(argv):
            if item == self.param and i + 1 < len(argv):
                return argv[i + 1]
            if item.startswith(self.param + "="):
                return item[len(self.param) + 1 :]
        return self._default_or(self.default, f"no command-line option {self.param!r}")

    def __repr__(self) -> str:
        return f"CliArg({self.param!r})"


class Session(BaseArgument):
    """The session itself (in-process modes only: a session does not cross into a process)."""

    def get_value(self, **context: Any) -> Any:
        return _session_of(context)

    def __repr__(self) -> str:
        return "Session()"


class Task(BaseArgument):
    """The task being run, or task ``name`` of the session."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def get_value(self, **context: Any) -> Any:
        if self.name is None:
            task = context.get("task")
            if task is None:
                raise KeyError("Task(): there is no task being run here")
            return task
        return _session_of(context)[self.name]

    def __repr__(self) -> str:
        return "Task()" if self.name is None else f"Task({self.name!r})"


class Config(BaseArgument):
    """The session's configuration."""

    def get_value(self, **context: Any) -> Any:
        return _session_of(context).config

    def __repr__(self) -> str:
        return "Config()"


class TaskLogger(BaseArgument):
    """The running task's logger adapter (``task.logger``), else the task logger."""

    def get_value(self, **context: Any) -> Any:
        task = context.get("task")
        if task is not None:
            return task.logger
        return logging.getLogger(_session_of(context).config.task_logger_basename)

    def __repr__(self) -> str:
        return "TaskLogger()"


class SchedulerLogger(BaseArgument):
    """The scheduler's logger."""

    def get_value(self, **context: Any) -> Any:
        return logging.getLogger(_session_of(context).config.scheduler_logger_basename)

    def __repr__(self) -> str:
        return "SchedulerLogger()"


class TerminationFlag(BaseArgument):
    """An event set when the run is asked to stop (timeout, ``terminate()``, shutdown).

    A thread cannot be killed: a task in ``thread`` execution checks ``flag.is_set()`` and
    returns (or raises ``TaskTermination``); the run is logged as ``terminate`` either way.
    """

    def get_value(self, **context: Any) -> Any:
        flag = context.get("termination_flag")
        if flag is None:
            raise KeyError("TerminationFlag(): this call has no termination flag")
        return flag

    def __repr__(self) -> str:
        return "TerminationFlag()"


class Private(BaseArgument):
    """A secret: the task gets the value, printing the parameters shows ``*****``."""

    hidden = "*****"

    def __init__(self, value: Any) -> None:
        self.__value = value

    def get_value(self, **context: Any) -> Any:
        if context.get("task") is None:
            return self.hidden
        return self.__value

    def __repr__(self) -> str:
        return f"Private({self.hidden})"

    def __str__(self) -> str:
        return self.hidden

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Private):
            return bool(self.__value == other.__value)
        return bool(self.__value == other)

    def __hash__(self) -> int:
        return hash(("Private", repr(self.__value)))


def argument(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], FuncArg]:
    """Decorate a function to make it a :class:`FuncArg` (Rocketry's ``@argument()``)."""

    def wrapper(func: Callable[..., Any]) -> FuncArg:
        return FuncArg(func, *args, **kwargs)

    return wrapper


# --- resolution -------------------------------------------------------------------------------
def _session_of(context: Mapping[str, Any]) -> _Session:
    session = context.get("session")
    if session is None:
        task: _Task | None = context.get("task")
        if task is None:
            raise KeyError("no session to read the argument from")
        session = task.session
    return session


def _resolve(value: Any, context: Mapping[str, Any]) -> Any:
    if not isinstance(value, BaseArgument):
        return value
    return value.stage(**context).get_value(**context)


def materialize(
    params: Mapping[str, Any],
    *,
    session: _Session,
    task: _Task | None = None,
    termination_flag: Any = None,
) -> dict[str, Any]:
    """Resolve every argument in ``params``; a failure names the parameter and the argument.

    Raises :class:`LookupError` (a :class:`KeyError` when a value is missing) for the first
    parameter that cannot be resolved.
    """
    context = {"session": session, "task": task, "termination_flag": termination_flag}
    out: dict[str, Any] = {}
    for name, value in params.items():
        try:
            out[name] = _resolve(value, context)
        except KeyError as exc:  # noqa: PERF203 - name the parameter that failed
            why = exc.args[0] if exc.args else exc
            kind = MissingReturnError if isinstance(exc, MissingReturnError) else KeyError
            raise kind(f"parameter {name!r} = {value!r}: {why}") from exc
    return out


def call_with_arguments(
    func: Callable[..., Any], context: Mapping[str, Any], *args: Any, **kwargs: Any
) -> Any:
    """Call ``func``, filling parameters whose defaults are arguments (hooks, FuncArg)."""
    import inspect  # not at ``import skylaunch``: with ast and dis, ~5 ms of a cold start

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return func(*args, **kwargs)
    for name, param in signature.parameters.items():
        if name not in kwargs and isinstance(param.default, BaseArgument):
            kwargs[name] = param.default.get_value(**context)
    return func(*args, **kwargs)


def argument_defaults(func: Callable[..., Any]) -> dict[str, BaseArgument]:
    """Parameters of ``func`` whose default is an argument (``def f(data=Return("fetch"))``)."""
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if isinstance(p.default, BaseArgument)
    }
