"""Tasks that run a string of Python code (Rocketry's ``CodeTask``).

Meant for code kept as data (in a database, written by a trusted user through an API). The code
can do anything the scheduler's process can: never run code from someone you do not trust.
"""

from __future__ import annotations

import functools
import linecache
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any

from skylaunch.exc import TaskDefinitionError
from skylaunch.tasks.base import Task

__all__ = ["CodeTask", "RunCode"]


@functools.lru_cache(maxsize=256)
def _compiled(code: str, filename: str) -> CodeType:
    # dont_inherit: this module's ``from __future__`` imports must not change the user's code.
    return compile(code, filename, "exec", dont_inherit=True)


@dataclass(frozen=True, slots=True)
class RunCode:
    """The picklable callable a code task's run calls, in any execution mode.

    The parameters of the run are the code's global names; after the code has run, the value
    of its ``output_variable`` (``None`` if it never set one) is the run's return value.
    """

    code: str
    filename: str
    output_variable: str = "return_value"

    def __call__(self, **params: Any) -> Any:
        compiled = _compiled(self.code, self.filename)
        # Registered on every run (cheap): tracebacks then quote the failing line of the code,
        # also in a child process, and a task redefined with new code shows its new lines.
        lines = self.code.splitlines(keepends=True)
        linecache.cache[self.filename] = (len(self.code), None, lines, self.filename)
        namespace = dict(params)
        exec(compiled, namespace)  # noqa: S102 - running the code is the task
        return namespace.get(self.output_variable)


class CodeTask(Task):
    """Run ``code``, a string of Python statements; ``name=`` is required.

    The code sees the task's ``parameters`` and the parameters given to ``task.run(...)`` as
    global names (session parameters are not passed, as in Rocketry); argument values such as
    ``Return("fetch")`` are resolved first. It gives a return value by assigning the variable
    named by ``output_variable`` (``return_value`` by default). The code is compiled when the
    task is defined, so a syntax error fails there, naming the task and the line.
    """

    def __init__(
        self, code: str | None = None, *, output_variable: str = "return_value", **kwargs: Any
    ) -> None:
        self.code = code
        self.output_variable = output_variable
        super().__init__(**kwargs)

    def validate(self) -> None:
        name = self.name
        if not isinstance(self.code, str):
            raise TaskDefinitionError(
                f"task {name!r}: CodeTask needs code= as a string of Python code, got {self.code!r}"
            )
        out = self.output_variable
        if not isinstance(out, str) or not out.isidentifier():
            raise TaskDefinitionError(
                f"task {name!r}: output_variable must be a Python variable name, got {out!r}"
            )
        try:
            _compiled(self.code, self._filename())
        except SyntaxError as exc:
            where = f"line {exc.lineno}" if exc.lineno is not None else "somewhere"
            shown = ""
            if exc.text:
                caret = " " * max((exc.offset or 1) - 1, 0) + "^"
                shown = f"\n    {exc.text.rstrip()}\n    {caret}"
            raise TaskDefinitionError(
                f"task {name!r}: its code does not compile, {where}: {exc.msg}{shown}\n"
                "Fix the code string; it is compiled when the task is defined."
            ) from None
        except ValueError as exc:  # e.g. a null byte in the string
            raise TaskDefinitionError(f"task {name!r}: its code does not compile: {exc}") from None

    def _filename(self) -> str:
        return f"<code of task {self.name!r}>"

    def target(self) -> Callable[..., Any]:
        assert self.code is not None  # checked in validate()
        return RunCode(self.code, self._filename(), self.output_variable)

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The task's own parameters and the run's; session parameters are not passed."""
        return {**self.parameters, **params}
