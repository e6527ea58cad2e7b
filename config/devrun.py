"""`make run`: the whole tool on one machine, stopped cleanly by Ctrl-C.

Starts, in order: the embedded Redis (when REDIS_URL is unset), the Bedrock
emulator (when no AWS credentials are configured), migrations, one Celery worker
(with beat) and uvicorn on http://127.0.0.1:8000, through config/supervisor.py:
Ctrl-C reaches only this process, which stops them in reverse order, Redis last.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import boto3

# Before Django is imported; settings load (lazily) at check_settings().
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# DEBUG defaults to false (production, config/settings.py); `make run` is development:
# generated secrets in var/, the development sign-in. An explicit DEBUG=false is kept.
os.environ.setdefault("DEBUG", "true")

from django.conf import settings

from config import embedded_redis
from config.startup import exit_on_config_error
from config.supervisor import Supervisor, die_with_parent

HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("PORT", "8000"))
EMULATOR_PORT = int(os.environ.get("EMULATOR_PORT", "8001"))
PYTHON = sys.executable


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
    return boto3.Session().get_credentials() is not None


def check_settings() -> None:
    """Load settings once so a bad variable stops us with one line."""
    with exit_on_config_error():
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load


def wait_for_health(timeout: float) -> dict[str, object] | None:
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
    check_settings()
    redis_socket = settings.EMBEDDED_REDIS_SOCKET if settings.USES_EMBEDDED_REDIS else None
    for port, what in ((WEB_PORT, "the web server"),):
        if not port_free(port):
            fail(f"port {port} for {what} is in use (is `make run` already running?)")
            return 1
    supervisor = Supervisor(say=say)
    env = dict(os.environ)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if redis_socket is not None:
            try:
                supervisor.adopt(
                    "embedded Redis", embedded_redis.start(redis_socket, preexec_fn=die_with_parent)
                )
            except embedded_redis.EmbeddedRedisError as exc:
                fail(f"the embedded Redis could not start: {exc}")
                return 1
            say(f"embedded Redis on {redis_socket}")

        if not os.environ.get("BEDROCK_ENDPOINT_URL") and not aws_credentials_configured():
            if not port_free(EMULATOR_PORT):
                fail(f"port {EMULATOR_PORT} for the Bedrock emulator is in use")
                return 1
            supervisor.start(
                "Bedrock emulator",
                [PYTHON, "-m", "prompting.llm.emulator", "--port", str(EMULATOR_PORT)],
                env=env,
                with_parent=True,
            )
            env["BEDROCK_ENDPOINT_URL"] = f"http://{HOST}:{EMULATOR_PORT}"
            env["BEDROCK_EMULATOR"] = "true"
            say(f"no AWS credentials: Bedrock emulator on http://{HOST}:{EMULATOR_PORT}")

        # One metrics directory for every process of this machine (config/metrics.py),
        # emptied at each start: counters of processes that no longer exist must go.
        metrics_dir = settings.VAR_DIR / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

        migrate = subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], env=env)
        if migrate.returncode != 0:
            fail("database migrations failed (see above)")
            return 1

        supervisor.start(
            "Celery worker",
            [
                PYTHON, "-m", "celery", "-A", "config", "worker", "--beat",
                "-Q", "interactive,cpu,watchdog", "--pool", "threads", "--concurrency", "16",
                "--loglevel", "WARNING", "--hostname", "dev@%h",
                "--schedule", str(settings.VAR_DIR / "celerybeat"),
            ],
            env=env,
            with_parent=True,
        )  # fmt: skip
        supervisor.start(
            "web server",
            [
                PYTHON, "-m", "uvicorn", "config.asgi:application",
                "--host", HOST, "--port", str(WEB_PORT), "--log-level", "warning",
            ],
            env=env,
            with_parent=True,
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
