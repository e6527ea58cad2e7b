"""audit_record(): the one way an audit event is written.

Called by the service that makes a change, inside the same transaction, so an
action without its event cannot exist.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from audit.models import AuditEvent


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    content: str = "",
) -> AuditEvent:
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        created_at=timezone.now(),
        actor=actor if is_user else None,
        actor_label=str(getattr(actor, "email", "") or actor or "") if actor is not None else "",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        outcome=outcome,
        details=details or {},
        content=content,
    )
