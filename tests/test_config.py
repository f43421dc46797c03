from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch import config as config_module
from skylaunch.conds import SchedulerCycles
from skylaunch.config import Config
from skylaunch.exc import ConfigError


def test_defaults_follow_rocketry() -> None:
    config = Config.build()
    assert config.execution == "async"
    assert config.task_pre_exist == "raise"
    assert config.silence_task_prerun is False
    assert config.silence_task_logging is False
    assert config.silence_cond_check is False
    assert config.cycle_sleep == 0.1
    assert config.timeout == timedelta(minutes=30)
    assert config.restarting == "replace"
    assert config.task_logger_basename == "skylaunch.task"
    assert config.scheduler_logger_basename == "skylaunch.scheduler"
    assert config.shut_cond is None


def test_unknown_key_names_the_key() -> None:
    with pytest.raises(ConfigError, match="'silence_task_prerunn'") as info:
        Config.build({"silence_task_prerunn": True})
    assert "unknown key" in str(info.value)
    assert info.value.key == "silence_task_prerunn"


def test_bad_value_names_the_key_and_value() -> None:
    with pytest.raises(ConfigError, match="'task_pre_exist' = 'sometimes'"):
        Config.build(task_pre_exist="sometimes")


def test_conversions() -> None:
    config = Config.build(
        timeout="10 minutes",
        timezone="Europe/Helsinki",
        shut_cond="scheduler has more than 3 cycles",
    )
    assert config.timeout == timedelta(minutes=10)
    assert config.timezone == ZoneInfo("Europe/Helsinki")
    assert config.shut_cond == (SchedulerCycles() > 3)


def test_bad_shut_cond_string_fails_at_construction() -> None:
    with pytest.raises(ConfigError, match="shut_cond"):
        Config.build(shut_cond="scheduler has lots of cycles")


def test_bad_zone() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        Config.build(timezone="Mars/Olympus")


def test_set_validates_like_construction() -> None:
    config = Config.build()
    config.set("cycle_sleep", 0.5)
    assert config.cycle_sleep == 0.5
    with pytest.raises(ConfigError, match="cycle_sleep"):
        config.set("cycle_sleep", -1)
    with pytest.raises(ConfigError, match="unknown key"):
        config.set("nope", 1)


def test_deprecated_key_maps_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="task_execution"):
        config = Config.build({"task_execution": "main"})
    assert config.execution == "main"


def test_rocketrys_cls_lock_is_accepted_and_ignored() -> None:
    import threading

    config = Config.build({"cls_lock": threading.Lock, "execution": "main"})
    assert config.cls_lock is threading.Lock
    config.set("cls_lock", threading.RLock)
    assert config.cls_lock is threading.RLock
    assert Config.build(config).cls_lock is threading.RLock


def test_time_func_fails_naming_the_clock_alternative() -> None:
    import time

    with pytest.raises(ConfigError) as info:
        Config.build({"time_func": time.monotonic})
    assert info.value.key == "time_func"
    message = str(info.value)
    assert message.startswith("config 'time_func' = <built-in function monotonic>: not supported;")
    assert "App(clock=SimulatedClock(...))" in message
    assert "simulated_app()" in message
    config = Config.build({"time_func": None})  # Rocketry's default: nothing to replace
    with pytest.raises(ConfigError, match="App\\(clock="):
        config.set("time_func", time.monotonic)
    config.set("time_func", None)


def test_a_rocketry_session_config_dump_loads() -> None:
    import threading

    rocketry_defaults = {
        "execution": "async",
        "task_pre_exist": "raise",
        "force_status_from_logs": False,
        "silence_task_prerun": False,
        "silence_task_logging": False,
        "silence_cond_check": False,
        "multilaunch": False,
        "func_run_id": None,
        "max_process_count": 4,
        "tasks_as_daemon": True,
        "restarting": "replace",
        "instant_shutdown": False,
        "timeout": timedelta(minutes=30),
        "shut_cond": None,
        "cycle_sleep": 0.1,
        "debug": False,
        "cls_lock": threading.Lock,
        "param_materialize": "post",
        "timezone": None,
        "time_func": None,
        "use_instance_naming": False,
        "task_priority": 0,
    }
    config = Config.build(rocketry_defaults)
    assert config.max_process_count == 4


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("debug", "skylaunch.testing.explain"),
        ("force_status_from_logs", "in-memory history"),
        ("use_instance_naming", "name="),
    ],
)
def test_inert_rocketry_keys_warn_when_set_and_say_what_to_do(key: str, pointer: str) -> None:
    assert getattr(Config.build({key: False}), key) is False  # Rocketry's default: silent
    with pytest.warns(DeprecationWarning, match=rf"{key!r} has no effect.*{re.escape(pointer)}"):
        Config.build({key: True})
    config = Config.build()
    with pytest.warns(DeprecationWarning, match=f"{key!r} has no effect"):
        config.set(key, True)


def test_inert_keys_warn_in_the_model_paths_order() -> None:
    # A probe: the hand-checked path warned in _INERT_KEYS' order (debug first), pydantic in
    # the fields' declaration order (force_status_from_logs first).
    from skylaunch._config_model import Config as Model

    keys = {"use_instance_naming": True, "debug": True, "force_status_from_logs": True}

    def messages(build: Callable[[], object]) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            build()
        return [str(w.message) for w in caught]

    by_hand = messages(lambda: Config(**keys))
    assert by_hand == messages(lambda: Model(**keys))
    assert [m.split("'")[1] for m in by_hand] == [k for k in Model.model_fields if k in keys]
    assert messages(lambda: Config.build(keys)) == by_hand


def test_app_run_debug_warns_that_there_is_no_debug_mode() -> None:
    from skylaunch.testing import simulated_app

    app = simulated_app(shut_cond="scheduler has more than 1 cycles")
    with pytest.warns(DeprecationWarning, match="'debug' has no effect"):
        app.run(debug=True)
    assert app.session.config.debug is True


# --- the hand-checked fast path agrees with the pydantic rules ------------------------------

_SAMPLES = [
    "never", "10 minutes", "1 day", "-1 s", "0", "1.5", "", " ", "1", "true", "yes", "x",
    "Europe/Helsinki", "UTC", "Mars/Olympus", "../etc", "scheduler has more than 3 cycles",
    "scheduler has lots of cycles", "true & false", "async", "main", "thread", "process",
    "raise", "ignore", "replace", "rename", "relaunch", "fresh", "recall", "pre", "post",
    "rotate", "watched", "logs/app.log", "auto", "collect", "freeze", "off", "Auto",
]  # fmt: skip


def _objects() -> st.SearchStrategy[Any]:
    import threading
    from datetime import timezone
    from pathlib import Path, PurePosixPath

    return st.sampled_from(
        [
            Path("app.log"),
            PurePosixPath("app.log"),
            ZoneInfo("UTC"),
            timezone.utc,
            SchedulerCycles() > 3,
            len,
            threading.Lock,
            object(),
            [],
            {},
            b"10",
            1j,
        ]
    )


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-10, max_value=10_000),
    st.floats(),
    st.floats(min_value=-1, max_value=100),
    st.sampled_from(_SAMPLES),
    st.text(max_size=12),
    st.timedeltas(),
    _objects(),
)


def _outcome(validate: Callable[[], Any]) -> tuple[str, Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = validate()
        except Exception as exc:
            return ("error", type(exc).__name__, [str(w.message) for w in caught])
    return ("ok", (type(value), value), [str(w.message) for w in caught])


@settings(max_examples=3000, deadline=None)
@given(name=st.sampled_from(list(config_module._FIELDS)), value=_VALUES)
def test_the_fast_path_gives_what_pydantic_gives(name: str, value: Any) -> None:
    """A value the hand checks decide is validated exactly as the pydantic model would (same
    type, same value, same warnings); any other value goes to the model itself."""
    from skylaunch._config_model import validate_assignment

    check = config_module._FIELDS[name][1]
    try:
        check(value)
    except config_module._Slow:
        return  # pydantic's path: nothing to compare
    fast = _outcome(lambda: config_module._validated_one(name, value))
    slow = _outcome(lambda: validate_assignment(name, value))
    assert fast == slow
    assert fast[0] == "ok"
    # construction agrees too, whether it takes the fast path or not
    built = _outcome(lambda: dict(Config(**{name: value})))
    modelled = _outcome(lambda: dict(_Model(**{name: value})))
    assert built == modelled


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from(list(config_module._FIELDS)), value=_VALUES)
def test_every_value_ends_as_pydantic_decides(name: str, value: Any) -> None:
    """Fast path or not: the same result, or the same ConfigError from build and set."""
    ours = _outcome(lambda: dict(Config(**{name: value})))
    theirs = _outcome(lambda: dict(_Model(**{name: value})))
    assert ours == theirs
    try:
        expected = str(_config_error_of(lambda: _Model(**{name: value}), {name: value}))
    except AssertionError:
        return
    with pytest.raises(ConfigError) as info:
        Config.build({name: value})
    assert str(info.value) == expected
    config = Config.build()
    with pytest.raises(ConfigError) as info:
        config.set(name, value)
    assert str(info.value) == expected


def _config_error_of(make: Callable[[], Any], data: dict[str, Any]) -> ConfigError:
    from pydantic import ValidationError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            make()
        except ValidationError as exc:
            return config_module._config_error(exc, data)
    raise AssertionError("valid")


def _model_type() -> Any:
    from skylaunch._config_model import Config as Model

    return Model


_Model = _model_type()


def test_direct_construction_and_assignment_still_raise_pydantics_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="1 validation error for Config\ncycle_sleep"):
        Config(cycle_sleep=-1)
    with pytest.raises(ValidationError, match="nope\n  Extra inputs are not permitted"):
        Config(nope=1)
    config = Config()
    with pytest.raises(ValidationError, match="history_max_records"):
        config.history_max_records = 0
    with pytest.raises(ValidationError, match="Object has no attribute 'nope'"):
        config.nope = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match=r"no setter|can't set attribute"):
        config.task_execution = "main"  # type: ignore[misc]
    assert config.history_max_records == 10_000


def test_coercions_pydantic_makes_still_happen() -> None:
    from pathlib import Path

    config = Config.build(
        max_process_count="3", cycle_sleep=1, log_file="app.log", multilaunch=1, timeout=90
    )
    assert config.max_process_count == 3
    assert config.cycle_sleep == 1.0
    assert type(config.cycle_sleep) is float
    assert config.log_file == Path("app.log")
    assert config.multilaunch is True
    assert config.timeout == timedelta(seconds=90)
    config.set("history_max_records", "12")
    assert config.history_max_records == 12


def test_the_plain_class_behaves_like_the_model_it_replaced() -> None:
    import copy

    config = Config.build(execution="main", timezone="UTC")
    model = _Model(execution="main", timezone="UTC")
    assert list(Config.model_fields) == list(_Model.model_fields)
    assert Config.model_fields["cycle_sleep"].default == 0.1
    assert config.model_dump() == model.model_dump() == config.to_dict() == dict(config)
    assert dict(config) == dict(model)
    plain, plain_model = Config.build(execution="main"), _Model(execution="main")
    assert plain.model_dump(mode="json") == plain_model.model_dump(mode="json")
    assert config.model_dump(include={"execution"}) == {"execution": "main"}
    assert repr(config) == repr(model)
    assert str(config) == str(model)
    assert config == Config.build(config)
    assert config != Config.build()
    duplicate = copy.copy(config)
    assert duplicate == config
    assert duplicate is not config
    with pytest.warns(DeprecationWarning, match="task_execution"):
        assert config.task_execution == "main"


def test_listeners_hear_a_timezone_assignment_and_the_execution_check_runs_first() -> None:
    heard: list[object] = []
    config = Config.build()
    config._timezone_listeners.append(heard.append)
    config.timezone = "Europe/Helsinki"  # type: ignore[assignment]
    assert heard == [ZoneInfo("Europe/Helsinki")]

    def refuse(value: object) -> None:
        raise ConfigError("execution", value, "no such executor")

    config._execution_check = refuse
    with pytest.raises(ConfigError, match="no such executor"):
        config.set("execution", "")
    assert config.execution == "async"


def test_a_config_with_a_shut_cond_builds_again() -> None:
    # model_dump() gives the condition itself; pydantic's gave a dataclass condition as a dict,
    # which Config.build(config) then refused (App(config=Config.build(shut_cond=...)) failed)
    from skylaunch import App

    config = Config.build(shut_cond="scheduler has more than 3 cycles")
    assert config.model_dump()["shut_cond"] == (SchedulerCycles() > 3)
    assert Config.build(config).shut_cond == (SchedulerCycles() > 3)
    assert App(config=config).session.config.shut_cond == (SchedulerCycles() > 3)
