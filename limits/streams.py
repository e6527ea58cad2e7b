"""A cap on open SSE streams per employee (LIMITS_MAX_OPEN_STREAMS, default 20).

Each open stream is a member of the employee's sorted set (score: last seen). Opening
one past the cap does not refuse the new tab: the oldest stream is told to close, and
closes with a long `retry:` so its EventSource comes back later instead of at once (one
user's 400 tabs were 400 Redis connections). Stale members (a web process killed
mid-stream) drop out after STALE_MS without a refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import redis
import redis.asyncio
from django.conf import settings

from config.redis_client import async_redis_client

STALE_MS = 60_000
CHECK_EVERY_S = 1.0
CLOSED_RETRY_MS = 60_000
CLOSE_EVENT = (
    f"retry: {CLOSED_RETRY_MS}\n"
    ": closed because this account has too many open streams; reconnecting later\n\n"
)

_OPEN = """
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
local count = redis.call('ZCARD', KEYS[1])
if count <= cap then return {} end
local evicted = redis.call('ZRANGE', KEYS[1], 0, count - cap - 1)
for _, member in ipairs(evicted) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('SET', 'lim:sse:close:' .. member, '1', 'PX', tonumber(ARGV[4]))
end
return evicted
"""

# One client per event loop (one per web process under uvicorn): the cap's few
# commands must not add a Redis connection per stream.
_clients: dict[int, redis.asyncio.Redis] = {}


def _client() -> redis.asyncio.Redis:
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None:
        client = _clients[loop_id] = async_redis_client()
    return client


def streams_key(user_id: object) -> str:
    return f"lim:sse:u:{user_id}"


async def stream_open(user_id: object, stream_id: str) -> list[str]:
    """Register a stream; returns the ids of the streams it pushed out."""
    now = int(time.time() * 1000)
    evicted = await _client().eval(  # type: ignore[misc]
        _OPEN,
        1,
        streams_key(user_id),
        str(now),
        str(settings.LIMITS_MAX_OPEN_STREAMS),
        stream_id,
        str(STALE_MS),
    )
    return list(evicted)


async def capped(user_id: object, body: AsyncIterator[str]) -> AsyncIterator[str]:
    """`body`, unless this stream is pushed out by a newer one of the same employee:
    then a `retry:` hint and the end. Redis trouble never ends a stream by itself."""
    stream_id = uuid.uuid4().hex
    key = streams_key(user_id)
    try:
        await stream_open(user_id, stream_id)
    except redis.RedisError:
        stream_id = ""
    checked = time.monotonic()
    try:
        async for chunk in body:
            yield chunk
            if stream_id and time.monotonic() - checked >= CHECK_EVERY_S:
                checked = time.monotonic()
                try:
                    if await _client().delete(f"lim:sse:close:{stream_id}"):
                        yield CLOSE_EVENT
                        return
                    await _client().zadd(key, {stream_id: int(time.time() * 1000)}, xx=True)
                except redis.RedisError:
                    pass
    finally:
        if stream_id:
            with contextlib.suppress(redis.RedisError, RuntimeError):
                await _client().zrem(key, stream_id)
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
