"""The tamper suite: each way of rewriting the log that issue 11 lists, done as the
attacker would (the application's role where it can, the owner's powers with the
triggers off where it cannot), is refused or detected, naming the first event,
checkpoint or day affected. Runs on SQLite and on PostgreSQL (in CI as the
restricted role). Transactional: the owner works on its own connection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import actions, signing
from audit.chain import event_hash, fields_of
from audit.checkpoints import checkpoint_create, checkpoint_record, signed_payload
from audit.models import AuditCheckpoint, AuditEvent
from audit.retention import audit_content_purge
from audit.services import audit_record
from audit.verify import verify_log
from audit.verify.report import CANNOT_CHECK, TAMPERED
from tests.audit.conftest import other_key, record_finished, record_many, record_prompt
from tests.support.audit_db import tampering

pytestmark = pytest.mark.django_db(transaction=True)


def _tampered(**kwargs: Any) -> Any:
    result = verify_log(**kwargs)
    assert result.exit_code == TAMPERED, result.summary()
    assert result.problem is not None
    return result.problem


@pytest.fixture
def log(store_dir: Any) -> list[AuditEvent]:
    """20 events, a checkpoint, 10 more and a second checkpoint, 5 after it; stored
    off-box in a directory. Intact to begin with."""
    events = [record_finished("system:test"), *record_many(19)]
    checkpoint_create()
    events += record_many(10)
    checkpoint_create()
    events += record_many(5)
    result = verify_log()
    assert result.ok and result.checkpoints == 2, result.summary()
    return events


def test_edited_field_is_named(log: list[AuditEvent]) -> None:
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'x' WHERE id = %s", [log[4].id])
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (log[4].id, "edited")


def test_blanked_content_is_named(alice: Any, store_dir: Any) -> None:
    event = record_prompt(alice)
    record_prompt(alice)
    checkpoint_create()
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditevent SET content = '' WHERE id = %s", [event.id])
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (event.id, "content")


def test_deleted_event_is_named(log: list[AuditEvent]) -> None:
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [log[3].id])
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (log[3].id, "deleted")


def test_deleted_and_renumbered_event_is_named(log: list[AuditEvent]) -> None:
    target = log[3].id
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target])
        cursor.execute("SELECT id FROM audit_auditevent WHERE id > %s ORDER BY id", [target])
        for (event_id,) in cursor.fetchall():
            cursor.execute(
                "UPDATE audit_auditevent SET id = %s WHERE id = %s", [event_id - 1, event_id]
            )
        cursor.execute("UPDATE audit_auditchainhead SET seq = seq - 1")
    problem = _tampered()
    assert problem.event_id == target and problem.kind == "deleted"


def test_inserted_event_is_named(log: list[AuditEvent]) -> None:
    position = log[4].id
    before = log[3]
    with tampering() as cursor:
        cursor.execute(
            "SELECT id FROM audit_auditevent WHERE id >= %s ORDER BY id DESC", [position]
        )
        for (event_id,) in cursor.fetchall():
            cursor.execute(
                "UPDATE audit_auditevent SET id = %s WHERE id = %s", [event_id + 1, event_id]
            )
        forged = AuditEvent(
            id=position,
            created_at=before.created_at,
            actor_label="someone",
            action=actions.AUDIT_VIEWED,
            details={},
            content_sha256=before.content_sha256,
            prev_hash=before.hash,
        )
        forged.hash = event_hash(fields_of(forged))
        cursor.execute(
            "INSERT INTO audit_auditevent (id, created_at, actor_label, actor_department, action,"
            " target_type, target_id, outcome, tool, model, decision, details, content,"
            " content_sha256, prev_hash, hash) VALUES (%s, %s, 'someone', '', %s, '', '', 'ok',"
            " '', '', '', '{}', '', %s, %s, %s)",
            [
                position,
                before.created_at if connection.vendor == "postgresql" else _sqlite_time(before),
                actions.AUDIT_VIEWED,
                forged.content_sha256,
                forged.prev_hash,
                forged.hash,
            ],
        )
        cursor.execute("UPDATE audit_auditchainhead SET seq = seq + 1")
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (position, "inserted")


def _sqlite_time(event: AuditEvent) -> str:
    return event.created_at.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_reordered_events_are_named(log: list[AuditEvent]) -> None:
    a, b = log[5].id, log[6].id
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [a])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = %s", [a, b])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = -1", [b])
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (a, "reordered")


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]


def test_tail_after_the_last_checkpoint_cannot_be_removed_by_the_app(
    log: list[AuditEvent],
) -> None:
    """The application's role can neither delete the tail nor move the head back."""
    last = _last_event_id()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id > %s", [last - 3])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditchainhead SET seq = %s", [last - 3])
    assert _last_event_id() == last


def test_tail_after_the_last_checkpoint_removed_without_the_head_is_named(
    log: list[AuditEvent],
) -> None:
    last = _last_event_id()
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id > %s", [last - 3])
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (last - 2, "truncated")


@pytest.mark.parametrize("fix_head", [False, True])
def test_tail_reaching_into_the_last_checkpoint_is_named(
    log: list[AuditEvent], fix_head: bool
) -> None:
    """Removing events a signed checkpoint covers is caught, head fixed or not."""
    covered = AuditEvent.objects.filter(action=actions.AUDIT_CHECKPOINT).order_by("-id")[0].id
    keep = covered - 2
    kept_hash = AuditEvent.objects.get(pk=keep).hash
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id > %s", [keep])
        if fix_head:
            cursor.execute("UPDATE audit_auditchainhead SET seq = %s, hash = %s", [keep, kept_hash])
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (keep + 1, "truncated")


def test_rebuilt_log_is_caught_by_the_store(log: list[AuditEvent]) -> None:
    """Someone with the owner's role and the signing key edits an event, recomputes
    every later hash and the head, and signs the checkpoints anew: the chain and the
    signatures are consistent, but the store's copies are not theirs to change."""
    target = log[1].id
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        previous = None
        for event in AuditEvent.objects.filter(id__gte=target).order_by("id"):
            if event.id == target:
                event.outcome = "failed"
            event.prev_hash = previous or event.prev_hash
            event.hash = event_hash(fields_of(event))
            cursor.execute(
                "UPDATE audit_auditevent SET outcome = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [event.outcome, event.prev_hash, event.hash, event.id],
            )
            previous = event.hash
        cursor.execute("UPDATE audit_auditchainhead SET hash = %s", [previous])
    checkpoint_create(store=None)  # signed with the real key, not delivered
    assert verify_log(store=None).ok, "without the store the forgery is self-consistent"
    problem = _tampered()
    assert (problem.checkpoint, problem.kind) == (1, "checkpoint")
    assert "differs from its copy in the store" in problem.message


def test_deleted_checkpoint_is_named(log: list[AuditEvent]) -> None:
    """The newest checkpoint: the store still has it."""
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE seq = 2")
    problem = _tampered()
    assert (problem.checkpoint, problem.kind) == (2, "checkpoint")
    assert "the store has it but the database does not" in problem.message


def test_deleted_middle_checkpoint_is_named_without_the_store(log: list[AuditEvent]) -> None:
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE seq = 1")
    problem = _tampered(store=None)
    assert (problem.checkpoint, problem.kind) == (1, "checkpoint")
    assert "missing" in problem.message


def test_edited_checkpoint_is_named(log: list[AuditEvent]) -> None:
    with tampering() as cursor:
        cursor.execute(
            "UPDATE audit_auditcheckpoint SET event_count = event_count + 1 WHERE seq = 1"
        )
    assert _tampered().checkpoint == 1
    problem = _tampered(store=None)
    assert problem.checkpoint == 1 and "signature does not verify" in problem.message


@pytest.mark.parametrize("seq", [1, 2])
def test_rekeyed_checkpoint_is_named(log: list[AuditEvent], seq: int) -> None:
    """Re-signed with a key of the attacker's own: the store's copy differs; without
    the store the next checkpoint no longer chains to it, and the last one's key is
    unknown (cannot check, never skipped)."""
    key = signing.private_key(other_key())
    record = checkpoint_record(AuditCheckpoint.objects.get(seq=seq))
    record["key_id"] = signing.key_id(signing.public_key_text(key))
    record["signature"] = signing.sign(key, signed_payload(record))
    with tampering() as cursor:
        cursor.execute(
            "UPDATE audit_auditcheckpoint SET key_id = %s, signature = %s WHERE seq = %s",
            [record["key_id"], record["signature"], seq],
        )
    assert _tampered().checkpoint == seq
    alone = verify_log(store=None)
    if seq == 1:
        assert alone.problem is not None and alone.problem.checkpoint == 1
        assert "replaced" in alone.problem.message
    else:
        assert alone.exit_code == CANNOT_CHECK
        assert "checkpoint 2 is signed by key" in alone.summary()


def test_reordered_checkpoints_are_named(log: list[AuditEvent]) -> None:
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditcheckpoint SET seq = -1 WHERE seq = 1")
        cursor.execute("UPDATE audit_auditcheckpoint SET seq = 1 WHERE seq = 2")
        cursor.execute("UPDATE audit_auditcheckpoint SET seq = 2 WHERE seq = -1")
    problem = _tampered(store=None)
    assert problem.checkpoint == 1 and problem.kind == "checkpoint"


def test_checkpoint_deleted_from_the_store_directory_is_named(
    log: list[AuditEvent], store_dir: Any
) -> None:
    (store_dir / "checkpoints" / "000000000001.json").unlink()
    problem = _tampered()
    assert (problem.checkpoint, problem.kind) == (1, "store")


def test_checkpoint_deleted_from_s3_is_named(s3_store: tuple[str, str], s3_server: Any) -> None:
    """With Object Lock the locked version cannot be deleted; a delete marker hiding
    it is seen in the versions."""
    record_many(3)
    checkpoint_create()
    record_many(2)
    checkpoint_create()
    assert verify_log().ok
    bucket, prefix = s3_store
    client = s3_server.client()
    key = f"{prefix}/checkpoints/000000000001.json"
    version = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"][0]["VersionId"]
    with pytest.raises(client.exceptions.ClientError):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    client.delete_object(Bucket=bucket, Key=key)  # a delete marker
    problem = _tampered()
    assert (problem.checkpoint, problem.kind) == (1, "store")
    assert "delete marker" in problem.message


def test_forged_retention_purge_is_named(alice: Any, store_dir: Any) -> None:
    """The app's role blanks every content and records a purge claiming it all:
    verify recomputes what the signed retention allowed and names the first event."""
    first = record_prompt(alice)
    record_prompt(alice)
    assert audit_content_purge() == 0  # nothing is old enough; signs the retention
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT audit_content_blank(%s)", [10**9])
        else:
            cursor.execute("UPDATE audit_auditevent SET content = ''")
        audit_record(
            actor="system:retention",
            action=actions.RETENTION_PURGED,
            details={
                "kind": "audit_content",
                "purged_through": 10**9,
                "retention_days": 0,
                "count": 2,
            },
        )
    problem = _tampered()
    assert (problem.event_id, problem.kind) == (first.id, "content")


def test_genuine_retention_purge_verifies(store_dir: Any, settings: Any) -> None:
    """Content older than the signed retention is blanked; verify agrees. A purge run
    with a clock 20 days ahead blanks more than the retention allowed: named."""
    settings.AUDIT_RETENTION_DAYS = 10
    old = record_prompt("system:test")
    later = timezone.now() + timedelta(days=11)
    with mock.patch("django.utils.timezone.now", return_value=later):
        recent = record_prompt("system:test")
        assert audit_content_purge() >= 1
        result = verify_log()
        assert result.ok, result.summary()
        assert AuditEvent.objects.get(pk=old.id).content_purged
        assert audit_content_purge(now=later + timedelta(days=20)) >= 1
    problem = _tampered()
    assert problem.event_id == recent.id and problem.kind == "content"


def test_edited_totals_are_named_by_day_and_column(alice: Any, store_dir: Any) -> None:
    record_finished(alice, cost_usd="47.21")
    record_finished(alice, cost_usd="0.50")
    checkpoint_create()
    day = AuditEvent.objects.order_by("-id")[0].created_at.date().isoformat()
    assert verify_log().ok
    with tampering() as cursor:
        cursor.execute("UPDATE audit_auditdailytotal SET cost_usd = 4.72")
    problem = _tampered()
    assert (problem.day, problem.kind) == (day, "totals")
    assert "cost_usd is 4.720000 in the table but 47.710000 from the events" in problem.message


APP_ROLE_STATEMENTS = {
    "update": "UPDATE audit_auditevent SET outcome = 'x'",
    "delete": "DELETE FROM audit_auditevent",
    "truncate": "TRUNCATE audit_auditevent",
    "update_head": "UPDATE audit_auditchainhead SET seq = 1",
    "update_totals": "UPDATE audit_auditdailytotal SET events = 0",
    "update_checkpoint": "UPDATE audit_auditcheckpoint SET last_hash = 'x'",
    "alter": "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
    "drop": "DROP TABLE audit_auditevent",
}
# SQLite has no roles: what it cannot refuse, verify must catch.
SQLITE_EQUIVALENT = {
    "truncate": "DELETE FROM audit_auditevent",
    "alter": "DROP TRIGGER audit_auditevent_no_update",
}


class _Undo(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


@pytest.mark.parametrize("name", list(APP_ROLE_STATEMENTS))
def test_app_role_changes_are_refused_or_detected(log: list[AuditEvent], name: str) -> None:
    """PostgreSQL refuses every one to the application's role. SQLite has no roles:
    its triggers refuse changes to rows, and verify catches the rest (the change is
    rolled back after verifying, so the database stays usable)."""
    sql = APP_ROLE_STATEMENTS[name]
    if connection.vendor == "sqlite":
        sql = SQLITE_EQUIVALENT.get(name, sql)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
            raise _Undo(verify_log())
    except _Undo as undo:
        result = undo.result
    except DatabaseError:
        assert verify_log().ok, "refused, and nothing changed"
        return
    assert connection.vendor == "sqlite" and name in {"alter", "drop", "update_totals"}
    assert result.exit_code in {TAMPERED, CANNOT_CHECK}, result.summary()
    if name == "alter":
        assert result.problem.kind == "protection"
        assert "audit_auditevent_no_update" in result.problem.message
    if name == "drop":
        assert result.exit_code == CANNOT_CHECK and "cannot be read" in result.summary()
    if name == "update_totals":
        assert result.problem.kind == "totals"
