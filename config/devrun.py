"""`make run`: the whole tool on one machine, stopped cleanly by Ctrl-C.

Starts, in order: the embedded Redis (when REDIS_URL is unset), the Bedrock
emulator (when no AWS credentials are configured), migrations, one Celery worker
(with beat) and uvicorn on http://127.0.0.1:8000. Children run in their own
session so that Ctrl-C reaches only this supervisor, which then stops them in
reverse order; PR_SET_PDEATHSIG makes them exit even if the supervisor is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("PORT", "8000"))
EMULATOR_PORT = int(os.environ.get("EMULATOR_PORT", "8001"))
PYTHON = sys.executable
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Not Linux: no libc.so.6; Ctrl-C handling below still stops everything.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def say(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[make run] error: {message}", file=sys.stderr, flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def aws_credentials_configured() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env = dict(os.environ)

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.children.append((name, process))
        return process

    def adopt(self, name: str, process: subprocess.Popen[bytes]) -> None:
        self.children.append((name, process))

    def stop_all(self) -> None:
        """Stop children one by one, newest first: the web server before the worker, and
        Redis last, so nothing is left talking to a Redis that is already gone."""
        for name, process in reversed(self.children):
            if process.poll() is not None:
                continue
            say(f"stopping {name}")
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                process.kill()
                process.wait()

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None


def check_settings() -> Any:
    """Load settings once so a bad variable stops us with one line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.startup import exit_on_config_error

    with exit_on_config_error():
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    return settings


def wait_for_health(timeout: float) -> dict[str, object] | None:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{WEB_PORT}/healthz", timeout=3) as reply:
                body = json.loads(reply.read())
                if body.get("workers", 0) >= 1:
                    return dict(body)
        except OSError:
            pass
        time.sleep(0.5)
    return None


def main() -> int:
    settings = check_settings()
    redis_socket = settings.EMBEDDED_REDIS_SOCKET if settings.USES_EMBEDDED_REDIS else None
    for port, what in ((WEB_PORT, "the web server"),):
        if not port_free(port):
            fail(f"port {port} for {what} is in use (is `make run` already running?)")
            return 1
    supervisor = Supervisor()
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if redis_socket is not None:
            from config.embedded_redis import EmbeddedRedisError, start

            try:
                supervisor.adopt("embedded Redis", start(redis_socket, preexec_fn=_die_with_parent))
            except EmbeddedRedisError as exc:
                fail(f"the embedded Redis could not start: {exc}")
                return 1
            say(f"embedded Redis on {redis_socket}")

        if not os.environ.get("BEDROCK_ENDPOINT_URL") and not aws_credentials_configured():
            if not port_free(EMULATOR_PORT):
                fail(f"port {EMULATOR_PORT} for the Bedrock emulator is in use")
                return 1
            supervisor.spawn(
                "Bedrock emulator",
                [PYTHON, "-m", "prompting.llm.emulator", "--port", str(EMULATOR_PORT)],
            )
            supervisor.env["BEDROCK_ENDPOINT_URL"] = f"http://{HOST}:{EMULATOR_PORT}"
            supervisor.env["BEDROCK_EMULATOR"] = "true"
            say(f"no AWS credentials: Bedrock emulator on http://{HOST}:{EMULATOR_PORT}")

        # One metrics directory for every process of this machine (config/metrics.py),
        # emptied at each start: counters of processes that no longer exist must go.
        metrics_dir = settings.VAR_DIR / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        supervisor.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

        migrate = subprocess.run(
            [PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], env=supervisor.env
        )
        if migrate.returncode != 0:
            fail("database migrations failed (see above)")
            return 1

        supervisor.spawn(
            "Celery worker",
            [
                PYTHON, "-m", "celery", "-A", "config", "worker", "--beat",
                "-Q", "interactive,cpu", "--pool", "threads", "--concurrency", "16",
                "--loglevel", "WARNING", "--hostname", "dev@%h",
                "--schedule", str(settings.VAR_DIR / "celerybeat"),
            ],
        )  # fmt: skip
        supervisor.spawn(
            "web server",
            [
                PYTHON, "-m", "uvicorn", "config.asgi:application",
                "--host", HOST, "--port", str(WEB_PORT), "--log-level", "warning",
            ],
        )  # fmt: skip
        health = wait_for_health(timeout=90)
        if health is None and not stopping:
            fail("the site did not become healthy within 90 s")
            return 1
        if not stopping:
            say(f"ready: open http://{HOST}:{WEB_PORT}/  (health: {health})")
            say("press Ctrl-C to stop everything")
        while not stopping:
            exited = supervisor.first_exited()
            if exited:
                fail(f"{exited[0]} exited with code {exited[1]}; stopping the rest")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        supervisor.stop_all()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
