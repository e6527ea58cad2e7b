"""Start the product's real processes (uvicorn, Celery worker, Bedrock emulator) for tests.

They run as subprocesses (config/supervisor.py, as `make run` starts them) against the
same test database and Redis as the test process, so tests that use them must use the
`transactional_db` fixture (data committed, visible to other processes).
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

from config.supervisor import Service

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return 200 <= reply.status < 500
    except OSError:
        return False


def logged_service(name: str, command: list[str], env: dict[str, str]) -> Service:
    """A product process for tests, its log in test-output/logs/<name>.log."""
    return Service(name, command, env=env, log_path=OUTPUT / "logs" / f"{name}.log")


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_worker(
    env: dict[str, str],
    *,
    name: str = "worker",
    queues: str = "interactive,cpu,watchdog",
    beat: bool = True,
    wait: bool = True,
) -> Service:
    """A thread-pool worker. `beat=False` when beat runs as its own process (production's
    topology: killing a worker must not stop the reaper). `wait=False` returns at once so
    several processes can start in parallel; call `wait_worker_ready` later."""
    beat_args = ["--beat", "--schedule", str(OUTPUT / f"celerybeat-{name}-{os.getpid()}")]
    service = logged_service(
        name,
        python_command(
            "-m", "celery", "-A", "config", "worker", "-Q", queues, "--pool", "threads",
            "--concurrency", "8", "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip", *(beat_args if beat else []),
        ),
        env,
    )  # fmt: skip
    if wait:
        wait_worker_ready(service)
    return service


def wait_worker_ready(service: Service, timeout: float = 90) -> None:
    service.wait_until(lambda: "ready." in service.tail(100_000), timeout=timeout)


def start_beat(env: dict[str, str], *, name: str = "beat", schedule: Path) -> Service:
    """`celery beat` as its own process, as in production; returns once it has started."""
    service = logged_service(
        name,
        python_command(
            "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(schedule),
        ),
        env,
    )  # fmt: skip
    service.wait_until(lambda: "beat: Starting" in service.tail(100_000), timeout=60)
    return service


def start_web(env: dict[str, str]) -> tuple[Service, str]:
    port = free_port()
    service = logged_service(
        "web",
        python_command(
            "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning",
        ),
        env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    service.wait_until(lambda: http_ok(f"{url}/healthz"), timeout=60)
    return service, url
