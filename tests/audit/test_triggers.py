"""The database refuses to change or delete audit rows, whatever the code does."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit import actions
from audit.chain import EMPTY_SHA256
from audit.checkpoints import checkpoint_create
from audit.db import strict_triggers
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_record


@pytest.fixture
def event(db: None) -> AuditEvent:
    return audit_record(
        actor="system:test", action=actions.PROMPT_SUBMITTED, content="Hi <PERSON_1>"
    )


def _refused(run) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        run()


def test_orm_update_is_refused(event: AuditEvent) -> None:
    """Saving a changed event, or a queryset update, fails in the database."""
    event.outcome = "blocked"
    _refused(lambda: event.save())
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else"))
    event.refresh_from_db()
    assert event.outcome == "ok"


def test_orm_delete_is_refused(event: AuditEvent) -> None:
    """Deleting an event fails in the database, even with the test-flush allowance off."""
    with strict_triggers():
        _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
        _refused(lambda: AuditEvent.objects.all().delete())
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_sql_update_is_refused(event: AuditEvent) -> None:
    """Raw SQL gets the same answer as the ORM."""

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET hash = 'x' WHERE id = %s", [event.pk])

    _refused(run)


def test_emptying_the_table_is_refused(event: AuditEvent) -> None:
    """TRUNCATE bypasses row triggers, so PostgreSQL has a statement trigger for it;
    SQLite's equivalent, an unqualified DELETE, meets the row trigger."""
    statement = (
        "TRUNCATE audit_auditevent"
        if connection.vendor == "postgresql"
        else "DELETE FROM audit_auditevent"
    )

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    with strict_triggers():
        _refused(run)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_only_blanking_content_is_allowed(event: AuditEvent) -> None:
    """The retention purge may blank content and nothing else; changing content to
    other text, or blanking it together with another column, is refused."""
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(content="other text"))
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(content="", outcome="x"))
    with transaction.atomic():
        assert AuditEvent.objects.filter(pk=event.pk).update(content="") == 1
    event.refresh_from_db()
    assert event.content == "" and event.content_sha256 != EMPTY_SHA256


def test_checkpoints_cannot_be_changed_or_deleted(event: AuditEvent) -> None:
    """Signed checkpoints are as append-only as events."""
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    _refused(lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(last_hash="0"))
    with strict_triggers():
        _refused(lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete())
