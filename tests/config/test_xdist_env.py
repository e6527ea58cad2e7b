"""Each pytest-xdist worker gets its own Redis database (tests/support/xdist_env.py)."""

from __future__ import annotations

import pytest

from tests.support.xdist_env import ROOT, _with_database, isolate


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


def test_a_worker_is_moved_to_its_own_redis_and_var_directory_once() -> None:
    environ = {
        "PYTEST_XDIST_WORKER": "gw1",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "EMBEDDED_REDIS_SOCKET": "var/test-redis.sock",
    }
    isolate(environ)
    moved = dict(environ)
    assert moved["REDIS_URL"] == "redis://127.0.0.1:6379/2"
    assert moved["EMBEDDED_REDIS_SOCKET"] == "var/test-redis-gw1.sock"
    assert moved["VAR_DIR"] == str(ROOT / "var" / "gw1")
    # A pytest started by a test in a subprocess inherits the moved environment.
    isolate(environ)
    assert environ == moved


def test_outside_xdist_nothing_moves() -> None:
    environ = {"REDIS_URL": "redis://127.0.0.1:6379/1"}
    isolate(environ)
    assert environ == {"REDIS_URL": "redis://127.0.0.1:6379/1"}
