"""audit_record: chained, atomic with the caller, denormalized, private."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.models import User
from audit import actions
from audit.chain import EMPTY_SHA256, GENESIS, content_sha256, event_hash, fields_of
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_record
from audit.verify import verify_log
from tests.audit.conftest import record_finished, record_prompt
from tests.support.audit_db import tampering
from tests.support.live import _test_database_url
from tests.support.processes import ROOT


@pytest.mark.django_db
def test_events_form_a_hash_chain() -> None:
    """Each event's prev_hash is the previous event's hash, starting from GENESIS,
    and its hash is the SHA-256 of its canonical fields as read back."""
    first = audit_record(actor="system:test", action=actions.AUDIT_VIEWED)
    second = audit_record(actor="system:test", action=actions.AUDIT_VIEWED, details={"a": [1.0]})
    assert second.id == first.id + 1
    assert AuditEvent.objects.get(pk=1).prev_hash == GENESIS
    assert second.prev_hash == first.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert event_hash(fields_of(stored)) == stored.hash == second.hash


@pytest.mark.django_db
def test_event_rolls_back_with_the_callers_change(alice: User) -> None:
    """Written in the caller's transaction: if the change fails, so does its event."""
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        alice.department = "Legal"
        alice.save()
        audit_record(actor=alice, action=actions.ACCOUNT_ROLE_CHANGE, target=alice)
        raise RuntimeError("the change fails after its event was written")
    assert AuditEvent.objects.count() == before
    after = audit_record(actor=alice, action=actions.ACCOUNT_SIGN_IN)
    assert after.id == before + 1, "a rolled-back append must not leave a gap"


@pytest.mark.django_db
def test_known_details_are_copied_to_indexed_columns(alice: User) -> None:
    """tool, model, decision, tokens and cost land in columns the filters and totals use;
    the actor's department is snapshotted."""
    prompt = record_prompt(alice, decision="block")
    finished = record_finished(alice, input_tokens=7, output_tokens=3, cost_usd="0.0105")
    prompt.refresh_from_db()
    finished.refresh_from_db()
    assert (prompt.tool, prompt.decision, prompt.actor_department) == ("chat", "block", "Support")
    assert prompt.model.startswith("us.anthropic.")
    assert (finished.input_tokens, finished.output_tokens) == (7, 3)
    assert finished.cost_usd == Decimal("0.010500")
    assert finished.actor_label == "alice@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["original", "mapping", "pseudonym_map", "original_text"])
def test_details_refuse_keys_that_would_hold_original_values(alice: User, key: str) -> None:
    """A details key meant for original values or the mapping is a programming error."""
    with pytest.raises(ValueError, match=key):
        audit_record(actor=alice, action=actions.POLICY_OVERRIDE, details={"x": [{key: "v"}]})
    assert not AuditEvent.objects.filter(action=actions.POLICY_OVERRIDE).exists()


@pytest.mark.django_db
def test_content_is_stored_with_its_own_hash(alice: User, settings) -> None:
    """Content is kept outside the chain, represented in it by content_sha256."""
    settings.AUDIT_STORE_CONTENT = True
    event = record_prompt(alice)
    assert event.content == "Hi <PERSON_1>"
    assert event.content_sha256 == content_sha256("Hi <PERSON_1>")


@pytest.mark.django_db
def test_content_off_stores_no_content(alice: User, settings) -> None:
    """AUDIT_STORE_CONTENT=false: metadata only, no text and no hash of text."""
    settings.AUDIT_STORE_CONTENT = False
    event = record_prompt(alice)
    event.refresh_from_db()
    assert event.content == ""
    assert event.content_sha256 == EMPTY_SHA256


@pytest.mark.django_db
def test_nul_characters_are_dropped_not_fatal(alice: User) -> None:
    """PostgreSQL cannot store NUL; an event carrying one is stored without it
    instead of failing the change it records, and its hash still verifies."""
    event = audit_record(
        actor=alice,
        action=actions.POLICY_OVERRIDE,
        details={"reason": "a\x00b", "k\x00": ["c\x00"]},
        content="x\x00y",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == {"reason": "ab", "k": ["c"]}
    assert stored.content == "xy"
    assert verify_log(store=None).ok


@pytest.mark.django_db(transaction=True)
def test_lost_head_row_restarts_from_the_last_event() -> None:
    """Without its head row (the owner removed it) the chain continues from the last
    event, never from #1."""
    audit_record(actor="system:test", action=actions.AUDIT_VIEWED)
    last = audit_record(actor="system:test", action=actions.AUDIT_VIEWED)
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditchainhead")
    assert not AuditChainHead.objects.exists()
    following = audit_record(actor="system:test", action=actions.AUDIT_VIEWED)
    assert following.id == last.id + 1
    assert following.prev_hash == last.hash
    assert verify_log(store=None).ok


WRITER = """
import sys, django
django.setup()
from audit.services import audit_record
for i in range(int(sys.argv[2])):
    audit_record(actor="system:writer-" + sys.argv[1], action="audit.viewed", details={"i": i})
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_in_several_processes_keep_one_valid_chain() -> None:
    """Four processes appending at once take turns on the chain head: ids 1…N with
    no gap, every link intact."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n), "30"], cwd=ROOT, env=env)
        for n in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    result = verify_log(store=None)
    assert result.ok, result.summary()
    assert result.events == AuditEvent.objects.count() >= 120
    assert connection.vendor in {"sqlite", "postgresql"}
