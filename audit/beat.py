"""Celery beat's scheduler, with audit checkpoints at start-up and at clean shutdown.

Between checkpoints the newest events are covered by the chain only; the beat
schedule signs every AUDIT_CHECKPOINT_INTERVAL_SECONDS (5 minutes by default).
Beat also makes one shortly after it starts (whatever its schedule file says) and
one as it stops cleanly, in its own process since the workers may be stopping
too, so a deploy or a restart leaves no unsigned tail behind.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

ENTRY = "audit-checkpoint"
STARTUP_DELAY = timedelta(seconds=10)


class CheckpointingScheduler(PersistentScheduler):
    def setup_schedule(self) -> None:
        super().setup_schedule()
        entry = self.schedule.get(ENTRY)
        every = getattr(entry.schedule, "run_every", None) if entry is not None else None
        if entry is not None and every is not None:
            # Due STARTUP_DELAY from now: time for the workers to come up.
            entry.last_run_at = self.app.now() - every + STARTUP_DELAY

    def close(self) -> None:
        try:
            checkpoint_at_shutdown()
        finally:
            super().close()


def checkpoint_at_shutdown() -> Any:
    import django

    django.setup()
    from audit.checkpoints import checkpoint_create

    try:
        checkpoint = checkpoint_create()
    except Exception:  # shutting down: record the failure, never block the stop
        logger.exception("audit: no checkpoint at beat shutdown")
        return None
    finally:
        from django.db import connections

        connections.close_all()
    if checkpoint is not None:
        logger.info("audit: checkpoint %s at beat shutdown", checkpoint.seq)
    return checkpoint
