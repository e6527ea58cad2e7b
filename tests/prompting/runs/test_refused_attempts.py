"""A text the page refused to send because the preview blocks it is a refused attempt:
the server checks it again and records prompt.blocked (no content), so the reviewer's
"Blocked" counts it; a preview made while typing stays policy.previewed."""

from __future__ import annotations

from typing import Any

import pytest

from audit import actions
from audit.filters import Filters
from audit.models import AuditEvent
from audit.totals import event_totals, events_totals_uncached
from prompting.runs import dispatch
from prompting.views.preview import _preview_start

pytestmark = pytest.mark.django_db

BLOCKED_TEXT = "Deploy with aws_access_key_id=AKIAIOSFODNN7EXAMPLE please."


def _preview(user: Any, dispatched: Any, capture: Any, **fields: str) -> AuditEvent:
    dispatched.inline.add(dispatch.POLICY_PREVIEW)
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with capture(execute=True):
        _preview_start(user, fields)
    return AuditEvent.objects.filter(id__gt=before).get(
        action__in=(actions.POLICY_PREVIEWED, actions.PROMPT_BLOCKED)
    )


def test_a_refused_attempt_counts_as_blocked(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    typing = _preview(alice, dispatched, django_capture_on_commit_callbacks, text=BLOCKED_TEXT)
    assert (typing.action, typing.outcome) == (actions.POLICY_PREVIEWED, "block")
    assert event_totals(Filters()).blocked == 0

    for tool_fields in ({}, {"preset": "shorter"}):
        refused = _preview(
            alice,
            dispatched,
            django_capture_on_commit_callbacks,
            text=BLOCKED_TEXT,
            attempt="1",
            **tool_fields,
        )
        assert (refused.action, refused.outcome, refused.decision) == (
            actions.PROMPT_BLOCKED, "blocked", "block",
        )  # fmt: skip
        assert refused.details["refused_before_sending"] is True
        assert refused.details["blocked_types"]
        assert refused.content == "" and "AKIAIOSFODNN7EXAMPLE" not in str(refused.details)
    blocked = AuditEvent.objects.filter(action=actions.PROMPT_BLOCKED).order_by("id")
    assert [e.tool for e in blocked] == [
        "chat",
        "rewrite",
    ]
    # The rollups (the trigger) and the events agree: two refused attempts are "Blocked".
    assert event_totals(Filters()).blocked == 2
    assert events_totals_uncached(Filters()).blocked == 2


def test_an_attempt_that_is_not_blocked_is_just_a_preview(
    alice: Any, dispatched: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The browser's word is not taken: a text that does not block is no refused attempt."""
    event = _preview(
        alice, dispatched, django_capture_on_commit_callbacks, text="Ask about the refund.",
        attempt="1",
    )  # fmt: skip
    assert event.action == actions.POLICY_PREVIEWED
    assert event_totals(Filters()).blocked == 0
