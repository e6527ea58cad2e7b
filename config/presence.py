"""Which workers are alive, for which queues, and whether their policy engine is warm.

Each Celery worker's main process refreshes one Redis key every few seconds
(`presence:worker:<hostname>`, expiring after three missed beats) naming the queues it
consumes. A worker that finished loading the policy engine sets
`presence:warm:<hostname>`. Readiness (`/healthz/ready`), the worker gauges in `/metrics`
and anything that must know "is someone consuming the cpu queue right now?" read these
keys: one SCAN, instead of a broadcast ping that waits for every worker to answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis

from config.redis_client import redis_client

logger = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
EXPIRES_SECONDS = 15  # three missed beats: the worker is gone
WORKER_KEY = "presence:worker:{hostname}"
WARM_KEY = "presence:warm:{hostname}"
WARM_EXPIRES_SECONDS = 24 * 3600  # liveness comes from the worker key, not this one


@dataclass(frozen=True)
class WorkerPresence:
    hostname: str
    queues: frozenset[str]
    warm: bool


def worker_announce(*, hostname: str, queues: set[str]) -> None:
    redis_client().set(
        WORKER_KEY.format(hostname=hostname),
        json.dumps({"queues": sorted(queues), "pid": os.getpid(), "at": time.time()}),
        ex=EXPIRES_SECONDS,
    )


def worker_mark_warm(*, hostname: str) -> None:
    redis_client().set(WARM_KEY.format(hostname=hostname), "1", ex=WARM_EXPIRES_SECONDS)


def worker_leave(*, hostname: str) -> None:
    redis_client().delete(WORKER_KEY.format(hostname=hostname), WARM_KEY.format(hostname=hostname))


def workers_present() -> list[WorkerPresence]:
    """Every live worker. Raises redis.RedisError when Redis does not answer."""
    client = redis_client()
    keys = sorted(client.scan_iter(match=WORKER_KEY.format(hostname="*"), count=500))
    if not keys:
        return []
    values: list[Any] = client.mget(keys)  # type: ignore[assignment]
    hostnames = [str(k).split(":", 2)[2] for k in keys]
    warm: list[Any] = client.mget([WARM_KEY.format(hostname=h) for h in hostnames])  # type: ignore[assignment]
    present = []
    for hostname, value, is_warm in zip(hostnames, values, warm, strict=True):
        if value is None:
            continue  # expired between SCAN and MGET
        queues = frozenset(json.loads(value).get("queues", []))
        present.append(WorkerPresence(hostname=hostname, queues=queues, warm=bool(is_warm)))
    return present


class PresenceBeat:
    """The thread that keeps one worker's key alive; started on `worker_ready`."""

    def __init__(self, *, hostname: str, queues: set[str]) -> None:
        self.hostname = hostname
        self.queues = queues
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(redis.RedisError):  # the key expires by itself
            worker_leave(hostname=self.hostname)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worker_announce(hostname=self.hostname, queues=self.queues)
            except redis.RedisError:
                logger.warning("presence: Redis unavailable, will retry", exc_info=True)
            self._stop.wait(BEAT_SECONDS)


def default_hostname() -> str:
    return socket.gethostname()


def this_worker_hostname() -> str:
    """The Celery hostname of the worker this process belongs to (prefork children
    inherit it from the parent's environment, set by config/celery.py)."""
    return os.environ.get("ASSISTANT_WORKER_HOSTNAME") or default_hostname()


def consumed_queues(sender: Any) -> set[str]:
    """The queues a Celery worker (the `worker_ready` sender) consumes."""
    try:
        return set(sender.app.amqp.queues.consume_from)
    except AttributeError:
        return set()
