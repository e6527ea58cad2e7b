"""Signed, chained checkpoints of the audit chain, delivered off-box.

Checkpoint `seq` says "events `first_event_id`..`last_event_id` followed checkpoint
`seq - 1`, whose signature was `prev_signature`; the chain then had `event_count`
events, the last with `last_hash`; retention was `retention_days`". It is signed
with Ed25519 (audit/signing.py) and covers its own `audit.checkpoint` event, so no
event is left outside the newest signature. Removing or replacing any checkpoint
breaks the next one's `prev_signature`; a copy in the write-once store
(audit/store.py) catches a rewrite of the newest one too.

Key rotation: with AUDIT_SIGNING_KEY set to a new key and AUDIT_PREVIOUS_SIGNING_KEY
to the old one, the next checkpoint is signed by the old key and announces the new
public key (`next_public_key`); later ones are signed by the new key.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from audit import actions, signing
from audit.chain import canonical_bytes, format_timestamp
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_record
from audit.store import CheckpointStore, configured_store

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:checkpoint"
VERSION = 2  # 1 was HMAC-SHA256, unchained
PAYLOAD_FIELDS = (
    "version", "seq", "created_at", "first_event_id", "last_event_id", "last_hash",
    "event_count", "retention_days", "key_id", "next_public_key", "prev_signature",
)  # fmt: skip


def checkpoint_record(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """Every signed field and the signature, as stored off-box and exported."""
    return {
        "version": VERSION,
        "seq": checkpoint.seq,
        "created_at": format_timestamp(checkpoint.created_at),
        "first_event_id": checkpoint.first_event_id,
        "last_event_id": checkpoint.last_event_id,
        "last_hash": checkpoint.last_hash,
        "event_count": checkpoint.event_count,
        "retention_days": checkpoint.retention_days,
        "key_id": checkpoint.key_id,
        "next_public_key": checkpoint.next_public_key,
        "prev_signature": checkpoint.prev_signature,
        "signature": checkpoint.signature,
    }


def signed_payload(record: dict[str, Any]) -> bytes:
    return canonical_bytes({name: record.get(name) for name in PAYLOAD_FIELDS})


def record_body(record: dict[str, Any]) -> bytes:
    """The bytes written to the store: one canonical JSON object and a newline."""
    return canonical_bytes(record) + b"\n"


def signed_checkpoints() -> Any:
    """Chained checkpoints in order (legacy HMAC rows have no seq)."""
    return AuditCheckpoint.objects.filter(seq__isnull=False).order_by("seq")


def latest_checkpoint() -> AuditCheckpoint | None:
    return signed_checkpoints().order_by("-seq").first()


def _signer(latest: AuditCheckpoint | None) -> tuple[Any, str]:
    """(private key to sign with, public key to announce or "")."""
    current = signing.private_key(settings.AUDIT_SIGNING_KEY)
    current_public = signing.public_key_text(current)
    previous_text = settings.AUDIT_PREVIOUS_SIGNING_KEY
    if latest is None or not previous_text or latest.key_id == signing.key_id(current_public):
        return current, ""
    previous = signing.private_key(previous_text)
    announced = latest.next_public_key == current_public
    if latest.key_id == signing.key_id(signing.public_key_text(previous)) and not announced:
        return previous, current_public
    return current, ""


def _idle(latest: AuditCheckpoint | None) -> bool:
    """Nothing to sign: no event since the newest checkpoint (whose own event is then
    still the last one), the same retention, and no key rotation to announce."""
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    if last_id is None:
        return True
    if latest is None or latest.last_event_id < last_id:
        return False
    current = signing.key_id(
        signing.public_key_text(signing.private_key(settings.AUDIT_SIGNING_KEY))
    )
    return latest.retention_days == settings.AUDIT_RETENTION_DAYS and latest.key_id == current


def checkpoint_create(*, store: CheckpointStore | None = None) -> AuditCheckpoint | None:
    """Append an `audit.checkpoint` event, sign the chain through it, and deliver the
    checkpoint (and any an earlier failure left undelivered) to the store.

    Call outside a transaction: the store gets the checkpoint once it is committed.
    Returns None when idle. Raises StoreError when the store cannot take it (the
    checkpoint stays in the database and is delivered by the next call).
    """
    store = store if store is not None else configured_store()
    if _idle(latest_checkpoint()):
        checkpoint = None
    else:
        with transaction.atomic():
            # The event locks the chain head: checkpoints are made one at a time, and
            # the event is the last one while we hold it.
            event = audit_record(actor=SYSTEM_ACTOR, action=actions.AUDIT_CHECKPOINT)
            latest = latest_checkpoint()
            key, announce = _signer(latest)
            checkpoint = AuditCheckpoint(
                created_at=event.created_at,
                seq=(latest.seq or 0) + 1 if latest else 1,
                first_event_id=latest.last_event_id + 1 if latest else 1,
                last_event_id=event.id,
                last_hash=event.hash,
                event_count=event.id,  # ids are the chain positions 1…N
                retention_days=settings.AUDIT_RETENTION_DAYS,
                key_id=signing.key_id(signing.public_key_text(key)),
                next_public_key=announce,
                prev_signature=latest.signature if latest else "",
            )
            checkpoint.signature = signing.sign(key, signed_payload(checkpoint_record(checkpoint)))
            checkpoint.save(force_insert=True)
    if store is not None:
        deliver_pending(store)
    return checkpoint


def deliver_pending(store: CheckpointStore) -> int:
    """Write the checkpoints the store lacks, oldest first (normally just the newest;
    more after the store was unreachable). Returns how many were written."""
    pending: list[AuditCheckpoint] = []
    known = _delivered.get(store.description, 0)
    for checkpoint in signed_checkpoints().order_by("-seq").iterator(chunk_size=50):
        assert checkpoint.seq is not None
        # Delivered by this process already: no round trip to ask the store again.
        if checkpoint.seq <= known or store.has(checkpoint.seq):
            break
        pending.append(checkpoint)
    for checkpoint in reversed(pending):
        _publish_key(store, checkpoint)
        assert checkpoint.seq is not None
        store.put(checkpoint.seq, record_body(checkpoint_record(checkpoint)))
        _delivered[store.description] = checkpoint.seq
    return len(pending)


# Per store, the highest checkpoint this process wrote (the store is write-once).
_delivered: dict[str, int] = {}
_published: set[tuple[str, str]] = set()


def _publish_key(store: CheckpointStore, checkpoint: AuditCheckpoint) -> None:
    """The public key beside the checkpoints it signed (once per store and process)."""
    for text in (settings.AUDIT_SIGNING_KEY, settings.AUDIT_PREVIOUS_SIGNING_KEY):
        if not text:
            continue
        public = signing.public_key_text(signing.private_key(text))
        key_id = signing.key_id(public)
        if key_id == checkpoint.key_id and (store.description, key_id) not in _published:
            store.put_key(key_id, public)
            _published.add((store.description, key_id))
