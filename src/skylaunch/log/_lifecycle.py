"""The fields of the scheduler's own records (run, success, fail...), built in one place.

The journal hands a lifecycle record to the repo handler as its parts; the fields dict (the
fields of :class:`~skylaunch.log.records.TaskRunRecord`) is built only where a store needs it:
the in-memory repo keeps the parts and builds it when the record is read.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

__all__: list[str] = []

Lifecycle = tuple[
    str, str, float, "datetime | None", "str | None", "str | None", tzinfo, "float | None"
]
"""A lifecycle record as its parts: task name, action, created (POSIX seconds), the run's
start, run id, traceback text, the session's zone (that of ``start`` and of the end), and
``start.timestamp()`` when the scheduler has it already (None: computed when needed). The
start is None when the scheduler did not make it: it is then ``start_ts`` in the zone."""


def lifecycle_fields(
    task_name: str,
    action: str,
    created: float,
    start: datetime | None,
    run_id: str | None,
    exc_text: str | None,
    tz: tzinfo,
    start_ts: float | None = None,
) -> dict[str, Any]:
    """A lifecycle record's fields: a run has no end; an end's runtime counts from ``start``
    (``start_ts``, its POSIX seconds, when given; ``start`` None: made from it in ``tz``)."""
    if start is None:
        assert start_ts is not None  # a start not made is given by its timestamp
        start = datetime.fromtimestamp(start_ts, tz)
    if action == "run":
        end: datetime | None = None
        runtime: timedelta | None = None
    else:
        end = datetime.fromtimestamp(created, tz)
        runtime = timedelta(seconds=created - (start.timestamp() if start_ts is None else start_ts))
    return {
        "task_name": task_name,
        "action": action,
        "created": created,
        "start": start,
        "end": end,
        "runtime": runtime,
        "message": f"Task '{task_name}' status: '{action}'",
        "exc_text": exc_text,
        "run_id": run_id,
    }
