"""Retention: conversations after CONVERSATION_RETENTION_DAYS, audit content after
AUDIT_RETENTION_DAYS. Each batch is recorded by a `retention.purged` event in the
same transaction as the deletion.

Audit events themselves are never deleted: the purge blanks `content` (the one
UPDATE the triggers allow) and keeps every hashed field, so the chain still
verifies. The event records `purged_through` (highest id covered); verify_audit_log
recomputes the allowed cutoff from the event times and the retention signed in the
checkpoint before the purge, so content removed by hand, or a purge claiming more
than the retention allowed, is reported.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from audit import actions
from audit.chain import format_timestamp
from audit.checkpoints import checkpoint_create
from audit.models import AuditEvent
from audit.services import audit_record

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:retention"
BATCH_SIZE = 500


def conversations_purge(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete conversations (messages and runs cascade) untouched for the retention
    period. Batches keep each transaction, and the lock on the chain head, short."""
    from prompting.models import Conversation, Document  # audit must not need prompting

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
                action=actions.RETENTION_PURGED,
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


def audit_content_purge(*, now: datetime | None = None) -> int:
    """Blank the content of events older than AUDIT_RETENTION_DAYS; hashes stay.

    A checkpoint first signs the retention in force (it is made even when idle if
    the setting changed): verify_audit_log recomputes from it and the event times
    how far this purge may go, and fails on a purge claiming more.
    """
    checkpoint_create()
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    with transaction.atomic():
        through = (
            AuditEvent.objects.filter(created_at__lt=cutoff)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        if through is None:
            return 0
        count = _content_blank(through)
        if count == 0:
            return 0
        audit_record(
            actor=SYSTEM_ACTOR,
            action=actions.RETENTION_PURGED,
            details={
                "kind": "audit_content",
                "cutoff": format_timestamp(cutoff),
                "retention_days": settings.AUDIT_RETENTION_DAYS,
                "count": count,
                "purged_through": through,
            },
        )
    return count


def _content_blank(through: int) -> int:
    """The one UPDATE of audit rows: through the owner's function in PostgreSQL, where
    the application's role may not UPDATE (migrations/0005_append_path.py)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT audit_content_blank(%s)", [through])
            return int(cursor.fetchone()[0])
        cursor.execute(
            "UPDATE audit_auditevent SET content = '' WHERE id <= %s AND content <> ''", [through]
        )
        return int(cursor.rowcount)
