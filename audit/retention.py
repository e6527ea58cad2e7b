"""Retention of audit content after AUDIT_RETENTION_DAYS, recorded by a
`retention.purged` event in the same transaction. (Conversations are purged by
prompting/retention.py, which owns them.)

Audit events themselves are never deleted: the purge blanks `content` (the one
UPDATE the triggers allow) and keeps every hashed field, so the chain still
verifies. The event records `purged_through` (highest id covered), which is how
verify_audit_log tells a recorded purge from content removed by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import actions
from audit.chain import format_timestamp
from audit.models import AuditEvent
from audit.services import audit_record

SYSTEM_ACTOR = "system:retention"


def audit_content_purge(*, now: datetime | None = None) -> int:
    """Blank the content of events older than AUDIT_RETENTION_DAYS; hashes stay."""
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
        count = AuditEvent.objects.filter(id__lte=through).exclude(content="").update(content="")
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
