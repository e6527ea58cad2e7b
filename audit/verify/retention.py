"""Retention that cannot be faked: how far content may be blank.

A purge event may blank content only of events older than the retention in force
at its time, and that retention is read from the signed checkpoint just before
it (the purge makes one first), never from the purge's own claim. The allowed
end is recomputed from the event times (which the walk checks never go back);
a purge claiming more is reported, and the walk reports blank content beyond
what the purges allowed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from audit import actions
from audit.models import AuditEvent
from audit.verify.report import Problem


def check_purges(checkpoints: list[dict[str, Any]], upto: int) -> tuple[int, Problem | None]:
    """(highest id whose content may be blank, first bad purge)."""
    blank_through = 0
    purges = (
        AuditEvent.objects.filter(action=actions.RETENTION_PURGED, id__lte=upto)
        .order_by("id")
        .values_list("id", "created_at", "details")
    )
    for purge_id, created_at, details in purges:
        if not isinstance(details, dict) or details.get("kind") != "audit_content":
            continue
        claimed = _as_int(details.get("purged_through"))
        before = [c for c in checkpoints if c["last_event_id"] < purge_id]
        if not before:
            return blank_through, Problem(
                "retention",
                "retention purge without a signed checkpoint before it recording the "
                "retention period",
                event_id=purge_id,
            )
        days = int(before[-1]["retention_days"])
        cutoff = created_at - timedelta(days=days)
        allowed = (
            AuditEvent.objects.filter(id__lt=purge_id, created_at__lt=cutoff)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        ) or 0
        if claimed > allowed or _as_int(details.get("retention_days")) != days:
            return blank_through, Problem(
                "retention",
                f"retention purge claims content through #{claimed} under "
                f"{details.get('retention_days')} days, but checkpoint {before[-1]['seq']} "
                f"signed {days} days, which allowed only through #{allowed}",
                event_id=purge_id,
            )
        blank_through = max(blank_through, claimed)
    return blank_through, None


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
