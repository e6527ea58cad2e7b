"""Helpers for audit tests: record events as the services do, bypass triggers to tamper."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from audit import actions
from audit.models import AuditEvent
from audit.services import audit_record


def record_prompt(user: Any, **details: Any) -> AuditEvent:
    """A prompt.submitted event shaped like prompting/services.py writes it."""
    base = {
        "tool": "chat",
        "model": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "region": "us-east-1",
        "policy_version": 1,
        "decision": "pseudonymize",
        "findings": {"PERSON": 1},
        "input_chars": 42,
        "sanitized_sha256": "0" * 64,
    }
    base.update(details)
    return audit_record(
        actor=user, action=actions.PROMPT_SUBMITTED, details=base, content="Hi <PERSON_1>"
    )


def record_blocked(user: Any, **details: Any) -> AuditEvent:
    base = {
        "tool": "chat",
        "model": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "policy_version": 1,
        "decision": "block",
        "blocked_types": ["US_SSN"],
        "findings": {"US_SSN": 1},
        "reason": "US_SSN is blocked by policy v1",
    }
    base.update(details)
    return audit_record(actor=user, action=actions.PROMPT_BLOCKED, outcome="blocked", details=base)


def record_finished(user: Any, outcome: str = "done", **details: Any) -> AuditEvent:
    base = {
        "tool": "chat",
        "model": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "input_tokens": 100,
        "output_tokens": 50,
        "cost_usd": "0.000350",
        "ttft_ms": 400,
        "latency_ms": 1200,
        "error_code": "",
    }
    base.update(details)
    return audit_record(
        actor=user,
        action=actions.GENERATION_FINISHED,
        outcome=outcome,
        details=base,
    )


def record_many(count: int, actor: Any = "system:test") -> list[AuditEvent]:
    return [
        audit_record(actor=actor, action=actions.AUDIT_VIEWED, details={"n": i})
        for i in range(count)
    ]


@contextmanager
def triggers_bypassed() -> Iterator[Any]:
    """Tamper as someone with database access would: PostgreSQL's replica mode skips
    triggers; SQLite has no such switch, so the triggers are dropped and created
    again afterwards. Yields a cursor."""
    migration = importlib.import_module("audit.migrations.0002_append_only_triggers")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            for name in migration.SQLITE_TRIGGERS:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")
            else:
                for sql in migration.SQLITE_SQL:
                    cursor.execute(sql)


@pytest.fixture
def system_events(db: None) -> list[AuditEvent]:
    return record_many(10)
