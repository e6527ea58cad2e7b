"""Insights test helpers: events recorded through audit_record at chosen times, as the
services record them, and a viewer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from audit import actions
from audit.models import AuditEvent
from audit.services import audit_record
from tests.audit.conftest import record_blocked, record_finished, record_prompt
from tests.conftest import make_user

__all__ = ["at", "record_blocked", "record_finished", "record_prompt", "sign_in_event"]


@contextmanager
def at(when: datetime) -> Iterator[None]:
    """Events recorded inside carry this time (audit_record reads timezone.now)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def sign_in_event(user: Any) -> AuditEvent:
    return audit_record(actor=user, action=actions.ACCOUNT_SIGN_IN, target=user)


def template_used(user: Any, template_id: int, *, shared: bool, tool: str = "chat") -> AuditEvent:
    return audit_record(
        actor=user,
        action=actions.TEMPLATE_USED,
        details={"tool": tool, "template_id": template_id, "shared": shared},
    )


def feedback(user: Any, rating: str, *, tool: str = "chat", previous: str | None = None) -> Any:
    return audit_record(
        actor=user,
        action=actions.FEEDBACK_GIVEN,
        details={"tool": tool, "rating": rating, "previous_rating": previous},
    )


def override(user: Any, entity: str, outcome: str = "ok") -> AuditEvent:
    return audit_record(
        actor=user,
        action=actions.POLICY_OVERRIDE,
        outcome=outcome,
        details={"entity_type": entity, "reason": "a street name", "policy_version": 1},
    )


@pytest.fixture
def viewer(db: None) -> Any:
    from accounts.roles import INSIGHTS_VIEWER

    return make_user("vera", INSIGHTS_VIEWER, department="Strategy")


def people(prefix: str, count: int, department: str) -> list[Any]:
    # Stored as the SSO mapping stores it: cut to the column's 200 characters.
    return [make_user(f"{prefix}{i}", department=department[:200]) for i in range(count)]
