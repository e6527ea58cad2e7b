"""Retention of conversations: deleted (messages, runs, documents and the pseudonym
mapping cascade) once untouched for CONVERSATION_RETENTION_DAYS. Each batch is recorded
by a `retention.purged` event in the same transaction as the deletion. (Audit content
has its own retention, in audit/retention.py.)
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.chain import format_timestamp
from audit.retention import SYSTEM_ACTOR
from audit.services import audit_record
from prompting.models import Conversation, Document

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def conversations_purge(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete conversations (messages and runs cascade) untouched for the retention
    period. Batches keep each transaction, and the lock on the chain head, short."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CONVERSATION_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Conversation.objects.filter(updated_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return total
            # Uploads are normally deleted once their text is extracted; a crash in
            # between would leave customer files behind the rows. Removed after
            # commit, so a rolled-back purge keeps them.
            uploads = list(
                Document.objects.filter(conversation_id__in=ids)
                .exclude(upload="")
                .values_list("upload", flat=True)
            )
            _total, by_model = Conversation.objects.filter(id__in=ids).delete()
            audit_record(
                actor=SYSTEM_ACTOR,
                action=Action.RETENTION_PURGED,
                details={
                    "kind": "conversations",
                    "cutoff": format_timestamp(cutoff),
                    "retention_days": settings.CONVERSATION_RETENTION_DAYS,
                    "count": len(ids),
                    "rows": {label: n for label, n in sorted(by_model.items())},
                    "files": len(uploads),
                },
            )
            transaction.on_commit(functools.partial(_delete_files, uploads))
            total += len(ids)


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("retention: could not delete stored file %s", name)
