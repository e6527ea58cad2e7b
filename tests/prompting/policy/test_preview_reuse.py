"""A previewed, unchanged message adds no second analysis: the send uses the preview's
judgement when the text, the policy version, the conversation's map and the marks are
the same; any change analyses again. Counted on the real analyzer (wrapped, not
replaced) with the real policy step and a real Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from audit.models import AuditEvent
from prompting import services
from prompting.crypto import decrypt_mapping
from prompting.models import Conversation, Message, PolicyVersion, Run
from prompting.policy import get_analyzer
from prompting.runs import judging, preview
from prompting.runs import services as run_services
from prompting.selectors import policy_version_in_force

pytestmark = pytest.mark.django_db

TEXT = "Call Olga Petrenko about her card 4111 1111 1111 1111 today."


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every analysis the deployment's analyzer makes."""
    analyzer = get_analyzer(settings.COMPANY_ID_PATTERNS)
    calls: list[int] = []
    real: Callable[..., Any] = analyzer.detect_many

    def counted(texts: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(analyzer, "detect_many", counted)
    return calls


def previewed(user: Any, conversation_id: int | None, text: str) -> None:
    request_id = preview.preview_request(user=user, text=text, conversation_id=conversation_id)
    preview.preview_compute(request_id=request_id, user_id=user.pk, conversation_id=conversation_id)


def sent(user: Any, conversation: Any, text: str, **kwargs: Any) -> Run:
    run = run_services.run_create(user=user, conversation=conversation, text=text, **kwargs)
    judging.run_judge(run_id=run.pk)
    run.refresh_from_db()
    return run


def submitted(run: Run) -> dict[str, Any]:
    return AuditEvent.objects.get(target_id=str(run.pk), action="prompt.submitted").details


def test_a_previewed_message_is_analysed_once(
    alice: Any, dispatched: Any, isolated_redis: str, analyses: list[int]
) -> None:
    conversation = services.conversation_create(owner=alice)
    previewed(alice, conversation.pk, TEXT)
    assert len(analyses) == 1
    run = sent(alice, conversation, TEXT)
    assert len(analyses) == 1  # no second analysis
    assert run.decision == "redact"
    assert run.user_message is not None
    assert run.user_message.sanitized_content == (
        "Call <PERSON_1> about her card <CREDIT_CARD_1> today."
    )
    assert "4111" not in run.user_message.content  # stored nowhere, also on reuse
    assert submitted(run)["preview_reused"] is True


def test_a_previewed_message_is_stored_without_its_redacted_value_from_the_start(
    alice: Any, dispatched: Any, isolated_redis: str, analyses: list[int]
) -> None:
    """The web request already stores the placeholder: the card never reaches the row."""
    conversation = services.conversation_create(owner=alice)
    previewed(alice, conversation.pk, "Card 4111 1111 1111 1111 was charged twice.")
    run = run_services.run_create(
        user=alice, conversation=conversation, text="Card 4111 1111 1111 1111 was charged twice."
    )
    assert run.user_message is not None
    stored = Message.objects.get(pk=run.user_message.pk).content
    assert stored == "Card <CREDIT_CARD_1> was charged twice."
    assert "4111" not in Conversation.objects.get(pk=conversation.pk).title
    judging.run_judge(run_id=run.pk)
    run.refresh_from_db()
    # The title is made from the sanitized text once judged (conversation_title_fill).
    assert Conversation.objects.get(pk=conversation.pk).title == stored
    assert len(analyses) == 1
    assert run.user_message.content == stored
    assert run.user_message.sanitized_content == stored
    details = submitted(run)
    assert details["preview_reused"] is True
    assert details["input_chars"] == len("Card 4111 1111 1111 1111 was charged twice.")


def test_a_handed_over_judgement_is_dropped_when_another_turn_changed_the_map(
    alice: Any, dispatched: Any, isolated_redis: str, analyses: list[int]
) -> None:
    """Between send and policy step another turn stored new placeholders: the step judges
    the stored text again; the card stays out, nothing is lost."""
    conversation = services.conversation_create(owner=alice)
    previewed(alice, conversation.pk, TEXT)
    first = run_services.run_create(user=alice, conversation=conversation, text=TEXT)
    conversation.refresh_from_db()
    sent(alice, conversation, "Email anna.berg@example.com first.")
    judging.run_judge(run_id=first.pk)
    first.refresh_from_db()
    assert len(analyses) == 3  # the preview, the other turn, this one again
    assert first.user_message is not None
    assert "4111" not in first.user_message.content + first.user_message.sanitized_content
    assert submitted(first)["preview_reused"] is False
    mapping = decrypt_mapping(Conversation.objects.get(pk=conversation.pk).pseudonym_map_encrypted)
    assert mapping.restore(first.user_message.sanitized_content) == first.user_message.content
    assert "anna.berg@example.com" in mapping.to_json()


def test_a_new_conversation_previewed_before_it_exists_is_reused(
    alice: Any, dispatched: Any, isolated_redis: str, analyses: list[int]
) -> None:
    previewed(alice, None, TEXT)
    run = sent(alice, services.conversation_create(owner=alice), TEXT)
    assert len(analyses) == 1 and submitted(run)["preview_reused"] is True


@pytest.mark.parametrize("change", ["text", "policy", "mapping", "marks"])
def test_anything_changed_since_the_preview_analyses_again(
    change: str, alice: Any, dispatched: Any, isolated_redis: str, analyses: list[int]
) -> None:
    conversation = services.conversation_create(owner=alice)
    previewed(alice, conversation.pk, TEXT)
    text, kwargs = TEXT, {}
    if change == "text":
        text = TEXT + " Thanks."
    elif change == "policy":
        row = policy_version_in_force()
        PolicyVersion.objects.create(version=row.version + 1, rules=row.rules, note="again")
    elif change == "mapping":
        sent(alice, conversation, "Email anna.berg@example.com first.")  # the map changed
        conversation.refresh_from_db()
    elif change == "marks":
        kwargs = {"overrides": [{"entity_type": "PERSON", "start": 5, "end": 18, "reason": "x"}]}
    before = len(analyses)
    run = sent(alice, conversation, text, **kwargs)
    assert len(analyses) == before + 1
    assert submitted(run)["preview_reused"] is False
    assert run.policy_version is not None
    assert submitted(run)["policy_version"] == run.policy_version.version
