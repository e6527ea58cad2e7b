"""Signed checkpoints: made through the newest event, skipped when idle, exportable."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from audit import actions
from audit.checkpoints import checkpoint_create, checkpoint_dict, signature_valid
from audit.models import AuditEvent
from tests.audit.conftest import record_many


@pytest.mark.django_db
def test_checkpoint_covers_its_own_event_and_is_signed(settings) -> None:
    """The checkpoint event is the last one covered; the signature depends on the key."""
    record_many(3)
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    last = AuditEvent.objects.order_by("-id").first()
    assert last is not None and last.action == actions.AUDIT_CHECKPOINT
    assert (checkpoint.last_event_id, checkpoint.last_hash) == (last.id, last.hash)
    data = checkpoint_dict(checkpoint)
    assert signature_valid(data) is True
    assert signature_valid({**data, "last_hash": "0" * 64}) is False
    settings.AUDIT_HMAC_KEY = "another key"
    assert signature_valid(data) is None, "a rotated key cannot judge old signatures"


@pytest.mark.django_db
def test_idle_log_gets_no_new_checkpoint() -> None:
    """Nothing new since the last checkpoint: no checkpoint, no event."""
    record_many(2)
    assert checkpoint_create() is not None
    count = AuditEvent.objects.count()
    assert checkpoint_create() is None
    assert AuditEvent.objects.count() == count
    record_many(1)
    assert checkpoint_create() is not None


@pytest.mark.django_db
def test_commands_create_and_export_checkpoints() -> None:
    """audit_checkpoint prints what it signed; export prints one JSON line each."""
    record_many(2)
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert out.getvalue().startswith("checkpoint #")
    exported = StringIO()
    call_command("export_audit_checkpoints", stdout=exported)
    rows = [json.loads(line) for line in exported.getvalue().splitlines()]
    assert len(rows) == 1 and signature_valid(rows[0]) is True
