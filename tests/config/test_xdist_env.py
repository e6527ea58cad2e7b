"""Each pytest-xdist worker gets its own Redis database (tests/support/xdist_env.py)."""

from __future__ import annotations

import pytest

from tests.support.xdist_env import _with_database


@pytest.mark.parametrize(
    ("url", "offset", "expected"),
    [
        ("redis://127.0.0.1:6379/1", 0, "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379/1", 1, "redis://127.0.0.1:6379/2"),
        ("redis://:secret@cache:6379/7", 3, "redis://:secret@cache:6379/10"),
        ("redis://127.0.0.1:6379", 1, "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379/", 2, "redis://127.0.0.1:6379/2"),
        ("unix:///tmp/test-redis-gw1.sock", 1, "unix:///tmp/test-redis-gw1.sock"),
    ],
)
def test_each_worker_has_its_own_redis_database(url: str, offset: int, expected: str) -> None:
    assert _with_database(url, offset) == expected
