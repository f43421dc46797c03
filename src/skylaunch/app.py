"""``App``: the decorator-based front of a session (Rocketry's ``Rocketry`` class)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from skylaunch.args import FuncArg
from skylaunch.conds.base import Condition
from skylaunch.conds.func import FuncCond
from skylaunch.config import Config
from skylaunch.embed import BackgroundRunner, check_blocking, refuse_running_loop, running
from skylaunch.exc import TaskDefinitionError
from skylaunch.execution.base import Executor
from skylaunch.session import Session
from skylaunch.tasks.base import Task
from skylaunch.tasks.func import FuncTask, define_plain
from skylaunch.time.clock import Clock

if TYPE_CHECKING:
    from skylaunch.control import Controller
    from skylaunch.tasks.command import CommandTask

__all__ = ["App", "Grouper"]

F = TypeVar("F", bound=Callable[..., Any])


class Grouper:
    """A set of tasks defined apart from the app, e.g. in another module (Rocketry's Grouper).

    ``prefix`` is put before every task name, ``start_cond`` is combined (``&``) with each task's
    own condition, ``execution`` is the default mode of its tasks. Nothing is scheduled until
    ``app.include_grouper(group)``.
    """

    def __init__(
        self,
        prefix: str | None = None,
        start_cond: Condition | str | None = None,
        execution: str | None = None,
    ) -> None:
        self.prefix = prefix or ""
        self.start_cond = start_cond
        self.execution = execution
        self.definitions: list[
            tuple[Callable[..., Any], Condition | str | None, dict[str, Any]]
        ] = []
        self.cond_names: dict[str, FuncCond] = {}
        self.parameters: dict[str, Any] = {}

    def cond(self, syntax: str | None = None) -> Callable[[Callable[..., object]], FuncCond]:
        """Like ``app.cond``: the name reaches the app (and this group's strings) when included."""

        def wrapper(func: Callable[..., object]) -> FuncCond:
            name = syntax or func.__name__
            self.cond_names[name] = cond = FuncCond(func, name)
            return cond

        return wrapper

    def param(self, name: str | None = None) -> Callable[[F], F]:
        """Like ``app.param``: a session parameter once the group is included."""

        def wrapper(func: F) -> F:
            self.parameters[name or func.__name__] = FuncArg(func)
            return func

        return wrapper

    def params(self, **params: Any) -> None:
        """Like ``app.params``: session parameters once the group is included."""
        self.parameters.update(params)

    def task(
        self, start_cond: Condition | str | None = None, name: str | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        """Like ``app.task``, remembered until the group is included."""
        if callable(start_cond) and not isinstance(start_cond, Condition):
            raise TypeError("@group.task needs parentheses: write @group.task()")

        def wrapper(func: F) -> F:
            self.definitions.append((func, start_cond, {"name": name, **kwargs}))
            return func

        return wrapper


class App:
    """Define tasks with ``@app.task(...)`` and run them with ``app.run()``.

    ``config`` (a dict or :class:`Config`) and keyword arguments set session options;
    ``logger_repo`` is where task records go (a memory repo by default); ``clock`` replaces the
    system clock (``SimulatedClock`` in tests); ``executors`` adds execution modes by name, or
    replaces built-in ones (``App(executors={"pool": MyExecutor()})``, see docs/extending.md).
    ``coordination=True`` (or a lease name, or a :class:`skylaunch.coordination.Coordination`)
    makes every replica of the app on one PostgreSQL repo act as one scheduler
    (docs/deployment.md).
    """

    def __init__(
        self,
        session: Session | None = None,
        logger_repo: Any = None,
        *,
        config: Config | Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        executors: Mapping[str, Executor] | None = None,
        coordination: Any = None,
        parameters: Mapping[str, Any] | None = None,
        **config_kwargs: Any,
    ) -> None:
        if session is None:
            session = Session(
                config, clock=clock, repo=logger_repo, executors=executors, **config_kwargs
            )
        else:
            if config is not None or config_kwargs or clock is not None or executors is not None:
                raise TypeError("give either session= or config/clock/executors options, not both")
            if logger_repo is not None:
                session.set_repo(logger_repo)
        self.session = session
        if parameters:
            session.parameters.update(parameters)  # App(parameters=...), as Rocketry's
        if coordination is not None and coordination is not False:
            # replicas of this app act as one scheduler (docs/deployment.md)
            from skylaunch.coordination import coordination_for

            coordination_for(session, coordination)
        self._background: BackgroundRunner | None = None
        self._controller: Controller | None = None

    @overload
    def task(
        self,
        start_cond: Condition | str | None = None,
        name: str | None = None,
        *,
        command: str | list[str],
        **kwargs: Any,
    ) -> CommandTask: ...

    @overload
    def task(
        self,
        start_cond: Condition | str | None = None,
        name: str | None = None,
        *,
        path: str | os.PathLike[str],
        **kwargs: Any,
    ) -> FuncTask: ...

    @overload
    def task(
        self,
        start_cond: Condition | str | None = None,
        name: str | None = None,
        *,
        func: Callable[..., Any],
        **kwargs: Any,
    ) -> FuncTask: ...

    @overload
    def task(
        self, start_cond: Condition | str | None = None, name: str | None = None, **kwargs: Any
    ) -> Callable[[F], F]: ...

    def task(
        self,
        start_cond: Condition | str | None = None,
        name: str | None = None,
        *,
        command: str | list[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        func: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> CommandTask | FuncTask | Callable[[F], F]:
        """Decorate a function to schedule it: ``@app.task("daily after 10:00")``.

        The decorated function is returned unchanged, with its type. With ``func=`` nothing is
        decorated: ``app.task("daily", func=report)`` creates and returns the
        :class:`FuncTask` (Rocketry's non-decorator form). With ``command=``,
        ``app.task("daily", command="backup.sh")`` creates and returns a :class:`CommandTask`.
        With ``path=``, ``app.task("daily", path="jobs/report.py", func_name="build")`` creates
        and returns a :class:`FuncTask` that imports ``build`` from that file at each run.
        """
        if (command is not None) + (path is not None) + (func is not None) > 1:
            given = [
                key
                for key, value in (("command", command), ("path", path), ("func", func))
                if value is not None
            ]
            raise TaskDefinitionError(
                f"app.task() takes one of command=, path= and func=; got {' and '.join(given)}"
            )
        if func is not None:
            if not callable(func):
                raise TaskDefinitionError(f"app.task(func=...) needs a callable, got {func!r}")
            return FuncTask(func, session=self.session, start_cond=start_cond, name=name, **kwargs)
        if command is not None:
            from skylaunch.tasks.command import CommandTask

            return CommandTask(
                command=command, session=self.session, start_cond=start_cond, name=name, **kwargs
            )
        if path is not None:
            return FuncTask(
                path=path, session=self.session, start_cond=start_cond, name=name, **kwargs
            )
        if "code" in kwargs:  # Rocketry has no such form either
            raise TaskDefinitionError(
                "app.task() takes no code=; create the task with "
                "skylaunch.tasks.CodeTask(code, name=..., session=app.session)"
            )

        def wrapper(function: F) -> F:
            session = self.session
            if kwargs or not define_plain(session, function, start_cond, name):
                FuncTask(function, session=session, start_cond=start_cond, name=name, **kwargs)
            return function

        if callable(start_cond) and not isinstance(start_cond, Condition):
            raise TypeError(
                "@app.task needs parentheses: write @app.task() or @app.task('daily'), "
                "not @app.task"
            )
        return wrapper

    def include_grouper(self, group: Grouper) -> None:
        """Create the tasks of ``group`` in this app's session, with its conditions and params."""
        grammar = self.session.grammar
        for phrase, named in group.cond_names.items():
            grammar.add(phrase, named)
        if group.parameters:
            self.params(**group.parameters)
        common = group.start_cond
        if isinstance(common, str):
            common = grammar.parse(common)
        for func, own, options in group.definitions:
            kwargs = dict(options)
            name = kwargs.pop("name", None) or getattr(func, "__name__", None)
            if not isinstance(name, str):
                raise TaskDefinitionError(f"give the grouped task {func!r} a name=")
            cond = grammar.parse(own) if isinstance(own, str) else own
            if common is not None:  # the task's own condition first, as Rocketry's `&=`
                cond = common if cond is None else cond & common
            if group.execution is not None:
                kwargs.setdefault("execution", group.execution)
            FuncTask(
                func, session=self.session, start_cond=cond, name=group.prefix + name, **kwargs
            )

    def cond(self, syntax: str | None = None) -> Callable[[Callable[..., object]], FuncCond]:
        """Make a function a condition, usable by name in condition strings.

        The decorated name is the condition itself, as in Rocketry: ``daily & is_foo``, and
        called with arguments, ``daily & file_exists("data.csv")``.
        """

        def wrapper(func: Callable[..., object]) -> FuncCond:
            name = syntax or func.__name__
            cond = FuncCond(func, name)
            self.session.grammar.add(name, cond)
            return cond

        return wrapper

    def params(self, **params: Any) -> None:
        """Set session parameters, passed by name to the tasks that take them."""
        self.session.parameters.update(params)
        self.session.scheduler.notify()  # parameter conditions are looked at on the next pass

    def param(self, name: str | None = None) -> Callable[[F], F]:
        """Make a function a session parameter computed at each launch of a task that takes it.

        ``@app.param("conn")`` over ``def get_conn(): ...`` gives every task with a ``conn``
        parameter the function's return value, called in the scheduler when the run starts.
        """

        def wrapper(func: F) -> F:
            self.session.parameters[name or func.__name__] = FuncArg(func)
            return func

        return wrapper

    def set_logger(self) -> Callable[[F], F]:
        """Deprecated (Rocketry too): configure ``logging.getLogger("skylaunch.task")`` directly.

        The decorated function is called at once with the task logger.
        """
        warnings.warn(
            "app.set_logger() is deprecated (as in Rocketry): configure "
            f"logging.getLogger({self.session.config.task_logger_basename!r}) directly",
            DeprecationWarning,
            stacklevel=2,
        )

        def wrapper(func: F) -> F:
            func(logging.getLogger(self.session.config.task_logger_basename))
            return func

        return wrapper

    @overload
    def setup(self, func: None = None) -> Callable[[F], F]: ...

    @overload
    def setup(self, func: F) -> F: ...

    def setup(self, func: F | None = None) -> Callable[[F], F] | F:
        """Decorate a function to call at scheduler start-up (``@app.setup()``), or register
        one directly (``app.setup(func)``, Rocketry's other form; it gives ``func`` back).

        A generator function runs up to its ``yield`` at start-up and the rest at shutdown.
        """
        register = self.startup()
        return register if func is None else register(func)

    def startup(self) -> Callable[[F], F]:
        """Decorate a function to call when the scheduler starts (before the first run)."""
        return _append(self.session.hooks.startup)

    def shutdown(self) -> Callable[[F], F]:
        """Decorate a function to call when the scheduler has stopped (runs ended, logged)."""
        return _append(self.session.hooks.shutdown)

    def before_run(self) -> Callable[[F], F]:
        """Decorate ``func(task)`` to call before each run starts.

        It runs in the scheduler at launch; raising there is a pre-run failure (the run does not
        start, and the error obeys ``silence_task_prerun``).
        """
        return _append(self.session.hooks.before_run)

    def after_run(self) -> Callable[[F], F]:
        """Decorate ``func(task, outcome)`` to call after each run has ended and been logged."""
        return _append(self.session.hooks.after_run)

    def run(self, debug: bool = False) -> None:
        """Run the scheduler until it shuts down (blocks).

        ``debug=True`` (Rocketry's) sets ``config.debug``, which skylaunch accepts and warns
        about: it has no debug mode (docs/concepts.md).
        """
        refuse_running_loop()
        if debug:
            self.session.config.debug = True
        self.session.start()

    async def serve(self, debug: bool = False) -> None:
        """Run the scheduler inside an already running event loop (until it shuts down).

        Signals are left to the program that owns the loop. Tasks with ``execution="main"``
        would block that loop: a :class:`~skylaunch.embed.BlockingTaskWarning` names them.
        """
        if debug:
            self.session.config.debug = True
        check_blocking(self.session)
        await self.session.serve()

    def running(self) -> AbstractAsyncContextManager[None]:
        """``async with app.running():``: the scheduler runs in this event loop during the block.

        For an ASGI lifespan (FastAPI, Starlette): entered once the scheduler has started,
        left after it has shut down and every run has ended. See docs/operating.md.
        """
        return running(self.session)

    def start(self) -> None:
        """Run the scheduler in a background thread and return (Flask, Django, scripts).

        :meth:`stop` shuts it down; so does the end of the program. See docs/operating.md.
        """
        if self._background is None:
            self._background = BackgroundRunner(self.session)
        self._background.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Shut down a scheduler started by :meth:`start` and wait for its thread.

        Running tasks may finish for ``timeout`` seconds (None: as long as they need, within
        their own timeouts); then they are terminated. Returns whether the thread has ended.
        """
        if self._background is None:
            return True
        return self._background.stop(timeout)

    @property
    def control(self) -> Controller:
        """Inspect and control this app's scheduler: :class:`~skylaunch.control.Controller`."""
        if self._controller is None:
            from skylaunch.control import Controller  # loaded on first use (import time, W5)

            self._controller = Controller(self.session)
        return self._controller

    def __getitem__(self, name: str) -> Task:
        return self.session[name]


def _append(hooks: list[Callable[..., Any]]) -> Callable[[F], F]:
    def wrapper(func: F) -> F:
        hooks.append(func)
        return func

    return wrapper
