"""skylaunch.core: Rocketry's ``rocketry.core`` names, reached through the package attribute."""

from __future__ import annotations

import subprocess
import sys

import skylaunch
from skylaunch import Config, Session
from skylaunch.args import BaseArgument, Parameters
from skylaunch.conds import Condition
from skylaunch.scheduler import Scheduler
from skylaunch.tasks import Task
from skylaunch.time import TimePeriod


def test_core_names_are_the_skylaunch_classes() -> None:
    from skylaunch import core

    assert getattr(skylaunch, "core") is core  # noqa: B009 - the attribute path Rocketry code uses
    assert core.Task is Task
    assert core.BaseCondition is Condition
    assert core.Scheduler is Scheduler
    assert core.Session is Session
    assert core.Config is Config
    assert core.Parameters is Parameters
    assert core.BaseArgument is BaseArgument
    assert core.TimePeriod is TimePeriod
    assert isinstance(Session().scheduler, core.Scheduler)


def test_import_skylaunch_loads_core_on_first_use() -> None:
    code = (
        "import sys, skylaunch as rocketry; print('skylaunch.core' in sys.modules); "
        "print(rocketry.core.Task.__name__, 'skylaunch.core' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["False", "Task True"]
