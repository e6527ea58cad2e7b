"""Thin Celery tasks for beat: retention and checkpoints (schedule in config/settings.py)."""

from __future__ import annotations

from celery import shared_task

from audit.checkpoints import checkpoint_create
from audit.retention import audit_content_purge


@shared_task(name="audit.tasks.retention_purge")
def retention_purge() -> dict[str, int]:
    return {"audit_content": audit_content_purge()}


@shared_task(name="audit.tasks.checkpoint")
def checkpoint() -> int | None:
    created = checkpoint_create()
    return created.seq if created is not None else None
