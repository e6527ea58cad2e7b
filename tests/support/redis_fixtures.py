"""A Redis of the test's own (a real redis-server on a private socket), for tests that must
not see keys other processes write to the session's Redis (the live worker's presence keys,
queued messages)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from config import embedded_redis
from config.redis_client import redis_client


@pytest.fixture
def isolated_redis() -> Iterator[str]:
    """Points this process's Redis client (and REDIS_URL) at a fresh, empty Redis."""
    directory = Path(tempfile.mkdtemp(prefix="r-", dir="/tmp"))  # short: AF_UNIX limit
    socket_path = directory / "r.sock"
    process = embedded_redis.start(socket_path)
    previous = settings.REDIS_URL
    settings.REDIS_URL = f"unix://{socket_path}"
    redis_client.cache_clear()
    try:
        yield settings.REDIS_URL
    finally:
        settings.REDIS_URL = previous
        redis_client.cache_clear()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
