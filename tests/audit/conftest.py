"""Helpers for audit tests: record events as the services do, give each test its own
checkpoint store. Tampering as the owner: tests.support.audit_db.tampering()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit import actions, signing
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


@pytest.fixture
def store_dir(tmp_path: Path, settings: Any) -> Path:
    """A fresh development store (a directory) for this test's checkpoints."""
    path = tmp_path / "checkpoint-store"
    settings.AUDIT_CHECKPOINT_STORE = str(path)
    return path


@pytest.fixture
def s3_store(s3_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """An Object Lock bucket on the local S3 server as this test's checkpoint store;
    returns (bucket, prefix)."""
    bucket = s3_server.create_bucket(object_lock=True)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    settings.AUDIT_CHECKPOINT_STORE = f"s3://{bucket}/audit"
    settings.AUDIT_CHECKPOINT_STORE_ENDPOINT_URL = s3_server.endpoint_url
    return bucket, "audit"


def other_key() -> str:
    return signing.generate_private_key_text()


@pytest.fixture
def system_events(db: None) -> list[AuditEvent]:
    return record_many(10)
