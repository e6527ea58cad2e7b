"""Atomic limit counters in Redis, shared by every web process and worker.

Three kinds of counter, each checked and changed by one Lua script (so two processes,
or two browser tabs, cannot both take the last slot):

- `set`: a sorted set of active runs (member = run id, score = when its lease lapses).
  Releasing is ZREM, so a duplicate release changes nothing and the count can never go
  negative; a lost release (a killed process) lapses with the lease.
- `log`: a sorted set of request times over the last 60 s (a sliding window).
- `sum`: an integer (tokens or micro-dollars) for one calendar window; it holds what was
  used plus what running summaries reserved.

Every sorted set keeps a sentinel member (score +inf), and every counter exists only
once it was built: a key that is missing (never built, expired, or deleted by hand) is
reported as missing and rebuilt from the database (services.py), never read as zero.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from config.redis_client import redis_client

SENTINEL = "~"
SET = "set"
LOG = "log"
SUM = "sum"
RATE_WINDOW_MS = 60_000

_ADMIT = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local n = tonumber(ARGV[3])
local missing = {}
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 0 then missing[#missing + 1] = i end
end
if #missing > 0 then
  table.insert(missing, 1, 'missing')
  return missing
end
local failures = {'refused'}
local plan = {}
for i = 1, n do
  local b = 4 + (i - 1) * 5
  local kind = ARGV[b]
  local limit = tonumber(ARGV[b + 1])
  local amount = tonumber(ARGV[b + 2])
  local used = 0
  local retry = tonumber(ARGV[b + 3]) - now
  local ok = true
  if kind == 'set' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    used = redis.call('ZCARD', KEYS[i]) - 1
    ok = used + 1 <= limit
  elseif kind == 'log' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - 60000)
    used = redis.call('ZCARD', KEYS[i]) - 1
    ok = used + 1 <= limit
    if not ok and used > 0 then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      retry = tonumber(oldest[2]) + 60000 - now
    end
  else
    used = tonumber(redis.call('GET', KEYS[i]))
    if amount > 0 then ok = used + amount <= limit else ok = used < limit end
  end
  if not ok then
    failures[#failures + 1] = i
    failures[#failures + 1] = used
    failures[#failures + 1] = retry
  end
end
if #failures > 1 then return failures end
for i = 1, n do
  local b = 4 + (i - 1) * 5
  local kind = ARGV[b]
  local amount = tonumber(ARGV[b + 2])
  local hold = tonumber(ARGV[b + 4])
  if kind == 'set' then
    redis.call('ZADD', KEYS[i], now + hold, member)
    redis.call('PEXPIREAT', KEYS[i], now + hold + 60000)
  elseif kind == 'log' then
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIREAT', KEYS[i], now + 120000)
  elseif amount > 0 then
    redis.call('INCRBY', KEYS[i], amount)
    redis.call('HSET', KEYS[n + 1], KEYS[i], amount)
    redis.call('PEXPIRE', KEYS[n + 1], hold)
  end
end
return {'ok'}
"""

# KEYS[1]: the run's reservation hash; KEYS[2]: its "settled" mark (a run is settled
# once, whoever calls twice); then one key per ARGV pair (op, amount).
# Ops: 'release' (ZREM the run from an active set), 'add' (INCRBY real usage to a sum
# that exists: a missing sum is rebuilt from the database, which has this run).
_SETTLE = """
local member = ARGV[1]
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', 172800000) then return -1 end
local reserved = redis.call('HGETALL', KEYS[1])
for j = 1, #reserved, 2 do
  local key = reserved[j]
  if redis.call('EXISTS', key) == 1 then
    local left = tonumber(redis.call('GET', key)) - tonumber(reserved[j + 1])
    if left < 0 then left = 0 end
    redis.call('SET', key, left, 'KEEPTTL')
  end
end
redis.call('DEL', KEYS[1])
for i = 3, #KEYS do
  local op = ARGV[2 + (i - 3) * 2]
  local amount = tonumber(ARGV[3 + (i - 3) * 2])
  if op == 'release' then
    redis.call('ZREM', KEYS[i], member)
  elseif amount > 0 and redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], amount)
  end
end
return #reserved / 2
"""

# Build a missing counter (only if still missing: two processes may race to build it).
_BUILD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local kind = ARGV[1]
if kind == 'sum' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('ZADD', KEYS[1], '+inf', ARGV[4])
  for j = 5, #ARGV, 2 do redis.call('ZADD', KEYS[1], ARGV[j], ARGV[j + 1]) end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


@functools.cache
def _scripts() -> dict[str, Any]:
    client = redis_client()
    return {
        "admit": client.register_script(_ADMIT),
        "settle": client.register_script(_SETTLE),
        "build": client.register_script(_BUILD),
    }


@dataclass(frozen=True)
class Check:
    """One counter to check (and take from) on admission."""

    key: str
    kind: str  # set | log | sum
    limit: int
    amount: int = 0  # sum: what to reserve (0: only check that some budget is left)
    resets_at_ms: int = 0  # sum: the window's end; others: a hint for Retry-After
    hold_ms: int = 0  # set: the lease; sum: how long a reservation may live


@dataclass(frozen=True)
class Failure:
    index: int
    used: int
    retry_after_ms: int


@dataclass(frozen=True)
class AdmitResult:
    ok: bool
    missing: tuple[int, ...] = ()
    failures: tuple[Failure, ...] = ()


def reservation_key(member: str) -> str:
    return f"lim:resv:{member}"


def admit(checks: list[Check], *, member: str, now_ms: int) -> AdmitResult:
    """All checks pass and all are taken, or nothing is taken (one script, atomic)."""
    if not checks:
        # No limit applies; still ask Redis, which queues and relays every run: a send
        # it cannot take is refused before anything is created.
        redis_client().ping()
        return AdmitResult(ok=True)
    args: list[Any] = [now_ms, member, len(checks)]
    for check in checks:
        args += [check.kind, check.limit, check.amount, check.resets_at_ms, check.hold_ms]
    keys = [c.key for c in checks] + [reservation_key(member)]
    reply = _scripts()["admit"](keys=keys, args=args)
    if reply[0] == "ok":
        return AdmitResult(ok=True)
    if reply[0] == "missing":
        return AdmitResult(ok=False, missing=tuple(int(i) - 1 for i in reply[1:]))
    values = [int(v) for v in reply[1:]]
    failures = tuple(
        Failure(index=values[j] - 1, used=max(values[j + 1], 0), retry_after_ms=values[j + 2])
        for j in range(0, len(values), 3)
    )
    return AdmitResult(ok=False, failures=failures)


def build(
    key: str,
    kind: str,
    *,
    expire_at_ms: int,
    value: int = 0,
    members: dict[str, int] | None = None,
) -> bool:
    """Create a missing counter from what the database says; False if another process
    built it first."""
    args: list[Any] = [kind, expire_at_ms, value, SENTINEL]
    for member, score in (members or {}).items():
        args += [score, member]
    return bool(_scripts()["build"](keys=[key], args=args))


def settle(*, member: str, release: list[str], add: dict[str, int]) -> int:
    """Give back a run's reservation, its active slot(s), and add its real usage, once:
    a second call for the same run changes nothing (returns -1)."""
    keys = [reservation_key(member), f"lim:settled:{member}"]
    args: list[Any] = [member]
    for key in release:
        keys.append(key)
        args += ["release", 0]
    for key, amount in add.items():
        keys.append(key)
        args += ["add", max(int(amount), 0)]
    return int(_scripts()["settle"](keys=keys, args=args))


def members(key: str, *, scored_below: int | None = None) -> list[str]:
    """The run ids holding slots in an active-runs set (those whose lease lapses before
    `scored_below`, if given: the slots taken before a moment)."""
    high = "+inf" if scored_below is None else f"({scored_below}"
    return [str(m) for m in redis_client().zrangebyscore(key, "-inf", high)]  # type: ignore[union-attr]


def release(key: str, run_ids: list[str]) -> None:
    if run_ids:
        redis_client().zrem(key, *run_ids)
