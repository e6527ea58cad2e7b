"""Retention of conversations: purged after CONVERSATION_RETENTION_DAYS, each batch
recorded, leftover upload files removed after the commit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from audit.actions import Action
from audit.models import AuditEvent
from prompting.models import Conversation, Document, Message
from prompting.retention import conversations_purge
from prompting.tasks import purge_conversations


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
    event = AuditEvent.objects.get(action=Action.RETENTION_PURGED)
    assert event.details["kind"] == "conversations"
    assert event.details["count"] == 2
    assert event.actor_label == "system:retention"
    assert conversations_purge() == 0
    assert AuditEvent.objects.filter(action=Action.RETENTION_PURGED).count() == 1


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
    event = AuditEvent.objects.get(action=Action.RETENTION_PURGED)
    assert event.details["files"] == 1


@pytest.mark.django_db
def test_beat_task_purges_conversations(alice: User) -> None:
    """The daily beat task returns how many conversations it purged."""
    _conversation(alice, 400)
    assert purge_conversations() == 1
