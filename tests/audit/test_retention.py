"""Retention of audit content after AUDIT_RETENTION_DAYS: recorded, the chain still intact.
(Conversations: tests/prompting/test_retention.py.)"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import User
from audit import actions
from audit.models import AuditCheckpoint, AuditEvent
from audit.retention import audit_content_purge
from audit.tasks import retention_purge
from audit.verify import verify_log
from tests.audit.conftest import record_prompt


@pytest.mark.django_db
def test_audit_content_purge_keeps_the_chain_valid(settings) -> None:
    """Old events lose their content but keep every hash; a checkpoint signs the
    retention first, the purge is an event naming how far it went, and the verifier
    accepts exactly that range."""
    settings.AUDIT_RETENTION_DAYS = 10
    old = record_prompt("system:test")
    later = timezone.now() + timedelta(days=11)
    with mock.patch("django.utils.timezone.now", return_value=later):
        new = record_prompt("system:test")
        assert audit_content_purge() >= 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.content == "" and old.content_purged
    assert new.content == "Hi <PERSON_1>"
    purge = AuditEvent.objects.get(action=actions.RETENTION_PURGED)
    assert purge.details["purged_through"] >= old.id
    assert purge.details["retention_days"] == 10
    signed = AuditCheckpoint.objects.get(last_event_id=purge.id - 1)
    assert signed.retention_days == 10
    result = verify_log(store=None)
    assert result.ok, result.summary()


@pytest.mark.django_db
def test_beat_task_runs_the_audit_content_purge(alice: User, settings) -> None:
    """The daily beat task returns what the audit content purge did."""
    settings.AUDIT_RETENTION_DAYS = 10
    record_prompt(alice)
    assert retention_purge() == {"audit_content": 0}
