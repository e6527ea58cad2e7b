"""Signed checkpoints: Ed25519, chained, covering their own event, skipped when idle,
delivered to the store, and rotated by announcement."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audit import actions, signing
from audit.checkpoints import checkpoint_create, checkpoint_record, signed_payload
from audit.models import AuditEvent
from audit.store import DirectoryStore, StoreConflict
from audit.verify import verify_log
from tests.audit.conftest import other_key, record_many


@pytest.mark.django_db
def test_checkpoint_covers_its_own_event_and_chains_to_the_previous(settings: Any) -> None:
    record_many(3)
    first = checkpoint_create(store=None)
    record_many(2)
    second = checkpoint_create(store=None)
    assert first is not None and second is not None
    last = AuditEvent.objects.order_by("-id").first()
    assert last is not None and last.action == actions.AUDIT_CHECKPOINT
    assert (second.last_event_id, second.last_hash) == (last.id, last.hash)
    assert (first.seq, second.seq) == (1, 2)
    assert second.first_event_id == first.last_event_id + 1
    assert second.prev_signature == first.signature
    assert second.retention_days == settings.AUDIT_RETENTION_DAYS
    public = signing.public_key_text(signing.private_key(settings.AUDIT_SIGNING_KEY))
    record = checkpoint_record(second)
    assert signing.signature_ok(public, signed_payload(record), second.signature)
    assert not signing.signature_ok(public, signed_payload({**record, "seq": 3}), second.signature)


@pytest.mark.django_db
def test_idle_log_gets_no_new_checkpoint_unless_the_retention_changed(settings: Any) -> None:
    record_many(2)
    assert checkpoint_create(store=None) is not None
    count = AuditEvent.objects.count()
    assert checkpoint_create(store=None) is None
    assert AuditEvent.objects.count() == count
    settings.AUDIT_RETENTION_DAYS = 30
    changed = checkpoint_create(store=None)
    assert changed is not None and changed.retention_days == 30


@pytest.mark.django_db(transaction=True)
def test_key_rotation_is_announced_by_the_old_key(settings: Any, store_dir: Path) -> None:
    """New key set, old key kept as previous: the next checkpoint is signed by the old
    key and announces the new one; later ones use the new key; verify, trusting only
    the old public key, follows the announcement. An unannounced key is not trusted."""
    old_key = settings.AUDIT_SIGNING_KEY
    old_public = signing.public_key_text(signing.private_key(old_key))
    record_many(2)
    checkpoint_create()
    new_key = other_key()
    new_public = signing.public_key_text(signing.private_key(new_key))
    settings.AUDIT_SIGNING_KEY, settings.AUDIT_PREVIOUS_SIGNING_KEY = new_key, old_key
    announcement = checkpoint_create()
    assert announcement is not None
    assert announcement.key_id == signing.key_id(old_public)
    assert announcement.next_public_key == new_public
    record_many(1)
    after = checkpoint_create()
    assert after is not None and after.key_id == signing.key_id(new_public)
    settings.AUDIT_VERIFY_PUBLIC_KEYS = [old_public]
    result = verify_log(store=None)  # trusting only the configured key
    assert result.ok, result.summary()
    assert signing.key_id(new_public) in result.keys
    assert verify_log().ok  # the store's copies and keys agree
    # A key nobody announced is unknown (the store would publish it; left out here).
    settings.AUDIT_SIGNING_KEY, settings.AUDIT_PREVIOUS_SIGNING_KEY = other_key(), ""
    record_many(1)
    checkpoint_create()
    unknown = verify_log(store=None)
    assert unknown.exit_code == 2 and "is signed by key" in unknown.summary()


def test_directory_store_writes_once(tmp_path: Path) -> None:
    """The same bytes again is a harmless retry; other bytes are refused."""
    store = DirectoryStore(tmp_path / "store")
    assert store.put(1, b"one\n") is True
    assert store.put(1, b"one\n") is False
    with pytest.raises(StoreConflict):
        store.put(1, b"forged\n")
    assert (tmp_path / "store" / "checkpoints" / "000000000001.json").read_bytes() == b"one\n"


@pytest.mark.django_db(transaction=True)
def test_checkpoint_goes_to_s3_with_object_lock(s3_store: tuple[str, str], s3_server: Any) -> None:
    """Written with COMPLIANCE-mode Object Lock and its retention date; never
    overwritten (If-None-Match)."""
    record_many(2)
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    bucket, prefix = s3_store
    head = s3_server.client().head_object(
        Bucket=bucket, Key=f"{prefix}/checkpoints/000000000001.json"
    )
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"]
    body = s3_server.client().get_object(
        Bucket=bucket, Key=f"{prefix}/checkpoints/000000000001.json"
    )
    assert json.loads(body["Body"].read())["signature"] == checkpoint.signature
    assert verify_log().ok


@pytest.mark.django_db(transaction=True)
def test_unreachable_store_keeps_the_checkpoint_for_later(settings: Any, tmp_path: Path) -> None:
    """A store that cannot be written: the command says so (exit 1); the checkpoint is
    in the database and delivered by the next run."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.AUDIT_CHECKPOINT_STORE = str(blocker / "store")
    record_many(2)
    with pytest.raises(Exception, match="signed but not delivered"):
        call_command("audit_checkpoint", stdout=StringIO())
    settings.AUDIT_CHECKPOINT_STORE = str(tmp_path / "store")
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert out.getvalue().startswith("no new events")
    assert (tmp_path / "store" / "checkpoints" / "000000000001.json").exists()
    assert verify_log().ok


@pytest.mark.django_db
def test_keygen_prints_a_usable_pair() -> None:
    out = StringIO()
    call_command("audit_keygen", stdout=out)
    private = out.getvalue().splitlines()[0].split("=", 1)[1]
    public = out.getvalue().splitlines()[1].rsplit(" ", 1)[1]
    assert signing.public_key_text(signing.private_key(private)) == public
