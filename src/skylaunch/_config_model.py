"""The pydantic model behind :class:`skylaunch.config.Config`, built on first need.

``Config`` checks the values people usually pass (exactly typed, in range) by hand, so that
``import skylaunch`` and ``App(...)`` do not import pydantic (bench W5). Everything else -- a
value to coerce (``"1"`` for an int, a ``str`` for a path), a bad value, an unknown key -- is
validated here, by the same rules written as a pydantic model, so that coercions and error texts
are pydantic's. tests/test_config.py proves both paths agree over many values.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from skylaunch.conds.base import Condition
from skylaunch.config import (
    _INERT_KEYS,
    _default_process_count,
    _duration,
    _inert_message,
    _not_negative,
    _shut_cond,
    _zone,
)

__all__ = ["Config", "validate_assignment"]

_Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Config(BaseModel):
    """The rules of :class:`skylaunch.config.Config` (named alike: error texts name it)."""

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
    max_process_count: int = Field(default_factory=_default_process_count, ge=1)
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
    run_record_wait: _Duration | None = timedelta(seconds=5)
    startup_gc: Literal["auto", "collect", "freeze", "off"] = "auto"
    log_file: Path | None = None
    log_file_mode: Literal["rotate", "watched"] = "rotate"
    log_file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    log_file_backup_count: int = Field(default=5, ge=0)
    log_file_permissions: int | None = Field(default=0o600, ge=0, le=0o7777)
    log_lifecycle: bool = False
    cls_lock: Any = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _never(cls, value: Any) -> Any:
        return None if value == "never" else value  # Rocketry's spelling of no time limit

    @field_validator("shut_cond", mode="before")
    @classmethod
    def _parse_shut_cond(cls, value: Any) -> Any:
        return _shut_cond(value)

    @field_validator(*_INERT_KEYS)
    @classmethod
    def _inert(cls, value: bool, info: ValidationInfo) -> bool:
        if value:
            warnings.warn(_inert_message(str(info.field_name)), DeprecationWarning, stacklevel=2)
        return value

    @field_validator("run_record_wait")
    @classmethod
    def _not_negative(cls, value: timedelta | None) -> timedelta | None:
        return _not_negative(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> Any:
        return _zone(value)


def validate_assignment(name: str, value: Any) -> Any:
    """``value`` for the key ``name`` as pydantic validates an assignment (or its error)."""
    model = Config.model_construct()
    setattr(model, name, value)
    return model.__dict__[name]
