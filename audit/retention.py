"""Retention of audit content after AUDIT_RETENTION_DAYS, recorded by a
`retention.purged` event in the same transaction. (Conversations are purged by
prompting/retention.py, which owns them.)

Audit events themselves are never deleted: the purge blanks `content` (the one
UPDATE the triggers allow) and keeps every hashed field, so the chain still
verifies. The event records `purged_through` (highest id covered); verify_audit_log
recomputes the allowed cutoff from the event times and the retention signed in the
checkpoint before the purge, so content removed by hand, or a purge claiming more
than the retention allowed, is reported.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import actions
from audit.chain import format_timestamp
from audit.checkpoints import checkpoint_create
from audit.models import AuditEvent
from audit.services import audit_record

SYSTEM_ACTOR = "system:retention"


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
