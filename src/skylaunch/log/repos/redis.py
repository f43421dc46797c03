"""Task records in Redis: a hash of JSON documents, indexed by sorted sets per task and action.

Every key of one repo starts with ``{key_prefix}`` (braces included: a Redis Cluster hash tag,
so that the keys of a repo, and the coordination lease kept next to them, live in one slot and
one Lua script may touch them all):

- ``{p}:items``: a hash, insertion number (16 zero-padded digits) -> the record as JSON;
- ``{p}:seq``: the insertion counter (``INCR``);
- ``{p}:all``: a sorted set of every insertion number, scored by ``created``;
- ``{p}:bucket:["task","action"]``: the same, for one task and action;
- ``{p}:tasks`` and ``{p}:actions:"task"``: sets naming the buckets.

Equal scores sort by member, and members are zero-padded insertion numbers, so "ordered by
``created``, ties in insertion order" is what ``ZRANGEBYSCORE`` returns. The queries the
scheduler makes at start-up read one bucket each: the newest ``n`` run times of a task's
action are one ``ZREVRANGEBYSCORE ... LIMIT 0 n WITHSCORES`` (the scores are the times, no
document is read); a task's newest records are one such read per action plus one ``HMGET``.
Other conditions are checked on the documents in Python.

Inserts are one Lua script per batch (atomic). With coordination
(:class:`~skylaunch.coordination.Coordination`) the same script first compares the lease key
with the writer's token and refuses the batch when they differ or the key expired: Redis
fences the write, in the step that writes it.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, cast

try:
    import redis
except ImportError as exc:  # pragma: no cover - exercised without the extra only
    raise ImportError(
        "skylaunch.log.repos.redis needs the 'redis' package: pip install 'skylaunch[redis]'"
    ) from exc
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from skylaunch.exc import FencedWriteError, RepoUnavailableError
from skylaunch.log import query as q
from skylaunch.log._redact import redact_url
from skylaunch.log.query import Operator, Query
from skylaunch.log.repos.base import BaseRepo, Order, field_getter
from skylaunch.log.repos.memory import _created_key, _pinned

__all__ = ["FENCED_REPLY", "RedisRepo", "WriteGuard"]

FENCED_REPLY = "SKYLAUNCH_FENCED"
"""The error the insert script answers with when the lease does not match."""

WriteGuard = Callable[[Callable[[str, str], None]], None]
"""``guard(write)``: calls ``write(lease_key, token)`` (raising
:class:`~skylaunch.exc.FencedWriteError` instead when the writer holds no lease)."""

# KEYS: lease, seq, items, all, tasks, then (bucket, actions) per item.
# ARGV: token ('' = unfenced), n, then (json, score, task key part, action) per item.
_INSERT = f"""
if ARGV[1] ~= '' then
  local held = redis.call('HGET', KEYS[1], 'token')
  if held ~= ARGV[1] then
    return redis.error_reply('{FENCED_REPLY} the lease is ' .. (held or 'not held'))
  end
end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local member = string.format('%016d', redis.call('INCR', KEYS[2]))
  local score = ARGV[4 + i * 4]
  redis.call('HSET', KEYS[3], member, ARGV[3 + i * 4])
  redis.call('ZADD', KEYS[4], score, member)
  redis.call('ZADD', KEYS[6 + i * 2], score, member)
  redis.call('SADD', KEYS[5], ARGV[5 + i * 4])
  redis.call('SADD', KEYS[7 + i * 2], ARGV[6 + i * 4])
end
return n
"""

_INDEXED = ("task_name", "action")
_CHUNK = 256


def _number(value: Any) -> float | None:
    """A bound the scores can take (a plain number), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return None


def _score_range(opers: Sequence[Operator]) -> tuple[str, str, list[Operator]]:
    """``ZRANGEBYSCORE`` bounds for the numeric ``created`` conditions, and the rest."""
    lo, lo_open = float("-inf"), False
    hi, hi_open = float("inf"), False
    rest: list[Operator] = []

    def low(value: float, open_: bool) -> None:
        nonlocal lo, lo_open
        if value > lo or (value == lo and open_):
            lo, lo_open = value, open_

    def high(value: float, open_: bool) -> None:
        nonlocal hi, hi_open
        if value < hi or (value == hi and open_):
            hi, hi_open = value, open_

    for oper in opers:
        if isinstance(oper, q.Between):
            start, end = _number(oper.start), _number(oper.end)
            if start is None or end is None:
                rest.append(oper)
                continue
            low(start, False)
            high(end, False)
            continue
        value = _number(getattr(oper, "value", None))
        if value is None or not isinstance(
            oper, (q.GreaterThan, q.GreaterEqual, q.LessThan, q.LessEqual, q.Equal)
        ):
            rest.append(oper)
            continue
        if isinstance(oper, (q.GreaterThan, q.GreaterEqual, q.Equal)):
            low(value, isinstance(oper, q.GreaterThan))
        if isinstance(oper, (q.LessThan, q.LessEqual, q.Equal)):
            high(value, isinstance(oper, q.LessThan))
    return ("(" if lo_open else "") + repr(lo), ("(" if hi_open else "") + repr(hi), rest


class RedisRepo(BaseRepo[Any]):
    """Task records in the Redis server at ``url``, under keys starting with ``{key_prefix}``.

    ``model`` as for the other repos: a pydantic model whose instances are stored as JSON and
    validated back on read, or ``None`` for plain dicts (stored as JSON: a ``datetime`` reads
    back as its ISO string). ``socket_timeout_s`` bounds every call; a server that does not
    answer raises :class:`~skylaunch.exc.RepoUnavailableError`, which the record handler
    buffers and retries. Updates and deletes are transactions (``MULTI``), not fenced.
    """

    def __init__(
        self,
        url: str,
        model: type[BaseModel] | None = None,
        *,
        key_prefix: str = "skylaunch",
        id_field: str | None = None,
        socket_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(model, id_field)
        if not isinstance(key_prefix, str) or not key_prefix or "}" in key_prefix:
            raise ValueError(
                f"key_prefix must be a non-empty string without '}}'; got {key_prefix!r}"
            )
        self.url = url
        self.key_prefix = key_prefix
        self.base = "{" + key_prefix + "}"
        """What every key of this repo starts with (a Cluster hash tag)."""
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
        )
        self.write_guard: WriteGuard | None = None
        """Wraps every insert: :class:`~skylaunch.coordination.Coordination` hands the script
        the lease key and its token, so Redis refuses a stale replica's records."""
        self._insert = self.client.register_script(_INSERT)
        self._seq_key = f"{self.base}:seq"
        self._items_key = f"{self.base}:items"
        self._all_key = f"{self.base}:all"
        self._tasks_key = f"{self.base}:tasks"

    def __repr__(self) -> str:
        model = None if self.model is None else self.model.__name__
        return f"RedisRepo({redact_url(self.url)!r}, model={model}, key_prefix={self.key_prefix!r})"

    def key(self, *parts: str) -> str:
        """A key of this repo (``{prefix}:part:part``), e.g. the lease ``key("lease", name)``."""
        return ":".join((self.base, *parts))

    def _bucket_key(self, task: Any, action: Any) -> str:
        return f"{self.base}:bucket:{json.dumps([task, action])}"

    def _actions_key(self, task: Any) -> str:
        return f"{self.base}:actions:{json.dumps(task)}"

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise RepoUnavailableError(f"{redact_url(self.url)} is unavailable: {exc}") from exc
        except redis.ResponseError as exc:
            if str(exc).startswith(FENCED_REPLY):
                raise FencedWriteError(
                    f"Redis refused the write: {str(exc)[len(FENCED_REPLY) + 1 :]}"
                ) from None
            raise

    def close(self) -> None:
        self.client.close()

    # -- writing ------------------------------------------------------------------------------

    def _document(self, item: Any) -> str:
        if isinstance(item, BaseModel):
            return item.model_dump_json()
        return json.dumps(to_jsonable_python(item))

    def insert_items(self, items: Sequence[Any]) -> None:
        keys = [""] * 5
        args: list[Any] = ["", len(items)]
        for item in items:
            get = field_getter(item)
            task, action = get("task_name"), get("action")
            keys += [self._bucket_key(task, action), self._actions_key(task)]
            args += [self._document(item), repr(_created_key(get("created"))), json.dumps(task)]
            args.append(json.dumps(action))
        # the set members are the JSON of the names (names of any type read back as given)
        keys[1:5] = [self._seq_key, self._items_key, self._all_key, self._tasks_key]

        def write(lease_key: str, token: str) -> None:
            keys[0], args[0] = lease_key, token
            with self._translate():
                self._insert(keys=keys, args=args)

        guard = self.write_guard
        if guard is None:
            write(self.key("unfenced"), "")
        else:
            guard(write)

    # -- reading ------------------------------------------------------------------------------

    def _keys(self, query: Query) -> list[str]:
        """The sorted sets that hold every match of ``query``."""
        tasks = _pinned(query, "task_name")
        actions = _pinned(query, "action")
        if tasks is None and actions is None:
            return [self._all_key]
        if tasks is None:
            names = cast("set[str]", self.client.smembers(self._tasks_key))
            tasks = tuple(json.loads(t) for t in sorted(names))
        tasks = tuple(dict.fromkeys(tasks))
        if actions is not None:
            wanted = tuple(dict.fromkeys(actions))
            return [self._bucket_key(t, a) for t in tasks for a in wanted]
        pipe = self.client.pipeline(transaction=False)
        for task in tasks:
            pipe.smembers(self._actions_key(task))
        found = pipe.execute()
        return [
            self._bucket_key(t, json.loads(a))
            for t, acts in zip(tasks, found, strict=True)
            for a in sorted(acts)
        ]

    def _plan(self, query: Query) -> tuple[list[str], str, str, Query]:
        """Sorted sets to read, the score range, and the conditions left to check."""
        keys = self._keys(query)
        created = [oper for name, oper in query if name == "created"]
        lo, hi, rest = _score_range(created)
        residual = [
            (name, oper)
            for name, oper in query
            if name != "created" and not (name in _INDEXED and isinstance(oper, (q.Equal, q.In)))
        ]
        residual += [("created", oper) for oper in rest]
        return keys, lo, hi, Query(tuple(residual))

    def _members(
        self, keys: list[str], lo: str, hi: str, order: Order, limit: int | None
    ) -> list[tuple[str, float]]:
        """``(member, score)`` of every key within the range, merged in ``order``."""
        descending = order == "-created"
        pipe = self.client.pipeline(transaction=False)
        start = None if limit is None else 0
        for key in keys:
            if descending:
                pipe.zrevrangebyscore(key, hi, lo, start=start, num=limit, withscores=True)
            else:
                pipe.zrangebyscore(key, lo, hi, start=start, num=limit, withscores=True)
        found: list[list[tuple[str, float]]] = pipe.execute()
        if len(found) == 1:
            merged: Iterator[tuple[str, float]] = iter(found[0])
        else:
            merged = heapq.merge(*found, key=lambda m: (m[1], m[0]), reverse=descending)
        return list(merged if limit is None else islice(merged, limit))

    def _load(self, raw: str) -> Any:
        data = json.loads(raw)
        return data if self.model is None else self.model.model_validate(data)

    def _select(
        self, query: Query, order: Order, limit: int | None
    ) -> Iterator[tuple[str, float, Any]]:
        """``(member, score, item)`` of the matches, in ``order``."""
        if limit == 0:
            return
        with self._translate():
            keys, lo, hi, residual = self._plan(query)
            members = self._members(keys, lo, hi, order, None if residual else limit)
        found = 0
        for start in range(0, len(members), _CHUNK):
            chunk = members[start : start + _CHUNK]
            with self._translate():
                docs = cast(
                    "list[str | None]", self.client.hmget(self._items_key, [m for m, _ in chunk])
                )
            for (member, score), raw in zip(chunk, docs, strict=True):
                if raw is None:
                    continue  # deleted meanwhile
                item = self._load(raw)
                if residual and not residual.matches(field_getter(item)):
                    continue
                yield member, score, item
                found += 1
                if limit is not None and found >= limit:
                    return

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        return (item for _, _, item in list(self._select(query, order, limit)))

    def query_values(
        self, query: Query, fields: Sequence[str], *, order: Order, limit: int | None
    ) -> Iterator[tuple[Any, ...]]:
        if limit != 0:
            with self._translate():
                keys, lo, hi, residual = self._plan(query)
                if not residual:
                    members = self._members(keys, lo, hi, order, limit)
                    if tuple(fields) == ("created",):  # the scores are the answer
                        return iter([(score,) for _, score in members])
                    return iter(self._raw_values(members, fields))
        rows = [
            tuple(field_getter(item)(name) for name in fields)
            for _, _, item in self._select(query, order, limit)
        ]
        return iter(rows)

    def _raw_values(
        self, members: list[tuple[str, float]], fields: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """``fields`` of each member's document as JSON has them, no model built: what
        start-up reads (``created``, ``action``, ``run_id``) needs no conversion."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(members), _CHUNK):
            chunk = [member for member, _ in members[start : start + _CHUNK]]
            with self._translate():
                docs = cast("list[str | None]", self.client.hmget(self._items_key, chunk))
            for raw in docs:
                if raw is not None:
                    data = json.loads(raw)
                    rows.append(tuple(data.get(name) for name in fields))
        return rows

    def count(self, query: Query) -> int:
        with self._translate():
            keys, lo, hi, residual = self._plan(query)
            if residual:
                return sum(1 for _ in self._select(query, "created", None))
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.zcount(key, lo, hi)
            return sum(pipe.execute())

    # -- changing -----------------------------------------------------------------------------

    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        if not values:
            return 0
        matches = list(self._select(query, "created", None))
        moves = any(name in values for name in ("task_name", "action", "created"))
        with self._translate():
            pipe = self.client.pipeline(transaction=True)
            for member, _, item in matches:
                current = item.model_dump() if isinstance(item, BaseModel) else dict(item)
                changed = self.to_item({**current, **values})
                pipe.hset(self._items_key, member, self._document(changed))
                if moves:
                    old, new = field_getter(item), field_getter(changed)
                    task, action = new("task_name"), new("action")
                    new_score = _created_key(new("created"))
                    pipe.zrem(self._bucket_key(old("task_name"), old("action")), member)
                    pipe.zadd(self._bucket_key(task, action), {member: new_score})
                    pipe.zadd(self._all_key, {member: new_score})
                    pipe.sadd(self._tasks_key, json.dumps(task))
                    pipe.sadd(self._actions_key(task), json.dumps(action))
            pipe.execute()
        return len(matches)

    def delete_items(self, query: Query) -> int:
        matches = list(self._select(query, "created", None))
        if not matches:
            return 0
        with self._translate():
            pipe = self.client.pipeline(transaction=True)
            for member, _, item in matches:
                get = field_getter(item)
                pipe.hdel(self._items_key, member)
                pipe.zrem(self._all_key, member)
                pipe.zrem(self._bucket_key(get("task_name"), get("action")), member)
            pipe.execute()
        return len(matches)
