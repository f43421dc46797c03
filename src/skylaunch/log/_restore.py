"""Reading a task's history back from a repo at start-up (internal: the journal calls it).

Every function takes any repo: a foreign one is seen through :func:`~skylaunch.log.repos.foreign.as_store`
like ours, so there is one path. A store that ``reads_by_index`` (ours) is asked narrowly, per
action, newest first with a limit (one index seek each on SQL); another is read once per task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from skylaunch.log.query import Equal, GreaterEqual, Operator, Query
from skylaunch.log.repos.base import Repo
from skylaunch.log.repos.foreign import as_store

__all__ = ["restore_query", "restore_recent", "restore_times"]


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _of_task(task_name: str) -> Query:
    return Query((("task_name", Equal(task_name)),))


def restore_times(
    repo: Repo, task_name: str, *, limit: int, actions: Sequence[str]
) -> dict[str, list[float]]:
    """Per action, the ``created`` of the task's newest ``limit`` records, oldest first.

    What start-up needs for the history that conditions read: one index seek per action on
    SQL reading one column (no model built, no strings), bucket slices in memory. A store
    without such an index is read once, newest first.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0; got {limit!r}")
    store = as_store(repo)
    found: dict[str, list[float]] = {}
    if store.reads_by_index:
        for action in actions:
            query = Query((("task_name", Equal(task_name)), ("action", Equal(action))))
            values = store.query_column(query, "created", order="-created", limit=limit)
            times = [v if type(v) is float else _seconds(v) for v in values if v is not None]
            times.reverse()
            found[action] = times
        return found
    wanted = set(actions)
    rows = store.query_values(
        _of_task(task_name), ("action", "created"), order="-created", limit=None
    )
    for action, created in rows:
        if action in wanted and created is not None:
            times = found.setdefault(action, [])
            if len(times) < limit:
                times.append(_seconds(created))
    for times in found.values():
        times.reverse()
    return found


def restore_recent(
    repo: Repo, task_name: str, *, limit: int
) -> list[tuple[float, str, str | None]]:
    """The task's newest ``limit`` records of any action as ``(created, action, run_id)``,
    oldest first: the window in which start-up looks for runs that never ended."""
    values = as_store(repo).query_values(
        _of_task(task_name), ("created", "action", "run_id"), order="-created", limit=limit
    )
    rows = [(c if type(c) is float else _seconds(c), a, r) for c, a, r in values if c is not None]
    rows.reverse()
    return rows


def restore_query(
    repo: Repo, task_name: str, since: float | None = None, limit: int = 1000
) -> list[Any]:
    """A task's newest records, newest first: what start-up needs to rebuild its history.

    ``since`` (POSIX seconds, inclusive) and ``limit`` bound the read. Our repos answer from
    an index (SQL: ``ORDER BY created DESC LIMIT n`` on ``(task_name, created)``; memory: the
    task's buckets); a foreign repo is read with ``filter_by(task_name=...)`` and sorted here.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0; got {limit!r}")
    conditions: list[tuple[str, Operator]] = [("task_name", Equal(task_name))]
    if since is not None:
        conditions.append(("created", GreaterEqual(since)))
    return list(as_store(repo).query_items(Query(tuple(conditions)), order="-created", limit=limit))
