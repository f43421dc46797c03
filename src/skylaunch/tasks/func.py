"""Tasks that call a Python function, given as an object or as a file and a name."""

from __future__ import annotations

import functools
import os
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from skylaunch._frozen import Frozen
from skylaunch._tasknames import register as register_task_function
from skylaunch._tasknames import unregister as unregister_task_function
from skylaunch.args import BaseArgument, TerminationFlag, argument_defaults
from skylaunch.conds.base import false
from skylaunch.exc import TaskDefinitionError
from skylaunch.tasks.base import _CONDITION_TYPES, Task, _user_stacklevel

if TYPE_CHECKING:
    from pathlib import Path

    from skylaunch.session import Session

__all__ = ["FuncTask", "ImportedFunc", "check_picklable", "define_plain"]

_THREAD_TERMINATE = "_thread_terminate_"
_FLAG = TerminationFlag()


# inspect's CO_VARKEYWORDS and CO_COROUTINE (code object flags, fixed by CPython): inspect,
# with ast and dis, loads when a task needs it, not at ``import skylaunch`` (bench W5)
_CO_VARKEYWORDS = 0x08
_CO_COROUTINE = 0x80
_NO_NAMES: frozenset[str] = frozenset()
#: The argument defaults of a function that has none, shared (one dict less per task for the
#: garbage collector to count: 10,000 tasks, 10,000 dicts); nothing writes to it.
_NO_DEFAULTS: dict[str, BaseArgument] = {}


def _is_async(func: Callable[..., Any]) -> bool:
    """``inspect.iscoroutinefunction(func)``, read off the code object for a plain function
    with no attributes of its own (no ``__wrapped__``, no ``markcoroutinefunction`` mark)."""
    if type(func) is types.FunctionType and not func.__dict__:
        return bool(func.__code__.co_flags & _CO_COROUTINE)
    import inspect

    return inspect.iscoroutinefunction(func)


def _parameters(func: Callable[..., Any]) -> tuple[frozenset[str], bool, dict[str, BaseArgument]]:
    """(names it takes by keyword, takes **kwargs, defaults that are arguments).

    Read straight off the code object for plain functions (defining thousands of tasks must stay
    fast: ``inspect.signature`` costs tens of microseconds); other callables go through inspect.
    """
    if type(func) is types.FunctionType and not hasattr(func, "__wrapped__"):
        code = func.__code__
        n_pos = code.co_argcount
        if not n_pos and not code.co_kwonlyargcount:  # def job(): the most common task
            return _NO_NAMES, bool(code.co_flags & _CO_VARKEYWORDS), _NO_DEFAULTS
        names = code.co_varnames[: n_pos + code.co_kwonlyargcount]
        positional_only = code.co_posonlyargcount
        wanted = frozenset(names[positional_only:])
        given = func.__defaults__ or ()
        pairs = [*zip(names[n_pos - len(given) : n_pos], given, strict=True)]
        pairs.extend((func.__kwdefaults__ or {}).items())
        defaults = {name: value for name, value in pairs if isinstance(value, BaseArgument)}
        return wanted, bool(code.co_flags & _CO_VARKEYWORDS), defaults
    import inspect

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


class _FuncTaskDecorator:
    """What ``FuncTask(start_cond=..., session=...)`` without a function gives: call it with one.

    Once it has made its task, it reads as that task (``task = FuncTask(name=...)``, ``@task``,
    then ``task.description``, as in Rocketry, where the decorator was the task itself).
    """

    __slots__ = ("cls", "kwargs", "task")

    def __init__(self, cls: type[FuncTask], kwargs: dict[str, Any]) -> None:
        self.cls = cls
        self.kwargs = kwargs
        self.task: FuncTask | None = None

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        self.task = self.cls(func, **self.kwargs)
        return func

    def __getattr__(self, name: str) -> Any:
        task = self.task
        if task is None:
            raise AttributeError(
                f"{name!r}: this FuncTask decorator has made no task yet (decorate a function)"
            )
        return getattr(task, name)

    def __repr__(self) -> str:
        return f"FuncTask decorator({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


class FuncTask(Task):
    """Run ``func``. Its parameters are filled by name from session, task and run parameters.

    Parameters whose default is an argument (``def load(data=Return("fetch"))``) get the
    argument's value unless the task or the run gives that name. Precedence, lowest first (as
    in Rocketry): session parameters, argument defaults, task ``parameters``, ``run(**params)``.

    With ``path=`` instead of ``func`` (Rocketry's lazy form), the function ``func_name``
    (default ``"main"``) is imported from that Python file anew at each run, with the file's
    folder (or its package's root) and ``sys_paths`` on ``sys.path`` meanwhile. Nothing is
    imported at definition: a missing file only warns there, and a file or function that cannot
    be imported makes the run ``fail`` with a message naming both. The default name is
    ``"path.to.file:func_name"``.
    """

    def __new__(cls, func: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        """``FuncTask(...)`` with neither a function nor ``path=`` is a decorator (Rocketry's
        ``@FuncTask(start_cond="daily", session=...)``): it makes the task from the function it
        decorates and gives the function back."""
        if func is None and kwargs.get("path") is None:
            return _FuncTaskDecorator(cls, kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        func: Callable[..., Any] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        func_name: str = "main",
        sys_paths: Iterable[str | os.PathLike[str]] = (),
        **kwargs: Any,
    ) -> None:
        if "permanent_task" in kwargs:
            warnings.warn(
                "FuncTask(permanent_task=...) is deprecated (as in Rocketry): use permanent=",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs.setdefault("permanent", kwargs.pop("permanent_task"))
        self.path: Path | None = None
        self.func_name = func_name
        self._loader: ImportedFunc | None = None
        if path is not None:
            self._loader = _loader_for(func, path, func_name, sys_paths, kwargs.get("name"))
            from pathlib import Path  # loaded when a task names a file (W5: not at import)

            self.path = Path(path)
            func = self._loader
        elif not callable(func):
            raise TaskDefinitionError(f"FuncTask needs a callable (or path=), got {func!r}")
        self._func: Callable[..., Any] = func
        self.is_async = _is_async(func)
        self._wanted, self._accepts_any, self._arg_defaults = _parameters(func)
        doc = getattr(func, "__doc__", None)
        if (
            doc
            and path is None
            and kwargs.get("description") is None
            and isinstance(
                func, types.FunctionType | types.MethodType
            )  # inspect.isfunction/ismethod
        ):
            import inspect

            # as Rocketry: a task without a description is described by its function
            kwargs["description"] = inspect.cleandoc(doc)
        super().__init__(**kwargs)
        if self._loader is None:
            # after_success(func) and Return(func) name this task, whatever its name= says
            register_task_function(func, self.name)

    def _renamed(self, old: str, new: str) -> None:
        if self._loader is None:
            unregister_task_function(self._func, old)
            register_task_function(self._func, new)

    @property
    def delayed(self) -> bool:
        """Whether the function is imported from ``path`` at each run (Rocketry's name)."""
        return self._loader is not None

    def is_delayed(self) -> bool:
        """Rocketry's method: the same as :attr:`delayed`."""
        return self.delayed

    def default_name(self) -> str:
        if self.path is not None:
            # Rocketry's form, so that names (and the history stored under them) carry over.
            return ".".join(self.path.parts).replace(".py", "") + ":" + self.func_name
        func = self._func
        name = getattr(func, "__name__", None)
        if name is None and not isinstance(func, functools.partial):
            name = type(func).__name__  # a callable object: its class, as Rocketry names it
        if not isinstance(name, str):
            raise TaskDefinitionError(
                f"give the task of {func!r} a name=... (a partial has no name of its own)"
            )
        return name  # a lambda is named "<lambda>", as in Rocketry: give name= to have two

    def validate(self) -> None:
        loader = self._loader
        if loader is not None:
            if not os.path.isfile(loader.path):
                warnings.warn(
                    f"task {self.name!r}: there is no file {loader.path} (yet); its runs will "
                    f"fail until the file exists and defines {self.func_name!r}",
                    UserWarning,
                    stacklevel=_user_stacklevel(),
                )
            return  # the loader pickles by value, whatever the function turns out to be
        self._check_mode(self._execution, self.execution)

    def _check_mode(self, given: str | None, mode: str) -> None:
        """A function task can run as ``mode`` (``given``: the mode asked for, if any)."""
        if self._loader is not None:
            return  # the loader pickles by value, whatever the function turns out to be
        if self.is_async and mode == "main":
            return  # it runs as "async" (see ``execution``)
        if not self.session.executors.shares_process(mode):
            try:
                check_picklable(self.name, self._func, mode)
            except TaskDefinitionError as exc:
                if given is not None:
                    raise
                # Only inherited from the session's config: Rocketry accepted the definition
                # and failed at the run. So does this, with a warning naming the fix now.
                warnings.warn(
                    f"{exc}; its runs will fail while the session's execution is {mode!r}",
                    UserWarning,
                    stacklevel=_user_stacklevel(),
                )

    def execution_with(self, value: str) -> str:
        mode = super().execution_with(value)
        self._check_mode(mode, mode)
        return "async" if self.is_async and mode == "main" else mode

    @property
    def execution(self) -> str:
        """The mode runs use; a coroutine function asked to run as ``main`` runs as ``async``
        (in the scheduler's event loop, which ``main`` cannot block on)."""
        chosen = self._execution or self.session.config.execution
        return "async" if self.is_async and chosen == "main" else chosen

    @execution.setter
    def execution(self, value: str) -> None:
        Task.execution.fset(self, value)  # type: ignore[attr-defined]
        self.validate()

    def target(self) -> Callable[..., Any]:
        return self._func

    @property
    def func(self) -> Callable[..., Any] | None:
        """The function runs call; ``None`` for a task made with ``path=`` (as Rocketry: the
        function is imported from the file at each run, see :attr:`delayed`)."""
        return None if self._loader is not None else self._func

    @func.setter
    def func(self, func: Callable[..., Any]) -> None:
        if not callable(func):
            raise TaskDefinitionError(f"FuncTask needs a callable, got {func!r}")
        if self._loader is not None:
            raise TaskDefinitionError(
                f"task {self.name!r} imports its function from {self.path} (path=): make a new "
                "task to run a function instead"
            )
        old = (self._func, self.is_async, self._wanted, self._accepts_any, self._arg_defaults)
        self._func = func
        self.is_async = _is_async(func)
        self._wanted, self._accepts_any, self._arg_defaults = _parameters(func)
        try:
            self.validate()  # e.g. a lambda for an explicit execution="process"
        except Exception:
            (self._func, self.is_async, self._wanted, self._accepts_any, self._arg_defaults) = old
            raise
        unregister_task_function(old[0], self.name)
        register_task_function(func, self.name)

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        loader = self._loader
        if loader is None and not self._wanted and not self._accepts_any:
            return {}  # a function that takes no argument (the common case: once a run)
        if loader is not None:
            # Imported here too, as Rocketry does, for the argument defaults in its signature;
            # if that fails, the run fails at its own import with the full message.
            try:
                wanted, accepts_any, defaults = _parameters(loader.load())
            except Exception:
                return {}
        else:
            wanted, accepts_any, defaults = self._wanted, self._accepts_any, self._arg_defaults
        if not wanted and not accepts_any:
            return {}
        merged = {**self.session.parameters, **defaults, **self.parameters, **params}
        if _THREAD_TERMINATE in wanted and _THREAD_TERMINATE not in merged:
            # Rocketry's convention: a parameter of this name gets the run's termination flag
            merged[_THREAD_TERMINATE] = _FLAG
        if accepts_any:
            return merged
        return {k: v for k, v in merged.items() if k in wanted}


def define_plain(session: Session, func: Any, start_cond: object, name: object) -> bool:
    """``FuncTask(func, session=session, start_cond=start_cond, name=name)`` made in one call,
    for the plain case ``@app.task(cond, name=...)`` repeats by the thousand; False, with
    nothing done, for any other case (then make the task with ``FuncTask(...)``).

    Plain: a function with no attributes of its own, a name that is a non-empty string (or
    None: the function's), a condition object of a class tasks took before (or None), no
    ``task_init`` hook, the session's priority a whole number and its execution one that runs
    in this process (nothing to pickle). The task is the one ``FuncTask(...)`` makes, attribute
    for attribute in the same order (tests/tasks/test_define_plain.py compares them).
    """
    if type(func) is not types.FunctionType or func.__dict__ or session.hooks.task_init:
        return False
    if name is None:
        name = func.__name__
    if type(name) is not str or not name.strip():
        return False
    if start_cond is None:
        start_cond = false
    elif type(start_cond) not in _CONDITION_TYPES:
        return False
    config = session.config
    priority = config.task_priority
    mode = config.execution
    code = func.__code__
    is_async = bool(code.co_flags & _CO_COROUTINE)
    if is_async and mode == "main":
        mode = "async"  # what the task's ``execution`` says (and ``validate`` checks)
    if type(priority) is not int or not session.executors.shares_process(mode):
        return False
    if code.co_argcount or code.co_kwonlyargcount:
        wanted, accepts_any, arg_defaults = _parameters(func)
    else:  # def job(): the most common task
        wanted, accepts_any, arg_defaults = (
            _NO_NAMES,
            bool(code.co_flags & _CO_VARKEYWORDS),
            _NO_DEFAULTS,
        )
    doc = func.__doc__
    task: FuncTask = object.__new__(FuncTask)
    # the order of FuncTask.__init__ and Task.__init__ (instances share one key table)
    task.path = None
    task.func_name = "main"
    task._loader = None
    task._func = func
    task.is_async = is_async
    task._wanted = wanted
    task._accepts_any = accepts_any
    task._arg_defaults = arg_defaults
    task.session = session
    task._runtime = session.runtime
    task._name = name
    task._start_cond = start_cond  # type: ignore[assignment]
    task._end_cond = false
    task._execution = None
    task._priority = priority
    task._timeout = None
    task._disabled = False
    task._multilaunch = None
    task.parameters = {}
    if doc:
        import inspect

        task.description = inspect.cleandoc(doc)
    else:
        task.description = None
    task.on_startup = False
    task.on_shutdown = False
    task.permanent = False
    task.daemon = None
    task.func_run_id = None
    task._logger = None
    task._logger_name = None
    task._force_run = False
    task._forced_batch = None
    session.add_task(task)
    register_task_function(func, task._name)  # under the name the session gave it
    return True


def _loader_for(
    func: object,
    path: str | os.PathLike[str],
    func_name: object,
    sys_paths: Iterable[str | os.PathLike[str]],
    name: object,
) -> ImportedFunc:
    """Check the arguments of the ``path=`` form and build its loader."""
    label = f"task {name!r}" if name is not None else f"the task of {os.fspath(path)!r}"
    if func is not None:
        raise TaskDefinitionError(f"{label}: give either a function or path=, not both")
    if not isinstance(func_name, str) or not func_name.isidentifier():
        raise TaskDefinitionError(
            f"{label}: func_name must be the name of a function in {os.fspath(path)}, "
            f"got {func_name!r}"
        )
    try:
        extra = tuple(os.path.abspath(p) for p in sys_paths)
        file = os.path.abspath(path)
    except TypeError as exc:
        raise TaskDefinitionError(f"{label}: path= and sys_paths= take paths: {exc}") from None
    return ImportedFunc(file, func_name, extra)


#: sys.path is shared by the whole process: imports from files are made one at a time.
_IMPORT_LOCK = threading.Lock()


def _package_root(file: Path) -> Path | None:
    """The folder above the outermost package holding ``file``; None if it is in none."""
    root = None
    folder = file.parent
    while (folder / "__init__.py").is_file():
        root = folder.parent
        if folder.parent == folder:
            break
        folder = folder.parent
    return root


class ImportedFunc(Frozen):
    """A function named ``func_name`` in the Python file ``path``, imported at each call.

    It is what a ``FuncTask(path=...)`` run calls, in every mode (it pickles as three strings,
    so a ``process`` child imports the file itself). The call passes on the parameters the
    function takes and runs a coroutine function to its end.
    """

    __slots__ = ("func_name", "path", "sys_paths")
    __match_args__ = ("path", "func_name", "sys_paths")
    _fields = ("path", "func_name", "sys_paths")
    path: str
    func_name: str
    sys_paths: tuple[str, ...]

    def __init__(self, path: str, func_name: str, sys_paths: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "func_name", func_name)
        object.__setattr__(self, "sys_paths", sys_paths)

    def load(self) -> Callable[..., Any]:
        """Import the file as a fresh module and return its function; errors name both."""
        import importlib.util
        from pathlib import Path

        file = Path(self.path)
        if not file.is_file():
            raise FileNotFoundError(
                f"cannot import function {self.func_name!r}: there is no file {self.path}"
            )
        root = _package_root(file)
        if root is None:
            module_name, search = file.stem, str(file.parent)
        else:
            module_name = ".".join(file.with_suffix("").parts[len(root.parts) :])
            search = str(root)
        spec = importlib.util.spec_from_file_location(module_name, file)
        if spec is None or spec.loader is None:
            raise ImportError(
                f"cannot import function {self.func_name!r}: {self.path} is not a Python file"
            )
        module = importlib.util.module_from_spec(spec)
        with _IMPORT_LOCK:
            added = [p for p in dict.fromkeys((search, *self.sys_paths)) if p not in sys.path]
            sys.path.extend(added)
            # Registered while it runs (dataclasses and the like look their module up there),
            # then the previous entry is put back: each run gets the file as it is now.
            previous = sys.modules.get(module_name)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise ImportError(
                    f"cannot import function {self.func_name!r}: importing {self.path} "
                    f"failed: {exc!r}"
                ) from exc
            finally:
                if previous is None:
                    sys.modules.pop(module_name, None)
                else:
                    sys.modules[module_name] = previous
                for p in added:
                    sys.path.remove(p)
        func = getattr(module, self.func_name, None)
        if func is None:
            raise AttributeError(f"{self.path} has no function {self.func_name!r}")
        if not callable(func):
            raise TypeError(
                f"{self.func_name!r} in {self.path} is a {type(func).__name__}, not a function"
            )
        return func  # type: ignore[no-any-return]

    def __call__(self, **params: Any) -> Any:
        func = self.load()
        wanted, accepts_any, _ = _parameters(func)
        if not accepts_any:
            params = {k: v for k, v in params.items() if k in wanted}
        value = func(**params)
        if type(value) is types.CoroutineType:  # inspect.iscoroutine (no subclasses)
            value = _run_coroutine(value)
        return value


def _run_coroutine(coro: Any) -> Any:
    """Run ``coro`` to its end from synchronous code, inside a running event loop or not."""
    import asyncio  # only a coroutine's run needs it (not ``import skylaunch``)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called in a loop's own thread (``main`` execution): that loop cannot be re-entered, so the
    # coroutine gets a loop in a helper thread while this one waits, as ``main`` always does.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="skylaunch-import") as pool:
        return pool.submit(asyncio.run, coro).result()


def check_picklable(name: str, func: Callable[..., Any], execution: str = "process") -> None:
    """A task whose executor runs it in another process (``process``, or a user's executor
    with ``shares_process = False``) sends its function there by pickle: refuse early if it
    can't.

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
        import pickle

        try:
            pickle.dumps(func)
        except Exception as exc:
            problem = f"{func!r} cannot be pickled ({exc})"
    if problem is not None:
        raise TaskDefinitionError(
            f"task {name!r}: {problem}, so it cannot be pickled to run with "
            f"execution={execution!r}; define it at module level or choose another execution"
        )
