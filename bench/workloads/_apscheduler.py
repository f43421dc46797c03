"""What the APScheduler scripts share (imported by them only: it needs APScheduler 3)."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.base import BaseTrigger

__all__ = ["AlwaysTrigger"]


class AlwaysTrigger(BaseTrigger):
    """Due now, and again one microsecond after each fire time (returning ``now`` alone makes
    APScheduler's catch-up loop, which collects fire times up to now, never end).

    It lives in a module of its own so that a persistent job store can pickle it by reference.
    """

    def get_next_fire_time(self, previous_fire_time, now):  # type: ignore[no-untyped-def]
        if previous_fire_time is None:
            return now
        return max(now, previous_fire_time + timedelta(microseconds=1))
