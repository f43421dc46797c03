from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

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


def test_app_run_debug_warns_that_there_is_no_debug_mode() -> None:
    from skylaunch.testing import simulated_app

    app = simulated_app(shut_cond="scheduler has more than 1 cycles")
    with pytest.warns(DeprecationWarning, match="'debug' has no effect"):
        app.run(debug=True)
    assert app.session.config.debug is True
