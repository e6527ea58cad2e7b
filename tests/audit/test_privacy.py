"""The audit log holds no original value the policy replaced.

Events are written exactly as the prompting services do (sanitized content,
counts of findings, hash of the sanitized text); then every column of every
row is searched for the planted originals. The lead's end-to-end version drives
the real prompt path."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from accounts.models import User
from audit import actions
from audit.models import AuditEvent
from audit.services import audit_record

ORIGINALS = {
    "PERSON": "Jonathan Quill",
    "EMAIL_ADDRESS": "jon.quill@rider-mail.example",
    "PHONE_NUMBER": "+1 415 555 0199",
    "US_SSN": "078-05-1120",
    "CREDIT_CARD": "4111 1111 1111 1111",
}
ORIGINAL_TEXT = (
    f"Driver {ORIGINALS['PERSON']} ({ORIGINALS['EMAIL_ADDRESS']}, {ORIGINALS['PHONE_NUMBER']}) "
    f"disputes a charge on card {ORIGINALS['CREDIT_CARD']}; SSN {ORIGINALS['US_SSN']}."
)


def _sanitize(text: str) -> str:
    """What the pseudonymizer hands the service: each value replaced by a placeholder."""
    for entity, value in ORIGINALS.items():
        text = text.replace(value, f"<{entity}_1>")
    return text


def _record_prompt_lifecycle(user: User) -> None:
    sanitized = _sanitize(ORIGINAL_TEXT)
    assert not any(value in sanitized for value in ORIGINALS.values())
    common = {"tool": "summarize", "model": "m", "policy_version": 3}
    audit_record(
        actor=user,
        action=actions.PROMPT_SUBMITTED,
        details={
            **common,
            "region": "us-east-1",
            "decision": "pseudonymize",
            "findings": {entity: 1 for entity in ORIGINALS},
            "input_chars": len(ORIGINAL_TEXT),
            "sanitized_sha256": hashlib.sha256(sanitized.encode()).hexdigest(),
        },
        content=sanitized,
    )
    audit_record(
        actor=user,
        action=actions.PROMPT_BLOCKED,
        outcome="blocked",
        details={
            **common,
            "blocked_types": ["US_SSN"],
            "findings": {"US_SSN": 1},
            "reason": "US_SSN is not allowed by policy v3",
        },
    )
    audit_record(
        actor=user,
        action=actions.POLICY_OVERRIDE,
        details={**common, "entity_type": "PERSON", "reason": "a colleague, not a customer"},
    )
    audit_record(
        actor=user,
        action=actions.GENERATION_FINISHED,
        outcome="done",
        details={**common, "input_tokens": 80, "output_tokens": 20, "cost_usd": "0.0004"},
    )


def _whole_table_text() -> str:
    """Every column of every row, as the database returns it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM audit_auditevent")
        return "\n".join(repr(row) for row in cursor.fetchall())


@pytest.mark.django_db
@pytest.mark.parametrize("store_content", [True, False])
def test_no_original_value_anywhere_in_the_audit_table(
    alice: User,
    settings,
    store_content: bool,
) -> None:
    """With content on or off, no planted original appears in any column; with content
    off, no row has content at all."""
    settings.AUDIT_STORE_CONTENT = store_content
    _record_prompt_lifecycle(alice)
    dump = _whole_table_text()
    for entity, value in ORIGINALS.items():
        assert value not in dump, f"original {entity} found in the audit table"
        assert value.replace(" ", "") not in dump.replace(" ", "")
    assert ("<PERSON_1>" in dump) is store_content
    if not store_content:
        assert not AuditEvent.objects.exclude(content="").exists()
