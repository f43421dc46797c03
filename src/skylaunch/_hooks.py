"""Hooks around the scheduler's life and each task's: start-up, shutdown, cycles, init, execute.

A hook is a function, or a generator function that splits into a part before its ``yield`` and
a part after it, as in Rocketry: a start-up generator runs up to its ``yield`` before the
start-up tasks and resumes after them; a shutdown generator runs up to its ``yield`` when
shutdown begins and resumes once every run has ended and been logged; an execute generator
wraps each run and gets ``(exc_type, exc, traceback)`` back from its ``yield`` (all ``None``
when the run succeeded). Parameters whose defaults are arguments (``session=Session()``,
``task=Task()``) are filled in.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from skylaunch.args import call_with_arguments

if TYPE_CHECKING:
    from skylaunch.execution.base import Outcome
    from skylaunch.tasks.base import Task

__all__ = ["HookRound", "SessionHooks", "around_runs"]

_Hook = Callable[..., Any]


class HookRound:
    """One round of hooks: each is called now; generators pause at their ``yield``.

    :meth:`finish` resumes the paused generators, in the order they were called, sending them
    ``info`` (Rocketry sends the same tuple). A generator that does not yield just ends.
    """

    __slots__ = ("_paused",)

    def __init__(
        self, hooks: Iterable[Callable[..., Any]], context: Mapping[str, Any], *args: Any
    ) -> None:
        self._paused: list[Generator[Any, Any, Any]] = []
        for hook in hooks:
            result = call_with_arguments(hook, context, *args)
            if isinstance(result, Generator):
                try:
                    next(result)
                except StopIteration:
                    continue
                self._paused.append(result)

    def finish(self, *info: Any) -> None:
        paused, self._paused = self._paused, []
        for gen in paused:
            _resume(gen, info)


def _resume(gen: Generator[Any, Any, Any], info: tuple[Any, ...]) -> None:
    try:
        gen.send(info)
    except StopIteration:
        return
    gen.close()  # a second yield has nothing to wait for


def around_runs(
    func: Callable[..., Any], hooks: Iterable[Callable[..., Any]], context: Mapping[str, Any]
) -> Callable[..., Any]:
    """``func`` with the task-execute hooks around each call, in the thread the run uses.

    A generator hook gets ``(exc_type, exc, traceback)`` of the run back from its ``yield``
    (``(None, None, None)`` when it succeeded), as in Rocketry.
    """
    import inspect  # not at ``import skylaunch`` (bench W5)

    hooks = tuple(hooks)
    if inspect.iscoroutinefunction(func):

        async def run_async(**kwargs: Any) -> Any:
            hooked = HookRound(hooks, context)
            try:
                value = await func(**kwargs)
            except BaseException:
                hooked.finish(*sys.exc_info())
                raise
            hooked.finish(None, None, None)
            return value

        return run_async

    def run(**kwargs: Any) -> Any:
        hooked = HookRound(hooks, context)
        try:
            value = func(**kwargs)
        except BaseException:
            hooked.finish(*sys.exc_info())
            raise
        hooked.finish(None, None, None)
        return value

    return run


class SessionHooks:
    """A session's hook lists and the rounds the scheduler runs them in.

    The lists are the ones ``@app.startup()``, ``session.hook_startup()`` and the other
    decorators append to. ``context`` gives what a hook's argument parameters read
    (``session=Session()``, ``task=Task()``); ``logger`` reports a failing after-run hook.
    """

    def __init__(
        self, context: Callable[[Task | None], dict[str, Any]], logger: logging.Logger
    ) -> None:
        self.context = context
        self.logger = logger
        self.startup: list[_Hook] = []
        self.shutdown: list[_Hook] = []
        self.before_run: list[_Hook] = []
        self.after_run: list[_Hook] = []
        self.cycle: list[_Hook] = []
        self.task_init: list[_Hook] = []
        self.task_execute: list[_Hook] = []
        self._startup_round = self._shutdown_round = HookRound((), {})

    def begin_startup(self) -> None:
        """Start-up hooks: generators stop at their ``yield`` until :meth:`end_startup`."""
        self._startup_round = HookRound(self.startup, self.context(None))

    def end_startup(self) -> None:
        """The start-up tasks have been launched: resume the start-up generators."""
        self._startup_round.finish()

    def cycle_round(self) -> HookRound | None:
        """The scheduler-cycle hooks of one pass (None when there are none: the common case)."""
        if not self.cycle:
            return None
        return HookRound(self.cycle, self.context(None))

    def begin_shutdown(self) -> None:
        """Shutdown begins: shutdown hooks (generators up to their ``yield``)."""
        self._shutdown_round = HookRound(self.shutdown, self.context(None))

    def end_shutdown(self) -> None:
        """Every run has ended and been logged: resume the shutdown generators."""
        self._shutdown_round.finish()

    def run_before(self, task: Task) -> None:
        """Before a run is handed to its executor (pre-run): an error stops the run."""
        for hook in self.before_run:
            call_with_arguments(hook, self.context(task), task)

    def run_after(self, task: Task, outcome: Outcome) -> None:
        """When a run has ended and been logged; a failing hook is logged, not raised."""
        for hook in self.after_run:
            try:
                call_with_arguments(hook, self.context(task), task, outcome)
            except Exception:  # noqa: PERF203 - one failing hook must not hide the others
                self.logger.exception(
                    "after-run hook %r failed for task %r",
                    getattr(hook, "__name__", hook),
                    task.name,
                    extra={"action": "hook"},
                )

    def around(self, func: Callable[..., Any], task: Task) -> Callable[..., Any]:
        """``func`` wrapped in the task-execute hooks (only when there are any)."""
        if not self.task_execute:
            return func
        return around_runs(func, self.task_execute, self.context(task))
