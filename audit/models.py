"""The append-only audit log, its chain head and its signed checkpoints.

Rows are never updated or deleted (database triggers refuse it, see
migrations/0005_append_path.py); the single exception is the retention
purge, which may blank `content` and nothing else. `content` is therefore kept
out of the hash chain and represented in it by `content_sha256`.

`id` is the position in the chain (1, 2, 3 … with no gaps), assigned by
audit/services.py under the chain-head lock, so a missing id is a deleted event.
Columns such as `tool`, `model`, `decision`, tokens and cost duplicate keys of
`details`: the reviewer filters and totals read indexed columns instead of
parsing JSON across a million rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # events outlive the accounts they mention
        db_index=False,  # covered by the (actor, id) index below
        related_name="+",
    )
    actor_label = models.CharField(max_length=255, blank=True)
    # The department at the time of the event: a later move must not rewrite history.
    actor_department = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=32, default="ok")
    tool = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=200, blank=True)
    decision = models.CharField(max_length=20, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The sanitized text sent to the model (never original values), or empty.
    content = models.TextField(blank=True)
    content_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        # (column, id) pairs: a filtered list ordered by id reads one index range.
        indexes = [
            models.Index(fields=["actor", "id"], name="audit_actor_id"),
            models.Index(fields=["actor_department", "id"], name="audit_department_id"),
            models.Index(fields=["action", "id"], name="audit_action_id"),
            models.Index(fields=["outcome", "id"], name="audit_outcome_id"),
            models.Index(fields=["tool", "id"], name="audit_tool_id"),
            models.Index(fields=["model", "id"], name="audit_model_id"),
            models.Index(fields=["decision", "id"], name="audit_decision_id"),
            # One run's events (the reviewer's "This run's events", filter `run`).
            models.Index(fields=["target_type", "target_id", "id"], name="audit_target_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.action}"

    @property
    def content_purged(self) -> bool:
        from audit.chain import EMPTY_SHA256

        return self.content == "" and self.content_sha256 != EMPTY_SHA256


class AuditChainHead(models.Model):
    """One row: the last event's id and hash. Locking it first in every append is
    what serializes appends across processes (a row lock taken by
    `audit_chain_lock()` in PostgreSQL, the database write lock in SQLite); only the
    database's append trigger moves it, to the event just inserted."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"chain head #{self.seq}"


class AuditCheckpoint(models.Model):
    """A signed statement "the chain had `event_count` events ending in
    `last_event_id` with `last_hash`", chained to the checkpoint before it.

    Checkpoint `seq` covers events `first_event_id`..`last_event_id` (those since
    checkpoint `seq - 1`) and carries that checkpoint's signature in
    `prev_signature`, so removing or replacing any checkpoint breaks the next one.
    Signed with Ed25519 (audit/signing.py); a copy goes to write-once storage
    outside the database (audit/store.py). `next_public_key` announces a key
    rotation, signed by the old key. Rows with `seq` NULL are legacy HMAC
    checkpoints from before signed chains; verification ignores them.
    """

    created_at = models.DateTimeField()
    seq = models.BigIntegerField(null=True, unique=True)
    first_event_id = models.BigIntegerField(null=True)
    last_event_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    event_count = models.BigIntegerField()
    # The AUDIT_RETENTION_DAYS in force, so verify can recompute what a purge may blank.
    retention_days = models.PositiveIntegerField(null=True)
    # Which key signed it: 16 hex digits of SHA-256 of the raw public key.
    key_id = models.CharField(max_length=16)
    next_public_key = models.CharField(max_length=64, blank=True)
    prev_signature = models.CharField(max_length=128, blank=True)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint {self.seq} through event #{self.last_event_id}"


class AuditDailyTotal(models.Model):
    """Per-UTC-day sums of the events the reviewer's totals are made of, by every
    column the list filters on except user and entity type.

    Derived data, maintained by the database's append trigger in the event's own
    transaction (the application role may only read it), recomputed from the events
    by verify_audit_log, which names any difference by day and column, and
    rebuildable by the owner (`manage.py rebuild_audit_totals`). Totals over a year
    of events read a few thousand of these rows instead of a million events.
    """

    day = models.DateField()
    action = models.CharField(max_length=64)
    actor_department = models.CharField(max_length=200, blank=True)
    tool = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=200, blank=True)
    decision = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    events = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "action",
                    "actor_department",
                    "tool",
                    "model",
                    "decision",
                    "outcome",
                ],
                name="audit_dailytotal_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.action}: {self.events}"
