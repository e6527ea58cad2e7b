"""Retry creates a new run for the same message, only where that makes sense."""

from __future__ import annotations

from typing import Any

import pytest

from prompting import services
from prompting.errors import RunNotRetryable
from prompting.models import Run
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db


def make_run(user: Any, *, status: str, with_message: bool = True) -> Run:
    conversation = services.conversation_create(owner=user)
    message = (
        conversation.messages.create(role="user", content="hi", sanitized_content="hi")
        if with_message
        else None
    )
    return Run.objects.create(
        owner=user,
        conversation=conversation,
        user_message=message,
        model_id=conversation.model_id,
        status=status,
    )


@pytest.mark.parametrize("status", [Run.Status.DONE, Run.Status.BLOCKED, Run.Status.STREAMING])
def test_only_failed_interrupted_or_stopped_runs_can_be_retried(alice: Any, status: str) -> None:
    """A finished, blocked or running answer cannot be retried."""
    run = make_run(alice, status=status)
    with pytest.raises(RunNotRetryable):
        run_services.run_retry(user=alice, run_id=run.pk)


def test_a_summary_without_its_own_message_is_not_retried(alice: Any) -> None:
    """A summary parent has no message to resend: a sentence instead of a broken run."""
    run = make_run(alice, status=Run.Status.FAILED, with_message=False)
    with pytest.raises(RunNotRetryable, match="summary"):
        run_services.run_retry(user=alice, run_id=run.pk)
    assert Run.objects.count() == 1


def test_retry_queues_a_new_run_for_the_same_message(
    alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The new run points at the same user message and waits for the policy."""
    run = make_run(alice, status=Run.Status.INTERRUPTED)
    with django_capture_on_commit_callbacks() as callbacks:
        retry = run_services.run_retry(user=alice, run_id=run.pk)
    assert retry.pk != run.pk and retry.user_message_id == run.user_message_id
    assert retry.status == Run.Status.QUEUED
    assert len(callbacks) == 1  # the policy task, queued once the transaction commits
