"""The session configuration: every knob, its default and its validation, in one model.

Keys and defaults follow Rocketry's ``Session.Config`` so that a Rocketry config dict works as it
is; unknown keys and bad values fail at construction with a :class:`~skylaunch.exc.ConfigError`
naming the key.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from skylaunch.conds.base import Condition
from skylaunch.conds.parse import parse_condition
from skylaunch.exc import ConfigError
from skylaunch.time.parse import to_timedelta

__all__ = ["Config"]

#: Old key -> new key; the old one still works with a DeprecationWarning.
_DEPRECATED_KEYS = {"task_execution": "execution"}

#: Rocketry keys skylaunch has no equivalent for -> what to do instead. ``None`` (Rocketry's
#: default) is accepted and dropped, so a dump of a Rocketry config still loads.
_REPLACED_KEYS = {
    "time_func": (
        "skylaunch reads the time from a clock object, not from a function: pass "
        "App(clock=SimulatedClock(...)) or Session(clock=...), or build the app with "
        "skylaunch.testing.simulated_app() (see docs/testing.md)"
    ),
}


#: Rocketry keys accepted for compatibility that change nothing here -> what to do instead.
#: ``False`` (Rocketry's default) is silent; ``True`` warns (DeprecationWarning) with the pointer.
_INERT_KEYS = {
    "debug": (
        "skylaunch has no debug mode; to see why a task runs or not, evaluate its condition "
        "with skylaunch.testing.explain() (docs/testing.md)"
    ),
    "force_status_from_logs": (
        "a task's status is always read from the in-memory history, which is restored from "
        "the repo when the scheduler starts"
    ),
    "use_instance_naming": "a task is named by name= or after its function; give it a name=",
}


def _duration(value: Any) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return to_timedelta(value)
    return value


_Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _no_listeners() -> list[Callable[[tzinfo | None], None]]:
    # Not ``default_factory=list``: pydantic reads the factory's signature on the first
    # Config(), and for a builtin that means inspect's text-signature parser, whose first use
    # compiles tokenize's regular expressions (a few milliseconds of every cold start).
    return []


class Config(BaseModel):
    """Settings of a session. See docs/concepts.md for what each key does."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, arbitrary_types_allowed=True
    )

    execution: str = Field(default="async", min_length=1)
    task_pre_exist: Literal["raise", "ignore", "replace", "rename"] = "raise"
    force_status_from_logs: bool = False
    silence_task_prerun: bool = False
    silence_task_logging: bool = False
    silence_cond_check: bool = False
    multilaunch: bool = False
    func_run_id: Callable[..., str] | None = None
    max_process_count: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    tasks_as_daemon: bool = True
    restarting: Literal["replace", "relaunch", "fresh", "recall"] = "replace"
    instant_shutdown: bool = False
    timeout: _Duration | None = timedelta(minutes=30)
    shut_cond: Condition | None = None
    cycle_sleep: float | None = Field(default=0.1, ge=0)
    param_materialize: Literal["pre", "post"] = "post"
    timezone: tzinfo | None = None
    debug: bool = False
    use_instance_naming: bool = False
    task_priority: int = 0
    task_logger_basename: str = "skylaunch.task"
    scheduler_logger_basename: str = "skylaunch.scheduler"
    history_max_records: int = Field(default=10_000, ge=1)
    # How long a run waits for its ``run`` record to be stored before its body starts, when the
    # repo is written in the background (see docs/persistence.md); 0: do not wait, None: no limit.
    run_record_wait: _Duration | None = timedelta(seconds=5)
    # The log_file shorthand: a FileLogger on the task logger (see docs/logging-outputs.md).
    log_file: Path | None = None
    log_file_mode: Literal["rotate", "watched"] = "rotate"
    log_file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    log_file_backup_count: int = Field(default=5, ge=0)
    log_file_permissions: int | None = Field(default=0o600, ge=0, le=0o7777)
    log_lifecycle: bool = False
    # Rocketry's lock class (threading.Lock) for its scheduler state. Accepted so that a
    # Rocketry config loads, and ignored: skylaunch's scheduler is a single-threaded event loop
    # and takes the few locks it needs (threads adding tasks, runs ending) itself.
    cls_lock: Any = None
    # Called with the new zone when ``timezone`` is assigned (the session moves its clock).
    _timezone_listeners: list[Callable[[tzinfo | None], None]] = PrivateAttr(
        default_factory=_no_listeners
    )
    # Set by the session: refuses an ``execution`` that names none of its executors.
    _execution_check: Callable[[object], None] | None = PrivateAttr(default=None)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "execution" and self._execution_check is not None:
            self._execution_check(value)
        super().__setattr__(name, value)
        if name == "timezone":
            for listener in self._timezone_listeners:
                listener(self.timezone)

    @field_validator("timeout", mode="before")
    @classmethod
    def _never(cls, value: Any) -> Any:
        return None if value == "never" else value  # Rocketry's spelling of no time limit

    @field_validator("shut_cond", mode="before")
    @classmethod
    def _parse_shut_cond(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_condition(value)
        if value is not None and not isinstance(value, Condition):
            raise ValueError(f"a condition or a condition string is needed, got {value!r}")
        return value

    @field_validator(*_INERT_KEYS)
    @classmethod
    def _inert(cls, value: bool, info: ValidationInfo) -> bool:
        if value:
            key = str(info.field_name)
            warnings.warn(
                f"config key {key!r} has no effect in skylaunch: {_INERT_KEYS[key]}",
                DeprecationWarning,
                stacklevel=2,
            )
        return value

    @field_validator("run_record_wait")
    @classmethod
    def _not_negative(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(0):
            raise ValueError(f"a duration >= 0 (or None: no limit) is needed, got {value}")
        return value

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        if value is not None and not isinstance(value, tzinfo):
            raise ValueError(f"a tzinfo or an IANA zone name is needed, got {value!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The settings as a dict (Rocketry's ``Config.to_dict``): ``model_dump()``."""
        return self.model_dump()

    @property
    def task_execution(self) -> str:
        """Deprecated (Rocketry too): ``config.execution``."""
        warnings.warn(
            "config.task_execution is deprecated (as in Rocketry): use config.execution",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.execution

    @classmethod
    def build(cls, values: Config | Mapping[str, Any] | None = None, **more: Any) -> Config:
        """Validate ``values`` (and keyword overrides) into a Config; errors name the key."""
        if isinstance(values, Config):
            data: dict[str, Any] = values.model_dump() | more
        else:
            data = {**(values or {}), **more}
        for old, new in _DEPRECATED_KEYS.items():
            if old in data:
                warnings.warn(
                    f"config key {old!r} is deprecated; use {new!r}",
                    DeprecationWarning,
                    stacklevel=3,
                )
                data.setdefault(new, data.pop(old))
        for key in _REPLACED_KEYS:
            if key in data:
                _check_replaced(key, data.pop(key))
        try:
            return cls(**data)
        except ValidationError as exc:
            raise _config_error(exc, data) from None

    def set(self, key: str, value: Any) -> None:
        """Assign one key with the same checks and error messages as at construction."""
        if key in _REPLACED_KEYS:
            _check_replaced(key, value)
            return
        if key not in type(self).model_fields:
            known = ", ".join(sorted(type(self).model_fields))
            raise ConfigError(key, value, f"unknown key; the known keys are {known}")
        try:
            setattr(self, key, value)
        except ValidationError as exc:
            raise _config_error(exc, {key: value}) from None


def _check_replaced(key: str, value: Any) -> None:
    if value is not None:
        raise ConfigError(key, value, f"not supported; {_REPLACED_KEYS[key]}")


def _config_error(exc: ValidationError, data: Mapping[str, Any]) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "?"
    top = str(first["loc"][0]) if first["loc"] else key
    if first["type"] == "extra_forbidden":
        known = ", ".join(sorted(Config.model_fields))
        return ConfigError(key, data.get(top), f"unknown key; the known keys are {known}")
    message = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(key, data.get(top), message)
