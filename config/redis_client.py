"""One Redis connection pool per process, built on first use (never at import)."""

from __future__ import annotations

import functools

import redis
import redis.asyncio
from django.conf import settings


@functools.cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2, decode_responses=True
    )


def async_redis_client() -> redis.asyncio.Redis:
    # Async clients are bound to an event loop, so they are not cached globally;
    # each SSE connection makes one and closes it.
    return redis.asyncio.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, decode_responses=True
    )
