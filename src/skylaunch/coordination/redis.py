"""A lease in Redis, next to the task records of a :class:`~skylaunch.log.repos.redis.RedisRepo`.

The lease is a hash ``{prefix}:lease:<name>`` (holder, epoch, token ``"<epoch>:<holder>"``,
when taken and renewed) with a time to live; the epoch comes from ``INCR`` of
``{prefix}:lease:<name>:epoch``, a counter that never expires. Each operation is one Lua
script, which Redis runs alone, start to end, with its own clock. What each step relies on:

- **take / renew**: the script reads the hash; a key that outlived its ``PEXPIRE`` does not
  exist for it (Redis decides expiry with its clock, fixed for the script's run). No key: the
  caller takes the lease under ``INCR`` of the counter. The caller's own key: its time to live
  is set to the lease again (same epoch). Another holder's live key: nothing changes.
- **fencing**: every insert of the repo is a script that compares the lease's ``token`` with
  the writer's before it writes (:data:`~skylaunch.log.repos.redis.FENCED_REPLY` otherwise).
  Scripts run one at a time: a record is either written before a take (and so before the new
  active's restore reads it) or refused after it. A writer paused for longer than its lease
  sends, when it wakes up, a script that finds the key gone or holding another epoch.
- **release**: deletes the key when it still holds the releaser's token; the next take makes a
  new epoch at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, cast

import redis

from skylaunch.coordination.lease import LeaseState
from skylaunch.exc import FencedWriteError

__all__ = ["RedisLease"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_STATE = """
local h = redis.call('HMGET', KEYS[1], 'holder', 'epoch', 'acquired', 'renewed')
if not h[1] then return false end
return {h[1], h[2], h[3], h[4], string.format('%d', now), redis.call('PTTL', KEYS[1])}
"""

# KEYS: lease, epoch counter. ARGV: holder, lease in ms.
_TAKE = (
    _NOW
    + """
local holder = redis.call('HGET', KEYS[1], 'holder')
local stamp = string.format('%d', now)
if holder == ARGV[1] then
  redis.call('HSET', KEYS[1], 'renewed', stamp)
elseif not holder then
  local epoch = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'epoch', epoch,
             'token', epoch .. ':' .. ARGV[1], 'acquired', stamp, 'renewed', stamp)
else
  return false
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
    + _STATE
)

_READ = _NOW + _STATE

# KEYS: lease. ARGV: token.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _instant(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, timezone.utc)


class RedisLease:
    """The lease ``name`` kept under the key ``key`` (and ``key + ":epoch"``) of ``client``.

    Same methods as :class:`~skylaunch.coordination.lease.PostgresLease`, plus
    :meth:`token`, what the repo's insert script compares the lease with.
    """

    def __init__(self, client: redis.Redis, *, key: str, name: str = "default") -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"the lease name must be a non-empty string, got {name!r}")
        self.client = client
        self.key = key
        self.name = name
        self._keys = [key, key + ":epoch"]
        self._take = client.register_script(_TAKE)
        self._read = client.register_script(_READ)
        self._release = client.register_script(_RELEASE)

    def __repr__(self) -> str:
        return f"<RedisLease {self.key}>"

    def create(self) -> None:
        """Nothing to create: the keys appear with the first take."""

    def _state(self, reply: Any) -> LeaseState | None:
        if not reply:
            return None
        holder, epoch, acquired, renewed, now, ttl = reply
        now_at = _instant(now)
        return LeaseState(
            self.name,
            str(holder),
            int(epoch),
            _instant(acquired),
            _instant(renewed),
            now_at + timedelta(milliseconds=max(int(ttl), 0)),
            now_at,
        )

    def take(self, holder: str, lease_s: float) -> LeaseState | None:
        """Take the lease if no live key holds it, or extend it if ``holder`` holds it
        (see :meth:`PostgresLease.take <skylaunch.coordination.lease.PostgresLease.take>`)."""
        ms = max(1, round(lease_s * 1000))
        return self._state(self._take(keys=self._keys, args=[holder, ms]))

    def read(self) -> LeaseState | None:
        """The lease as Redis has it now, or None if no replica holds a live one."""
        return self._state(self._read(keys=self._keys[:1]))

    def release(self, holder: str, epoch: int) -> bool:
        """End ``holder``'s lease now (a standby takes over at its next poll)."""
        return bool(self._release(keys=self._keys[:1], args=[self.token(holder, epoch)]))

    @staticmethod
    def token(holder: str, epoch: int | None) -> str:
        """What the lease's ``token`` field holds while ``holder`` holds it under ``epoch``."""
        if epoch is None:
            raise FencedWriteError(f"replica {holder!r} holds no lease: the write is refused")
        return f"{epoch}:{holder}"

    @property
    def epoch(self) -> int:
        """The last epoch given (0: never taken)."""
        return int(cast("str | None", self.client.get(self._keys[1])) or 0)
