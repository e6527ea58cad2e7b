"""A private stack for fault tests: its own Redis, workers, beat and web server.

The session stack (tests/support/live.py) is shared by every live test, so a test that
kills a worker or restarts Redis there would break the tests after it. `private_stack`
starts, per test, the production topology on a Redis of its own:

    embedded redis-server  (unix socket under /tmp: socket paths must stay < 100 chars)
    celery worker -Q interactive   (thread pool: generations)
    celery worker -Q cpu           (policy)
    celery worker -Q watchdog      (the reaper's task: deadlines, dead workers)
    celery beat                    (its own process, as in production: it outlives a
                                    killed worker, so the reaper keeps running)
    uvicorn                        (the SSE endpoint)

It shares the test database and the session's in-process Bedrock emulator (so a test can
count what Bedrock received). Runs are queued on the private broker: `stack.send(...)`
creates them with `run_services.run_create`, whose dispatch (on commit) is pointed at this
stack's Redis instead of the session's.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from config import embedded_redis
from config.supervisor import Service
from tests.support.processes import (
    start_beat,
    start_web,
    start_worker,
    wait_worker_ready,
)


class PrivateStack:
    """Handles on the private processes; every method is something a test does to them."""

    def __init__(self, env: dict[str, str]) -> None:
        # mkdtemp under /tmp keeps the socket path short (AF_UNIX allows ~108 bytes).
        self.directory = Path(tempfile.mkdtemp(prefix="cas-", dir="/tmp"))
        self.tag = self.directory.name
        self.socket_path = self.directory / "r.sock"
        self.redis: subprocess.Popen[bytes] | None = embedded_redis.start(self.socket_path)
        self.redis_url = f"unix://{self.socket_path}"
        self.env = {**env, "REDIS_URL": self.redis_url}
        self._processes: list[Service] = []
        self._celery: Celery | None = None
        try:
            # Start the workers together and wait afterwards: each loads the policy engine.
            self.interactive = self._track(self._worker("interactive"))
            self.cpu = self._track(self._worker("cpu"))
            # The light watchdog worker, as in production: it outlives both pools.
            self.watchdog = self._track(self._worker("watchdog"))
            web, self.url = start_web(self.env)
            self.web = self._track(web)
            self.beat = self._track(
                start_beat(self.env, name=f"{self.tag}-beat", schedule=self.directory / "beat")
            )
            wait_worker_ready(self.interactive)
            wait_worker_ready(self.cpu)
            wait_worker_ready(self.watchdog)
        except BaseException:
            self.close()
            raise

    # -- what tests do ------------------------------------------------------------------

    def send(self, user: Any, text: str) -> Any:
        """A new conversation and message queued on this stack's broker (policy → generate)."""
        # Imported here: this module loads as a pytest plugin, before Django's apps are ready.
        from prompting import services
        from prompting.runs import dispatch
        from prompting.runs import services as run_services

        conversation = services.conversation_create(owner=user)

        # Only the broker changes: run_create still decides, records and dispatches on commit.
        def to_this_broker(name: str, args: Any) -> None:
            self.celery.send_task(name, args=list(args))

        with dispatch.sending_to(to_this_broker):
            return run_services.run_create(user=user, conversation=conversation, text=text)

    def kill_interactive_worker(self) -> None:
        """SIGKILL to the interactive worker's whole process group, as the OOM killer does."""
        self.interactive.kill(signal.SIGKILL)
        self.interactive.process.wait(timeout=10)

    def start_interactive_worker(self) -> None:
        """A fresh interactive worker, as a supervisor would start after a crash."""
        self.interactive = self._track(self._worker("interactive"))
        wait_worker_ready(self.interactive)

    def redis_stop(self) -> None:
        """Kill redis-server (no persistence: every stream and queued message is gone)."""
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(timeout=10)
            self.redis = None

    def redis_start(self) -> None:
        """Start an empty redis-server on the same socket (it removes the stale one)."""
        self.redis = embedded_redis.start(self.socket_path)

    @property
    def celery(self) -> Celery:
        """A Celery app like the product's, publishing to this stack's Redis."""
        if self._celery is None:
            broker = self.redis_url.replace("unix://", "redis+socket://", 1)
            # A broker given here wins over the settings' CELERY_BROKER_URL.
            app = Celery(f"stack-{self.tag}", broker=broker, set_as_current=False)
            app.config_from_object("django.conf:settings", namespace="CELERY")
            self._celery = app
        return self._celery

    def logs(self) -> str:
        """The tail of every process's log, for assertion messages."""
        return "\n".join(f"--- {p.name}\n{p.tail(2000)}" for p in self._processes)

    def close(self) -> None:
        for process in reversed(self._processes):
            with contextlib.suppress(Exception):
                process.stop()
        if self._celery is not None:
            self._celery.close()
        self.redis_stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- internals --------------------------------------------------------------------

    def _worker(self, queue: str) -> Service:
        return start_worker(
            self.env, name=f"{self.tag}-{queue}", queues=queue, beat=False, wait=False
        )

    def _track(self, process: Service) -> Service:
        self._processes.append(process)
        return process


@pytest.fixture
def private_stack(
    live_env: dict[str, str], bedrock_emulator: Any, transactional_db: None
) -> Iterator[PrivateStack]:
    """Redis, interactive and cpu workers, beat and uvicorn for this test alone."""
    stack = PrivateStack(live_env)
    yield stack
    stack.close()
