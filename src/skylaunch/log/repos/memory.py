"""The in-process repo: the default store and the test double users test their schedules with.

Records are kept in buckets keyed by ``(task_name, action)``, each sorted by ``(created,
insertion number)``. The queries the scheduler makes ("runs of task x", "the last success of
x", "x's records since t") therefore touch one task's buckets and bisect on ``created``
instead of scanning everything; records usually arrive in ``created`` order, so keeping the
buckets sorted costs an append.

``max_per_task`` bounds memory in a long-running process: when a task holds more than
``max_per_task + max_per_task // 16`` records, its oldest ones (smallest ``created``) are
dropped in one batch, down to ``max_per_task``. The default (``None``) keeps everything.

Writes from the scheduler's own lifecycle are on its hot path (two per run), so they skip
validation: :meth:`MemoryRepo.add_trusted` stores the plain field dict the handler built, and
reads turn such dicts into model instances (``model_construct``) only when asked for them. User
items given to ``add``/``insert`` are validated as before.
"""

from __future__ import annotations

import heapq
import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from itertools import islice
from typing import TYPE_CHECKING, Any

from skylaunch.log._lifecycle import Lifecycle, lifecycle_fields
from skylaunch.log._models import TASK_RUN_FIELDS
from skylaunch.log.query import (
    Between,
    Equal,
    GreaterEqual,
    GreaterThan,
    In,
    LessEqual,
    LessThan,
    Operator,
    Query,
)
from skylaunch.log.repos.base import BaseRepo, Order, field_getter, trusted_fields_fill

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["MemoryRepo"]

_TRUSTED_FIELDS: tuple[str, ...] = TASK_RUN_FIELDS
"""The fields of a lifecycle record as ``RepoHandler`` hands them to :meth:`MemoryRepo.add_trusted`."""


_INDEXED = ("task_name", "action")
_NEG_INF = float("-inf")


def _created_key(value: Any) -> float:
    """The sort key of a ``created`` value: POSIX seconds; missing values sort first."""
    if value is None:
        return _NEG_INF
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"created must be POSIX seconds (a number) or a datetime; got {value!r}")


class _Failed:
    """A compact lifecycle record's run id and traceback (the record of a failed run)."""

    __slots__ = ("exc_text", "run_id")

    def __init__(self, run_id: str, exc_text: str) -> None:
        self.run_id = run_id
        self.exc_text = exc_text


_NO_START = math.nan


class _Bucket:
    """Items of one (task_name, action), with parallel sorted keys.

    An item is what was stored (a dict or a model), or a compact lifecycle record (see
    :meth:`MemoryRepo.add_lifecycle`): its run id (a ``str``) or a :class:`_Failed`, with its
    start in ``starts`` (NaN for other items) and its zone in ``tz``. :meth:`at` gives every
    item as stored or, for a compact one, as the field dict it stands for.

    ``starts`` is None while every compact record started at its own ``created`` (a ``run``
    record, always in practice): the column is made, from ``created``, at the first record
    that started earlier. Sequence numbers are unsigned (``Q``), whose append converts the
    int directly (``q`` and ``d`` go through the generic argument parser).
    """

    __slots__ = ("action", "created", "items", "seqs", "starts", "task", "tz")

    def __init__(self, task: Any = None, action: Any = None) -> None:
        self.task = task
        self.action = action
        self.tz: tzinfo | None = None
        self.items: list[Any] = []
        self.created: array[float] = array("d")
        self.seqs: array[int] = array("Q")
        self.starts: array[float] | None = None

    def own_starts(self) -> array[float]:
        """The ``starts`` column, made from ``created`` if it was not kept yet."""
        starts = self.starts
        if starts is None:
            starts = self.starts = array("d", self.created)
        return starts

    def place(self, key: float, seq: int, item: Any, start: float = _NO_START) -> None:
        starts = self.starts
        if starts is None and start != key and start == start:  # noqa: PLR0124 - not NaN
            starts = self.own_starts()
        created = self.created
        if not created or key > created[-1] or (key == created[-1] and seq > self.seqs[-1]):
            created.append(key)
            self.seqs.append(seq)
            self.items.append(item)
            if starts is not None:
                starts.append(start)
            return
        pos = bisect_left(created, key)
        while pos < len(created) and created[pos] == key and self.seqs[pos] < seq:
            pos += 1
        created.insert(pos, key)
        self.seqs.insert(pos, seq)
        self.items.insert(pos, item)
        if starts is not None:
            starts.insert(pos, start)

    def at(self, i: int) -> Any:
        """The item at ``i``; a compact lifecycle record as its fields (a new dict)."""
        item = self.items[i]
        kind = type(item)
        if kind is str:
            run_id, exc_text = item, None
        elif kind is _Failed:
            run_id, exc_text = item.run_id, item.exc_text
        else:
            return item
        tz = self.tz
        assert tz is not None  # set with the first compact record
        starts = self.starts
        start = datetime.fromtimestamp(self.created[i] if starts is None else starts[i], tz)
        return lifecycle_fields(
            self.task, self.action, self.created[i], start, run_id, exc_text, tz
        )

    def keep_only(self, keep: list[int]) -> None:
        self.items = [self.items[i] for i in keep]
        self.created = array("d", [self.created[i] for i in keep])
        self.seqs = array("Q", [self.seqs[i] for i in keep])
        starts = self.starts
        if starts is not None:
            self.starts = array("d", [starts[i] for i in keep])

    def replace(self, i: int, item: Any) -> None:
        self.items[i] = item
        if self.starts is not None:  # (without the column, only compact items read it)
            self.starts[i] = _NO_START

    def drop_first(self, n: int) -> None:
        del self.items[:n], self.created[:n], self.seqs[:n]
        if self.starts is not None:
            del self.starts[:n]


def _pinned(query: Query, field: str) -> tuple[Any, ...] | None:
    """The values ``field`` may take under ``query``, when an equal/in_ pins it."""
    allowed: tuple[Any, ...] | None = None
    for name, oper in query:
        if name != field:
            continue
        if isinstance(oper, Equal):
            values: tuple[Any, ...] = (oper.value,)
        elif isinstance(oper, In):
            values = oper.values
        else:
            continue
        allowed = values if allowed is None else tuple(v for v in allowed if v in values)
    return allowed


def _bound(value: Any) -> float | None:
    try:
        return _created_key(value)
    except TypeError:
        return None  # not a time bound: no pruning, the residual check decides


def _created_range(bucket: _Bucket, opers: Sequence[Operator]) -> tuple[int, int]:
    """The slice of ``bucket`` that the ``created`` conditions leave (pruning only)."""
    keys = bucket.created
    lo, hi = 0, len(keys)
    for oper in opers:
        if isinstance(oper, Between):
            start, end = _bound(oper.start), _bound(oper.end)
            if start is not None and end is not None:
                lo = max(lo, bisect_left(keys, start))
                hi = min(hi, bisect_right(keys, end))
            continue
        if not isinstance(oper, (GreaterThan, GreaterEqual, LessThan, LessEqual, Equal)):
            continue
        bound = None if oper.value is None else _bound(oper.value)
        if bound is None:
            continue
        if isinstance(oper, (GreaterEqual, Equal)):
            lo = max(lo, bisect_left(keys, bound))
        if isinstance(oper, (LessEqual, Equal)):
            hi = min(hi, bisect_right(keys, bound))
        if isinstance(oper, GreaterThan):
            lo = max(lo, bisect_right(keys, bound))
        if isinstance(oper, LessThan):
            hi = min(hi, bisect_left(keys, bound))
    return lo, max(lo, hi)


def _entries(
    bucket: _Bucket, lo: int, hi: int, descending: bool
) -> Iterator[tuple[float, int, Any]]:
    indexes = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
    created, seqs, at = bucket.created, bucket.seqs, bucket.at
    return ((created[i], seqs[i], at(i)) for i in indexes)


class MemoryRepo(BaseRepo[Any]):
    """Records in this process's memory, indexed by task and action.

    ``model=None`` stores dicts; a pydantic model stores (and returns) its instances. Reads
    return the stored objects themselves, as Red Bird does (do not mutate them, use
    ``filter_by(...).update(...)``), except the scheduler's own records, which are kept compact
    and built anew on each read. Safe to use from several threads.
    """

    def __init__(
        self,
        model: type[BaseModel] | None = None,
        id_field: str | None = None,
        *,
        max_per_task: int | None = None,
    ) -> None:
        super().__init__(model, id_field)
        if max_per_task is not None and (
            not isinstance(max_per_task, int) or isinstance(max_per_task, bool) or max_per_task < 1
        ):
            raise ValueError(f"max_per_task must be a positive int or None; got {max_per_task!r}")
        self.max_per_task = max_per_task
        if "_size_cap" not in self.__dict__:
            # a subclass hid the property with a plain class attribute: the window is still
            # the argument's, as before the property existed
            cap = self.max_per_task
            self._size_cap: float = math.inf if cap is None else cap + (cap >> 4)
        self.takes_trusted = trusted_fields_fill(self._model)
        """Whether :meth:`add_trusted` may be used (the model needs no more than those fields)."""
        self._tasks: dict[Any, dict[Any, _Bucket]] = {}
        self._task_sizes: dict[Any, int] = {}
        self._seq = 0
        self._lock = threading.RLock()
        self._plain_insert = type(self).insert_items is MemoryRepo.insert_items

    @property
    def max_per_task(self) -> int | None:
        """The window: records kept per task (None: all)."""
        return self._max_per_task

    @max_per_task.setter
    def max_per_task(self, value: int | None) -> None:
        self._max_per_task = value
        # the size past which add_lifecycle trims (see _count_one), a number to compare with
        self._size_cap = math.inf if value is None else value + (value >> 4)

    def __repr__(self) -> str:
        model = None if self._model is None else self._model.__name__
        return f"MemoryRepo(model={model}, max_per_task={self.max_per_task})"

    # -- writing ----------------------------------------------------------------------------

    def insert_items(self, items: Sequence[Any]) -> None:
        with self._lock:
            for item in items:
                self._seq += 1
                self._place(item, self._seq)

    def add_trusted(self, fields: dict[str, Any]) -> None:
        """Store a lifecycle record's fields (:data:`_TRUSTED_FIELDS`) as they are, unvalidated.

        For :class:`~skylaunch.log.handler.RepoHandler` only, and only when
        :attr:`takes_trusted`: the dict is kept (not copied) and becomes a model on read.
        """
        if self._plain_insert:  # two records per run: skip the batch machinery
            with self._lock:
                self._seq += 1
                self._place(fields, self._seq)
            return
        self.insert_items((fields,))  # through insert_items, so subclasses see every write

    def add_lifecycle(self, parts: Lifecycle) -> None:
        """Store one of the scheduler's own records from its parts (the hot path, two per run).

        Kept compact: the run id (shared by the run's records), the start and the position,
        about 32 bytes a record besides the run id; the fields dict (:meth:`add_trusted`'s)
        is built when the record is read. Records that do not fit that form (no run id, a
        start in another zone than the bucket's) and repos whose ``insert_items`` is
        overridden get the dict.
        """
        task_name, action, created, start, run_id, exc_text, tz, start_ts = parts
        if (
            not self._plain_insert
            or type(run_id) is not str
            or (start is not None and start.tzinfo is not tz)  # (None: start_ts in tz)
            or type(created) is not float
        ):
            self.add_trusted(lifecycle_fields(*parts))
            return
        item: str | _Failed = run_id if exc_text is None else _Failed(run_id, exc_text)
        if start_ts is None:
            assert start is not None  # one of the two is given
            start_ts = start.timestamp()
        lock = self._lock
        lock.acquire()  # not `with`: a third cheaper, on a path taken twice a run
        try:
            seq = self._seq = self._seq + 1
            actions = self._tasks.get(task_name)
            bucket = None if actions is None else actions.get(action)
            if actions is None or bucket is None:
                actions, bucket = self._bucket_of(task_name, action)
            if bucket.tz is not tz:
                if bucket.tz is not None:  # the session's zone changed: keep the dict
                    bucket.place(created, seq, lifecycle_fields(*parts))
                    self._count_one(task_name, actions)
                    return
                bucket.tz = tz
            keys = bucket.created
            if keys and created < keys[-1]:
                bucket.place(created, seq, item, start_ts)
            else:  # the newest, as usual: place()'s append, without its call
                starts = bucket.starts
                if starts is None and start_ts != created:
                    starts = bucket.own_starts()
                keys.append(created)
                bucket.seqs.append(seq)
                bucket.items.append(item)
                if starts is not None:
                    starts.append(start_ts)
            sizes = self._task_sizes
            size = sizes.get(task_name, 0) + 1
            if size <= self._size_cap:  # _count_one's common case
                sizes[task_name] = size
            else:
                self._count_one(task_name, actions)
        finally:
            lock.release()

    def _bucket_of(self, task: Any, action: Any) -> tuple[dict[Any, _Bucket], _Bucket]:
        """The task's buckets and the one of ``action``, made when missing."""
        actions = self._tasks.get(task)
        if actions is None:
            actions = self._tasks[task] = {}
        bucket = actions.get(action)
        if bucket is None:
            bucket = actions[action] = _Bucket(task, action)
        return actions, bucket

    def _materialize(self, item: Any) -> Any:
        model = self.model
        if model is not None and type(item) is dict:
            return model.model_construct(**item)
        return item

    def _place(self, item: Any, seq: int) -> None:
        if type(item) is dict:
            task, action, created = item.get("task_name"), item.get("action"), item.get("created")
        else:
            get = field_getter(item)
            task, action, created = get("task_name"), get("action"), get("created")
        key = created if type(created) is float else _created_key(created)
        actions, bucket = self._bucket_of(task, action)
        bucket.place(key, seq, item)
        self._count_one(task, actions)

    def _count_one(self, task: Any, actions: dict[Any, _Bucket]) -> None:
        """One more record of ``task``: over the window, drop its oldest in a batch."""
        size = self._task_sizes.get(task, 0) + 1
        limit = self.max_per_task
        if limit is not None and size > limit + (limit >> 4):
            self._drop_oldest(actions, size - limit)
            size = limit
        self._task_sizes[task] = size

    @staticmethod
    def _drop_oldest(actions: dict[Any, _Bucket], n: int) -> None:
        """Drop the task's ``n`` oldest records, in one batch (a slice per bucket).

        Dropping one record per add would shift every bucket list each time (measured: ~10 µs
        per add at 10,000 records); batches of ``max_per_task // 16`` make it amortised O(1).
        """
        # The n oldest overall are among the n oldest of each bucket (each is sorted): sort
        # those few in C rather than walk a heapq.merge generator in Python (that walk was
        # ~2 µs per record dropped, i.e. per record added once the window is full: bench W3).
        # First by ``created`` alone (floats, no tuples): when exactly n records are at or
        # before the n-th oldest instant, those are the n to drop, whatever their seqs.
        keys: list[float] = []
        for b in actions.values():
            keys.extend(b.created[:n])
        if not keys:
            return
        keys.sort()
        edge = keys[min(n, len(keys)) - 1]
        cuts = {action: bisect_right(b.created, edge) for action, b in actions.items()}
        if sum(cuts.values()) == min(n, len(keys)):
            for action, cut in cuts.items():
                bucket = actions[action]
                if cut:
                    bucket.drop_first(cut)
                if not bucket.items:
                    del actions[action]
            return
        # records at the edge instant beyond the n: the order of their seqs decides
        candidates: list[tuple[float, int]] = []
        for b in actions.values():
            candidates.extend(zip(b.created[:n], b.seqs[:n], strict=True))
        candidates.sort()
        cutoff = candidates[min(n, len(candidates)) - 1]
        for action in list(actions):
            bucket = actions[action]
            cut = bisect_right(bucket.created, cutoff[0])
            while cut > 0 and (bucket.created[cut - 1], bucket.seqs[cut - 1]) > cutoff:
                cut -= 1
            if cut:
                bucket.drop_first(cut)
            if not bucket.items:
                del actions[action]

    # -- reading ----------------------------------------------------------------------------

    def _buckets(self, query: Query) -> list[_Bucket]:
        tasks = _pinned(query, "task_name")
        actions = _pinned(query, "action")
        per_task: Iterable[dict[Any, _Bucket]]
        if tasks is None:
            per_task = self._tasks.values()
        else:
            per_task = [self._tasks[t] for t in dict.fromkeys(tasks) if t in self._tasks]
        if actions is None:
            return [b for bs in per_task for b in bs.values()]
        wanted = tuple(dict.fromkeys(actions))
        return [bs[a] for bs in per_task for a in wanted if a in bs]

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        found = self._select(query, order, limit)
        if self.model is not None:
            found = [self._materialize(item) for item in found]
        return iter(found)

    def query_values(
        self, query: Query, fields: Sequence[str], *, order: Order, limit: int | None
    ) -> Iterator[tuple[Any, ...]]:
        for item in self._select(query, order, limit):
            get = field_getter(item)
            yield tuple(get(name) for name in fields)

    def _select(self, query: Query, order: Order, limit: int | None) -> list[Any]:
        """The stored objects (trusted dicts not yet turned into models) matching ``query``."""
        descending = order == "-created"
        # task_name/action equality is answered by the bucket choice; the rest is checked.
        residual = tuple(
            (name, oper)
            for name, oper in query
            if not (name in _INDEXED and isinstance(oper, (Equal, In)))
        )
        created_opers = [oper for name, oper in query if name == "created"]
        with self._lock:
            streams = []
            for bucket in self._buckets(query):
                lo, hi = _created_range(bucket, created_opers)
                if lo >= hi:
                    continue
                streams.append(_entries(bucket, lo, hi, descending))
            merged: Iterator[tuple[float, int, Any]] = (
                streams[0] if len(streams) == 1 else heapq.merge(*streams, reverse=descending)
            )
            found: Iterator[Any] = (entry[2] for entry in merged)
            if residual:
                rest = Query(residual)
                found = (item for item in found if rest.matches(field_getter(item)))
            return list(found if limit is None else islice(found, limit))

    def count(self, query: Query) -> int:
        if all(name in _INDEXED and isinstance(oper, (Equal, In)) for name, oper in query):
            with self._lock:
                return sum(len(b.items) for b in self._buckets(query))
        return super().count(query)

    # -- changing ---------------------------------------------------------------------------

    def _matching(self, query: Query) -> list[tuple[_Bucket, list[int]]]:
        found = []
        for bucket in self._buckets(query):
            at = bucket.at
            hits = [i for i in range(len(bucket.items)) if query.matches(field_getter(at(i)))]
            if hits:
                found.append((bucket, hits))
        return found

    def _remove(self, bucket: _Bucket, hits: list[int]) -> list[tuple[int, Any]]:
        """Take the items at ``hits`` out of ``bucket``; return them with their seqs."""
        taken = [(bucket.seqs[i], bucket.at(i)) for i in hits]
        gone = set(hits)
        bucket.keep_only([i for i in range(len(bucket.items)) if i not in gone])
        for _, item in taken:
            task = field_getter(item)("task_name")
            self._task_sizes[task] -= 1
        return taken

    def _prune_empty(self) -> None:
        for task in [t for t, n in self._task_sizes.items() if n == 0]:
            del self._task_sizes[task]
            self._tasks.pop(task, None)
        for actions in self._tasks.values():
            for action in [a for a, b in actions.items() if not b.items]:
                del actions[action]

    def _changed(self, item: Any, values: Mapping[str, Any]) -> Any:
        if self.model is None:
            return {**item, **values}
        current = item if type(item) is dict else item.model_dump()
        return self.model.model_validate({**current, **values})

    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        with self._lock:
            changed = 0
            moved: list[tuple[int, Any]] = []
            for bucket, hits in self._matching(query):
                if any(name in values for name in ("task_name", "action", "created")):
                    moved.extend(
                        (seq, self._changed(item, values))
                        for seq, item in self._remove(bucket, hits)
                    )
                else:
                    for i in hits:
                        bucket.replace(i, self._changed(bucket.at(i), values))
                changed += len(hits)
            self._prune_empty()
            for seq, item in sorted(moved, key=lambda pair: pair[0]):
                self._place(item, seq)
            return changed

    def delete_items(self, query: Query) -> int:
        with self._lock:
            removed = sum(len(self._remove(bucket, hits)) for bucket, hits in self._matching(query))
            self._prune_empty()
            return removed
