"""The session configuration: every knob, its default and its validation, in one class.

Keys and defaults follow Rocketry's ``Session.Config`` so that a Rocketry config dict works as it
is; unknown keys and bad values fail at construction with a :class:`~skylaunch.exc.ConfigError`
naming the key.

The values people usually pass (exactly typed, in range: ``"main"``, ``0.5``, ``"10 minutes"``,
``"Europe/Helsinki"``) are checked here by hand, so that ``import skylaunch`` and ``App(...)`` do
not import pydantic (bench W5). Any other value -- one to coerce (``"1"`` for an int, a ``str``
for a path), a bad one, an unknown key -- goes to the same rules written as a pydantic model
(:mod:`skylaunch._config_model`, built on first need): its coercions and error texts are
pydantic's, as they always were. tests/test_config.py proves both paths agree.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from skylaunch.conds.base import Condition
from skylaunch.exc import ConfigError
from skylaunch.time.parse import to_timedelta

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import ValidationError
    from pydantic.fields import FieldInfo

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


def _inert_message(key: str) -> str:
    return f"config key {key!r} has no effect in skylaunch: {_INERT_KEYS[key]}"


def _default_process_count() -> int:
    """``max_process_count``'s default: the machine's CPUs."""
    return os.cpu_count() or 1


# --- the rules both paths share (the pydantic model calls them as validators) ---------------


def _duration(value: Any) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return to_timedelta(value)
    return value


def _shut_cond(value: Any) -> Any:
    if isinstance(value, str):
        from skylaunch.conds.parse import parse_condition

        return parse_condition(value)
    if value is not None and not isinstance(value, Condition):
        raise ValueError(f"a condition or a condition string is needed, got {value!r}")
    return value


def _not_negative(value: timedelta | None) -> timedelta | None:
    if value is not None and value < timedelta(0):
        raise ValueError(f"a duration >= 0 (or None: no limit) is needed, got {value}")
    return value


def _zone(value: Any) -> Any:
    if isinstance(value, str):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
    if value is not None and not isinstance(value, tzinfo):
        raise ValueError(f"a tzinfo or an IANA zone name is needed, got {value!r}")
    return value


# --- the fast path: exactly typed values, checked by hand --------------------------------------


class _Slow(Exception):
    """The value is not one the fast path decides: pydantic's rules must (coerce or refuse)."""


def _text(*, min_length: int = 0) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is str and len(value) >= min_length:
            return value
        raise _Slow

    return check


def _choice(*choices: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is str and value in choices:
            return value
        raise _Slow

    return check


def _flag(value: Any) -> Any:
    if type(value) is bool:
        return value
    raise _Slow


def _integer(
    *, ge: int | None = None, le: int | None = None, optional: bool = False
) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if type(value) is int and (ge is None or value >= ge) and (le is None or value <= le):
            return value
        raise _Slow

    return check


def _cycle_sleep(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is float and value >= 0:  # NaN is not >= 0: pydantic refuses it
        return value
    if type(value) is int and 0 <= value <= 2**53:  # exactly representable: float() is exact
        return float(value)
    raise _Slow


def _callable(value: Any) -> Any:
    if value is None or callable(value):
        return value
    raise _Slow


def _fast_duration(value: Any) -> timedelta | None:
    if value is None or type(value) is timedelta:
        return value
    if type(value) in (int, float, str):
        try:
            result = to_timedelta(value)
        except Exception:  # pydantic words the error
            raise _Slow from None
        if type(result) is timedelta:
            return result
    raise _Slow


def _timeout(value: Any) -> Any:
    if type(value) is str and value == "never":
        return None
    return _fast_duration(value)


def _run_record_wait(value: Any) -> Any:
    result = _fast_duration(value)
    if result is not None and result < timedelta(0):
        raise _Slow
    return result


def _guarded(rule: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A shared rule (it returns an accepted value as it is) whose errors pydantic words."""

    def check(value: Any) -> Any:
        try:
            return rule(value)
        except Exception:
            raise _Slow from None

    return check


def _log_file(value: Any) -> Any:
    if value is None:
        return value
    pathlib = sys.modules.get("pathlib")  # a Path given: pathlib is loaded (W5: not at import)
    if pathlib is not None and type(value) is type(pathlib.Path()):
        return value
    raise _Slow


def _anything(value: Any) -> Any:
    return value


#: Field -> (default, the fast check). The order is the fields' (pydantic's validation order).
_FIELDS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "execution": ("async", _text(min_length=1)),
    "task_pre_exist": ("raise", _choice("raise", "ignore", "replace", "rename")),
    "force_status_from_logs": (False, _flag),
    "silence_task_prerun": (False, _flag),
    "silence_task_logging": (False, _flag),
    "silence_cond_check": (False, _flag),
    "multilaunch": (False, _flag),
    "func_run_id": (None, _callable),
    "max_process_count": (_default_process_count, _integer(ge=1)),
    "tasks_as_daemon": (True, _flag),
    "restarting": ("replace", _choice("replace", "relaunch", "fresh", "recall")),
    "instant_shutdown": (False, _flag),
    "timeout": (timedelta(minutes=30), _timeout),
    "shut_cond": (None, _guarded(_shut_cond)),
    "cycle_sleep": (0.1, _cycle_sleep),
    "param_materialize": ("post", _choice("pre", "post")),
    "timezone": (None, _guarded(_zone)),
    "debug": (False, _flag),
    "use_instance_naming": (False, _flag),
    "task_priority": (0, _integer()),
    "task_logger_basename": ("skylaunch.task", _text()),
    "scheduler_logger_basename": ("skylaunch.scheduler", _text()),
    "history_max_records": (10_000, _integer(ge=1)),
    # How long a run waits for its ``run`` record to be stored before its body starts, when the
    # repo is written in the background (see docs/persistence.md); 0: do not wait, None: no limit.
    "run_record_wait": (timedelta(seconds=5), _run_record_wait),
    # A garbage collection before the first pass (see docs/operating.md): "auto" when the repo
    # is written in the background (it has imported its driver), "collect" always, "freeze"
    # always and gc.freeze() after it, "off" never.
    "startup_gc": ("auto", _choice("auto", "collect", "freeze", "off")),
    # The log_file shorthand: a FileLogger on the task logger (see docs/logging-outputs.md).
    "log_file": (None, _log_file),
    "log_file_mode": ("rotate", _choice("rotate", "watched")),
    "log_file_max_bytes": (10 * 1024 * 1024, _integer(ge=0)),
    "log_file_backup_count": (5, _integer(ge=0)),
    "log_file_permissions": (0o600, _integer(ge=0, le=0o7777, optional=True)),
    "log_lifecycle": (False, _flag),
    # Rocketry's lock class (threading.Lock) for its scheduler state. Accepted so that a
    # Rocketry config loads, and ignored: skylaunch's scheduler is a single-threaded event loop
    # and takes the few locks it needs (threads adding tasks, runs ending) itself.
    "cls_lock": (None, _anything),
}


def _validated(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every field's value from ``data`` (keyword arguments) and the defaults."""
    values: dict[str, Any] = {}
    try:
        if not data.keys() <= _FIELDS.keys():
            raise _Slow
        for name, (default, check) in _FIELDS.items():
            if name in data:
                values[name] = check(data[name])
            else:
                values[name] = default() if callable(default) else default
    except _Slow:
        from skylaunch._config_model import Config as Model

        return dict(Model(**data).__dict__)  # pydantic's coercions and errors (and warnings)
    for key in _FIELDS:  # declaration order, as pydantic validates (and warns)
        if key in _INERT_KEYS and key in data and values[key]:
            warnings.warn(_inert_message(key), DeprecationWarning, stacklevel=3)
    return values


def _validated_one(name: str, value: Any) -> Any:
    try:
        result = _FIELDS[name][1](value)
    except _Slow:
        from skylaunch._config_model import validate_assignment

        return validate_assignment(name, value)
    if name in _INERT_KEYS and result:
        warnings.warn(_inert_message(name), DeprecationWarning, stacklevel=3)
    return result


def _is_validation_error(exc: BaseException) -> bool:
    core = sys.modules.get("pydantic_core")  # only the pydantic path raises one
    return core is not None and isinstance(exc, core.ValidationError)


class _ModelFields:
    """``Config.model_fields``: the fields as pydantic describes them (loads pydantic)."""

    def __get__(self, obj: object, owner: type | None = None) -> dict[str, FieldInfo]:
        from skylaunch._config_model import Config as Model

        return Model.model_fields


class Config:
    """Settings of a session. See docs/concepts.md for what each key does.

    Validated at construction and on assignment (``config.cycle_sleep = -1`` raises); a bad
    value or an unknown key raises pydantic's ``ValidationError`` here, and a
    :class:`~skylaunch.exc.ConfigError` naming the key through :meth:`build` and :meth:`set`.
    """

    model_fields = _ModelFields()

    execution: str
    task_pre_exist: Literal["raise", "ignore", "replace", "rename"]
    force_status_from_logs: bool
    silence_task_prerun: bool
    silence_task_logging: bool
    silence_cond_check: bool
    multilaunch: bool
    func_run_id: Callable[..., str] | None
    max_process_count: int
    tasks_as_daemon: bool
    restarting: Literal["replace", "relaunch", "fresh", "recall"]
    instant_shutdown: bool
    timeout: timedelta | None
    shut_cond: Condition | None
    cycle_sleep: float | None
    param_materialize: Literal["pre", "post"]
    timezone: tzinfo | None
    debug: bool
    use_instance_naming: bool
    task_priority: int
    task_logger_basename: str
    scheduler_logger_basename: str
    history_max_records: int
    run_record_wait: timedelta | None
    startup_gc: Literal["auto", "collect", "freeze", "off"]
    log_file: Path | None
    log_file_mode: Literal["rotate", "watched"]
    log_file_max_bytes: int
    log_file_backup_count: int
    log_file_permissions: int | None
    log_lifecycle: bool
    cls_lock: Any

    # Called with the new zone when ``timezone`` is assigned (the session moves its clock).
    _timezone_listeners: list[Callable[[tzinfo | None], None]]
    # Set by the session: refuses an ``execution`` that names none of its executors.
    _execution_check: Callable[[object], None] | None

    def __init__(self, **data: Any) -> None:
        attrs = self.__dict__
        attrs.update(_validated(data))
        attrs["_timezone_listeners"] = []
        attrs["_execution_check"] = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _FIELDS:
            if name.startswith("_") or isinstance(getattr(type(self), name, None), property):
                object.__setattr__(self, name, value)
                return
            from skylaunch._config_model import validate_assignment

            validate_assignment(name, value)  # raises pydantic's error for an unknown key
            raise AssertionError(f"{name!r} is not a field")  # pragma: no cover
        if name == "execution" and self._execution_check is not None:
            self._execution_check(value)
        self.__dict__[name] = _validated_one(name, value)
        if name == "timezone":
            for listener in self._timezone_listeners:
                listener(self.timezone)

    def model_dump(self, **options: Any) -> dict[str, Any]:
        """The settings as a dict; ``options`` as pydantic's ``model_dump`` (loads pydantic)."""
        if options:
            from skylaunch._config_model import Config as Model

            return Model.model_construct(**self.model_dump()).model_dump(**options)
        attrs = self.__dict__
        return {name: attrs[name] for name in _FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The settings as a dict (Rocketry's ``Config.to_dict``): ``model_dump()``."""
        return self.model_dump()

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.model_dump().items())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like a pydantic model

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self)
        return f"{type(self).__name__}({fields})"

    def __str__(self) -> str:
        return " ".join(f"{name}={value!r}" for name, value in self)

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
        except Exception as exc:
            if not _is_validation_error(exc):
                raise
            raise _config_error(exc, data) from None  # type: ignore[arg-type]

    def set(self, key: str, value: Any) -> None:
        """Assign one key with the same checks and error messages as at construction."""
        if key in _REPLACED_KEYS:
            _check_replaced(key, value)
            return
        if key not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(key, value, f"unknown key; the known keys are {known}")
        try:
            setattr(self, key, value)
        except Exception as exc:
            if not _is_validation_error(exc):
                raise
            raise _config_error(exc, {key: value}) from None  # type: ignore[arg-type]


def _check_replaced(key: str, value: Any) -> None:
    if value is not None:
        raise ConfigError(key, value, f"not supported; {_REPLACED_KEYS[key]}")


def _config_error(exc: ValidationError, data: Mapping[str, Any]) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "?"
    top = str(first["loc"][0]) if first["loc"] else key
    if first["type"] == "extra_forbidden":
        known = ", ".join(sorted(_FIELDS))
        return ConfigError(key, data.get(top), f"unknown key; the known keys are {known}")
    message = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(key, data.get(top), message)
