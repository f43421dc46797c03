"""Tasks that run a command (a program or, when asked, a shell line)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skylaunch.args import TerminationFlag
from skylaunch.exc import TaskDefinitionError, TaskTermination
from skylaunch.tasks.base import Task

__all__ = ["CommandError", "CommandTask", "RunCommand"]

# Rocketry's spellings: "short" is "-x value", "long" is "--x value".
_ARGFORMS = {"-": "-", "--": "--", "short": "-", "long": "--"}

#: How often a running command checks its termination flag (seconds).
_POLL_S = 0.05
#: How much of the end of stderr a failure carries.
_TAIL_CHARS = 2000
_FLAG = "_skylaunch_termination_flag"


class CommandError(Exception):
    """A command exited with a non-zero code; the message ends with the tail of its stderr."""

    def __init__(self, command: str | Sequence[str], returncode: int, stderr: str) -> None:
        self.command = command
        self.returncode = returncode
        self.stderr = stderr
        shown = command if isinstance(command, str) else shlex.join(command)
        tail = stderr[-_TAIL_CHARS:]
        cut = "...\n" if len(stderr) > _TAIL_CHARS else ""
        super().__init__(f"command {shown!r} exited with code {returncode}; stderr:\n{cut}{tail}")


@dataclass(frozen=True, slots=True)
class RunCommand:
    """The picklable callable a command task's run calls, in any execution mode.

    Parameters of the run become options (``--name value``). Termination (flag set, or
    ``timeout_s`` spent, for modes that cannot stop the run from outside) kills the command.
    Returns the command's stdout as text.
    """

    command: str | tuple[str, ...]
    shell: bool = False
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    timeout_s: float | None = None
    argform: str = "--"

    def argv(self, params: Mapping[str, Any]) -> str | list[str]:
        if isinstance(self.command, str):
            extra = " ".join(f"{self._option(k)} {shlex.quote(str(v))}" for k, v in params.items())
            line = f"{self.command} {extra}".strip()
            return line if self.shell else shlex.split(line)
        argv = list(self.command)
        for key, value in params.items():
            argv += [self._option(key), str(value)]
        return argv

    def _option(self, key: str) -> str:
        return key if key.startswith("-") else self.argform + key

    def __call__(self, **params: Any) -> str:
        flag = params.pop(_FLAG, None)
        env = None if self.env is None else {**os.environ, **self.env}
        proc = subprocess.Popen(
            self.argv(params),
            shell=self.shell,
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        waited = 0.0
        try:
            while True:
                try:
                    out, err = proc.communicate(timeout=_POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    waited += _POLL_S
                if flag is not None and flag.is_set():
                    raise TaskTermination("command terminated")
                if self.timeout_s is not None and waited >= self.timeout_s:
                    raise TaskTermination(f"command timed out after {self.timeout_s:g} s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        if proc.returncode != 0:
            raise CommandError(self.command, proc.returncode, err or "")
        return out


class CommandTask(Task):
    """Run ``command``: a list of arguments, or a string split like a shell would.

    The string is handed to a shell only with ``shell=True`` (then quoting is the caller's
    business). ``cwd`` and ``env`` (added to the scheduler's environment) apply to the
    command. A non-zero exit is a ``fail`` whose ``exc_text`` ends with the tail of stderr.
    """

    def __init__(
        self,
        command: str | Sequence[str] | None = None,
        *,
        shell: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        argform: str = "--",
        **kwargs: Any,
    ) -> None:
        if isinstance(command, str):
            if not command.strip():
                raise TaskDefinitionError("CommandTask needs a non-empty command")
            if not shell:
                try:
                    shlex.split(command)
                except ValueError as exc:
                    raise TaskDefinitionError(
                        f"CommandTask command {command!r} does not split into arguments: {exc}"
                    ) from None
            cmd: str | tuple[str, ...] = command
        elif (
            isinstance(command, Sequence)
            and command
            and all(isinstance(c, (str, os.PathLike)) for c in command)
        ):
            cmd = tuple(os.fspath(c) for c in command)
        else:
            raise TaskDefinitionError(
                f"CommandTask needs command= as a string or a non-empty list of strings, "
                f"got {command!r}"
            )
        if argform not in _ARGFORMS:
            raise TaskDefinitionError(
                f"CommandTask argform must be '-', '--', 'short' or 'long', got {argform!r}"
            )
        if env is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise TaskDefinitionError(f"CommandTask env must map str to str, got {env!r}")
        self.command = cmd
        self.shell = bool(shell)
        self.cwd = None if cwd is None else os.fspath(cwd)
        self.env = None if env is None else dict(env)
        self.argform = _ARGFORMS[argform]
        super().__init__(**kwargs)

    def default_name(self) -> str:
        return self.command if isinstance(self.command, str) else shlex.join(self.command)

    def target(self) -> Callable[..., Any]:
        timeout = self.timeout
        return RunCommand(
            self.command,
            self.shell,
            self.cwd,
            self.env,
            None if timeout is None else timeout.total_seconds(),
            self.argform,
        )

    def arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The task's own parameters and the run's, as options; session parameters are not."""
        return {**self.parameters, **params, _FLAG: TerminationFlag()}
