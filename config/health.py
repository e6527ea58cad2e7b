"""GET /healthz: is the site able to serve? No secrets, no stack traces."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.redis_client import redis_client

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.warning("healthz: database check failed", exc_info=True)
        return False


def _redis_ok() -> bool:
    try:
        return bool(redis_client().ping())
    except Exception:
        logger.warning("healthz: redis check failed", exc_info=True)
        return False


def _worker_count() -> int:
    try:
        replies = celery_app.control.ping(timeout=0.5)
    except Exception:
        logger.warning("healthz: worker ping failed", exc_info=True)
        return 0
    return len(replies or [])


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = _database_ok()
    redis_up = _redis_ok()
    body = {
        "database": "ok" if database else "error",
        "redis": "ok" if redis_up else "error",
        # Pinging workers goes through Redis; without it the answer is known.
        "workers": _worker_count() if redis_up else 0,
        "llm": "emulator" if settings.BEDROCK_EMULATOR else "bedrock",
    }
    return JsonResponse(body, status=200 if database and redis_up else 503)
