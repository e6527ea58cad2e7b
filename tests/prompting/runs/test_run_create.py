"""run_create refuses bad input with a sentence, and the refusal is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from prompting import services
from prompting.errors import ApplicationError, NotFound
from prompting.models import Run
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "model_id", "reason", "sentence"),
    [
        ("", "", "empty", "Type a message first."),
        ("   \n\t ", "", "empty", "Type a message first."),
        ("x" * 200_001, "", "too_long", "the limit is 200,000"),
        ("hello", "meta.llama3-70b", "model_not_allowed", "not available"),
    ],
)
def test_refused_prompts_are_explained_and_recorded(
    alice: Any, settings: Any, text: str, model_id: str, reason: str, sentence: str
) -> None:
    """Nothing is queued; the user gets a sentence; the audit log keeps the reason (no text)."""
    settings.MAX_PROMPT_CHARS = 200_000
    conversation = services.conversation_create(owner=alice)
    with pytest.raises(ApplicationError) as caught:
        run_services.run_create(user=alice, conversation=conversation, text=text, model_id=model_id)
    assert sentence in caught.value.user_message
    assert not Run.objects.exists()
    event = AuditEvent.objects.get(action="prompt.rejected")
    assert event.details["reason"] == reason
    assert event.content == ""


def test_nul_characters_are_dropped_not_a_500(
    alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """PostgreSQL cannot store NUL; the text is kept without it."""
    conversation = services.conversation_create(owner=alice)
    with django_capture_on_commit_callbacks():
        run = run_services.run_create(user=alice, conversation=conversation, text="a\x00b")
    assert run.user_message is not None and run.user_message.content == "ab"


def test_someone_elses_conversation_is_not_found(alice: Any, bob: Any) -> None:
    """Sending into another user's conversation looks exactly like a missing one."""
    conversation = services.conversation_create(owner=alice)
    with pytest.raises(NotFound):
        run_services.run_create(user=bob, conversation=conversation, text="hi")


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/chat/send", {"text": "   "}),
        ("/rewrite/send", {"text": "x" * 200_001, "preset": "shorter"}),
    ],
)
def test_refusals_through_the_pages_are_recorded_too(
    alice: Any, settings: Any, path: str, data: dict[str, str]
) -> None:
    """The pages wrap run_create in their own transaction; the refusal event survives it."""
    from django.test import Client

    settings.MAX_PROMPT_CHARS = 200_000
    client = Client()
    client.force_login(alice)
    response = client.post(path, data, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    assert AuditEvent.objects.filter(action="prompt.rejected").count() == 1
    assert not Run.objects.exists()
