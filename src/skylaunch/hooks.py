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

import inspect
import sys
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from skylaunch.args import call_with_arguments

__all__ = ["HookRound", "around_runs"]


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
