"""Retention: conversations purged after CONVERSATION_RETENTION_DAYS, audit content
after AUDIT_RETENTION_DAYS, each recorded, the chain still intact."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from audit import actions
from audit.models import AuditCheckpoint, AuditEvent
from audit.retention import audit_content_purge, conversations_purge
from audit.tasks import retention_purge
from audit.verify import verify_log
from prompting.models import Conversation, Document, Message
from tests.audit.conftest import record_prompt


def _conversation(user: User, age_days: int) -> Conversation:
    conversation = Conversation.objects.create(owner=user, model_id="m", title="t")
    Message.objects.create(conversation=conversation, role="user", content="Jane Doe's refund")
    Conversation.objects.filter(pk=conversation.pk).update(
        updated_at=timezone.now() - timedelta(days=age_days)
    )
    return conversation


@pytest.mark.django_db
def test_old_conversations_are_purged_and_recorded(alice: User, settings) -> None:
    """Conversations untouched for longer than the period go, with their messages;
    recent ones stay; one retention.purged event records the batch."""
    settings.CONVERSATION_RETENTION_DAYS = 30
    old = [_conversation(alice, 31), _conversation(alice, 45)]
    recent = _conversation(alice, 29)
    assert conversations_purge() == 2
    assert list(Conversation.objects.values_list("id", flat=True)) == [recent.id]
    assert not Message.objects.filter(conversation_id__in=[c.id for c in old]).exists()
    event = AuditEvent.objects.get(action=actions.RETENTION_PURGED)
    assert event.details["kind"] == "conversations"
    assert event.details["count"] == 2
    assert event.actor_label == "system:retention"
    assert conversations_purge() == 0
    assert AuditEvent.objects.filter(action=actions.RETENTION_PURGED).count() == 1


@pytest.mark.django_db
def test_purge_removes_leftover_upload_files_after_commit(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    """An upload a crashed extraction left behind goes with its conversation, once
    the purge has committed."""
    conversation = _conversation(alice, 60)
    document = Document.objects.create(owner=alice, conversation=conversation, filename="a.pdf")
    document.upload.save("left-behind.upload", ContentFile(b"%PDF customer data"), save=True)
    path = Path(document.upload.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert conversations_purge() == 1
    assert path.exists(), "nothing is deleted before the commit"
    for callback in callbacks:
        callback()
    assert not path.exists()
    event = AuditEvent.objects.get(action=actions.RETENTION_PURGED)
    assert event.details["files"] == 1


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
def test_beat_task_runs_both_purges(alice: User) -> None:
    """The daily beat task returns what each purge did."""
    _conversation(alice, 400)
    assert retention_purge() == {"conversations": 1, "audit_content": 0}
