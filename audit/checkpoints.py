"""Signed checkpoints of the chain, and their export.

A checkpoint says "the chain had `event_count` events, the last being
`last_event_id` with `last_hash`", signed with HMAC-SHA256 under
AUDIT_HMAC_KEY. The chain alone proves internal consistency; anyone with write
access to the database could recompute it. A signature needs the key, and an
exported copy kept elsewhere (`manage.py export_audit_checkpoints`) pins the
history even against someone who has both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import transaction

from audit import actions
from audit.chain import canonical_bytes, format_timestamp
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_record

SYSTEM_ACTOR = "system:checkpoint"


def _key() -> bytes:
    return str(settings.AUDIT_HMAC_KEY).encode("utf-8")


def key_id(key: bytes | None = None) -> str:
    return hashlib.sha256(key if key is not None else _key()).hexdigest()[:16]


def checkpoint_payload(data: dict[str, Any]) -> bytes:
    """The signed bytes: every field but the signature (and the row id)."""
    return canonical_bytes(
        {
            "created_at": data["created_at"],
            "last_event_id": data["last_event_id"],
            "last_hash": data["last_hash"],
            "event_count": data["event_count"],
            "key_id": data["key_id"],
        }
    )


def checkpoint_dict(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.id,
        "created_at": format_timestamp(checkpoint.created_at),
        "last_event_id": checkpoint.last_event_id,
        "last_hash": checkpoint.last_hash,
        "event_count": checkpoint.event_count,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def signature_valid(data: dict[str, Any]) -> bool | None:
    """True/False, or None when signed with a key we do not hold (rotated)."""
    if data.get("key_id") != key_id():
        return None
    expected = hmac.new(_key(), checkpoint_payload(data), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, str(data.get("signature", "")))


def checkpoint_create() -> AuditCheckpoint | None:
    """Append an `audit.checkpoint` event and sign the chain through it.

    Skipped when nothing happened since the last checkpoint (whose own event is
    then still the last one), so an idle system does not grow by a row an hour.
    """
    latest = AuditCheckpoint.objects.order_by("-last_event_id").first()
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    if last_id is None or (latest is not None and latest.last_event_id >= last_id):
        return None
    with transaction.atomic():
        # The event is the last one while we hold the chain head: the checkpoint
        # can cover it, so no event is left outside the newest signature.
        event = audit_record(actor=SYSTEM_ACTOR, action=actions.AUDIT_CHECKPOINT)
        checkpoint = AuditCheckpoint(
            created_at=event.created_at,
            last_event_id=event.id,
            last_hash=event.hash,
            event_count=event.id,  # ids are the chain positions 1…N
            key_id=key_id(),
        )
        data = checkpoint_dict(checkpoint)
        checkpoint.signature = hmac.new(
            _key(), checkpoint_payload(data), hashlib.sha256
        ).hexdigest()
        checkpoint.save(force_insert=True)
    return checkpoint


def checkpoints_jsonl(checkpoints: Iterable[AuditCheckpoint]) -> Iterator[str]:
    for checkpoint in checkpoints:
        yield json.dumps(checkpoint_dict(checkpoint), sort_keys=True) + "\n"


def read_checkpoints_jsonl(lines: Iterable[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.strip()]
