from __future__ import annotations

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
    with pytest.raises(ConfigError, match="'execution' = 'fast'"):
        Config.build(execution="fast")


def test_conversions() -> None:
    config = Config.build(
        timeout="10 minutes",
        timezone="Europe/Helsinki",
        shut_cond="scheduler has more than 3 cycles",
    )
    assert config.timeout == timedelta(minutes=10)
    assert config.timezone == ZoneInfo("Europe/Helsinki")
    assert config.shut_cond == SchedulerCycles(more_than=3)


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
