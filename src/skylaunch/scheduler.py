"""The scheduler class, under the public name Rocketry's imports use.

``session.scheduler`` is the one scheduler a :class:`~skylaunch.Session` builds and wires; you
do not make one yourself. This module names its class so that type annotations and
``isinstance(session.scheduler, Scheduler)`` work, and so that Rocketry's
``from rocketry.core import Scheduler`` has a counterpart. Start and stop it through the
session (``session.start()``, ``session.shut_down()``) or the app.
"""

from __future__ import annotations

from skylaunch._scheduler import Scheduler

__all__ = ["Scheduler"]

Scheduler.__module__ = __name__  # its public home (the class is defined in _scheduler)
