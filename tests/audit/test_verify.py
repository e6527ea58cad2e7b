"""verify_audit_log: one line and exit 0 when intact; non-zero naming the first bad
event for each kind of tampering (performed with the triggers bypassed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit import actions
from audit.chain import event_hash, fields_of
from audit.checkpoints import checkpoint_create
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_record
from audit.verify import verify_chain
from tests.audit.conftest import record_many, triggers_bypassed
from tests.support.live import _test_database_url
from tests.support.processes import ROOT


def _verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log")
    assert failure.value.returncode == 1
    return str(failure.value)


@pytest.mark.django_db
def test_intact_log_verifies_with_one_line() -> None:
    """An untouched chain with a checkpoint: a single summary line."""
    record_many(20)
    checkpoint_create()
    record_many(5)
    out = StringIO()
    call_command("verify_audit_log", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("audit log intact:")
    assert "1 checkpoints verified" in lines[0]


@pytest.mark.django_db
def test_edited_event_is_named() -> None:
    """Changing a field of one event breaks its hash."""
    events = record_many(10)
    target = events[4]
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'blocked' WHERE id = %s", [target.id])
    message = _verify_fails()
    assert f"event #{target.id}: edited" in message


@pytest.mark.django_db
def test_edited_content_is_named() -> None:
    """Changing stored content (outside the hash) is caught by content_sha256."""
    event = audit_record(actor="system:test", action=actions.PROMPT_SUBMITTED, content="Hi <P_1>")
    record_many(2)
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET content = 'Hi Jane' WHERE id = %s", [event.id])
    assert f"event #{event.id}: edited" in _verify_fails()


@pytest.mark.django_db
def test_deleted_event_is_named() -> None:
    """A missing id is a deleted event."""
    events = record_many(10)
    target = events[3]
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.id])
    message = _verify_fails()
    assert f"event #{target.id}: missing" in message and "deleted" in message


@pytest.mark.django_db
def test_reordered_events_are_named() -> None:
    """Swapping the positions of two events breaks the links in a recognisable way."""
    events = record_many(10)
    a, b = events[5].id, events[6].id
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [a])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = %s", [a, b])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = -1", [b])
    message = _verify_fails()
    assert f"event #{a}: reordered" in message


@pytest.mark.django_db
def test_inserted_event_is_named() -> None:
    """A forged event slipped into the middle (later ids shifted up to make room, its
    hash correctly computed on its predecessor) is named as inserted."""
    events = record_many(10)
    position = events[4].id
    with triggers_bypassed() as cursor:
        cursor.execute(
            "SELECT id FROM audit_auditevent WHERE id >= %s ORDER BY id DESC", [position]
        )
        for (event_id,) in cursor.fetchall():
            cursor.execute(
                "UPDATE audit_auditevent SET id = %s WHERE id = %s", [event_id + 1, event_id]
            )
        forged = AuditEvent(
            id=position,
            created_at=events[3].created_at,
            actor_label="someone",
            action=actions.AUDIT_VIEWED,
            details={},
            content_sha256=events[3].content_sha256,
            prev_hash=events[3].hash,
        )
        forged.hash = event_hash(fields_of(forged))
        forged.save(force_insert=True)
        cursor.execute("UPDATE audit_auditchainhead SET seq = seq + 1")
    message = _verify_fails()
    assert f"event #{position}: inserted" in message


@pytest.mark.django_db
def test_truncated_tail_is_named() -> None:
    """Deleting the newest events (and even rewinding the chain head) is caught by the
    signed checkpoint that covered them."""
    record_many(10)
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    last_kept = checkpoint.last_event_id - 3
    kept_hash = AuditEvent.objects.get(pk=last_kept).hash
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id > %s", [last_kept])
    AuditChainHead.objects.filter(pk=1).update(seq=last_kept, hash=kept_hash)
    message = _verify_fails()
    assert f"event #{last_kept + 1}: missing" in message and "truncated" in message


@pytest.mark.django_db
def test_truncated_table_is_detected() -> None:
    """An emptied table is not an empty log: the chain head still knows its length."""
    record_many(5)
    with triggers_bypassed() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE audit_auditevent")
        else:
            cursor.execute("DELETE FROM audit_auditevent")
    message = _verify_fails()
    assert "event #1: missing" in message and "truncated" in message


@pytest.mark.django_db
def test_forged_checkpoint_signature_is_detected() -> None:
    """A checkpoint whose signature does not match (made without the key) fails."""
    record_many(3)
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    with triggers_bypassed() as cursor:
        cursor.execute(
            "UPDATE audit_auditcheckpoint SET event_count = event_count + 1 WHERE id = %s",
            [checkpoint.id],
        )
    assert "invalid signature" in _verify_fails()


@pytest.mark.django_db
def test_rebuilt_chain_is_caught_by_exported_checkpoints(tmp_path) -> None:
    """Someone who edits an event and recomputes every later hash (and the head)
    passes the chain check, but not the checkpoints exported earlier."""
    events = record_many(6)
    checkpoint_create()
    exported = StringIO()
    call_command("export_audit_checkpoints", stdout=exported)
    path = tmp_path / "checkpoints.jsonl"
    path.write_text(exported.getvalue())
    assert json.loads(exported.getvalue().splitlines()[0])["signature"]
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        previous = events[1].prev_hash
        for event in AuditEvent.objects.filter(id__gte=events[1].id).order_by("id"):
            if event.id == events[1].id:
                event.outcome = "failed"
            event.prev_hash = previous
            event.hash = event_hash(fields_of(event))
            cursor.execute(
                "UPDATE audit_auditevent SET outcome = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [event.outcome, event.prev_hash, event.hash, event.id],
            )
            previous = event.hash
    AuditChainHead.objects.filter(pk=1).update(hash=previous)
    assert verify_chain().ok, "the rebuilt chain is self-consistent"
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log", checkpoints=path)
    assert "differs from signed checkpoint" in str(failure.value)


@pytest.mark.django_db(transaction=True)
def test_command_exit_codes_in_a_real_process() -> None:
    """As operators run it: exit 0 and one line when intact, exit 1 once edited."""
    events = record_many(5)
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    command = [sys.executable, "manage.py", "verify_audit_log"]
    intact = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert intact.returncode == 0, intact.stderr
    assert len(intact.stdout.strip().splitlines()) == 1
    with triggers_bypassed() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s", [events[2].id]
        )
    broken = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert f"event #{events[2].id}: edited" in broken.stderr
