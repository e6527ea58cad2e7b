"""Start the product's real processes (uvicorn, Celery worker, Bedrock emulator) for tests.

They run as subprocesses against the same test database and Redis as the test
process, so tests that use them must use the `transactional_db` fixture (data
committed, visible to other processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

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


class ServiceProcess:
    """One subprocess with its log in test-output/logs/<name>.log."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        (OUTPUT / "logs").mkdir(parents=True, exist_ok=True)
        self.log_path = OUTPUT / "logs" / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        # The log is appended to across runs: readiness checks must only see this run's
        # lines, or a "ready." from an earlier run passes before this process is ready.
        self._log_start = self._log.tell()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log: {self.tail()}")
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout}s; log: {self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        self._log.flush()
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")[-chars:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole process group (prefork/thread children included)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.process.wait()
        self._log.close()


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_worker(
    env: dict[str, str],
    *,
    name: str = "worker",
    queues: str = "interactive,cpu",
    beat: bool = True,
    wait: bool = True,
) -> ServiceProcess:
    """A thread-pool worker. `beat=False` when beat runs as its own process (production's
    topology: killing a worker must not stop the reaper). `wait=False` returns at once so
    several processes can start in parallel; call `wait_worker_ready` later."""
    beat_args = ["--beat", "--schedule", str(OUTPUT / f"celerybeat-{name}-{os.getpid()}")]
    service = ServiceProcess(
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


def wait_worker_ready(service: ServiceProcess, timeout: float = 90) -> None:
    service.wait_until(lambda: "ready." in service.tail(100_000), timeout=timeout)


def start_beat(env: dict[str, str], *, name: str = "beat", schedule: Path) -> ServiceProcess:
    """`celery beat` as its own process, as in production; returns once it has started."""
    service = ServiceProcess(
        name,
        python_command(
            "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(schedule),
        ),
        env,
    )  # fmt: skip
    service.wait_until(lambda: "beat: Starting" in service.tail(100_000), timeout=60)
    return service


def start_web(env: dict[str, str]) -> tuple[ServiceProcess, str]:
    port = free_port()
    service = ServiceProcess(
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
