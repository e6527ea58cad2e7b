"""audit_record(): the one way an audit event is written.

Called by the service that makes a change, inside the same transaction, so an
action without its event cannot exist. It joins the caller's transaction (no
savepoint: one fewer round trip, and a failure rolls back the caller's change
too, which is the point) or opens its own.

Appending locks the chain head row until the transaction commits, so concurrent
writers in any number of processes take turns: call audit_record last in a
transaction, after the slow work, to keep that window short. The database moves
the head and the daily totals itself (migrations/0005_append_path.py): the
application's role may only SELECT and INSERT audit rows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from audit.actions import Action
from audit.chain import GENESIS, content_sha256, event_hash, fields_of, normalize_json
from audit.models import AuditEvent

HEAD_TABLE = "audit_auditchainhead"

# Keys that would only ever hold original (unsanitized) values or the mapping
# back to them. Refused at any depth of `details`: the log must not become a
# second copy of customer data.
PRIVATE_DETAIL_KEYS = frozenset(
    {"original", "originals", "original_text", "raw_text", "mapping", "pseudonym_map"}
)

# PostgreSQL: the application role may not UPDATE the head; this owner's function
# locks its row until commit and returns it (migrations/0005_append_path.py).
_LOCK_SQL_POSTGRES = "SELECT seq, hash FROM audit_chain_lock()"
# SQLite: the transaction already holds the database write lock (IMMEDIATE).
_READ_SQL_SQLITE = f"SELECT seq, hash FROM {HEAD_TABLE} WHERE id = 1"  # noqa: S608
# The head row is missing on a fresh SQLite database: start it from the last event,
# so a lost head row can never restart the numbering.
_INIT_SQL_SQLITE = f"""
INSERT INTO {HEAD_TABLE} (id, seq, hash)
SELECT 1, COALESCE(MAX(id), 0),
       COALESCE((SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1), %s)
FROM audit_auditevent
WHERE true
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608


def audit_record(
    *,
    actor: Any,
    action: Action,
    target: models.Model | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    content: str = "",
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    `actor`: a user, None (system), or a string naming a system actor
    ("system:retention"). `content`: sanitized text only; dropped entirely when
    AUDIT_STORE_CONTENT is false. `actor_label` overrides the label (e.g. the
    address of a refused sign-in). `details` must be JSON-able; known keys
    (tool, model, decision, input_tokens, output_tokens, cost_usd) are also
    copied to indexed columns for the reviewer's filters and totals.
    """
    plain_details = normalize_json(details or {})
    if not isinstance(plain_details, dict):
        raise TypeError("audit details must be a dict")
    _refuse_private_keys(plain_details)
    # NUL cannot be stored in a PostgreSQL text column; drop it rather than fail the
    # caller's change.
    stored_content = content.replace("\x00", "") if settings.AUDIT_STORE_CONTENT else ""
    user, label, department = _actor_parts(actor)
    event = AuditEvent(
        actor=user,
        actor_label=(actor_label if actor_label is not None else label)[:255],
        actor_department=department[:200],
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk)[:64] if target is not None else "",
        outcome=outcome,
        tool=_text(plain_details.get("tool"), 20),
        model=_text(plain_details.get("model"), 200),
        decision=_text(plain_details.get("decision"), 20),
        input_tokens=_count(plain_details.get("input_tokens")),
        output_tokens=_count(plain_details.get("output_tokens")),
        cost_usd=_cost(plain_details.get("cost_usd")),
        details=plain_details,
        content=stored_content,
        content_sha256=content_sha256(stored_content),
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        seq, event.prev_hash = _lock_head(cursor)
        event.id = seq + 1
        # Taken under the lock, so timestamps rise with ids across processes.
        event.created_at = timezone.now()
        event.hash = event_hash(fields_of(event))
        # The database's append trigger checks that this extends the head, moves the
        # head to it and adds it to the daily totals.
        event.save(force_insert=True)
    return event


def _lock_head(cursor: Any) -> tuple[int, str]:
    if connection.vendor == "postgresql":
        cursor.execute(_LOCK_SQL_POSTGRES)
        row = cursor.fetchone()
    else:
        cursor.execute(_READ_SQL_SQLITE)
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_INIT_SQL_SQLITE, [GENESIS])
            cursor.execute(_READ_SQL_SQLITE)
            row = cursor.fetchone()
    return int(row[0]), str(row[1])


def _actor_parts(actor: Any) -> tuple[Any, str, str]:
    if actor is None:
        return None, "", ""
    if isinstance(actor, str):
        return None, actor, ""
    if getattr(actor, "is_authenticated", False):
        label = getattr(actor, "email", "") or getattr(actor, "username", "") or str(actor)
        return actor, str(label), str(getattr(actor, "department", "") or "")
    return None, str(actor), ""


def _refuse_private_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PRIVATE_DETAIL_KEYS:
                raise ValueError(f"audit details may not contain {key!r}: only sanitized data")
            _refuse_private_keys(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_private_keys(item)


def _text(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _cost(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.000001"))
    except InvalidOperation as exc:
        raise ValueError(f"audit cost_usd is not a decimal: {value!r}") from exc


def audit_log_viewed(
    *, user: Any, page: str, filters: dict[str, str], event: AuditEvent | None = None
) -> AuditEvent:
    """Reviewers are audited too: every page of the log they open."""
    return audit_record(
        actor=user,
        action=Action.AUDIT_VIEWED,
        target=event,
        details={"page": page, "filters": filters},
    )


def audit_log_exported(
    *,
    user: Any,
    export_format: str,
    filters: dict[str, str],
    include_content: bool,
    reason: str = "",
) -> AuditEvent:
    """Recorded before the first byte is sent; the export covers every matching
    event before this one (`through_id` = this event's id - 1). An export with
    content carries the reviewer's justification."""
    details: dict[str, Any] = {
        "format": export_format,
        "filters": filters,
        "include_content": include_content,
    }
    if include_content:
        details["reason"] = reason
    return audit_record(actor=user, action=Action.AUDIT_EXPORTED, details=details)


def audit_content_viewed(
    *, user: Any, event: AuditEvent | None, reason: str, refused: str = ""
) -> AuditEvent:
    """A reviewer asked for sanitized content: shown with their justification, or
    `refused` (the sentence they were given) when the justification was missing."""
    details: dict[str, Any] = {"reason": reason}
    if refused:
        details["refused"] = refused
    return audit_record(
        actor=user,
        action=Action.AUDIT_CONTENT_VIEWED,
        target=event,
        outcome="refused" if refused else "ok",
        details=details,
    )
