"""In-memory, indexed history of task actions: what conditions read instead of the repo.

Each task keeps, per action, a sorted array of POSIX timestamps, so "last success", "any finish
since 10:00" and "fails since the last success" are a bisect away, whatever the size of the log.
The lifecycle writes here at the moment it logs a record; at start-up the session rebuilds it from
the repo. Memory is bounded: at most ``max_records`` timestamps per task and action (older ones are
dropped in amortised batches); the repo keeps everything.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Literal, cast

__all__ = ["ACTIONS", "FINISH_ACTIONS", "ROW_RESETS", "Action", "TaskHistory", "TaskLog"]

Action = Literal["run", "success", "fail", "terminate", "inaction", "crash"]
"""What happened to a task; the one definition the whole package uses."""
ACTIONS: tuple[Action, ...] = ("run", "success", "fail", "terminate", "inaction", "crash")
FINISH_ACTIONS: tuple[Action, ...] = ("success", "fail", "terminate", "inaction")
# The actions that end a row of failures (``retry``): any end but a failure, and a crash.
ROW_RESETS: tuple[Action, ...] = ("success", "crash", "inaction", "terminate")
_RESETS = frozenset(ROW_RESETS)


class TaskLog:
    """The actions of one task."""

    __slots__ = (
        "_fails_in_row",
        "_max_records",
        "_times",
        "_trim_at",
        "last_action",
        "last_time",
        "running",
        "version",
    )

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        #: Counts the changes of this log: a reader that keeps something computed from it
        #: (the dashboard's outcome strips) recomputes only when the number moved.
        self.version = 0
        self._times: dict[str, array[float]] = {a: array("d") for a in ACTIONS}
        self.last_action: Action | None = None
        self.last_time: float | None = None
        # run_id -> start timestamp, for runs that have started and not ended
        self.running: dict[str, float] = {}
        # failures since the last of ROW_RESETS, in the order the records were added (which
        # timestamps alone cannot tell at equal instants); None when that order is unknown
        self._fails_in_row: int | None = 0

    @property
    def max_records(self) -> int:
        """Timestamps kept per action (older ones dropped in batches, see :meth:`add`)."""
        return self._max_records

    @max_records.setter
    def max_records(self, value: int) -> None:
        self._max_records = value
        # the length past which add() trims, a number to compare with (twice a run)
        self._trim_at = value + (value >> 2)

    def add(self, action: Action, ts: float, run_id: str | None = None) -> None:
        self.version += 1
        times = self._times[action]
        last_time = self.last_time
        if last_time is not None and ts < last_time:
            self._fails_in_row = None  # out of order: count by timestamps from now on
            if not times or times[-1] <= ts:
                times.append(ts)
            else:  # (restore, clock set back): keep the index sorted
                insort(times, ts)
        else:
            row = self._fails_in_row
            if row is not None:
                if action == "fail":
                    self._fails_in_row = row + 1
                elif row and action in _RESETS:
                    self._fails_in_row = 0
            self.last_action = action
            self.last_time = ts
            # no time of any action is later than last_time (it is the newest in order, or
            # the newest restored): ts goes last
            times.append(ts)
        if len(times) > self._trim_at:
            del times[: len(times) - self._max_records]
        if action == "run":
            self.running[run_id or ""] = ts
        elif run_id is not None:
            self.running.pop(run_id, None)
        elif self.running:
            # an end without a run id closes the oldest open run
            del self.running[min(self.running, key=self.running.__getitem__)]

    def load(
        self,
        times: Mapping[str, Sequence[float]],
        recent: Sequence[tuple[float, str, str | None]] = (),
    ) -> None:
        """Replace this log with restored records.

        ``times``: per action, timestamps oldest first (built in bulk into one array per
        action, so restoring a large repo stays fast). ``recent``: the task's newest records
        of any action, ``(ts, action, run_id)`` oldest first, in which open runs are looked
        for: a ``run`` whose ``run_id`` no later record ends is open. Runs without an id follow
        Rocketry's rule: open when the newest id-less record is a ``run``.
        """
        self.version += 1
        last: tuple[float, int] | None = None
        last_action: str | None = None
        for action in ACTIONS:
            got = array("d", sorted(times.get(action, ())))  # linear when already sorted
            if len(got) > self.max_records:
                del got[: len(got) - self.max_records]
            self._times[action] = got
            if got:
                # at equal instants an end sorts after the run it ends
                key = (got[-1], 0 if action == "run" else 1)
                if last is None or key >= last:
                    last, last_action = key, action
        for ts, name, _ in recent:
            key = (ts, 0 if name == "run" else 1)
            if name in ACTIONS and (last is None or key >= last):
                last, last_action = key, name
        self.last_action = cast("Action | None", last_action)
        self.last_time = None if last is None else last[0]
        ended = {run_id for _, action, run_id in recent if action != "run"}
        running = {
            run_id: ts
            for ts, action, run_id in recent
            if action == "run" and run_id is not None and run_id not in ended
        }
        anonymous = [
            (ts, 0 if action == "run" else 1, action)
            for ts, action, run_id in recent
            if run_id is None
        ]
        if anonymous and max(anonymous)[2] == "run":
            running[""] = max(anonymous)[0]
        self.running = running
        self._fails_in_row = _fails_in_row(recent, len(times.get("fail", ())))

    def fails_in_row(self) -> int:
        """Failures since the task last succeeded, crashed, did nothing or was terminated.

        Counted in the order the records were logged, so a failure logged after a terminate at
        the same instant is in the row (``retry``); by timestamps where that order is unknown.
        """
        if self._fails_in_row is not None:
            return self._fails_in_row
        return self.count_after("fail", self.last_of(ROW_RESETS))

    def last(self, action: Action) -> float | None:
        times = self._times[action]
        return times[-1] if times else None

    def last_of(self, actions: Iterable[Action]) -> float | None:
        best: float | None = None
        for action in actions:
            times = self._times[action]
            if times and (best is None or times[-1] > best):
                best = times[-1]
        return best

    def count(self, action: Action, start: float | None = None, end: float | None = None) -> int:
        """Records of ``action`` with ``start <= ts <= end`` (open bounds when ``None``)."""
        times = self._times[action]
        lo = 0 if start is None else bisect_left(times, start)
        hi = len(times) if end is None else bisect_right(times, end)
        return max(0, hi - lo)

    def count_after(self, action: Action, after: float | None) -> int:
        """Records of ``action`` strictly later than ``after`` (all when ``None``)."""
        times = self._times[action]
        if after is None:
            return len(times)
        return len(times) - bisect_right(times, after)

    def any_between(self, actions: Iterable[Action], start: float, end: float) -> bool:
        for action in actions:
            times = self._times[action]
            if times and times[-1] >= start:
                i = bisect_left(times, start)
                if i < len(times) and times[i] <= end:
                    return True
        return False

    def times_between(self, action: Action, start: float | None, end: float | None) -> list[float]:
        """Timestamps of ``action`` with ``start <= ts <= end`` (open bounds when ``None``)."""
        times = self._times[action]
        lo = 0 if start is None else bisect_left(times, start)
        hi = len(times) if end is None else bisect_right(times, end)
        return times[lo:hi].tolist()

    def times(self, action: Action) -> Iterator[float]:
        return iter(self._times[action])

    def __len__(self) -> int:
        return sum(len(t) for t in self._times.values())


def _fails_in_row(recent: Sequence[tuple[float, str, str | None]], n_fails: int) -> int | None:
    """Failures after the last reset among ``recent`` (oldest first, in logged order).

    None when ``recent`` holds no reset and fewer failures than the task has: the row began
    before the window and only timestamps can count it.
    """
    row = 0
    for _, action, _ in reversed(recent):
        if action in ROW_RESETS:
            return row
        if action == "fail":
            row += 1
    return row if row >= n_fails else None


class TaskHistory:
    """The history of every task of a session, with a hook called on each change."""

    __slots__ = ("_logs", "logs", "max_records", "on_change", "version")

    def __init__(self, max_records: int = 10_000) -> None:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        self.max_records = max_records
        self._logs: dict[str, TaskLog] = {}
        #: The logs by task name, read only (the journal's hot path reads it to add a record
        #: without a call through :meth:`add`; every change goes through this class).
        self.logs: Mapping[str, TaskLog] = self._logs
        #: Counts the changes of every task's log (added, loaded, forgotten): what a cache of
        #: something computed from the whole history (the dashboard's timeline) compares.
        self.version = 0
        self.on_change: Callable[[str], None] | None = None

    def of(self, task_name: str) -> TaskLog:
        log = self._logs.get(task_name)
        if log is None:
            log = self._logs[task_name] = TaskLog(self.max_records)
        return log

    def add(self, task_name: str, action: Action, ts: float, run_id: str | None = None) -> None:
        self.version += 1
        log = self._logs.get(task_name)
        if log is None:
            log = self.of(task_name)
        log.add(action, ts, run_id)
        on_change = self.on_change
        if on_change is not None:
            on_change(task_name)

    def load(
        self,
        task_name: str,
        times: Mapping[str, Sequence[float]],
        recent: Sequence[tuple[float, str, str | None]] = (),
    ) -> TaskLog:
        """Replace a task's log with restored records (see :meth:`TaskLog.load`)."""
        self.version += 1
        log = self._logs[task_name] = TaskLog(self.max_records)
        log.load(times, recent)
        if self.on_change is not None:
            self.on_change(task_name)
        return log

    def forget(self, task_name: str) -> None:
        self.version += 1
        self._logs.pop(task_name, None)

    def clear(self) -> None:
        self.version += 1
        self._logs.clear()

    def __contains__(self, task_name: object) -> bool:
        return task_name in self._logs

    def task_names(self) -> list[str]:
        return list(self._logs)
