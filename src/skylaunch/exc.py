"""The exception tree of skylaunch.

::

    SkylaunchError(Exception)
    ├── ConfigError(SkylaunchError, ValueError)          a config key has a bad value or is unknown
    ├── ConditionParseError(SkylaunchError, ValueError)  a condition string does not parse
    ├── TaskDefinitionError(SkylaunchError, ValueError)  a task cannot be built as asked
    ├── TaskLookupError(SkylaunchError, KeyError)        no task by that name
    ├── TaskSetupError(SkylaunchError)                   preparing a run failed (silence_task_prerun)
    ├── MissingReturnError(SkylaunchError, KeyError)     Return(): no value and no default
    ├── TaskLoggingError(SkylaunchError)                 writing a task record failed
    ├── ConditionCheckError(SkylaunchError)              evaluating a condition raised
    ├── SimulatedTimeStuck(SkylaunchError)               a simulated clock can never advance
    └── RepoError(SkylaunchError)
        ├── RepoSchemaError(RepoError, ValueError)       CSV header, table or model does not fit
        ├── RepoConfigError(RepoError, ValueError)       no such database/role/host, bad password
        └── RepoUnavailableError(RepoError)              transient; retried and buffered

    RepoDataWarning(UserWarning)                         a stored record was unreadable and skipped
    RepoSchemaWarning(UserWarning)                       a table stores only some of a model's fields

Signals are not errors and do not derive from :class:`SkylaunchError`:
:class:`TaskInaction`, :class:`TaskTermination`, :class:`SchedulerExit`,
:class:`SchedulerRestart`. Rocketry's names (``TaskInactionException`` ...) are aliases.
"""

from __future__ import annotations

__all__ = [
    "ConditionCheckError",
    "ConditionParseError",
    "ConfigError",
    "FencedWriteError",
    "MissingReturnError",
    "RepoConfigError",
    "RepoDataWarning",
    "RepoError",
    "RepoSchemaError",
    "RepoSchemaWarning",
    "RepoUnavailableError",
    "SchedulerExit",
    "SchedulerRestart",
    "SimulatedTimeStuck",
    "SkylaunchError",
    "TaskDefinitionError",
    "TaskInaction",
    "TaskInactionException",
    "TaskLoggingError",
    "TaskLookupError",
    "TaskSetupError",
    "TaskTermination",
    "TaskTerminationException",
    "condition_check_error",
]


class SkylaunchError(Exception):
    """Base of every error skylaunch raises on purpose."""


class ConfigError(SkylaunchError, ValueError):
    """A configuration key is unknown or its value is not acceptable."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        self.key = key
        self.value = value
        self.problem = problem
        super().__init__(f"config {key!r} = {value!r}: {problem}")


class ConditionParseError(SkylaunchError, ValueError):
    """A condition string does not parse; the message marks where with a caret."""

    def __init__(self, text: str, position: int, expected: str) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        caret = " " * position + "^"
        super().__init__(
            f"cannot parse condition at position {position}: expected {expected}\n"
            f"    {text}\n    {caret}"
        )


class TaskDefinitionError(SkylaunchError, ValueError):
    """A task cannot be created as asked (bad name, duplicate, not picklable...)."""


class TaskLookupError(SkylaunchError, KeyError, ValueError):
    """The session has no task by that name (``session["x"]``, ``Return("x")``...).

    A ``KeyError``, and also a ``ValueError``: what Rocketry raised for ``Return`` of a task the
    session does not have, so ``except ValueError:`` written for Rocketry still catches it.
    """

    def __init__(
        self, name: str, known: list[str] | None = None, *, message: str | None = None
    ) -> None:
        self.name = name
        if message is None:
            hint = ""
            if known:
                shown = ", ".join(repr(k) for k in sorted(known)[:10])
                hint = f" (known tasks: {shown}{', ...' if len(known) > 10 else ''})"
            message = f"no task named {name!r}{hint}"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


class TaskSetupError(SkylaunchError):
    """Preparing a task run (parameters, pre-run hooks) failed."""


class MissingReturnError(SkylaunchError, KeyError):
    """``Return(task)`` without a default, and that task has no value in this process.

    The run that needs it is recorded as failed (it is state, not a mistake in the code): its
    start condition moves on, and a restarted scheduler does not fail the same way forever.
    """

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


class TaskLoggingError(SkylaunchError):
    """A task record could not be written to the log repo."""


class ConditionCheckError(SkylaunchError):
    """A task's start condition raised while being evaluated.

    Raised by :func:`condition_check_error`, as a class that is also the original error's
    class where Python allows it: ``except RuntimeError:`` around ``app.run()`` still catches a
    condition's ``RuntimeError``, as it did in Rocketry, and ``except ConditionCheckError:``
    catches every condition failure. The original is the ``__cause__``.
    """


_CHECK_ERRORS: dict[type[BaseException], type[ConditionCheckError]] = {}


def condition_check_error(message: str, cause: Exception) -> ConditionCheckError:
    """A :class:`ConditionCheckError` for ``cause``, an instance of ``cause``'s class too."""
    original = type(cause)
    cls = _CHECK_ERRORS.get(original)
    if cls is None:
        cls = ConditionCheckError
        if not issubclass(original, ConditionCheckError):
            try:
                cls = type(
                    "ConditionCheckError",
                    (ConditionCheckError, original),
                    {"__module__": __name__, "__qualname__": "ConditionCheckError"},
                )
            except TypeError:  # a layout Python cannot combine (some built-in errors)
                pass
        _CHECK_ERRORS[original] = cls
    try:
        return cls(message)
    except Exception:  # the original class wants other constructor arguments
        return ConditionCheckError(message)


class SimulatedTimeStuck(SkylaunchError):
    """On a simulated clock, tasks were due again at the same instant after every run.

    A simulated clock moves only when the scheduler sleeps; a task that is always due (``true``,
    or a condition that its own run does not make false) never lets it sleep, so ``run_for``
    and ``run_until`` would never return.
    """


class FencedWriteError(SkylaunchError):
    """A task record was refused by the database: the writer does not hold the coordination
    lease (any more). Never retried: the replica that now holds the lease owns the history."""


class RepoError(SkylaunchError):
    """A log repository failed."""


class RepoSchemaError(RepoError, ValueError):
    """A repo's storage does not fit its record model (header, columns, fields)."""


class RepoConfigError(RepoError, ValueError):
    """The repo's settings name a database, role or host that does not exist, or are refused.

    Waiting does not fix it, so it is never retried: fix the URL or the server's settings.
    """

    def __init__(self, url: str, problem: str, detail: str) -> None:
        self.url = url
        self.problem = problem
        self.detail = detail
        super().__init__(
            f"cannot use {url}: {problem} (fix the URL or the server's settings; not retried): "
            f"{detail}"
        )


class RepoUnavailableError(RepoError):
    """The repo's storage cannot be reached for now; the write is retried."""


class RepoDataWarning(UserWarning):
    """A stored record could not be read (damaged, hand-edited) and was skipped."""


class RepoSchemaWarning(UserWarning):
    """An existing table has no column for some of the record model's fields: those fields
    are not stored (said once, when the repo is built)."""


class TaskInaction(Exception):
    """Raised inside a task to say it chose not to do anything; logged as ``inaction``."""


class TaskTermination(Exception):
    """Raised inside a task (or on its behalf) to end it as ``terminate``."""


class SchedulerExit(Exception):
    """Raised inside a task to shut the scheduler down."""


class SchedulerRestart(Exception):
    """Raised inside a task to restart the scheduler."""


TaskInactionException = TaskInaction
TaskTerminationException = TaskTermination
