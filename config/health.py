"""Health endpoints. No secrets, no stack traces.

- `/healthz/live`: the process answers (a load balancer restarts it when this fails).
- `/healthz/ready`: this web process can take traffic: the database and Redis answer, a live
  worker consumes each queue, and some cpu worker has its policy engine loaded. 503 with
  the failing checks otherwise, so the load balancer routes elsewhere meanwhile.
- `/healthz`: the first version's summary (kept for existing monitors and `make run`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import presence
from config.metrics import monitored_queues
from config.redis_client import redis_client

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.warning("health: database check failed", exc_info=True)
        return False


def _redis_ok() -> bool:
    try:
        return bool(redis_client().ping())
    except Exception:
        logger.warning("health: redis check failed", exc_info=True)
        return False


def _workers() -> list[presence.WorkerPresence]:
    try:
        return presence.workers_present()
    except Exception:
        logger.warning("health: could not read worker presence", exc_info=True)
        return []


def health_summary() -> tuple[dict[str, object], bool]:
    database, redis_up = _database_ok(), _redis_ok()
    body: dict[str, object] = {
        "database": "ok" if database else "error",
        "redis": "ok" if redis_up else "error",
        "workers": len(_workers()) if redis_up else 0,
        "llm": "emulator" if settings.BEDROCK_EMULATOR else "bedrock",
    }
    return body, database and redis_up


def readiness() -> tuple[dict[str, object], bool]:
    database, redis_up = _database_ok(), _redis_ok()
    workers = _workers() if redis_up else []
    queues = {queue: sum(1 for w in workers if queue in w.queues) for queue in monitored_queues()}
    policy_warm = any(w.warm for w in workers if "cpu" in w.queues)
    checks = {
        "database": database,
        "redis": redis_up,
        **{f"workers:{queue}": count > 0 for queue, count in queues.items()},
        "policy_engine_warm": policy_warm,
    }
    body: dict[str, object] = {
        "ready": all(checks.values()),
        "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()},
        "workers": queues,
    }
    return body, all(checks.values())


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    body, ok = health_summary()
    return JsonResponse(body, status=200 if ok else 503)


@login_not_required
@never_cache
@require_GET
def healthz_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"live": True})


@login_not_required
@never_cache
@require_GET
def healthz_ready(request: HttpRequest) -> JsonResponse:
    body, ok = readiness()
    return JsonResponse(body, status=200 if ok else 503)
