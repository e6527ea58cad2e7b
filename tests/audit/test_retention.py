"""Retention of audit content after AUDIT_RETENTION_DAYS: recorded, the chain still intact.
(Conversations: tests/prompting/test_retention.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from audit import actions
from audit.models import AuditEvent
from audit.retention import audit_content_purge
from audit.tasks import retention_purge
from audit.verify import verify_chain
from tests.audit.conftest import record_prompt, triggers_bypassed


@pytest.mark.django_db
def test_audit_content_purge_keeps_the_chain_valid(alice: User, settings) -> None:
    """Old events lose their content but keep every hash; the purge is an event
    naming how far it went, and the verifier accepts exactly that range."""
    settings.AUDIT_RETENTION_DAYS = 10
    old = record_prompt(alice)
    new = record_prompt(alice)
    later = timezone.now() + timedelta(days=11)
    # A purge run whose cutoff falls between the two events.
    assert audit_content_purge(now=old.created_at + timedelta(days=10, microseconds=1)) == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.content == "" and old.content_purged
    assert new.content == "Hi <PERSON_1>"
    purge = AuditEvent.objects.get(action=actions.RETENTION_PURGED)
    assert purge.details["purged_through"] == old.id
    result = verify_chain()
    assert result.ok, result.summary()
    assert audit_content_purge(now=later) >= 1  # `new` too, later on
    assert verify_chain().ok


@pytest.mark.django_db
def test_content_dropped_without_a_recorded_purge_is_reported(alice: User) -> None:
    """Blanking content by hand (the one UPDATE the triggers allow) is still caught."""
    event = record_prompt(alice)
    record_prompt(alice)
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET content = '' WHERE id = %s", [event.id])
    result = verify_chain()
    assert result.problem is not None and result.problem.event_id == event.id
    assert "outside a recorded retention purge" in result.summary()


@pytest.mark.django_db
def test_beat_task_runs_the_audit_content_purge(alice: User, settings) -> None:
    """The daily beat task returns what the audit content purge did."""
    settings.AUDIT_RETENTION_DAYS = 10
    record_prompt(alice)
    assert retention_purge() == {"audit_content": 0}
