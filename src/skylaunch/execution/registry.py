"""The executors one session can run tasks with, by name: built-in ones and the user's own.

The four built-in modes (``main``, ``async``, ``thread``, ``process``) are known by name and made
on first use, so an app that never runs a process never imports ``multiprocessing``. A user adds
an executor under a name of their choosing (``App(executors={"pool": MyExecutor()})``), or
replaces a built-in one under its own name; a task then says ``execution="pool"``.

What the scheduler needs to know about a mode is on the executor (``shares_process``,
``runs_inline``), never derived from its name. For a built-in mode not made yet, the same
facts come from its entry here, so that a task can be checked at definition without importing
the mode's module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping

from skylaunch._frozen import Frozen
from skylaunch.execution.base import Executor

__all__ = ["BUILTIN_EXECUTORS", "BuiltinOptions", "ExecutorRegistry", "UnknownExecutorError"]


class BuiltinOptions(Frozen):
    """The session settings a built-in executor is made with (read when it is made)."""

    __slots__ = ("daemon", "max_processes")
    _fields = ("max_processes", "daemon")
    max_processes: int
    daemon: bool

    def __init__(self, max_processes: int = 1, daemon: bool = True) -> None:
        object.__setattr__(self, "max_processes", max_processes)
        object.__setattr__(self, "daemon", daemon)


class _Builtin(Frozen):
    __slots__ = ("cls", "module", "runs_inline", "shares_process", "takes")
    _fields = ("module", "cls", "shares_process", "runs_inline", "takes")
    module: str
    cls: str
    shares_process: bool
    runs_inline: bool
    takes: tuple[str, ...]  # BuiltinOptions fields the constructor takes by keyword

    def __init__(
        self,
        module: str,
        cls: str,
        shares_process: bool,
        runs_inline: bool,
        takes: tuple[str, ...] = (),
    ) -> None:
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "cls", cls)
        object.__setattr__(self, "shares_process", shares_process)
        object.__setattr__(self, "runs_inline", runs_inline)
        object.__setattr__(self, "takes", takes)

    def make(self, options: BuiltinOptions) -> Executor:
        cls = getattr(importlib.import_module(self.module), self.cls)
        executor: Executor = cls(**{key: getattr(options, key) for key in self.takes})
        return executor


#: The built-in modes: where each lives and what it can do, known before its module is loaded.
BUILTIN_EXECUTORS: Mapping[str, _Builtin] = {
    "main": _Builtin("skylaunch.execution.main", "MainExecutor", True, True),
    "async": _Builtin("skylaunch.execution.async_", "AsyncExecutor", True, False),
    "thread": _Builtin("skylaunch.execution.thread", "ThreadExecutor", True, False, ("daemon",)),
    "process": _Builtin(
        "skylaunch.execution.process",
        "ProcessExecutor",
        False,
        False,
        ("max_processes", "daemon"),
    ),
}

_METHODS = ("has_capacity", "new_flag", "submit", "shutdown")
_FLAGS = ("shares_process", "runs_inline")


class UnknownExecutorError(LookupError):
    """No executor of that name in this session (the message lists the known ones)."""

    def __init__(self, name: object, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"no executor named {name!r}; this session knows {', '.join(map(repr, known))} "
            "(add your own with App(executors={name: executor}))"
        )


def _check_executor(name: str, executor: object) -> None:
    """Refuse, naming what is missing, an object that cannot serve as an :class:`Executor`."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"an executor's name must be a non-empty string, got {name!r}")
    if isinstance(executor, type):
        raise TypeError(
            f"executor {name!r}: give an instance, not the class {executor.__name__} "
            f"(write {executor.__name__}(...))"
        )
    missing = [m for m in _METHODS if not callable(getattr(executor, m, None))]
    missing += [f for f in _FLAGS if not isinstance(getattr(executor, f, None), bool)]
    if missing:
        raise TypeError(
            f"executor {name!r} ({type(executor).__name__}) does not implement the Executor "
            f"protocol of skylaunch.execution: missing or wrong {', '.join(missing)} "
            "(methods has_capacity, new_flag, submit, shutdown; bool attributes "
            "shares_process, runs_inline)"
        )


class ExecutorRegistry(MutableMapping[str, Executor]):
    """The executors in use, by name, plus the built-in ones that can be made on demand.

    As a mapping it holds the executors made or given so far (what shutdown releases);
    :meth:`names` also lists the built-in modes not made yet, and :meth:`use` makes one.
    """

    __slots__ = ("_made", "_options")

    def __init__(
        self,
        executors: Mapping[str, Executor] | None = None,
        *,
        options: Callable[[], BuiltinOptions] = BuiltinOptions,
    ) -> None:
        self._made: dict[str, Executor] = {}
        self._options = options
        for name, executor in (executors or {}).items():
            self[name] = executor

    # --- the mapping of executors in use ----------------------------------------------
    def __getitem__(self, name: str) -> Executor:
        return self._made[name]

    def __setitem__(self, name: str, executor: Executor) -> None:
        _check_executor(name, executor)
        self._made[name] = executor

    def __delitem__(self, name: str) -> None:
        del self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._made)

    def __len__(self) -> int:
        return len(self._made)

    # --- what can be used -------------------------------------------------------------
    def names(self) -> list[str]:
        """Every name a task may give as ``execution``: built-in ones first, then the user's."""
        return [*BUILTIN_EXECUTORS, *(n for n in self._made if n not in BUILTIN_EXECUTORS)]

    def knows(self, name: str) -> bool:
        return name in self._made or name in BUILTIN_EXECUTORS

    def check(self, name: object) -> None:
        """Raise :class:`UnknownExecutorError` (listing the known names) if ``name`` is none."""
        if not isinstance(name, str) or not self.knows(name):
            raise UnknownExecutorError(name, self.names())

    @property
    def made_lookup(self) -> Callable[[str], Executor | None]:
        """``get`` of the executors made so far: the scheduler's per-run look-up, without
        :meth:`use`'s call (None for one not made yet: then call :meth:`use`)."""
        return self._made.get

    def use(self, name: str) -> Executor:
        """The executor of that name, made now if it is a built-in one not used yet."""
        executor = self._made.get(name)
        if executor is None:
            builtin = BUILTIN_EXECUTORS.get(name)
            if builtin is None:
                raise UnknownExecutorError(name, self.names())
            executor = self._made[name] = builtin.make(self._options())
        return executor

    def shares_process(self, name: str) -> bool:
        """Whether runs of that mode execute in this interpreter (without making it)."""
        executor = self._made.get(name)
        if executor is not None:
            return executor.shares_process
        builtin = BUILTIN_EXECUTORS.get(name)
        if builtin is None:
            raise UnknownExecutorError(name, self.names())
        return builtin.shares_process
