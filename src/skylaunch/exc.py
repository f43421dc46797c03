"""The exception tree of skylaunch.

::

    SkylaunchError(Exception)
    ├── ConfigError(SkylaunchError, ValueError)          a config key has a bad value or is unknown
    ├── ConditionParseError(SkylaunchError, ValueError)  a condition string does not parse
    ├── TaskDefinitionError(SkylaunchError, ValueError)  a task cannot be built as asked
    ├── TaskLookupError(SkylaunchError, KeyError)        no task by that name
    ├── TaskSetupError(SkylaunchError)                   preparing a run failed (silence_task_prerun)
    ├── TaskLoggingError(SkylaunchError)                 writing a task record failed
    ├── ConditionCheckError(SkylaunchError)              evaluating a condition raised
    ├── SimulatedTimeStuck(SkylaunchError)               a simulated clock can never advance
    └── RepoError(SkylaunchError)
        ├── RepoSchemaError(RepoError, ValueError)       CSV header, table or model does not fit
        └── RepoUnavailableError(RepoError)              transient; retried and buffered

    RepoDataWarning(UserWarning)                         a stored record was unreadable and skipped

Signals are not errors and do not derive from :class:`SkylaunchError`:
:class:`TaskInaction`, :class:`TaskTermination`, :class:`SchedulerExit`,
:class:`SchedulerRestart`. Rocketry's names (``TaskInactionException`` ...) are aliases.
"""

from __future__ import annotations

__all__ = [
    "ConditionCheckError",
    "ConditionParseError",
    "ConfigError",
    "RepoDataWarning",
    "RepoError",
    "RepoSchemaError",
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


class TaskLookupError(SkylaunchError, KeyError):
    """The session has no task by that name."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = ""
        if known:
            shown = ", ".join(repr(k) for k in sorted(known)[:10])
            hint = f" (known tasks: {shown}{', ...' if len(known) > 10 else ''})"
        super().__init__(f"no task named {name!r}{hint}")

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


class TaskSetupError(SkylaunchError):
    """Preparing a task run (parameters, pre-run hooks) failed."""


class TaskLoggingError(SkylaunchError):
    """A task record could not be written to the log repo."""


class ConditionCheckError(SkylaunchError):
    """A task's start condition raised while being evaluated."""


class SimulatedTimeStuck(SkylaunchError):
    """On a simulated clock, tasks were due again at the same instant after every run.

    A simulated clock moves only when the scheduler sleeps; a task that is always due (``true``,
    or a condition that its own run does not make false) never lets it sleep, so ``run_for``
    and ``run_until`` would never return.
    """


class RepoError(SkylaunchError):
    """A log repository failed."""


class RepoSchemaError(RepoError, ValueError):
    """A repo's storage does not fit its record model (header, columns, fields)."""


class RepoUnavailableError(RepoError):
    """The repo's storage cannot be reached for now; the write is retried."""


class RepoDataWarning(UserWarning):
    """A stored record could not be read (damaged, hand-edited) and was skipped."""


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
