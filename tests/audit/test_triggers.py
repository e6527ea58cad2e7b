"""The database refuses to change or delete audit rows, whatever the code does, and
nothing — no session setting, no registered function — relaxes that."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from audit import actions
from audit.chain import EMPTY_SHA256
from audit.checkpoints import checkpoint_create
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_record


@pytest.fixture
def event(db: None) -> AuditEvent:
    return audit_record(
        actor="system:test", action=actions.PROMPT_SUBMITTED, content="Hi <PERSON_1>"
    )


def _refused(run) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        run()


def _sql(statement: str, params: list[Any] | None = None):
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    return run


def test_orm_update_is_refused(event: AuditEvent) -> None:
    """Saving a changed event, or a queryset update, fails in the database."""
    event.outcome = "blocked"
    _refused(lambda: event.save())
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else"))
    event.refresh_from_db()
    assert event.outcome == "ok"


def test_orm_and_raw_delete_are_refused(event: AuditEvent) -> None:
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
    _refused(_sql("DELETE FROM audit_auditevent"))
    _refused(_sql("UPDATE audit_auditevent SET hash = 'x' WHERE id = %s", [event.pk]))
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_old_test_flush_switches_relax_nothing(event: AuditEvent) -> None:
    """The session setting and the SQLite function that used to let tests empty the
    tables are ignored: emptying is refused with them set."""
    if connection.vendor == "postgresql":
        setting = _sql("SET audit.allow_test_flush = 'on'")
        setting()
        _refused(_sql("TRUNCATE audit_auditevent"))
    else:
        connection.ensure_connection()
        connection.connection.create_function("audit_test_flush_allowed", 0, lambda: 1)
        _refused(_sql("DELETE FROM audit_auditevent"))
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_an_event_must_extend_the_chain_head(event: AuditEvent) -> None:
    """Only the next id with the head's hash as prev_hash can be inserted."""
    forged = AuditEvent(
        id=event.id + 5, created_at=event.created_at, action="x", content_sha256=EMPTY_SHA256,
        prev_hash=event.hash, hash="0" * 64,
    )  # fmt: skip
    _refused(lambda: forged.save(force_insert=True))
    forged.id, forged.prev_hash = event.id + 1, "1" * 64
    _refused(lambda: forged.save(force_insert=True))


def test_only_blanking_content_is_allowed(event: AuditEvent) -> None:
    """Content may be blanked (the retention purge) and nothing else; changing content
    to other text, or blanking it together with another column, is refused."""
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(content="other text"))
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(content="", outcome="x"))
    from audit.retention import _content_blank

    with transaction.atomic():
        assert _content_blank(event.pk) == 1
    event.refresh_from_db()
    assert event.content == "" and event.content_sha256 != EMPTY_SHA256


def test_checkpoints_cannot_be_changed_or_deleted(event: AuditEvent) -> None:
    """Signed checkpoints are as append-only as events."""
    checkpoint = checkpoint_create(store=None)
    assert checkpoint is not None
    _refused(lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(last_hash="0"))
    _refused(lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete())
